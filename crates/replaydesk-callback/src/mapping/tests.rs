//! The mapping rules against a small directory, and the decoders they rely on.

use super::stream_id::B64_STANDARD;
use super::*;
use base64::Engine;
use serde_json::json;

fn cb(stream_id: &str, stream_param: Option<&str>) -> RecordingCallback {
    let mut v = json!({"t": 1, "sign": "x", "event_type": 100, "stream_id": stream_id});
    if let Some(p) = stream_param {
        v["stream_param"] = p.into();
    }
    RecordingCallback::from_value(v).unwrap()
}

fn dir() -> ClassSnapshot {
    ClassSnapshot::new()
        .with_class("room42", "replay_room42", ["teacher_li", "student_wang"])
        .with_class("room_43", "replay_room_43", ["a_b", "teacher_zhao"])
        .with_class("room", "replay_room", ["43_a_b"])
}

fn matched(class_id: &str, uid: &str, via: MatchRule) -> Mapping {
    Mapping::Matched {
        class_id: class_id.into(),
        uid: uid.into(),
        via,
    }
}

/// One value decoded as `parse_query` decodes it (the inputs below hold no `&` or `=`).
fn form_decode(s: &str) -> String {
    parse_query(&format!("v={s}")).remove(0).1
}

#[test]
fn form_decoding() {
    assert_eq!(form_decode("dGVhY2hlcl9saQ%3D%3D"), "dGVhY2hlcl9saQ==");
    assert_eq!(form_decode("a+b%2Bc%zz%4"), "a b+c%zz%4");
    assert_eq!(form_decode("%E6%9D%8E"), "李");
    assert_eq!(form_decode("%ff"), "\u{fffd}");
    assert_eq!(
        parse_query("?a=1&&b&c=x=y"),
        [
            ("a".into(), "1".into()),
            ("b".into(), "".into()),
            ("c".into(), "x=y".into())
        ]
    );
}

#[test]
fn userid_decoding() {
    assert_eq!(
        decode_userid("dGVhY2hlcl9saQ==").as_deref(),
        Some("teacher_li")
    );
    assert_eq!(
        decode_userid("dGVhY2hlcl9saQ").as_deref(),
        Some("teacher_li")
    );
    // "李" is 5p2O in base64.
    assert_eq!(decode_userid("5p2O").as_deref(), Some("李"));
    // base64 of ">>>?" uses '+' and '/', and '+' may have been read as a space.
    let b = B64_STANDARD.encode(">>>?");
    assert!(b.contains('+') || b.contains('/'), "{b}");
    assert_eq!(decode_userid(&b.replace('+', " ")).as_deref(), Some(">>>?"));
    assert_eq!(decode_userid(""), None);
    assert_eq!(decode_userid("!!"), None);
    assert_eq!(decode_userid("AA=="), None, "a NUL byte is no user id");
}

#[test]
fn plain_userid_that_is_a_member_is_taken_as_is() {
    let d = dir();
    let m = map_recording(
        &cb("x", Some("groupid=replay_room42&userid=student_wang")),
        &d,
    );
    assert_eq!(m, matched("room42", "student_wang", MatchRule::StreamParam));
}

#[test]
fn stream_param_rule() {
    let d = dir();
    let m = map_recording(
        &cb(
            "whatever",
            Some("GroupId=replay_room42&userid=dGVhY2hlcl9saQ%3D%3D"),
        ),
        &d,
    );
    assert_eq!(m, matched("room42", "teacher_li", MatchRule::StreamParam));
    // A user not (yet) a member is still the stream_param's user.
    let m = map_recording(
        &cb("x", Some("groupid=replay_room42&userid=bmV3Y29tZXI=")),
        &d,
    );
    assert_eq!(m, matched("room42", "newcomer", MatchRule::StreamParam));
}

#[test]
fn stream_id_rule_with_underscores() {
    let d = dir();
    assert_eq!(
        map_recording(&cb("1400000001_room42_teacher_li_main", None), &d),
        matched("room42", "teacher_li", MatchRule::StreamId)
    );
    assert_eq!(
        map_recording(&cb("1400000001_room42_student_wang_aux", None), &d),
        matched("room42", "student_wang", MatchRule::StreamId)
    );
    // "room_43" + "a_b" or "room" + "43_a_b": both rooms exist and both users are
    // members, so it is ambiguous.
    let m = map_recording(&cb("1_room_43_a_b_main", None), &d);
    let Mapping::Unmatched { reason } = m else {
        panic!("{m:?}")
    };
    assert!(reason.contains("ambiguous"), "{reason}");
    // The groupid resolves it.
    assert_eq!(
        map_recording(
            &cb("1_room_43_a_b_main", Some("groupid=replay_room_43")),
            &d
        ),
        matched("room_43", "a_b", MatchRule::StreamId)
    );
    // Only one split names a member: it wins over the other split's non-member.
    assert_eq!(
        map_recording(&cb("1_room_43_teacher_zhao_main", None), &d),
        matched("room_43", "teacher_zhao", MatchRule::StreamId)
    );
    // One known room, user not a member yet: still matched.
    assert_eq!(
        map_recording(&cb("1_room42_newcomer_main", None), &d),
        matched("room42", "newcomer", MatchRule::StreamId)
    );
    // groupid names another class than the stream id: nothing.
    let m = map_recording(
        &cb("1_room42_teacher_li_main", Some("groupid=replay_room_43")),
        &d,
    );
    assert!(matches!(m, Mapping::Unmatched { .. }), "{m:?}");
    for s in [
        "room42_teacher_li_main",
        "x1_room42_teacher_li_main",
        "1_room42_main",
        "1__main",
    ] {
        assert!(
            matches!(map_recording(&cb(s, None), &d), Mapping::Unmatched { .. }),
            "{s}"
        );
    }
}

#[test]
fn legacy_rule() {
    let d = dir();
    let h = legacy_hash("room42", "student_wang", "main");
    assert_eq!(h, "73907c6a69e2e3368821714129e8c785");
    assert_eq!(
        map_recording(&cb(&format!("8899_{}", h.to_uppercase()), None), &d),
        matched("room42", "student_wang", MatchRule::LegacyHash)
    );
    let aux = legacy_hash("room_43", "teacher_zhao", "aux");
    assert_eq!(
        map_recording(&cb(&format!("8899_{aux}"), None), &d),
        matched("room_43", "teacher_zhao", MatchRule::LegacyHash)
    );
    // "room_43" + "a_b" and "room" + "43_a_b" hash the same text: ambiguous, unless
    // the groupid says which class.
    let both = format!("8899_{}", legacy_hash("room_43", "a_b", "aux"));
    let m = map_recording(&cb(&both, None), &d);
    let Mapping::Unmatched { reason } = m else {
        panic!("{m:?}")
    };
    assert!(reason.contains("several users"), "{reason}");
    assert_eq!(
        map_recording(&cb(&both, Some("groupid=replay_room")), &d),
        matched("room", "43_a_b", MatchRule::LegacyHash)
    );
    // Restricted to the groupid's class.
    let m = map_recording(
        &cb(&format!("8899_{h}"), Some("groupid=replay_room_43")),
        &d,
    );
    assert!(matches!(m, Mapping::Unmatched { .. }), "{m:?}");
    let m = map_recording(
        &cb(
            &format!("8899_{}", legacy_hash("room42", "ghost", "main")),
            None,
        ),
        &d,
    );
    let Mapping::Unmatched { reason } = m else {
        panic!("{m:?}")
    };
    assert!(reason.contains("3 candidate class"), "{reason}");
}

#[test]
fn unmatched_reasons_tell_what_was_tried() {
    let d = dir();
    let m = map_recording(&cb("live_stream", Some("groupid=nope&userid=eA==")), &d);
    let Mapping::Unmatched { reason } = m else {
        panic!("{m:?}")
    };
    assert!(reason.contains("\"nope\""), "{reason}");
    assert!(reason.contains("neither"), "{reason}");
    let no_stream = RecordingCallback::from_value(json!({"t": 1, "sign": "x"})).unwrap();
    let Mapping::Unmatched { reason } = map_recording(&no_stream, &d) else {
        panic!()
    };
    assert_eq!(reason, "no stream_param; no stream_id or channel_id");
}

#[test]
fn snapshot_replacing_a_class_moves_its_group() {
    let mut s = ClassSnapshot::new().with_class("c", "g1", ["u"]);
    s.add_class("c", "g2");
    assert_eq!(s.class_by_group("g1"), None);
    assert_eq!(s.class_by_group("g2").unwrap().class_id, "c");
    assert_eq!(s.members("c"), ["u"]);
    s.add_member("missing", "x");
    assert!(s.members("missing").is_empty());
}

/// Property tests of the stream-id forms (issue 22): whatever the room and user ids hold
/// (`_` included), `<sdkappid>_<room>_<user>_main|aux` maps to that class and user through
/// the class's `room_id` or its id, names its stream kind, and a registered stream id wins
/// over every inferred form.
mod stream_id_properties {
    use super::*;
    use proptest::prelude::*;

    fn ident() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9_]{0,10}[a-z0-9]"
    }

    proptest! {
        #[test]
        fn a_room_id_maps_its_stream_ids(
            appid in 1u64..=9_999_999_999,
            room in ident(),
            user in ident(),
            class in ident(),
            aux in any::<bool>(),
        ) {
            let suffix = if aux { "aux" } else { "main" };
            let stream = format!("{appid}_{room}_{user}_{suffix}");
            let mut dir = ClassSnapshot::new().with_class(&class, "g", [user.as_str()]);
            dir.set_room(&class, room.clone(), 1);
            let got = map_recording(&cb(&stream, None), &dir);
            prop_assert_eq!(got, matched(&class, &user, MatchRule::StreamId));
            prop_assert_eq!(stream_media(&stream), Some(suffix));
            prop_assert!(stream_room_and_user(&stream).contains(&(room.as_str(), user.as_str())));
            let keys = candidate_keys(&cb(&stream, None));
            prop_assert!(keys.rooms.contains(&room));
            prop_assert_eq!(keys.streams, vec![stream.clone()]);
        }

        #[test]
        fn without_a_room_id_the_class_id_is_the_room(
            room in ident(),
            user in ident(),
        ) {
            let stream = format!("1400000000_{room}_{user}_main");
            let dir = ClassSnapshot::new().with_class(&room, "g", [user.as_str()]);
            prop_assert_eq!(
                map_recording(&cb(&stream, None), &dir),
                matched(&room, &user, MatchRule::StreamId)
            );
        }

        // Registration takes printable ASCII without spaces (`validate::stream_id`), so
        // those are the ids to try: a blank one is no stream id at all.
        #[test]
        fn a_registered_stream_id_wins(
            stream in "[!-~]{1,40}",
            class in ident(),
            uid in ident(),
        ) {
            let mut dir = ClassSnapshot::new().with_class(&class, "g", ["someone"]);
            dir.add_stream(&class, stream.clone(), uid.clone(), 1);
            prop_assert_eq!(
                map_recording(&cb(&stream, None), &dir),
                matched(&class, &uid, MatchRule::RegisteredStream)
            );
        }

        #[test]
        fn other_forms_name_no_room_or_media(s in "[ -~]{0,40}") {
            let ok = s.ends_with("_main") || s.ends_with("_aux");
            if !ok {
                prop_assert_eq!(stream_media(&s), None);
                prop_assert!(stream_room_and_user(&s).is_empty());
            }
        }

        #[test]
        fn the_newest_class_of_a_room_is_the_one(a_at in 0i64..1000, b_at in 0i64..1000) {
            let mut dir = ClassSnapshot::new()
                .with_class("a", "ga", ["u"])
                .with_class("b", "gb", ["u"]);
            dir.set_room("a", "42", a_at);
            dir.set_room("b", "42", b_at);
            let newest = if (b_at, "b") > (a_at, "a") { "b" } else { "a" };
            prop_assert_eq!(dir.class_by_room("42").unwrap().class_id, newest);
        }
    }
}
