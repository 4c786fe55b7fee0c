//! TRTC callbacks read and verified as Tencent sends them. Bodies "shaped as the
//! documentation shows" are copied from the pages cited on each test (values kept, only the
//! masked task id of the 305 example filled in where the page elides it with `***`).

use super::*;
use replaydesk_protocol::secret::Secret;

/// `tests/fixtures/trtc_311_vod_commit.json`: a 311 shaped as Tencent documents it
/// (trtc.io/document/54914; cloud.tencent.com/document/product/647/81113), signed with
/// `fixtureTrtcKey2026` (its `Sign` is `trtc_311_vod_commit.sign`).
const FIXTURE_311: &[u8] = include_bytes!("../../../../tests/fixtures/trtc_311_vod_commit.json");
const FIXTURE_311_SIGN: &str = include_str!("../../../../tests/fixtures/trtc_311_vod_commit.sign");
const FIXTURE_KEY: &str = "fixtureTrtcKey2026";

fn key() -> Secret {
    Secret::new(FIXTURE_KEY)
}

#[test]
fn the_fixture_verifies_on_its_exact_bytes_and_reads_as_a_vod_file() {
    verify_sign(FIXTURE_311, Some(FIXTURE_311_SIGN.trim()), &key()).unwrap();
    assert_eq!(sign_body(&key(), FIXTURE_311), FIXTURE_311_SIGN.trim());
    let cb = TrtcCallback::parse(FIXTURE_311).unwrap();
    assert_eq!(
        (cb.event_group_id, cb.event_type, cb.callback_ts),
        (Some(3), 311, 1_795_339_300_123)
    );
    assert_eq!(cb.room_id.as_deref(), Some("42"));
    assert_eq!(cb.task(), "fixture-task-0001");
    assert_eq!(describe(&cb), ("vod_commit", LifeStage::Ready));
    let f = files(&cb).unwrap();
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.storage, FileStorage::Vod);
    assert_eq!(f.media.as_deref(), Some("main"));
    assert_eq!(
        file_key(&cb, f),
        "trtc:fixture-task-0001/teacher_li_main.mp4"
    );
    let v = trtc_recording_value(f, "teacher_li", f.video_url.as_deref().unwrap(), f.start_ms);
    assert_eq!(
        (v.start_time, v.end_time, v.duration),
        (1_795_339_200, 1_795_339_290, 90)
    );
    assert_eq!((v.media_start_time, v.file_size), (0, 0));
    assert_eq!(v.video_id, "3270835009000012345");
    assert_eq!(
        v.video_url,
        "https://1500000000.vod2.myqcloud.com/fixture/teacher_li_main.mp4"
    );
    assert_eq!(v.extra.get("type").and_then(|t| t.as_str()), Some("main"));
}

#[test]
fn one_byte_changed_after_signing_is_a_bad_sign() {
    let mut body = FIXTURE_311.to_vec();
    let at = body.iter().position(|b| *b == b'9').unwrap();
    body[at] = b'8';
    let err = verify_sign(&body, Some(FIXTURE_311_SIGN.trim()), &key()).unwrap_err();
    assert_eq!(err.reason(), "bad_sign");
    assert_eq!(err.http_status(), 401);
    // Re-serialised (same JSON, other bytes): also refused, the sign is over the bytes.
    let v: serde_json::Value = serde_json::from_slice(FIXTURE_311).unwrap();
    let compact = serde_json::to_vec(&v).unwrap();
    assert!(verify_sign(&compact, Some(FIXTURE_311_SIGN.trim()), &key()).is_err());
}

#[test]
fn a_missing_or_garbled_sign_and_a_missing_key_are_refused() {
    assert_eq!(
        verify_sign(FIXTURE_311, None, &key()).unwrap_err(),
        TrtcRefusal::BadSign { missing: true }
    );
    assert_eq!(
        verify_sign(FIXTURE_311, Some("not base64!"), &key()).unwrap_err(),
        TrtcRefusal::BadSign { missing: false }
    );
    assert_eq!(
        verify_sign(FIXTURE_311, Some(FIXTURE_311_SIGN.trim()), &Secret::new("")).unwrap_err(),
        TrtcRefusal::NoCallbackKey
    );
    assert_eq!(
        verify_sign(
            FIXTURE_311,
            Some(FIXTURE_311_SIGN.trim()),
            &Secret::new("otherKey")
        )
        .unwrap_err()
        .reason(),
        "bad_sign"
    );
}

#[test]
fn the_sdkappid_header_must_be_this_app() {
    check_app(Some("1400000000"), 1_400_000_000).unwrap();
    check_app(Some(" 1400000000 "), 1_400_000_000).unwrap();
    for bad in [None, Some(""), Some("1400000001"), Some("abc")] {
        assert_eq!(
            check_app(bad, 1_400_000_000).unwrap_err().reason(),
            "wrong_app"
        );
    }
}

#[test]
fn callback_ts_must_be_recent() {
    let now = 1_795_339_300_123;
    check_fresh(now, now).unwrap();
    check_fresh(now - MAX_AGE_MS, now).unwrap();
    check_fresh(now + MAX_AHEAD_MS, now).unwrap();
    assert_eq!(
        check_fresh(now - MAX_AGE_MS - 1, now).unwrap_err().reason(),
        "stale"
    );
    assert_eq!(
        check_fresh(now + MAX_AHEAD_MS + 1, now)
            .unwrap_err()
            .reason(),
        "stale"
    );
    assert_eq!(check_fresh(0, now).unwrap_err().reason(), "stale");
}

/// The 305 example of cloud.tencent.com/document/product/647/81113 ("包体示例"), tabs and
/// all; its task id is masked on the page (`***`) and kept so.
#[test]
fn the_documented_305_example_reads_as_an_upload_event_without_files() {
    let body = b"{\n\t\"EventGroupId\": 3,\n\t\"EventType\": 305,\n\t\"CallbackTs\": 1752580150082,\n\t\"EventInfo\": {\n\t\t\"RoomId\": \"635055\",\n\t\t\"EventTs\": 1752580150,\n\t\t\"EventMsTs\": 1752580150081,\n\t\t\"UserId\": \"user1\",\n\t\t\"TaskId\": \"-m9-bVVU7id***K-m928oZWQndiborbEWH3zY-lIXlprc-gQvQE\",\n\t\t\"Payload\": {\n\t\t\t\"Status\": 0\n\t\t}\n\t}\n}";
    let sign = sign_body(&key(), body);
    verify_sign(body, Some(&sign), &key()).unwrap();
    let cb = TrtcCallback::parse(body).unwrap();
    assert_eq!(cb.room_id.as_deref(), Some("635055"));
    assert_eq!(cb.event_at_ms(), Some(1_752_580_150_081));
    assert_eq!(describe(&cb), ("upload_finished", LifeStage::Uploading));
    assert!(files(&cb).unwrap().is_empty());
}

/// The 301 inside the "Callback" object of trtc.io/document/80345 (a recorder started; no
/// file, the recording task's own user id, `RoomId` as a string).
#[test]
fn the_documented_301_example_is_a_started_recorder_without_a_file() {
    let body = br#"{"EventGroupId": 3,"EventType": 301,"CallbackTs": 1774425607091,"EventInfo": {"RoomId": "1280586498","EventTs": 1774425607,"UserId": "callkit_1500099430_record_1280586498","TaskId": "-nHuqHlU7islZCDCjMne7HY2TJoU1NbbDkHjVoK-yqHu8ZWQndibQJtEhvB6ShqolkmNmnxz7AE.","Payload": {"Status": 0},"EventMsTs": 1774425607077}}"#;
    let cb = TrtcCallback::parse(body).unwrap();
    assert_eq!(describe(&cb), ("recorder_started", LifeStage::Started));
    assert!(files(&cb).unwrap().is_empty());
    assert_eq!(
        cb.user_id.as_deref(),
        Some("callkit_1500099430_record_1280586498")
    );
}

#[test]
fn room_id_as_a_number_and_as_a_string_is_one_room() {
    let with = |room: &str| {
        TrtcCallback::parse(
            format!(
                r#"{{"EventType":301,"CallbackTs":1,"EventInfo":{{"RoomId":{room},"TaskId":"t"}}}}"#
            )
            .as_bytes(),
        )
    };
    assert_eq!(with("42").unwrap().room_id, with("\"42\"").unwrap().room_id);
    assert_eq!(with("42").unwrap().room_id.as_deref(), Some("42"));
    assert_eq!(with("4.5").unwrap_err().reason(), "invalid_field");
    assert_eq!(with("-1").unwrap_err().reason(), "invalid_field");
    assert_eq!(with("null").unwrap().room_id, None);
}

#[test]
fn numbers_as_strings_are_read_and_bodies_that_do_not_read_are_malformed() {
    let cb = TrtcCallback::parse(
        br#"{"EventType":"302","CallbackTs":"1622186275913","EventInfo":{"RoomId":"1","EventTs":"1622186275","TaskId":"t","Payload":{"LeaveCode":0}}}"#,
    )
    .unwrap();
    assert_eq!((cb.event_type, cb.event_ts), (302, Some(1_622_186_275)));
    assert_eq!(cb.event_at_ms(), Some(1_622_186_275_000));
    for (body, reason) in [
        (&b"not json"[..], "not_json"),
        (b"[]", "not_an_object"),
        (br#"{"CallbackTs":1,"EventInfo":{}}"#, "missing_field"),
        (br#"{"EventType":301,"EventInfo":{}}"#, "missing_field"),
        (br#"{"EventType":301,"CallbackTs":1}"#, "missing_field"),
        (br#"{"EventType":301,"CallbackTs":1,"EventInfo":[]}"#, "invalid_field"),
        (br#"{"EventType":301,"EventType":302,"CallbackTs":1,"EventInfo":{}}"#, "invalid_field"),
        (
            br#"{"EventType":311,"CallbackTs":1,"EventInfo":{"Payload":{"TencentVod":{"VideoUrl":"javascript:alert(1)"}}}}"#,
            "invalid_field",
        ),
    ] {
        let err = TrtcCallback::parse(body)
            .and_then(|cb| files(&cb).map(|_| ()))
            .unwrap_err();
        assert_eq!(err.reason(), reason, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn an_unknown_event_type_and_page_recording_are_other_and_a_failed_commit_an_error() {
    let cb = |group: i64, ty: i64, status: i64| {
        TrtcCallback::parse(
            format!(r#"{{"EventGroupId":{group},"EventType":{ty},"CallbackTs":1,"EventInfo":{{"TaskId":"t","Payload":{{"Status":{status},"TencentVod":{{"UserId":"u","FileId":"f","VideoUrl":"https://x.invalid/f.mp4"}}}}}}}}"#)
                .as_bytes(),
        )
        .unwrap()
    };
    assert_eq!(describe(&cb(3, 399, 0)).1, LifeStage::Other);
    assert_eq!(
        describe(&cb(8, 301, 0)),
        ("page_recording", LifeStage::Other)
    );
    assert!(files(&cb(8, 311, 0)).unwrap().is_empty());
    assert_eq!(describe(&cb(3, 311, 1)), ("vod_commit", LifeStage::Error));
    assert!(
        files(&cb(3, 311, 1)).unwrap().is_empty(),
        "a failed commit names no file"
    );
    assert_eq!(files(&cb(3, 311, 0)).unwrap().len(), 1);
}

#[test]
fn cos_events_name_their_files_and_events_have_keys_of_their_own() {
    let slice = TrtcCallback::parse(br#"{"EventGroupId":3,"EventType":307,"CallbackTs":1,"EventInfo":{"RoomId":"42","UserId":"rec","TaskId":"t1","Payload":{"FileName":"t1_teacher_li_main.m3u8","UserId":"teacher_li","TrackType":"audio_video","BeginTimeStamp":1795339200400}}}"#).unwrap();
    let f = files(&slice).unwrap();
    assert_eq!(f.len(), 1);
    assert!(!f[0].complete);
    assert_eq!(f[0].start_ms, Some(1_795_339_200_400));
    let mp4 = TrtcCallback::parse(br#"{"EventGroupId":3,"EventType":310,"CallbackTs":1,"EventInfo":{"RoomId":"42","UserId":"rec","TaskId":"t1","Payload":{"Status":0,"FileList":[{"FileName":"a.mp4","UserId":"teacher_li","MediaId":"main","StartTimeStamp":1,"EndTimeStamp":2000},"b.mp4"]}}}"#).unwrap();
    let f = files(&mp4).unwrap();
    assert_eq!(f.len(), 2);
    assert!(f
        .iter()
        .all(|f| f.complete && f.storage == FileStorage::Cos));
    assert_eq!(f[1].file_name.as_deref(), Some("b.mp4"));
    // Event keys: per task, type, user and file; not per delivery.
    assert_ne!(event_key(&mp4, Some(&f[0])), event_key(&mp4, Some(&f[1])));
    assert_eq!(
        event_key(&mp4, Some(&f[0])),
        event_key(&mp4.clone(), Some(&f[0].clone()))
    );
    assert_ne!(event_key(&slice, None), event_key(&mp4, None));
}
