import { Link, Outlet, useRouterState } from "@tanstack/react-router";
import { useState } from "react";
import type { AppInfo } from "./bindings/AppInfo";
import { transport, isTauri } from "./api/transport";
import { useAppInfo } from "./api/useAppInfo";
import { signOut } from "./api/people";
import { allowed, useMe } from "./api/session";
import { ROUTES } from "./routes";
import { applyTheme, loadTheme, nextTheme, type Theme } from "./lib/theme";
import { ErrorNote } from "./components/common";
import "./views/desktop.css";

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

function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(loadTheme);
  const label = theme === "auto" ? "Theme: system" : theme === "light" ? "Theme: light" : "Theme: dark";
  return (
    <button
      type="button"
      className="ghost"
      data-testid="theme-toggle"
      onClick={() => {
        const t = nextTheme(theme);
        applyTheme(t);
        setTheme(t);
      }}
      title="Switch between the system's theme, light and dark"
    >
      {label}
    </button>
  );
}

/** Teacher's pages or the admin's: in the app, one switch between the two navigations. */
function AreaSwitch({ teacher }: { teacher: boolean }) {
  return (
    <div className="area-switch" role="group" aria-label="Whose pages" data-testid="area-switch">
      <Link
        to="/host"
        activeOptions={{ exact: true, includeSearch: false }}
        activeProps={{}}
        className={teacher ? "area active" : "area"}
        aria-current={teacher ? "true" : undefined}
        data-testid="area-teacher"
        title="Host a class, your classes, settings"
      >
        Teacher
      </Link>
      <Link
        to="/"
        activeOptions={{ exact: true, includeSearch: false }}
        activeProps={{}}
        className={teacher ? "area" : "area active"}
        aria-current={teacher ? undefined : "true"}
        data-testid="area-admin"
        title="Every class's messages, jobs, callbacks and audit log"
      >
        Admin
      </Link>
    </div>
  );
}

export function Shell() {
  const { state, reload } = useAppInfo();
  const inTauri = isTauri();
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  // The app is the teacher's: their pages (the desktop-only ones) make its navigation, and
  // the admin's pages take it over only once one of them is open.
  const teacherArea = inTauri && ROUTES.some((r) => r.tauriOnly && r.path === pathname);
  const me = useMe();
  const nav = ROUTES.filter(
    (r) =>
      r.label &&
      (inTauri ? !!r.tauriOnly === teacherArea && !r.browserOnly : !r.tauriOnly) &&
      (r.needs === undefined || allowed(me, r.needs)),
  );
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
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
        {inTauri && <AreaSwitch teacher={teacherArea} />}
        <nav className="nav" aria-label={teacherArea ? "Teacher" : "Console"} data-testid="nav">
          {nav.map((r) => (
            <Link
              key={r.path}
              to={r.path}
              className="nav-link"
              activeOptions={{ exact: r.path === "/", includeSearch: false }}
              activeProps={{ "aria-current": "page", className: "nav-link active" }}
            >
              {r.label}
            </Link>
          ))}
        </nav>
        <div className="header-status">
          {state.status === "ready" && <ModeBadge info={state.info} />}
          {/* The desktop app paints before its backend has started; its first answer ends this. */}
          {state.status === "loading" && inTauri && (
            <span className="badge" data-testid="starting" role="status">
              Starting…
            </span>
          )}
          {state.status === "error" && <span className="badge badge-error">Backend unavailable</span>}
          <ThemeToggle />
          {transport().kind === "http" && me && (
            <Link to="/account" className="who" data-testid="who" title={`Signed in through ${me.door.replace(/_/g, " ")}: your account`}>
              {me.name} · {me.role}
            </Link>
          )}
          {transport().kind === "http" && (
            <button type="button" className="ghost" onClick={() => void signOut()} title="End the session (or forget the token)">
              Sign out
            </button>
          )}
        </div>
      </header>
      <main className="app-main" id="main">
        {state.status === "error" && (
          <ErrorNote title="Could not load instance information" error={state.error} onRetry={reload} />
        )}
        <Outlet />
        <p className="hint conn">
          Connected via{" "}
          <span>{transport().kind === "tauri" ? "Desktop app (Tauri IPC)" : "Browser (HTTP API)"}</span>
        </p>
      </main>
    </div>
  );
}
