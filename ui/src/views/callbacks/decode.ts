// An unmatched recording callback in words: its `stream_param` fields (the `userid`
// base64-decoded), its times as dates, what its stream id can name, and the classes that
// could be its own — overlapping it in time, knowing its user — ranked first.

import type { ClassSummary } from "../../bindings/ClassSummary";

export interface DecodedCallback {
  /** `stream_param`'s fields in order, `userid` decoded where it is base64 of text. */
  params: { key: string; value: string; decoded: string | null }[];
  groupId: string | null;
  /** The uid the callback names (decoded `userid`, or the stream id's user part). */
  uid: string | null;
  streamId: string | null;
  /** `<room>_<uid>` of a stream id `<sdkappid>_<room>_<uid>_main|aux` (room and uid may
   * hold `_` themselves, so it is split only against a class id: [`streamUid`]). */
  streamRoomUid: string | null;
  /** Unix ms. */
  startMs: number | null;
  endMs: number | null;
}

function num(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
  return null;
}

/** Text from standard or URL-safe base64, or null when it is not base64 of UTF-8 text. */
export function base64Text(s: string): string | null {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  if (t === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return null;
  try {
    const bin = atob(t.padEnd(Math.ceil(t.length / 4) * 4, "="));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    // Control characters mean it was not text after all.
    return /[\u0000-\u001f\u007f]/.test(text) ? null : text;
  } catch {
    return null;
  }
}

export function decodeCallback(body: string): DecodedCallback | null {
  let v: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
    v = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  const params: DecodedCallback["params"] = [];
  const sp = typeof v.stream_param === "string" ? v.stream_param : "";
  for (const [key, value] of new URLSearchParams(sp)) {
    params.push({ key, value, decoded: key === "userid" ? base64Text(value) : null });
  }
  const streamId = typeof v.stream_id === "string" ? v.stream_id : null;
  const m = streamId ? /^\d+_(.+)_(?:main|aux)$/.exec(streamId) : null;
  const streamRoomUid = m?.[1] ?? null;
  const userid = params.find((p) => p.key === "userid")?.decoded ?? null;
  const start = num(v.start_time);
  const end = num(v.end_time);
  return {
    params,
    groupId: params.find((p) => p.key === "groupid")?.value ?? null,
    uid: userid,
    streamId,
    streamRoomUid,
    startMs: start === null ? null : start * 1000,
    endMs: end === null ? null : end * 1000,
  };
}

/** The uid a stream id names in room `classId`, if it names that room. */
export function streamUid(d: DecodedCallback, classId: string): string | null {
  const rest = d.streamRoomUid;
  if (rest === null || !rest.startsWith(`${classId}_`)) return null;
  const uid = rest.slice(classId.length + 1);
  return uid === "" ? null : uid;
}

export interface Candidate {
  classId: string;
  score: number;
  reasons: string[];
}

/**
 * The classes that could be this callback's, best first: the class whose group or room it
 * names, a class running while it recorded, a class its user is a member of. `membersOf`
 * answers for the classes whose members are known (loaded) so far.
 */
export function rankClasses(
  d: DecodedCallback,
  classes: ClassSummary[],
  membersOf: (classId: string) => string[] | undefined,
  now: number = Date.now(),
): Candidate[] {
  const out: Candidate[] = [];
  for (const c of classes) {
    if (c.imported_at !== null) continue;
    const reasons: string[] = [];
    let score = 0;
    if (d.groupId !== null && d.groupId === c.group_id) {
      score += 4;
      reasons.push("its group");
    }
    const inRoom = streamUid(d, c.class_id);
    if (inRoom !== null) {
      score += 4;
      reasons.push("its room");
    }
    const uid = d.uid ?? inRoom;
    if (d.startMs !== null && c.started_at !== null) {
      const from = c.started_at;
      const until = c.ended_at ?? now;
      const end = d.endMs ?? d.startMs;
      if (d.startMs <= until && end >= from) {
        score += 2;
        reasons.push("ran while it recorded");
      }
    }
    if (uid !== null && membersOf(c.class_id)?.includes(uid)) {
      score += 2;
      reasons.push(`${uid} is a member`);
    }
    if (score > 0) out.push({ classId: c.class_id, score, reasons });
  }
  return out.sort((a, b) => b.score - a.score || a.classId.localeCompare(b.classId));
}
