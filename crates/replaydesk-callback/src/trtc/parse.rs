//! Reading a TRTC cloud-recording callback body, leniently: numbers may arrive as numbers
//! or strings (Tencent's own examples send `EventTs` both ways), and `RoomId` is text
//! whether it came as a number or a string.

use crate::parse::{json_without_duplicate_keys, opt_i64, opt_text, CallbackError};
use serde_json::{Map, Value};

/// `EventGroupId` of cloud recording.
pub const EVENT_GROUP_CLOUD_RECORDING: i64 = 3;
/// `EventGroupId` of page (web) recording: kept, never a member's camera file.
pub const EVENT_GROUP_PAGE_RECORDING: i64 = 8;

/// One TRTC cloud-recording callback as received.
#[derive(Debug, Clone, PartialEq)]
pub struct TrtcCallback {
    /// 3 for cloud recording, 8 for page recording.
    pub event_group_id: Option<i64>,
    /// 301-312 (see [`super::describe`]).
    pub event_type: i64,
    /// When the callback was sent, unix ms (the only time that bounds a replay).
    pub callback_ts: i64,
    /// `EventInfo.RoomId` as text (`42` and `"42"` are the same room).
    pub room_id: Option<String>,
    /// `EventInfo.EventTs`, unix seconds.
    pub event_ts: Option<i64>,
    /// `EventInfo.EventMsTs`, unix ms.
    pub event_ms_ts: Option<i64>,
    /// `EventInfo.UserId`: the recording task's own user for task-wide events.
    pub user_id: Option<String>,
    /// `EventInfo.TaskId`.
    pub task_id: Option<String>,
    /// `EventInfo.Payload` (empty when absent).
    pub payload: Map<String, Value>,
}

impl TrtcCallback {
    /// Reads a body. `EventType`, `CallbackTs` and `EventInfo` are required; a field that
    /// is present must be usable. Never panics.
    pub fn parse(body: &[u8]) -> Result<Self, CallbackError> {
        Self::from_value(json_without_duplicate_keys(body)?)
    }

    /// As [`TrtcCallback::parse`], from already-parsed JSON.
    pub fn from_value(v: Value) -> Result<Self, CallbackError> {
        let Value::Object(o) = v else {
            return Err(CallbackError::NotAnObject);
        };
        let event_type =
            opt_i64(&o, "EventType")?.ok_or(CallbackError::MissingField { field: "EventType" })?;
        let callback_ts = opt_i64(&o, "CallbackTs")?.ok_or(CallbackError::MissingField {
            field: "CallbackTs",
        })?;
        let info = match o.get("EventInfo") {
            None | Some(Value::Null) => {
                return Err(CallbackError::MissingField { field: "EventInfo" })
            }
            Some(Value::Object(info)) => info,
            Some(_) => return Err(CallbackError::invalid("EventInfo", "not an object")),
        };
        let room_id = match info.get("RoomId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
            Some(_) => {
                return Err(CallbackError::invalid(
                    "EventInfo.RoomId",
                    "neither text nor a whole number",
                ))
            }
        };
        let payload = match info.get("Payload") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => return Err(CallbackError::invalid("EventInfo.Payload", "not an object")),
        };
        Ok(TrtcCallback {
            event_group_id: opt_i64(&o, "EventGroupId")?,
            event_type,
            callback_ts,
            room_id,
            event_ts: opt_i64(info, "EventTs").map_err(|e| rename(e, "EventInfo.EventTs"))?,
            event_ms_ts: opt_i64(info, "EventMsTs")
                .map_err(|e| rename(e, "EventInfo.EventMsTs"))?,
            user_id: opt_text(info, "UserId").map_err(|e| rename(e, "EventInfo.UserId"))?,
            task_id: opt_text(info, "TaskId").map_err(|e| rename(e, "EventInfo.TaskId"))?,
            payload,
        })
    }

    /// When the event happened by Tencent's clock, unix ms: `EventMsTs`, else `EventTs`.
    pub fn event_at_ms(&self) -> Option<i64> {
        self.event_ms_ts
            .or_else(|| self.event_ts.map(|s| s.saturating_mul(1000)))
    }

    /// The task id, or empty text when the body has none.
    pub fn task(&self) -> &str {
        self.task_id.as_deref().unwrap_or("")
    }

    /// `Payload.Status` when present (0 is success).
    pub fn status(&self) -> Result<Option<i64>, CallbackError> {
        crate::parse::present(&self.payload, "Status")
            .map(|v| {
                crate::parse::integer(v, "EventInfo.Payload.Status").and_then(|i| {
                    i64::try_from(i).map_err(|_| {
                        CallbackError::invalid("EventInfo.Payload.Status", "out of range")
                    })
                })
            })
            .transpose()
    }
}

/// The same error, naming the field by its path in the body.
fn rename(e: CallbackError, path: &'static str) -> CallbackError {
    match e {
        CallbackError::InvalidField { reason, .. } => CallbackError::InvalidField {
            field: path,
            reason,
        },
        CallbackError::MissingField { .. } => CallbackError::MissingField { field: path },
        other => other,
    }
}
