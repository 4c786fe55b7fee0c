//! The API's own types for what the store keeps as rows: the JSON both doors answer, and
//! the TypeScript (ts-rs) and OpenAPI (utoipa) types the console and the document name.
//!
//! The store's rows (`replaydesk_store`) are the database's shape; these are the API's.
//! Each model is made from its row by a `From` that destructures the row field by field,
//! so a column added to a table is not published until someone adds it here on purpose
//! (the `From` stops compiling until then), and a row can change without the API
//! changing. The enumerations are mirrored the same way: a variant added to the store's
//! enumeration stops the `match` in its `From` from compiling.
//!
//! The names, fields and serde attributes are those the rows had when they were the API,
//! so the JSON bodies and the console's TypeScript types did not change when the API got
//! its own types.
//!
//! `ClassRecord`, `Member`, `StoredMessage`, `Attempt` and `ReportFacts` also read
//! (`Deserialize`) and convert back into rows: the class bundle (`crate::export`) is a
//! persisted format that `import_class` reads again, and it is written and read with these
//! models, in the same wire format the rows had.

use replaydesk_protocol::MessageType;
use replaydesk_store as store;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

// Named by `RecordingCallbackRecord`'s doc comments (kept word for word from the row's).
#[cfg(doc)]
use replaydesk_store::{LIST_BODY_PREVIEW_BYTES, REFUSED_BODY_SAMPLE_BYTES};

/// An enumeration of the API mirroring one of the store's, variant for variant, with the
/// same snake_case names, and `From` both ways (exhaustive `match`es, no wildcard).
macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[ts(export)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl From<store::$name> for $name {
            fn from(v: store::$name) -> Self {
                match v { $(store::$name::$variant => Self::$variant),+ }
            }
        }

        impl From<$name> for store::$name {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => Self::$variant),+ }
            }
        }
    };
}

api_enum! {
    /// Where a message's delivery stands.
    MessageStatus {
        Pending,
        Sending,
        Sent,
        Retrying,
        Failed,
    }
}

api_enum! {
    /// What started an attempt.
    Trigger {
        Scheduled,
        Manual,
        Bulk,
        Recovery,
    }
}

api_enum! {
    /// What one attempt came to.
    AttemptOutcome {
        Sent,
        /// A transient failure (internal error): retried on the schedule.
        Retry,
        /// A frequency limit: retried later without using up the schedule.
        SlowDown,
        /// Refused for good (bad parameter, group missing, ...): the message failed.
        Permanent,
        /// The IM credentials are wrong: sending paused, the message waits.
        Credentials,
        /// Timeout or lost response after the request left: it may have landed.
        Ambiguous,
        /// An ambiguous earlier attempt was found in the group's history: marked sent.
        FoundInHistory,
        /// The process stopped while the attempt was in flight (found at start-up).
        Interrupted,
    }
}

api_enum! {
    /// A class's lifecycle as its 1001/1002 messages tell it.
    ClassState {
        Created,
        Started,
        Ended,
    }
}

api_enum! {
    /// A member's part in a class: the class's teacher, or anyone else who reported.
    MemberRole {
        Teacher,
        Student,
    }
}

api_enum! {
    JobKind {
        BulkResend,
        RecoverFailed,
    }
}

api_enum! {
    JobState {
        /// Still choosing its messages (resumable from its cursor).
        Enqueuing,
        /// All its messages are queued; waiting for them to be sent or to fail.
        Running,
        /// Every message it took on is sent or failed.
        Finished,
    }
}

api_enum! {
    /// What became of a recording callback.
    CallbackStatus {
        /// A recording mapped to a class and user: its 1004 was stored with it.
        Accepted,
        /// The same file again: no new message; `message_id` is the file's 1004.
        Duplicate,
        /// The same file as the 1004 of another class or user (a reused or forged
        /// `file_id`): nothing sent; listed for an admin to look at.
        Conflict,
        /// Verified, but not a "recording file ready" event: acknowledged, nothing sent.
        Ignored,
        /// Unreadable, or its sign or expiry did not verify: nothing sent.
        Refused,
        /// Verified, but it maps to no class: kept for an admin to assign.
        Unmatched,
        /// Was unmatched; an admin chose its class and user, and its 1004 was stored.
        Assigned,
    }
}

api_enum! {
    /// Where a reconcile run stands.
    ReconcileState {
        /// Fetching pages (or interrupted: a new request resumes from its cursor).
        Running,
        Finished,
        /// Stopped by an error; a new request resumes from its cursor.
        Failed,
    }
}

/// One page of a listing and the cursor for the next, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Page<T: TS> {
    pub items: Vec<T>,
    #[ts(type = "number | null")]
    pub next_cursor: Option<i64>,
}

impl<S, T: TS + From<S>> From<store::Page<S>> for Page<T> {
    fn from(p: store::Page<S>) -> Self {
        let store::Page { items, next_cursor } = p;
        Self {
            items: items.into_iter().map(T::from).collect(),
            next_cursor,
        }
    }
}

/// A class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassRecord {
    pub class_id: String,
    pub group_id: String,
    pub teacher_uid: String,
    pub state: ClassState,
    #[ts(type = "number")]
    pub created_at: i64,
    #[ts(type = "number | null")]
    pub started_at: Option<i64>,
    #[ts(type = "number | null")]
    pub ended_at: Option<i64>,
    /// The class-wide report token is accepted (legacy option, off for new classes).
    pub legacy_class_token: bool,
    /// A uid the class does not know may report (and so become a member).
    pub open_enrolment: bool,
    /// How often an admin reopened the class after it ended (each allows one more
    /// 1001/1002 pair).
    pub reopen_count: u32,
    /// When the class was imported from another ReplayDesk's bundle (unix ms): then it is
    /// a read-only record, never delivered, resent or reconciled. `None` for a class of
    /// this ReplayDesk.
    #[ts(type = "number | null")]
    #[serde(default)]
    pub imported_at: Option<i64>,
}

impl From<store::ClassRecord> for ClassRecord {
    fn from(r: store::ClassRecord) -> Self {
        let store::ClassRecord {
            class_id,
            group_id,
            teacher_uid,
            state,
            created_at,
            started_at,
            ended_at,
            legacy_class_token,
            open_enrolment,
            reopen_count,
            imported_at,
        } = r;
        Self {
            class_id,
            group_id,
            teacher_uid,
            state: state.into(),
            created_at,
            started_at,
            ended_at,
            legacy_class_token,
            open_enrolment,
            reopen_count,
            imported_at,
        }
    }
}

/// Back into a row: a bundle's class, to import.
impl From<ClassRecord> for store::ClassRecord {
    fn from(r: ClassRecord) -> Self {
        let ClassRecord {
            class_id,
            group_id,
            teacher_uid,
            state,
            created_at,
            started_at,
            ended_at,
            legacy_class_token,
            open_enrolment,
            reopen_count,
            imported_at,
        } = r;
        Self {
            class_id,
            group_id,
            teacher_uid,
            state: state.into(),
            created_at,
            started_at,
            ended_at,
            legacy_class_token,
            open_enrolment,
            reopen_count,
            imported_at,
        }
    }
}

/// One member of a class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Member {
    pub class_id: String,
    pub uid: String,
    pub role: MemberRole,
    /// First report (or class creation, for the teacher), unix ms.
    #[ts(type = "number")]
    pub first_seen_at: i64,
    /// Latest report, unix ms.
    #[ts(type = "number")]
    pub last_seen_at: i64,
}

impl From<store::Member> for Member {
    fn from(r: store::Member) -> Self {
        let store::Member {
            class_id,
            uid,
            role,
            first_seen_at,
            last_seen_at,
        } = r;
        Self {
            class_id,
            uid,
            role: role.into(),
            first_seen_at,
            last_seen_at,
        }
    }
}

/// Back into a row: a bundle's member, to import.
impl From<Member> for store::Member {
    fn from(r: Member) -> Self {
        let Member {
            class_id,
            uid,
            role,
            first_seen_at,
            last_seen_at,
        } = r;
        Self {
            class_id,
            uid,
            role: role.into(),
            first_seen_at,
            last_seen_at,
        }
    }
}

/// Where a member's report credential stands (never the credential itself: it is shown
/// once, when issued).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct CredentialInfo {
    /// The generation a credential must carry to be accepted: 0 is the one derived before
    /// issuing existed (the teacher's from class creation, the host app's); each issue adds 1.
    #[ts(type = "number")]
    pub generation: i64,
    /// When the current one was issued (unix ms); null if never issued from the roster.
    #[ts(type = "number | null")]
    pub issued_at: Option<i64>,
    /// When it was revoked (unix ms); while set, the member's reports are refused.
    #[ts(type = "number | null")]
    pub revoked_at: Option<i64>,
}

impl From<store::CredentialInfo> for CredentialInfo {
    fn from(r: store::CredentialInfo) -> Self {
        let store::CredentialInfo {
            generation,
            issued_at,
            revoked_at,
        } = r;
        Self {
            generation,
            issued_at,
            revoked_at,
        }
    }
}

/// A member on the class's roster, with its credential's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RosterMember {
    #[serde(flatten)]
    #[ts(flatten)]
    pub member: Member,
    pub credential: CredentialInfo,
}

impl From<store::RosterMember> for RosterMember {
    fn from(r: store::RosterMember) -> Self {
        let store::RosterMember { member, credential } = r;
        Self {
            member: member.into(),
            credential: credential.into(),
        }
    }
}

/// What registering a roster did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AddedMembers {
    pub class_id: String,
    /// Uids that became members (students), in the order given.
    pub added: Vec<String>,
    /// Uids that were members already (their role and credential unchanged).
    pub existing: Vec<String>,
}

impl From<store::AddedMembers> for AddedMembers {
    fn from(r: store::AddedMembers) -> Self {
        let store::AddedMembers {
            class_id,
            added,
            existing,
        } = r;
        Self {
            class_id,
            added,
            existing,
        }
    }
}

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

/// A condition the console shows until it is cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Alert {
    #[ts(type = "number")]
    pub id: i64,
    /// `im_credentials` (sending paused), `group_missing` (a class's IM group does not
    /// exist; fixed by `POST /v1/admin/classes/{class_id}/create-group`), ...
    pub kind: String,
    /// The class the alert is about, if it is about one.
    pub class_id: Option<String>,
    pub detail: String,
    #[ts(type = "number")]
    pub raised_at: i64,
    #[ts(type = "number | null")]
    pub cleared_at: Option<i64>,
}

impl From<store::Alert> for Alert {
    fn from(r: store::Alert) -> Self {
        let store::Alert {
            id,
            kind,
            class_id,
            detail,
            raised_at,
            cleared_at,
        } = r;
        Self {
            id,
            kind,
            class_id,
            detail,
            raised_at,
            cleared_at,
        }
    }
}

/// One entry of the audit log: who did what to which target, and its details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AuditEntry {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[ts(type = "unknown")]
    pub detail: serde_json::Value,
}

impl From<store::AuditEntry> for AuditEntry {
    fn from(r: store::AuditEntry) -> Self {
        let store::AuditEntry {
            id,
            at,
            actor,
            action,
            target,
            detail,
        } = r;
        Self {
            id,
            at,
            actor,
            action,
            target,
            detail,
        }
    }
}

/// Which messages: every field narrows; empty lists and `None` do not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(default)]
#[ts(export)]
pub struct MessageFilter {
    pub class_id: Option<String>,
    /// Any of these classes.
    pub class_ids: Vec<String>,
    /// Any of these statuses.
    pub statuses: Vec<MessageStatus>,
    /// Any of these types.
    pub types: Vec<MessageType>,
    pub uid: Option<String>,
    /// Created at or after (unix ms).
    #[ts(type = "number | null")]
    pub created_from: Option<i64>,
    /// Created before (unix ms).
    #[ts(type = "number | null")]
    pub created_to: Option<i64>,
    /// Last changed at or after (unix ms): with `statuses = [failed]`, "failed since".
    #[ts(type = "number | null")]
    pub updated_from: Option<i64>,
    /// Only messages that took more than one attempt (true) or exactly one or none (false).
    pub retried: Option<bool>,
    /// Substring of the `Data` text.
    pub text: Option<String>,
}

impl From<store::MessageFilter> for MessageFilter {
    fn from(r: store::MessageFilter) -> Self {
        let store::MessageFilter {
            class_id,
            class_ids,
            statuses,
            types,
            uid,
            created_from,
            created_to,
            updated_from,
            retried,
            text,
        } = r;
        Self {
            class_id,
            class_ids,
            statuses: statuses.into_iter().map(Into::into).collect(),
            types,
            uid,
            created_from,
            created_to,
            updated_from,
            retried,
            text,
        }
    }
}

/// A job and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Job {
    #[ts(type = "number")]
    pub id: i64,
    pub kind: JobKind,
    pub filter: MessageFilter,
    pub actor: String,
    pub state: JobState,
    /// Messages matching the filter when the job started (or taken on so far, if more).
    #[ts(type = "number")]
    pub total: i64,
    /// Taken-on messages now sent.
    #[ts(type = "number")]
    pub done: i64,
    /// Taken-on messages now failed.
    #[ts(type = "number")]
    pub failed: i64,
    #[ts(type = "number")]
    pub created_at: i64,
    #[ts(type = "number")]
    pub updated_at: i64,
    #[ts(type = "number | null")]
    pub finished_at: Option<i64>,
}

impl From<store::Job> for Job {
    fn from(r: store::Job) -> Self {
        let store::Job {
            id,
            kind,
            filter,
            actor,
            state,
            total,
            done,
            failed,
            created_at,
            updated_at,
            finished_at,
        } = r;
        Self {
            id,
            kind: kind.into(),
            filter: filter.into(),
            actor,
            state: state.into(),
            total,
            done,
            failed,
            created_at,
            updated_at,
            finished_at,
        }
    }
}

/// A timeline report as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TimelineReportRecord {
    #[ts(type = "number")]
    pub id: i64,
    pub class_id: Option<String>,
    pub uid: Option<String>,
    #[ts(type = "number | null")]
    pub client_timestamp: Option<i64>,
    #[ts(type = "number | null")]
    pub rtt_ms: Option<i64>,
    #[ts(type = "number")]
    pub received_at: i64,
    #[ts(type = "number | null")]
    pub time_line: Option<i64>,
    #[ts(type = "number | null")]
    pub uncertainty_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    pub accepted: bool,
    pub refusal_reason: Option<String>,
    /// The body exactly as received.
    pub body: String,
}

impl From<store::TimelineReportRecord> for TimelineReportRecord {
    fn from(r: store::TimelineReportRecord) -> Self {
        let store::TimelineReportRecord {
            id,
            class_id,
            uid,
            client_timestamp,
            rtt_ms,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
            body,
        } = r;
        Self {
            id,
            class_id,
            uid,
            client_timestamp,
            rtt_ms,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
            body,
        }
    }
}

/// A timeline report without its body (the raw request is not exported): what a bundle
/// carries so that the alignment of an imported class has the source's round-trip facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ReportFacts {
    pub uid: Option<String>,
    #[ts(type = "number | null")]
    pub client_timestamp: Option<i64>,
    #[ts(type = "number | null")]
    pub rtt_ms: Option<i64>,
    /// `client`, `kernel` or `none`; null for reports older than the source's column.
    pub rtt_source: Option<String>,
    #[ts(type = "number")]
    pub received_at: i64,
    #[ts(type = "number | null")]
    pub time_line: Option<i64>,
    #[ts(type = "number | null")]
    pub uncertainty_ms: Option<i64>,
    /// The message the report became (its id in the bundle).
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    pub accepted: bool,
    pub refusal_reason: Option<String>,
}

impl From<store::ReportFacts> for ReportFacts {
    fn from(r: store::ReportFacts) -> Self {
        let store::ReportFacts {
            uid,
            client_timestamp,
            rtt_ms,
            rtt_source,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
        } = r;
        Self {
            uid,
            client_timestamp,
            rtt_ms,
            rtt_source,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
        }
    }
}

/// Back into a row: a bundle's report facts, to import.
impl From<ReportFacts> for store::ReportFacts {
    fn from(r: ReportFacts) -> Self {
        let ReportFacts {
            uid,
            client_timestamp,
            rtt_ms,
            rtt_source,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
        } = r;
        Self {
            uid,
            client_timestamp,
            rtt_ms,
            rtt_source,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
        }
    }
}

/// A recording callback as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RecordingCallbackRecord {
    #[ts(type = "number")]
    pub id: i64,
    /// When it arrived, unix ms.
    #[ts(type = "number")]
    pub received_at: i64,
    pub status: CallbackStatus,
    /// Why it was refused (`bad_sign`, `expired`, `not_json`, ...), what the mapping tried
    /// (unmatched, and kept once assigned), what was missing for the 1004 (accepted), the
    /// message it repeats (duplicate), or the event it was (ignored).
    pub reason: Option<String>,
    /// The recording file's identity (`file_id:...`, `video_id:...`, ...), once verified.
    pub file_key: Option<String>,
    pub class_id: Option<String>,
    pub uid: Option<String>,
    /// The file's 1004 (accepted, duplicate, assigned).
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    /// The body as received, shown as UTF-8 text (invalid bytes replaced; the store keeps
    /// the bytes), with the `sign` value hidden. Listings carry only its first
    /// [`LIST_BODY_PREVIEW_BYTES`]; the detail route the whole stored body.
    pub body: String,
    /// Size of the body as received, bytes.
    #[ts(type = "number")]
    pub body_bytes: i64,
    /// True when `body` is not the whole body: a listing's preview, or a refused body of
    /// which only the first [`REFUSED_BODY_SAMPLE_BYTES`] were kept.
    pub body_truncated: bool,
}

impl From<store::RecordingCallbackRecord> for RecordingCallbackRecord {
    fn from(r: store::RecordingCallbackRecord) -> Self {
        let store::RecordingCallbackRecord {
            id,
            received_at,
            status,
            reason,
            file_key,
            class_id,
            uid,
            message_id,
            body,
            body_bytes,
            body_truncated,
        } = r;
        Self {
            id,
            received_at,
            status: status.into(),
            reason,
            file_key,
            class_id,
            uid,
            message_id,
            body,
            body_bytes,
            body_truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::{ClassEventReport, ReplayDesk, ReportMeta, TimelineReport};
    use serde_json::{json, Value};

    const CLASS: &str = "c-models";

    /// A sandbox desk on a fresh SQLite file with one class (legacy token on, so its row
    /// holds a token hash and a credential key), a student with an issued credential, a
    /// started class and a timeline report. Returns the credentials handed out.
    async fn desk_with_a_class(dir: &std::path::Path) -> (ReplayDesk, Vec<String>) {
        let desk = ReplayDesk::start(Config {
            db: dir.join("models.db"),
            ..Config::default()
        })
        .await
        .unwrap();
        let console = desk.console();
        let created = console
            .create_class(
                serde_json::from_value(json!({
                    "class_id": CLASS, "group_id": "g-models", "teacher_uid": "teacher_li",
                    "legacy_class_token": true
                }))
                .unwrap(),
                "admin",
            )
            .await
            .unwrap();
        console
            .add_members(
                CLASS,
                serde_json::from_value(json!({"uids": ["stu_1"]})).unwrap(),
                "admin",
            )
            .await
            .unwrap();
        let student = console
            .member_credential(CLASS, "stu_1", "admin")
            .await
            .unwrap();
        desk.record_class_event(
            CLASS,
            store::ClassEvent::Start,
            ClassEventReport {
                uid: "teacher_li".into(),
                timestamp: 1_000,
            },
        )
        .await
        .unwrap();
        let now = store::now_ms();
        desk.record_timeline(
            CLASS,
            TimelineReport {
                uid: "stu_1".into(),
                timestamp: 2_000,
                rtt_ms: Some(40.0),
            },
            ReportMeta {
                received_at: now,
                body: r#"{"uid":"stu_1","timestamp":2000,"rtt_ms":40}"#.into(),
                kernel_rtt_ms: None,
            },
        )
        .await
        .unwrap();
        let mut secrets = vec![created.teacher_credential, student.credential];
        secrets.extend(created.report_token);
        (desk, secrets)
    }

    fn keys(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    /// The store's rows hold columns the API must never show (a class's token hash and
    /// credential key, a message's lease); the models leave them out, and no credential
    /// handed out earlier comes back in a view or in the exported bundle.
    #[tokio::test]
    async fn no_answer_shows_a_secret_or_internal_column() {
        let dir = tempfile::tempdir().unwrap();
        let (desk, secrets) = desk_with_a_class(dir.path()).await;
        let console = desk.console();
        let empty = || json!({});
        let message_id = console
            .list_messages(serde_json::from_value(empty()).unwrap())
            .await
            .unwrap()
            .items[0]
            .id;
        let answers = [
            serde_json::to_value(
                console
                    .list_classes(serde_json::from_value(empty()).unwrap())
                    .await
                    .unwrap(),
            ),
            serde_json::to_value(console.get_class(CLASS).await.unwrap()),
            serde_json::to_value(console.class_members(CLASS).await.unwrap()),
            serde_json::to_value(
                console
                    .class_reports(CLASS, serde_json::from_value(empty()).unwrap())
                    .await
                    .unwrap(),
            ),
            serde_json::to_value(
                console
                    .class_messages(CLASS, serde_json::from_value(empty()).unwrap())
                    .await
                    .unwrap(),
            ),
            serde_json::to_value(console.get_message(message_id).await.unwrap()),
            serde_json::to_value(
                console
                    .list_audit(serde_json::from_value(empty()).unwrap())
                    .await
                    .unwrap(),
            ),
            serde_json::to_value(console.list_alerts().await.unwrap()),
            serde_json::to_value(desk.export_class(CLASS).await.unwrap()),
        ];
        for answer in answers {
            let answer = answer.unwrap();
            let mut names = Vec::new();
            keys(&answer, &mut names);
            for column in [
                "report_token_sha256",
                "credential_key",
                "report_token",
                "lease_owner",
                "lease_until",
            ] {
                assert!(!names.iter().any(|n| n == column), "{column} in {answer:#}");
            }
            let text = answer.to_string();
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "a credential in {text}");
            }
        }
        desk.shutdown().await;
    }

    /// Each model writes exactly the JSON its row wrote when the rows were the API (the
    /// rows still derive `Serialize` for the store's own use), so the console and the
    /// bundles read on, unchanged; and the bundle's models read back into the same rows.
    #[tokio::test]
    async fn each_model_writes_the_json_its_row_did() {
        fn same<R: Serialize + Clone, M: Serialize + From<R>>(rows: &[R]) {
            assert!(!rows.is_empty());
            for r in rows {
                assert_eq!(
                    serde_json::to_value(M::from(r.clone())).unwrap(),
                    serde_json::to_value(r).unwrap()
                );
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (desk, _) = desk_with_a_class(dir.path()).await;
        let s = desk.store();
        let class = s.class(CLASS).await.unwrap();
        same::<_, ClassRecord>(std::slice::from_ref(&class));
        same::<_, Member>(&s.members(CLASS).await.unwrap());
        same::<_, RosterMember>(&s.roster(CLASS).await.unwrap());
        let filter = store::MessageFilter {
            class_id: Some(CLASS.into()),
            statuses: store::MessageStatus::ALL.to_vec(),
            ..Default::default()
        };
        let page = s.list_messages(&filter, None, 100).await.unwrap();
        same::<_, Page<StoredMessage>>(std::slice::from_ref(&page));
        same::<_, MessageFilter>(std::slice::from_ref(&filter));
        same::<_, Page<TimelineReportRecord>>(&[s
            .timeline_reports(CLASS, None, 100)
            .await
            .unwrap()]);
        same::<_, ReportFacts>(&s.report_facts(CLASS).await.unwrap());
        same::<_, AuditEntry>(&s.audit_log_filtered(None, 100, None, None).await.unwrap());
        // Every variant of every mirrored enumeration, by its name on the wire.
        macro_rules! variants {
            ($($e:ident),+) => {$(same::<_, $e>(store::$e::ALL);)+};
        }
        variants!(
            MessageStatus,
            Trigger,
            AttemptOutcome,
            ClassState,
            MemberRole,
            JobKind,
            JobState,
            CallbackStatus,
            ReconcileState
        );
        // Back: a bundle's class and messages become the rows they came from.
        assert_eq!(
            store::ClassRecord::from(ClassRecord::from(class.clone())),
            class
        );
        for m in page.items {
            assert_eq!(
                store::StoredMessage::from(StoredMessage::from(m.clone())),
                m
            );
        }
        desk.shutdown().await;
    }
}
