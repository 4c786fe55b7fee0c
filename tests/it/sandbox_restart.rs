//! `replaydesk serve` in sandbox mode as a real process: what it sent to the built-in IM
//! emulator is still in the group after a restart (the groups are kept in
//! `<db>.im-emulator.db`), so reconcile after the restart reports nothing missing.
#![cfg(unix)]

use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::process::{sigterm_and_wait, ServeCommand, Served};

const ADMIN: &str = "sandbox-restart-admin-token-0123";
const REPORTS: u64 = 40;

/// `replaydesk serve` in sandbox mode over `dir/replaydesk.db`.
fn serve(dir: &Path) -> Served {
    ServeCommand::new(dir, &dir.join("replaydesk.db"))
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN)
        .spawn()
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    let res = http.get(url).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_sandbox_group_still_holds_what_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut first = serve(dir.path());
    let res = http
        .post(format!("{}/v1/classes", first.base))
        .bearer_auth(ADMIN)
        .json(
            &json!({"class_id": "room3", "group_id": "replay_room3", "teacher_uid": "teacher_li",
                       "create_group": true, "legacy_class_token": true, "open_enrolment": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let token = res.json::<Value>().await.unwrap()["report_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..REPORTS {
        let res = http
            .post(format!("{}/v1/classes/room3/timeline", first.base))
            .bearer_auth(&token)
            .json(&json!({"uid": format!("u{}", i % 5), "timestamp": 1_000_000 + i * 1000, "rtt_ms": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 202);
    }
    let start = Instant::now();
    loop {
        let c = get(&http, format!("{}/v1/admin/classes/room3", first.base)).await;
        if c["counts"]["sent"] == REPORTS {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not all sent: {c}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sigterm_and_wait(&mut first.child, Duration::from_secs(60)).success());
    assert!(
        dir.path().join("replaydesk.db.im-emulator.db").is_file(),
        "the sandbox's groups are kept beside the database"
    );

    let second = serve(dir.path());
    let res = http
        .post(format!("{}/v1/admin/classes/room3/reconcile", second.base))
        .bearer_auth(ADMIN)
        .json(&json!({"pages_per_second": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let start = Instant::now();
    let run = loop {
        let r = get(
            &http,
            format!("{}/v1/admin/classes/room3/reconcile", second.base),
        )
        .await;
        if r["state"] != "running" {
            break r;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(run["state"], "finished", "{run}");
    let report = &run["report"];
    assert_eq!(report["missing"], json!([]), "{report}");
    assert_eq!(report["foreign"], json!([]), "{report}");
    assert_eq!(report["holes"], json!([]), "{report}");
    assert_eq!(report["matched"], REPORTS, "{report}");
    // The group kept counting from where it was: a new message takes the next MsgSeq.
    let res = http
        .post(format!("{}/v1/classes/room3/timeline", second.base))
        .bearer_auth(&token)
        .json(&json!({"uid": "u0", "timestamp": 9_000_000u64, "rtt_ms": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let start = Instant::now();
    loop {
        let page = get(
            &http,
            format!("{}/v1/admin/classes/room3/messages?limit=1", second.base),
        )
        .await;
        let m = &page["items"][0];
        if m["status"] == "sent" {
            assert_eq!(m["im_msg_seq"], REPORTS + 1, "{m}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
