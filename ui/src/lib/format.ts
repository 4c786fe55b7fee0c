// How stored values are shown: local times with the raw value kept for the hover text,
// message types by name and code, and counts.

import type { MessageType } from "../bindings/MessageType";

const TYPE_CODES: Record<MessageType, number> = {
  class_start: 1001,
  class_end: 1002,
  timeline: 1003,
  recording: 1004,
};

export function typeCode(t: MessageType): number {
  return TYPE_CODES[t];
}

export function typeLabel(t: MessageType): string {
  return `${TYPE_CODES[t] ?? "?"} ${t.replace("_", " ")}`;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Unix ms as local date and time, `2026-11-24 18:03:07.120`; "—" for none. */
export function localTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * Unix ms as a short local time for table cells: `18:03:07` today (a live class's rows
 * fit a narrow column), `11-24 18:03:07` on other days; "—" for none.
 */
export function shortTime(ms: number | null | undefined, now: number = Date.now()): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  const today = new Date(now);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const sameDay = d.getFullYear() === today.getFullYear() && d.getMonth() === today.getMonth() && d.getDate() === today.getDate();
  return sameDay ? time : `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** The hover text of a time: the raw stored value and its UTC form. */
export function rawTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "not set";
  return `${ms} (unix ms) = ${new Date(ms).toISOString()}`;
}

/** A duration in ms as `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function duration(ms: number): string {
  const a = Math.abs(ms);
  const sign = ms < 0 ? "−" : "";
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${sign}${Math.floor(a / 60_000)} min ${pad(Math.floor((a % 60_000) / 1000))} s`;
  return `${sign}${Math.floor(a / 3_600_000)} h ${pad(Math.floor((a % 3_600_000) / 60_000))} min`;
}

/** A count with thousands separators (fixed, not the locale's, so that tests agree). */
export function count(n: number | bigint): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Percent of `part` in `total`, 0 when total is 0. */
export function percent(part: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, (part / total) * 100));
}

/** JSON text pretty-printed, or null when it is not JSON. */
export function prettyJson(text: string): string | null {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}
