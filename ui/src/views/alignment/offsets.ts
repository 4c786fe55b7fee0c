// Each user's clock offset (server − client) over time, as the change since the user's
// first pair: offsets of different clocks differ by anything (a phone's uptime against a
// laptop's), while their change shows what matters — drift as a slope, a sleep or reboot
// as a step.
//
// A 32-bit millisecond clock wraps past 2^32 ms (about 49.7 days of uptime): its readings
// restart near zero, so the raw offset of the same clock run steps by exactly 2^32 ms,
// which would flatten every real drift or jump on the chart. The engine already reads
// such clocks modulo 2^32 (the user's `clock_width` is "bits32"); the chart does the same,
// unwrapping each pair's offset by the multiple of 2^32 that keeps it nearest the previous
// one and marking the wrap. What is left over (a reboot, a sleep) stays a visible step.

import type { AlignmentAnswer } from "./types";

/** One lap of a 32-bit millisecond clock. */
export const WRAP_MS = 2 ** 32;

export interface OffsetSeries {
  uid: string;
  /** [server_ms, change of the offset since the first pair in ms] per pair, in time order. */
  points: [number, number][];
  /** The same after the clock filter (what the alignment used), where it differs. */
  aligned: [number, number][];
  /** Server times at which the clock jumped (a new segment after a jump). */
  jumps: number[];
  /** Server times at which a 32-bit clock wrapped past 2^32 (unwrapped on the chart). */
  wraps: number[];
}

export function offsetSeries(a: AlignmentAnswer): OffsetSeries[] {
  return a.users
    .filter((u) => u.segments.length > 0)
    .map((u) => {
      const segs = [...u.segments].sort((x, y) => x.server_ms - y.server_ms);
      // Laps added to each pair's offset so that a 32-bit clock's wrap is no step.
      const laps: number[] = [];
      const wraps: number[] = [];
      let lap = 0;
      let prev: number | null = null;
      for (const s of segs) {
        if (prev !== null && u.clock_width === "bits32") {
          const n = Math.round((prev - s.offset_ms) / WRAP_MS);
          if (n !== lap) wraps.push(s.server_ms);
          lap = n;
        }
        laps.push(lap);
        prev = s.offset_ms + lap * WRAP_MS;
      }
      const base = segs[0]?.offset_ms ?? 0;
      const points = segs.map((s, i): [number, number] => [s.server_ms, s.offset_ms + (laps[i] ?? 0) * WRAP_MS - base]);
      const aligned = segs
        .map((s, i) => ({ s, i }))
        .filter(({ s }) => s.aligned_offset_ms !== s.offset_ms)
        .map(({ s, i }): [number, number] => [s.aligned_server_ms, s.aligned_offset_ms + (laps[i] ?? 0) * WRAP_MS - base]);
      const jumps = segs.filter((s) => s.jump_ms !== null).map((s) => s.server_ms);
      return { uid: u.uid, points, aligned, jumps, wraps };
    });
}
