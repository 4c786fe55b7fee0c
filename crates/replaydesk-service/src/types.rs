//! What the service's operations take and give: the same shapes over HTTP (JSON), over
//! Tauri IPC, and in the console's TypeScript (ts-rs).

use super::decode::lenient;
use replaydesk_delivery::StatsSnapshot;
// What the doors show of the store's rows is the API's models (see `api::models`).
use super::api::models::{
    Attempt, ClassRecord, Job, MessageFilter, RecordingCallbackRecord, StoredMessage,
    TimelineReportRecord,
};
use replaydesk_store::MessageStatus;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A class to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct CreateClass {
    #[serde(deserialize_with = "lenient::string")]
    pub class_id: String,
    /// The class's ReplayGroup.
    #[serde(deserialize_with = "lenient::string")]
    pub group_id: String,
    #[serde(deserialize_with = "lenient::string")]
    pub teacher_uid: String,
    /// Create the group through the IM REST API (a group that already exists is fine).
    #[serde(default, deserialize_with = "lenient::bool_or_false")]
    pub create_group: bool,
    /// Also accept one class-wide report token for any member (legacy; off by default:
    /// each member reports with its own credential).
    #[serde(default, deserialize_with = "lenient::bool_or_false")]
    pub legacy_class_token: bool,
    /// Accept reports from uids the class does not know yet (they become members). Off by
    /// default; applies to the legacy class-wide token (a member credential names its uid).
    #[serde(default, deserialize_with = "lenient::bool_or_false")]
    pub open_enrolment: bool,
    /// The TRTC room the class is held in (a string, or a whole number taken as its
    /// text): its recordings are found by it. Absent: by the class id.
    #[serde(default, deserialize_with = "lenient::opt_room")]
    #[ts(optional, type = "string | number")]
    pub room_id: Option<String>,
}

/// A created class, the teacher's report credential, and (legacy option only) the
/// class-wide report token, shown this once (only its SHA-256 is stored).
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct CreatedClass {
    #[serde(flatten)]
    pub class: ClassRecord,
    /// The teacher's report credential: speaks for `teacher_uid` only. Students' come from
    /// `POST /v1/admin/classes/{class_id}/members/{uid}/credential` (or the host app).
    pub teacher_credential: String,
    /// The class-wide report token, only when `legacy_class_token` was asked for.
    pub report_token: Option<String>,
    /// True when this call created the group in IM (false: not asked, or it existed).
    pub group_created: bool,
}

impl std::fmt::Debug for CreatedClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedClass")
            .field("class", &self.class)
            .field("group_created", &self.group_created)
            .finish_non_exhaustive()
    }
}

/// What `POST /v1/admin/classes/{class_id}/create-group` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct GroupCreated {
    pub class_id: String,
    pub group_id: String,
    /// True when this call created the group; false: it existed already.
    pub group_created: bool,
    /// True when a `group_missing` alert of the class was open and is now cleared.
    pub alert_cleared: bool,
    /// The job queuing again the class's messages that failed since the alert.
    pub job: Option<Job>,
}

/// A timeline report from a classroom client: a body of at most 4096 bytes. Other fields
/// are accepted, ignored and not kept (the stored body holds these three only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TimelineReport {
    pub uid: String,
    /// The client's clock, ms (often the low 32 bits of a counter).
    #[ts(type = "number")]
    pub timestamp: i64,
    /// The round trip the client measured to this server (e.g. with `GET /v1/time`), ms.
    #[serde(default)]
    pub rtt_ms: Option<f64>,
}

/// A timeline report made durable: its 1003 follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TimelineAccepted {
    #[ts(type = "number")]
    pub message_id: i64,
    #[ts(type = "number")]
    pub seq: u64,
    /// Server unix ms paired with the client's `timestamp` in the 1003.
    #[ts(type = "number")]
    pub time_line: i64,
}

/// A heartbeat taken: the server's clock when it was answered, so that the client can
/// time its round trip for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct HeartbeatAccepted {
    /// Server unix ms.
    #[ts(type = "number")]
    pub server_ms: i64,
}

/// A class start or end from a classroom client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassEventReport {
    pub uid: String,
    #[ts(type = "number")]
    pub timestamp: i64,
}

/// A class start or end made durable: its 1001 / 1002 follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassEventAccepted {
    #[ts(type = "number")]
    pub message_id: i64,
    #[ts(type = "number")]
    pub seq: u64,
}

/// Messages per delivery status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct StatusCounts {
    #[ts(type = "number")]
    pub pending: i64,
    #[ts(type = "number")]
    pub sending: i64,
    #[ts(type = "number")]
    pub sent: i64,
    #[ts(type = "number")]
    pub retrying: i64,
    #[ts(type = "number")]
    pub failed: i64,
    #[ts(type = "number")]
    pub total: i64,
}

impl StatusCounts {
    pub fn add(&mut self, status: MessageStatus, n: i64) {
        match status {
            MessageStatus::Pending => self.pending += n,
            MessageStatus::Sending => self.sending += n,
            MessageStatus::Sent => self.sent += n,
            MessageStatus::Retrying => self.retrying += n,
            MessageStatus::Failed => self.failed += n,
        }
        self.total += n;
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (MessageStatus, i64)>) -> Self {
        let mut c = Self::default();
        for (s, n) in pairs {
            c.add(s, n);
        }
        c
    }

    pub fn get(&self, status: MessageStatus) -> i64 {
        match status {
            MessageStatus::Pending => self.pending,
            MessageStatus::Sending => self.sending,
            MessageStatus::Sent => self.sent,
            MessageStatus::Retrying => self.retrying,
            MessageStatus::Failed => self.failed,
        }
    }
}

/// A class as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassSummary {
    #[serde(flatten)]
    pub class: ClassRecord,
    pub counts: StatusCounts,
    #[ts(type = "number")]
    pub members: i64,
    /// Where the class's ReplayGroup archive stands (`pending` before its first pass).
    pub archive_state: crate::api::models::ArchiveState,
    /// When the IM forgets the oldest message not yet archived (unix ms); null when
    /// nothing is outstanding.
    #[ts(type = "number | null")]
    pub archive_deadline_ms: Option<i64>,
}

/// One message, every attempt at it, and what it was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct MessageDetail {
    pub message: StoredMessage,
    pub attempts: Vec<Attempt>,
    /// A 1003's timeline report (the first, when a repeat named the same message); null
    /// for other types, or when none is kept.
    #[serde(default)]
    pub source_report: Option<TimelineReportRecord>,
    /// A 1004's recording callback (the one that made it); null for other types, or when
    /// none is kept.
    #[serde(default)]
    pub source_callback: Option<RecordingCallbackRecord>,
}

/// What a bulk resend would take: `POST /v1/admin/resend/preview`'s answer. Confirm it
/// with `confirm_count: count` in `POST /v1/admin/resend`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ResendPreview {
    /// Messages matching now.
    #[ts(type = "number")]
    pub count: i64,
    /// The filter as it will be applied (statuses narrowed to those not `sent` unless
    /// `include_sent`).
    pub filter: MessageFilter,
}

/// What "recover failed since" would take: `POST /v1/admin/recover/preview`'s answer.
/// Confirm it with `confirm_count: count` in `POST /v1/admin/recover`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RecoverPreview {
    /// Failed messages (updated at or after `since_ms`) matching now.
    #[ts(type = "number")]
    pub count: i64,
    #[ts(type = "number")]
    pub since_ms: i64,
    pub class_id: Option<String>,
}

/// What a manual resend did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ResendOutcome {
    /// False when the message is being sent right now (nothing to do).
    pub queued: bool,
    pub message: StoredMessage,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// Messages per status in the store now.
    pub statuses: StatusCounts,
    /// Messages accepted (newly stored) since start.
    pub accepted_total: u64,
    /// Reports that repeated an accepted one (same message) since start.
    pub duplicate_total: u64,
    /// Timeline reports refused since start.
    pub refused_total: u64,
    /// Transactions the report writer committed since start (reports per commit =
    /// (accepted + duplicate) / commits: how much group commit is batching).
    pub intake_commits_total: u64,
    /// Delivery attempts and their latency since start.
    pub delivery: StatsSnapshot,
    /// True while sending is paused on refused IM credentials.
    pub delivery_paused: bool,
    /// Recording callbacks refused since start (only a sample of them is stored).
    pub callbacks_refused_total: u64,
    /// TRTC callbacks that could not be recorded (answered 5xx) since start.
    pub trtc_callbacks_failed_total: u64,
    /// Open alerts.
    pub open_alerts: usize,
    /// The kinds of the open alerts (one entry per alert).
    pub open_alert_kinds: Vec<String>,
    /// Recording callbacks stored, per status (every status listed).
    pub callbacks: Vec<(replaydesk_store::CallbackStatus, i64)>,
}
