//! The store's accept path on a real SQLite file: logical duplicates, seq collisions,
//! size limits, and recovery of interrupted attempts.

mod common;

use common::create_class;
use replaydesk::protocol::{Payload, ReplayMessage, Seq, UserValue};
use replaydesk::store::{AttemptOutcome, MessageStatus, NewMessage, Store, StoreError};

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
async fn interrupted_attempts_are_recovered_as_unknown_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    create_class(&store, "c1", "g1").await;
    for i in 0..3 {
        common::enqueue_timeline(&store, "c1", "g1", "a", i).await;
    }
    let claimed = store.claim_due("node-a", 2, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 2);
    // The process dies here; the next start recovers the two in flight.
    assert_eq!(store.recover_interrupted().await.unwrap(), 2);
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
