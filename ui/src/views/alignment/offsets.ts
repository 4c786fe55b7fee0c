// Each user's clock offset (server − client) over time, as the change since the user's
// first pair: offsets of different clocks differ by anything (a phone's uptime against a
// laptop's), while their change shows what matters — drift as a slope, a sleep or reboot
// as a step.

import type { AlignmentAnswer } from "./types";

export interface OffsetSeries {
  uid: string;
  /** [server_ms, change of the offset since the first pair in ms] per pair, in time order. */
  points: [number, number][];
  /** The same after the clock filter (what the alignment used), where it differs. */
  aligned: [number, number][];
  /** Server times at which the clock jumped (a new segment after a jump). */
  jumps: number[];
}

export function offsetSeries(a: AlignmentAnswer): OffsetSeries[] {
  return a.users
    .filter((u) => u.segments.length > 0)
    .map((u) => {
      const segs = [...u.segments].sort((x, y) => x.server_ms - y.server_ms);
      const base = segs[0]?.offset_ms ?? 0;
      const points = segs.map((s): [number, number] => [s.server_ms, s.offset_ms - base]);
      const aligned = segs
        .filter((s) => s.aligned_offset_ms !== s.offset_ms)
        .map((s): [number, number] => [s.aligned_server_ms, s.aligned_offset_ms - base]);
      const jumps = segs.filter((s) => s.jump_ms !== null).map((s) => s.server_ms);
      return { uid: u.uid, points, aligned, jumps };
    });
}
