//! CSS recordings without `stream_param` (issue 22, item 2) over real HTTP: a stream id
//! `<sdkappid>_<roomid>_<userid>_main` mapped through the class's `room_id`, a stream id
//! an admin registered for a uid, the streams and room routes, and the status events
//! (`event_type` 332) verified, kept as the recording's life and never sent.

use crate::util::server::*;
use replaydesk::callback::expected_sign;
use replaydesk::protocol::{Payload, RecordingValue, ReplayMessage};
use replaydesk::secret::Secret;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const KEY: &str = "replaydesk-fixture-callback-key";
const CALLBACK: &str = "/v1/callbacks/recording";

fn signed(mut v: Value) -> Value {
    let t = now_ms() / 1000 + 600;
    v["t"] = t.into();
    v["sign"] = expected_sign(&Secret::new(KEY), &t.to_string()).into();
    v
}

/// The mp4 fixture as a CSS recording started by API: no `stream_param`, the stream id
/// given.
fn by_api(stream: &str, file_id: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/recording_callback_mp4.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("stream_param");
    o.insert("stream_id".into(), stream.into());
    o.insert("channel_id".into(), stream.into());
    o.insert("file_id".into(), file_id.into());
    o.insert("record_file_id".into(), file_id.into());
    signed(v)
}

/// A 332 status event, shaped as tencentcloud.com/document/product/267/58590 shows it.
fn status_event(stream: &str, event: &str, seq: &str) -> Value {
    signed(json!({
        "appid": 1259990001, "appname": "live", "domain": "push.example.invalid",
        "event_time": now_ms() / 1000, "event_type": 332,
        "record_detail": "file_format:3,record_bps:0,start_model:5,record_content:1,source_type:1",
        "record_event": event, "seq": seq, "session_id": "css-session-1", "stream_id": stream,
    }))
}

async fn server() -> TestServer {
    TestServer::start(|c| c.callback_key = Some(Secret::new(KEY))).await
}

async fn acknowledged(t: &TestServer, body: &Value) {
    let (s, v) = t.post(CALLBACK, None, body).await;
    assert_eq!((s, &v), (200, &json!({"code": 0})), "{body}");
}

async fn recordings(t: &TestServer, group: &str, n: usize) -> Vec<RecordingValue> {
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    let read = |emu: &replaydesk::emulator::Emulator| -> Vec<RecordingValue> {
        history_data(&emu.history(group))
            .iter()
            .filter_map(|d| ReplayMessage::parse(d).ok())
            .filter_map(|m| match m.payload {
                Payload::Recording(r) => Some(r),
                _ => None,
            })
            .collect()
    };
    wait_until(
        Duration::from_secs(10),
        &format!("{n} 1004 in {group}"),
        || {
            let got = read(&emu).len();
            async move { got >= n }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    read(&emu)
}

/// Acceptance: a CSS recording without `stream_param`, named
/// `<sdkappid>_<roomid>_<userid>_main`, of a class whose `room_id` differs from its id,
/// lands as the right user's 1004; so does a registered stream id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_started_by_api_find_their_class_by_room_and_registered_stream() {
    let t = server().await;
    t.create_default_class("physics-9a", "teacher_li").await;
    // The room set later, as a number: compared as text.
    let (s, v) = t
        .call(
            Method::PATCH,
            "/v1/admin/classes/physics-9a",
            Some(ADMIN),
            Some(&json!({"room_id": 8123})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["room_id"], "8123", "{v}");

    acknowledged(
        &t,
        &by_api("1400000000_8123_student_wang_main", "css-file-1"),
    )
    .await;
    let got = recordings(&t, "g_physics-9a", 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].uid, "student_wang");
    assert_eq!(got[0].video_id, "css-file-1");
    assert_eq!(
        got[0].extra.get("type"),
        Some(&json!("main")),
        "CSS _main/_aux get value.type"
    );
    let newest = &t.admin_get("/v1/admin/callbacks?limit=1").await["items"][0];
    assert_eq!(
        (newest["status"].as_str(), newest["reason"].as_str()),
        (Some("accepted"), Some("matched by stream_id"))
    );

    // A stream id of no known form, registered for a uid.
    let (s, v) = t
        .post(
            "/v1/admin/classes/physics-9a/streams",
            Some(ADMIN),
            &json!({"stream_id": "school_cam_7", "uid": "teacher_li"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = t
        .post(
            "/v1/admin/classes/physics-9a/streams",
            Some(ADMIN),
            &json!({"stream_id": "school_cam_7", "uid": "someone"}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    acknowledged(&t, &by_api("school_cam_7", "css-file-2")).await;
    let got = recordings(&t, "g_physics-9a", 2).await;
    let teacher = got
        .iter()
        .find(|r| r.video_id == "css-file-2")
        .expect("the registered stream's 1004");
    assert_eq!(teacher.uid, "teacher_li");
    assert!(
        teacher.extra.get("type").is_none(),
        "no _main/_aux suffix: no type"
    );
    let newest = &t.admin_get("/v1/admin/callbacks?limit=1").await["items"][0];
    assert_eq!(newest["reason"], "matched by registered_stream");

    // Listed, removed (then a recording of it matches nothing), and audited.
    let listed = t.admin_get("/v1/admin/classes/physics-9a/streams").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["uid"], "teacher_li");
    let (s, v) = t
        .call(
            Method::DELETE,
            "/v1/admin/classes/physics-9a/streams/school_cam_7",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!((s, v["stream_id"].as_str()), (200, Some("school_cam_7")));
    let (s, _) = t
        .call(
            Method::DELETE,
            "/v1/admin/classes/physics-9a/streams/school_cam_7",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 404);
    acknowledged(&t, &by_api("school_cam_7", "css-file-3")).await;
    let newest = &t.admin_get("/v1/admin/callbacks?limit=1").await["items"][0];
    assert_eq!(newest["status"], "unmatched");
    let audit = t.admin_get("/v1/admin/audit?limit=50").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["set_class_room", "add_class_stream", "remove_class_stream"] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }
}

/// The room and stream routes refuse bad input and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_and_stream_input_is_checked() {
    let t = server().await;
    t.create_default_class("c1", "teacher_li").await;
    for (body, status) in [
        (json!({}), 422),
        (json!({"room_id": 4.5}), 422),
        (json!({"room_id": ""}), 422),
        (json!({"room_id": "has space"}), 422),
        (json!({"room_id": "42", "other": 1}), 422),
    ] {
        let (s, v) = t
            .call(
                Method::PATCH,
                "/v1/admin/classes/c1",
                Some(ADMIN),
                Some(&body),
            )
            .await;
        assert_eq!(s, status, "{body}: {v}");
    }
    let (s, _) = t
        .call(
            Method::PATCH,
            "/v1/admin/classes/nope",
            Some(ADMIN),
            Some(&json!({"room_id": "1"})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = t
        .call(
            Method::PATCH,
            "/v1/admin/classes/c1",
            None,
            Some(&json!({"room_id": "1"})),
        )
        .await;
    assert_eq!(s, 401);
    assert!(t.admin_get("/v1/admin/classes/c1").await["room_id"].is_null());
    // Set, then cleared with null.
    let (s, v) = t
        .call(
            Method::PATCH,
            "/v1/admin/classes/c1",
            Some(ADMIN),
            Some(&json!({"room_id": "r-42"})),
        )
        .await;
    assert_eq!((s, v["room_id"].as_str()), (200, Some("r-42")));
    let (s, v) = t
        .call(
            Method::PATCH,
            "/v1/admin/classes/c1",
            Some(ADMIN),
            Some(&json!({"room_id": null})),
        )
        .await;
    assert_eq!((s, v["room_id"].is_null()), (200, true), "{v}");
    for body in [
        json!({"stream_id": "", "uid": "a"}),
        json!({"stream_id": "a b", "uid": "a"}),
        json!({"stream_id": "s"}),
        json!({"stream_id": "s", "uid": ""}),
    ] {
        let (s, v) = t
            .post("/v1/admin/classes/c1/streams", Some(ADMIN), &body)
            .await;
        assert_eq!(s, 422, "{body}: {v}");
    }
    assert!(t
        .admin_get("/v1/admin/classes/c1/streams")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    // Room at creation: a string or a whole number.
    let (s, v) = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id": "c2", "group_id": "g_c2", "teacher_uid": "t", "room_id": "0042"}),
        )
        .await;
    assert_eq!((s, v["room_id"].as_str()), (201, Some("0042")), "{v}");
    let (s, _) = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id": "c3", "group_id": "g_c3", "teacher_uid": "t", "room_id": -1}),
        )
        .await;
    assert_eq!(s, 422);
}

/// CSS status events (332) are verified like event 100, kept in the recording's life of
/// the stream's user, and never become messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn css_status_events_are_the_recordings_life() {
    let t = server().await;
    t.create_default_class("c1", "teacher_li").await;
    t.call(
        Method::PATCH,
        "/v1/admin/classes/c1",
        Some(ADMIN),
        Some(&json!({"room_id": "42"})),
    )
    .await;
    let stream = "1400000000_42_teacher_li_main";
    for (event, seq) in [
        ("record_start_succeeded", "1"),
        ("record_paused", "2"),
        ("record_resumed", "3"),
        ("record_ended", "4"),
    ] {
        acknowledged(&t, &status_event(stream, event, seq)).await;
    }
    // The same event again (the cloud retries): kept as a duplicate, not a second event.
    acknowledged(&t, &status_event(stream, "record_ended", "4")).await;
    // A forged one: refused, nothing kept in the life.
    let mut forged = status_event(stream, "record_error", "5");
    forged["sign"] = "0".repeat(32).into();
    let (s, v) = t.post(CALLBACK, None, &forged).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("bad_sign")));

    assert_eq!(t.message_count().await, 0);
    let life = t.admin_get("/v1/admin/classes/c1/recorder-events").await;
    let life = life.as_array().unwrap();
    let stages: Vec<&str> = life.iter().map(|e| e["stage"].as_str().unwrap()).collect();
    assert_eq!(
        stages,
        ["started", "paused", "resumed", "stopped"],
        "{life:#?}"
    );
    assert!(life.iter().all(|e| e["source"] == "css"
        && e["uid"] == "teacher_li"
        && e["media"] == "main"
        && e["task_id"] == "css-session-1"));
    let items = t.admin_get("/v1/admin/callbacks?limit=10").await["items"]
        .as_array()
        .unwrap()
        .clone();
    let statuses: Vec<&str> = items
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "refused",
            "duplicate",
            "recorded",
            "recorded",
            "recorded",
            "recorded"
        ]
    );
}
