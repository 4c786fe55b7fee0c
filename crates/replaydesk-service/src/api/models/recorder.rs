//! The recorder life (recording status events from either cloud) and the stream ids
//! registered for a class's members.

use super::*;

/// One recorder event: a recording status event from TRTC or CSS, or a file entered by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RecorderEvent {
    #[ts(type = "number")]
    pub id: i64,
    pub source: RecorderSource,
    /// The cloud's task id (TRTC `TaskId`, CSS `session_id` or `task_id`).
    pub task_id: String,
    pub class_id: Option<String>,
    pub uid: Option<String>,
    pub room_id: Option<String>,
    pub stream_id: Option<String>,
    /// `main` (camera) or `aux` (screen share), when known.
    pub media: Option<String>,
    /// The cloud's event type (TRTC 301-312; CSS 100 or 332).
    #[ts(type = "number")]
    pub event_type: i64,
    pub event_name: String,
    pub stage: RecorderStage,
    /// When it happened by the cloud's clock, unix ms.
    #[ts(type = "number | null")]
    pub event_at: Option<i64>,
    pub file_key: Option<String>,
    #[ts(type = "number | null")]
    pub file_start_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub file_end_ms: Option<i64>,
    pub status: RecorderOutcome,
    pub detail: Option<String>,
    /// The callback it came in.
    #[ts(type = "number | null")]
    pub callback_id: Option<i64>,
    /// The file's 1004.
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    #[ts(type = "number")]
    pub received_at: i64,
}

impl From<store::RecorderEvent> for RecorderEvent {
    fn from(r: store::RecorderEvent) -> Self {
        let store::RecorderEvent {
            id,
            source,
            task_id,
            class_id,
            uid,
            room_id,
            stream_id,
            media,
            event_type,
            event_name,
            stage,
            event_at,
            file_key,
            file_start_ms,
            file_end_ms,
            status,
            detail,
            callback_id,
            message_id,
            received_at,
        } = r;
        Self {
            id,
            source: source.into(),
            task_id,
            class_id,
            uid,
            room_id,
            stream_id,
            media,
            event_type,
            event_name,
            stage: stage.into(),
            event_at,
            file_key,
            file_start_ms,
            file_end_ms,
            status: status.into(),
            detail,
            callback_id,
            message_id,
            received_at,
        }
    }
}

/// A stream id registered for a member of a class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassStream {
    pub class_id: String,
    pub stream_id: String,
    pub uid: String,
    /// When it was registered, unix ms.
    #[ts(type = "number")]
    pub created_at: i64,
}

impl From<store::ClassStream> for ClassStream {
    fn from(r: store::ClassStream) -> Self {
        let store::ClassStream {
            class_id,
            stream_id,
            uid,
            created_at,
        } = r;
        Self {
            class_id,
            stream_id,
            uid,
            created_at,
        }
    }
}
