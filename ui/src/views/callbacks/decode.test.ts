import { describe, expect, test } from "vitest";
import type { ClassSummary } from "../../bindings/ClassSummary";
import { base64Text, decodeCallback, rankClasses, streamUid } from "./decode";

function cls(class_id: string, over: Partial<ClassSummary> = {}): ClassSummary {
  return {
    class_id,
    group_id: `g_${class_id}`,
    teacher_uid: "t",
    state: "ended",
    created_at: 0,
    started_at: null,
    ended_at: null,
    legacy_class_token: false,
    open_enrolment: false,
    reopen_count: 0,
    imported_at: null,
    counts: { pending: 0, sending: 0, sent: 0, retrying: 0, failed: 0, total: 0 },
    members: 0,
    ...over,
  } as ClassSummary;
}

const body = JSON.stringify({
  stream_id: "1400000000_room9_stu_zhao_main",
  stream_param: "groupid=replay_ghost&userid=c3R1X3poYW8%3D&txSecret=abc",
  start_time: 1795339195,
  end_time: "1795342790",
});

describe("an unmatched callback in words", () => {
  test("stream_param fields, the userid decoded, times as ms, the stream id split", () => {
    const d = decodeCallback(body);
    expect(d?.params).toEqual([
      { key: "groupid", value: "replay_ghost", decoded: null },
      { key: "userid", value: "c3R1X3poYW8=", decoded: "stu_zhao" },
      { key: "txSecret", value: "abc", decoded: null },
    ]);
    expect(d?.uid).toBe("stu_zhao");
    expect(d?.groupId).toBe("replay_ghost");
    expect(d?.streamRoomUid).toBe("room9_stu_zhao");
    expect(d && streamUid(d, "room9")).toBe("stu_zhao");
    expect(d && streamUid(d, "room")).toBeNull();
    expect([d?.startMs, d?.endMs]).toEqual([1795339195000, 1795342790000]);
    expect(decodeCallback("not json")).toBeNull();
    expect(decodeCallback("[1]")).toBeNull();
  });

  test("base64 of text only", () => {
    expect(base64Text("dGVhY2hlcl9saQ")).toBe("teacher_li");
    expect(base64Text("AAEC")).toBeNull();
    expect(base64Text("not base64!")).toBeNull();
  });

  test("classes that overlap in time or know the user come first", () => {
    const d = decodeCallback(body);
    if (!d) throw new Error("decodes");
    const classes = [
      cls("far", { started_at: 1, ended_at: 2 }),
      cls("overlap", { started_at: 1795339000000, ended_at: 1795343000000 }),
      cls("member", {}),
      cls("room9", {}),
      cls("both", { started_at: 1795339000000, ended_at: null }),
    ];
    const members: Record<string, string[]> = { member: ["stu_zhao"], both: ["stu_zhao"] };
    const ranked = rankClasses(d, classes, (c) => members[c], 1795345000000);
    expect(ranked.map((c) => c.classId)).toEqual(["both", "room9", "member", "overlap"]);
    expect(ranked[0]?.reasons).toEqual(["ran while it recorded", "stu_zhao is a member"]);
  });
});
