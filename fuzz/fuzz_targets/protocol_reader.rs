//! The lenient protocol reader (docs/protocol.md section 1): a `Data` text, or a whole
//! `group_msg_get_simple` answer whose entries are classified as the checker and the
//! alignment read them.
//!
//! Properties beyond "does not panic": a message read is written back (`to_data`) as text
//! that reads as the same message and writes as the same text again (writing is exact and
//! stable); a history entry classified as unreadable really does not read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replaydesk::im::wire::GroupMsgGetSimpleResponse;
use replaydesk::protocol::{check_size, classify, HistoryItem, ReplayMessage};

fn round_trip(msg: &ReplayMessage) {
    let data = msg.to_data();
    let again = ReplayMessage::parse(&data)
        .unwrap_or_else(|e| panic!("written text does not read back: {e}\n{data}"));
    assert_eq!(&again, msg, "read back differs\n{data}");
    assert_eq!(again.to_data(), data, "writing is not stable");
    // What a sender does next with it: the size rule on the written text.
    let _ = check_size(&data);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(msg) = ReplayMessage::parse(text) {
            round_trip(&msg);
        }
    }
    if let Ok(answer) = serde_json::from_slice::<GroupMsgGetSimpleResponse>(data) {
        for entry in &answer.rsp_msg_list {
            match classify(entry) {
                HistoryItem::Protocol(msg) => round_trip(&msg),
                HistoryItem::Hole => assert_ne!(entry.is_place_msg, 0),
                HistoryItem::UnreadableCustom { data, .. } => {
                    assert!(ReplayMessage::parse(&data).is_err())
                }
                HistoryItem::Whiteboard { .. } | HistoryItem::Other { .. } => {}
            }
        }
    }
});
