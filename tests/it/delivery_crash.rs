//! The worker process killed with SIGKILL mid-run, then restarted on the same database:
//! every message accepted before the kill ends `sent`, none twice in the group.

use crate::util::process::{sigkill_and_wait, DeliverCommand};
use crate::util::*;
use replaydesk::emulator::FaultConfig;
use replaydesk::store::{AttemptOutcome, MessageStatus, Store};
use std::path::Path;
use std::process::Child;
use std::time::Duration;

fn spawn_worker(db: &Path, endpoint: &str) -> Child {
    DeliverCommand::new(db, endpoint, SDKAPPID, KEY)
        .args(&[
            "--schedule",
            "20ms,50ms,100ms,200ms,300ms,500ms,500ms,500ms,500ms,500ms",
            // The killed worker's messages in flight are taken back when its lease ends.
            "--lease",
            "2s",
        ])
        .spawn()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_restart_delivers_everything_once() {
    // Slow answers and some lost responses, so attempts are in flight when the kill lands.
    let emu = start_emulator(|c| {
        c.faults = FaultConfig {
            latency_ms: 30,
            latency_jitter_ms: 30,
            lost_response_rate: 0.1,
            ..FaultConfig::none()
        };
    })
    .await;
    emu.create_group_direct("replay_crash").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    let store = Store::open(&db).await.unwrap();
    create_class(&store, "crash", "replay_crash").await;

    let mut accepted = Vec::new();
    for i in 0..300u64 {
        accepted.push(
            enqueue_timeline(&store, "crash", "replay_crash", "teacher_li", i)
                .await
                .seq,
        );
    }
    let mut worker = spawn_worker(&db, &emu.base_url());
    // Keep accepting while the worker runs; kill it once it is well under way.
    let mut i = 300u64;
    loop {
        accepted.push(
            enqueue_timeline(&store, "crash", "replay_crash", "student_wang", i)
                .await
                .seq,
        );
        i += 1;
        let sent = count_status(&store, MessageStatus::Sent).await;
        if sent >= 150 || i >= 3000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = sigkill_and_wait(&mut worker);
    assert!(!status.success(), "killed, not exited: {status:?}");
    let sent_at_kill = count_status(&store, MessageStatus::Sent).await;
    let sending_at_kill = count_status(&store, MessageStatus::Sending).await;
    assert!(
        (sent_at_kill as usize) < accepted.len(),
        "the kill came before the end: {sent_at_kill} of {}",
        accepted.len()
    );

    // More are accepted while no worker runs, then a new worker takes over.
    for j in 0..50u64 {
        accepted.push(
            enqueue_timeline(&store, "crash", "replay_crash", "student_zhao", j)
                .await
                .seq,
        );
    }
    let mut worker = spawn_worker(&db, &emu.base_url());
    let total = accepted.len() as i64;
    wait_until(
        Duration::from_secs(120),
        "every accepted message sent",
        || async { count_status(&store, MessageStatus::Sent).await == total },
    )
    .await;
    worker.kill().ok();
    worker.wait().ok();

    let seen = seq_occurrences(&emu, "replay_crash");
    assert_eq!(
        seen.len(),
        accepted.len(),
        "every accepted message is in the group"
    );
    for s in &accepted {
        assert_eq!(seen.get(s), Some(&1), "seq {s} exactly once");
    }
    // Messages caught in flight were taken back once the killed worker's lease ended, and
    // logged as interrupted.
    if sending_at_kill > 0 {
        let page = store
            .list_messages(
                &replaydesk::store::MessageFilter {
                    retried: Some(true),
                    ..Default::default()
                },
                None,
                1000,
            )
            .await
            .unwrap();
        let mut interrupted = 0;
        for m in &page.items {
            interrupted += store
                .attempts(m.id)
                .await
                .unwrap()
                .iter()
                .filter(|a| a.outcome == AttemptOutcome::Interrupted)
                .count();
        }
        assert!(
            interrupted > 0,
            "{sending_at_kill} in flight at the kill, none recovered"
        );
    }
    eprintln!(
        "crash test: {} accepted, {sent_at_kill} sent and {sending_at_kill} in flight at the kill, {} duplicates absorbed",
        accepted.len(),
        emu.stats().duplicates_absorbed
    );
}
