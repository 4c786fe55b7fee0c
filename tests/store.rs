//! The store's accept path on a real SQLite file: logical duplicates, seq collisions,
//! size limits, and recovery of interrupted attempts.

mod common;

use common::create_class;
use replaydesk::protocol::{Payload, ReplayMessage, Seq, UserValue};
use replaydesk::store::{
    AttemptOutcome, AttemptRecord, MessageStatus, NewMessage, Store, StoreError, Transition,
    Trigger,
};

type Build = dyn Fn(Seq) -> ReplayMessage + Send + Sync;

fn new<'a>(key: &'a str, class: &'a str, group: &'a str, build: &'a Build) -> NewMessage<'a> {
    NewMessage {
        class_id: class,
        group_id: group,
        uid: "a",
        dedup_key: key,
        build,
    }
}

fn fixed_seq(seq: u64, uid: &'static str) -> impl Fn(Seq) -> ReplayMessage + Send + Sync {
    move |_| {
        ReplayMessage::new(
            Seq::from_raw(seq),
            1,
            Payload::ClassStart(UserValue::new(uid)),
        )
    }
}

#[tokio::test]
async fn duplicates_collisions_and_oversize_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    create_class(&store, "c1", "g1").await;
    create_class(&store, "c2", "g2").await;
    let b = fixed_seq(12_345, "a");
    let first = store
        .insert_message(&new("k1", "c1", "g1", &b))
        .await
        .unwrap();
    assert!(first.created);
    // The same logical message: the stored one comes back, nothing new.
    let again = store
        .insert_message(&new("k1", "c1", "g1", &b))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.message.id, first.message.id);
    // Another message that can only draw a seq already taken in the group: refused.
    let err = store
        .insert_message(&new("k2", "c1", "g1", &b))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // The same seq in another group is fine: seqs are unique per group.
    assert!(
        store
            .insert_message(&new("k2", "c2", "g2", &b))
            .await
            .unwrap()
            .created
    );
    // Over the IM size limit: refused before anything is stored.
    let big = |seq| {
        ReplayMessage::new(
            seq,
            1,
            Payload::ClassStart(UserValue::new("x".repeat(13_000))),
        )
    };
    let err = store
        .insert_message(&new("k3", "c1", "g1", &big))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(store.count_messages(&Default::default()).await.unwrap(), 2);
}

#[tokio::test]
async fn expired_leases_are_recovered_as_unknown_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    create_class(&store, "c1", "g1").await;
    for i in 0..3 {
        common::enqueue_timeline(&store, "c1", "g1", "a", i).await;
    }
    // A lease of 0 ms: the worker died at once and its lease is already over.
    let claimed = store.claim_due("node-a", 2, 0).await.unwrap();
    assert_eq!(claimed.len(), 2);
    // The next look at expired leases takes the two in flight back.
    assert_eq!(store.reclaim_expired_leases().await.unwrap(), 2);
    for c in &claimed {
        let m = store.message(c.id).await.unwrap();
        assert_eq!(m.status, MessageStatus::Retrying);
        let attempts = store.attempts(c.id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].outcome, AttemptOutcome::Interrupted);
        assert_eq!(attempts[0].random, c.random, "same Random kept");
    }
    // Recovered messages carry the unknown-outcome mark: claimed again, they say so.
    let again = store.claim_due("node-b", 10, 60_000).await.unwrap();
    assert_eq!(again.len(), 3);
    assert_eq!(
        again.iter().filter(|m| m.ambiguous_since.is_some()).count(),
        2
    );
}

fn attempt_of(message_id: i64, random: u32, outcome: AttemptOutcome) -> AttemptRecord {
    AttemptRecord {
        message_id,
        trigger: Trigger::Scheduled,
        random,
        started_at: 1,
        duration_ms: 1,
        http_status: Some(200),
        im_error_code: Some(0),
        im_error_info: None,
        transport_error: None,
        outcome,
    }
}

#[tokio::test]
async fn a_live_lease_is_not_taken_back_by_another_worker_starting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let a = Store::open(&db).await.unwrap();
    create_class(&a, "c1", "g1").await;
    for i in 0..3 {
        common::enqueue_timeline(&a, "c1", "g1", "a", i).await;
    }
    let held = a.claim_due("worker-a", 3, 60_000).await.unwrap();
    assert_eq!(held.len(), 3);
    // A second worker opens the same file and starts: worker A is alive and mid-attempt.
    let b = Store::open(&db).await.unwrap();
    assert_eq!(b.reclaim_expired_leases().await.unwrap(), 0);
    assert!(b
        .claim_due("worker-b", 10, 60_000)
        .await
        .unwrap()
        .is_empty());
    for m in &held {
        assert_eq!(
            b.message(m.id).await.unwrap().status,
            MessageStatus::Sending
        );
        assert!(b.attempts(m.id).await.unwrap().is_empty());
    }
    // Worker A's answers are recorded as usual.
    for m in &held {
        let t = Transition::Sent {
            im_msg_seq: Some(1),
            im_msg_time: Some(1),
        };
        let rec = attempt_of(m.id, m.random, AttemptOutcome::Sent);
        assert!(a.finish_attempt("worker-a", &rec, &t).await.unwrap());
    }
}

#[tokio::test]
async fn a_late_answer_after_the_lease_was_taken_back_does_not_overwrite_sent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let a = Store::open(&db).await.unwrap();
    let b = Store::open(&db).await.unwrap();
    create_class(&a, "c1", "g1").await;
    let msg = common::enqueue_timeline(&a, "c1", "g1", "a", 1).await;
    // Worker A claims it and stalls past its lease (0 ms here).
    let claimed_a = a.claim_due("worker-a", 1, 0).await.unwrap();
    assert_eq!(claimed_a.len(), 1);
    // Worker B takes it back, claims it and sends it.
    assert_eq!(b.reclaim_expired_leases().await.unwrap(), 1);
    let claimed_b = b.claim_due("worker-b", 1, 60_000).await.unwrap();
    assert_eq!(claimed_b.len(), 1);
    let sent = Transition::Sent {
        im_msg_seq: Some(7),
        im_msg_time: Some(1_700_000_000),
    };
    let rec_b = attempt_of(msg.id, claimed_b[0].random, AttemptOutcome::Sent);
    assert!(b.finish_attempt("worker-b", &rec_b, &sent).await.unwrap());

    // A's late answer says "retry": it is kept in the history, but the message stays sent.
    let retry = Transition::Retry {
        next_attempt_at: 0,
        advance_step: true,
        ambiguous_at: Some(1),
        error: "timeout".into(),
    };
    let rec_a = attempt_of(msg.id, claimed_a[0].random, AttemptOutcome::Ambiguous);
    assert!(!a.finish_attempt("worker-a", &rec_a, &retry).await.unwrap());
    let failed = Transition::Failed {
        error: "late".into(),
    };
    assert!(!a.finish_attempt("worker-a", &rec_a, &failed).await.unwrap());
    let m = a.message(msg.id).await.unwrap();
    assert_eq!(m.status, MessageStatus::Sent);
    assert_eq!(m.im_msg_seq, Some(7));
    assert!(a
        .claim_due("worker-a", 10, 60_000)
        .await
        .unwrap()
        .is_empty());
    let outcomes: Vec<_> = a
        .attempts(msg.id)
        .await
        .unwrap()
        .iter()
        .map(|x| x.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Interrupted,
            AttemptOutcome::Sent,
            AttemptOutcome::Ambiguous,
            AttemptOutcome::Ambiguous
        ]
    );
    // A release by the worker that lost the lease changes nothing either.
    a.release("worker-a", msg.id, 0).await.unwrap();
    assert_eq!(a.message(msg.id).await.unwrap().status, MessageStatus::Sent);
}

#[tokio::test]
async fn renewing_keeps_a_lease_and_only_the_owner_can_renew() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    create_class(&store, "c1", "g1").await;
    common::enqueue_timeline(&store, "c1", "g1", "a", 1).await;
    let held = store.claim_due("worker-a", 1, 0).await.unwrap();
    let ids: Vec<i64> = held.iter().map(|m| m.id).collect();
    assert_eq!(
        store.renew_leases("worker-b", &ids, 60_000).await.unwrap(),
        0
    );
    assert_eq!(
        store.renew_leases("worker-a", &ids, 60_000).await.unwrap(),
        1
    );
    assert_eq!(store.reclaim_expired_leases().await.unwrap(), 0);
}
