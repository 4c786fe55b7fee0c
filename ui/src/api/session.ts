// Who is signed in to the browser console, and what their role lets them do.
//
// Two ways in: a person's sign-in (a server-side session in the HttpOnly cookie
// `replaydesk_session`, which no script here can read; its CSRF token, which every
// state-changing request carries in `X-ReplayDesk-CSRF`, is kept in memory only and
// asked for again with `GET /v1/auth/me` after a reload), or a token (the bootstrap admin
// token or a person's API token, see auth.ts). Inside the desktop app there is neither:
// the teacher's own machine holds every role.

import { useEffect, useState } from "react";
import type { Me } from "../bindings/Me";
import type { Role } from "../bindings/Role";
import { OPERATIONS, type OpName } from "../bindings/operations";

let me: Me | null = null;
const listeners = new Set<() => void>();

export function currentMe(): Me | null {
  return me;
}

export function setMe(next: Me | null): void {
  me = next;
  for (const fn of listeners) fn();
}

/** Called when who is signed in changes (sign-in, sign-out, a 401). */
export function onMeChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The session's CSRF token, when signed in with a session. */
export function csrfToken(): string | null {
  return me?.csrf_token ?? null;
}

const RANK: Record<Role, number> = { viewer: 0, support: 1, admin: 2 };

/** Whether `role` may do what `needed` allows (each role may do what those below it may). */
export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/**
 * Whether the person signed in may call operation `op` (its role is declared next to the
 * operation in the backend's table). The console hides what this says no to; the server
 * refuses it anyway. `null` (the desktop app, or not known yet) allows everything.
 */
export function allowed(who: Me | null, op: OpName): boolean {
  if (who === null) return true;
  return roleAllows(who.role, OPERATIONS[op].role as Role);
}

/** The person signed in (re-rendering when it changes). */
export function useMe(): Me | null {
  const [value, setValue] = useState<Me | null>(me);
  useEffect(() => onMeChange(() => setValue(me)), []);
  return value;
}

/** `can("resend_message")`: whether the signed-in person's role allows the operation. */
export function useCan(): (op: OpName) => boolean {
  const who = useMe();
  return (op) => allowed(who, op);
}
