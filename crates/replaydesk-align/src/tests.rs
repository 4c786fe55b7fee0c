//! Alignment of the history fixture, of a reference-server-shaped group, and of
//! constructed classes that trigger each diagnostic (and a clean one that triggers none).
//! One file on purpose: every diagnostic's class is built by the one `Class` builder here,
//! and `every_code_has_a_test_above` can only guard the list if all of them sit above it.

use super::*;
use replaydesk_protocol::{Payload, RecordingValue, ReplayMessage, Seq, UserValue};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn codes(a: &Alignment) -> Vec<DiagnosticCode> {
    a.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn history_fixture_aligns_with_offsets_placement_event_time_and_hole() {
    let a = align_dump(
        &fixture("replaygroup_history_room42.json"),
        &AlignOptions::default(),
    )
    .unwrap();
    assert_eq!(a.group_id.as_deref(), Some("replay_room42"));
    assert!(!a.reference_shaped);
    // Two users, one pair each, offsets server − client.
    let uids: Vec<&str> = a.users.iter().map(|u| u.uid.as_str()).collect();
    assert_eq!(uids, ["student_wang", "teacher_li"]);
    let wang = &a.users[0].segments[0];
    assert_eq!(
        (wang.client_ms, wang.server_ms),
        (91_224_013, 1_795_339_300_877)
    );
    assert_eq!(wang.offset_ms, 1_795_339_300_877 - 91_224_013);
    let li = &a.users[1].segments[0];
    assert_eq!(li.offset_ms, 1_795_339_200_123 - 3_408_123_311);
    assert_eq!(li.precision, PairPrecision::TimeLine);
    assert_eq!(
        a.users[1].clock_width,
        replaydesk_protocol::ClockWidth::Bits32
    );
    // The recording by both readings: media_start_time 1208 is a stream offset.
    let r = &a.recordings[0];
    assert_eq!(r.by_stream_offset_ms, 1_795_339_195_000 + 1208);
    assert_eq!(r.by_client_clock_ms, Some(1_795_339_200_123 + 886_845_193));
    assert_eq!(r.chosen, PlacementReading::StreamOffset);
    assert_eq!(r.start_ms, 1_795_339_196_208);
    assert_eq!(r.end_ms, 1_795_339_196_208 + 3_595_000);
    assert_eq!(r.readings_disagree_ms, Some(886_849_108));
    // The whiteboard event's server time and its position in the video.
    let wb = a
        .events
        .iter()
        .find(|e| e.event.kind == EntryKind::Whiteboard)
        .unwrap();
    assert_eq!(wb.uid, "student_wang");
    assert_eq!(wb.server_ms, Some(1_795_339_300_877 + 9_541));
    assert_eq!(wb.positions.len(), 1);
    assert_eq!(wb.positions[0].position_ms, 114_210);
    // Class start and end on the teacher's clock.
    let start = a
        .events
        .iter()
        .find(|e| e.event.kind == EntryKind::ClassStart)
        .unwrap();
    assert_eq!(start.server_ms, Some(1_795_339_198_813));
    // The hole, and nothing false.
    assert_eq!(a.holes, [SeqRange { first: 6, last: 6 }]);
    assert_eq!(codes(&a), [DiagnosticCode::HistoryHole]);
    // The JSON names offsets, server times and codes.
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["users"][1]["segments"][0]["offset_ms"], li.offset_ms);
    assert_eq!(json["diagnostics"][0]["code"], "history_hole");
    assert_eq!(json["events"][1]["server_ms"], 1_795_339_310_418i64);
}

#[test]
fn reference_server_group_aligns_from_msg_time_stamp_with_low_precision() {
    let a = align_dump(
        &fixture("replaygroup_history_reference_server.json"),
        &AlignOptions::default(),
    )
    .unwrap();
    assert!(a.reference_shaped);
    assert_eq!(a.group_id.as_deref(), Some("10086"));
    assert!(!a.users.is_empty());
    for u in &a.users {
        for s in &u.segments {
            assert_eq!(s.precision, PairPrecision::ImTimestamp, "{}", u.uid);
            assert_eq!(s.uncertainty_ms, Some(1000));
        }
    }
    let teacher = a.users.iter().find(|u| u.uid == "8001").unwrap();
    // 1001 at MsgTimeStamp 1795339200 with client 2000000000: the middle of that second.
    assert_eq!(teacher.segments[0].server_ms, 1_795_339_200_500);
    assert_eq!(teacher.segments[0].client_ms, 2_000_000_000);
    // The recording's URL was written with `\/` and reads as a URL.
    assert!(a.recordings[0].video_url.starts_with("http://1253488539."));
    // Every low-precision pair is flagged; nothing else is wrong.
    let low: usize = a
        .diagnostics
        .iter()
        .filter(|d| d.code == DiagnosticCode::PairLowPrecision)
        .map(|d| d.messages.len())
        .sum();
    let pairs: usize = a.users.iter().map(|u| u.segments.len()).sum();
    assert_eq!(low, pairs);
    assert!(
        codes(&a)
            .iter()
            .all(|c| *c == DiagnosticCode::PairLowPrecision),
        "{:?}",
        codes(&a)
    );
    let wb = a
        .events
        .iter()
        .find(|e| e.event.kind == EntryKind::Whiteboard)
        .unwrap();
    assert!(wb.server_ms.is_some());
    assert_eq!(wb.positions.len(), 1);
}

// ---- constructed classes ----

const T0: i64 = 1_795_339_200_000;

struct Class {
    entries: Vec<Entry>,
    next_seq: u64,
}

impl Class {
    fn new() -> Self {
        Class {
            entries: Vec::new(),
            next_seq: 1,
        }
    }

    fn push(&mut self, from: &str, received_ms: i64, body: EntryBody) {
        self.entries.push(Entry {
            im_msg_seq: Some(self.next_seq),
            received_ms: Some(received_ms),
            received_exact: true,
            from: from.into(),
            log_id: None,
            sent: true,
            recording_source: None,
            body,
        });
        self.next_seq += 1;
    }

    fn proto(&mut self, seq: u64, ts: u64, payload: Payload, received_ms: i64, unc: Option<i64>) {
        self.push(
            "administrator",
            received_ms,
            EntryBody::Protocol {
                msg: ReplayMessage::new(Seq::from_raw(seq), ts, payload),
                time_line_missing: false,
                uncertainty_ms: unc,
                rtt_source: unc.map(|_| RttSource::Client),
            },
        );
    }

    /// A 1003 for `uid`: client `c` ↔ server `s`, ±20 ms.
    fn pair(&mut self, seq: u64, uid: &str, c: u64, s: i64) {
        self.proto(
            seq,
            c,
            Payload::Timeline {
                time_line: s,
                value: UserValue::new(uid),
            },
            s + 20,
            Some(20),
        );
    }

    fn start(&mut self, seq: u64, uid: &str, c: u64, received: i64) {
        self.proto(
            seq,
            c,
            Payload::ClassStart(UserValue::new(uid)),
            received,
            None,
        );
    }

    fn end(&mut self, seq: u64, uid: &str, c: u64, received: i64) {
        self.proto(
            seq,
            c,
            Payload::ClassEnd(UserValue::new(uid)),
            received,
            None,
        );
    }

    fn recording(
        &mut self,
        seq: u64,
        uid: &str,
        start_s: i64,
        end_s: i64,
        duration: i64,
        media: i64,
    ) {
        let r = RecordingValue {
            uid: uid.into(),
            start_time: start_s,
            end_time: end_s,
            media_start_time: media,
            file_size: 1,
            duration,
            video_id: format!("v{seq}"),
            video_url: "https://v.invalid/f.mp4".into(),
            ..RecordingValue::default()
        };
        self.proto(
            seq,
            end_s as u64,
            Payload::Recording(r),
            end_s * 1000 + 5000,
            None,
        );
    }

    fn whiteboard(&mut self, from: &str, c: u64, received: i64) {
        self.push(
            from,
            received,
            EntryBody::Whiteboard {
                client_ms: Some(c),
                seq: Some(1),
            },
        );
    }

    /// Numbers the group's messages 1, 2, ... again (after removing some).
    fn renumber(mut self) -> Self {
        for (k, e) in self.entries.iter_mut().enumerate() {
            e.im_msg_seq = Some(k as u64 + 1);
        }
        self
    }

    fn align(&self) -> Alignment {
        align(
            AlignSource::History,
            Some("g".into()),
            None,
            &self.entries,
            &AlignOptions::default(),
        )
    }
}

/// A clean class: teacher (32-bit clock near its wrap) and a student, each paired, one
/// video each covering the class, whiteboard data inside, start and end.
fn clean() -> Class {
    let mut c = Class::new();
    let tc: u64 = u64::from(u32::MAX) - 60_000; // the teacher's clock wraps a minute in
    c.pair(101, "t", tc, T0);
    c.start(102, "t", tc + 1_000, T0 + 1_030);
    c.pair(103, "s", 50_000, T0 + 2_000);
    c.whiteboard("s", 50_000 + 10_000, T0 + 12_100);
    c.whiteboard("t", (tc + 120_000) & 0xFFFF_FFFF, T0 + 120_050); // after the wrap
    c.end(104, "t", (tc + 600_000) & 0xFFFF_FFFF, T0 + 600_040);
    c.recording(105, "t", T0 / 1000, T0 / 1000 + 600, 600, 0);
    c.recording(106, "s", T0 / 1000 + 2, T0 / 1000 + 600, 598, 0);
    c
}

#[test]
fn clean_class_triggers_nothing_and_handles_the_wrap() {
    let a = clean().align();
    assert_eq!(a.diagnostics, vec![], "{:#?}", a.diagnostics);
    let after_wrap = a
        .events
        .iter()
        .find(|e| e.uid == "t" && e.event.kind == EntryKind::Whiteboard)
        .unwrap();
    assert_eq!(after_wrap.server_ms, Some(T0 + 120_000));
    assert_eq!(after_wrap.positions[0].position_ms, 120_000);
    let end = a
        .events
        .iter()
        .find(|e| e.event.kind == EntryKind::ClassEnd)
        .unwrap();
    assert_eq!(end.server_ms, Some(T0 + 600_000));
}

fn only(a: &Alignment, code: DiagnosticCode) {
    assert_eq!(codes(a), [code], "{:#?}", a.diagnostics);
    let d = &a.diagnostics[0];
    assert_eq!(d.severity, code.severity());
    assert_eq!(d.explanation, code.explanation());
}

#[test]
fn recording_without_pair() {
    let mut c = clean();
    c.recording(200, "ghost", T0 / 1000 + 10, T0 / 1000 + 20, 10, 0);
    only(&c.align(), DiagnosticCode::RecordingWithoutPair);
}

#[test]
fn event_before_first_pair() {
    let mut c = clean();
    // User u draws 10 s before its first timeline report reaches the server.
    c.whiteboard("u", 1_000, T0 + 100_050);
    c.pair(700, "u", 11_000, T0 + 110_000);
    let a = c.align();
    only(&a, DiagnosticCode::EventBeforeFirstPair);
    assert_eq!(a.events.last().unwrap().server_ms, Some(T0 + 100_000));
}

#[test]
fn clock_jump_without_pair() {
    let mut c = clean();
    // The student's laptop slept 20 minutes: its clock lags, no new pair.
    c.whiteboard("s", 50_000 + 200_000, T0 + 2_000 + 200_000 + 1_200_000);
    only(&c.align(), DiagnosticCode::ClockJumpWithoutPair);
}

#[test]
fn clock_jump_between_pairs_is_detected_and_the_new_pair_used() {
    let mut c = clean();
    // The student rebooted: its clock restarted at 1000, and it reported again.
    c.pair(300, "s", 1_000, T0 + 300_000);
    c.whiteboard("s", 11_000, T0 + 310_100);
    let a = c.align();
    only(&a, DiagnosticCode::ClockJumpBetweenPairs);
    let s = a.users.iter().find(|u| u.uid == "s").unwrap();
    assert!(s.segments[1].jump_ms.is_some());
    assert_eq!(s.segments[0].until_server_ms, Some(T0 + 300_000));
    let last = a.events.last().unwrap();
    assert_eq!(
        (last.server_ms, last.segment),
        (Some(T0 + 310_000), Some(1))
    );
}

/// A 1003 ReplayDesk made from `uid`'s tracked clock (heartbeats): client `c` ↔ server `s`.
fn tracked_pair(c: &mut Class, seq: u64, uid: &str, cm: u64, s: i64) {
    c.push(
        "administrator",
        s + 5,
        EntryBody::Protocol {
            msg: ReplayMessage::new(
                Seq::from_raw(seq),
                cm,
                Payload::Timeline {
                    time_line: s,
                    value: UserValue::new(uid),
                },
            ),
            time_line_missing: false,
            uncertainty_ms: Some(2),
            rtt_source: Some(RttSource::Heartbeat),
        },
    );
}

#[test]
fn a_drifting_clock_is_placed_on_the_line_between_its_pairs_and_past_the_last_tracked_ones() {
    // Student "d" runs 100 ppm slow: its offset grows by 100 ms every 1,000 s. Tracked
    // pairs at 0, 1,000 s and 2,000 s; events halfway between and 500 s past the last.
    let mut c = Class::new();
    let server = |k: i64| T0 + k;
    let client = |k: i64| 10_000_000 + (k - k / 10_000) as u64; // 100 ppm slow
    tracked_pair(&mut c, 1, "d", client(0), server(0));
    c.whiteboard("d", client(500_000), server(500_040));
    tracked_pair(&mut c, 2, "d", client(1_000_000), server(1_000_000));
    tracked_pair(&mut c, 3, "d", client(2_000_000), server(2_000_000));
    c.whiteboard("d", client(2_500_000), server(2_500_040));
    let a = c.renumber().align();
    let placed: Vec<i64> = a.events.iter().filter_map(|e| e.server_ms).collect();
    // Holding the earlier pair's offset would put them 50 ms early; the line puts them
    // where they happened (± the integer rounding of the clock).
    assert!((placed[0] - server(500_000)).abs() <= 1, "{placed:?}");
    assert!((placed[1] - server(2_500_000)).abs() <= 1, "{placed:?}");
}

#[test]
fn no_line_is_drawn_across_a_jump_nor_past_report_pairs() {
    // Report pairs (not tracked): the last one's offset is held after it.
    let mut c = Class::new();
    c.pair(1, "s", 100_000, T0);
    c.pair(2, "s", 1_100_000, T0 + 1_000_100); // 100 ppm: 100 ms in 1,000 s
    c.whiteboard("s", 1_600_000, T0 + 1_500_200);
    // The same with a clock step between two pairs: each side keeps its own pair.
    c.pair(3, "t", 100_000, T0);
    c.whiteboard("t", 600_000, T0 + 500_000);
    c.pair(4, "t", 1_000, T0 + 1_000_000);
    let a = c.renumber().align();
    let s = a.events.iter().find(|e| e.uid == "s").unwrap();
    assert_eq!(s.server_ms, Some(T0 + 1_500_100));
    let t = a.events.iter().find(|e| e.uid == "t").unwrap();
    assert_eq!(t.server_ms, Some(T0 + 500_000));
}

#[test]
fn recordings_overlap_and_gap() {
    let mut c = clean();
    c.recording(400, "t", T0 / 1000 + 500, T0 / 1000 + 700, 200, 0);
    only(&c.align(), DiagnosticCode::RecordingsOverlap);
    let mut c = clean();
    // The class ends with t's first video: one after a gap is after the class too.
    c.recording(401, "t", T0 / 1000 + 700, T0 / 1000 + 800, 100, 0);
    assert_eq!(
        codes(&c.align()),
        [
            DiagnosticCode::RecordingsGap,
            DiagnosticCode::RecordingOutsideClass
        ]
    );
}

#[test]
fn duration_mismatch() {
    let mut c = clean();
    c.recording(500, "x", T0 / 1000, T0 / 1000 + 600, 560, 0);
    c.pair(501, "x", 7, T0);
    let a = c.align();
    only(&a, DiagnosticCode::DurationMismatch);
}

#[test]
fn whiteboard_outside_recordings() {
    let mut c = clean();
    c.whiteboard("s", 50_000 + 650_000, T0 + 2_000 + 650_100);
    only(&c.align(), DiagnosticCode::WhiteboardOutsideRecordings);
}

#[test]
fn duplicate_seq() {
    let mut c = clean();
    c.start(102, "t", u64::from(u32::MAX) - 59_000, T0 + 1_040);
    only(&c.align(), DiagnosticCode::DuplicateSeq);
}

#[test]
fn history_hole_from_place_msg_and_from_a_missing_seq() {
    let mut c = clean();
    c.push("", T0 + 5_000, EntryBody::Hole);
    let a = c.align();
    only(&a, DiagnosticCode::HistoryHole);
    let mut c = clean();
    for e in c.entries.iter_mut().skip(3) {
        e.im_msg_seq = e.im_msg_seq.map(|s| s + 36);
    }
    let a = c.align();
    only(&a, DiagnosticCode::HistoryHole);
    assert_eq!(a.holes, [SeqRange { first: 4, last: 39 }]);
}

#[test]
fn start_or_end_missing() {
    let mut c = clean();
    c.entries
        .retain(|e| !matches!(&e.body, EntryBody::Protocol { msg, .. } if msg.seq.get() == 102));
    only(&c.renumber().align(), DiagnosticCode::ClassStartMissing);
    let mut c = clean();
    c.entries
        .retain(|e| !matches!(&e.body, EntryBody::Protocol { msg, .. } if msg.seq.get() == 104));
    only(&c.renumber().align(), DiagnosticCode::ClassEndMissing);
}

#[test]
fn offset_uncertain() {
    let mut c = clean();
    if let EntryBody::Protocol { uncertainty_ms, .. } = &mut c.entries[2].body {
        *uncertainty_ms = Some(900);
    }
    only(&c.align(), DiagnosticCode::OffsetUncertain);
}

#[test]
fn pair_low_precision() {
    let mut c = clean();
    if let EntryBody::Protocol {
        time_line_missing, ..
    } = &mut c.entries[2].body
    {
        *time_line_missing = true;
    }
    let a = c.align();
    // In a reference-shaped group the teacher's 1001 becomes a pair too.
    assert!(a.reference_shaped);
    assert!(!a.diagnostics.is_empty());
    assert!(
        codes(&a)
            .iter()
            .all(|c| *c == DiagnosticCode::PairLowPrecision),
        "{:?}",
        codes(&a)
    );
}

#[test]
fn unreadable_message_and_message_not_sent() {
    let mut c = clean();
    c.push(
        "x",
        T0 + 3_000,
        EntryBody::Unreadable {
            reason: "Data is not JSON".into(),
        },
    );
    only(&c.align(), DiagnosticCode::UnreadableMessage);
    let mut c = clean();
    c.entries[1].sent = false;
    let a = align(
        AlignSource::Log,
        None,
        Some("c".into()),
        &c.entries,
        &AlignOptions::default(),
    );
    only(&a, DiagnosticCode::MessageNotSent);
}

/// The demo's rebooted student: its clock restarted half a minute before the class, so
/// the `media_start_time` of its video (a reading of that clock) is as small as a stream
/// offset. Read as an offset, the video would start half a minute late, after the class
/// ended; the evidence (start_time, the class, the user's reports) says it is the clock.
#[test]
fn a_rebooted_clients_small_clock_reading_is_placed_by_its_clock_with_the_reason() {
    let mut c = Class::new();
    let tc = 3_000_000_000u64;
    c.pair(101, "t", tc, T0);
    c.start(102, "t", tc + 100, T0 + 130);
    c.pair(103, "z", 35_000, T0 + 200);
    c.pair(104, "z", 37_000, T0 + 2_200);
    c.end(105, "t", tc + 3_000, T0 + 3_040);
    c.recording(106, "t", T0 / 1000, T0 / 1000 + 3, 3, tc as i64);
    c.recording(107, "z", T0 / 1000, T0 / 1000 + 3, 3, 35_060);
    let a = c.align();
    assert_eq!(
        (a.class_start_ms, a.class_end_ms),
        (Some(T0 + 100), Some(T0 + 3_000))
    );
    let t = &a.recordings[0];
    assert_eq!(t.chosen, PlacementReading::ClientClock);
    assert_eq!(t.reason, PlacementReason::TooLargeForOffset);
    let z = &a.recordings[1];
    assert_eq!(z.chosen, PlacementReading::ClientClock, "{}", z.reason_text);
    assert_eq!(z.reason, PlacementReason::Evidence);
    assert_eq!(z.start_ms, T0 + 260);
    assert_eq!(z.by_stream_offset_ms, T0 + 35_060);
    assert_eq!(z.readings_disagree_ms, Some(34_800));
    assert_eq!(z.class_start_position_ms, Some(-160));
    let [ec, es] = z.evidence.as_slice() else {
        panic!("both readings weighed: {:?}", z.evidence)
    };
    assert_eq!(
        (
            ec.reading,
            ec.vs_start_time_ms,
            ec.agrees_with_start_time,
            ec.near_user_pairs,
            ec.outside_class,
            ec.score
        ),
        (
            PlacementReading::ClientClock,
            260,
            true,
            true,
            Some(false),
            2
        )
    );
    assert_eq!(
        (
            es.reading,
            es.vs_start_time_ms,
            es.agrees_with_start_time,
            es.near_user_pairs,
            es.outside_class,
            es.score
        ),
        (
            PlacementReading::StreamOffset,
            35_060,
            false,
            false,
            Some(true),
            -1
        )
    );
    for words in [
        "client-clock",
        "260 ms from start_time",
        "inside the class",
        "after the class ended",
    ] {
        assert!(z.reason_text.contains(words), "{words}: {}", z.reason_text);
    }
    // The choice overrode the usual reading of a small value: said, not an error.
    only(&a, DiagnosticCode::ReadingsDisagree);
    assert_eq!(a.diagnostics[0].uid.as_deref(), Some("z"));
    assert!(
        render_text(&a).contains("why: media_start_time 35060"),
        "{}",
        render_text(&a)
    );
}

#[test]
fn a_small_value_far_from_the_users_clock_stays_a_stream_offset() {
    // The same class, but the student's clock is not near 35 s: the value is an offset.
    let a = clean().align();
    let s = &a.recordings[1];
    assert_eq!(
        (s.chosen, s.reason),
        (PlacementReading::StreamOffset, PlacementReason::Evidence)
    );
    assert_eq!(s.evidence.len(), 2);
    assert!(
        s.evidence[1].score > s.evidence[0].score,
        "{:?}",
        s.evidence
    );
}

#[test]
fn recording_outside_class() {
    let mut c = clean();
    // A video of x that starts 100 s after the class ended (x's clock is far from 0, so
    // its media_start_time 0 is an offset: placed by start_time).
    c.pair(300, "x", 5_000_000, T0 + 700_000);
    c.recording(301, "x", T0 / 1000 + 700, T0 / 1000 + 760, 60, 0);
    let a = c.align();
    only(&a, DiagnosticCode::RecordingOutsideClass);
    assert!(
        a.diagnostics[0]
            .message
            .contains("100000 ms after the class ended"),
        "{}",
        a.diagnostics[0].message
    );
}

/// A TRTC file (or one entered by hand) is placed by its wall-clock start, with no
/// reading and no pair needed; a CSS file with the same value is still read. A user's main
/// and aux files run side by side: no overlap between them, but two mains still overlap.
#[test]
fn trtc_and_hand_files_are_placed_by_the_wall_clock_and_main_and_aux_do_not_overlap() {
    let mut c = Class::new();
    c.pair(1, "teacher_li", 5_000, T0);
    let start = T0 / 1000 + 60;
    let file = |seq: u64, kind: &str| RecordingValue {
        uid: "teacher_li".into(),
        start_time: start,
        end_time: start + 600,
        media_start_time: 0,
        file_size: 0,
        duration: 600,
        video_id: format!("v{seq}"),
        video_url: "https://v.invalid/f.mp4".into(),
        extra: [("type".to_owned(), serde_json::json!(kind))]
            .into_iter()
            .collect(),
    };
    for (seq, kind, source) in [
        (2, "main", RecordingSource::Trtc),
        (3, "aux", RecordingSource::Manual),
        (4, "main", RecordingSource::Css),
    ] {
        c.proto(
            seq,
            start as u64,
            Payload::Recording(file(seq, kind)),
            (start + 600) * 1000,
            None,
        );
        c.entries.last_mut().unwrap().recording_source = Some(source);
    }
    let a = c.align();
    let by = |v: &str| a.recordings.iter().find(|r| r.video_id == v).unwrap();
    let (trtc, hand, css) = (by("v2"), by("v3"), by("v4"));
    assert_eq!(
        (trtc.source, trtc.media.as_deref()),
        (RecordingSource::Trtc, Some("main"))
    );
    assert_eq!(
        (trtc.chosen, trtc.reason),
        (PlacementReading::WallClock, PlacementReason::WallClock)
    );
    assert_eq!(
        (trtc.start_ms, trtc.end_ms),
        (start * 1000, (start + 600) * 1000)
    );
    assert_eq!(trtc.by_client_clock_ms, None);
    assert!(trtc.reason_text.contains("TRTC"), "{}", trtc.reason_text);
    assert_eq!(
        (hand.source, hand.chosen),
        (RecordingSource::Manual, PlacementReading::WallClock)
    );
    assert_eq!(css.source, RecordingSource::Css);
    assert_ne!(css.chosen, PlacementReading::WallClock);
    let overlaps: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| d.code == DiagnosticCode::RecordingsOverlap)
        .collect();
    assert_eq!(
        overlaps.len(),
        1,
        "only the two main files overlap: {overlaps:#?}"
    );
    assert!(
        overlaps[0].message.contains("\"v2\" and \"v4\""),
        "{}",
        overlaps[0].message
    );
}

#[test]
fn every_code_has_a_test_above() {
    // Guards the list: adding a code means adding its constructed class. (The 19th,
    // `read_from_archive`, is added by the service, which knows the IM's retention; its
    // test is `note_archive_names_what_is_past_the_retention` there.)
    assert_eq!(DiagnosticCode::ALL.len(), 19);
    for c in DiagnosticCode::ALL {
        assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
    }
}

#[test]
fn text_report_names_users_recordings_and_findings() {
    let a = align_dump(
        &fixture("replaygroup_history_room42.json"),
        &AlignOptions::default(),
    )
    .unwrap();
    let t = render_text(&a);
    assert!(t.contains("teacher_li"), "{t}");
    assert!(t.contains("StreamOffset"), "{t}");
    assert!(t.contains("history_hole"), "{t}");
}

// ---- the clock filter ----

/// A report of `uid` whose client read `c` at true server time `true_ms`, arriving after
/// `up_ms`, corrected by half of a round trip `rtt_ms` measured just before (as intake
/// does: `time_line` = receipt − rtt/2, uncertainty = rtt/2).
fn report(c: &mut Class, seq: u64, uid: &str, cl: u64, true_ms: i64, up_ms: i64, rtt_ms: i64) {
    let receipt = true_ms + up_ms;
    c.proto(
        seq,
        cl,
        Payload::Timeline {
            time_line: receipt - rtt_ms / 2,
            value: UserValue::new(uid),
        },
        receipt,
        Some(rtt_ms / 2),
    );
}

#[test]
fn the_clock_filter_takes_the_fastest_report_less_half_the_smallest_round_trip() {
    // True offset: server = client + T0 − 1_000_000. Path ≈ 100 ms each way plus jitter.
    let off = T0 - 1_000_000;
    let mut c = Class::new();
    // (client ms, uplink ms, rtt ms): the second report arrived fastest, the third
    // measured the smallest round trip.
    let reports = [
        (1_000_000u64, 160, 260),
        (1_030_000, 104, 300),
        (1_060_000, 180, 202),
    ];
    for (k, (cl, up, rtt)) in reports.into_iter().enumerate() {
        report(&mut c, 10 + k as u64, "s", cl, cl as i64 + off, up, rtt);
    }
    c.whiteboard("s", 1_045_000, 1_045_000 + off + 150);
    let a = c.align();
    let segs = &a.users[0].segments;
    for (k, s) in segs.iter().enumerate() {
        let f = s.filter.as_ref().expect("three pairs compared");
        assert_eq!(
            (f.fastest, f.smallest_rtt, f.pairs),
            (1, Some(2), 3),
            "pair {k}"
        );
        // Fastest receipt (uplink 104) less half the smallest round trip (101): +3 ms.
        assert_eq!(s.aligned_offset_ms, off + 3, "pair {k}");
        assert_eq!(s.aligned_uncertainty_ms, Some(101));
    }
    // Each pair alone would be off by its uplink − rtt/2: +30, −46, +79 ms.
    let alone: Vec<i64> = segs.iter().map(|s| s.offset_ms - off).collect();
    assert_eq!(alone, [30, -46, 79]);
    // Events are placed from the filtered offset.
    let wb = a
        .events
        .iter()
        .find(|e| e.event.kind == EntryKind::Whiteboard)
        .unwrap();
    assert_eq!(wb.server_ms, Some(1_045_000 + off + 3));
}

#[test]
fn the_clock_filter_never_mixes_pairs_across_a_jump_or_outside_its_window() {
    let off = T0 - 1_000_000;
    let mut c = Class::new();
    report(&mut c, 10, "s", 1_000_000, 1_000_000 + off, 150, 200);
    report(&mut c, 11, "s", 1_030_000, 1_030_000 + off, 101, 200);
    // The student rebooted: its clock restarts at 5 000; the next pair is on a new run.
    report(&mut c, 12, "s", 5_000, 1_060_000 + off, 300, 200);
    // Far later (outside the 2-minute window), same run as the reboot's pair.
    report(&mut c, 13, "s", 5_000 + 600_000, 1_660_000 + off, 120, 200);
    let a = c.align();
    let segs = &a.users[0].segments;
    assert!(segs[2].jump_ms.is_some());
    assert_eq!(segs[0].filter.as_ref().unwrap().fastest, 1);
    assert_eq!(segs[0].aligned_offset_ms, off + 1);
    assert_eq!(segs[1].aligned_offset_ms, off + 1);
    // Alone in its run within the window: its own pair, no filter.
    for k in [2, 3] {
        assert_eq!(segs[k].filter, None, "pair {k}");
        assert_eq!(segs[k].aligned_server_ms, segs[k].server_ms);
        assert_eq!(segs[k].aligned_uncertainty_ms, segs[k].uncertainty_ms);
    }
    // A window of 0 turns the filter off.
    let a = align(
        AlignSource::History,
        None,
        None,
        &c.entries,
        &AlignOptions {
            pair_filter_window_ms: 0,
            ..AlignOptions::default()
        },
    );
    for s in &a.users[0].segments {
        assert_eq!((s.aligned_server_ms, s.filter.clone()), (s.server_ms, None));
    }
}
