//! Bulk resend rules over HTTP: only messages not `sent` unless `include_sent`, the count
//! stated first and confirmed, and never across all classes without saying so. The server
//! in process (sandbox IM) over real HTTP with a SQLite file; one case per behaviour.

use crate::util::server::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Two classes with three timeline messages each, all delivered (`sent`).
async fn two_sent_classes() -> TestServer {
    let t = TestServer::start(|_| {}).await;
    for class in ["a", "b"] {
        let token = t
            .create_class(class, &format!("g_{class}"), "teacher_li", true)
            .await;
        for ts in 1..=3 {
            let (s, v) = t
                .report(
                    class,
                    &token,
                    &json!({"uid": "teacher_li", "timestamp": ts}),
                )
                .await;
            assert_eq!(s, 202, "{v}");
        }
    }
    let store = t.store().clone();
    wait_until(Duration::from_secs(15), "all six sent", || {
        let store = store.clone();
        async move {
            store
                .count_messages(&replaydesk::store::MessageFilter {
                    statuses: vec![replaydesk::store::MessageStatus::Sent],
                    ..Default::default()
                })
                .await
                .unwrap()
                == 6
        }
    })
    .await;
    t
}

async fn randoms(t: &TestServer) -> Vec<u32> {
    let page = t
        .store()
        .list_messages(&Default::default(), None, 100)
        .await
        .unwrap();
    page.items.iter().map(|m| m.random).collect()
}

async fn jobs(t: &TestServer) -> usize {
    t.admin_get("/v1/admin/jobs")
        .await
        .as_array()
        .unwrap()
        .len()
}

async fn preview(t: &TestServer, body: Value) -> (u16, Value) {
    t.post("/v1/admin/resend/preview", Some(ADMIN), &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_i64_min_created_from_is_refused_and_resends_nothing() {
    let t = two_sent_classes().await;
    let before = randoms(&t).await;
    for body in [
        json!({"created_from": i64::MIN}),
        json!({"created_from": i64::MIN, "all_classes": true, "include_sent": true, "confirm_count": 6}),
        json!({"class_id": "a", "created_from": -1, "confirm_count": 0}),
    ] {
        let (s, v) = t.post("/v1/admin/resend", Some(ADMIN), &body).await;
        assert_eq!(s, 422, "{body}: {v}");
    }
    let (s, v) = preview(&t, json!({"class_id": "a", "created_from": i64::MIN})).await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["detail"].as_str().unwrap().starts_with("created_from:"),
        "{v}"
    );
    assert_eq!(jobs(&t).await, 0, "no job started");
    assert_eq!(randoms(&t).await, before, "no message given a new Random");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_without_classes_is_refused_unless_all_classes_is_said() {
    let t = two_sent_classes().await;
    // A filter on types only used to pass the empty-filter guard and take every class.
    let (s, v) = t
        .post(
            "/v1/admin/resend",
            Some(ADMIN),
            &json!({"types": ["timeline"], "include_sent": true, "confirm_count": 6}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("all_classes"), "{v}");
    assert_eq!(jobs(&t).await, 0);
    // Said on purpose, it is counted across classes.
    let (s, v) = preview(
        &t,
        json!({"types": ["timeline"], "include_sent": true, "all_classes": true}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["count"], 6);
    // A class list narrows to those classes.
    let (s, v) = preview(&t, json!({"class_ids": ["a"], "include_sent": true})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["count"], 3);
    // Everything of every class, sent included, with nothing to narrow by: refused.
    let (s, v) = preview(&t, json!({"all_classes": true, "include_sent": true})).await;
    assert_eq!(s, 422, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_messages_are_left_alone_unless_include_sent_is_given() {
    let t = two_sent_classes().await;
    let before = randoms(&t).await;
    let (s, v) = preview(&t, json!({"class_id": "a"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["count"], 0, "only messages not sent: {v}");
    let statuses = v["filter"]["statuses"].as_array().unwrap();
    assert!(!statuses.contains(&json!("sent")), "{v}");
    let (s, v) = preview(&t, json!({"class_id": "a", "statuses": ["sent"]})).await;
    assert_eq!(s, 422, "asking for sent needs include_sent: {v}");
    assert!(
        v["detail"].as_str().unwrap().contains("include_sent"),
        "{v}"
    );
    // A job without include_sent finishes with nothing resent.
    let (s, job) = t
        .post(
            "/v1/admin/resend",
            Some(ADMIN),
            &json!({"class_id": "a", "confirm_count": 0}),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    assert_eq!(job["total"], 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(randoms(&t).await, before);
    // With include_sent: the three of class a, each with a new Random.
    let (s, v) = preview(&t, json!({"class_id": "a", "include_sent": true})).await;
    assert_eq!((s, v["count"].clone()), (200, json!(3)), "{v}");
    let (s, job) = t
        .post(
            "/v1/admin/resend",
            Some(ADMIN),
            &json!({"class_id": "a", "include_sent": true, "confirm_count": 3}),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    assert_eq!(job["total"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_resend_states_the_count_first_and_runs_only_on_that_count() {
    let t = two_sent_classes().await;
    let body = json!({"class_id": "b", "include_sent": true});
    // Without the confirmed count: refused, saying the count.
    let (s, v) = t.post("/v1/admin/resend", Some(ADMIN), &body).await;
    assert_eq!(s, 422, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("confirm_count:") && detail.contains("3 messages match"),
        "{v}"
    );
    // A count that is not the current one: 409.
    let mut wrong = body.clone();
    wrong["confirm_count"] = json!(2);
    let (s, v) = t.post("/v1/admin/resend", Some(ADMIN), &wrong).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(jobs(&t).await, 0, "nothing started without the right count");
    // The preview's count, confirmed: the job takes exactly that many.
    let (_, p) = preview(&t, body.clone()).await;
    let mut ok = body.clone();
    ok["confirm_count"] = p["count"].clone();
    let (s, job) = t.post("/v1/admin/resend", Some(ADMIN), &ok).await;
    assert_eq!(s, 202, "{job}");
    assert_eq!(job["total"], p["count"]);
}
