//! A class's lifecycle over HTTP: one 1001 and one 1002 per class, a start after the end
//! refused, and an admin's audited reopen as the only way to another pair. The server in
//! process over real HTTP with a SQLite file; one case per behaviour.

use crate::util::server::*;
use replaydesk::protocol::MessageType;
use replaydesk::store::MessageFilter;
use serde_json::{json, Value};

fn ev(uid: &str, ts: i64) -> Value {
    json!({"uid": uid, "timestamp": ts})
}

async fn count_of(t: &TestServer, class_id: &str, ty: MessageType) -> i64 {
    t.store()
        .count_messages(&MessageFilter {
            class_id: Some(class_id.into()),
            types: vec![ty],
            ..MessageFilter::default()
        })
        .await
        .unwrap()
}

async fn started_class(t: &TestServer) -> String {
    let token = t.create_class("c1", "g_c1", "teacher_li", true).await;
    let (s, v) = t
        .post(
            "/v1/classes/c1/start",
            Some(&token),
            &ev("teacher_li", 1000),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_retried_with_a_new_timestamp_adds_no_second_1001() {
    let t = TestServer::start(|_| {}).await;
    let token = started_class(&t).await;
    let first = t.admin_get("/v1/admin/classes/c1").await;
    for (uid, ts) in [
        ("teacher_li", 1001),
        ("teacher_li", 5000),
        ("student_wang", 7),
    ] {
        let (s, v) = t
            .post("/v1/classes/c1/start", Some(&token), &ev(uid, ts))
            .await;
        assert_eq!(s, 202, "a retry is answered like the first: {v}");
    }
    assert_eq!(count_of(&t, "c1", MessageType::ClassStart).await, 1);
    let again = t.admin_get("/v1/admin/classes/c1").await;
    assert_eq!(again["started_at"], first["started_at"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_start_answers_with_the_first_1001() {
    let t = TestServer::start(|_| {}).await;
    let token = t.create_class("c1", "g_c1", "teacher_li", true).await;
    let (_, a) = t
        .post("/v1/classes/c1/start", Some(&token), &ev("teacher_li", 1))
        .await;
    let (_, b) = t
        .post("/v1/classes/c1/start", Some(&token), &ev("teacher_li", 2))
        .await;
    assert_eq!(a["message_id"], b["message_id"]);
    assert_eq!(a["seq"], b["seq"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_retried_with_a_new_timestamp_adds_no_second_1002() {
    let t = TestServer::start(|_| {}).await;
    let token = started_class(&t).await;
    for ts in [2000, 2001, 9000] {
        let (s, v) = t
            .post("/v1/classes/c1/end", Some(&token), &ev("teacher_li", ts))
            .await;
        assert_eq!(s, 202, "{v}");
    }
    assert_eq!(count_of(&t, "c1", MessageType::ClassEnd).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_after_the_end_is_refused_with_409_and_changes_nothing() {
    let t = TestServer::start(|_| {}).await;
    let token = started_class(&t).await;
    let (s, _) = t
        .post("/v1/classes/c1/end", Some(&token), &ev("teacher_li", 2000))
        .await;
    assert_eq!(s, 202);
    let before = t.message_count().await;
    let (s, v) = t
        .post(
            "/v1/classes/c1/start",
            Some(&token),
            &ev("teacher_li", 3000),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let detail = v.to_string();
    assert!(
        detail.contains("has ended") && detail.contains("reopen"),
        "the error says why and what to do: {v}"
    );
    assert_eq!(t.message_count().await, before);
    let class = t.admin_get("/v1/admin/classes/c1").await;
    assert_eq!(class["state"], "ended", "{class}");
    assert_eq!(count_of(&t, "c1", MessageType::ClassStart).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reopen_allows_exactly_one_more_start_and_end_and_is_audited() {
    let t = TestServer::start(|_| {}).await;
    let token = started_class(&t).await;
    // Reopening a class that has not ended is refused.
    let (s, v) = t
        .post("/v1/admin/classes/c1/reopen", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(s, 409, "{v}");
    // Without the admin token: 401, and nothing changes.
    let (s, _) = t
        .post("/v1/admin/classes/c1/reopen", Some(&token), &json!({}))
        .await;
    assert_eq!(s, 401);
    let (s, _) = t
        .post("/v1/classes/c1/end", Some(&token), &ev("teacher_li", 2000))
        .await;
    assert_eq!(s, 202);
    let (s, v) = t
        .post("/v1/admin/classes/c1/reopen", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "created", "{v}");
    assert_eq!(v["reopen_count"], 1, "{v}");
    // One more start and end, retried, give one more 1001 and 1002.
    for ts in [3000, 3001] {
        let (s, v) = t
            .post("/v1/classes/c1/start", Some(&token), &ev("teacher_li", ts))
            .await;
        assert_eq!(s, 202, "{v}");
    }
    for ts in [4000, 4001] {
        let (s, v) = t
            .post("/v1/classes/c1/end", Some(&token), &ev("teacher_li", ts))
            .await;
        assert_eq!(s, 202, "{v}");
    }
    assert_eq!(count_of(&t, "c1", MessageType::ClassStart).await, 2);
    assert_eq!(count_of(&t, "c1", MessageType::ClassEnd).await, 2);
    let audit = t.admin_get("/v1/admin/audit").await;
    let reopen = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "reopen_class")
        .unwrap_or_else(|| panic!("reopen audited: {audit}"));
    assert_eq!(reopen["target"], "class:c1");
    assert_eq!(reopen["actor"].as_str().map(|a| !a.is_empty()), Some(true));
    assert_eq!(reopen["detail"]["previous_state"], "ended", "{reopen}");
    assert!(reopen["detail"]["start_message_id"].is_i64(), "{reopen}");
    // An unknown class: 404.
    let (s, _) = t
        .post("/v1/admin/classes/nope/reopen", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(s, 404);
}
