import { describe, expect, it } from "vitest";
import type { ClassRecordings } from "../../bindings/ClassRecordings";
import type { Recorder } from "../../bindings/Recorder";
import { byMember, EMPTY_FORM, formFor, missing, toRequest } from "./model";

function rec(over: Partial<Recorder>): Recorder {
  return {
    uid: "stu1",
    source: "trtc",
    task_id: "t1",
    media: "main",
    started: 1_795_339_200_000,
    stopped: 1_795_342_800_000,
    slices: 0,
    ready: [],
    errors: [],
    events: [],
    missing: null,
    ...over,
  };
}

const view = (recorders: Recorder[]): ClassRecordings => ({ class_id: "c1", missing_after_ms: 1_800_000, recorders, messages: {} });

describe("recordings model", () => {
  it("groups recorders per member, main before aux", () => {
    const g = byMember(view([rec({ media: "aux" }), rec({ uid: "stu2" }), rec({ media: "main", task_id: "t2" })]));
    expect(g.map((m) => m.uid)).toEqual(["stu1", "stu2"]);
    expect(g[0]!.recorders.map((r) => r.media)).toEqual(["main", "aux"]);
  });

  it("lists the recorders missing their file, alerted first", () => {
    const a = rec({ task_id: "a", missing: { due: false, waiting_since: null, alert_id: null, detail: "" } });
    const b = rec({ task_id: "b", missing: { due: true, waiting_since: 1, alert_id: 7, detail: "" } });
    expect(missing(view([a, rec({}), b])).map((r) => r.task_id)).toEqual(["b", "a"]);
  });

  it("fills the form from a missing recorder, in the 1004's units", () => {
    const f = formFor(rec({ started: 1_795_339_200_999, stopped: null }));
    expect([f.uid, f.media, f.start_time, f.end_time, f.task_id]).toEqual(["stu1", "main", "1795339200", "", "t1"]);
    // A TRTC task's own events name its recorder user, not a member: the uid is left to the admin.
    expect(formFor(rec({ uid: "recorder_bot", media: null })).uid).toBe("");
  });

  it("makes the request, or says what is plainly missing", () => {
    expect(toRequest(EMPTY_FORM)).toEqual({ ok: false, problem: "uid is required" });
    const f = { ...EMPTY_FORM, uid: "stu1", video_id: "v", video_url: "https://x.invalid/v.mp4", start_time: "10", end_time: "20" };
    expect(toRequest({ ...f, start_time: "10.5" })).toEqual({ ok: false, problem: "start_time must be a whole number" });
    expect(toRequest({ ...f, task_id: " t1 ", file_size: "5" })).toEqual({
      ok: true,
      body: { uid: "stu1", video_id: "v", video_url: "https://x.invalid/v.mp4", start_time: 10, end_time: 20, file_size: 5, type: "main", task_id: "t1" },
    });
  });
});
