import { useState, type FormEvent } from "react";
import { setToken } from "./api/auth";
import { httpTransport } from "./api/transport";
import { ErrorNote } from "./components/common";

/** The browser door's sign-in: the admin token `replaydesk serve` printed. */
export function SignIn({ reason }: { reason: string | null }) {
  const [token, setValue] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!token.trim()) return;
    setBusy(true);
    setError(null);
    setToken(token);
    try {
      // Check it at once, so that a wrong token is said here and not on the next page.
      await httpTransport.listAlerts();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="signin">
      <form className="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">
          <span className="brand-mark" aria-hidden="true">
            ▶
          </span>{" "}
          ReplayDesk console
        </h1>
        <p>
          Sign in with the admin token. <code>replaydesk serve</code> prints it at start-up (or set{" "}
          <code>REPLAYDESK_ADMIN_TOKEN</code>). It is kept for this browser tab only.
        </p>
        {reason && <p className="hint">{reason}</p>}
        <label htmlFor="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          autoFocus
          value={token}
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        {error !== null && <ErrorNote error={error} />}
      </form>
    </div>
  );
}
