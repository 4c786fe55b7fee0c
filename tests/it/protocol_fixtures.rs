//! Reads every message of a real-format ReplayGroup history (`tests/fixtures`; what each
//! file holds: `tests/fixtures/README.md`) through the IM wire types and the lenient protocol reader.

use replaydesk::im::wire::GroupMsgGetSimpleResponse;
use replaydesk::protocol::{classify, client_delta_ms, HistoryItem, MessageType, Payload};

fn history() -> GroupMsgGetSimpleResponse {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/replaygroup_history_room42.json"
    ))
    .expect("fixture present");
    serde_json::from_str(&text).expect("fixture is a group_msg_get_simple answer")
}

#[test]
fn every_message_of_the_room42_history_is_classified() {
    let h = history();
    assert_eq!(h.group_id, "replay_room42");
    assert_eq!(h.is_finished, 1);
    let seqs: Vec<u64> = h.rsp_msg_list.iter().map(|m| m.msg_seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );

    let items: Vec<(u64, HistoryItem)> = h
        .rsp_msg_list
        .iter()
        .map(|m| (m.msg_seq, classify(m)))
        .collect();
    let kinds: Vec<String> = items
        .iter()
        .map(|(seq, item)| match item {
            HistoryItem::Protocol(m) => format!("{seq}:{}", m.message_type().code()),
            HistoryItem::Whiteboard { from, .. } => format!("{seq}:whiteboard:{from}"),
            HistoryItem::Hole => format!("{seq}:hole"),
            HistoryItem::Other { msg_type } => format!("{seq}:{msg_type}"),
            HistoryItem::UnreadableCustom { error, .. } => format!("{seq}:unreadable:{error}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "9:1004",
            "8:1002",
            "7:whiteboard:student_wang",
            "6:hole",
            "5:1003",
            "4:TIMTextElem",
            "3:1003",
            "2:1001",
        ]
    );
}

#[test]
fn fixture_values_read_leniently_and_rewrite_exactly() {
    let h = history();
    let protocol: Vec<_> = h
        .rsp_msg_list
        .iter()
        .filter_map(|m| match classify(m) {
            HistoryItem::Protocol(p) => Some((m, p)),
            _ => None,
        })
        .collect();
    assert_eq!(protocol.len(), 5);

    for (raw, msg) in &protocol {
        let data = &raw.msg_body[0].custom_elem().unwrap().data;
        match msg.seq.get() {
            // Numbers as strings and a float time_line: read, then written as integers.
            88_001_237 => {
                assert_eq!(msg.timestamp, 91_224_013);
                let Payload::Timeline { time_line, value } = &msg.payload else {
                    panic!("1003 expected")
                };
                assert_eq!(*time_line, 1_795_339_300_877);
                assert_eq!(value.uid, "student_wang");
                assert_eq!(
                    msg.to_data(),
                    r#"{"type":1003,"seq":88001237,"timestamp":91224013,"time_line":1795339300877,"value":{"uid":"student_wang"}}"#
                );
            }
            // The others are written exactly as the group holds them, extra field included.
            _ => assert_eq!(&msg.to_data(), data, "seq {}", msg.seq),
        }
    }

    let by_type = |t: MessageType| {
        protocol
            .iter()
            .find(|(_, p)| p.message_type() == t)
            .map(|(_, p)| p.clone())
            .unwrap()
    };
    let Payload::Recording(rec) = by_type(MessageType::Recording).payload else {
        panic!("1004 expected")
    };
    assert_eq!(rec.uid, "teacher_li");
    assert_eq!(rec.video_id, "");
    assert_eq!(rec.file_size, 734_003_200);
    assert_eq!(rec.duration, rec.end_time - rec.start_time);

    let start = by_type(MessageType::ClassStart);
    let end = by_type(MessageType::ClassEnd);
    assert_eq!(start.payload.uid(), "teacher_li");
    // teacher_li's class lasted about an hour on their own clock.
    let lasted = client_delta_ms(start.timestamp, end.timestamp);
    assert!((3_590_000..3_610_000).contains(&lasted), "{lasted}");
}
