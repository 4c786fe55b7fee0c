//! The recording callback end to end over real HTTP (docs/protocol.md section 4): the server in
//! process with a SQLite file in a temporary directory, the sandbox IM emulator, and the
//! fixture callbacks re-signed with a fresh `t` (their own `t` lies in the past).
//!
//! One file although long: every case re-signs the same fixtures through the helpers at
//! its top; the cases are the legacy callback's contract, read as one list.

use crate::util::server::*;
use replaydesk::callback::expected_sign;
use replaydesk::emulator::Emulator;
use replaydesk::protocol::{Payload, RecordingValue, ReplayMessage};
use replaydesk::secret::Secret;
use serde_json::{json, Value};
use std::time::Duration;

/// The fixtures' callback key (tests/fixtures/README.md).
const KEY: &str = "replaydesk-fixture-callback-key";
const CALLBACK: &str = "/v1/callbacks/recording";
/// The mp4 fixture's file.
const MP4_FILE_ID: &str = "5285890801234567890";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture present"))
        .expect("fixture is JSON")
}

fn mp4() -> Value {
    fixture("recording_callback_mp4.json")
}

fn legacy() -> Value {
    fixture("recording_callback_legacy.json")
}

/// A `t` ten minutes ahead, as the cloud sends it.
fn fresh_t() -> i64 {
    now_ms() / 1000 + 600
}

/// The body with `t` (kept in its JSON form, number or string) and a sign over it.
fn resigned(mut v: Value, t: i64) -> Value {
    let text = t.to_string();
    v["t"] = if v["t"].is_string() {
        text.clone().into()
    } else {
        t.into()
    };
    v["sign"] = expected_sign(&Secret::new(KEY), &text).into();
    v
}

async fn server() -> TestServer {
    TestServer::start(|c| c.callback_key = Some(Secret::new(KEY))).await
}

async fn post_raw(t: &TestServer, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let res = t
        .http
        .post(format!("{}{CALLBACK}", t.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answered");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Posts a callback; asserts the cloud's acknowledgement `200 {"code":0}`.
async fn acknowledged(t: &TestServer, body: &Value) {
    let (s, v) = t.post(CALLBACK, None, body).await;
    assert_eq!((s, &v), (200, &json!({"code": 0})), "callback answered");
}

async fn callbacks(t: &TestServer, query: &str) -> Vec<Value> {
    let page = t.admin_get(&format!("/v1/admin/callbacks{query}")).await;
    page["items"].as_array().expect("items").clone()
}

fn statuses(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect()
}

/// The 1004s in a group's history, oldest first.
fn recordings(emu: &Emulator, group: &str) -> Vec<(ReplayMessage, RecordingValue)> {
    history_data(&emu.history(group))
        .iter()
        .filter_map(|d| ReplayMessage::parse(d).ok())
        .filter_map(|m| match &m.payload {
            Payload::Recording(r) => Some((m.clone(), r.clone())),
            _ => None,
        })
        .collect()
}

/// Waits until `group` holds `n` 1004s, then a little longer to see that no more come.
async fn settled_recordings(
    emu: &Emulator,
    group: &str,
    n: usize,
) -> Vec<(ReplayMessage, RecordingValue)> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mp4_callback_posted_three_times_is_one_1004_with_the_fixture_values() {
    let mut t = server().await;
    t.create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    let body = resigned(mp4(), fresh_t());
    let before_s = now_ms() / 1000;
    for _ in 0..3 {
        acknowledged(&t, &body).await;
    }
    let after_s = now_ms() / 1000;

    let emu = t.desk.sandbox_emulator().expect("sandbox").clone();
    let got = settled_recordings(&emu, "replay_room42", 1).await;
    assert_eq!(got.len(), 1, "one 1004 for one file: {got:?}");
    let (m, r) = &got[0];
    assert_eq!(r.uid, "teacher_li");
    assert_eq!(
        r.video_url,
        "https://1259990001.vod.example.invalid/a1b2c3/f0.mp4"
    );
    assert_eq!((r.start_time, r.end_time), (1_795_339_195, 1_795_342_790));
    assert_eq!(r.duration, 3595);
    assert_eq!(r.file_size, 734_003_200);
    assert_eq!(r.media_start_time, 1208);
    assert_eq!(r.video_id, MP4_FILE_ID, "no video_id: the file_id");
    assert!(
        (before_s as u64..=after_s as u64).contains(&m.timestamp),
        "the 1004's timestamp is the server's unix seconds: {}",
        m.timestamp
    );
    assert_eq!(t.message_count().await, 1);

    // Three rows, newest first: the first accepted, the repeats duplicates of its message.
    let items = callbacks(&t, "").await;
    assert_eq!(statuses(&items), ["duplicate", "duplicate", "accepted"]);
    let message_id = items[2]["message_id"].as_i64().expect("message_id");
    for c in &items {
        assert_eq!(c["message_id"], message_id);
        assert_eq!(c["file_key"], format!("file_id:{MP4_FILE_ID}"));
        assert_eq!(c["class_id"], "room42");
        assert_eq!(c["uid"], "teacher_li");
        // A genuine callback fits a listing's preview whole; sign hidden.
        assert_eq!(c["body_truncated"], false);
        let detail = t
            .admin_get(&format!("/v1/admin/callbacks/{}", c["id"]))
            .await;
        assert_eq!(detail["body_truncated"], false);
        let kept: Value = serde_json::from_str(detail["body"].as_str().unwrap()).unwrap();
        let mut expected = body.clone();
        expected["sign"] = "(hidden)".into();
        assert_eq!(kept, expected, "the body as received, sign hidden");
    }
    assert_eq!(items[2]["reason"], "matched by stream_param");
    let stored = t.store().message(message_id).await.unwrap();
    assert_eq!(
        ReplayMessage::parse(&stored.data).unwrap(),
        *m,
        "the group holds exactly the stored 1004"
    );

    // One by id; paging newest first.
    let id = items[0]["id"].as_i64().unwrap();
    assert_eq!(
        t.admin_get(&format!("/v1/admin/callbacks/{id}")).await,
        items[0]
    );
    let page = t.admin_get("/v1/admin/callbacks?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_i64().expect("a next page");
    let rest = t
        .admin_get(&format!("/v1/admin/callbacks?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["items"].as_array().unwrap()[0], items[2]);
    assert!(rest["next_cursor"].is_null());
    let accepted = callbacks(&t, "?status=accepted").await;
    assert_eq!(accepted, [items[2].clone()]);

    // The admin listing needs the admin token; unknown ids and statuses are refused.
    assert_eq!(t.get("/v1/admin/callbacks", None).await.0, 401);
    assert_eq!(t.get("/v1/admin/callbacks", Some("nope")).await.0, 401);
    assert_eq!(
        t.get("/v1/admin/callbacks/999999", Some(ADMIN)).await.0,
        404
    );
    let (s, v) = t.get("/v1/admin/callbacks?status=lost", Some(ADMIN)).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("bad_request")), "{v}");

    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "replaydesk_recording_callbacks{status=\"accepted\"} 1",
        "replaydesk_recording_callbacks{status=\"duplicate\"} 2",
        "replaydesk_recording_callbacks{status=\"unmatched\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_callback_is_unmatched_until_the_student_is_a_member_then_one_1004() {
    let mut t = server().await;
    let token = t
        .create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    let body = resigned(legacy(), fresh_t());
    assert!(body["t"].is_string(), "the legacy fixture sends t as text");

    // student_wang has not reported: the hashed stream id matches no member.
    acknowledged(&t, &body).await;
    assert_eq!(t.message_count().await, 0, "nothing sent");
    let unmatched = callbacks(&t, "?status=unmatched").await;
    assert_eq!(unmatched.len(), 1);
    let first = &unmatched[0];
    assert_eq!(first["status"], "unmatched");
    assert_eq!(first["file_key"], "file_id:9031868223267109922");
    assert!(first["message_id"].is_null());
    assert!(
        first["reason"]
            .as_str()
            .unwrap()
            .contains("legacy stream id"),
        "{first}"
    );

    // Once a member, the same callback maps to them: one 1004 however often it comes.
    let (s, v) = t
        .report(
            "room42",
            &token,
            &json!({"uid": "student_wang", "timestamp": 5000}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    for _ in 0..3 {
        acknowledged(&t, &body).await;
    }
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    let got = settled_recordings(&emu, "replay_room42", 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0].1;
    assert_eq!(r.uid, "student_wang");
    assert_eq!(r.video_id, "200025724_ac92b781a22c4a3e937c9e61c2624af7");
    assert_eq!(
        r.video_url,
        "http://1259990001.vod2.example.invalid/x/y/playlist.m3u8"
    );
    assert_eq!((r.start_time, r.end_time), (1_795_339_201, 1_795_339_264));
    assert_eq!(
        (r.duration, r.file_size, r.media_start_time),
        (63, 1349, 2931)
    );

    let items = callbacks(&t, "").await;
    assert_eq!(
        statuses(&items),
        ["duplicate", "duplicate", "accepted", "unmatched"]
    );
    assert_eq!(items[2]["uid"], "student_wang");
    assert_eq!(items[2]["reason"], "matched by legacy_hash");
    let message_id = items[2]["message_id"].as_i64().unwrap();
    assert!(items[..2].iter().all(|c| c["message_id"] == message_id));
    // The first arrival stays as it was received: unmatched, kept for the record.
    assert_eq!(callbacks(&t, "?status=unmatched").await, unmatched);

    // Assigning it to the same user finds the file's 1004 (nothing new is sent); to
    // anyone else is a conflict.
    let first_id = first["id"].as_i64().unwrap();
    let path = format!("/v1/admin/callbacks/{first_id}/assign");
    let (s, v) = t
        .post(
            &path,
            Some(ADMIN),
            &json!({"class_id": "room42", "uid": "teacher_li"}),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (409, Some("conflict")), "{v}");
    let (s, v) = t
        .post(
            &path,
            Some(ADMIN),
            &json!({"class_id": "room42", "uid": "student_wang"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["message_created"], false);
    assert_eq!(v["message"]["id"], message_id);
    assert_eq!(v["callback"]["status"], "assigned");
    assert_eq!(t.message_count().await, 2, "the 1003 and the one 1004");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmatched_callback_assigned_by_an_admin_becomes_one_1004_in_the_chosen_class() {
    let mut t = server().await;
    t.create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    t.create_class("room43", "replay_room43", "teacher_zhao", true)
        .await;
    // Another file, from a stream and a group no class knows.
    let mut body = mp4();
    body["file_id"] = "7000000000000000001".into();
    body["record_file_id"] = "7000000000000000001".into();
    body["stream_id"] = "1400000001_nowhere_teacher_zhao_main".into();
    body["channel_id"] = "1400000001_nowhere_teacher_zhao_main".into();
    body["stream_param"] = "groupid=replay_nowhere&userid=dGVhY2hlcl96aGFv".into();
    let body = resigned(body, fresh_t());
    acknowledged(&t, &body).await;
    let unmatched = callbacks(&t, "?status=unmatched").await;
    assert_eq!(unmatched.len(), 1);
    let id = unmatched[0]["id"].as_i64().unwrap();
    assert!(unmatched[0]["reason"]
        .as_str()
        .unwrap()
        .contains("replay_nowhere"));
    // And a matched one, which cannot be assigned.
    acknowledged(&t, &resigned(mp4(), fresh_t())).await;
    let accepted = callbacks(&t, "?status=accepted").await[0]["id"]
        .as_i64()
        .unwrap();

    let assign = |id: i64, token: Option<&'static str>, b: Value| {
        let mut req = t
            .http
            .post(format!("{}/v1/admin/callbacks/{id}/assign", t.base))
            .header("x-replaydesk-actor", "alice")
            .json(&b);
        if let Some(tok) = token {
            req = req.bearer_auth(tok);
        }
        async move {
            let res = req.send().await.unwrap();
            let s = res.status().as_u16();
            (s, res.json::<Value>().await.unwrap())
        }
    };
    let to43 = json!({"class_id": "room43", "uid": "teacher_zhao"});
    for (id, token, b, want) in [
        (id, None, to43.clone(), 401),
        (
            id,
            Some(ADMIN),
            json!({"class_id": "nope", "uid": "u"}),
            404,
        ),
        (999_999, Some(ADMIN), to43.clone(), 404),
        (
            id,
            Some(ADMIN),
            json!({"class_id": "room43", "uid": ""}),
            422,
        ),
        (id, Some(ADMIN), json!({"class_id": "room43"}), 422),
        (
            id,
            Some(ADMIN),
            json!({"class_id": "room43", "uid": "u", "x": 1}),
            422,
        ),
        (accepted, Some(ADMIN), to43.clone(), 409),
    ] {
        let (s, v) = assign(id, token, b.clone()).await;
        assert_eq!(s, want, "assign {id} {b}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    assert_eq!(
        t.message_count().await,
        1,
        "refused assignments sent nothing"
    );

    let (s, v) = assign(id, Some(ADMIN), to43.clone()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["callback"]["status"], "assigned");
    assert_eq!(v["callback"]["class_id"], "room43");
    assert_eq!(v["callback"]["uid"], "teacher_zhao");
    assert_eq!(v["message"]["class_id"], "room43");
    assert_eq!(v["message"]["group_id"], "replay_room43");
    assert_eq!(v["message"]["msg_type"], "recording");
    assert_eq!(v["message_created"], true);
    let message_id = v["message"]["id"].as_i64().unwrap();
    assert_eq!(v["callback"]["message_id"], message_id);

    let emu = t.desk.sandbox_emulator().unwrap().clone();
    let got = settled_recordings(&emu, "replay_room43", 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1.uid, "teacher_zhao");
    assert_eq!(got[0].1.video_id, "7000000000000000001");

    // Assigning again is a conflict; the cloud repeating the callback is a duplicate of
    // the assigned file's message, not a new unmatched entry.
    let (s, v) = assign(id, Some(ADMIN), to43).await;
    assert_eq!(s, 409, "{v}");
    acknowledged(&t, &body).await;
    let newest = &callbacks(&t, "?limit=1").await[0];
    assert_eq!(newest["status"], "duplicate");
    assert_eq!(newest["message_id"], message_id);
    assert_eq!(
        t.admin_get(&format!("/v1/admin/callbacks/{id}")).await["status"],
        "assigned"
    );
    assert!(callbacks(&t, "?status=unmatched").await.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(recordings(&emu, "replay_room43").len(), 1);
    assert_eq!(t.message_count().await, 2);

    // Audited, with the actor.
    let audit = t.admin_get("/v1/admin/audit").await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "assign_callback");
    assert_eq!(entry["actor"], "alice");
    assert_eq!(entry["target"], format!("callback:{id}"));
    assert_eq!(entry["detail"]["class_id"], "room43");
    assert_eq!(entry["detail"]["message_id"], message_id);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callbacks_are_kept_with_their_reason_and_send_nothing() {
    let mut t = server().await;
    t.create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    let good = resigned(mp4(), fresh_t());

    let mut bad_sign = good.clone();
    bad_sign["sign"] = "0123456789abcdef0123456789abcdef".into();
    // Tampered: a later `t` without a new sign. The vendor's sign covers only key + t, so
    // this is all it can catch: every other field (stream, file, URL) could be changed
    // and still verify until t passes.
    let mut tampered = good.clone();
    tampered["t"] = (good["t"].as_i64().unwrap() + 3600).into();
    let mut no_sign = good.clone();
    no_sign.as_object_mut().unwrap().remove("sign");

    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("bad sign", bad_sign.to_string(), 401, "bad_sign"),
        // The fixture as it is: signed, but its t is long past.
        ("expired", mp4().to_string(), 401, "expired"),
        ("tampered t", tampered.to_string(), 401, "bad_sign"),
        ("missing sign", no_sign.to_string(), 422, "missing_field"),
        ("not JSON", "event_type=100&sign=x".into(), 400, "not_json"),
        ("not an object", "[1]".into(), 422, "not_an_object"),
    ];
    for (what, body, status, reason) in &cases {
        let (s, v) = post_raw(&t, body.clone()).await;
        assert_eq!(s, *status, "{what}: {v}");
        assert_eq!(v["error"], *reason, "{what}: {v}");
        assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
        assert!(!v.to_string().contains(KEY), "the key never shows");
    }
    let refused = callbacks(&t, "?status=refused").await;
    assert_eq!(refused.len(), cases.len());
    // Newest first.
    for (row, (what, body, _, reason)) in refused.iter().zip(cases.iter().rev()) {
        assert_eq!(row["reason"], *reason, "{what}");
        let detail = t
            .admin_get(&format!("/v1/admin/callbacks/{}", row["id"]))
            .await;
        assert_eq!(
            detail["body"].as_str().unwrap(),
            replaydesk::store::hide_sign(body),
            "{what}: kept as received, sign hidden"
        );
        assert!(row["message_id"].is_null());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.message_count().await, 0, "nothing stored to send");
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    assert!(recordings(&emu, "replay_room42").is_empty());

    // The genuine one still goes through afterwards.
    acknowledged(&t, &good).await;
    assert_eq!(t.message_count().await, 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_callback_key_nothing_verifies_and_oversize_bodies_are_413() {
    let mut t = TestServer::start(|c| c.max_body_bytes = 4096).await;
    t.create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    let (s, v) = t.post(CALLBACK, None, &resigned(mp4(), fresh_t())).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("no_callback_key")),
        "{v}"
    );
    let (s, v) = post_raw(&t, format!("{{\"pad\":\"{}\"}}", "x".repeat(5000))).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );
    let all = callbacks(&t, "").await;
    assert_eq!(statuses(&all), ["refused"], "an oversize body is not kept");
    assert_eq!(all[0]["reason"], "no_callback_key");
    assert_eq!(t.message_count().await, 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_events_are_acknowledged_and_ignored() {
    let mut t = server().await;
    t.create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    let mut push = mp4();
    push["event_type"] = 200.into();
    let push = resigned(push, fresh_t());
    acknowledged(&t, &push).await;
    let items = callbacks(&t, "").await;
    assert_eq!(statuses(&items), ["ignored"]);
    assert!(items[0]["reason"].as_str().unwrap().contains("200"));
    assert!(items[0]["message_id"].is_null());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.message_count().await, 0);
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    assert!(history_data(&emu.history("replay_room42")).is_empty());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t_as_a_string_or_a_number_both_verify() {
    let mut t = server().await;
    t.create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    let now_t = fresh_t();
    // The mp4 fixture sends t as a number; the same body with t as text.
    let mut as_text = mp4();
    as_text["t"] = "0".into();
    let as_text = resigned(as_text, now_t);
    assert!(as_text["t"].is_string());
    acknowledged(&t, &as_text).await;
    // The legacy fixture sends t as text; with t as a number.
    let mut as_number = legacy();
    as_number["t"] = 0.into();
    // Map it by stream_param, as its student has not reported.
    as_number["stream_param"] = "groupid=replay_room42&userid=c3R1ZGVudF93YW5n".into();
    let as_number = resigned(as_number, now_t);
    assert!(as_number["t"].is_i64());
    acknowledged(&t, &as_number).await;

    let items = callbacks(&t, "").await;
    assert_eq!(statuses(&items), ["accepted", "accepted"]);
    assert_eq!(items[0]["uid"], "student_wang");
    assert_eq!(items[1]["uid"], "teacher_li");
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    let got = settled_recordings(&emu, "replay_room42", 2).await;
    let mut uids: Vec<&str> = got.iter().map(|(_, r)| r.uid.as_str()).collect();
    uids.sort_unstable();
    assert_eq!(uids, ["student_wang", "teacher_li"]);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_key_written_with_escapes_is_hidden_as_the_plain_one() {
    let mut t = server().await;
    t.create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    let body = resigned(mp4(), fresh_t());
    let sign = body["sign"].as_str().unwrap().to_owned();
    let text = body.to_string();
    assert!(text.contains("\"sign\":"));
    // JSON reads both keys as `sign`: the callback verifies with either.
    for key in [r#""si\u0067n""#, r#""\u0073\u0069\u0067\u006e""#] {
        let (s, v) = post_raw(&t, text.replacen("\"sign\"", key, 1)).await;
        assert_eq!((s, &v), (200, &json!({"code": 0})), "{key}");
    }
    let items = callbacks(&t, "").await;
    assert_eq!(statuses(&items), ["duplicate", "accepted"]);
    for c in &items {
        let detail = t
            .admin_get(&format!("/v1/admin/callbacks/{}", c["id"]))
            .await;
        for shown in [&detail, c] {
            assert!(
                !shown.to_string().contains(&sign),
                "the sign in clear: {shown}"
            );
        }
        assert!(detail["body"].as_str().unwrap().contains(":\"(hidden)\""));
    }
    t.stop().await;
}
