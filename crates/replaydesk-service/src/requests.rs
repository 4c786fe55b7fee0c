//! The typed queries and bodies of the console's operations. The HTTP door decodes its
//! query string or body into these, the Tauri door its `query` / `body` argument (both
//! with [`super::decode::decode`]); the TypeScript side gets them from ts-rs. Their
//! fields are exactly the HTTP query parameters / body fields.

use super::decode::lenient;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// `GET /v1/admin/classes?q=&archive_state=&deadline_before=`: every class, or those whose
/// id, group or teacher contains `q` (case-insensitive), whose archive is in
/// `archive_state`, and whose archive deadline comes before `deadline_before`.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[ts(export)]
pub struct ClassQuery {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub q: Option<String>,
    /// Only classes whose archive is in this state (`pending`, `complete`, `partial`,
    /// `failed`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub archive_state: Option<String>,
    /// Only classes whose archive deadline (unix ms) comes before this.
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub deadline_before: Option<i64>,
}

/// A page of a newest-first listing: `cursor` is the previous page's `next_cursor`,
/// `limit` 1 to 1000 (default 100).
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[ts(export)]
pub struct PageQuery {
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub cursor: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_limit")]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// `GET /v1/admin/jobs?limit=`: the newest jobs.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[ts(export)]
pub struct JobsQuery {
    #[serde(default, deserialize_with = "lenient::opt_limit")]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// The message log's filter and page. Over HTTP `status` and `type` may repeat or be
/// comma lists; over IPC they are lists (a single string or comma list is taken too).
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[ts(export)]
pub struct MessageQuery {
    /// Any of these delivery statuses (`pending`, `sending`, `sent`, `retrying`, `failed`).
    #[serde(default, deserialize_with = "lenient::opt_list")]
    #[ts(optional)]
    pub status: Option<Vec<String>>,
    /// Any of these message types, by code (`1003`) or name (`timeline`).
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_list")]
    #[ts(optional, rename = "type")]
    pub types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub uid: Option<String>,
    /// One class (only where the path names none).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub class: Option<String>,
    /// Created at or after, unix ms.
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub from: Option<i64>,
    /// Created before, unix ms.
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub to: Option<i64>,
    /// Last changed at or after, unix ms.
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub updated_from: Option<i64>,
    /// Only messages that took more than one attempt (true) or not (false).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[ts(optional)]
    pub retried: Option<bool>,
    /// Text in the message's `Data`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub q: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub cursor: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_limit")]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// `GET /v1/admin/callbacks?status=`: any of these statuses (`all` or none: every one).
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[ts(export)]
pub struct CallbackQuery {
    #[serde(default, deserialize_with = "lenient::opt_list")]
    #[ts(optional)]
    pub status: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub cursor: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_limit")]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// `POST /v1/admin/resend`: the messages to resend, by the message log's filter (an
/// empty filter is refused: it would resend every message ever sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ResendFilter {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub class_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_list")]
    #[ts(optional)]
    pub statuses: Option<Vec<String>>,
    /// By code (`1003`) or name (`timeline`).
    #[serde(default, deserialize_with = "lenient::opt_list")]
    #[ts(optional, type = "Array<string | number>")]
    pub types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub uid: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub created_from: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub created_to: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub updated_from: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[ts(optional)]
    pub retried: Option<bool>,
    /// Text in the message's `Data`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub text: Option<String>,
    /// Any of these classes. A bulk resend names its classes (`class_id` / `class_ids`)
    /// or says `all_classes: true`.
    #[serde(default, deserialize_with = "lenient::opt_list")]
    #[ts(optional)]
    pub class_ids: Option<Vec<String>>,
    /// Resend across every class, on purpose.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[ts(optional)]
    pub all_classes: Option<bool>,
    /// Resend messages already `sent` too (each gets a new Random: a visible duplicate
    /// in its group). Without it only messages not `sent` are taken.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[ts(optional)]
    pub include_sent: Option<bool>,
    /// The count `POST /v1/admin/resend/preview` stated for this filter: the resend goes
    /// ahead only if that many messages match now (required by `POST /v1/admin/resend`,
    /// ignored by the preview).
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub confirm_count: Option<i64>,
}

/// `POST /v1/admin/recover`: queue again every message that failed at or after
/// `since_ms` (unix ms), optionally in one class. `POST /v1/admin/recover/preview` takes
/// the same body and states the count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct RecoverRequest {
    #[serde(deserialize_with = "lenient::int")]
    #[ts(type = "number")]
    pub since_ms: i64,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub class_id: Option<String>,
    /// The count the preview stated: when given, the recovery goes ahead only if that many
    /// messages match now (409 otherwise). The console always sends it.
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub confirm_count: Option<i64>,
}

/// `POST /v1/admin/messages/{id}/resend` (the body is optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ResendMessageRequest {
    /// Required (`true`) to resend a message that is already `sent`: it then reaches the
    /// group a second time with the same `seq`, a visible duplicate. Without it such a
    /// resend is refused with 409 and nothing changes.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[ts(optional)]
    pub duplicate: Option<bool>,
}

/// `PUT /v1/admin/im/secret-key`: the IM secret key to use from now on. Never shown back.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct SecretKeyRequest {
    #[serde(deserialize_with = "lenient::string")]
    pub secret_key: String,
}

impl std::fmt::Debug for SecretKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKeyRequest")
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// `PUT /v1/admin/sandbox/faults`: the built-in IM emulator's fault knobs (sandbox mode
/// only), to try the console's failure handling without a real outage. A `PUT` replaces
/// the whole set; absent fields mean no fault (the answer has them all). The knobs apply to `send_group_msg`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct SandboxFaults {
    /// Share of sends (0 to 1) answered with an IM error code from `fail_codes`.
    pub fail_rate: f64,
    /// The IM error codes `fail_rate` draws from (e.g. 10007: a permanent refusal,
    /// 10002: a transient one); at least one when `fail_rate` is above 0.
    #[ts(type = "number[]")]
    pub fail_codes: Vec<i64>,
    /// Share of sends answered with HTTP 500, unprocessed.
    pub http500_rate: f64,
    /// Share of sends processed whose answer is then lost.
    pub lost_response_rate: f64,
    /// Delay added to each send, ms, plus up to `latency_jitter_ms` more.
    pub latency_ms: u32,
    pub latency_jitter_ms: u32,
}

/// `GET /v1/admin/audit`: a page of the audit log, newest first, narrowed by `action`
/// (exactly, e.g. `issue_credential`) and `target` (the target or the start of one:
/// `class:c1`, `member:c1:`, `message:42`).
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[ts(export)]
pub struct AuditQuery {
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub cursor: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_limit")]
    #[ts(optional)]
    pub limit: Option<u32>,
    /// Only entries of this action (at most 64 characters).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub action: Option<String>,
    /// Only entries whose target starts with this (at most 200 characters).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub target: Option<String>,
    /// Only entries of this person (exactly; at most 128 characters).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub actor: Option<String>,
}

/// `POST /v1/admin/classes/{class_id}/members`: register these uids as students before
/// anyone reports (1 to 1000 uids; members already there are left as they are).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct AddMembers {
    pub uids: Vec<String>,
}

/// `PATCH /v1/admin/classes/{class_id}`: what to change in a class. `room_id`: the TRTC
/// room it is held in (a string, or a whole number taken as its text; `null` clears it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct UpdateClass {
    #[serde(default, deserialize_with = "lenient::patch_room")]
    #[ts(optional, type = "string | number | null")]
    #[schema(value_type = Option<String>)]
    pub room_id: Option<Option<String>>,
}

/// `POST /v1/admin/classes/{class_id}/streams`: a stream id whose recordings are `uid`'s
/// in this class (a CSS recording started by API carries no `stream_param`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct AddStream {
    #[serde(deserialize_with = "lenient::string")]
    pub stream_id: String,
    #[serde(deserialize_with = "lenient::string")]
    pub uid: String,
}

/// `POST /v1/admin/classes/{class_id}/credentials`: issue new credentials (the join
/// sheet). `uids`: these members (default: every student); `server_url`: the address the
/// students' clients report to, printed on each card (default: none printed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct IssueCredentials {
    #[serde(default)]
    #[ts(optional)]
    pub uids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub server_url: Option<String>,
}

/// `POST /v1/admin/classes/{class_id}/recordings`: a recording file entered by hand, with
/// the 1004's own fields and units (a recorder that produced no file, issue 22). `type`:
/// `main` (camera) or `aux` (screen share); `task_id`: the recorder it belongs to (the
/// `recording_missing` alert's), when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct EnterRecording {
    #[serde(deserialize_with = "lenient::string")]
    pub uid: String,
    #[serde(deserialize_with = "lenient::string")]
    pub video_id: String,
    #[serde(deserialize_with = "lenient::string")]
    pub video_url: String,
    /// Unix seconds.
    #[serde(deserialize_with = "lenient::int")]
    #[ts(type = "number")]
    pub start_time: i64,
    /// Unix seconds.
    #[serde(deserialize_with = "lenient::int")]
    #[ts(type = "number")]
    pub end_time: i64,
    /// Seconds; when absent, `end_time − start_time`.
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub duration: Option<i64>,
    /// Bytes; 0 when absent.
    #[serde(default, deserialize_with = "lenient::opt_int")]
    #[ts(optional, type = "number")]
    pub file_size: Option<i64>,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    #[ts(optional, rename = "type")]
    pub media: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub task_id: Option<String>,
}
