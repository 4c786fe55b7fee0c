//! Writer/reader tests of the protocol messages, including property tests.

use super::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn timeline(seq: u64, ts: u64, tl: i64, uid: &str) -> ReplayMessage {
    ReplayMessage::new(
        Seq::from_raw(seq),
        ts,
        Payload::Timeline {
            time_line: tl,
            value: UserValue::new(uid),
        },
    )
}

#[test]
fn writes_the_protocol_md_examples_byte_for_byte() {
    let m = timeline(73_311_902, 3_408_123_311, 1_795_339_200_123, "teacher_li");
    assert_eq!(
        m.to_data(),
        r#"{"type":1003,"seq":73311902,"timestamp":3408123311,"time_line":1795339200123,"value":{"uid":"teacher_li"}}"#
    );
    let r = ReplayMessage::new(
        Seq::from_raw(20_417_765),
        1_795_342_811,
        Payload::Recording(RecordingValue {
            uid: "teacher_li".into(),
            start_time: 1_795_339_195,
            end_time: 1_795_342_790,
            media_start_time: 1208,
            file_size: 734_003_200,
            duration: 3595,
            video_id: "5210_3f0c9d1e".into(),
            video_url: "https://example.vod.invalid/abc/f0.mp4".into(),
            extra: Map::new(),
        }),
    );
    assert_eq!(
        r.to_data(),
        r#"{"type":1004,"seq":20417765,"timestamp":1795342811,"value":{"uid":"teacher_li","start_time":1795339195,"end_time":1795342790,"media_start_time":1208,"file_size":734003200,"duration":3595,"video_id":"5210_3f0c9d1e","video_url":"https://example.vod.invalid/abc/f0.mp4"}}"#
    );
    let s = ReplayMessage::new(
        Seq::from_raw(61002),
        3_408_122_001,
        Payload::ClassStart(UserValue::new("teacher_li")),
    );
    assert_eq!(
        s.to_data(),
        r#"{"type":1001,"seq":61002,"timestamp":3408122001,"value":{"uid":"teacher_li"}}"#
    );
}

#[test]
fn reads_floats_and_strings_and_writes_integers() {
    let m = ReplayMessage::parse(
        r#"{"type":"1003","seq":"88001237","timestamp":"91224013","time_line":1795339300877.0,"value":{"uid":"student_wang"}}"#,
    )
    .unwrap();
    assert_eq!(
        m,
        timeline(88_001_237, 91_224_013, 1_795_339_300_877, "student_wang")
    );
    assert_eq!(
        m.to_data(),
        r#"{"type":1003,"seq":88001237,"timestamp":91224013,"time_line":1795339300877,"value":{"uid":"student_wang"}}"#
    );
    let e = ReplayMessage::parse(
        r#"{"type":1003.0,"seq":1.0e4,"timestamp":12,"time_line":1.795339200123e12,"value":{"uid":"u"}}"#,
    )
    .unwrap();
    assert_eq!(e, timeline(10_000, 12, 1_795_339_200_123, "u"));
}

#[test]
fn unknown_fields_are_kept_in_place_order() {
    let data = r#"{"type":1003,"seq":73311902,"timestamp":3408123311,"time_line":1795339200123,"value":{"uid":"teacher_li","role":"teacher"},"client":"mac"}"#;
    let m = ReplayMessage::parse(data).unwrap();
    assert_eq!(m.extra.get("client"), Some(&json!("mac")));
    match &m.payload {
        Payload::Timeline { value, .. } => assert_eq!(value.extra["role"], json!("teacher")),
        other => panic!("not a timeline: {other:?}"),
    }
    assert_eq!(m.to_data(), data);
}

#[test]
fn missing_and_unusable_fields_are_named() {
    let cases: &[(&str, &str)] = &[
        (r#"{"seq":1,"timestamp":1,"value":{"uid":"a"}}"#, "`type`"),
        (
            r#"{"type":1001,"timestamp":1,"value":{"uid":"a"}}"#,
            "`seq`",
        ),
        (
            r#"{"type":1001,"seq":1,"value":{"uid":"a"}}"#,
            "`timestamp`",
        ),
        (r#"{"type":1001,"seq":1,"timestamp":1}"#, "`value`"),
        (
            r#"{"type":1001,"seq":1,"timestamp":1,"value":{}}"#,
            "`value.uid`",
        ),
        (
            r#"{"type":1003,"seq":1,"timestamp":1,"value":{"uid":"a"}}"#,
            "`time_line`",
        ),
        (
            r#"{"type":1003,"seq":1,"timestamp":1,"time_line":"soon","value":{"uid":"a"}}"#,
            "`time_line`",
        ),
        (
            r#"{"type":1001,"seq":-5,"timestamp":1,"value":{"uid":"a"}}"#,
            "`seq`",
        ),
        (
            r#"{"type":1001,"seq":1,"timestamp":1,"value":[]}"#,
            "`value`",
        ),
        (
            r#"{"type":1004,"seq":1,"timestamp":1,"value":{"uid":"a","end_time":2,"video_url":"x"}}"#,
            "`value.start_time`",
        ),
        (
            r#"{"type":1004,"seq":1,"timestamp":1,"value":{"uid":"a","start_time":1,"end_time":2,"video_url":"x","file_size":-1}}"#,
            "`value.file_size`",
        ),
        (
            r#"{"type":1004,"seq":1,"timestamp":1,"value":{"uid":null,"start_time":1,"end_time":2,"video_url":"x"}}"#,
            "`value.uid`",
        ),
    ];
    for (data, field) in cases {
        let err = ReplayMessage::parse(data).unwrap_err();
        assert!(err.to_string().contains(field), "{data}: {err}");
    }
    assert_eq!(
        ReplayMessage::parse(r#"{"type":2000,"seq":1,"timestamp":1,"value":{}}"#).unwrap_err(),
        ProtocolError::UnknownType(2000)
    );
    assert_eq!(
        ReplayMessage::parse("[1]").unwrap_err(),
        ProtocolError::NotAnObject
    );
    assert!(matches!(
        ReplayMessage::parse("{").unwrap_err(),
        ProtocolError::NotJson(_)
    ));
}

#[test]
fn seq_is_drawn_in_the_reference_range() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10_000 {
        let s = Seq::random().get();
        assert!((Seq::MIN..=Seq::MAX).contains(&s), "{s}");
        seen.insert(s);
    }
    assert!(
        seen.len() > 9_900,
        "seqs should rarely collide: {}",
        seen.len()
    );
}

fn arb_text() -> impl Strategy<Value = String> {
    // Any Unicode, including quotes, backslashes and control characters.
    any::<String>()
}

fn arb_extra() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec(("x_[a-z]{1,6}", any::<i64>()), 0..3)
        .prop_map(|kv| kv.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
}

fn arb_user() -> impl Strategy<Value = UserValue> {
    (arb_text(), arb_extra()).prop_map(|(uid, extra)| UserValue { uid, extra })
}

fn arb_payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        arb_user().prop_map(Payload::ClassStart),
        arb_user().prop_map(Payload::ClassEnd),
        (any::<i64>(), arb_user())
            .prop_map(|(time_line, value)| Payload::Timeline { time_line, value }),
        (
            arb_text(),
            any::<i64>(),
            any::<i64>(),
            any::<i64>(),
            any::<u64>(),
            any::<i64>(),
            arb_text(),
            arb_text(),
            arb_extra()
        )
            .prop_map(
                |(
                    uid,
                    start_time,
                    end_time,
                    media_start_time,
                    file_size,
                    duration,
                    video_id,
                    video_url,
                    extra,
                )| {
                    Payload::Recording(RecordingValue {
                        uid,
                        start_time,
                        end_time,
                        media_start_time,
                        file_size,
                        duration,
                        video_id,
                        video_url,
                        extra,
                    })
                }
            ),
    ]
}

fn arb_message() -> impl Strategy<Value = ReplayMessage> {
    (any::<u64>(), any::<u64>(), arb_payload(), arb_extra()).prop_map(
        |(seq, timestamp, payload, extra)| ReplayMessage {
            seq: Seq::from_raw(seq),
            timestamp,
            payload,
            extra,
        },
    )
}

/// Rewrites every integer in `v` as a string or a float, as other servers do.
fn loosen(v: &Value, as_string: bool) -> Value {
    match v {
        Value::Number(n) => {
            if as_string {
                Value::String(n.to_string())
            } else if let Some(f) = n.as_f64().filter(|f| f.abs() < 9.0e15) {
                json!(f)
            } else {
                v.clone()
            }
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), loosen(x, as_string)))
                .collect(),
        ),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn write_then_read_is_identity(m in arb_message()) {
        let data = m.to_data();
        prop_assert!(!data.contains('\n'), "compact JSON");
        let back = ReplayMessage::parse(&data).unwrap();
        prop_assert_eq!(&back, &m);
        // And the text itself is reproduced byte for byte.
        prop_assert_eq!(back.to_data(), data);
    }

    #[test]
    fn loose_numbers_read_as_the_same_message(m in arb_message(), as_string in any::<bool>()) {
        // Unknown fields stay as written; only the protocol's own numbers are loosened.
        let mut v: Value = serde_json::from_str(&m.to_data()).unwrap();
        let obj = v.as_object_mut().unwrap();
        for k in ["type", "seq", "timestamp", "time_line"] {
            if let Some(x) = obj.get(k).cloned() {
                let loose = loosen(&x, as_string);
                obj.insert(k.into(), loose);
            }
        }
        if let Some(Value::Object(value)) = obj.get_mut("value") {
            for k in ["start_time", "end_time", "media_start_time", "file_size", "duration"] {
                if let Some(x) = value.get(k).cloned() {
                    value.insert(k.into(), loosen(&x, as_string));
                }
            }
        }
        let back = ReplayMessage::from_value(v);
        // Floats beyond 2^53 are refused rather than rounded; all else reads back exactly.
        match back {
            Ok(b) => prop_assert_eq!(b, m),
            Err(e) => prop_assert!(!as_string && e.to_string().contains("too large"), "{}", e),
        }
    }

    #[test]
    fn reader_never_panics_on_arbitrary_text(s in any::<String>()) {
        let _ = ReplayMessage::parse(&s);
    }

    #[test]
    fn reader_never_panics_on_arbitrary_json(v in arb_json()) {
        let _ = ReplayMessage::from_value(v.clone());
        // Also with a valid type, so the reader goes deeper.
        if let Value::Object(mut m) = v {
            m.insert("type".into(), json!(1004));
            let _ = ReplayMessage::from_value(Value::Object(m));
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("type"),
            Just("seq"),
            Just("1003"),
            Just("12.5"),
            Just("1e400")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("type".to_string()),
                        Just("seq".to_string()),
                        Just("timestamp".to_string()),
                        Just("time_line".to_string()),
                        Just("value".to_string()),
                        Just("uid".to_string()),
                        Just("start_time".to_string()),
                        Just("video_url".to_string()),
                        "[a-z_]{1,8}"
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Found by the `protocol_reader` fuzz target: an unknown field holding a 96-digit number
/// was read as one f64, written in its shortest form, and read back as a neighbouring f64,
/// so the message read back differed from the one written. Numbers now parse to the
/// nearest f64 (serde_json's `float_roundtrip`), and read → write → read is the identity.
#[test]
fn a_huge_number_in_an_unknown_field_reads_back_as_written() {
    let text = r#"{"type":1004,"seq":57418243,"timestamp":1795342799,"value":{"uid":"8001","start_time":1795339195,"end_time":1795342795,"media_start!time":2100,"file_sixe":104854444444444444444444444444444444444444444444444444444444444444444444444444444444444444444476,"duration":3600,"video_id":"9031868222957871381","video_url":"http:\/\/1253488539.vod2.myqcloud.example.invalid\/7f4c\/f0.mp4"}}"#;
    let msg = ReplayMessage::parse(text).unwrap();
    let data = msg.to_data();
    let again = ReplayMessage::parse(&data).unwrap();
    assert_eq!(again, msg, "read back differs\n{data}");
    assert_eq!(again.to_data(), data, "writing is stable");
}
