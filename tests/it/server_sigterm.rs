//! `replaydesk serve` as a real process, stopped by SIGTERM in the middle of a stream of
//! timeline reports and started again on the same database: every report it answered 202
//! ends up in the group exactly once.
#![cfg(unix)]

use crate::util::process::{sigterm_and_wait, ServeCommand, Served};
use replaydesk::emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultConfig};
use replaydesk::protocol::{classify, HistoryItem};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SDKAPPID: u64 = 1_400_000_003;
const KEY: &str = "7f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1";
const ADMIN: &str = "sigterm-admin-token-0123456789";
const CLIENTS: usize = 10;
const PER_CLIENT: usize = 100;
/// SIGTERM goes out once this many reports have been answered.
const TERM_AFTER: usize = 300;

fn serve(dir: &Path, emu: &EmulatorHandle) -> Served {
    let db = dir.join("replaydesk.db");
    ServeCommand::new(dir, &db)
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN)
        .env("REPLAYDESK_IM_ENDPOINT", emu.base_url())
        .env("REPLAYDESK_IM_SDKAPPID", SDKAPPID.to_string())
        .env("REPLAYDESK_IM_SECRET_KEY", KEY)
        .env("REPLAYDESK_DELIVERY_GROUP_RATE", "0")
        // A load run: every client reports far faster than a classroom client.
        .env("REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL", "0")
        .env("REPLAYDESK_LIMITS_REPORTS_PER_CLASS", "0")
        .env("REPLAYDESK_DELIVERY_APP_RATE", "0")
        // Few attempts at once against a slow IM: a backlog is left when SIGTERM comes.
        .env("REPLAYDESK_DELIVERY_CONCURRENCY", "4")
        .env(
            "REPLAYDESK_DELIVERY_RETRY_SCHEDULE",
            "100ms,200ms,400ms,800ms,1s,1s,1s,1s",
        )
        .spawn()
}

fn seq_occurrences(emu: &EmulatorHandle, group: &str) -> HashMap<u64, usize> {
    let mut out = HashMap::new();
    for m in emu.history(group) {
        if let HistoryItem::Protocol(p) = classify(&m) {
            *out.entry(p.seq.get()).or_default() += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_loses_nothing_answered_and_duplicates_nothing() {
    let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
    cfg.group_rate = 0;
    cfg.app_rate = 0;
    // Slow answers, and some lost after the message was stored (the sender cannot tell).
    cfg.faults = FaultConfig {
        latency_ms: 40,
        latency_jitter_ms: 20,
        lost_response_rate: 0.05,
        ..FaultConfig::none()
    };
    let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut first = serve(dir.path(), &emu);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let res = http
        .post(format!("{}/v1/classes", first.base))
        .bearer_auth(ADMIN)
        .json(&json!({"class_id": "live", "group_id": "replay_live", "teacher_uid": "teacher_li", "create_group": true, "legacy_class_token": true, "open_enrolment": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = res.json::<Value>().await.unwrap()["report_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // 1,000 reports from 10 concurrent clients; SIGTERM once 300 are answered.
    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (http, base, token, answered) = (
            http.clone(),
            first.base.clone(),
            token.clone(),
            answered.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut accepted: Vec<(i64, u64)> = Vec::new();
            for i in 0..PER_CLIENT {
                let res = http
                    .post(format!("{base}/v1/classes/live/timeline"))
                    .bearer_auth(&token)
                    .json(&json!({"uid": format!("student_{c}"), "timestamp": 1_000_000 + i, "rtt_ms": 4}))
                    .send()
                    .await;
                // Refused connections and cut responses are reports not answered.
                let Ok(res) = res else { continue };
                if res.status() != 202 {
                    assert!(res.status().is_server_error() || res.status() == 503, "unexpected {}", res.status());
                    continue;
                }
                let Ok(v) = res.json::<Value>().await else { continue };
                accepted.push((v["message_id"].as_i64().unwrap(), v["seq"].as_u64().unwrap()));
                answered.fetch_add(1, Ordering::SeqCst);
            }
            accepted
        }));
    }
    let start = Instant::now();
    while answered.load(Ordering::SeqCst) < TERM_AFTER {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "reports too slow"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let status =
        tokio::task::block_in_place(|| sigterm_and_wait(&mut first.child, Duration::from_secs(60)));
    assert!(
        status.success(),
        "serve exits cleanly on SIGTERM: {status:?}"
    );
    let mut accepted = Vec::new();
    for c in clients {
        accepted.extend(c.await.unwrap());
    }
    let total = accepted.len();
    eprintln!(
        "{total} of {} reports answered 202 before the server stopped",
        CLIENTS * PER_CLIENT
    );
    assert!(total >= TERM_AFTER);
    let ids: std::collections::HashSet<i64> = accepted.iter().map(|a| a.0).collect();
    assert_eq!(ids.len(), total, "every answered report is its own message");
    let seen = seq_occurrences(&emu, "replay_live");
    let backlog = accepted
        .iter()
        .filter(|(_, seq)| !seen.contains_key(seq))
        .count();
    eprintln!("{backlog} answered reports not yet in the group when the server stopped");
    assert!(backlog > 0, "the restart has something to deliver");

    // Started again on the same database: whatever was not sent yet goes out now.
    let mut second = serve(dir.path(), &emu);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let seen = seq_occurrences(&emu, "replay_live");
        if accepted.iter().all(|(_, seq)| seen.contains_key(seq)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "answered reports missing from the group after restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let any straggler (a duplicate would be one) arrive before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = seq_occurrences(&emu, "replay_live");
    for (id, seq) in &accepted {
        assert_eq!(
            seen.get(seq),
            Some(&1),
            "message {id} (seq {seq}) exactly once in the group"
        );
    }
    assert!(seen.values().all(|n| *n == 1), "no seq twice in the group");

    // The restarted server still knows the class and its token.
    let res = http
        .post(format!("{}/v1/classes/live/timeline", second.base))
        .bearer_auth(&token)
        .json(&json!({"uid": "teacher_li", "timestamp": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let status = tokio::task::block_in_place(|| {
        sigterm_and_wait(&mut second.child, Duration::from_secs(60))
    });
    assert!(status.success(), "{status:?}");
}
