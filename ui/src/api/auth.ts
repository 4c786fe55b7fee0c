// The admin token of the browser door. It lives in sessionStorage only (gone when the tab
// closes), never in localStorage, a cookie or the address bar. Inside Tauri there is none:
// the desktop app is its admin's own machine.

const KEY = "replaydesk.adminToken";

function store(): Storage | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return store()?.getItem(KEY) ?? null;
}

export function setToken(token: string): void {
  store()?.setItem(KEY, token.trim());
  notify();
}

export function clearToken(): void {
  if (getToken() === null) return;
  store()?.removeItem(KEY);
  notify();
}

const listeners = new Set<() => void>();

/** Called when the token is set or cleared (e.g. by a 401), for the sign-in gate. */
export function onTokenChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify() {
  for (const fn of listeners) fn();
}

/**
 * Takes `?token=` from a URL once (before the `#`, or in the hash route's own query, e.g.
 * `/#/classes/c1?token=...`): returns the token and the same URL without it (to put back
 * with history.replaceState so that it leaves the address bar and the history).
 */
export function takeTokenFromUrl(href: string): { token: string | null; cleaned: string } {
  const url = new URL(href);
  let token = url.searchParams.get("token");
  if (token !== null) url.searchParams.delete("token");
  const q = url.hash.indexOf("?");
  if (q >= 0) {
    const params = new URLSearchParams(url.hash.slice(q + 1));
    const inHash = params.get("token");
    if (inHash !== null) {
      token ??= inHash;
      params.delete("token");
      const rest = params.toString();
      url.hash = url.hash.slice(0, q) + (rest ? `?${rest}` : "");
    }
  }
  if (token === null) return { token: null, cleaned: href };
  return { token: token.trim() || null, cleaned: url.toString() };
}

/** At start-up in a browser: keep a `?token=` and wipe it from the address bar. */
export function adoptTokenFromAddressBar(): void {
  if (typeof window === "undefined") return;
  const { token, cleaned } = takeTokenFromUrl(window.location.href);
  if (cleaned !== window.location.href) window.history.replaceState(window.history.state, "", cleaned);
  if (token) setToken(token);
}
