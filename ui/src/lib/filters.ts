// The message log's filter, kept in the URL so that a view can be shared and reloaded.
// One shape (`Filters`) with three translations: to/from the URL's search params, to the
// listing query (`MessageQuery`), and to the bulk-resend body (`ResendFilter`).

import type { MessageQuery } from "../bindings/MessageQuery";
import type { MessageStatus } from "../bindings/MessageStatus";
import type { MessageType } from "../bindings/MessageType";
import type { ResendFilter } from "../bindings/ResendFilter";
import { localTime } from "../format/time";

export const STATUSES: MessageStatus[] = ["pending", "sending", "sent", "retrying", "failed"];
export const TYPES: MessageType[] = ["class_start", "class_end", "timeline", "recording"];

export interface Filters {
  statuses: MessageStatus[];
  types: MessageType[];
  uid: string;
  /** Created at or after, unix ms. */
  from: number | null;
  /** Created before, unix ms. */
  to: number | null;
  retried: boolean | null;
  /** Text in the message's Data. */
  q: string;
  /** Across classes only: one class. */
  class: string;
}

export const EMPTY_FILTERS: Filters = {
  statuses: [],
  types: [],
  uid: "",
  from: null,
  to: null,
  retried: null,
  q: "",
  class: "",
};

type Search = Record<string, unknown>;

function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return "";
}

function list<T extends string>(v: unknown, allowed: readonly T[]): T[] {
  const parts = Array.isArray(v) ? v.map(str) : str(v).split(",");
  const out: T[] = [];
  for (const p of parts) {
    const t = p.trim() as T;
    if (allowed.includes(t) && !out.includes(t)) out.push(t);
  }
  // A fixed order, so that the same filter always has the same URL.
  return allowed.filter((a) => out.includes(a));
}

function int(v: unknown): number | null {
  const s = str(v).trim();
  if (!/^-?\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** The filter a URL's search params say; unknown or malformed values are ignored. */
export function filtersFromSearch(search: Search): Filters {
  const retried = str(search.retried);
  return {
    statuses: list(search.status, STATUSES),
    types: list(search.type, TYPES),
    uid: str(search.uid),
    from: int(search.from),
    to: int(search.to),
    retried: retried === "true" ? true : retried === "false" ? false : null,
    q: str(search.q),
    class: str(search.class),
  };
}

/** The URL search params for a filter; empty fields are left out. */
export function filtersToSearch(f: Filters): Record<string, string> {
  const out: Record<string, string> = {};
  if (f.statuses.length) out.status = f.statuses.join(",");
  if (f.types.length) out.type = f.types.join(",");
  if (f.uid) out.uid = f.uid;
  if (f.from !== null) out.from = String(f.from);
  if (f.to !== null) out.to = String(f.to);
  if (f.retried !== null) out.retried = String(f.retried);
  if (f.q) out.q = f.q;
  if (f.class) out.class = f.class;
  return out;
}

/** True when the filter narrows nothing. */
export function isEmpty(f: Filters): boolean {
  return Object.keys(filtersToSearch(f)).length === 0;
}

/** The listing query; `classId` is the class of the page (then `class` is not sent). */
export function filtersToQuery(f: Filters, classId: string | null, cursor?: number, limit?: number): MessageQuery {
  const q: MessageQuery = {};
  if (f.statuses.length) q.status = [...f.statuses];
  if (f.types.length) q.type = [...f.types];
  if (f.uid) q.uid = f.uid;
  if (!classId && f.class) q.class = f.class;
  if (f.from !== null) q.from = f.from;
  if (f.to !== null) q.to = f.to;
  if (f.retried !== null) q.retried = f.retried;
  if (f.q) q.q = f.q;
  if (cursor !== undefined) q.cursor = cursor;
  if (limit !== undefined) q.limit = limit;
  return q;
}

/** The bulk-resend body for exactly the messages the listing shows. */
export function filtersToResend(f: Filters, classId: string | null): ResendFilter {
  const r: ResendFilter = {};
  const cls = classId ?? (f.class || null);
  if (cls) r.class_id = cls;
  // Across classes only on purpose: the server refuses a bulk resend that names no class
  // unless it says so (the confirmation says "every class").
  else r.all_classes = true;
  if (f.statuses.length) r.statuses = [...f.statuses];
  if (f.types.length) r.types = [...f.types];
  if (f.uid) r.uid = f.uid;
  if (f.from !== null) r.created_from = f.from;
  if (f.to !== null) r.created_to = f.to;
  if (f.retried !== null) r.retried = f.retried;
  if (f.q) r.text = f.q;
  return r;
}

/** The filter in words, for the bulk-resend confirmation. */
export function describeFilters(f: Filters, classId: string | null): string {
  const parts: string[] = [];
  const cls = classId ?? (f.class || null);
  parts.push(cls ? `class ${cls}` : "every class");
  if (f.statuses.length) parts.push(`status ${f.statuses.join(" or ")}`);
  if (f.types.length) parts.push(`type ${f.types.join(" or ")}`);
  if (f.uid) parts.push(`uid ${f.uid}`);
  if (f.from !== null) parts.push(`created from ${localTime(f.from)}`);
  if (f.to !== null) parts.push(`created before ${localTime(f.to)}`);
  if (f.retried === true) parts.push("retried");
  if (f.retried === false) parts.push("not retried");
  if (f.q) parts.push(`Data containing "${f.q}"`);
  return parts.join(", ");
}

/** Flips one value in a list (a status or type checkbox). */
export function toggle<T>(xs: T[], x: T): T[] {
  return xs.includes(x) ? xs.filter((y) => y !== x) : [...xs, x];
}

/** An `<input type="datetime-local">` value (local time) as unix ms (the other way: `localInputValue`). */
export function localInputToMs(v: string): number | null {
  if (!v) return null;
  const ms = new Date(v).getTime();
  return Number.isNaN(ms) ? null : ms;
}

