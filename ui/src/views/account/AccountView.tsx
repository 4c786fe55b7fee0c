// The signed-in person's own page: who they are, and changing their password (which ends
// every session of theirs, this one too: they sign in again with the new password).

import { useState, type FormEvent } from "react";
import { changePassword } from "../../api/people";
import { useMe } from "../../api/session";
import { ErrorNote } from "../../components/common";

export function AccountView() {
  const me = useMe();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const mismatch = again !== "" && again !== next;
  const bySession = me?.door === "console";
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!window.confirm("Change your password? Every session of yours ends, this one too: you sign in again with the new password.")) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await changePassword(current, next);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="card signin-card" data-testid="account">
      <h2 id="account-title">Your account</h2>
      {me && (
        <p>
          <strong>{me.name}</strong> · {me.role} · signed in through {me.door.replace(/_/g, " ")}
        </p>
      )}
      {!bySession && (
        <p className="hint">
          You are using a token, not a session: a password is changed by the person, signed in with it.
        </p>
      )}
      {bySession && (
        <form onSubmit={submit} aria-labelledby="account-title" data-testid="change-password">
          <h3>Change your password</h3>
          <label htmlFor="pw-current">Current password</label>
          <input
            id="pw-current"
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
          <label htmlFor="pw-new">New password (at least 10 characters)</label>
          <input id="pw-new" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
          <label htmlFor="pw-again">New password again</label>
          <input id="pw-again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} />
          {mismatch && <p className="hint bad">The two new passwords differ.</p>}
          <button type="submit" className="primary" disabled={busy || !current || next.length < 10 || next !== again}>
            {busy ? "Changing…" : "Change password"}
          </button>
          <p className="hint">Every session of yours ends, this one too: you sign in again with the new password.</p>
          {error !== null && <ErrorNote error={error} />}
        </form>
      )}
    </section>
  );
}
