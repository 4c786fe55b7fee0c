//! The recording callback (docs/protocol.md section 4) on the fixtures in tests/fixtures:
//! parsing, sign and expiry, classification, mapping to class and user, the dedup key and
//! the 1004 message.

use proptest::prelude::*;
use replaydesk::callback::{
    classify, expected_sign, file_key, map_recording, recording_message, recording_value, verify,
    CallbackError, ClassSnapshot, Classification, Mapping, MatchRule, RecordingCallback, Refusal,
};
use replaydesk::protocol::{Payload, ReplayMessage, Seq};
use replaydesk::secret::Secret;
use serde_json::{json, Value};

const KEY: &str = "replaydesk-fixture-callback-key";
/// A "now" well after both fixtures' `t`.
const LATER: i64 = 1_795_400_000;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn mp4() -> Value {
    fixture("recording_callback_mp4.json")
}

fn legacy() -> Value {
    fixture("recording_callback_legacy.json")
}

fn parse(v: &Value) -> RecordingCallback {
    RecordingCallback::parse(v.to_string().as_bytes()).expect("parses")
}

fn key() -> Secret {
    Secret::new(KEY)
}

/// The body with a fresh `t` (kept in the same JSON form: number or string) and its sign.
fn resigned(mut v: Value, t: i64) -> Value {
    let t_text = t.to_string();
    v["t"] = if v["t"].is_string() {
        t_text.clone().into()
    } else {
        t.into()
    };
    v["sign"] = expected_sign(&key(), &t_text).into();
    v
}

fn room42(members: &[&str]) -> ClassSnapshot {
    ClassSnapshot::new()
        .with_class("room42", "replay_room42", members.iter().copied())
        .with_class("room43", "replay_room43", ["teacher_zhao"])
}

#[test]
fn both_fixtures_parse() {
    let cb = parse(&mp4());
    assert_eq!(cb.event_type, Some(100));
    assert_eq!(cb.appid, Some(1_259_990_001));
    assert_eq!(cb.stream(), Some("1400000001_room42_teacher_li_main"));
    assert_eq!(cb.t, 1_795_343_411);
    assert_eq!(cb.start_time, Some(1_795_339_195));
    assert_eq!(cb.end_time, Some(1_795_342_790));
    assert_eq!(cb.start_time_usec, Some(412_000));
    assert_eq!(cb.end_time_usec, Some(87_000));
    assert_eq!(cb.duration, Some(3595));
    assert_eq!(cb.file_size, Some(734_003_200));
    assert_eq!(cb.media_start_time, Some(1208));
    assert_eq!(cb.file_format.as_deref(), Some("mp4"));
    assert_eq!(cb.task_id.as_deref(), Some("1808412345"));
    assert_eq!(cb.video_id, None);
    assert_eq!(cb.raw.get("record_bps"), Some(&json!(0)));
    assert_eq!(Value::Object(cb.raw.clone()), mp4());

    let cb = parse(&legacy());
    assert_eq!(cb.t, 1_795_343_999);
    assert_eq!(cb.t_text, "1795343999");
    assert_eq!(
        cb.video_id.as_deref(),
        Some("200025724_ac92b781a22c4a3e937c9e61c2624af7")
    );
    assert_eq!(cb.file_format.as_deref(), Some("hls"));
    assert_eq!(cb.media_start_time, Some(2931));
    assert_eq!(
        cb.stream_param.as_deref(),
        Some("bizid=8899&record=hls&record_interval=5400")
    );
}

#[test]
fn fixtures_verify_only_before_their_t() {
    for v in [mp4(), legacy()] {
        let cb = parse(&v);
        // The fixture's own sign is right: accepted when "now" is injected before `t`.
        assert_eq!(verify(&cb, &key(), cb.t - 60, 0), Ok(()));
        assert_eq!(verify(&cb, &key(), cb.t, 0), Ok(()));
        let r = verify(&cb, &key(), LATER, 30).unwrap_err();
        assert_eq!(r.reason(), "expired", "{r}");
        assert!(matches!(r, Refusal::Expired { t, .. } if t == cb.t));
    }
}

#[test]
fn resigned_with_a_fresh_t_they_verify() {
    for v in [mp4(), legacy()] {
        let was_string = v["t"].is_string();
        let v = resigned(v, LATER + 600);
        assert_eq!(v["t"].is_string(), was_string);
        let cb = parse(&v);
        assert_eq!(verify(&cb, &key(), LATER, 0), Ok(()));
        // Uppercase hex of the right sign is accepted.
        let mut upper = v.clone();
        upper["sign"] = v["sign"].as_str().unwrap().to_uppercase().into();
        assert_eq!(verify(&parse(&upper), &key(), LATER, 0), Ok(()));
        // The wrong key, or a sign for another t, is a bad sign.
        assert_eq!(
            verify(&cb, &Secret::new("another-key"), LATER, 0),
            Err(Refusal::BadSign)
        );
        let mut other_t = v.clone();
        other_t["sign"] = expected_sign(&key(), &(LATER + 601).to_string()).into();
        let r = verify(&parse(&other_t), &key(), LATER, 0).unwrap_err();
        assert_eq!(r.reason(), "bad_sign");
    }
}

#[test]
fn t_as_number_or_string() {
    let t = LATER + 600;
    let sign = expected_sign(&key(), &t.to_string());
    for t_json in [json!(t), json!(t.to_string()), json!(t as f64)] {
        let mut v = mp4();
        v["t"] = t_json.clone();
        v["sign"] = sign.clone().into();
        let cb = parse(&v);
        assert_eq!(cb.t, t);
        assert_eq!(verify(&cb, &key(), LATER, 0), Ok(()), "t = {t_json}");
    }
}

#[test]
fn missing_or_wrong_sign_is_refused() {
    let mut v = resigned(mp4(), LATER + 600);
    v.as_object_mut().unwrap().remove("sign");
    let e = RecordingCallback::parse(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(e, CallbackError::MissingField { field: "sign" });
    let r = Refusal::from(e);
    assert_eq!(r.reason(), "missing_field");
    assert!(r.message().contains("`sign`"), "{r}");

    let mut v = resigned(mp4(), LATER + 600);
    v["sign"] = "".into();
    assert_eq!(
        verify(&parse(&v), &key(), LATER, 0).unwrap_err().reason(),
        "missing_field"
    );
    v["sign"] = "0123456789abcdef0123456789abcdef".into();
    assert_eq!(verify(&parse(&v), &key(), LATER, 0), Err(Refusal::BadSign));

    let mut v = mp4();
    v.as_object_mut().unwrap().remove("t");
    let e = RecordingCallback::parse(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.field(), Some("t"));
    v["t"] = "tomorrow".into();
    let e = RecordingCallback::parse(v.to_string().as_bytes()).unwrap_err();
    assert_eq!((e.field(), e.reason()), (Some("t"), "invalid_field"));
}

#[test]
fn a_tampered_body_still_verifies_because_the_sign_covers_only_key_and_t() {
    let mut v = resigned(mp4(), LATER + 600);
    v["video_url"] = "https://evil.invalid/x.mp4".into();
    assert_eq!(verify(&parse(&v), &key(), LATER, 0), Ok(()));
}

#[test]
fn other_events_are_ignored() {
    let mut v = mp4();
    v["event_type"] = 200.into();
    assert_eq!(
        classify(&parse(&v)),
        Classification::Ignored {
            event_type: Some(200)
        }
    );
    v["event_type"] = "100".into();
    assert_eq!(classify(&parse(&v)), Classification::Recording);
    assert_eq!(classify(&parse(&legacy())), Classification::Recording);
}

#[test]
fn mp4_maps_via_stream_param() {
    let m = map_recording(&parse(&mp4()), &room42(&["teacher_li"]));
    assert_eq!(
        m,
        Mapping::Matched {
            class_id: "room42".into(),
            uid: "teacher_li".into(),
            via: MatchRule::StreamParam
        }
    );
}

#[test]
fn mp4_without_groupid_maps_via_the_stream_id() {
    let mut v = mp4();
    v["stream_param"] = "txSecret=0f3e1d&txTime=6A9C1B7F&userid=dGVhY2hlcl9saQ%3D%3D".into();
    let m = map_recording(&parse(&v), &room42(&["teacher_li"]));
    assert_eq!(
        m,
        Mapping::Matched {
            class_id: "room42".into(),
            uid: "teacher_li".into(),
            via: MatchRule::StreamId
        }
    );
    // With no stream_param at all, and stream_id gone too: the channel id serves.
    let o = v.as_object_mut().unwrap();
    o.remove("stream_param");
    o.remove("stream_id");
    let m = map_recording(&parse(&v), &room42(&["teacher_li"]));
    assert!(
        matches!(&m, Mapping::Matched { uid, via: MatchRule::StreamId, .. } if uid == "teacher_li"),
        "{m:?}"
    );
    // No such room: unmatched, with the reason.
    let m = map_recording(&parse(&v), &ClassSnapshot::new());
    let Mapping::Unmatched { reason } = m else {
        panic!("{m:?}")
    };
    assert!(
        reason.contains("1400000001_room42_teacher_li_main"),
        "{reason}"
    );
}

#[test]
fn legacy_maps_only_when_student_wang_is_a_member() {
    let cb = parse(&legacy());
    assert_eq!(
        map_recording(&cb, &room42(&["teacher_li", "student_wang"])),
        Mapping::Matched {
            class_id: "room42".into(),
            uid: "student_wang".into(),
            via: MatchRule::LegacyHash
        }
    );
    let m = map_recording(&cb, &room42(&["teacher_li"]));
    let Mapping::Unmatched { reason } = &m else {
        panic!("{m:?}")
    };
    assert!(reason.contains("stream_param has no groupid"), "{reason}");
    assert!(reason.contains("legacy stream id"), "{reason}");
    // student_wang in another class does not put this recording there.
    let other = ClassSnapshot::new()
        .with_class("room42", "replay_room42", ["teacher_li"])
        .with_class("room43", "replay_room43", ["student_wang"]);
    assert!(matches!(
        map_recording(&cb, &other),
        Mapping::Unmatched { .. }
    ));
}

#[test]
fn file_keys_of_the_fixtures() {
    assert_eq!(file_key(&parse(&mp4())), "file_id:5285890801234567890");
    assert_eq!(file_key(&parse(&legacy())), "file_id:9031868223267109922");
    // Retries of the same file (another t and sign) have the same key.
    assert_eq!(
        file_key(&parse(&resigned(mp4(), LATER + 60))),
        "file_id:5285890801234567890"
    );
    let mut v = legacy();
    let o = v.as_object_mut().unwrap();
    o.remove("file_id");
    assert_eq!(file_key(&parse(&v)), "record_file_id:9031868223267109922");
    v.as_object_mut().unwrap().remove("record_file_id");
    assert_eq!(
        file_key(&parse(&v)),
        "video_id:200025724_ac92b781a22c4a3e937c9e61c2624af7"
    );
    v.as_object_mut().unwrap().remove("video_id");
    assert_eq!(
        file_key(&parse(&v)),
        "stream:8899_73907c6a69e2e3368821714129e8c785@1795339201"
    );
    let mut v = mp4();
    for k in ["file_id", "record_file_id"] {
        v.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(
        file_key(&parse(&v)),
        "stream:1400000001_room42_teacher_li_main@1795339195.412000"
    );
}

#[test]
fn recording_values_of_the_fixtures() {
    let r = recording_value(&parse(&mp4()), "teacher_li");
    assert_eq!(r.uid, "teacher_li");
    assert_eq!(r.start_time, 1_795_339_195);
    assert_eq!(r.end_time, 1_795_342_790);
    assert_eq!(r.media_start_time, 1208);
    assert_eq!(r.file_size, 734_003_200);
    assert_eq!(r.duration, 3595);
    // No video_id in a current callback: its file_id.
    assert_eq!(r.video_id, "5285890801234567890");
    assert_eq!(
        r.video_url,
        "https://1259990001.vod.example.invalid/a1b2c3/f0.mp4"
    );

    let r = recording_value(&parse(&legacy()), "student_wang");
    assert_eq!(r.video_id, "200025724_ac92b781a22c4a3e937c9e61c2624af7");
    assert_eq!(
        (
            r.start_time,
            r.end_time,
            r.duration,
            r.file_size,
            r.media_start_time
        ),
        (1_795_339_201, 1_795_339_264, 63, 1349, 2931)
    );
    assert_eq!(
        r.video_url,
        "http://1259990001.vod2.example.invalid/x/y/playlist.m3u8"
    );
}

#[test]
fn the_1004_is_exact_and_round_trips() {
    let msg = recording_message(
        &parse(&mp4()),
        "teacher_li",
        Seq::from_raw(20_417_765),
        1_795_342_811,
    );
    let data = msg.to_data();
    assert_eq!(
        data,
        r#"{"type":1004,"seq":20417765,"timestamp":1795342811,"value":{"uid":"teacher_li","start_time":1795339195,"end_time":1795342790,"media_start_time":1208,"file_size":734003200,"duration":3595,"video_id":"5285890801234567890","video_url":"https://1259990001.vod.example.invalid/a1b2c3/f0.mp4","type":"main"}}"#,
        "the known fields in order, then type (the stream id ends _main: the camera)"
    );
    assert_eq!(ReplayMessage::parse(&data).unwrap(), msg);
}

// ---- properties ----

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "[0-9]{1,20}".prop_map(Value::from),
        "-?[0-9]{1,5}\\.[0-9]{1,3}(e[0-9]{1,3})?".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "event_type",
    "appid",
    "stream_id",
    "channel_id",
    "stream_param",
    "file_id",
    "record_file_id",
    "task_id",
    "video_id",
    "file_format",
    "start_time",
    "end_time",
    "start_time_usec",
    "end_time_usec",
    "duration",
    "file_size",
    "video_url",
    "media_start_time",
    "t",
    "sign",
];

/// Objects whose keys are mostly the callback's own, with values of any type.
fn arb_callback_object() -> impl Strategy<Value = Value> {
    proptest::collection::vec(
        (
            prop_oneof![
                proptest::sample::select(FIELDS).prop_map(str::to_owned),
                ".{0,8}"
            ],
            arb_json(),
        ),
        0..14,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// Objects that carry a usable `t` and `sign`, so parsing goes on to the other fields.
fn arb_signed_object() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<i64>().prop_map(|t| Value::from(t.to_string()))
        ],
        "[0-9a-fA-F]{0,32}",
        arb_callback_object(),
    )
        .prop_map(|(t, sign, rest)| {
            let mut o = serde_json::Map::new();
            o.insert("t".into(), t);
            o.insert("sign".into(), sign.into());
            if let Value::Object(rest) = rest {
                for (k, v) in rest {
                    if k != "t" && k != "sign" {
                        o.insert(k, v);
                    }
                }
            }
            Value::Object(o)
        })
}

fn arb_stream_id() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[0-9]{1,4}_(room|room42|r_1|_)?_?[a-z_]{0,12}_(main|aux)",
        "[0-9]{1,4}_[0-9a-fA-F]{32}",
        "[0-9_]{0,6}(_main|_aux)?",
    ]
}

fn arb_stream_param() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        "(groupid=(replay_room42|replay_r_1|x|%[0-9A-Fa-f]{0,2}|)&?)?(userid=[A-Za-z0-9+/= %]{0,16})?(&[a-z]{1,4}=[^&]{0,6})*",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = RecordingCallback::parse(&body);
    }

    #[test]
    fn parse_never_panics_on_json(v in prop_oneof![arb_json(), arb_callback_object(), arb_signed_object()]) {
        if let Ok(cb) = RecordingCallback::parse(v.to_string().as_bytes()) {
            // Whatever parses can be verified, classified, keyed and turned into a 1004.
            let _ = verify(&cb, &key(), LATER, 60);
            let _ = classify(&cb);
            prop_assert!(!file_key(&cb).is_empty());
            let _ = recording_value(&cb, "u");
            let _ = map_recording(&cb, &room42(&["teacher_li", "student_wang"]));
        }
    }

    #[test]
    fn mapping_never_panics(stream in arb_stream_id(), param in arb_stream_param(),
                            use_param in any::<bool>(),
                            members in proptest::collection::vec("[a-z_]{0,8}", 0..4)) {
        let mut v = json!({"t": 1, "sign": "x", "event_type": 100, "stream_id": stream});
        if use_param {
            v["stream_param"] = param.into();
        }
        let cb = RecordingCallback::parse(v.to_string().as_bytes()).unwrap();
        let dir = ClassSnapshot::new()
            .with_class("room42", "replay_room42", members.iter().cloned())
            .with_class("r_1", "replay_r_1", members)
            .with_class("room", "x", ["42_teacher_li"]);
        match map_recording(&cb, &dir) {
            Mapping::Matched { class_id, uid, .. } => {
                prop_assert!(["room42", "r_1", "room"].contains(&class_id.as_str()));
                prop_assert!(!uid.is_empty());
            }
            Mapping::Unmatched { reason } => prop_assert!(!reason.is_empty()),
        }
    }

    #[test]
    fn the_1004_from_recording_value_round_trips(
        start in 0..=(1_i64 << 53), end in 0..=(1_i64 << 53), media in 0..=(1_i64 << 53),
        size in 0..=(1_u64 << 53), duration in proptest::option::of(0..=(1_i64 << 53)),
        video_id in proptest::option::of(".{0,10}"), file_id in proptest::option::of("[0-9]{1,19}"),
        url in "(https?://.{0,30})?", uid in ".{1,12}", seq in any::<u64>(), now in any::<u64>(),
        as_strings in any::<bool>(),
    ) {
        let num = |n: Value| if as_strings { Value::from(n.to_string()) } else { n };
        let mut v = json!({"t": 1, "sign": "x", "event_type": 100,
            "start_time": num(start.into()), "end_time": num(end.into()),
            "media_start_time": num(media.into()), "file_size": num(size.into()),
            "video_url": url});
        if let Some(d) = duration { v["duration"] = num(d.into()); }
        if let Some(id) = video_id { v["video_id"] = id.into(); }
        if let Some(id) = file_id { v["file_id"] = id.into(); }
        let cb = RecordingCallback::parse(v.to_string().as_bytes()).unwrap();
        let value = recording_value(&cb, &uid);
        prop_assert_eq!(value.start_time, start);
        prop_assert_eq!(value.file_size, size);
        let msg = ReplayMessage::new(Seq::from_raw(seq), now, Payload::Recording(value));
        let back = ReplayMessage::parse(&msg.to_data()).unwrap();
        prop_assert_eq!(back, msg);
    }
}
