//! Three `replaydesk serve` processes on one PostgreSQL database, clients spread across
//! them, one node SIGKILLed mid-run and started again: every report a node answered 202 is
//! in its group exactly once (read back through the IM's `group_msg_get_simple`), and the
//! nodes together never went over the IM's frequency limits (zero frequency errors).
//!
//! Needs `REPLAYDESK_TEST_PG` (skipped with the reason otherwise; never under CI=true).
#![cfg(unix)]

use crate::util;
use replaydesk::emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultConfig};
use replaydesk::im::client::{ImClient, ImConfig};
use replaydesk::protocol::{classify, HistoryItem};
use replaydesk::secret::Secret;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const SDKAPPID: u64 = 1_400_000_013;
const KEY: &str = "3f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1";
const ADMIN: &str = "multinode-admin-token-0123456789";
const NODES: usize = 3;
const CLASSES: usize = 3;
const CLIENTS: usize = 9;
const PER_CLIENT: usize = 60;
/// The kill lands once this many reports have been answered.
const KILL_AFTER: usize = 150;

/// A `replaydesk serve` child, killed if the test ends early.
struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn start_node(dir: &Path, db: &Path, emu: &EmulatorHandle, n: usize) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_replaydesk"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .current_dir(dir)
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN)
        .env("REPLAYDESK_IM_ENDPOINT", emu.base_url())
        .env("REPLAYDESK_IM_SDKAPPID", SDKAPPID.to_string())
        .env("REPLAYDESK_IM_SECRET_KEY", KEY)
        // The IM's own limits (200/s per app, 40/s per group), held by all nodes together.
        .env("REPLAYDESK_DELIVERY_APP_RATE", "200")
        .env("REPLAYDESK_DELIVERY_GROUP_RATE", "40")
        // A load run: every client reports far faster than a classroom client.
        .env("REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL", "0")
        .env("REPLAYDESK_LIMITS_REPORTS_PER_CLASS", "0")
        .env("REPLAYDESK_DELIVERY_CONCURRENCY", "16")
        // The killed node's messages in flight are taken back by the others after this.
        .env("REPLAYDESK_DELIVERY_LEASE", "2s")
        .env(
            "REPLAYDESK_DELIVERY_RETRY_SCHEDULE",
            "100ms,200ms,400ms,800ms,1s,1s,1s,1s,1s,1s",
        )
        .env("REPLAYDESK_DB_POOL", "5")
        .env("REPLAYDESK_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("replaydesk serve starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Reads the log for the address, then keeps draining it so the child never blocks.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["fields"]["message"] == "replaydesk serving" {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(v["fields"]["addr"].as_str().unwrap_or_default().to_owned());
                }
            } else if v["level"] == "ERROR" {
                eprintln!("node {n}: {line}");
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("serve logs its address");
    Node {
        child,
        base: format!("http://{addr}"),
    }
}

/// Every protocol `seq` in the group with how often it occurs, read page by page through
/// `group_msg_get_simple` (paced well under the app's limit).
async fn group_seqs(im: &ImClient, group: &str) -> HashMap<u64, usize> {
    let mut out = HashMap::new();
    let mut newest: Option<u64> = None;
    loop {
        let page = im
            .group_msg_get_simple(group, newest)
            .await
            .expect("group_msg_get_simple answers")
            .body;
        for m in &page.rsp_msg_list {
            if let HistoryItem::Protocol(p) = classify(m) {
                *out.entry(p.seq.get()).or_default() += 1;
            }
        }
        let oldest = page.rsp_msg_list.iter().map(|m| m.msg_seq).min();
        match oldest {
            Some(s) if page.is_finished != 1 && s > 1 => newest = Some(s - 1),
            _ => return out,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_one_killed_every_answered_report_once_and_no_frequency_errors() {
    let Some(test_db) = util::engines::postgres("three_nodes_one_killed").await else {
        return;
    };
    let db = test_db.db();
    let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
    // Slow answers and a few lost after the message was stored: attempts are in flight
    // when the kill lands, and some outcomes are unknown.
    cfg.faults = FaultConfig {
        latency_ms: 20,
        latency_jitter_ms: 20,
        lost_response_rate: 0.03,
        ..FaultConfig::none()
    };
    let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut nodes: Vec<Node> = (0..NODES)
        .map(|n| start_node(dir.path(), &db, &emu, n))
        .collect();
    let bases = Arc::new(Mutex::new(
        nodes.iter().map(|n| n.base.clone()).collect::<Vec<_>>(),
    ));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // Each class is made on a different node; every node serves all of them.
    let tokens = create_classes(&http, &nodes, "room", CLASSES).await;

    // Client c reports to class c / 3 through node c % 3: each class hears from every node.
    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (http, bases, token, answered) = (
            http.clone(),
            bases.clone(),
            tokens[c / NODES].clone(),
            answered.clone(),
        );
        let class = c / NODES;
        clients.push(tokio::spawn(async move {
            let mut accepted: Vec<(usize, u64)> = Vec::new();
            for i in 0..PER_CLIENT {
                let base = bases.lock().unwrap()[c % NODES].clone();
                let res = http
                    .post(format!("{base}/v1/classes/room{class}/timeline"))
                    .bearer_auth(&token)
                    .json(&json!({"uid": format!("student_{c}"), "timestamp": 1_000_000 + i, "rtt_ms": 4}))
                    .send()
                    .await;
                // A refused connection or a cut answer (the killed node) is a report not
                // answered: the client would send it again; it is not counted here.
                let Ok(res) = res else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if res.status() != 202 {
                    continue;
                }
                let Ok(v) = res.json::<Value>().await else { continue };
                accepted.push((class, v["seq"].as_u64().unwrap()));
                answered.fetch_add(1, Ordering::SeqCst);
            }
            accepted
        }));
    }
    let start = Instant::now();
    while answered.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "reports too slow"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // SIGKILL node 1 mid-run (Child::kill is SIGKILL on Unix), and start it again.
    nodes[1].child.kill().expect("SIGKILL");
    let status = nodes[1].child.wait().unwrap();
    assert!(!status.success(), "killed, not exited: {status:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    nodes[1] = start_node(dir.path(), &db, &emu, 1);
    bases.lock().unwrap()[1] = nodes[1].base.clone();

    let mut accepted = Vec::new();
    for c in clients {
        accepted.extend(c.await.unwrap());
    }
    eprintln!(
        "{} of {} reports answered 202 across {NODES} nodes (one killed and restarted)",
        accepted.len(),
        CLIENTS * PER_CLIENT
    );
    assert!(accepted.len() >= KILL_AFTER);

    // Wait (cheaply, in process) until every answered report is in its group.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let missing = accepted
            .iter()
            .filter(|(class, seq)| {
                !emu.history(&format!("replay_room{class}"))
                    .iter()
                    .any(|m| matches!(classify(m), HistoryItem::Protocol(p) if p.seq.get() == *seq))
            })
            .count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} answered reports never reached their group"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Let any straggler (a duplicate would be one) arrive before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stats = emu.stats();
    assert_eq!(
        (stats.app_rate_limited, stats.group_rate_limited),
        (0, 0),
        "the nodes together stayed within the IM's limits"
    );

    // What the kill left in flight: taken back by the other nodes once its lease ended.
    let store = replaydesk::store::Store::open(&db).await.unwrap();
    let page = store
        .list_messages(&Default::default(), None, 1000)
        .await
        .unwrap();
    let mut interrupted = 0;
    for m in &page.items {
        interrupted += store
            .attempts(m.id)
            .await
            .unwrap()
            .iter()
            .filter(|a| a.outcome == replaydesk::store::AttemptOutcome::Interrupted)
            .count();
    }
    eprintln!("{interrupted} attempts were in flight on the killed node and taken back");
    store.close().await;

    // The check proper, through the IM's REST API.
    let im = ImClient::new({
        let mut c = ImConfig::new(emu.base_url(), SDKAPPID, "administrator", Secret::new(KEY));
        c.timeout = Duration::from_secs(5);
        c
    })
    .unwrap();
    for class in 0..CLASSES {
        let seen = group_seqs(&im, &format!("replay_room{class}")).await;
        let mine: Vec<u64> = accepted
            .iter()
            .filter(|(c, _)| *c == class)
            .map(|(_, s)| *s)
            .collect();
        for s in &mine {
            assert_eq!(seen.get(s), Some(&1), "room{class}: seq {s} exactly once");
        }
        assert!(seen.values().all(|n| *n == 1), "room{class}: no seq twice");
    }
}

/// The one-node / three-node figures of docs/benchmarks.md (not a check: `cargo test -p replaydesk
/// --test multinode_pg -- --ignored --nocapture`). Thirty clients send 3,000 timeline
/// reports to ten classes, spread over the nodes; the IM emulator answers in 20–40 ms at
/// its default limits (200/s per app, 40/s per group). Prints the intake rate (reports
/// answered 202 a second) and the delivery rate (messages in their groups a second, from
/// the first report to the last message) for one node and for three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand, figures in docs/benchmarks.md"]
async fn throughput_one_node_vs_three() {
    const BENCH_CLASSES: usize = 10;
    const BENCH_CLIENTS: usize = 30;
    const BENCH_PER_CLIENT: usize = 100;
    for nodes_n in [1usize, 3] {
        let Some(test_db) = util::engines::postgres("throughput_nodes").await else {
            return;
        };
        let db = test_db.db();
        let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
        cfg.faults = FaultConfig {
            latency_ms: 20,
            latency_jitter_ms: 20,
            ..FaultConfig::none()
        };
        let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let nodes: Vec<Node> = (0..nodes_n)
            .map(|n| start_node(dir.path(), &db, &emu, n))
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let tokens = create_classes(&http, &nodes, "b", BENCH_CLASSES).await;
        let start = Instant::now();
        let mut clients = Vec::new();
        for c in 0..BENCH_CLIENTS {
            let (http, base, token) = (
                http.clone(),
                nodes[c % nodes_n].base.clone(),
                tokens[c % BENCH_CLASSES].clone(),
            );
            let class = c % BENCH_CLASSES;
            clients.push(tokio::spawn(async move {
                let mut ok = 0usize;
                for i in 0..BENCH_PER_CLIENT {
                    let res = http
                        .post(format!("{base}/v1/classes/b{class}/timeline"))
                        .bearer_auth(&token)
                        .json(&json!({"uid": format!("s{c}"), "timestamp": 1_000_000 + i, "rtt_ms": 4}))
                        .send()
                        .await
                        .unwrap();
                    ok += usize::from(res.status() == 202);
                }
                ok
            }));
        }
        let mut answered = 0;
        for c in clients {
            answered += c.await.unwrap();
        }
        let intake = start.elapsed();
        loop {
            let stored: usize = (0..BENCH_CLASSES)
                .map(|c| emu.history(&format!("replay_b{c}")).len())
                .sum();
            if stored >= answered {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(600),
                "delivery too slow"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let delivered = start.elapsed();
        let stats = emu.stats();
        eprintln!(
            "| {nodes_n} | {answered} | {:.0} | {:.0} | {} |",
            answered as f64 / intake.as_secs_f64(),
            answered as f64 / delivered.as_secs_f64(),
            stats.app_rate_limited + stats.group_rate_limited
        );
        drop(nodes);
    }
}

/// Creates classes `{prefix}0..` (group `replay_{prefix}N`) round-robin over the nodes, each
/// made on a different node; answers their report tokens in order.
async fn create_classes(
    http: &reqwest::Client,
    nodes: &[Node],
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let mut tokens = Vec::new();
    for c in 0..count {
        let res = http
            .post(format!("{}/v1/classes", nodes[c % nodes.len()].base))
            .bearer_auth(ADMIN)
            .json(&json!({"class_id": format!("{prefix}{c}"), "group_id": format!("replay_{prefix}{c}"), "teacher_uid": "teacher_li", "create_group": true, "legacy_class_token": true, "open_enrolment": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        tokens.push(
            res.json::<Value>().await.unwrap()["report_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    tokens
}
