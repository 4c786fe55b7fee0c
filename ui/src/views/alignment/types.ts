// The part of the alignment engine's answer (`GET /v1/admin/classes/{id}/alignment`,
// Tauri `class_alignment`) this view draws. It mirrors the ts-rs bindings the alignment
// work generates (Alignment, UserClock, ClockSegment, RecordingPlacement, AlignedEvent,
// Diagnostic, MsgRef); the view reads only these fields.

export type EntryKind = "class_start" | "class_end" | "timeline" | "recording" | "whiteboard" | "hole" | "unreadable" | "other";

export interface MsgRef {
  kind: EntryKind;
  im_msg_seq: number | null;
  seq: number | null;
  log_id: number | null;
}

export interface ClockSegment {
  pair: MsgRef;
  client_ms: number;
  server_ms: number;
  offset_ms: number;
  uncertainty_ms: number | null;
  precision: string;
  from_server_ms: number;
  until_server_ms: number | null;
  jump_ms: number | null;
}

export interface UserClock {
  uid: string;
  clock_width: string;
  segments: ClockSegment[];
}

export interface RecordingPlacement {
  recording: MsgRef;
  uid: string;
  video_id: string;
  video_url: string;
  by_client_clock_ms: number | null;
  by_stream_offset_ms: number;
  chosen: "client_clock" | "stream_offset";
  start_ms: number;
  end_ms: number;
  readings_disagree_ms: number | null;
}

export interface AlignedEvent {
  event: MsgRef;
  uid: string;
  client_ms: number;
  server_ms: number | null;
}

export interface Diagnostic {
  code: string;
  severity: "info" | "warning" | "error";
  uid: string | null;
  messages: MsgRef[];
  message: string;
  explanation: string;
}

export interface AlignmentAnswer {
  class_id: string | null;
  message_count: number;
  users: UserClock[];
  recordings: RecordingPlacement[];
  events: AlignedEvent[];
  diagnostics: Diagnostic[];
}

/** A stable key for a message reference, to match highlights across lists. */
export function refKey(r: MsgRef): string {
  if (r.log_id !== null) return `log:${r.log_id}`;
  if (r.im_msg_seq !== null) return `im:${r.im_msg_seq}`;
  return `seq:${r.kind}:${r.seq ?? "?"}`;
}
