//! Reading a ReplayGroup's history: which messages are ours, which are the classroom
//! clients' whiteboard data, and which are holes or something else.

use crate::wire::HistoryMsg;
use replaydesk_protocol::{MsgBodyElem, ProtocolError, ReplayMessage, WHITEBOARD_EXT};

/// What one history entry is, as far as replay is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryItem {
    /// A replay protocol message (1001–1004).
    Protocol(ReplayMessage),
    /// Whiteboard data written by a classroom client (`Ext` = `TXWhiteBoardExt`).
    Whiteboard { from: String, data: String },
    /// `IsPlaceMsg` = 1: expired, failed to store, or deleted.
    Hole,
    /// A custom message whose `Data` is not a readable protocol message, with the reason.
    UnreadableCustom { data: String, error: ProtocolError },
    /// Any other element (text, image, ...), or an empty body.
    Other { msg_type: String },
}

/// Classifies one history entry. Never fails: anything unreadable says why.
pub fn classify(msg: &HistoryMsg) -> HistoryItem {
    if msg.is_place_msg != 0 {
        return HistoryItem::Hole;
    }
    let Some(first) = msg.msg_body.first() else {
        return HistoryItem::Other {
            msg_type: String::new(),
        };
    };
    let Some(custom) = msg.msg_body.iter().find_map(MsgBodyElem::custom_elem) else {
        return HistoryItem::Other {
            msg_type: first.msg_type.clone(),
        };
    };
    if custom.ext == WHITEBOARD_EXT {
        return HistoryItem::Whiteboard {
            from: msg.from_account.clone(),
            data: custom.data,
        };
    }
    match ReplayMessage::parse(&custom.data) {
        Ok(m) => HistoryItem::Protocol(m),
        Err(error) => HistoryItem::UnreadableCustom {
            data: custom.data,
            error,
        },
    }
}
