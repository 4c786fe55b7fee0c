//! The IM message body that carries a replay message: one `TIMCustomElem`.

use super::ProtocolError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The IM service's limit on one message body, in bytes (docs/protocol.md section 2).
pub const MAX_MSG_BODY_BYTES: usize = 12 * 1024;

/// One element of an IM `MsgBody`. Kept generic (type name + raw content) because group
/// histories hold every kind of element; [`MsgBodyElem::custom_elem`] reads the one we use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsgBodyElem {
    #[serde(rename = "MsgType")]
    pub msg_type: String,
    #[serde(rename = "MsgContent", default)]
    pub msg_content: Value,
}

/// The content of a `TIMCustomElem`. Every field but `Data` is optional on the way in
/// (an older official SDK sends only `Data`); all four are written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CustomElem {
    #[serde(rename = "Data", default)]
    pub data: String,
    #[serde(rename = "Desc", default)]
    pub desc: String,
    #[serde(rename = "Ext", default)]
    pub ext: String,
    #[serde(rename = "Sound", default)]
    pub sound: String,
}

impl MsgBodyElem {
    pub const CUSTOM: &'static str = "TIMCustomElem";

    /// A custom element carrying `data` as its exact `Data` text.
    pub fn custom(data: impl Into<String>) -> Self {
        let elem = CustomElem {
            data: data.into(),
            ..CustomElem::default()
        };
        MsgBodyElem {
            msg_type: Self::CUSTOM.into(),
            // A struct of four strings always serialises.
            msg_content: serde_json::to_value(elem).unwrap_or(Value::Null),
        }
    }

    /// The custom element's content, when this is a readable `TIMCustomElem`.
    pub fn custom_elem(&self) -> Option<CustomElem> {
        if self.msg_type != Self::CUSTOM {
            return None;
        }
        serde_json::from_value(self.msg_content.clone()).ok()
    }
}

/// Bytes of `body` as sent in a request's `MsgBody` (compact JSON).
pub fn msg_body_size(body: &[MsgBodyElem]) -> usize {
    serde_json::to_string(body)
        .map(|s| s.len())
        .unwrap_or(usize::MAX)
}

/// Refuses a `Data` text whose message body would exceed the IM limit.
pub fn check_size(data: &str) -> Result<(), ProtocolError> {
    let size = msg_body_size(&[MsgBodyElem::custom(data)]);
    if size > MAX_MSG_BODY_BYTES {
        return Err(ProtocolError::TooLarge {
            size,
            limit: MAX_MSG_BODY_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_elem_is_written_with_all_four_fields() {
        let e = MsgBodyElem::custom(r#"{"type":1001}"#);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"MsgType":"TIMCustomElem","MsgContent":{"Data":"{\"type\":1001}","Desc":"","Ext":"","Sound":""}}"#
        );
    }

    #[test]
    fn data_only_content_is_read() {
        let e: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"TIMCustomElem","MsgContent":{"Data":"x"}}"#)
                .unwrap();
        assert_eq!(e.custom_elem().unwrap().data, "x");
        let t: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}"#)
                .unwrap();
        assert_eq!(t.custom_elem(), None);
    }

    #[test]
    fn size_limit_is_enforced_at_the_boundary() {
        let overhead = msg_body_size(&[MsgBodyElem::custom("")]);
        let fits = "a".repeat(MAX_MSG_BODY_BYTES - overhead);
        assert!(check_size(&fits).is_ok());
        let over = "a".repeat(MAX_MSG_BODY_BYTES - overhead + 1);
        let err = check_size(&over).unwrap_err();
        assert_eq!(
            err,
            ProtocolError::TooLarge {
                size: MAX_MSG_BODY_BYTES + 1,
                limit: MAX_MSG_BODY_BYTES
            }
        );
        // Escaped characters count as sent: quotes double in size.
        assert!(check_size(&"\"".repeat(MAX_MSG_BODY_BYTES / 2)).is_err());
    }
}
