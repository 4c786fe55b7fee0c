import { describe, expect, test } from "vitest";
import { buildLanes, diagnosticKeys, escapeHtml, focusRange, readingName, sourceName } from "./model";
import { offsetSeries } from "./offsets";
import type { AlignedEvent, AlignmentAnswer, ClockSegment, MsgRef, RecordingPlacement } from "./types";

const ref = (kind: MsgRef["kind"], log_id: number, seq: number | null = null): MsgRef => ({ kind, im_msg_seq: null, seq, log_id });

function seg(over: Partial<ClockSegment>): ClockSegment {
  return {
    pair: ref("timeline", 0),
    client_ms: 0,
    server_ms: 0,
    offset_ms: 0,
    uncertainty_ms: null,
    precision: "measured",
    rtt_source: "client",
    from_server_ms: 0,
    until_server_ms: null,
    jump_ms: null,
    aligned_server_ms: 0,
    aligned_offset_ms: 0,
    aligned_uncertainty_ms: null,
    filter: null,
    ...over,
  };
}

function rec(over: Partial<RecordingPlacement>): RecordingPlacement {
  return {
    recording: ref("recording", 0),
    source: "css",
    media: null,
    uid: "u",
    video_id: "v",
    video_url: "u",
    start_time: 0,
    end_time: 0,
    duration: 0,
    media_start_time: 0,
    by_client_clock_ms: null,
    by_stream_offset_ms: 0,
    chosen: "client_clock",
    start_ms: 0,
    end_ms: 0,
    readings_disagree_ms: null,
    client_clock_vs_start_time_ms: null,
    segment: null,
    reason: "evidence",
    reason_text: "",
    evidence: [],
    class_start_position_ms: null,
    ...over,
  };
}

function ev(event: MsgRef, server_ms: number | null): AlignedEvent {
  return { event, uid: "teacher", client_ms: 0, server_ms, segment: null, received_ms: null, positions: [] };
}

function answer(): AlignmentAnswer {
  return {
    source: "log",
    group_id: "g1",
    class_id: "c1",
    message_count: 7,
    reference_shaped: false,
    class_start_ms: 900,
    class_end_ms: 9900,
    users: [
      {
        uid: "teacher",
        clock_width: "bits64",
        segments: [
          seg({ pair: ref("timeline", 1), client_ms: 10, server_ms: 1000, offset_ms: 990, uncertainty_ms: 20, from_server_ms: 1000, until_server_ms: 5000 }),
          seg({ pair: ref("timeline", 2), client_ms: 20, server_ms: 5000, offset_ms: 4980, precision: "time_line", from_server_ms: 5000, jump_ms: 3990 }),
        ],
      },
    ],
    recordings: [
      // Readings 60 s apart: both are drawn.
      rec({ recording: ref("recording", 3), uid: "student<b>", video_id: "v1", by_client_clock_ms: 2000, by_stream_offset_ms: 62000, start_ms: 2000, end_ms: 9000, readings_disagree_ms: 60000 }),
      // Readings agree: one bar.
      rec({ recording: ref("recording", 4), uid: "teacher", video_id: "v2", by_client_clock_ms: 3000, by_stream_offset_ms: 3200, start_ms: 3000, end_ms: 4000, readings_disagree_ms: 200 }),
    ],
    events: [ev(ref("class_start", 5), 900), ev(ref("class_end", 6), 9900), ev(ref("whiteboard", 7), null)],
    holes: [],
    diagnostics: [],
    options: {
      uncertainty_threshold_ms: 0,
      jump_tolerance_ms: 0,
      ahead_tolerance_ms: 0,
      behind_tolerance_ms: 0,
      duration_tolerance_s: 0,
      gap_tolerance_ms: 0,
      overlap_tolerance_ms: 0,
      client_clock_window_ms: 0,
      reading_tolerance_ms: 0,
      pair_filter_window_ms: 0,
    },
  };
}

describe("alignment lanes", () => {
  test("each bar says which source placed it and whether it is the main or the aux file", () => {
    const a = answer();
    a.recordings.push(
      rec({ recording: ref("recording", 8), uid: "teacher", video_id: "t-main", source: "trtc", media: "main", chosen: "wall_clock", start_ms: 3000, end_ms: 5000 }),
      rec({ recording: ref("recording", 9), uid: "teacher", video_id: "t-aux", source: "manual", media: "aux", chosen: "wall_clock", start_ms: 3000, end_ms: 5000 }),
    );
    const bars = buildLanes(a).bars.filter((b) => b.video_id.startsWith("t-"));
    expect(bars.map((b) => [b.video_id, b.source, b.media, b.reading, b.chosen])).toEqual([
      ["t-main", "trtc", "main", "wall_clock", true],
      ["t-aux", "manual", "aux", "wall_clock", true],
    ]);
    expect([sourceName("trtc"), sourceName("css"), sourceName("manual"), readingName("wall_clock")]).toEqual([
      "TRTC cloud recording",
      "CSS recording callback",
      "entered by hand",
      "wall clock",
    ]);
  });

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

describe("the first view of the lanes", () => {
  test("frames the pairs and class markers, padded, not a far-away recording", () => {
    // Pairs at 1000 and 5000, markers at 900 and 9900; the disputed recording at 62 s.
    expect(focusRange(buildLanes(answer()))).toEqual([900 - 1000, 9900 + 1000]);
  });

  test("opens on the whole class: a recording placed just after the end is in view, a far one is not", () => {
    const a = answer();
    // Chosen placement 33 s after the class ended (within one class-length): framed.
    const late = rec({ recording: ref("recording", 8), uid: "zhao", video_id: "v3", start_ms: 42900, end_ms: 50000 });
    const [lo, hi] = focusRange(buildLanes({ ...a, recordings: [...a.recordings, late] })) ?? [0, 0];
    expect(lo).toBeLessThanOrEqual(900);
    expect(hi).toBeGreaterThanOrEqual(50000);
    // Placed a day away: reachable by zooming out, not squeezing the class.
    const far = rec({ recording: ref("recording", 9), uid: "zhao", video_id: "v4", start_ms: 86_400_000, end_ms: 86_500_000 });
    expect(focusRange(buildLanes({ ...a, recordings: [...a.recordings, far] }))).toEqual([900 - 1000, 9900 + 1000]);
  });

  test("with only recordings, frames them; with nothing, none", () => {
    const a = { ...answer(), users: [], events: [] };
    expect(focusRange(buildLanes(a))).toEqual([2000 - 6700, 69000 + 6700]);
    expect(focusRange(buildLanes({ ...a, recordings: [] }))).toBeNull();
  });
});

describe("offsetSeries", () => {
  // A 32-bit teacher clock a minute before its wrap, then past it (500 ms of real drift),
  // then a reboot that sets it back 35 s while 99.5 s pass on the server.
  const S = 1_700_000_000_000;
  const wrapped = (): AlignmentAnswer => {
    const pairs: [number, number][] = [
      [2 ** 32 - 60_000, S],
      [40_000, S + 100_500],
      [5_000, S + 200_000],
    ];
    return {
      ...answer(),
      users: [
        {
          uid: "teacher",
          clock_width: "bits32",
          segments: pairs.map(([client_ms, server_ms], i) =>
            seg({ pair: ref("timeline", i + 1), client_ms, server_ms, offset_ms: server_ms - client_ms, aligned_offset_ms: server_ms - client_ms, jump_ms: i === 2 ? 134_500 : null }),
          ),
        },
      ],
    };
  };

  test("a 32-bit clock's wrap is unwrapped and marked, not a 2^32 ms step; a reboot stays a step", () => {
    const t = offsetSeries(wrapped())[0]!;
    expect(t.points.map((p) => p[1])).toEqual([0, 500, 135_000]);
    expect(t.wraps).toEqual([S + 100_500]);
    expect(t.jumps).toEqual([S + 200_000]);
  });

  test("a 64-bit clock is never unwrapped", () => {
    const a = wrapped();
    a.users[0]!.clock_width = "bits64";
    const t = offsetSeries(a)[0]!;
    expect(t.points[1]?.[1]).toBe(2 ** 32 + 500);
    expect(t.wraps).toEqual([]);
  });
});
