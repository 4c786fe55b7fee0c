//! The recording callback (docs/protocol.md section 4): parsing, verifying, classifying, the
//! file key, and the mapping to a class and user (`stream_param` with `groupid` and base64
//! `userid`, `<sdkappid>_<room>_<user>_main|aux`, legacy `<bizid>_<md5>`), against a
//! directory whose class and user ids contain `_` (the ambiguous cases), then the 1004.
//!
//! Properties beyond "does not panic":
//! - a callback re-signed with the key verifies at its own `t`, and fails with another key;
//! - parsing is a function of the JSON: reading the kept raw body again gives the same
//!   file key and the same mapping;
//! - a match names a known class and a non-empty uid (from `stream_param`, without control
//!   characters); a
//!   stream id match is really in the stream id, a legacy match really hashes to it;
//! - the 1004 made from it reads back as the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replaydesk::callback::{
    classify, expected_sign, file_key, legacy_hash, map_recording, missing_for_1004,
    recording_message, verify, ClassDirectory, ClassSnapshot, Mapping, MatchRule,
    RecordingCallback, Refusal,
};
use replaydesk::protocol::{ReplayMessage, Seq};
use replaydesk::secret::Secret;
use std::sync::OnceLock;

/// The stream id registered in [`directory`].
const REGISTERED: &str = "1400000001_room42_teacher_li_main";

/// The fixtures' class, plus classes whose ids make the `_` splits ambiguous, and one
/// registered stream id (the fixture's own, so that the rule that wins is exercised).
fn directory() -> &'static ClassSnapshot {
    static DIR: OnceLock<ClassSnapshot> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut dir = ClassSnapshot::new()
            .with_class("room42", "replay_room42", ["teacher_li", "student_wang"])
            .with_class("room", "replay_room", ["43_a_b", "x"])
            .with_class("room_43", "replay_room_43", ["a_b", "x"])
            .with_class("r", "g", ["1", "u_main"]);
        // One stream id an admin registered (issue 22): it maps before every other rule.
        dir.add_stream("r", REGISTERED, "u_main", 1);
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(cb) = RecordingCallback::parse(data) else {
        return;
    };
    let dir = directory();
    let _ = classify(&cb);
    let _ = missing_for_1004(&cb);
    let key = file_key(&cb);

    // Verification: whatever the body holds, signing its `t` makes it verify at `t`.
    let secret = Secret::new("replaydesk-fixture-callback-key");
    let _ = verify(&cb, &secret, 1_795_340_000, 60);
    let mut signed = cb.clone();
    signed.sign = expected_sign(&secret, &cb.t_text);
    assert_eq!(
        verify(&signed, &secret, cb.t, 0),
        Ok(()),
        "re-signed callback refused"
    );
    assert_eq!(
        verify(&signed, &Secret::new("another-key"), cb.t, 0),
        Err(Refusal::BadSign),
        "verified with the wrong key"
    );

    // Reading is a function of the JSON.
    let again = RecordingCallback::from_value(serde_json::Value::Object(cb.raw.clone()))
        .expect("the kept body reads again");
    assert_eq!(file_key(&again), key, "file key changed on re-reading");

    let mapping = map_recording(&cb, dir);
    assert_eq!(
        map_recording(&again, dir),
        mapping,
        "mapping changed on re-reading"
    );
    if let Mapping::Matched { class_id, uid, via } = mapping {
        assert!(
            dir.class_by_room(&class_id).is_some(),
            "matched unknown class {class_id:?}"
        );
        assert!(!uid.is_empty(), "matched an empty uid");
        let stream = cb.stream().unwrap_or_default();
        match via {
            MatchRule::RegisteredStream => assert_eq!(
                (stream, class_id.as_str(), uid.as_str()),
                (REGISTERED, "r", "u_main"),
                "only the registered stream maps by registration"
            ),
            // The rule promises usable text (the service checks every uid again anyway).
            MatchRule::StreamParam => {
                assert!(
                    !uid.chars().any(char::is_control),
                    "uid with control characters"
                )
            }
            MatchRule::StreamId => assert!(
                stream.contains(&format!("_{class_id}_{uid}_")),
                "stream id {stream:?} does not name {class_id}/{uid}"
            ),
            MatchRule::LegacyHash => {
                let hash = stream
                    .rsplit('_')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                assert!(
                    hash == legacy_hash(&class_id, &uid, "main")
                        || hash == legacy_hash(&class_id, &uid, "aux"),
                    "legacy match {class_id}/{uid} does not hash to {stream:?}"
                );
            }
        }
        let msg = recording_message(&cb, &uid, Seq::from_raw(12_345), 1_795_340_000);
        let data = msg.to_data();
        assert_eq!(
            ReplayMessage::parse(&data).as_ref(),
            Ok(&msg),
            "1004 does not read back"
        );
    }
});
