// How the console reaches the backend. The same bundle runs behind two doors:
// - inside the Tauri desktop shell, where it calls #[tauri::command]s over Tauri IPC;
// - in a browser against `replaydesk serve`, where it calls the HTTP API.
// Components use `transport()` and never care which door is behind it.

import { invoke } from "@tauri-apps/api/core";
import type { AppInfo } from "../bindings/AppInfo";

export interface Transport {
  /** Which door this is, for diagnostics. */
  readonly kind: "tauri" | "http";
  /** Version and IM mode of the running backend. */
  appInfo(): Promise<AppInfo>;
}

/** A failed backend call, with a message fit to show the user. */
export class TransportError extends Error {
  readonly detail: string | null;

  constructor(message: string, detail: string | null = null) {
    super(message);
    this.name = "TransportError";
    this.detail = detail;
  }
}

/** True when the page runs inside the Tauri webview (Tauri 2 injects this object). */
export function isTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

function isAppInfo(value: unknown): value is AppInfo {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.version === "string" &&
    typeof v.sandbox === "boolean" &&
    (v.im_endpoint === null || typeof v.im_endpoint === "string")
  );
}

function checkAppInfo(value: unknown, source: string): AppInfo {
  if (!isAppInfo(value)) {
    throw new TransportError(`Unexpected answer from ${source}`, describe(value).slice(0, 300));
  }
  return value;
}

/** Tauri IPC: each call is a #[tauri::command] of the desktop shell. */
export const tauriTransport: Transport = {
  kind: "tauri",
  async appInfo() {
    let value: unknown;
    try {
      value = await invoke<unknown>("app_info");
    } catch (err) {
      throw new TransportError("The desktop backend did not answer", describe(err));
    }
    return checkAppInfo(value, "the app_info command");
  },
};

/** Reads an HTTP error body of the shape `{"error": "...", "detail": "..."}` if it has one. */
async function httpError(res: Response, path: string): Promise<TransportError> {
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  try {
    const body: unknown = await res.json();
    if (typeof body === "object" && body !== null) {
      const b = body as Record<string, unknown>;
      if (typeof b.error === "string") {
        const detail = typeof b.detail === "string" ? b.detail : null;
        return new TransportError(`${b.error} (${status} from ${path})`, detail);
      }
    }
  } catch {
    // Not JSON (e.g. a static file server's 404 page): fall through.
  }
  return new TransportError(`The server answered ${status} for ${path}`);
}

async function getJson(path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { Accept: "application/json" } });
  } catch (err) {
    throw new TransportError(`Could not reach the server for ${path}`, describe(err));
  }
  if (!res.ok) throw await httpError(res, path);
  try {
    return await res.json();
  } catch {
    throw new TransportError(
      `The server's answer for ${path} is not JSON`,
      "Is this page served by `replaydesk serve`?",
    );
  }
}

/** HTTP: the JSON API of `replaydesk serve`, on the same origin as the page. */
export const httpTransport: Transport = {
  kind: "http",
  async appInfo() {
    return checkAppInfo(await getJson("/v1/info"), "GET /v1/info");
  },
};

let chosen: Transport | null = null;

/** The transport for where this page runs, picked once. */
export function transport(): Transport {
  chosen ??= isTauri() ? tauriTransport : httpTransport;
  return chosen;
}
