//! Request and response bodies of the IM REST calls ReplayDesk makes (docs/protocol.md
//! section 2). Shared by the client and the emulator so both speak one format. Field
//! names are the service's own.

use replaydesk_protocol::MsgBodyElem;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const SEND_GROUP_MSG: &str = "group_open_http_svc/send_group_msg";
pub const GROUP_MSG_GET_SIMPLE: &str = "group_open_http_svc/group_msg_get_simple";
pub const CREATE_GROUP: &str = "group_open_http_svc/create_group";
pub const DESTROY_GROUP: &str = "group_open_http_svc/destroy_group";
pub const GROUP_MSG_RECALL: &str = "group_open_http_svc/group_msg_recall";

/// Most messages `group_msg_get_simple` returns per call.
pub const HISTORY_PAGE_SIZE: u32 = 20;

/// The three fields every response carries. HTTP status is 200 even for most failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiStatus {
    #[serde(rename = "ActionStatus")]
    pub action_status: String,
    #[serde(rename = "ErrorCode")]
    pub error_code: i64,
    #[serde(rename = "ErrorInfo", default)]
    pub error_info: String,
}

impl ApiStatus {
    pub fn ok() -> Self {
        Self {
            action_status: "OK".into(),
            error_code: 0,
            error_info: String::new(),
        }
    }

    pub fn fail(code: i64, info: impl Into<String>) -> Self {
        Self {
            action_status: "FAIL".into(),
            error_code: code,
            error_info: info.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendGroupMsgRequest {
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// The duplicate filter's key; an older SDK draws it from 1..65535.
    #[serde(rename = "Random")]
    pub random: u32,
    #[serde(
        rename = "From_Account",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub from_account: Option<String>,
    #[serde(rename = "MsgBody")]
    pub msg_body: Vec<MsgBodyElem>,
    /// Optional fields (`MsgPriority`, `OnlineOnlyFlag`, ...) pass through untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendGroupMsgResponse {
    #[serde(flatten)]
    pub status: ApiStatus,
    /// Unix seconds; present on success.
    #[serde(rename = "MsgTime", default, skip_serializing_if = "Option::is_none")]
    pub msg_time: Option<i64>,
    /// The group's sequence number for the message, strictly increasing from 1.
    #[serde(rename = "MsgSeq", default, skip_serializing_if = "Option::is_none")]
    pub msg_seq: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMsgGetSimpleRequest {
    #[serde(rename = "GroupId")]
    pub group_id: String,
    #[serde(rename = "ReqMsgNumber")]
    pub req_msg_number: u32,
    /// The newest `MsgSeq` wanted; absent for the newest messages.
    #[serde(rename = "ReqMsgSeq", default, skip_serializing_if = "Option::is_none")]
    pub req_msg_seq: Option<u64>,
}

/// One message of a group's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryMsg {
    #[serde(rename = "From_Account", default)]
    pub from_account: String,
    #[serde(rename = "IsPlaceMsg", default)]
    pub is_place_msg: u8,
    #[serde(rename = "MsgBody", default)]
    pub msg_body: Vec<MsgBodyElem>,
    #[serde(rename = "MsgPriority", default)]
    pub msg_priority: i64,
    #[serde(rename = "MsgRandom", default)]
    pub msg_random: u64,
    #[serde(rename = "MsgSeq")]
    pub msg_seq: u64,
    #[serde(rename = "MsgTimeStamp", default)]
    pub msg_time_stamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMsgGetSimpleResponse {
    #[serde(flatten)]
    pub status: ApiStatus,
    #[serde(rename = "GroupId", default)]
    pub group_id: String,
    /// 1 when nothing older remains.
    #[serde(rename = "IsFinished", default)]
    pub is_finished: u8,
    #[serde(rename = "RspMsgList", default)]
    pub rsp_msg_list: Vec<HistoryMsg>,
}

/// One `MsgSeq` in a recall request or answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgSeqItem {
    #[serde(rename = "MsgSeq")]
    pub msg_seq: u64,
}

/// `group_msg_recall`: withdraws messages; they stay in the history as holes (`IsPlaceMsg`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMsgRecallRequest {
    #[serde(rename = "GroupId")]
    pub group_id: String,
    #[serde(rename = "MsgSeqList")]
    pub msg_seq_list: Vec<MsgSeqItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallResult {
    #[serde(rename = "MsgSeq")]
    pub msg_seq: u64,
    /// 0 when recalled; 10030 when no such message.
    #[serde(rename = "RetCode")]
    pub ret_code: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMsgRecallResponse {
    #[serde(flatten)]
    pub status: ApiStatus,
    #[serde(rename = "RecallRetList", default)]
    pub recall_ret_list: Vec<RecallResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGroupRequest {
    #[serde(
        rename = "Owner_Account",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_account: Option<String>,
    #[serde(rename = "Type")]
    pub group_type: String,
    #[serde(rename = "GroupId", default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(rename = "Name")]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGroupResponse {
    #[serde(flatten)]
    pub status: ApiStatus,
    #[serde(rename = "GroupId", default)]
    pub group_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyGroupRequest {
    #[serde(rename = "GroupId")]
    pub group_id: String,
}

/// The group types that keep history; an `AVChatRoom` keeps none and cannot be a
/// ReplayGroup.
pub const HISTORY_GROUP_TYPES: [&str; 6] = [
    "Public",
    "Work",
    "Private",
    "Meeting",
    "ChatRoom",
    "Community",
];

/// Checks a custom `GroupId`: printable ASCII, at most 48 bytes, not starting with `@TGS#`.
pub fn validate_group_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("GroupId is empty");
    }
    if id.len() > 48 {
        return Err("GroupId is longer than 48 bytes");
    }
    if !id.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err("GroupId must be printable ASCII");
    }
    if id.starts_with("@TGS#") {
        return Err("GroupId must not start with @TGS#");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_request_matches_protocol_md_example() {
        let req = SendGroupMsgRequest {
            group_id: "replay_class_42".into(),
            random: 2_784_275_388,
            from_account: Some("administrator".into()),
            msg_body: vec![MsgBodyElem::custom("{}")],
            extra: Map::new(),
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"GroupId":"replay_class_42","Random":2784275388,"From_Account":"administrator","MsgBody":[{"MsgType":"TIMCustomElem","MsgContent":{"Data":"{}","Desc":"","Ext":"","Sound":""}}]}"#
        );
    }

    #[test]
    fn response_reads_with_and_without_optional_fields() {
        let ok: SendGroupMsgResponse = serde_json::from_str(
            r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"MsgTime":1795339200,"MsgSeq":17}"#,
        )
        .unwrap();
        assert_eq!(ok.msg_seq, Some(17));
        let fail: SendGroupMsgResponse = serde_json::from_str(
            r#"{"ActionStatus":"FAIL","ErrorInfo":"group not found","ErrorCode":10010}"#,
        )
        .unwrap();
        assert_eq!(fail.status.error_code, 10010);
        assert_eq!(fail.msg_seq, None);
    }

    #[test]
    fn group_id_rules() {
        assert!(validate_group_id("replay_class_42").is_ok());
        assert!(validate_group_id(&"a".repeat(48)).is_ok());
        assert!(validate_group_id(&"a".repeat(49)).is_err());
        assert!(validate_group_id("@TGS#abc").is_err());
        assert!(validate_group_id("café").is_err());
        assert!(validate_group_id("").is_err());
    }
}
