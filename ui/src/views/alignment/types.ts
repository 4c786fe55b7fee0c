// The alignment engine's answer (`GET /v1/admin/classes/{id}/alignment`, Tauri
// `class_alignment`), as its ts-rs bindings describe it.

import type { Alignment } from "../../bindings/Alignment";
import type { MsgRef } from "../../bindings/MsgRef";

export type { AlignedEvent } from "../../bindings/AlignedEvent";
export type { ClockSegment } from "../../bindings/ClockSegment";
export type { Diagnostic } from "../../bindings/Diagnostic";
export type { RecordingPlacement } from "../../bindings/RecordingPlacement";
export type { UserClock } from "../../bindings/UserClock";
export type { MsgRef };

export type AlignmentAnswer = Alignment;

/** A stable key for a message reference, to match highlights across lists. */
export function refKey(r: MsgRef): string {
  if (r.log_id !== null) return `log:${r.log_id}`;
  if (r.im_msg_seq !== null) return `im:${r.im_msg_seq}`;
  return `seq:${r.kind}:${r.seq ?? "?"}`;
}
