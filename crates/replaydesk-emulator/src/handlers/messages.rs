//! The message commands: `send_group_msg` (with the service's checks of a `MsgBody`),
//! `group_msg_get_simple` (history pages) and `group_msg_recall`.

use super::{answer, fail, invalid, quoted, refused, Answer};
use crate::codes::*;
use crate::state::{NewMessage, Refused, Sent};
use crate::{now_unix_s, Emulator, EmulatorStats};
use replaydesk_im::wire::{
    self, ApiStatus, GroupMsgGetSimpleRequest, GroupMsgGetSimpleResponse, SendGroupMsgRequest,
    SendGroupMsgResponse, HISTORY_PAGE_SIZE,
};
use replaydesk_protocol::{msg_body_size, MsgBodyElem, MAX_MSG_BODY_BYTES};
use serde_json::Value;
use std::time::Instant;

/// The element types the service accepts in a `MsgBody`.
const MSG_TYPES: [&str; 9] = [
    "TIMTextElem",
    "TIMLocationElem",
    "TIMFaceElem",
    "TIMCustomElem",
    "TIMSoundElem",
    "TIMImageElem",
    "TIMFileElem",
    "TIMVideoFileElem",
    "TIMRelayElem",
];
/// Checks each element's type and content shape as the service does.
fn check_msg_body(body: &[MsgBodyElem]) -> Result<(), String> {
    if body.is_empty() {
        return Err("MsgBody is empty".into());
    }
    for (i, elem) in body.iter().enumerate() {
        if !MSG_TYPES.contains(&elem.msg_type.as_str()) {
            return Err(format!(
                "MsgBody[{i}]: unknown MsgType {}",
                quoted(&elem.msg_type)
            ));
        }
        let Some(content) = elem.msg_content.as_object() else {
            return Err(format!("MsgBody[{i}]: MsgContent is not an object"));
        };
        match elem.msg_type.as_str() {
            MsgBodyElem::CUSTOM if elem.custom_elem().is_none() => {
                return Err(format!(
                    "MsgBody[{i}]: TIMCustomElem fields must be strings"
                ));
            }
            "TIMTextElem" if !content.get("Text").is_some_and(Value::is_string) => {
                return Err(format!("MsgBody[{i}]: TIMTextElem needs a Text string"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `MsgPriority` as sent (`"High"`, ..., or 0..3) to the number history shows.
fn priority(value: Option<&Value>) -> i64 {
    const NORMAL: i64 = 1;
    match value {
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "high" => 0,
            "low" => 2,
            "lowest" => 3,
            _ => NORMAL,
        },
        Some(Value::Number(n)) => n.as_i64().filter(|p| (0..=3).contains(p)).unwrap_or(NORMAL),
        _ => NORMAL,
    }
}

pub(super) fn send_group_msg(emu: &Emulator, json: Value) -> Answer {
    let req: SendGroupMsgRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("send_group_msg", e),
    };
    if let Err(e) = check_msg_body(&req.msg_body) {
        return fail(INVALID_PARAMETER, e);
    }
    let size = msg_body_size(&req.msg_body);
    if size > MAX_MSG_BODY_BYTES {
        return fail(
            MSG_BODY_TOO_LONG,
            format!("message body too long: {size} bytes, the limit is {MAX_MSG_BODY_BYTES}"),
        );
    }
    let msg = NewMessage {
        from_account: req
            .from_account
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| emu.shared.admin.clone()),
        random: req.random,
        priority: priority(req.extra.get("MsgPriority")),
        online_only: req.extra.get("OnlineOnlyFlag").and_then(Value::as_i64) == Some(1),
        body: req.msg_body,
    };
    let sent = emu
        .shared
        .groups
        .lock()
        .send(&req.group_id, msg, now_unix_s(), Instant::now());
    let (seq, time) = match sent {
        Ok(Sent::Stored { seq, time }) => {
            emu.with_stats(|s| s.messages_stored += 1);
            (Some(seq), time)
        }
        // The service's answer to a duplicate `Random`: success, with the ORIGINAL
        // message's MsgSeq and MsgTime; nothing new is stored (see the module docs).
        Ok(Sent::Duplicate { seq, time }) => {
            emu.with_stats(|s| s.duplicates_absorbed += 1);
            (Some(seq), time)
        }
        Ok(Sent::NotStored { seq, time }) => (seq, time),
        Err(r) => {
            if r == Refused::RateLimited {
                emu.with_stats(|s: &mut EmulatorStats| {
                    s.group_rate_limited += 1;
                    s.frequency_errors += 1;
                });
            }
            return refused(r, &req.group_id);
        }
    };
    answer(
        OK,
        &SendGroupMsgResponse {
            status: ApiStatus::ok(),
            msg_time: Some(time),
            msg_seq: seq,
        },
    )
}

pub(super) fn group_msg_get_simple(emu: &Emulator, json: Value) -> Answer {
    let req: GroupMsgGetSimpleRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("group_msg_get_simple", e),
    };
    if req.req_msg_number == 0 {
        return fail(INVALID_PARAMETER, "ReqMsgNumber must be at least 1");
    }
    let number = req.req_msg_number.min(HISTORY_PAGE_SIZE) as usize;
    let page = emu
        .shared
        .groups
        .lock()
        .page(&req.group_id, number, req.req_msg_seq, now_unix_s());
    match page {
        Ok(page) => answer(
            OK,
            &GroupMsgGetSimpleResponse {
                status: ApiStatus::ok(),
                group_id: req.group_id,
                is_finished: u8::from(page.finished),
                rsp_msg_list: page.msgs,
            },
        ),
        Err(r) => refused(r, &req.group_id),
    }
}

/// Recalled messages stay as holes; an unknown `MsgSeq` answers `RetCode` 10030.
pub(super) fn group_msg_recall(emu: &Emulator, json: Value) -> Answer {
    let req: wire::GroupMsgRecallRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("group_msg_recall", e),
    };
    if req.msg_seq_list.is_empty() {
        return fail(INVALID_PARAMETER, "MsgSeqList is empty");
    }
    let seqs: Vec<u64> = req.msg_seq_list.iter().map(|m| m.msg_seq).collect();
    let recalled = emu.shared.groups.lock().recall(&req.group_id, &seqs);
    match recalled {
        Ok(list) => answer(
            OK,
            &wire::GroupMsgRecallResponse {
                status: ApiStatus::ok(),
                recall_ret_list: list
                    .into_iter()
                    .map(|(msg_seq, found)| wire::RecallResult {
                        msg_seq,
                        ret_code: if found { 0 } else { 10030 },
                    })
                    .collect(),
            },
        ),
        Err(r) => refused(r, &req.group_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn priorities() {
        assert_eq!(priority(None), 1);
        assert_eq!(priority(Some(&json!("High"))), 0);
        assert_eq!(priority(Some(&json!("lowest"))), 3);
        assert_eq!(priority(Some(&json!("bogus"))), 1);
        assert_eq!(priority(Some(&json!(2))), 2);
        assert_eq!(priority(Some(&json!(9))), 1);
    }

    #[test]
    fn msg_body_checks() {
        assert!(check_msg_body(&[]).is_err());
        assert!(check_msg_body(&[MsgBodyElem::custom("x")]).is_ok());
        let data_only: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"TIMCustomElem","MsgContent":{"Data":"x"}}"#)
                .unwrap();
        assert!(check_msg_body(&[data_only]).is_ok());
        let bad: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"TIMCustomElem","MsgContent":{"Data":1}}"#).unwrap();
        assert!(check_msg_body(&[bad]).is_err());
        let unknown: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"Nope","MsgContent":{}}"#).unwrap();
        assert!(check_msg_body(&[unknown]).is_err());
        let text: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}"#)
                .unwrap();
        assert!(check_msg_body(&[text]).is_ok());
    }
}
