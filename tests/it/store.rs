//! The store's accept path on each engine (a real SQLite file, a real PostgreSQL
//! database): logical duplicates, seq collisions, size limits, and recovery of interrupted
//! attempts. Every test runs once per engine (`on_both_engines!`).
//!
//! One file although long: every case runs on both engines through `on_both_engines!` and
//! the builders at its top; it is the store's accept-path contract, read as one list.

use crate::util;
use crate::util::{attempt_of, class_event, create_class, timeline_intake};
use replaydesk::protocol::{MessageType, Payload, ReplayMessage, Seq, UserValue};
use replaydesk::store::{
    AttemptOutcome, AttemptRecord, CallbackStatus, ClassEvent, ClassState, IntakeItem, JobKind,
    JobState, MemberRole, MessageFilter, MessageStatus, NewCallbackRow, NewClass, NewMessage,
    RecordingIntake, RecordingTarget, Store, StoreError, Transition,
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

on_both_engines! {
    async fn duplicates_collisions_and_oversize_messages(db) {
        let store = Store::open(&db).await.unwrap();
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
}

on_both_engines! {
    async fn expired_leases_are_recovered_as_unknown_outcomes(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        for i in 0..3 {
            util::enqueue_timeline(&store, "c1", "g1", "a", i).await;
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
}

on_both_engines! {
    async fn a_live_lease_is_not_taken_back_by_another_worker_starting(db) {
        let a = Store::open(&db).await.unwrap();
        create_class(&a, "c1", "g1").await;
        for i in 0..3 {
            util::enqueue_timeline(&a, "c1", "g1", "a", i).await;
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
}

on_both_engines! {
    async fn a_late_answer_after_the_lease_was_taken_back_does_not_overwrite_sent(db) {
        let a = Store::open(&db).await.unwrap();
        let b = Store::open(&db).await.unwrap();
        create_class(&a, "c1", "g1").await;
        let msg = util::enqueue_timeline(&a, "c1", "g1", "a", 1).await;
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
}

on_both_engines! {
    async fn renewing_keeps_a_lease_and_only_the_owner_can_renew(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        util::enqueue_timeline(&store, "c1", "g1", "a", 1).await;
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
}

fn timeline(class: &str, group: &str, uid: &str, ts: u64, received_at: i64) -> IntakeItem {
    timeline_intake(
        class,
        group,
        uid,
        ts,
        1_795_339_200_000 + ts as i64,
        received_at,
    )
}

on_both_engines! {
    /// Every part of the store whose SQL differs between the engines, or that the engines
    /// type differently (bytes, NULL parameters, upserts, IN lists, text search), written
    /// and read back through the public API.
    async fn every_table_reads_back_what_was_written(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        create_class(&store, "c2", "g2").await;
        assert!(matches!(
            store
                .create_class(&NewClass {
                    class_id: "c1",
                    group_id: "g9",
                    teacher_uid: "t",
                    report_token_sha256: "00",
                    credential_key: "",
                    legacy_class_token: true,
                    open_enrolment: true,
                    room_id: None,
                })
                .await,
            Err(StoreError::Conflict(_))
        ));

        // Intake: timelines and a class start in one batch; members learnt (the upsert
        // keeps the later of the two last_seen times).
        let results = store
            .record_intake(&[
                timeline("c1", "g1", "Student_Wang", 1, 5_000),
                timeline("c1", "g1", "Student_Wang", 2, 3_000),
                class_event("c1", "g1", "teacher_li", 3, ClassEvent::Start),
            ])
            .await;
        assert!(results.iter().all(|r| r.as_ref().unwrap().created));
        let again = store
            .record_intake(&[timeline("c1", "g1", "Student_Wang", 1, 6_000)])
            .await;
        assert!(!again[0].as_ref().unwrap().created, "a repeated report is the same message");
        let members = store.members("c1").await.unwrap();
        assert_eq!(members[0].role, MemberRole::Teacher);
        let wang = members.iter().find(|m| m.uid == "Student_Wang").unwrap();
        assert!(wang.last_seen_at >= wang.first_seen_at);
        assert!(store.is_member("c1", "Student_Wang").await.unwrap());
        assert!(!store.is_member("c2", "Student_Wang").await.unwrap());
        store.enrol_member("c2", "late").await.unwrap();
        store.enrol_member("c2", "late").await.unwrap();
        assert_eq!(store.members("c2").await.unwrap().len(), 2);
        assert_eq!(store.class("c1").await.unwrap().state, ClassState::Started);
        let reports = store.timeline_reports("c1", None, 10).await.unwrap();
        assert_eq!(reports.items.len(), 3);
        assert!(reports.items.iter().all(|r| r.accepted));

        // Listing and counting with every kind of condition; text search ignores case on
        // both engines.
        let all = MessageFilter::default();
        assert_eq!(store.count_messages(&all).await.unwrap(), 3);
        let search = MessageFilter {
            text: Some("STUDENT_wang".into()),
            ..Default::default()
        };
        assert_eq!(store.count_messages(&search).await.unwrap(), 2);
        let narrow = MessageFilter {
            class_ids: vec!["c1".into(), "c2".into()],
            statuses: vec![MessageStatus::Pending],
            types: vec![MessageType::ClassStart],
            created_from: Some(0),
            retried: Some(false),
            ..Default::default()
        };
        assert_eq!(store.count_messages(&narrow).await.unwrap(), 1);
        let page = store.list_messages(&all, None, 2).await.unwrap();
        assert_eq!(page.items.len(), 2);
        let rest = store.list_messages(&all, page.next_cursor, 2).await.unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.next_cursor, None);
        let counts = store.status_counts(Some("c1")).await.unwrap();
        assert_eq!(counts, vec![(MessageStatus::Pending, 3)]);

        // Callbacks: bytes that are not UTF-8 survive, previews are cut, counts cover all.
        let body: Vec<u8> = [b"{\"x\":\"".as_slice(), &[0xff, 0xfe], &[b'a'; 5000], b"\"}"].concat();
        let refused = store
            .record_callback(&NewCallbackRow {
                source: replaydesk::store::CallbackSource::Css,
                received_at: 1,
                body: &body,
                body_bytes: body.len(),
                status: CallbackStatus::Refused,
                reason: Some("bad_sign"),
                file_key: None,
            })
            .await
            .unwrap();
        let whole = store.recording_callback(refused.id).await.unwrap();
        assert_eq!(whole.body_bytes, body.len() as i64);
        assert!(!whole.body_truncated);
        assert!(whole.body.starts_with("{\"x\":\"\u{fffd}\u{fffd}aaa"));
        let listed = store
            .recording_callbacks(&[CallbackStatus::Refused], None, 10)
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        assert!(listed.items[0].body_truncated, "a listing carries a preview");
        let build = |seq| {
            ReplayMessage::new(
                seq,
                9,
                Payload::ClassStart(UserValue::new("teacher_li")),
            )
        };
        let intake = |key: &'static str| RecordingIntake {
            received_at: 2,
            body: b"{\"file\":1}",
            file_key: key,
            target: RecordingTarget::Matched {
                class_id: "c1",
                uid: "teacher_li",
                note: None,
                build: &build,
            },
            life: None,
        };
        let first = store.record_recording(&intake("file-1")).await.unwrap();
        assert!(first.created);
        let repeat = store.record_recording(&intake("file-1")).await.unwrap();
        assert!(!repeat.created);
        assert_eq!(repeat.record.status, CallbackStatus::Duplicate);
        let counts = store.callback_status_counts().await.unwrap();
        let count = |s| counts.iter().find(|(k, _)| *k == s).unwrap().1;
        assert_eq!(
            (count(CallbackStatus::Refused), count(CallbackStatus::Accepted), count(CallbackStatus::Duplicate)),
            (1, 1, 1)
        );
        let snap = store
            .class_snapshot_for(&["g1".into()], &["c2".into()], &[])
            .await
            .unwrap();
        assert_eq!(snap, store.class_snapshot().await.unwrap());

        // A bulk job takes on its filter's messages in batches from its cursor.
        let job = store
            .create_job(JobKind::BulkResend, &MessageFilter { class_id: Some("c1".into()), ..Default::default() }, &crate::util::by("admin"))
            .await
            .unwrap();
        assert_eq!(store.unfinished_jobs().await.unwrap(), vec![job.id]);
        assert_eq!(store.job_enqueue_batch(job.id, 2).await.unwrap(), 2);
        assert_eq!(store.job_enqueue_batch(job.id, 2).await.unwrap(), 2);
        assert_eq!(store.job_enqueue_batch(job.id, 2).await.unwrap(), 0);
        assert_eq!(store.job(job.id).await.unwrap().state, JobState::Running);
        assert_eq!(store.jobs(10).await.unwrap().len(), 1);
        assert!(!store.job_check_finished(job.id).await.unwrap());

        // Reconcile: a page saved twice keeps one row per message (an upsert).
        let run = store.start_reconcile("c1", &crate::util::by("admin")).await.unwrap();
        store
            .save_history_page(run.id, "c1", &[(1, "a".into()), (2, "b".into())], Some(2))
            .await
            .unwrap();
        store
            .save_history_page(run.id, "c1", &[(2, "b2".into())], None)
            .await
            .unwrap();
        assert_eq!(
            store.group_history("c1").await.unwrap(),
            vec![(1, "a".to_string()), (2, "b2".to_string())]
        );
        store.end_reconcile(run.id, Ok("{}")).await.unwrap();
        let latest = store.latest_reconcile("c1").await.unwrap().unwrap();
        assert_eq!((latest.pages, latest.fetched), (2, 3));
        assert!(latest.finished_at.is_some());

        // Alerts: one open per kind (and class); cleared together.
        store.raise_alert("k", "one").await.unwrap();
        store.raise_alert("k", "two").await.unwrap();
        store.raise_class_alert("m", "c1", "x").await.unwrap();
        store.raise_class_alert("m", "c1", "y").await.unwrap();
        assert_eq!(store.open_alerts().await.unwrap().len(), 2);
        assert_eq!(store.clear_alerts("k").await.unwrap(), 1);
        store.clear_class_alerts("m", "c1").await.unwrap();
        assert!(store.open_alerts().await.unwrap().is_empty());

        // The audit log pages back from a cursor.
        for i in 0..3 {
            store.audit(&crate::util::by("admin"), "act", &format!("t{i}"), &serde_json::json!({"i": i})).await.unwrap();
        }
        let newest = store.audit_log(None, 2).await.unwrap();
        assert!(newest.len() == 2 && newest[0].target == "t2");
        let older = store.audit_log(Some(newest[1].id), 10).await.unwrap();
        assert!(older.iter().any(|e| e.target == "t0"));

        store.probe_write().await.unwrap();
        store.probe_write().await.unwrap();
        assert!(store.class_for_report_token("00").await.unwrap().is_some());
        store.close().await;
    }
}

on_both_engines! {
    /// Three stores (three connection pools, as three nodes would have) claim from one
    /// outbox at once: every message is claimed by exactly one of them.
    async fn concurrent_claims_take_each_message_once(db) {
        let first = Store::open(&db).await.unwrap();
        create_class(&first, "c1", "g1").await;
        for i in 0..300 {
            util::enqueue_timeline(&first, "c1", "g1", "a", i).await;
        }
        let mut nodes = vec![first];
        for _ in 0..2 {
            nodes.push(Store::open(&db).await.unwrap());
        }
        let mut tasks = Vec::new();
        for (n, store) in nodes.iter().enumerate() {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store.claim_due(&format!("node-{n}"), 7, 60_000).await.unwrap();
                    if got.is_empty() {
                        break;
                    }
                    mine.extend(got.into_iter().map(|m| m.id));
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let total = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(total, 300, "claimed once each");
        assert_eq!(all.len(), 300, "no message claimed twice");
    }
}

/// The shared rate budget (PostgreSQL): reservations from three nodes at once are spaced
/// at the budget's rate, as if one node had taken them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_budget_paces_three_nodes_together() {
    let Some(test_db) = util::engines::postgres("a_shared_budget_paces_three_nodes_together").await
    else {
        return;
    };
    let db = test_db.db();
    let interval = std::time::Duration::from_millis(2); // 500 a second
    let burst = std::time::Duration::from_millis(20); // 10 saved up
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let store = Store::open(&db).await.unwrap();
        tasks.push(tokio::spawn(async move {
            let mut slots = Vec::new();
            for _ in 0..100 {
                let slot = store
                    .reserve_shared_slot("app", interval, burst)
                    .await
                    .unwrap();
                slots.push(slot.at_us);
            }
            slots
        }));
    }
    let mut slots = Vec::new();
    for t in tasks {
        slots.extend(t.await.unwrap());
    }
    slots.sort();
    // Each reservation lands at least one interval after the one before it, whichever node
    // took it: 300 requests at 500/s span 598 ms of slots on the database's clock. (The
    // burst only lets a slot lie in the past — sent at once — when the budget was idle.)
    for pair in slots.windows(2) {
        assert!(
            pair[1] - pair[0] >= 2_000,
            "slots {} us apart",
            pair[1] - pair[0]
        );
    }
    assert_eq!(slots.len(), 300);
}

/// Fills a store with a bit of everything (used to test the move between engines).
async fn fill(store: &Store) {
    create_class(store, "c1", "g1").await;
    store
        .record_intake(&[
            timeline("c1", "g1", "s1", 1, 1_000),
            timeline("c1", "g1", "s2", 2, 2_000),
            class_event("c1", "g1", "teacher_li", 3, ClassEvent::Start),
        ])
        .await
        .into_iter()
        .for_each(|r| {
            r.unwrap();
        });
    let claimed = store.claim_due("w", 1, 60_000).await.unwrap();
    let rec = attempt_of(claimed[0].id, claimed[0].random, AttemptOutcome::Sent);
    let sent = Transition::Sent {
        im_msg_seq: Some(3),
        im_msg_time: Some(4),
    };
    assert!(store.finish_attempt("w", &rec, &sent).await.unwrap());
    let body = [0xffu8, 0x00, b'x'];
    store
        .record_callback(&NewCallbackRow {
            source: replaydesk::store::CallbackSource::Css,
            received_at: 1,
            body: &body,
            body_bytes: 3,
            status: CallbackStatus::Refused,
            reason: Some("bad_sign"),
            file_key: None,
        })
        .await
        .unwrap();
    let job = store
        .create_job(
            JobKind::BulkResend,
            &MessageFilter::default(),
            &crate::util::by("admin"),
        )
        .await
        .unwrap();
    store.job_enqueue_batch(job.id, 10).await.unwrap();
    store.raise_class_alert("k", "c1", "d").await.unwrap();
    let run = store
        .start_reconcile("c1", &crate::util::by("admin"))
        .await
        .unwrap();
    store
        .save_history_page(run.id, "c1", &[(3, "item".into())], None)
        .await
        .unwrap();
    store.end_reconcile(run.id, Ok("{}")).await.unwrap();
}

/// Moving an SQLite install to PostgreSQL (`replaydesk migrate-store`): every row arrives
/// with its id, the destination's id sequences continue after them, a second copy into a
/// store that is no longer empty is refused, and the binary does the same.
#[tokio::test]
async fn an_sqlite_store_moves_to_postgres_whole() {
    let Some(pg) = util::engines::postgres("an_sqlite_store_moves_to_postgres_whole").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.db");
    let source = Store::open(&file).await.unwrap();
    fill(&source).await;
    let dest = Store::open(&pg.db()).await.unwrap();
    let counts = source.copy_into(&dest).await.unwrap();
    let count = |t: &str| counts.iter().find(|(n, _)| *n == t).unwrap().1;
    assert_eq!(count("messages"), 3);
    assert_eq!(count("attempts"), 1);
    assert_eq!(count("class_members"), 3);

    let all = MessageFilter::default();
    let before = source.list_messages(&all, None, 100).await.unwrap();
    let after = dest.list_messages(&all, None, 100).await.unwrap();
    assert_eq!(before, after, "messages identical, ids included");
    // The destination's triggers counted the copied messages (the counters are not copied).
    let counts = |c: Vec<(String, MessageStatus, i64)>| {
        let mut c: Vec<_> = c.into_iter().map(|(c, s, n)| (c, s.as_str(), n)).collect();
        c.sort();
        c
    };
    assert_eq!(
        counts(source.class_status_counts().await.unwrap()),
        counts(dest.class_status_counts().await.unwrap())
    );
    for m in &before.items {
        assert_eq!(
            source.attempts(m.id).await.unwrap(),
            dest.attempts(m.id).await.unwrap()
        );
    }
    assert_eq!(
        source.class("c1").await.unwrap(),
        dest.class("c1").await.unwrap()
    );
    assert_eq!(
        source.members("c1").await.unwrap(),
        dest.members("c1").await.unwrap()
    );
    assert_eq!(
        source.recording_callbacks(&[], None, 10).await.unwrap(),
        dest.recording_callbacks(&[], None, 10).await.unwrap()
    );
    assert_eq!(source.jobs(10).await.unwrap(), dest.jobs(10).await.unwrap());
    assert_eq!(
        source.open_alerts().await.unwrap(),
        dest.open_alerts().await.unwrap()
    );
    assert_eq!(
        source.latest_reconcile("c1").await.unwrap(),
        dest.latest_reconcile("c1").await.unwrap()
    );
    assert_eq!(
        source.group_history("c1").await.unwrap(),
        dest.group_history("c1").await.unwrap()
    );
    assert_eq!(
        source.audit_log(None, 50).await.unwrap(),
        dest.audit_log(None, 50).await.unwrap()
    );
    // New rows on the destination take ids after the copied ones.
    let next = util::enqueue_timeline(&dest, "c1", "g1", "s9", 9).await;
    assert!(before.items.iter().all(|m| m.id < next.id));

    // Not empty any more: refused, nothing written.
    let err = source.copy_into(&dest).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    source.close().await;
    dest.close().await;

    // The command: into a second, empty database.
    let Some(pg2) = util::engines::postgres("an_sqlite_store_moves_to_postgres_whole_cli").await
    else {
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_replaydesk"))
        .args(["migrate-store", "--from"])
        .arg(&file)
        .arg("--to")
        .arg(pg2.db())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("messages: 3 rows"), "{stdout}");
    let moved = Store::open(&pg2.db()).await.unwrap();
    assert_eq!(moved.list_messages(&all, None, 100).await.unwrap(), before);
    moved.close().await;
}

on_both_engines! {
    /// The move between engines names every column the schema has: a migration that adds
    /// one without teaching `migrate-store` about it fails here.
    async fn copy_covers_every_column(db) {
        let store = Store::open(&db).await.unwrap();
        let sqlite = !db.to_string_lossy().starts_with("postgres");
        let sql = if sqlite {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'"
        } else {
            "SELECT table_name::TEXT AS t, column_name::TEXT AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'"
        };
        let pool_rows = schema_columns(&db, sql).await;
        store.close().await;
        let copied = replaydesk::store::copied_columns();
        let mut missing = Vec::new();
        for (t, c) in pool_rows {
            // message_counts (and PostgreSQL's message_count_changes) are derived: the
            // destination's triggers count the copied messages themselves. Sessions are
            // live sign-ins: after a move everyone signs in again.
            if matches!(
                t.as_str(),
                "health_probe"
                    | "rate_budget"
                    | "message_counts"
                    | "message_count_changes"
                    | "sessions"
            ) {
                continue;
            }
            let named = copied.iter().any(|(ct, cols)| *ct == t && cols.contains(&c.as_str()))
                || replaydesk::store::COPIED_SEPARATELY.contains(&(t.as_str(), c.as_str()));
            if !named {
                missing.push(format!("{t}.{c}"));
            }
        }
        assert!(missing.is_empty(), "migrate-store does not copy {missing:?}");
    }
}

/// (table, column) pairs the database at `db` reports through `sql`.
async fn schema_columns(db: &std::path::Path, sql: &str) -> Vec<(String, String)> {
    use sqlx::Row;
    let text = db.to_string_lossy();
    let rows: Vec<(String, String)> = if text.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&text).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        let out = rows.iter().map(|r| (r.get("t"), r.get("c"))).collect();
        pool.close().await;
        out
    } else {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{text}"))
            .await
            .unwrap();
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        let out = rows.iter().map(|r| (r.get("t"), r.get("c"))).collect();
        pool.close().await;
        out
    };
    assert!(!rows.is_empty(), "the schema query found no columns");
    rows
}

/// A PostgreSQL URL nothing answers at: `open` fails with the reason (the refused connection,
/// not the pool's generic acquire timeout a minute later), and the error does not carry the
/// password.
#[tokio::test]
async fn an_unreachable_postgres_url_fails_at_once_with_the_reason() {
    let err = Store::open(std::path::Path::new(
        "postgres://replaydesk:hunter2-secret@127.0.0.1:1/replaydesk",
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("refused"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// The writer runs without SQLite's automatic checkpoint (it ran inside the committing
/// connection, holding up every commit queued behind it); the store's own checkpoint task
/// keeps the WAL bounded instead. A thousand write transactions write about 150 MB of WAL
/// frames in all (that is how large it grew when only passive checkpoints ran); sampled after every
/// commit, the WAL file stays under 48 MB (16 MB and what was written while the checkpoint
/// waited its turn on the writer: 25 MB when this was written).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wal.db");
    let wal = dir.path().join("wal.db-wal");
    let store = Store::open(&db).await.unwrap();
    create_class(&store, "c1", "g1").await;
    let build = |seq: Seq| ReplayMessage::new(seq, 1, Payload::ClassStart(UserValue::new("a")));
    let mut largest = 0;
    for t in 0..1000 {
        let keys: Vec<String> = (0..20).map(|i| format!("k{t}-{i}")).collect();
        let batch: Vec<NewMessage<'_>> = keys.iter().map(|k| new(k, "c1", "g1", &build)).collect();
        let done = store.insert_messages(&batch).await.unwrap();
        assert!(done.iter().all(|d| d.created));
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert!(
        largest < 48 * 1024 * 1024,
        "the WAL reached {largest} bytes: nothing checkpoints it"
    );
    store.close().await;
}

on_both_engines! {
    /// A batch of outcomes (the recorder's group commit, written with multi-row statements)
    /// leaves every message, attempt and counter exactly as recording them one by one does:
    /// sent, retried and failed messages move; one whose lease another worker holds, one
    /// already sent, and a second outcome for a message in the same batch do not, and
    /// every attempt is kept.
    async fn a_batch_of_outcomes_ends_as_the_same_outcomes_one_by_one(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        let mut ids = Vec::new();
        for i in 0..8 {
            ids.push(util::enqueue_timeline(&store, "c1", "g1", "a", i).await.id);
        }
        // Worker A holds six, worker B two (ids[6], ids[7]).
        let a = store.claim_due("worker-a", 6, 60_000).await.unwrap();
        let b = store.claim_due("worker-b", 2, 60_000).await.unwrap();
        assert_eq!((a.len(), b.len()), (6, 2));
        let random = |id: i64| a.iter().chain(&b).find(|m| m.id == id).unwrap().random;
        let sent = |seq: i64| Transition::Sent {
            im_msg_seq: Some(seq),
            im_msg_time: Some(1_700_000_000 + seq),
        };
        let retry = Transition::Retry {
            next_attempt_at: 5,
            advance_step: true,
            ambiguous_at: None,
            error: "busy".into(),
        };
        let failed = Transition::Failed {
            error: "refused".into(),
        };
        let held_by_a: Vec<i64> = a.iter().map(|m| m.id).collect();
        // Already sent before the batch: a late second outcome must not move it.
        let first = held_by_a[5];
        assert!(store
            .finish_attempt("worker-a", &attempt_of(first, random(first), AttemptOutcome::Sent), &sent(50))
            .await
            .unwrap());
        let items: Vec<(AttemptRecord, Transition, bool)> = vec![
            (attempt_of(held_by_a[0], random(held_by_a[0]), AttemptOutcome::Sent), sent(10), true),
            (attempt_of(held_by_a[1], random(held_by_a[1]), AttemptOutcome::Sent), Transition::Sent { im_msg_seq: None, im_msg_time: None }, true),
            (attempt_of(held_by_a[2], random(held_by_a[2]), AttemptOutcome::Retry), retry.clone(), true),
            (attempt_of(held_by_a[3], random(held_by_a[3]), AttemptOutcome::Permanent), failed.clone(), true),
            // The same message twice in one batch: the first outcome moves it, the second not.
            (attempt_of(held_by_a[4], random(held_by_a[4]), AttemptOutcome::Sent), sent(14), true),
            (attempt_of(held_by_a[4], random(held_by_a[4]), AttemptOutcome::Sent), sent(99), false),
            (attempt_of(first, random(first), AttemptOutcome::Sent), sent(51), false),
            // Held by worker B: A's outcome is recorded as an attempt but moves nothing.
            (attempt_of(ids[6], random(ids[6]), AttemptOutcome::Sent), sent(16), false),
            (attempt_of(ids[7], random(ids[7]), AttemptOutcome::Permanent), failed.clone(), false),
        ];
        let refs: Vec<(&AttemptRecord, &Transition)> = items.iter().map(|(r, t, _)| (r, t)).collect();
        let moved: Vec<bool> = store
            .finish_attempts("worker-a", &refs)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let expected: Vec<bool> = items.iter().map(|(_, _, m)| *m).collect();
        assert_eq!(moved, expected);

        let m = |id: i64| {
            let store = store.clone();
            async move { store.message(id).await.unwrap() }
        };
        let s0 = m(held_by_a[0]).await;
        assert_eq!((s0.status, s0.im_msg_seq, s0.im_msg_time, s0.attempt_count), (MessageStatus::Sent, Some(10), Some(1_700_000_010), 1));
        assert!(s0.sent_at.is_some());
        let s1 = m(held_by_a[1]).await;
        assert_eq!((s1.status, s1.im_msg_seq, s1.im_msg_time), (MessageStatus::Sent, None, None));
        let r = m(held_by_a[2]).await;
        assert_eq!((r.status, r.next_attempt_at, r.last_error.as_deref()), (MessageStatus::Retrying, Some(5), Some("busy")));
        let f = m(held_by_a[3]).await;
        assert_eq!((f.status, f.last_error.as_deref()), (MessageStatus::Failed, Some("refused")));
        let twice = m(held_by_a[4]).await;
        assert_eq!((twice.status, twice.im_msg_seq, twice.attempt_count), (MessageStatus::Sent, Some(14), 1));
        let early = m(first).await;
        assert_eq!((early.status, early.im_msg_seq, early.attempt_count), (MessageStatus::Sent, Some(50), 1));
        for id in [ids[6], ids[7]] {
            let other = m(id).await;
            assert_eq!((other.status, other.attempt_count), (MessageStatus::Sending, 0));
        }
        // Every outcome is in the history, moved or not.
        assert_eq!(store.attempts(held_by_a[4]).await.unwrap().len(), 2);
        assert_eq!(store.attempts(first).await.unwrap().len(), 2);
        assert_eq!(store.attempts(ids[6]).await.unwrap().len(), 1);
        // The counters followed: 4 sent, 1 retrying, 1 failed, 2 sending.
        let mut counts = store.status_counts(Some("c1")).await.unwrap();
        counts.sort_by_key(|(s, _)| s.as_str());
        assert_eq!(
            counts,
            vec![
                (MessageStatus::Failed, 1),
                (MessageStatus::Retrying, 1),
                (MessageStatus::Sending, 2),
                (MessageStatus::Sent, 4),
            ]
        );
    }
}

on_both_engines! {
    // Fair claiming (issue 27, hole 2): a message of a busy group is put back unattempted,
    // due at its turn; not claimable before, claimable after; only while its lease holds.
    async fn deferred_messages_wait_in_the_store_for_their_turn(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        let b1 = fixed_seq(11, "a");
        let b2 = fixed_seq(22, "b");
        let m1 = store.insert_message(&new("k1", "c1", "g1", &b1)).await.unwrap().message;
        let m2 = store.insert_message(&new("k2", "c1", "g1", &b2)).await.unwrap().message;
        let claimed = store.claim_due("w", 10, 60_000).await.unwrap();
        assert_eq!(claimed.len(), 2);
        assert_eq!(claimed[0].msg_type, MessageType::ClassStart);
        let now = replaydesk::clock::unix_ms_now();
        let later = now + 3_600_000;
        // Another worker's defer moves nothing.
        assert_eq!(store.defer("other", &[(m1.id, later)]).await.unwrap(), 0);
        assert_eq!(store.defer("w", &[(m1.id, later), (m2.id, now - 1)]).await.unwrap(), 2);
        for (m, at) in [(&m1, later), (&m2, now - 1)] {
            let back = store.message(m.id).await.unwrap();
            assert_eq!(back.status, MessageStatus::Pending);
            assert_eq!(back.next_attempt_at, Some(at));
            assert_eq!(back.attempt_count, 0, "a deferral is not an attempt");
            assert!(store.attempts(m.id).await.unwrap().is_empty());
        }
        // Only the one whose turn has come is claimed again.
        let again = store.claim_due("w", 10, 60_000).await.unwrap();
        assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), vec![m2.id]);
        assert_eq!(store.next_due_at().await.unwrap(), Some(later));
    }
}

on_both_engines! {
    // Issue 27, hole 3: a class keeps its newest refused reports only, and another class's
    // are its own.
    async fn a_class_keeps_only_its_newest_refused_reports(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        create_class(&store, "c2", "g2").await;
        let refused = |class: &str, ts: i64| replaydesk::store::RefusedReport {
            class_id: Some(class.into()),
            uid: Some("a".into()),
            client_timestamp: Some(ts),
            rtt_ms: None,
            received_at: 1,
            reason: "bad".into(),
            body: "{}".into(),
        };
        store.record_refused_report(&refused("c2", 0)).await.unwrap();
        let kept = replaydesk::store::REFUSED_REPORTS_KEPT;
        for ts in 0..kept + 3 {
            store.record_refused_report(&refused("c1", ts)).await.unwrap();
        }
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.timeline_reports("c1", cursor, 1000).await.unwrap();
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(all.len() as i64, kept);
        assert_eq!(all[0].client_timestamp, Some(kept + 2));
        assert_eq!(all.last().unwrap().client_timestamp, Some(3));
        assert_eq!(store.timeline_reports("c2", None, 10).await.unwrap().items.len(), 1);
    }
}
