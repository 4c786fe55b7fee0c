//! Messages and their attempts.

use super::*;

/// A message as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct StoredMessage {
    #[ts(type = "number")]
    pub id: i64,
    pub class_id: String,
    pub group_id: String,
    pub msg_type: MessageType,
    pub uid: String,
    #[ts(type = "number")]
    pub seq: u64,
    #[ts(type = "number")]
    pub random: u32,
    /// The exact `Data` text sent to the group.
    pub data: String,
    pub status: MessageStatus,
    pub attempt_count: i64,
    #[ts(type = "number | null")]
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    #[ts(type = "number | null")]
    pub im_msg_seq: Option<i64>,
    #[ts(type = "number | null")]
    pub im_msg_time: Option<i64>,
    #[ts(type = "number")]
    pub created_at: i64,
    #[ts(type = "number")]
    pub updated_at: i64,
    #[ts(type = "number | null")]
    pub sent_at: Option<i64>,
}

impl From<store::StoredMessage> for StoredMessage {
    fn from(r: store::StoredMessage) -> Self {
        let store::StoredMessage {
            id,
            class_id,
            group_id,
            msg_type,
            uid,
            seq,
            random,
            data,
            status,
            attempt_count,
            next_attempt_at,
            last_error,
            im_msg_seq,
            im_msg_time,
            created_at,
            updated_at,
            sent_at,
        } = r;
        Self {
            id,
            class_id,
            group_id,
            msg_type,
            uid,
            seq,
            random,
            data,
            status: status.into(),
            attempt_count,
            next_attempt_at,
            last_error,
            im_msg_seq,
            im_msg_time,
            created_at,
            updated_at,
            sent_at,
        }
    }
}

/// Back into a row: a bundle's message, to import.
impl From<StoredMessage> for store::StoredMessage {
    fn from(r: StoredMessage) -> Self {
        let StoredMessage {
            id,
            class_id,
            group_id,
            msg_type,
            uid,
            seq,
            random,
            data,
            status,
            attempt_count,
            next_attempt_at,
            last_error,
            im_msg_seq,
            im_msg_time,
            created_at,
            updated_at,
            sent_at,
        } = r;
        Self {
            id,
            class_id,
            group_id,
            msg_type,
            uid,
            seq,
            random,
            data,
            status: status.into(),
            attempt_count,
            next_attempt_at,
            last_error,
            im_msg_seq,
            im_msg_time,
            created_at,
            updated_at,
            sent_at,
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Attempt {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub message_id: i64,
    pub trigger: Trigger,
    #[ts(type = "number")]
    pub random: u32,
    #[ts(type = "number")]
    pub started_at: i64,
    #[ts(type = "number")]
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    #[ts(type = "number | null")]
    pub im_error_code: Option<i64>,
    pub im_error_info: Option<String>,
    pub transport_error: Option<String>,
    pub outcome: AttemptOutcome,
}

impl From<store::Attempt> for Attempt {
    fn from(r: store::Attempt) -> Self {
        let store::Attempt {
            id,
            message_id,
            trigger,
            random,
            started_at,
            duration_ms,
            http_status,
            im_error_code,
            im_error_info,
            transport_error,
            outcome,
        } = r;
        Self {
            id,
            message_id,
            trigger: trigger.into(),
            random,
            started_at,
            duration_ms,
            http_status,
            im_error_code,
            im_error_info,
            transport_error,
            outcome: outcome.into(),
        }
    }
}

/// Back into a row: a bundle's attempt, to import.
impl From<Attempt> for store::Attempt {
    fn from(r: Attempt) -> Self {
        let Attempt {
            id,
            message_id,
            trigger,
            random,
            started_at,
            duration_ms,
            http_status,
            im_error_code,
            im_error_info,
            transport_error,
            outcome,
        } = r;
        Self {
            id,
            message_id,
            trigger: trigger.into(),
            random,
            started_at,
            duration_ms,
            http_status,
            im_error_code,
            im_error_info,
            transport_error,
            outcome: outcome.into(),
        }
    }
}
