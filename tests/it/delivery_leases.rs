//! Leases: two workers on one SQLite file never take each other's messages in flight, and a
//! message whose worker stalled (cannot record its attempt) is taken back while running.
//! Real SQLite file, the real `replaydesk deliver` binary, the IM emulator over loopback.

use crate::util::*;
use replaydesk::emulator::FaultConfig;
use replaydesk::store::{AttemptOutcome, MessageStatus, Store};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn spawn_deliver(db: &Path, endpoint: &str, lease: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_replaydesk"))
        .args(["deliver", "--db"])
        .arg(db)
        .args([
            "--im-endpoint",
            endpoint,
            "--sdkappid",
            &SDKAPPID.to_string(),
            "--schedule",
            "20ms,50ms,100ms,200ms,300ms,500ms",
            "--lease",
            lease,
        ])
        .env("REPLAYDESK_IM_SECRET_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("replaydesk deliver starts")
}

fn sent_attempts(stats: &replaydesk::delivery::StatsSnapshot) -> u64 {
    stats
        .attempts_by_outcome
        .iter()
        .filter(|(o, _)| *o == AttemptOutcome::Sent)
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_started_beside_a_running_worker_sends_nothing_twice() {
    // Slow answers, so many attempts are in flight in worker A when worker B starts — the
    // moment B used to flip all of A's `sending` rows and send them again.
    let emu = start_emulator(|c| {
        c.faults = FaultConfig {
            latency_ms: 60,
            latency_jitter_ms: 40,
            ..FaultConfig::none()
        };
    })
    .await;
    let mut a = Harness::start(im_config(&emu, KEY), fast_config()).await;
    let mut expected = Vec::new();
    for g in 0..8 {
        let (class, group) = (format!("two-{g}"), format!("replay_two_{g}"));
        emu.create_group_direct(&group).unwrap();
        create_class(&a.store, &class, &group).await;
        for i in 0..60u64 {
            let m = enqueue_timeline(&a.store, &class, &group, "teacher_li", i).await;
            expected.push((group.clone(), m.seq));
        }
    }
    a.delivery.wake();
    wait_until(Duration::from_secs(30), "worker A under way", || async {
        count_status(&a.store, MessageStatus::Sending).await > 5
    })
    .await;
    let in_flight_at_b_start = count_status(&a.store, MessageStatus::Sending).await;
    let mut b = spawn_deliver(&a.db, &emu.base_url(), "30s");
    let total = expected.len() as i64;
    wait_until(Duration::from_secs(90), "every message sent", || async {
        count_status(&a.store, MessageStatus::Sent).await == total
    })
    .await;
    b.kill().ok();
    b.wait().ok();

    let stats = emu.stats();
    assert_eq!(
        stats.duplicates_absorbed, 0,
        "a message was sent twice ({in_flight_at_b_start} in flight when B started): {stats:?}"
    );
    for (group, seq) in &expected {
        assert_eq!(
            seq_occurrences(&emu, group).get(seq),
            Some(&1),
            "seq {seq} exactly once in {group}"
        );
    }
    // One attempt per message, `sent`, and none taken over: no `sent` was overwritten.
    let page = a
        .store
        .list_messages(&Default::default(), None, 1000)
        .await
        .unwrap();
    assert_eq!(page.items.len() as i64, total);
    for m in &page.items {
        assert_eq!(m.status, MessageStatus::Sent);
        let attempts = a.store.attempts(m.id).await.unwrap();
        assert_eq!(attempts.len(), 1, "message {}: {attempts:?}", m.id);
        assert_eq!(attempts[0].outcome, AttemptOutcome::Sent);
    }
    // Both workers did part of the work.
    let by_a = sent_attempts(&a.delivery.stats());
    assert!(
        by_a > 0 && (by_a as i64) < total,
        "A sent {by_a} of {total}; B sent the rest"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_delivery_workers_on_one_file_share_the_outbox_without_duplicates() {
    let emu = start_emulator(|c| {
        c.faults = FaultConfig {
            latency_ms: 20,
            latency_jitter_ms: 20,
            ..FaultConfig::none()
        };
    })
    .await;
    let mut a = Harness::start(im_config(&emu, KEY), fast_config()).await;
    // Worker B: its own pool on the same file, started while A runs.
    let store_b = Store::open(&a.db).await.unwrap();
    let im_b =
        std::sync::Arc::new(replaydesk::im::client::ImClient::new(im_config(&emu, KEY)).unwrap());
    let b = replaydesk::delivery::Delivery::new(store_b.clone(), im_b, fast_config());
    assert_ne!(
        a.delivery.lease_owner(),
        b.lease_owner(),
        "same node_id, distinct owners"
    );
    let worker_b = b.start().await.unwrap();
    let mut expected = Vec::new();
    for g in 0..6 {
        let (class, group) = (format!("pair-{g}"), format!("replay_pair_{g}"));
        emu.create_group_direct(&group).unwrap();
        create_class(&a.store, &class, &group).await;
        for i in 0..50u64 {
            let m = enqueue_timeline(&a.store, &class, &group, "student_wang", i).await;
            expected.push((group.clone(), m.seq));
            if i % 10 == 0 {
                a.delivery.wake();
                b.wake();
            }
        }
    }
    let total = expected.len() as i64;
    wait_until(Duration::from_secs(90), "every message sent", || async {
        count_status(&a.store, MessageStatus::Sent).await == total
    })
    .await;
    assert_eq!(emu.stats().duplicates_absorbed, 0, "{:?}", emu.stats());
    for (group, seq) in &expected {
        assert_eq!(seq_occurrences(&emu, group).get(seq), Some(&1));
    }
    let (sa, sb) = (
        sent_attempts(&a.delivery.stats()),
        sent_attempts(&b.stats()),
    );
    assert_eq!(
        (sa + sb) as i64,
        total,
        "one attempt per message: A {sa}, B {sb}"
    );
    b.shutdown(worker_b, Duration::from_secs(5)).await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_whose_attempt_cannot_be_recorded_is_taken_back_while_running() {
    let emu = start_emulator(|_| {}).await;
    emu.create_group_direct("replay_stall").unwrap();
    let config = replaydesk::delivery::DeliveryConfig {
        lease: Duration::from_millis(600),
        ..fast_config()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    let store = Store::open(&db).await.unwrap();
    create_class(&store, "stall", "replay_stall").await;
    let stuck = enqueue_timeline(&store, "stall", "replay_stall", "teacher_li", 1).await;
    // The disk trouble: every attempt row for this message is refused, except the
    // `interrupted` one written when its lease is taken back.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(&format!(
        "CREATE TRIGGER refuse_attempts BEFORE INSERT ON attempts \
         WHEN NEW.message_id = {} AND NEW.outcome <> 'interrupted' \
         BEGIN SELECT RAISE(ABORT, 'disk trouble'); END",
        stuck.id
    ))
    .execute(&pool)
    .await
    .unwrap();

    let mut h = Harness::start_at(dir, db, im_config(&emu, KEY), config).await;
    // Taken back while the worker keeps running — no restart.
    wait_until(
        Duration::from_secs(20),
        "the stalled message taken back",
        || async {
            h.store
                .attempts(stuck.id)
                .await
                .unwrap()
                .iter()
                .any(|a| a.outcome == AttemptOutcome::Interrupted)
        },
    )
    .await;
    // The trouble passes; the message ends `sent`, once in the group (same Random: the
    // repeated sends were absorbed by the service's duplicate filter).
    sqlx::query("DROP TRIGGER refuse_attempts")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    wait_until(Duration::from_secs(20), "the message sent", || async {
        h.store.message(stuck.id).await.unwrap().status == MessageStatus::Sent
    })
    .await;
    assert_eq!(
        seq_occurrences(&emu, "replay_stall").get(&stuck.seq),
        Some(&1)
    );
    h.stop().await;
}
