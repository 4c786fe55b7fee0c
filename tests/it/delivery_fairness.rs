//! Fair claiming (issue 27, hole 2): one group's backlog must not hold up another group's
//! messages, nor its own class's start and end. The real worker against the emulator at
//! the service's limits (40 messages a second per group), over a real SQLite file.

use crate::util::*;
use replaydesk::delivery::DeliveryConfig;
use replaydesk::protocol::{Payload, ReplayMessage, UserValue};
use replaydesk::store::{MessageStatus, NewMessage, Store};
use std::time::Duration;

/// A backlog of `n` 1003s in one group, accepted in one burst (all due at once).
async fn backlog(store: &Store, class_id: &str, group_id: &str, n: u64) {
    let keys: Vec<String> = (0..n).map(|i| format!("1003:flood:{i}")).collect();
    let builders: Vec<_> = (0..n)
        .map(|i| {
            move |seq| {
                ReplayMessage::new(
                    seq,
                    i,
                    Payload::Timeline {
                        time_line: 1_795_339_200_000 + i as i64,
                        value: UserValue::new("flood"),
                    },
                )
            }
        })
        .collect();
    let batch: Vec<NewMessage> = (0..n as usize)
        .map(|i| NewMessage {
            class_id,
            group_id,
            uid: "flood",
            dedup_key: &keys[i],
            build: &builders[i],
        })
        .collect();
    store.insert_messages(&batch).await.unwrap();
}

async fn sent_in(store: &Store, class_id: &str) -> i64 {
    store
        .status_counts(Some(class_id))
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| *s == MessageStatus::Sent)
        .map_or(0, |(_, n)| n)
}

async fn is_sent(store: &Store, id: i64) -> bool {
    store.message(id).await.unwrap().status == MessageStatus::Sent
}

const BACKLOG: u64 = 1200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_groups_backlog_does_not_delay_another_groups_message() {
    let emu = start_emulator(|_| {}).await; // 200 req/s, 40 msg/s per group
    let config = DeliveryConfig {
        poll_interval: Duration::from_millis(100),
        ..DeliveryConfig::default()
    };
    let mut h = Harness::start(im_config(&emu, KEY), config).await;
    for (class, group) in [("busy", "replay_busy"), ("quiet", "replay_quiet")] {
        emu.create_group_direct(group).unwrap();
        create_class(&h.store, class, group).await;
    }
    backlog(&h.store, "busy", "replay_busy", BACKLOG).await;
    h.delivery.wake();
    wait_until(
        Duration::from_secs(30),
        "the backlog starts going",
        || async { sent_in(&h.store, "busy").await > 0 },
    )
    .await;
    // A message of another class, accepted behind the whole backlog.
    let quiet = enqueue_timeline(&h.store, "quiet", "replay_quiet", "stu", 1).await;
    h.delivery.wake();
    wait_until(
        Duration::from_secs(60),
        "the quiet group's message is sent",
        || async { is_sent(&h.store, quiet.id).await },
    )
    .await;
    let busy_sent = sent_in(&h.store, "busy").await;
    // Oldest first across groups, it went after the whole backlog (30 s at 40/s); now only
    // the group's own pacing stands before it. A second's worth of the busy group is
    // plenty of room for a slow machine.
    assert!(
        busy_sent < 120,
        "the quiet group's message waited for {busy_sent} of the busy group's {BACKLOG}"
    );
    wait_until(Duration::from_secs(120), "the backlog is sent", || async {
        sent_in(&h.store, "busy").await == BACKLOG as i64
    })
    .await;
    let stats = emu.stats();
    assert_eq!(stats.frequency_errors, 0, "{stats:?}");
    let seen = seq_occurrences(&emu, "replay_busy");
    assert_eq!(seen.len(), BACKLOG as usize);
    assert!(seen.values().all(|&c| c == 1), "a message went twice");
    // Deferring is not an attempt: one attempt per message.
    let one = h.store.attempts(quiet.id).await.unwrap();
    assert_eq!(one.len(), 1, "{one:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_end_goes_ahead_of_its_groups_backlog() {
    let emu = start_emulator(|_| {}).await;
    let config = DeliveryConfig {
        poll_interval: Duration::from_millis(100),
        ..DeliveryConfig::default()
    };
    let mut h = Harness::start(im_config(&emu, KEY), config).await;
    emu.create_group_direct("replay_c1").unwrap();
    create_class(&h.store, "c1", "replay_c1").await;
    backlog(&h.store, "c1", "replay_c1", BACKLOG).await;
    h.delivery.wake();
    wait_until(
        Duration::from_secs(30),
        "the backlog starts going",
        || async { sent_in(&h.store, "c1").await > 0 },
    )
    .await;
    // The teacher ends the class behind 1,200 reports of one student.
    let end = h
        .store
        .record_intake(&[crate::util::class_event(
            "c1",
            "replay_c1",
            "teacher_li",
            99,
            replaydesk::store::ClassEvent::End,
        )])
        .await
        .pop()
        .unwrap()
        .unwrap()
        .message;
    h.delivery.wake();
    wait_until(Duration::from_secs(60), "the end is sent", || async {
        is_sent(&h.store, end.id).await
    })
    .await;
    let before_it = sent_in(&h.store, "c1").await - 1;
    assert!(
        before_it < 120,
        "the class's end waited for {before_it} of the {BACKLOG} reports before it"
    );
    h.stop().await;
}
