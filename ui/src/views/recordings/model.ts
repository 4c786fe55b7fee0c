// The Recordings view's model (pure, tested): the class's recorders grouped per member,
// each source and stage in words, and what a file entered by hand will do, said before
// it is sent.

import type { ClassRecordings } from "../../bindings/ClassRecordings";
import type { EnterRecording } from "../../bindings/EnterRecording";
import type { Recorder } from "../../bindings/Recorder";
import type { RecorderSource } from "../../bindings/RecorderSource";
import type { RecorderStage } from "../../bindings/RecorderStage";

export interface MemberRecorders {
  /** The member's uid, or null for recorders whose events name no member (a TRTC task's own user is named). */
  uid: string | null;
  recorders: Recorder[];
}

/** Recorders grouped per member, in the order members first appear; within a member, main before aux. */
export function byMember(view: ClassRecordings): MemberRecorders[] {
  const out: MemberRecorders[] = [];
  for (const r of view.recorders) {
    let m = out.find((x) => x.uid === r.uid);
    if (!m) {
      m = { uid: r.uid, recorders: [] };
      out.push(m);
    }
    m.recorders.push(r);
  }
  const rank = (r: Recorder) => (r.media === "main" ? 0 : r.media === "aux" ? 1 : 2);
  for (const m of out) m.recorders.sort((a, b) => rank(a) - rank(b));
  return out;
}

/** The recorders that started and have no file, the alerted ones first. */
export function missing(view: ClassRecordings): Recorder[] {
  return view.recorders
    .filter((r) => r.missing !== null)
    .sort((a, b) => Number(b.missing?.due ?? false) - Number(a.missing?.due ?? false));
}

export function sourceLabel(s: RecorderSource): string {
  switch (s) {
    case "trtc":
      return "TRTC cloud recording";
    case "css":
      return "CSS (live streaming)";
    case "manual":
      return "entered by hand";
  }
}

export function mediaLabel(media: string | null): string {
  if (media === "main") return "main (camera)";
  if (media === "aux") return "aux (screen share)";
  return "stream kind not given";
}

/** A stage as the life reads: started, slice, ready, stopped, error, ... */
export function stageLabel(s: RecorderStage): string {
  return s === "ready" ? "file ready" : s;
}

/** The form's text fields, as typed. */
export interface EntryForm {
  uid: string;
  media: "" | "main" | "aux";
  video_id: string;
  video_url: string;
  start_time: string;
  end_time: string;
  duration: string;
  file_size: string;
  task_id: string;
}

export const EMPTY_FORM: EntryForm = {
  uid: "",
  media: "main",
  video_id: "",
  video_url: "",
  start_time: "",
  end_time: "",
  duration: "",
  file_size: "",
  task_id: "",
};

/** The form for a missing recorder: its task, its member and stream kind when known, its time. */
export function formFor(r: Recorder): EntryForm {
  const s = (ms: number | null) => (ms === null ? "" : String(Math.floor(ms / 1000)));
  return {
    ...EMPTY_FORM,
    uid: r.source === "trtc" && r.media === null ? "" : (r.uid ?? ""),
    media: r.media === "aux" ? "aux" : "main",
    start_time: s(r.started),
    end_time: s(r.stopped),
    task_id: r.task_id,
  };
}

const wholeNumber = /^\s*\d+\s*$/;

/**
 * The request the form makes, or what is wrong with it (the server checks again: this only
 * spares a round trip for what is plainly missing).
 */
export function toRequest(f: EntryForm): { ok: true; body: EnterRecording } | { ok: false; problem: string } {
  for (const [name, v] of [
    ["uid", f.uid],
    ["video_id", f.video_id],
    ["video_url", f.video_url],
    ["start_time", f.start_time],
    ["end_time", f.end_time],
  ] as const) {
    if (v.trim() === "") return { ok: false, problem: `${name} is required` };
  }
  for (const [name, v] of [
    ["start_time", f.start_time],
    ["end_time", f.end_time],
    ["duration", f.duration],
    ["file_size", f.file_size],
  ] as const) {
    if (v.trim() !== "" && !wholeNumber.test(v)) return { ok: false, problem: `${name} must be a whole number` };
  }
  const body: EnterRecording = {
    uid: f.uid.trim(),
    video_id: f.video_id.trim(),
    video_url: f.video_url.trim(),
    start_time: Number(f.start_time),
    end_time: Number(f.end_time),
  };
  if (f.duration.trim() !== "") body.duration = Number(f.duration);
  if (f.file_size.trim() !== "") body.file_size = Number(f.file_size);
  if (f.media !== "") body.type = f.media;
  if (f.task_id.trim() !== "") body.task_id = f.task_id.trim();
  return { ok: true, body };
}
