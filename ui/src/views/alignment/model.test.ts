import { describe, expect, test } from "vitest";
import { buildLanes, diagnosticKeys, escapeHtml } from "./model";
import type { AlignmentAnswer, MsgRef } from "./types";

const ref = (kind: MsgRef["kind"], log_id: number, seq: number | null = null): MsgRef => ({ kind, im_msg_seq: null, seq, log_id });

function answer(): AlignmentAnswer {
  return {
    class_id: "c1",
    message_count: 7,
    users: [
      {
        uid: "teacher",
        clock_width: "bits64",
        segments: [
          { pair: ref("timeline", 1), client_ms: 10, server_ms: 1000, offset_ms: 990, uncertainty_ms: 20, precision: "measured", from_server_ms: 1000, until_server_ms: 5000, jump_ms: null },
          { pair: ref("timeline", 2), client_ms: 20, server_ms: 5000, offset_ms: 4980, uncertainty_ms: null, precision: "time_line", from_server_ms: 5000, until_server_ms: null, jump_ms: 3990 },
        ],
      },
    ],
    recordings: [
      // Readings 60 s apart: both are drawn.
      { recording: ref("recording", 3), uid: "student<b>", video_id: "v1", video_url: "u", by_client_clock_ms: 2000, by_stream_offset_ms: 62000, chosen: "client_clock", start_ms: 2000, end_ms: 9000, readings_disagree_ms: 60000 },
      // Readings agree: one bar.
      { recording: ref("recording", 4), uid: "teacher", video_id: "v2", video_url: "u", by_client_clock_ms: 3000, by_stream_offset_ms: 3200, chosen: "client_clock", start_ms: 3000, end_ms: 4000, readings_disagree_ms: 200 },
    ],
    events: [
      { event: ref("class_start", 5), uid: "teacher", client_ms: 5, server_ms: 900 },
      { event: ref("class_end", 6), uid: "teacher", client_ms: 50, server_ms: 9900 },
      { event: ref("whiteboard", 7), uid: "teacher", client_ms: 7, server_ms: null },
    ],
    diagnostics: [],
  };
}

describe("alignment lanes", () => {
  test("one lane per uid, users first, then uids seen only in recordings", () => {
    expect(buildLanes(answer()).uids).toEqual(["teacher", "student<b>"]);
  });

  test("pairs keep their uncertainty and jumps are marked where the clock jumped", () => {
    const l = buildLanes(answer());
    expect(l.pairs.map((p) => [p.server_ms, p.uncertainty_ms])).toEqual([
      [1000, 20],
      [5000, null],
    ]);
    expect(l.jumps).toEqual([{ lane: 0, uid: "teacher", server_ms: 5000, jump_ms: 3990, key: "log:2" }]);
  });

  test("a recording whose readings disagree is drawn at both placements, same length", () => {
    const bars = buildLanes(answer()).bars.filter((b) => b.video_id === "v1");
    expect(bars.map((b) => [b.chosen, b.reading, b.start_ms, b.end_ms])).toEqual([
      [true, "client_clock", 2000, 9000],
      [false, "stream_offset", 62000, 69000],
    ]);
    expect(buildLanes(answer()).bars.filter((b) => b.video_id === "v2")).toHaveLength(1);
  });

  test("class start and end become markers; events without a server time are left out", () => {
    const l = buildLanes(answer());
    expect(l.markers.map((m) => [m.label, m.server_ms])).toEqual([
      ["class start", 900],
      ["class end", 9900],
    ]);
    expect(l.events).toEqual([]);
  });

  test("a diagnostic's messages are matched by log id", () => {
    const keys = diagnosticKeys([ref("timeline", 2), { kind: "hole", im_msg_seq: 9, seq: null, log_id: null }]);
    expect([...keys]).toEqual(["log:2", "im:9"]);
  });

  test("tooltip text is escaped", () => {
    expect(escapeHtml(`"><img src=x onerror=alert(1)>`)).toBe("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  });
});
