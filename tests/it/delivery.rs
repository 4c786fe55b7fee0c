//! The durable path end to end: SQLite file → delivery worker → IM emulator over HTTP.

use crate::util::*;
use replaydesk::delivery::CREDENTIALS_ALERT;
use replaydesk::emulator::FaultConfig;
use replaydesk::store::{AttemptOutcome, MessageFilter, MessageStatus, Trigger};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_2000_messages_20_groups_each_seq_once() {
    let emu = start_emulator(|c| {
        c.faults = FaultConfig {
            // 30 % of calls fail: internal errors, frequency errors, HTTP 500s, lost responses.
            fail_rate: 0.15,
            fail_codes: vec![10002, 10006],
            http500_rate: 0.07,
            lost_response_rate: 0.08,
            ..FaultConfig::none()
        };
    })
    .await;
    let mut h = Harness::start(im_config(&emu, KEY), fast_config()).await;
    let mut expected = std::collections::HashMap::new();
    for g in 0..20 {
        let (class, group) = (format!("class-{g}"), format!("replay_class_{g}"));
        emu.create_group_direct(&group).unwrap();
        create_class(&h.store, &class, &group).await;
        for i in 0..100u64 {
            let m =
                enqueue_timeline(&h.store, &class, &group, &format!("u{}", i % 7), 1000 + i).await;
            expected
                .entry(group.clone())
                .or_insert_with(Vec::new)
                .push(m.seq);
        }
        h.delivery.wake();
    }
    wait_until(
        Duration::from_secs(240),
        "all 2000 messages sent",
        || async { count_status(&h.store, MessageStatus::Sent).await == 2000 },
    )
    .await;
    assert_eq!(count_status(&h.store, MessageStatus::Failed).await, 0);

    let stats = emu.stats();
    assert!(
        stats.lost_responses > 0 && stats.http500s > 0 && stats.injected_failures > 0,
        "{stats:?}"
    );
    assert!(
        stats.duplicates_absorbed > 0,
        "lost responses were retried with the same Random: {stats:?}"
    );
    for (group, seqs) in &expected {
        let seen = seq_occurrences(&emu, group);
        assert_eq!(
            seen.len(),
            seqs.len(),
            "group {group}: every message present"
        );
        for s in seqs {
            assert_eq!(seen.get(s), Some(&1), "group {group}: seq {s} exactly once");
        }
    }
    // Every attempt is in the log: at least one per message, and failures recorded too.
    let ambiguous = h
        .store
        .list_messages(
            &MessageFilter {
                retried: Some(true),
                ..Default::default()
            },
            None,
            1000,
        )
        .await
        .unwrap();
    assert!(!ambiguous.items.is_empty());
    let attempts = h.store.attempts(ambiguous.items[0].id).await.unwrap();
    assert!(attempts.len() >= 2 && attempts.last().unwrap().outcome == AttemptOutcome::Sent);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_outcome_older_than_duplicate_window_is_looked_up_not_resent() {
    // A 1 s duplicate window on both sides; every send's response is lost.
    let emu = start_emulator(|c| {
        c.dup_window = Duration::from_secs(1);
        c.faults = FaultConfig {
            lost_response_rate: 1.0,
            ..FaultConfig::none()
        };
    })
    .await;
    let mut cfg = fast_config();
    cfg.duplicate_window = Duration::from_secs(1);
    cfg.duplicate_margin = Duration::ZERO;
    cfg.schedule = replaydesk::delivery::RetrySchedule::parse("1500ms,1500ms", 0.0).unwrap();
    let mut h = Harness::start(im_config(&emu, KEY), cfg).await;
    emu.create_group_direct("g1").unwrap();
    create_class(&h.store, "c1", "g1").await;
    let m = enqueue_timeline(&h.store, "c1", "g1", "teacher_li", 42).await;
    h.delivery.wake();
    wait_until(
        Duration::from_secs(20),
        "message marked sent from history",
        || async { h.store.message(m.id).await.unwrap().status == MessageStatus::Sent },
    )
    .await;
    let attempts = h.store.attempts(m.id).await.unwrap();
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [AttemptOutcome::Ambiguous, AttemptOutcome::FoundInHistory]
    );
    assert_eq!(seq_occurrences(&emu, "g1").get(&m.seq), Some(&1));
    let stored = h.store.message(m.id).await.unwrap();
    assert_eq!(stored.im_msg_seq, Some(1));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usersig_renewed_before_expiry_and_at_once_on_70001() {
    let emu = start_emulator(|_| {}).await;
    let mut im = im_config(&emu, KEY);
    im.usersig_ttl = Duration::from_secs(2);
    im.renew_before = Duration::from_secs(1);
    let mut h = Harness::start(im, fast_config()).await;
    emu.create_group_direct("g1").unwrap();
    create_class(&h.store, "c1", "g1").await;
    for i in 0..5u64 {
        enqueue_timeline(&h.store, "c1", "g1", "teacher_li", i).await;
        h.delivery.wake();
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    wait_until(Duration::from_secs(10), "5 sent", || async {
        count_status(&h.store, MessageStatus::Sent).await == 5
    })
    .await;
    assert!(
        h.delivery.im().usersigs_made() >= 3,
        "renewed as it went: {}",
        h.delivery.im().usersigs_made()
    );
    assert_eq!(
        emu.stats().answers_with(70001),
        0,
        "never sent an expired sig"
    );

    // The service says the sig expired (e.g. clocks disagree): renewed and retried at once.
    emu.set_faults(FaultConfig {
        fail_rate: 0.5,
        fail_codes: vec![70001],
        ..FaultConfig::none()
    })
    .unwrap();
    for i in 100..150u64 {
        enqueue_timeline(&h.store, "c1", "g1", "student_wang", i).await;
    }
    h.delivery.wake();
    wait_until(Duration::from_secs(30), "55 sent", || async {
        count_status(&h.store, MessageStatus::Sent).await == 55
    })
    .await;
    assert!(emu.stats().answers_with(70001) > 0);
    assert_eq!(count_status(&h.store, MessageStatus::Failed).await, 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_key_pauses_with_alert_and_fixing_it_resumes() {
    let emu = start_emulator(|_| {}).await;
    let mut h = Harness::start(im_config(&emu, "not-the-key"), fast_config()).await;
    emu.create_group_direct("g1").unwrap();
    create_class(&h.store, "c1", "g1").await;
    for i in 0..50u64 {
        enqueue_timeline(&h.store, "c1", "g1", "teacher_li", i).await;
    }
    h.delivery.wake();
    wait_until(Duration::from_secs(10), "credentials alert", || async {
        h.store
            .open_alerts()
            .await
            .unwrap()
            .iter()
            .any(|a| a.kind == CREDENTIALS_ALERT)
    })
    .await;
    assert!(h.delivery.is_paused());
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Paused: few attempts, none failed, nothing sent, nothing lost.
    let refused = emu.stats().answers_with(70009);
    assert!(
        (1..=40).contains(&refused),
        "paused after the first refusals: {refused}"
    );
    assert_eq!(count_status(&h.store, MessageStatus::Failed).await, 0);
    assert_eq!(count_status(&h.store, MessageStatus::Sent).await, 0);
    let alert = h.store.open_alerts().await.unwrap().remove(0);
    assert!(
        !alert.detail.contains("not-the-key"),
        "the key is not shown: {}",
        alert.detail
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        emu.stats().answers_with(70009),
        refused,
        "no sending while paused"
    );

    h.delivery
        .update_secret_key(
            "0f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1".into(),
            &crate::util::by("admin@test"),
        )
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(15),
        "all 50 sent after the fix",
        || async { count_status(&h.store, MessageStatus::Sent).await == 50 },
    )
    .await;
    assert!(!h.delivery.is_paused());
    assert!(h.store.open_alerts().await.unwrap().is_empty());
    assert_eq!(seq_occurrences(&emu, "g1").len(), 50);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_resend_keeps_seq_and_draws_new_random_once_sent() {
    let emu = start_emulator(|_| {}).await;
    let mut h = Harness::start(im_config(&emu, KEY), fast_config()).await;
    emu.create_group_direct("g1").unwrap();
    create_class(&h.store, "c1", "g1").await;
    let m = enqueue_timeline(&h.store, "c1", "g1", "teacher_li", 7).await;
    h.delivery.wake();
    wait_until(Duration::from_secs(10), "sent", || async {
        h.store.message(m.id).await.unwrap().status == MessageStatus::Sent
    })
    .await;
    let first = h.store.message(m.id).await.unwrap();
    assert!(h
        .delivery
        .resend(m.id, true, &crate::util::by("support@test"))
        .await
        .unwrap());
    wait_until(Duration::from_secs(10), "resent", || async {
        let now = h.store.message(m.id).await.unwrap();
        now.status == MessageStatus::Sent && now.attempt_count == 2
    })
    .await;
    let second = h.store.message(m.id).await.unwrap();
    assert_eq!(second.seq, first.seq);
    assert_eq!(second.data, first.data, "the exact Data is sent again");
    assert_ne!(
        second.random, first.random,
        "a new Random: this duplicate is intended"
    );
    assert_eq!(seq_occurrences(&emu, "g1").get(&m.seq), Some(&2));
    let attempts = h.store.attempts(m.id).await.unwrap();
    assert_eq!(attempts[1].trigger, Trigger::Manual);
    let audit = h.store.audit_log(None, 10).await.unwrap();
    assert_eq!(audit[0].action, "resend");
    assert_eq!(audit[0].actor, "support@test");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_failed_since_and_bulk_resend_survive_a_restart() {
    // Everything fails permanently (invalid parameter) at first.
    let emu = start_emulator(|c| {
        c.faults = FaultConfig {
            fail_rate: 1.0,
            fail_codes: vec![10004],
            ..FaultConfig::none()
        };
    })
    .await;
    let h = Harness::start(im_config(&emu, KEY), fast_config()).await;
    emu.create_group_direct("g1").unwrap();
    create_class(&h.store, "c1", "g1").await;
    let t0 = replaydesk::clock::unix_ms_now();
    for i in 0..30u64 {
        enqueue_timeline(&h.store, "c1", "g1", "teacher_li", i).await;
    }
    h.delivery.wake();
    wait_until(Duration::from_secs(10), "30 failed", || async {
        count_status(&h.store, MessageStatus::Failed).await == 30
    })
    .await;
    // The process stops right after an admin asked for recovery, before the job ran.
    let mut h = h;
    h.stop().await;
    let job = h
        .delivery
        .recover_failed_since(t0, Some("c1".into()), &crate::util::by("admin@test"))
        .await
        .unwrap();
    assert_eq!((job.total, job.done, job.failed), (30, 0, 0));
    assert_eq!(job.state, replaydesk::store::JobState::Enqueuing);
    let (dir, db) = h.into_parts().await;

    // The service recovers; a new process picks the job up and finishes it.
    emu.set_faults(FaultConfig::none()).unwrap();
    let mut h = Harness::start_at(dir, db, im_config(&emu, KEY), fast_config()).await;
    wait_until(Duration::from_secs(30), "recovery job finished", || async {
        let j = h.store.job(job.id).await.unwrap();
        j.state == replaydesk::store::JobState::Finished
    })
    .await;
    let j = h.store.job(job.id).await.unwrap();
    assert_eq!((j.total, j.done, j.failed), (30, 30, 0));
    assert_eq!(seq_occurrences(&emu, "g1").len(), 30);

    // Bulk resend by filter: those of one uid, already sent, are sent again once each.
    for i in 0..10u64 {
        enqueue_timeline(&h.store, "c1", "g1", "student_wang", 500 + i).await;
    }
    h.delivery.wake();
    wait_until(Duration::from_secs(10), "40 sent", || async {
        count_status(&h.store, MessageStatus::Sent).await == 40
    })
    .await;
    let filter = MessageFilter {
        class_id: Some("c1".into()),
        uid: Some("student_wang".into()),
        statuses: vec![MessageStatus::Sent],
        ..Default::default()
    };
    let bulk = h
        .delivery
        .bulk_resend(filter, &crate::util::by("admin@test"))
        .await
        .unwrap();
    wait_until(Duration::from_secs(20), "bulk job finished", || async {
        h.store.job(bulk.id).await.unwrap().state == replaydesk::store::JobState::Finished
    })
    .await;
    let b = h.store.job(bulk.id).await.unwrap();
    assert_eq!((b.total, b.done, b.failed), (10, 10, 0));
    let occ = seq_occurrences(&emu, "g1");
    assert_eq!(occ.values().filter(|n| **n == 2).count(), 10);
    let actions: Vec<_> = h
        .store
        .audit_log(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(
        actions.contains(&"bulk_resend".to_string())
            && actions.contains(&"recover_failed".to_string())
    );
    h.stop().await;
}
