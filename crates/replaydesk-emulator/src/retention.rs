//! How long the emulated service keeps a group's messages: an age limit and a per-group cap.
//! A message past either comes back from `group_msg_get_simple` as the service returns an
//! expired one: in its place (`MsgSeq`, `MsgTimeStamp`, `MsgRandom` kept), `IsPlaceMsg` = 1,
//! no body, no sender. The stored message itself is left alone, so lifting the limit shows
//! it again (a test tool's convenience, not something the service does).

use replaydesk_im::wire::HistoryMsg;
use serde::{Deserialize, Serialize};

/// The limits in force; `None` is no limit. Serialized as `PUT /control/retention` takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// A message is kept this many seconds from its `MsgTimeStamp`.
    #[serde(default)]
    pub max_age_secs: Option<u64>,
    /// Only a group's newest this many messages are kept.
    #[serde(default)]
    pub max_messages: Option<u64>,
}

impl Retention {
    /// No limit: every message kept.
    pub const NONE: Retention = Retention {
        max_age_secs: None,
        max_messages: None,
    };

    /// Whether the message at `index` (0 = oldest) of a group holding `len` messages has
    /// expired at unix second `now`.
    pub(crate) fn expired(&self, msg: &HistoryMsg, index: usize, len: usize, now: i64) -> bool {
        let too_old = self.max_age_secs.is_some_and(|max| {
            let age = now.saturating_sub(msg.msg_time_stamp);
            age >= 0 && u64::try_from(age).unwrap_or(0) >= max
        });
        let beyond_cap = self
            .max_messages
            .is_some_and(|max| ((len - index) as u64) > max);
        too_old || beyond_cap
    }

    /// The message as a reader sees it under these limits.
    pub(crate) fn view(&self, msg: &HistoryMsg, index: usize, len: usize, now: i64) -> HistoryMsg {
        if msg.is_place_msg != 0 || !self.expired(msg, index, len, now) {
            return msg.clone();
        }
        HistoryMsg {
            from_account: String::new(),
            is_place_msg: 1,
            msg_body: Vec::new(),
            ..msg.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replaydesk_protocol::MsgBodyElem;

    fn msg(seq: u64, ts: i64) -> HistoryMsg {
        HistoryMsg {
            from_account: "a".into(),
            is_place_msg: 0,
            msg_body: vec![MsgBodyElem::custom("x")],
            msg_priority: 1,
            msg_random: 7,
            msg_seq: seq,
            msg_time_stamp: ts,
        }
    }

    #[test]
    fn age_and_cap_each_expire_and_none_keeps_everything() {
        let m = msg(1, 1000);
        assert!(!Retention::NONE.expired(&m, 0, 1, 10_000));
        let age = Retention {
            max_age_secs: Some(60),
            max_messages: None,
        };
        assert!(!age.expired(&m, 0, 1, 1059));
        assert!(age.expired(&m, 0, 1, 1060));
        let cap = Retention {
            max_age_secs: None,
            max_messages: Some(2),
        };
        // Of three, the oldest is beyond the cap.
        assert!(cap.expired(&m, 0, 3, 1000));
        assert!(!cap.expired(&m, 1, 3, 1000));
        let v = cap.view(&m, 0, 3, 1000);
        assert_eq!(
            (v.is_place_msg, v.msg_body.len(), v.from_account.as_str()),
            (1, 0, "")
        );
        assert_eq!((v.msg_seq, v.msg_time_stamp, v.msg_random), (1, 1000, 7));
    }

    #[test]
    fn the_control_body_reads_absent_and_null_as_no_limit() {
        let r: Retention = serde_json::from_str(r#"{"max_age_secs":null}"#).unwrap();
        assert_eq!(r, Retention::NONE);
        let r: Retention = serde_json::from_str(r#"{"max_messages":5}"#).unwrap();
        assert_eq!(r.max_messages, Some(5));
        assert!(serde_json::from_str::<Retention>(r#"{"max_age":1}"#).is_err());
        assert!(serde_json::from_str::<Retention>(r#"{"max_messages":-1}"#).is_err());
    }
}
