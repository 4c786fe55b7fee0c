// How stored values are shown: message types by name and code, counts, percents and JSON.
// Dates, times and durations are in ../format/time.

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
