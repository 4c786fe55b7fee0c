// The reconcile report in words.

import type { ReconcileReport } from "../bindings/ReconcileReport";
import type { SeqRange } from "../bindings/SeqRange";
import { count } from "./format";

/** How many MsgSeqs the runs hold together. */
export function seqCount(runs: SeqRange[]): number {
  return runs.reduce((n, r) => n + (r.last - r.first + 1), 0);
}

/** "9", "4–39": one run of MsgSeqs. */
export function seqRun(r: SeqRange): string {
  return r.first === r.last ? `${r.first}` : `${r.first}–${r.last}`;
}

/** "1 hole", "2 holes", with thousands separated. */
export function counted(n: number, one: string, many: string): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** One line saying what the report found, in words. */
export function reportSummary(r: ReconcileReport): string {
  const parts = [
    `${count(r.history_messages)} in the group, ${count(r.log_messages)} in the log, ${count(r.matched)} matched`,
  ];
  if (r.missing.length) parts.push(`${count(r.missing.length)} missing from the group`);
  if (r.foreign.length) parts.push(`${count(r.foreign.length)} written by others`);
  if (r.duplicate_seqs.length) {
    parts.push(`${counted(r.duplicate_seqs.length, "seq", "seqs")} carried by several group messages`);
  }
  if (r.data_differs.length) parts.push(`${count(r.data_differs.length)} with different Data`);
  if (r.holes.length) parts.push(counted(seqCount(r.holes), "hole", "holes"));
  if (r.unreadable_items) parts.push(`${count(r.unreadable_items)} unreadable`);
  if (r.from_archive) parts.push(`${count(r.from_archive)} no longer in the IM, compared from the archive`);
  return parts.join(" · ");
}
