//! TRTC cloud-recording callbacks over real HTTP (issue 22; docs/protocol.md section 4): the
//! server in process with a SQLite file, the sandbox IM emulator (app 1400000000), bodies
//! signed as Tencent signs them (base64 HMAC-SHA256 of the exact bytes, in the `Sign`
//! header). Body shapes follow Tencent's cloud-recording callback page
//! (<https://trtc.io/document/54914>; Chinese: cloud.tencent.com/document/product/647/81113),
//! pretty-printed with tabs as its examples are.
//!
//! One file although long: every test here posts, signs and reads the group through the
//! same few helpers, and each is one acceptance point of issue 22.

use crate::util::server::*;
use replaydesk::callback::trtc::sign_body;
use replaydesk::emulator::Emulator;
use replaydesk::protocol::{Payload, RecordingValue, ReplayMessage};
use replaydesk::secret::Secret;
use serde_json::{json, Value};
use std::time::Duration;

const KEY: &str = "trtcTestKey2026";
const PATH: &str = "/v1/callbacks/trtc";
const APP: &str = "1400000000";

async fn server() -> TestServer {
    TestServer::start(|c| c.trtc_callback_key = Some(Secret::new(KEY))).await
}

/// A body as TRTC sends it: pretty-printed with tabs (so it is verified on its bytes, not
/// on a re-serialisation).
fn body(
    group: i64,
    event_type: i64,
    room: Value,
    user: &str,
    task: &str,
    payload: Value,
) -> Vec<u8> {
    let v = json!({
        "EventGroupId": group,
        "EventType": event_type,
        "CallbackTs": now_ms(),
        "EventInfo": {
            "RoomId": room,
            "EventTs": now_ms() / 1000,
            "EventMsTs": now_ms(),
            "UserId": user,
            "TaskId": task,
            "Payload": payload,
        }
    });
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&v, &mut ser).unwrap();
    out
}

fn vod(user: &str, media: &str, file_id: &str, start_ms: i64, end_ms: i64) -> Value {
    json!({
        "Status": 0,
        "TencentVod": {
            "UserId": user,
            "TrackType": "audio_video",
            "MediaId": media,
            "FileId": file_id,
            "VideoUrl": format!("https://1500000000.vod2.myqcloud.com/test/{file_id}.mp4"),
            "CacheFile": format!("{user}_{media}.mp4"),
            "StartTimeStamp": start_ms,
            "EndTimeStamp": end_ms,
        },
        "Errmsg": "",
    })
}

async fn post(t: &TestServer, body: &[u8], sign: Option<&str>, app: Option<&str>) -> (u16, Value) {
    let mut req = t
        .http
        .post(format!("{}{PATH}", t.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = sign {
        req = req.header("Sign", s);
    }
    if let Some(a) = app {
        req = req.header("SdkAppId", a);
    }
    let res = req.send().await.expect("answered");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Posts a body signed with [`KEY`] from app [`APP`]; asserts `200 {"code":0}`.
async fn delivered(t: &TestServer, body: &[u8]) {
    let sign = sign_body(&Secret::new(KEY), body);
    let (s, v) = post(t, body, Some(&sign), Some(APP)).await;
    assert_eq!(
        (s, &v),
        (200, &json!({"code": 0})),
        "{}",
        String::from_utf8_lossy(body)
    );
}

fn recordings(emu: &Emulator, group: &str) -> Vec<RecordingValue> {
    history_data(&emu.history(group))
        .iter()
        .filter_map(|d| ReplayMessage::parse(d).ok())
        .filter_map(|m| match m.payload {
            Payload::Recording(r) => Some(r),
            _ => None,
        })
        .collect()
}

async fn settled(emu: &Emulator, group: &str, n: usize) -> Vec<RecordingValue> {
    wait_until(
        Duration::from_secs(10),
        &format!("{n} 1004 in {group}"),
        || {
            let emu = emu.clone();
            let group = group.to_owned();
            async move { recordings(&emu, &group).len() >= n }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    recordings(emu, group)
}

async fn class_with_room(t: &TestServer, class_id: &str, room: Value) {
    let (s, v) = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id": class_id, "group_id": format!("g_{class_id}"), "teacher_uid": "teacher_li", "room_id": room}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
}

/// The acceptance run of issue 22: a class recorded through TRTC (301, 307, 311 for two
/// users, main and aux, signed as Tencent signs), each event delivered twice, ends with
/// exactly one 1004 per file, fields as documented; every body is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_recorded_through_trtc_gets_one_1004_per_file() {
    let t = server().await;
    // The room as a number at creation; callbacks send it as a string.
    class_with_room(&t, "math-7b", json!(42)).await;
    let task = "task-acceptance";
    let teacher = (1_795_339_200_500_i64, 1_795_339_290_999_i64);
    let student = (1_795_339_230_000_i64, 1_795_339_260_400_i64);
    let events = [
        body(
            3,
            301,
            json!("42"),
            "recorder_42",
            task,
            json!({"Status": 0}),
        ),
        body(
            3,
            307,
            json!("42"),
            "recorder_42",
            task,
            json!({"FileName": "teacher_li_main.m3u8", "UserId": "teacher_li", "TrackType": "audio_video", "BeginTimeStamp": 1_795_339_200_100_i64}),
        ),
        body(
            3,
            307,
            json!(42),
            "recorder_42",
            task,
            json!({"FileName": "student_wang_aux.m3u8", "UserId": "student_wang", "TrackType": "video", "BeginTimeStamp": 1_795_339_229_000_i64}),
        ),
        body(
            3,
            311,
            json!("42"),
            "recorder_42",
            task,
            vod(
                "teacher_li",
                "main",
                "3270835009000000001",
                teacher.0,
                teacher.1,
            ),
        ),
        body(
            3,
            311,
            json!(42),
            "recorder_42",
            task,
            vod(
                "student_wang",
                "aux",
                "3270835009000000002",
                student.0,
                student.1,
            ),
        ),
    ];
    for b in &events {
        delivered(&t, b).await;
        delivered(&t, b).await; // TRTC retries: the same event again
    }
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    let mut got = settled(&emu, "g_math-7b", 2).await;
    assert_eq!(got.len(), 2, "one 1004 per file: {got:?}");
    got.sort_by(|a, b| a.uid.cmp(&b.uid));
    let (s, te) = (&got[0], &got[1]);
    assert_eq!(te.uid, "teacher_li");
    assert_eq!(te.video_id, "3270835009000000001");
    assert_eq!(
        te.video_url,
        "https://1500000000.vod2.myqcloud.com/test/3270835009000000001.mp4"
    );
    // The 311's own times win over the 307's BeginTimeStamp; floor of the ms.
    assert_eq!(
        (te.start_time, te.end_time, te.duration),
        (1_795_339_200, 1_795_339_290, 90)
    );
    assert_eq!((te.media_start_time, te.file_size), (0, 0));
    assert_eq!(te.extra.get("type"), Some(&json!("main")));
    assert_eq!(s.uid, "student_wang");
    assert_eq!(
        (s.start_time, s.end_time, s.duration),
        (1_795_339_230, 1_795_339_260, 30)
    );
    assert_eq!(s.extra.get("type"), Some(&json!("aux")));

    // Every body kept: 10 callbacks, the repeats duplicates.
    let items = t.admin_get("/v1/admin/callbacks?limit=100").await["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(|c| c["source"] == "trtc"));
    let count = |st: &str| items.iter().filter(|c| c["status"] == st).count();
    assert_eq!(
        (count("accepted"), count("recorded"), count("duplicate")),
        (2, 3, 5)
    );
    // The student, never seen before, is enrolled by the recording.
    let roster = t.admin_get("/v1/admin/classes/math-7b/members").await;
    assert!(
        roster
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["uid"] == "student_wang"),
        "{roster}"
    );
    // The recorder life: five events, each once; the 1004s linked.
    let life = t
        .admin_get("/v1/admin/classes/math-7b/recorder-events")
        .await;
    let life = life.as_array().unwrap();
    assert_eq!(life.len(), 5, "{life:#?}");
    let ready: Vec<&Value> = life.iter().filter(|e| e["stage"] == "ready").collect();
    assert_eq!(ready.len(), 2);
    assert!(ready
        .iter()
        .all(|e| e["status"] == "announced" && e["message_id"].is_number()));
    assert_eq!(life.iter().filter(|e| e["stage"] == "slice").count(), 2);
    assert_eq!(life[0]["stage"], "started");
}

/// A bad or missing sign, a wrong `SdkAppId`, a stale `CallbackTs`, a body changed by one
/// byte, and no key configured are refused with their reasons and change nothing; the
/// fixture verifies on its exact bytes (and is stale now).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callbacks_change_nothing_and_say_why() {
    let t = server().await;
    class_with_room(&t, "c1", json!("42")).await;
    let good = body(
        3,
        311,
        json!("42"),
        "rec",
        "task-r",
        vod("teacher_li", "main", "f-r", 1_000, 2_000_000),
    );
    let sign = sign_body(&Secret::new(KEY), &good);
    let mut altered = good.clone();
    let at = altered.iter().position(|b| *b == b'f').unwrap();
    altered[at] = b'g';
    let mut stale: Value = serde_json::from_slice(&good).unwrap();
    stale["CallbackTs"] = json!(now_ms() - 16 * 60 * 1000);
    let stale = serde_json::to_vec(&stale).unwrap();
    let stale_sign = sign_body(&Secret::new(KEY), &stale);
    let mut ahead: Value = serde_json::from_slice(&good).unwrap();
    ahead["CallbackTs"] = json!(now_ms() + 6 * 60 * 1000);
    let ahead = serde_json::to_vec(&ahead).unwrap();
    let ahead_sign = sign_body(&Secret::new(KEY), &ahead);
    let other_key = sign_body(&Secret::new("someOtherKey"), &good);
    for (body, sign, app, status, reason) in [
        (&good, Some(other_key.as_str()), Some(APP), 401, "bad_sign"),
        (&good, None, Some(APP), 401, "bad_sign"),
        (&good, Some("%%%"), Some(APP), 401, "bad_sign"),
        (&altered, Some(sign.as_str()), Some(APP), 401, "bad_sign"),
        (
            &good,
            Some(sign.as_str()),
            Some("1400000001"),
            401,
            "wrong_app",
        ),
        (&good, Some(sign.as_str()), None, 401, "wrong_app"),
        (&stale, Some(stale_sign.as_str()), Some(APP), 401, "stale"),
        (&ahead, Some(ahead_sign.as_str()), Some(APP), 401, "stale"),
    ] {
        let (s, v) = post(&t, body, sign, app).await;
        assert_eq!((s, v["error"].as_str()), (status, Some(reason)), "{v}");
        assert!(v["detail"].is_string());
    }
    // The shared fixture, exactly its bytes and its Sign, under its key: the sign
    // verifies, so what refuses it is its age.
    let fixture = std::fs::read(format!(
        "{}/tests/fixtures/trtc_311_vod_commit.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let fixture_sign = std::fs::read_to_string(format!(
        "{}/tests/fixtures/trtc_311_vod_commit.sign",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut f =
        TestServer::start(|c| c.trtc_callback_key = Some(Secret::new("fixtureTrtcKey2026"))).await;
    let (s, v) = post(&f, &fixture, Some(fixture_sign.trim()), Some(APP)).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("stale")), "{v}");
    f.stop().await;

    // Nothing changed: no message, no recorder event; every refusal kept as a sample.
    assert_eq!(t.message_count().await, 0);
    assert!(t
        .admin_get("/v1/admin/classes/c1/recorder-events")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    let items = t
        .admin_get("/v1/admin/callbacks?status=refused&limit=100")
        .await["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 8);
    assert!(items.iter().all(|c| c["source"] == "trtc"));
    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("replaydesk_trtc_callbacks_failed_total 0"),
        "{metrics}"
    );

    // The same good body, now: accepted.
    delivered(&t, &good).await;
    assert_eq!(t.message_count().await, 1);

    // No key configured: every TRTC callback is refused.
    let mut nokey = TestServer::start(|_| {}).await;
    let (s, v) = post(&nokey, &good, Some(&sign), Some(APP)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("no_callback_key")),
        "{v}"
    );
    nokey.stop().await;
}

/// A body that verifies but does not read is 422, kept as refused; an unknown event type
/// and a 301 without a file are kept as `recorded`; page recording (EventGroupId 8) too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_unknown_and_fileless_events() {
    let t = server().await;
    class_with_room(&t, "c1", json!("77")).await;
    for bad in [
        b"not json at all".to_vec(),
        br#"{"EventGroupId":3,"CallbackTs":1}"#.to_vec(),
        body(
            3,
            311,
            json!("77"),
            "rec",
            "t",
            json!({"TencentVod": {"UserId": "u", "VideoUrl": "javascript:alert(1)"}}),
        ),
        body(3, 301, json!([1]), "rec", "t", json!({})),
    ] {
        let sign = sign_body(&Secret::new(KEY), &bad);
        let (s, v) = post(&t, &bad, Some(&sign), Some(APP)).await;
        assert_eq!(s, 422, "{v}");
    }
    delivered(
        &t,
        &body(3, 301, json!(77), "rec", "t-1", json!({"Status": 0})),
    )
    .await;
    delivered(
        &t,
        &body(3, 399, json!("77"), "rec", "t-1", json!({"Whatever": true})),
    )
    .await;
    delivered(
        &t,
        &body(8, 301, json!("77"), "rec", "t-1", json!({"Status": 0})),
    )
    .await;
    delivered(
        &t,
        &body(3, 302, json!("77"), "rec", "t-1", json!({"LeaveCode": 0})),
    )
    .await;
    assert_eq!(t.message_count().await, 0);
    let life = t.admin_get("/v1/admin/classes/c1/recorder-events").await;
    let stages: Vec<&str> = life
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages.len(), 4, "{life}");
    assert!(stages.contains(&"started") && stages.contains(&"stopped"));
    assert_eq!(stages.iter().filter(|s| **s == "other").count(), 2);
    let stopped = life
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["stage"] == "stopped")
        .unwrap();
    assert_eq!(stopped["detail"], "LeaveCode 0");
    let items = t.admin_get("/v1/admin/callbacks?status=recorded").await["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(items, 4);
    // A room no class has: kept, shown in the inbox (recorded, no class).
    delivered(
        &t,
        &body(3, 301, json!("999"), "rec", "t-2", json!({"Status": 0})),
    )
    .await;
    let newest = &t.admin_get("/v1/admin/callbacks?limit=1").await["items"][0];
    assert_eq!(newest["status"], "recorded");
    assert!(newest["class_id"].is_null());
    assert!(
        newest["reason"].as_str().unwrap().contains("999"),
        "{newest}"
    );
}

/// A mixed-stream file (the task's own user id, by `recordings.mixed_user_prefix`) waits
/// in the inbox; an admin assigns it to a uid and it becomes that uid's 1004.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_stream_file_waits_for_an_admin() {
    let t = TestServer::start(|c| {
        c.trtc_callback_key = Some(Secret::new(KEY));
        c.recordings.mixed_user_prefix = Some("mix_".into());
    })
    .await;
    class_with_room(&t, "c1", json!("42")).await;
    delivered(
        &t,
        &body(
            3,
            311,
            json!("42"),
            "mix_bot",
            "t-mix",
            vod(
                "mix_bot",
                "main",
                "f-mix",
                1_795_339_200_000,
                1_795_339_300_000,
            ),
        ),
    )
    .await;
    assert_eq!(t.message_count().await, 0);
    let cb = &t.admin_get("/v1/admin/callbacks?status=unmatched").await["items"][0];
    assert!(
        cb["reason"].as_str().unwrap().contains("mixed-stream"),
        "{cb}"
    );
    let id = cb["id"].as_i64().unwrap();
    let (s, v) = t
        .post(
            &format!("/v1/admin/callbacks/{id}/assign"),
            Some(ADMIN),
            &json!({"class_id": "c1", "uid": "teacher_li"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    let got = settled(&emu, "g_c1", 1).await;
    assert_eq!(got[0].uid, "teacher_li");
    assert_eq!(got[0].video_id, "f-mix");
    assert_eq!(got[0].extra.get("type"), Some(&json!("main")));
    let life = t.admin_get("/v1/admin/classes/c1/recorder-events").await;
    assert_eq!(life[0]["status"], "announced", "{life}");
}

/// Files in object storage: kept without a 1004 unless `recordings.cos_base_url` is set;
/// with it, one 1004 per file of a 310's list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cos_files_need_a_base_url() {
    let mp4_stop = |task: &str| {
        body(
            3,
            310,
            json!("42"),
            "rec",
            task,
            json!({"Status": 0, "FileList": [
                {"FileName": "a/teacher_li_main.mp4", "UserId": "teacher_li", "TrackType": "audio_video", "MediaId": "main", "StartTimeStamp": 1_795_339_200_000_i64, "EndTimeStamp": 1_795_339_260_000_i64},
                {"FileName": "a/teacher_li_aux.mp4", "UserId": "teacher_li", "TrackType": "video", "MediaId": "aux", "StartTimeStamp": 1_795_339_210_000_i64, "EndTimeStamp": 1_795_339_250_000_i64}
            ]}),
        )
    };
    let without = server().await;
    class_with_room(&without, "c1", json!("42")).await;
    delivered(&without, &mp4_stop("t-cos")).await;
    assert_eq!(without.message_count().await, 0);
    let life = without
        .admin_get("/v1/admin/classes/c1/recorder-events")
        .await;
    assert_eq!(life.as_array().unwrap().len(), 2);
    assert!(
        life.as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "no_base_url"),
        "{life}"
    );

    let with = TestServer::start(|c| {
        c.trtc_callback_key = Some(Secret::new(KEY));
        c.recordings.cos_base_url =
            Some("https://bucket-1250000000.cos.ap-guangzhou.myqcloud.com/rec".into());
    })
    .await;
    class_with_room(&with, "c1", json!("42")).await;
    delivered(&with, &mp4_stop("t-cos")).await;
    delivered(&with, &mp4_stop("t-cos")).await;
    let emu = with.desk.sandbox_emulator().unwrap().clone();
    let mut got = settled(&emu, "g_c1", 2).await;
    assert_eq!(got.len(), 2);
    got.sort_by(|a, b| a.video_id.cmp(&b.video_id));
    assert_eq!(
        got[0].video_url,
        "https://bucket-1250000000.cos.ap-guangzhou.myqcloud.com/rec/a/teacher_li_aux.mp4"
    );
    assert_eq!(got[0].extra.get("type"), Some(&json!("aux")));
    assert_eq!(
        (got[1].start_time, got[1].end_time, got[1].duration),
        (1_795_339_200, 1_795_339_260, 60)
    );
}

/// `replaydesk callback send` (the real binary) signs a file's body as each cloud would and
/// posts it: a TRTC 311 and a CSS recording land as 1004s; a wrong key is refused and the
/// command exits 1; the key never shows in its output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callback_send_command_signs_and_posts_both_kinds() {
    let t = TestServer::start(|c| {
        c.trtc_callback_key = Some(Secret::new(KEY));
        c.callback_key = Some(Secret::new("css-key-for-send"));
    })
    .await;
    class_with_room(&t, "room42", json!("42")).await;
    let dir = tempfile::tempdir().unwrap();
    let trtc_file = format!(
        "{}/tests/fixtures/trtc_311_vod_commit.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let css_file = dir.path().join("css.json");
    let mut css: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/fixtures/recording_callback_mp4.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    css["stream_param"] = json!("groupid=g_room42&userid=dGVhY2hlcl9saQ%3D%3D");
    std::fs::write(&css_file, css.to_string()).unwrap();
    let run = |args: Vec<String>, key_env: Option<(&'static str, &'static str)>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_replaydesk"));
        cmd.arg("callback").arg("send").args(args);
        cmd.env_remove("REPLAYDESK_CALLBACK_KEY")
            .env_remove("REPLAYDESK_TRTC_CALLBACK_KEY");
        if let Some((k, v)) = key_env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let base = t.base.clone();
    let out = tokio::task::spawn_blocking({
        let base = base.clone();
        let trtc_file = trtc_file.clone();
        move || {
            run(
                vec![
                    "--kind".into(),
                    "trtc".into(),
                    "--file".into(),
                    trtc_file,
                    "--url".into(),
                    base,
                ],
                Some(("REPLAYDESK_TRTC_CALLBACK_KEY", KEY)),
            )
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("200 "), "{stdout}");
    assert!(!stdout.contains(KEY));
    let css_path = css_file.display().to_string();
    let out = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            run(
                vec![
                    "--kind".into(),
                    "css".into(),
                    "--file".into(),
                    css_path,
                    "--url".into(),
                    base,
                    "--key".into(),
                    "css-key-for-send".into(),
                ],
                None,
            )
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    let got = settled(&emu, "g_room42", 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().any(
        |r| r.video_id == "3270835009000012345" && r.extra.get("type") == Some(&json!("main"))
    ));
    // The wrong key: refused, exit status 1.
    let out = tokio::task::spawn_blocking(move || {
        run(
            vec![
                "--kind".into(),
                "trtc".into(),
                "--file".into(),
                trtc_file,
                "--url".into(),
                base,
                "--key".into(),
                "wrong".into(),
            ],
            None,
        )
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("401 "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The TRTC route shares the legacy callback's limits: a body over `max_body_bytes` is 413
/// and not stored; a source over `callback_rate_per_source` is 429 before its body is read
/// (the same bucket for both clouds' routes: a source is one sender).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_limit_and_the_per_source_rate_hold_for_trtc() {
    let t = TestServer::start(|c| {
        c.trtc_callback_key = Some(Secret::new(KEY));
        c.max_body_bytes = 2048;
        c.callback_rate_per_source = 1.0;
    })
    .await;
    class_with_room(&t, "c1", json!("42")).await;
    let mut big = body(
        3,
        301,
        json!("42"),
        "rec",
        "t-big",
        json!({"Status": 0, "Pad": "x".repeat(4096)}),
    );
    big.push(b'\n');
    let sign = sign_body(&Secret::new(KEY), &big);
    let (s, v) = post(&t, &big, Some(&sign), Some(APP)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );
    // Within the burst of ten (the oversized one was refused by its declared length before
    // the route), then 429.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let b = body(
            3,
            301,
            json!("42"),
            "rec",
            &format!("t-{i}"),
            json!({"Status": 0}),
        );
        let sign = sign_body(&Secret::new(KEY), &b);
        statuses.push(post(&t, &b, Some(&sign), Some(APP)).await.0);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    // Neither the oversized nor the limited ones were stored.
    let items = t.admin_get("/v1/admin/callbacks?limit=100").await["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(items, 10);
}

/// A callback that cannot be recorded is answered 5xx (TRTC retries for about a minute)
/// and counted in `/metrics`, since each may be a recording lost: here the store refuses
/// the write (its recorder-life table is gone underneath it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_that_cannot_be_recorded_is_a_counted_5xx() {
    let t = server().await;
    class_with_room(&t, "c1", json!("42")).await;
    let db = t.dir.path().join("replaydesk.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("DROP TABLE recorder_events")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let b = body(3, 301, json!("42"), "rec", "t-lost", json!({"Status": 0}));
    let sign = sign_body(&Secret::new(KEY), &b);
    let (s, v) = post(&t, &b, Some(&sign), Some(APP)).await;
    assert!(s >= 500, "{s} {v}");
    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("replaydesk_trtc_callbacks_failed_total 1"),
        "{metrics}"
    );
    // Nothing half-written: no callback row either (one transaction).
    let items = t.admin_get("/v1/admin/callbacks").await["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(items, 0);
}

/// A 311 without its own start time takes the start of the file's first slice (307
/// `BeginTimeStamp`), and says so in the callback's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_without_a_start_takes_the_first_slices() {
    let t = server().await;
    class_with_room(&t, "c1", json!("42")).await;
    delivered(
        &t,
        &body(3, 307, json!("42"), "rec", "t-s", json!({"FileName": "t-s_teacher_li.m3u8", "UserId": "teacher_li", "TrackType": "audio_video", "BeginTimeStamp": 1_795_339_200_999_i64})),
    )
    .await;
    let mut commit = vod("teacher_li", "main", "f-s", 0, 1_795_339_260_000);
    commit["TencentVod"]
        .as_object_mut()
        .unwrap()
        .remove("StartTimeStamp");
    delivered(&t, &body(3, 311, json!("42"), "rec", "t-s", commit)).await;
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    let got = settled(&emu, "g_c1", 1).await;
    assert_eq!(
        (got[0].start_time, got[0].end_time, got[0].duration),
        (1_795_339_200, 1_795_339_260, 60)
    );
    let newest = &t.admin_get("/v1/admin/callbacks?limit=1").await["items"][0];
    assert!(
        newest["reason"].as_str().unwrap().contains("first slice"),
        "{newest}"
    );
}
