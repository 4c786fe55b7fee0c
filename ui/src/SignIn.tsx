import { useState, type FormEvent } from "react";
import { setToken } from "./api/auth";
import { fetchMe, setUpPassword, signIn } from "./api/people";
import { ErrorNote } from "./components/common";

/** A person's sign-in: name and password (a server-side session in an HttpOnly cookie). */
function PasswordForm() {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(name.trim(), password);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} aria-labelledby="signin-title" data-testid="signin-password">
      <label htmlFor="signin-name">Name</label>
      <input id="signin-name" name="username" autoComplete="username" autoFocus value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="signin-password">Password</label>
      <input
        id="signin-password"
        name="password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <button type="submit" className="primary" disabled={busy || !name.trim() || !password}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

/** The first password, set with the one-time setup code an admin gave. */
function SetupForm({ onDone }: { onDone: (name: string) => void }) {
  const [name, setName] = useState("");
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const mismatch = again !== "" && again !== password;
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await setUpPassword(name.trim(), code.trim(), password);
      onDone(name.trim());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} data-testid="signin-setup">
      <label htmlFor="setup-name">Name</label>
      <input id="setup-name" autoComplete="username" value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="setup-code">Setup code</label>
      <input id="setup-code" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
      <label htmlFor="setup-password">New password (at least 10 characters)</label>
      <input id="setup-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      <label htmlFor="setup-again">The same again</label>
      <input id="setup-again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} />
      {mismatch && <p className="hint">The two passwords differ.</p>}
      <button type="submit" className="primary" disabled={busy || !name.trim() || !code.trim() || password.length < 10 || again !== password}>
        {busy ? "Setting…" : "Set password"}
      </button>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

/** The bootstrap admin token `replaydesk serve` printed, or a person's API token. */
function TokenForm() {
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
      await fetchMe();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} data-testid="signin-token">
      <p className="hint">
        The bootstrap admin token (<code>replaydesk serve</code> prints it at start-up, or{" "}
        <code>REPLAYDESK_ADMIN_TOKEN</code>) or a person&apos;s API token. It is kept for this browser tab only.
      </p>
      <label htmlFor="token">Admin token or API token</label>
      <input id="token" name="token" type="password" autoComplete="off" value={token} onChange={(e) => setValue(e.target.value)} />
      <button type="submit" disabled={busy || !token.trim()}>
        {busy ? "Checking…" : "Use the token"}
      </button>
      {error !== null && <ErrorNote error={error} />}
    </form>
  );
}

/** The browser door's sign-in page: a person's name and password, their first password
 * from a setup code, or a token. */
export function SignIn({ reason }: { reason: string | null }) {
  const [mode, setMode] = useState<"password" | "setup">("password");
  const [done, setDone] = useState<string | null>(null);
  return (
    <div className="signin">
      <div className="card signin-card">
        <h1 id="signin-title">
          <span className="brand-mark" aria-hidden="true">
            ▶
          </span>{" "}
          ReplayDesk console
        </h1>
        {reason && <p className="hint">{reason}</p>}
        {done && <p className="hint" role="status">Password set for {done}. Sign in with it.</p>}
        {mode === "password" ? (
          <>
            <PasswordForm />
            <p>
              First time here?{" "}
              <button type="button" className="link" onClick={() => setMode("setup")}>
                Set your password with your setup code
              </button>
            </p>
          </>
        ) : (
          <>
            <h2>Set your password</h2>
            <SetupForm
              onDone={(name) => {
                setDone(name);
                setMode("password");
              }}
            />
            <p>
              <button type="button" className="link" onClick={() => setMode("password")}>
                Back to sign-in
              </button>
            </p>
          </>
        )}
        <section className="signin-token" aria-label="Sign in with a token">
          <h2>Or with a token</h2>
          <TokenForm />
        </section>
      </div>
    </div>
  );
}
