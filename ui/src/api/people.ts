// The browser console's sign-in calls (`/v1/auth/*`): they are the HTTP door's own, not
// operations of the backend's table (the desktop app has no sign-in).

import type { Me } from "../bindings/Me";
import { clearToken } from "./auth";
import { setMe } from "./session";
import { httpRequest, TransportError } from "./transport";

/** Who the cookie or token speaks for, or null when neither is good (401). */
export async function fetchMe(): Promise<Me | null> {
  try {
    const me = (await httpRequest("GET", "/v1/auth/me")) as Me;
    setMe(me);
    return me;
  } catch (err) {
    if (err instanceof TransportError && err.status === 401) {
      setMe(null);
      return null;
    }
    throw err;
  }
}

/** Signs a person in: the session lands in the HttpOnly cookie, its CSRF token here. */
export async function signIn(name: string, password: string): Promise<Me> {
  clearToken();
  const me = (await httpRequest("POST", "/v1/auth/sign-in", { name, password }, false)) as Me;
  setMe(me);
  return me;
}

/** Exchanges a one-time setup code for the person's password. */
export async function setUpPassword(name: string, code: string, password: string): Promise<void> {
  await httpRequest("POST", "/v1/auth/setup", { name, code, password }, false);
}

/** Changes the signed-in person's password; their sessions end, so they sign in again. */
export async function changePassword(current: string, next: string): Promise<void> {
  await httpRequest("POST", "/v1/auth/password", { current, new: next });
  clearToken();
  setMe(null);
}

/** Ends the session (or forgets the token), whatever the server says. */
export async function signOut(): Promise<void> {
  try {
    await httpRequest("POST", "/v1/auth/sign-out", {});
  } catch {
    // Signed out here regardless: the session ends with its idle time at the latest.
  } finally {
    clearToken();
    setMe(null);
  }
}
