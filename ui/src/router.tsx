// The router: hash history (works for `serve` at `/` and inside Tauri without server-side
// fallbacks), and search params kept as plain `key=value` strings so that a filtered URL
// reads like the HTTP API's query and survives a reload.

import { createHashHistory, createRootRoute, createRoute, createRouter } from "@tanstack/react-router";
import { ROUTES } from "./routes";
import { Shell } from "./Shell";
import { isTauri } from "./api/transport";
import { ErrorNote } from "./components/common";

export function parseSearch(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(s.startsWith("?") ? s.slice(1) : s)) out[k] = v;
  return out;
}

export function stringifySearch(search: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(search)) {
    if (v === undefined || v === null || v === "") continue;
    params.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

export function makeRouter() {
  const rootRoute = createRootRoute({ component: Shell });
  const inTauri = isTauri();
  const children = ROUTES.filter((r) => inTauri || !r.tauriOnly).map((r) =>
    createRoute({ getParentRoute: () => rootRoute, path: r.path, component: r.component }),
  );
  return createRouter({
    routeTree: rootRoute.addChildren(children),
    history: createHashHistory(),
    parseSearch,
    stringifySearch,
    defaultNotFoundComponent: () => <p className="empty">No such page. Use the navigation above.</p>,
    // A page that throws while rendering shows what went wrong, never a blank screen.
    defaultErrorComponent: ({ error, reset }) => <ErrorNote title="This page failed" error={error} onRetry={reset} />,
  });
}
