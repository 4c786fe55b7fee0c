// The alignment answer turned into what the lanes chart draws: one lane per uid, points
// for the 1003 pairs with their ± uncertainty, clock jumps, recordings (the chosen
// placement, and the other reading where the two disagree), class start/end lines.
// Pure functions, unit tested.

import { refKey, type AlignmentAnswer, type MsgRef } from "./types";

export interface PairPoint {
  lane: number;
  uid: string;
  server_ms: number;
  uncertainty_ms: number | null;
  offset_ms: number;
  client_ms: number;
  /** After the clock filter: the offset events are placed with, and how sure it is. */
  aligned_offset_ms: number;
  aligned_uncertainty_ms: number | null;
  /** How many of the user's reports the filter compared, and the fastest one's seq (null: this pair stood alone). */
  filter_pairs: number | null;
  fastest_seq: number | null;
  key: string;
  ref: MsgRef;
}

export interface JumpPoint {
  lane: number;
  uid: string;
  server_ms: number;
  jump_ms: number;
  key: string;
}

export interface Bar {
  lane: number;
  uid: string;
  start_ms: number;
  end_ms: number;
  /** The placement the engine chose, or the other reading (shown where they disagree). */
  chosen: boolean;
  reading: string;
  video_id: string;
  video_url: string;
  /** Which source placed it: `css`, `trtc`, `manual`, `unknown` (older answers: none). */
  source: string;
  /** `main` (camera), `aux` (screen share), or null: drawn in the lane's upper or lower half, or whole. */
  media: string | null;
  key: string;
}

export interface Marker {
  server_ms: number;
  label: string;
  key: string;
}

export interface Lanes {
  uids: string[];
  pairs: PairPoint[];
  jumps: JumpPoint[];
  bars: Bar[];
  markers: Marker[];
  /** Events other than the class start/end (e.g. whiteboard data) placed on the axis. */
  events: { lane: number; uid: string; server_ms: number; kind: string; key: string }[];
}

/** Readings further apart than this are both drawn (ms). */
export const DISAGREE_MS = 1000;

export function buildLanes(a: AlignmentAnswer): Lanes {
  const uids: string[] = [];
  const lane = (uid: string) => {
    let i = uids.indexOf(uid);
    if (i < 0) {
      uids.push(uid);
      i = uids.length - 1;
    }
    return i;
  };
  for (const u of a.users) lane(u.uid);
  const pairs: PairPoint[] = [];
  const jumps: JumpPoint[] = [];
  for (const u of a.users) {
    const l = lane(u.uid);
    for (const s of u.segments) {
      const key = refKey(s.pair);
      pairs.push({
        lane: l,
        uid: u.uid,
        server_ms: s.server_ms,
        uncertainty_ms: s.uncertainty_ms,
        offset_ms: s.offset_ms,
        client_ms: s.client_ms,
        aligned_offset_ms: s.aligned_offset_ms,
        aligned_uncertainty_ms: s.aligned_uncertainty_ms,
        filter_pairs: s.filter ? s.filter.pairs : null,
        fastest_seq: s.filter ? (u.segments[s.filter.fastest]?.pair.seq ?? null) : null,
        key,
        ref: s.pair,
      });
      if (s.jump_ms !== null) jumps.push({ lane: l, uid: u.uid, server_ms: s.from_server_ms, jump_ms: s.jump_ms, key });
    }
  }
  const bars: Bar[] = [];
  for (const r of a.recordings) {
    const l = lane(r.uid);
    const key = refKey(r.recording);
    const len = r.end_ms - r.start_ms;
    const source = r.source ?? "unknown";
    const media = r.media ?? null;
    bars.push({ lane: l, uid: r.uid, start_ms: r.start_ms, end_ms: r.end_ms, chosen: true, reading: r.chosen, video_id: r.video_id, video_url: r.video_url, source, media, key });
    const other = r.chosen === "client_clock" ? r.by_stream_offset_ms : r.by_client_clock_ms;
    if (other !== null && Math.abs(other - r.start_ms) > DISAGREE_MS) {
      bars.push({
        lane: l,
        uid: r.uid,
        start_ms: other,
        end_ms: other + len,
        chosen: false,
        reading: r.chosen === "client_clock" ? "stream_offset" : "client_clock",
        video_id: r.video_id,
        video_url: r.video_url,
        source,
        media,
        key,
      });
    }
  }
  const markers: Marker[] = [];
  const events: Lanes["events"] = [];
  for (const e of a.events) {
    if (e.server_ms === null) continue;
    const key = refKey(e.event);
    if (e.event.kind === "class_start" || e.event.kind === "class_end") {
      markers.push({ server_ms: e.server_ms, label: e.event.kind === "class_start" ? "class start" : "class end", key });
    } else {
      events.push({ lane: lane(e.uid), uid: e.uid, server_ms: e.server_ms, kind: e.event.kind, key });
    }
  }
  return { uids, pairs, jumps, bars, markers, events };
}

/** Which source placed a recording, in words. */
export function sourceName(source: string): string {
  switch (source) {
    case "trtc":
      return "TRTC cloud recording";
    case "css":
      return "CSS recording callback";
    case "manual":
      return "entered by hand";
    default:
      return "unknown (not made here)";
  }
}

/** A reading's name in words. */
export function readingName(r: string): string {
  return r === "client_clock" ? "client clock" : r === "stream_offset" ? "stream offset" : r === "wall_clock" ? "wall clock" : r;
}

/** The keys of a diagnostic's messages, to highlight. */
export function diagnosticKeys(refs: MsgRef[]): Set<string> {
  return new Set(refs.map(refKey));
}

/** Escapes text for ECharts' HTML tooltips (stored values must never become markup). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

/**
 * The time range shown first: the whole class — its start and end markers, every pair and
 * event, and the chosen placement of each recording that lies within one class-length of
 * them — padded. A recording placed far away (a wrong reading, days off) stays reachable by
 * zooming out rather than squeezing the class into a sliver; with nothing else, the
 * recordings alone.
 */
export function focusRange(l: Lanes): [number, number] | null {
  let xs = [...l.pairs.map((p) => p.server_ms), ...l.events.map((e) => e.server_ms), ...l.markers.map((m) => m.server_ms)];
  if (xs.length === 0) xs = l.bars.flatMap((b) => [b.start_ms, b.end_ms]);
  if (xs.length === 0) return null;
  let lo = Math.min(...xs);
  let hi = Math.max(...xs);
  const reach = Math.max(hi - lo, 60_000);
  for (const b of l.bars) {
    if (b.chosen && b.end_ms >= lo - reach && b.start_ms <= hi + reach) {
      lo = Math.min(lo, b.start_ms);
      hi = Math.max(hi, b.end_ms);
    }
  }
  // A tenth of the span each side, at least a second: a short class fills the chart.
  const pad = Math.max((hi - lo) * 0.1, 1000);
  return [lo - pad, hi + pad];
}
