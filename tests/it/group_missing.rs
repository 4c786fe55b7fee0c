//! A class whose IM group is missing (hole 12): IM's 10010 / 10015 raises a `group_missing`
//! alert naming the class, and `POST /v1/admin/classes/{class_id}/create-group` creates
//! the group, clears the alert and sends again what failed meanwhile. The server in
//! process over real HTTP with a SQLite file, against the IM emulator on loopback.

use crate::util::server::*;
use replaydesk::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use replaydesk::secret::Secret;
use replaydesk::store::{MessageFilter, MessageStatus};
use serde_json::{json, Value};
use std::time::Duration;

const SDKAPPID: u64 = 1_400_000_012;
const KEY: &str = "0f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1";

/// The server sending to an emulator of its own, with class `c1` on group `g_c1`, which
/// was not created in IM.
async fn class_without_group() -> (TestServer, EmulatorHandle, String) {
    let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
    cfg.group_rate = 0;
    let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = emu.base_url();
    let t = TestServer::start(|c| {
        c.im.endpoint = Some(base);
        c.im.sdkappid = Some(SDKAPPID);
        c.im.secret_key = Some(Secret::new(KEY));
    })
    .await;
    let token = t.create_class("c1", "g_c1", "teacher_li", false).await;
    (t, emu, token)
}

async fn count(t: &TestServer, status: MessageStatus) -> i64 {
    t.store()
        .count_messages(&MessageFilter {
            class_id: Some("c1".into()),
            statuses: vec![status],
            ..MessageFilter::default()
        })
        .await
        .unwrap()
}

async fn wait_for(t: &TestServer, status: MessageStatus, n: i64, what: &str) {
    let store = t.store().clone();
    wait_until(Duration::from_secs(15), what, || {
        let store = store.clone();
        async move {
            store
                .count_messages(&MessageFilter {
                    class_id: Some("c1".into()),
                    statuses: vec![status],
                    ..MessageFilter::default()
                })
                .await
                .unwrap()
                == n
        }
    })
    .await;
}

async fn group_missing_alerts(t: &TestServer) -> Vec<Value> {
    t.admin_get("/v1/admin/alerts")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "group_missing")
        .cloned()
        .collect()
}

async fn report_two(t: &TestServer, token: &str) {
    for ts in [1, 2] {
        let (s, v) = t
            .report("c1", token, &json!({"uid": "teacher_li", "timestamp": ts}))
            .await;
        assert_eq!(s, 202, "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_group_raises_one_alert_naming_the_class_and_its_fix() {
    let (t, _emu, token) = class_without_group().await;
    report_two(&t, &token).await;
    wait_for(&t, MessageStatus::Failed, 2, "both messages failed (10010)").await;
    let alerts = group_missing_alerts(&t).await;
    assert_eq!(alerts.len(), 1, "one open alert per class: {alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["class_id"], "c1", "{a}");
    let detail = a["detail"].as_str().unwrap();
    assert!(
        detail.contains("g_c1")
            && detail.contains("10010")
            && detail.contains("/v1/admin/classes/c1/create-group"),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_group_makes_the_group_clears_the_alert_and_sends_what_failed() {
    let (t, emu, token) = class_without_group().await;
    report_two(&t, &token).await;
    wait_for(&t, MessageStatus::Failed, 2, "both messages failed (10010)").await;
    assert_eq!(group_missing_alerts(&t).await.len(), 1);

    let (s, v) = t
        .post("/v1/admin/classes/c1/create-group", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["group_id"], "g_c1", "{v}");
    assert_eq!(v["group_created"], true, "{v}");
    assert_eq!(v["alert_cleared"], true, "{v}");
    assert!(
        v["job"]["id"].is_i64(),
        "a job queues the failed ones again: {v}"
    );
    wait_for(
        &t,
        MessageStatus::Sent,
        2,
        "both messages sent after the fix",
    )
    .await;
    assert_eq!(
        emu.history("g_c1").len(),
        2,
        "each landed once in the new group"
    );
    assert!(group_missing_alerts(&t).await.is_empty(), "alert cleared");

    let audit = t.admin_get("/v1/admin/audit").await;
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "create_group")
        .unwrap_or_else(|| panic!("audited: {audit}"))
        .clone();
    assert_eq!(entry["target"], "class:c1", "{entry}");
    assert_eq!(entry["detail"]["group_created"], true, "{entry}");

    // Again: the group exists, nothing to clear, no job; fine.
    let (s, v) = t
        .post("/v1/admin/classes/c1/create-group", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["group_created"], false, "{v}");
    assert_eq!(v["alert_cleared"], false, "{v}");
    assert!(v["job"].is_null(), "{v}");
    assert_eq!(
        count(&t, MessageStatus::Sent).await,
        2,
        "nothing sent twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_group_for_an_unknown_class_is_404_and_changes_nothing() {
    let (t, emu, _token) = class_without_group().await;
    let (s, v) = t
        .post(
            "/v1/admin/classes/nope/create-group",
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"], "not_found", "{v}");
    assert!(
        emu.create_group_direct("g_c1").is_ok(),
        "the class's group was not created either"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alert_clears_itself_once_a_message_reaches_a_group_made_elsewhere() {
    let (t, emu, token) = class_without_group().await;
    report_two(&t, &token).await;
    wait_for(&t, MessageStatus::Failed, 2, "both messages failed (10010)").await;
    assert_eq!(group_missing_alerts(&t).await.len(), 1);
    // Someone makes the group in IM's own console, then recovers the failed messages.
    emu.create_group_direct("g_c1").unwrap();
    let (s, v) = t
        .post(
            "/v1/admin/recover",
            Some(ADMIN),
            &json!({"since_ms": 0, "class_id": "c1"}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    wait_for(&t, MessageStatus::Sent, 2, "both messages sent").await;
    let store = t.store().clone();
    wait_until(Duration::from_secs(5), "the alert cleared", || {
        let store = store.clone();
        async move {
            !store
                .open_alerts()
                .await
                .unwrap()
                .iter()
                .any(|a| a.kind == "group_missing")
        }
    })
    .await;
}
