//! The first hour's traps, over real HTTP against the server in process (SQLite file in a
//! temporary directory, the sandbox IM emulator): resending a message already sent needs
//! `{"duplicate": true}` (409 otherwise, nothing changes); "recover failed since" has a
//! preview with its count and a `confirm_count`; assigning a callback to a non-member
//! needs `not_a_member`, and an assignment can be undone until its 1004 is sent; refused
//! callbacks open the `callbacks_refused` alert, which the next accepted one closes.

use crate::util::server::*;
use replaydesk::callback::expected_sign;
use replaydesk::secret::Secret;
use replaydesk::store::{CallbackStatus, MessageStatus, NewCallbackRow};
use serde_json::{json, Value};
use std::time::Duration;

const CALLBACK_KEY: &str = "replaydesk-fixture-callback-key";
const CALLBACK: &str = "/v1/callbacks/recording";

async fn wait_status(t: &TestServer, id: i64, want: MessageStatus) {
    let store = t.store().clone();
    wait_until(
        Duration::from_secs(15),
        &format!("message {id} {want:?}"),
        || {
            let store = store.clone();
            async move { store.message(id).await.unwrap().status == want }
        },
    )
    .await;
}

/// How many times the group holds a message with this protocol `seq`.
fn copies(t: &TestServer, group: &str, seq: i64) -> usize {
    let emu = t.desk.sandbox_emulator().expect("sandbox");
    history_data(&emu.history(group))
        .iter()
        .filter(|d| d.contains(&format!("\"seq\":{seq},")))
        .count()
}

/// The sandbox IM refuses every send for good (10007), or, with `None`, is healthy again.
async fn im_refuses(t: &TestServer, code: Option<u32>) {
    let body = match code {
        Some(c) => json!({"fail_rate": 1.0, "fail_codes": [c]}),
        None => json!({}),
    };
    let (s, v) = t
        .call(
            reqwest::Method::PUT,
            "/v1/admin/sandbox/faults",
            Some(ADMIN),
            Some(&body),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

async fn actions(t: &TestServer) -> Vec<String> {
    t.admin_get("/v1/admin/audit?limit=200").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resending_a_sent_message_is_409_without_duplicate_and_changes_nothing() {
    let mut t = TestServer::start(|_| {}).await;
    let token = t.create_class("c1", "g1", "teacher_a", true).await;
    let (s, v) = t
        .report(
            "c1",
            &token,
            &json!({"uid": "teacher_a", "timestamp": 1000}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let id = v["message_id"].as_i64().unwrap();
    wait_status(&t, id, MessageStatus::Sent).await;
    let before = t.store().message(id).await.unwrap();
    let seq = i64::try_from(before.seq).unwrap();
    assert_eq!(copies(&t, "g1", seq), 1);
    let attempts = t.store().attempts(id).await.unwrap().len();

    let path = format!("/v1/admin/messages/{id}/resend");
    // No body, an empty object, and an explicit false: each is the plain resend, refused.
    for body in [None, Some(json!({})), Some(json!({"duplicate": false}))] {
        let (s, v) = t
            .call(reqwest::Method::POST, &path, Some(ADMIN), body.as_ref())
            .await;
        assert_eq!(s, 409, "{body:?}: {v}");
        assert_eq!(v["error"], "conflict", "{v}");
        let detail = v["detail"].as_str().unwrap();
        assert!(
            detail.contains("already sent") && detail.contains("\"duplicate\": true"),
            "{detail}"
        );
    }
    // A bad body is refused as such.
    let (s, v) = t
        .post(&path, Some(ADMIN), &json!({"duplicate": true, "x": 1}))
        .await;
    assert_eq!(s, 422, "{v}");
    // Nothing changed: same status, Random and attempts, one copy in the group, no audit.
    let after = t.store().message(id).await.unwrap();
    assert_eq!((after.status, after.random), (before.status, before.random));
    assert_eq!(t.store().attempts(id).await.unwrap().len(), attempts);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(copies(&t, "g1", seq), 1);
    assert!(!actions(&t).await.contains(&"resend".to_owned()));

    // Said on purpose: a second copy, with the same seq.
    let (s, v) = t
        .post(&path, Some(ADMIN), &json!({"duplicate": true}))
        .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["queued"], true);
    wait_until(
        Duration::from_secs(15),
        "the second copy in the group",
        || {
            let n = copies(&t, "g1", seq);
            async move { n == 2 }
        },
    )
    .await;
    assert!(actions(&t).await.contains(&"resend".to_owned()));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_has_a_preview_with_its_count_and_a_stale_count_is_409() {
    let mut t = TestServer::start(|_| {}).await;
    let token = t.create_class("b", "gb", "teacher_b", true).await;
    // An IM outage: every send fails for good.
    im_refuses(&t, Some(10007)).await;
    let t0 = now_ms();
    let mut ids = Vec::new();
    for i in 0..3 {
        let (s, v) = t
            .report(
                "b",
                &token,
                &json!({"uid": "teacher_b", "timestamp": 100 + i}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        ids.push(v["message_id"].as_i64().unwrap());
    }
    for &id in &ids {
        wait_status(&t, id, MessageStatus::Failed).await;
    }

    let (s, v) = t
        .post(
            "/v1/admin/recover/preview",
            Some(ADMIN),
            &json!({"since_ms": t0, "class_id": "b"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"count": 3, "since_ms": t0, "class_id": "b"}));
    // Across classes, and since a later time (none failed after it).
    let (_, v) = t
        .post(
            "/v1/admin/recover/preview",
            Some(ADMIN),
            &json!({"since_ms": 0}),
        )
        .await;
    assert_eq!(v["count"], 3, "{v}");
    let (_, v) = t
        .post(
            "/v1/admin/recover/preview",
            Some(ADMIN),
            &json!({"since_ms": now_ms() + 60_000}),
        )
        .await;
    assert_eq!(v["count"], 0, "{v}");
    // Bad requests name what is wrong; none needs a token less.
    for (body, token, want) in [
        (json!({"since_ms": 0, "class_id": "nope"}), Some(ADMIN), 404),
        (json!({"since_ms": -1}), Some(ADMIN), 422),
        (json!({"class_id": "b"}), Some(ADMIN), 422),
        (json!({"since_ms": 0}), None, 401),
    ] {
        let (s, v) = t.post("/v1/admin/recover/preview", token, &body).await;
        assert_eq!(s, want, "{body}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    // The previews changed nothing.
    for &id in &ids {
        assert_eq!(
            t.store().message(id).await.unwrap().status,
            MessageStatus::Failed
        );
    }
    // A count that no longer matches is refused, and nothing is queued.
    let (s, v) = t
        .post(
            "/v1/admin/recover",
            Some(ADMIN),
            &json!({"since_ms": t0, "class_id": "b", "confirm_count": 2}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("3 messages match now"));
    assert!(t
        .admin_get("/v1/admin/jobs")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    // The stated count goes ahead.
    let (s, job) = t
        .post(
            "/v1/admin/recover",
            Some(ADMIN),
            &json!({"since_ms": t0, "class_id": "b", "confirm_count": 3}),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    assert_eq!(job["kind"], "recover_failed");
    t.stop().await;
}

fn callback(file_id: &str, key: &str) -> Value {
    let t = now_ms() / 1000 + 600;
    let stream = format!("1400000001_nowhere_{file_id}_main");
    json!({
        "event_type": 100,
        "appid": 1_400_000_001u64,
        "stream_id": stream,
        "channel_id": stream,
        "stream_param": "groupid=replay_nowhere&userid=bm9ib2R5",
        "file_id": file_id,
        "file_format": "mp4",
        "start_time": t - 1200,
        "end_time": t - 660,
        "duration": 540,
        "file_size": 1000,
        "video_url": format!("https://media.example.com/{file_id}.mp4"),
        "media_start_time": 3000,
        "t": t,
        "sign": expected_sign(&Secret::new(key), &t.to_string()),
    })
}

async fn post_callback(t: &TestServer, body: &Value) -> u16 {
    t.post(CALLBACK, None, body).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_member_needs_saying_so_and_an_assignment_is_undone_until_its_1004_is_sent() {
    let mut t = TestServer::start(|c| c.callback_key = Some(Secret::new(CALLBACK_KEY))).await;
    t.create_class("room43", "replay_room43", "teacher_zhao", true)
        .await;
    // An IM outage: the assigned 1004 fails and stays unsent.
    im_refuses(&t, Some(10007)).await;
    assert_eq!(
        post_callback(&t, &callback("7000000000000000001", CALLBACK_KEY)).await,
        200
    );
    let list = t.admin_get("/v1/admin/callbacks?status=unmatched").await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    let assign = format!("/v1/admin/callbacks/{id}/assign");
    let unassign = format!("/v1/admin/callbacks/{id}/unassign");

    // Not a member: refused with the members named, and nothing made.
    let (s, v) = t
        .post(
            &assign,
            Some(ADMIN),
            &json!({"class_id": "room43", "uid": "teacher_zaho"}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("not a member")
            && detail.contains("teacher_zhao")
            && detail.contains("not_a_member"),
        "{detail}"
    );
    assert_eq!(t.message_count().await, 0);
    // Said on purpose, it goes ahead.
    let (s, v) = t
        .post(
            &assign,
            Some(ADMIN),
            &json!({"class_id": "room43", "uid": "guest_1", "not_a_member": true}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let message_id = v["message"]["id"].as_i64().unwrap();
    wait_status(&t, message_id, MessageStatus::Failed).await;

    // Undone while unsent: unmatched again, the 1004 gone, audited.
    let (s, v) = t.post(&unassign, Some(ADMIN), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["callback"]["status"], "unmatched");
    assert_eq!(v["callback"]["class_id"], Value::Null);
    assert_eq!(v["callback"]["message_id"], Value::Null);
    assert_eq!(v["message_deleted"], message_id);
    assert_eq!(t.message_count().await, 0);
    let (s, _) = t
        .get(&format!("/v1/admin/messages/{message_id}"), Some(ADMIN))
        .await;
    assert_eq!(s, 404);
    let audit = t.admin_get("/v1/admin/audit").await;
    assert_eq!(audit["items"][0]["action"], "unassign_callback");
    assert_eq!(audit["items"][0]["target"], format!("callback:{id}"));
    assert_eq!(audit["items"][0]["detail"]["message_deleted"], true);
    // Only an assigned callback can be unassigned; unknown ids and no token are refused.
    for (path, token, want) in [
        (unassign.clone(), Some(ADMIN), 409),
        (
            "/v1/admin/callbacks/999999/unassign".to_owned(),
            Some(ADMIN),
            404,
        ),
        (unassign.clone(), None, 401),
    ] {
        let (s, v) = t.post(&path, token, &json!({})).await;
        assert_eq!(s, want, "{path}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }

    // Assigned again (to the member); once the IM is back and the 1004 reaches the group,
    // the assignment can no longer be undone, and nothing changes.
    let (s, v) = t
        .post(
            &assign,
            Some(ADMIN),
            &json!({"class_id": "room43", "uid": "teacher_zhao"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let message_id = v["message"]["id"].as_i64().unwrap();
    wait_status(&t, message_id, MessageStatus::Failed).await;
    im_refuses(&t, None).await;
    let (s, v) = t
        .post(
            &format!("/v1/admin/messages/{message_id}/resend"),
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    wait_status(&t, message_id, MessageStatus::Sent).await;
    let (s, v) = t.post(&unassign, Some(ADMIN), &json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("already in the group"),
        "{v}"
    );
    let now = t.admin_get(&format!("/v1/admin/callbacks/{id}")).await;
    assert_eq!(
        (now["status"].as_str(), now["message_id"].as_i64()),
        (Some("assigned"), Some(message_id))
    );
    assert_eq!(t.message_count().await, 1);
    t.stop().await;
}

async fn alerts(t: &TestServer) -> Vec<Value> {
    t.admin_get("/v1/admin/alerts")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "callbacks_refused")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_refused_callbacks_in_ten_minutes_open_an_alert_that_the_next_accepted_one_closes() {
    let mut t = TestServer::start(|c| c.callback_key = Some(Secret::new(CALLBACK_KEY))).await;
    // Refusals older than ten minutes do not count.
    for _ in 0..4 {
        t.store()
            .record_callback(&NewCallbackRow {
                source: replaydesk::store::CallbackSource::Css,
                received_at: now_ms() - 11 * 60 * 1000,
                body: b"{}",
                body_bytes: 2,
                status: CallbackStatus::Refused,
                reason: Some("bad_sign"),
                file_key: None,
            })
            .await
            .unwrap();
    }
    // Four recent ones, signed with another key: still no alert.
    for k in 0..4 {
        let body = callback(&format!("700000000000000010{k}"), "a-wrong-key");
        assert_eq!(post_callback(&t, &body).await, 401);
    }
    assert!(alerts(&t).await.is_empty());
    // The fifth opens it, with the likely cause.
    assert_eq!(
        post_callback(&t, &callback("7000000000000000109", "a-wrong-key")).await,
        401
    );
    let open = alerts(&t).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let detail = open[0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("5 recording callbacks refused in the last 10 minutes (5 bad_sign)")
            && detail.contains("callback key"),
        "{detail}"
    );
    // Monitoring sees the same alert.
    let res = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap();
    let metrics = res.text().await.unwrap();
    assert!(
        metrics.contains("replaydesk_alert_open{kind=\"callbacks_refused\"} 1"),
        "{metrics}"
    );
    // More refusals keep the one alert.
    assert_eq!(
        post_callback(&t, &callback("7000000000000000110", "a-wrong-key")).await,
        401
    );
    assert_eq!(alerts(&t).await.len(), 1);
    // A callback with the right key is accepted (unmatched: no class) and closes it.
    assert_eq!(
        post_callback(&t, &callback("7000000000000000111", CALLBACK_KEY)).await,
        200
    );
    assert!(alerts(&t).await.is_empty());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_callback_key_the_alert_says_so() {
    let mut t = TestServer::start(|c| c.callback_key = None).await;
    for k in 0..5 {
        let body = callback(&format!("700000000000000020{k}"), "any");
        assert_eq!(post_callback(&t, &body).await, 401);
    }
    let open = alerts(&t).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let detail = open[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("5 no_callback_key") && detail.contains("no callback key is configured"),
        "{detail}"
    );
    t.stop().await;
}
