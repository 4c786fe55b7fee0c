//! Alignment, reconcile and export through the HTTP admin API, against a real server
//! (sandbox IM emulator, SQLite file) over loopback.

#[path = "server/util.rs"]
mod util;

use serde_json::json;
use std::time::Duration;
use util::*;

#[tokio::test]
async fn class_alignment_from_the_log_names_pairs_rtt_source_and_event_times() {
    let mut t = TestServer::start(|_| {}).await;
    let token = t
        .create_class("room7", "replay_room7", "teacher_li", true)
        .await;
    let c0: u64 = 5_000_000;
    let (s, v) = t
        .report(
            "room7",
            &token,
            &json!({"uid": "teacher_li", "timestamp": c0, "rtt_ms": 80}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let time_line = v["time_line"].as_i64().unwrap();
    for (path, ts) in [("start", c0 + 5), ("end", c0 + 10)] {
        let (s, v) = t
            .post(
                &format!("/v1/classes/room7/{path}"),
                Some(&token),
                &json!({"uid": "teacher_li", "timestamp": ts}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    let store = t.store().clone();
    wait_until(Duration::from_secs(10), "three messages sent", || {
        let store = store.clone();
        async move {
            let f = replaydesk::store::MessageFilter {
                statuses: vec![replaydesk::store::MessageStatus::Sent],
                ..Default::default()
            };
            store.count_messages(&f).await.unwrap() == 3
        }
    })
    .await;

    let a = t.admin_get("/v1/admin/classes/room7/alignment").await;
    assert_eq!(a["source"], "log");
    assert_eq!(a["class_id"], "room7");
    assert_eq!(a["group_id"], "replay_room7");
    let seg = &a["users"][0]["segments"][0];
    assert_eq!(a["users"][0]["uid"], "teacher_li");
    assert_eq!(seg["server_ms"], time_line);
    assert_eq!(seg["offset_ms"], time_line - c0 as i64);
    assert_eq!(seg["precision"], "measured");
    assert_eq!(seg["rtt_source"], "client");
    assert_eq!(seg["uncertainty_ms"], 40);
    assert_eq!(a["events"][0]["event"]["kind"], "class_start");
    assert_eq!(a["events"][0]["server_ms"], time_line + 5);
    assert_eq!(a["events"][1]["server_ms"], time_line + 10);
    assert_eq!(a["diagnostics"], json!([]), "a clean class has no findings");

    let (s, e) = t.get("/v1/admin/classes/nope/alignment", Some(ADMIN)).await;
    assert_eq!((s, e["error"].as_str()), (404, Some("not_found")));
    let (s, _) = t.get("/v1/admin/classes/room7/alignment", None).await;
    assert_eq!(s, 401);
    t.stop().await;
}
