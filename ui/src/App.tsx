import type { AppInfo } from "./bindings/AppInfo";
import { transport } from "./api/transport";
import { useAppInfo, type AppInfoState } from "./api/useAppInfo";

/** Says plainly where messages go: the built-in emulator, or a real IM endpoint. */
function ModeBadge({ info }: { info: AppInfo }) {
  if (info.sandbox) {
    return (
      <span className="badge badge-sandbox" data-testid="mode-badge" title="No IM endpoint is configured">
        <span className="badge-dot" aria-hidden="true" />
        SANDBOX · built-in IM emulator
      </span>
    );
  }
  return (
    <span className="badge badge-live" data-testid="mode-badge" title="Messages go to this IM endpoint">
      <span className="badge-dot" aria-hidden="true" />
      LIVE IM · <span className="mono">{info.im_endpoint ?? "(unknown endpoint)"}</span>
    </span>
  );
}

function Header({ state }: { state: AppInfoState }) {
  return (
    <header className="app-header">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          ▶
        </span>
        <span className="brand-name">ReplayDesk</span>
        {state.status === "ready" && (
          <span className="version" data-testid="version">
            v{state.info.version}
          </span>
        )}
      </div>
      <div className="header-status">
        {state.status === "ready" && <ModeBadge info={state.info} />}
        {state.status === "error" && <span className="badge badge-error">Backend unavailable</span>}
      </div>
    </header>
  );
}

function InstancePanel({ info }: { info: AppInfo }) {
  return (
    <section className="card" aria-labelledby="instance-title">
      <h2 id="instance-title">This instance</h2>
      <dl className="facts">
        <dt>Version</dt>
        <dd className="mono">{info.version}</dd>
        <dt>IM mode</dt>
        <dd>
          {info.sandbox
            ? "Sandbox: messages go to the built-in IM emulator, not to a real IM service."
            : "Live: messages go to the real IM service."}
        </dd>
        <dt>IM endpoint</dt>
        <dd className="mono">{info.im_endpoint ?? "none (emulator in-process)"}</dd>
        <dt>Connected via</dt>
        <dd>{transport().kind === "tauri" ? "Desktop app (Tauri IPC)" : "Browser (HTTP API)"}</dd>
      </dl>
    </section>
  );
}

function ErrorPanel({
  message,
  detail,
  onRetry,
}: {
  message: string;
  detail: string | null;
  onRetry: () => void;
}) {
  return (
    <section className="card card-error" role="alert">
      <h2>Could not load instance information</h2>
      <p>{message}</p>
      {detail && <pre className="detail">{detail}</pre>}
      <p className="hint">
        {transport().kind === "http" ? (
          <>
            In a browser, the console expects to be served by <code>replaydesk serve</code>, which
            answers <code>GET /v1/info</code>.
          </>
        ) : (
          "The desktop backend did not answer; restarting the app may help."
        )}
      </p>
      <button type="button" onClick={onRetry}>
        Try again
      </button>
    </section>
  );
}

export function App() {
  const { state, reload } = useAppInfo();

  return (
    <div className="app">
      <Header state={state} />
      <main className="app-main">
        <h1>Console</h1>
        <p className="lead">
          Timeline and recording messages of the classroom replay protocol, delivered durably to each
          class&apos;s IM ReplayGroup.
        </p>
        {state.status === "loading" && (
          <p className="loading" aria-live="polite">
            Connecting to the backend…
          </p>
        )}
        {state.status === "ready" && <InstancePanel info={state.info} />}
        {state.status === "error" && (
          <ErrorPanel message={state.message} detail={state.detail} onRetry={reload} />
        )}
      </main>
    </div>
  );
}
