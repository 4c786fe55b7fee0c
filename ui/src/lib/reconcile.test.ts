import { describe, expect, test } from "vitest";
import type { ReconcileReport } from "../bindings/ReconcileReport";
import { reportSummary, seqRun } from "./reconcile";

const clean: ReconcileReport = {
  history_messages: 1200,
  log_messages: 1200,
  matched: 1200,
  missing: [],
  foreign: [],
  duplicate_seqs: [],
  holes: [],
  data_differs: [],
  unreadable_items: 0,
  from_archive: 0,
};

describe("reconcile report in words", () => {
  test("messages the IM forgot are said to come from the archive", () => {
    expect(reportSummary({ ...clean, from_archive: 404 })).toBe(
      "1,200 in the group, 1,200 in the log, 1,200 matched · 404 no longer in the IM, compared from the archive",
    );
  });
  test("a clean report says only the counts", () => {
    expect(reportSummary(clean)).toBe("1,200 in the group, 1,200 in the log, 1,200 matched");
  });
  test("each kind of difference is named with its count, empty ones left out", () => {
    const r: ReconcileReport = {
      ...clean,
      matched: 1198,
      missing: [{ log_id: 7, seq: 70, msg_type: "timeline", im_msg_seq: 9, now_a_hole: true }],
      duplicate_seqs: [{ seq: 70, im_msg_seqs: [6, 7] }],
      holes: [{ first: 9, last: 10 }],
      unreadable_items: 1,
    };
    expect(reportSummary(r)).toBe(
      "1,200 in the group, 1,200 in the log, 1,198 matched · 1 missing from the group · 1 seq carried by several group messages · 2 holes · 1 unreadable",
    );
  });
  test("holes are counted over their runs, a long run as one range", () => {
    const r: ReconcileReport = { ...clean, holes: [{ first: 3, last: 3 }, { first: 100_001, last: 200_000 }] };
    expect(reportSummary(r)).toBe("1,200 in the group, 1,200 in the log, 1,200 matched · 100,001 holes");
    expect(r.holes.map(seqRun)).toEqual(["3", "100001–200000"]);
  });
});
