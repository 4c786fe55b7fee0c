//! The console's list and count queries on each engine (a real SQLite file, a real
//! PostgreSQL database): the per-class status counters that triggers keep equal what a
//! fresh `COUNT(*) ... GROUP BY` of the messages says after every kind of status change,
//! and a page filtered by several statuses holds exactly the messages that match, newest
//! first, with cursors that walk across the statuses.

use crate::util;
use crate::util::{attempt_of, create_class, enqueue_timeline};
use replaydesk::protocol::{MessageType, Payload, ReplayMessage, UserValue};
use replaydesk::store::{
    AttemptOutcome, ImportedClass, JobKind, MessageFilter, MessageStatus, NewMessage, Store,
    StoredMessage, Transition, Trigger,
};
use sqlx::Row;

/// (class, status, n) for every non-empty pair, counted from the messages themselves
/// through a connection of our own (not the store's code).
async fn counted_from_messages(db: &std::path::Path) -> Vec<(String, String, i64)> {
    let text = db.to_string_lossy();
    let sql = "SELECT class_id, status, COUNT(*) AS n FROM messages GROUP BY class_id, status";
    // The Any driver reads both engines' URLs; a pool of its own, not the store's.
    sqlx::any::install_default_drivers();
    let url = if text.starts_with("postgres") {
        text.into_owned()
    } else {
        format!("sqlite://{text}")
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let rows: Vec<(String, String, i64)> = sqlx::query(sql)
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("class_id"), r.get("status"), r.get("n")))
        .collect();
    pool.close().await;
    let mut rows = rows;
    rows.sort();
    rows
}

/// The store's counts (dashboard, class list, each class) against a fresh count.
async fn assert_counts_exact(store: &Store, db: &std::path::Path, after: &str) {
    let truth = counted_from_messages(db).await;
    let mut listed: Vec<(String, String, i64)> = store
        .class_status_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|(c, s, n)| (c, s.as_str().to_owned(), n))
        .collect();
    listed.sort();
    assert_eq!(listed, truth, "class list counts after {after}");
    for s in MessageStatus::ALL {
        let want: i64 = truth
            .iter()
            .filter(|(_, ts, _)| ts == s.as_str())
            .map(|(_, _, n)| n)
            .sum();
        let got = util::count_status(store, *s).await;
        assert_eq!(got, want, "dashboard count of {s} after {after}");
    }
    let mut classes: Vec<&String> = truth.iter().map(|(c, _, _)| c).collect();
    classes.dedup();
    for c in classes {
        let mut got: Vec<(String, i64)> = store
            .status_counts(Some(c))
            .await
            .unwrap()
            .into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n))
            .collect();
        got.sort();
        let want: Vec<(String, i64)> = truth
            .iter()
            .filter(|(tc, _, _)| tc == c)
            .map(|(_, s, n)| (s.clone(), *n))
            .collect();
        assert_eq!(got, want, "counts of class {c} after {after}");
    }
}

fn retry() -> Transition {
    Transition::Retry {
        next_attempt_at: i64::MAX / 2,
        advance_step: true,
        ambiguous_at: None,
        error: "try later".into(),
    }
}

/// A 1001 for `uid` (another type than `enqueue_timeline`'s 1003s).
async fn enqueue_start(store: &Store, class: &str, group: &str, uid: &str) -> StoredMessage {
    let uid_owned = uid.to_owned();
    let build = move |seq| {
        ReplayMessage::new(
            seq,
            1,
            Payload::ClassStart(UserValue::new(uid_owned.clone())),
        )
    };
    store
        .insert_message(&NewMessage {
            class_id: class,
            group_id: group,
            uid,
            dedup_key: &format!("1001:{uid}"),
            build: &build,
        })
        .await
        .unwrap()
        .message
}

on_both_engines! {
    async fn status_counters_equal_a_fresh_count_after_every_kind_of_change(db) {
        let store = Store::open(&db).await.unwrap();
        assert_counts_exact(&store, &db, "nothing").await;
        create_class(&store, "c1", "g1").await;
        create_class(&store, "c2", "g2").await;
        for i in 0..12 {
            enqueue_timeline(&store, if i % 3 == 0 { "c2" } else { "c1" }, if i % 3 == 0 { "g2" } else { "g1" }, "a", i).await;
        }
        // The same logical message again: nothing new, nothing counted twice.
        enqueue_timeline(&store, "c1", "g1", "a", 1).await;
        assert_counts_exact(&store, &db, "insert").await;

        let claimed = store.claim_due("w", 8, 60_000).await.unwrap();
        assert_eq!(claimed.len(), 8);
        assert_counts_exact(&store, &db, "claim").await;

        let sent = Transition::Sent { im_msg_seq: Some(1), im_msg_time: Some(2) };
        let failed = Transition::Failed { error: "refused".into() };
        let retrying = retry();
        for (i, c) in claimed.iter().enumerate().take(6) {
            let (outcome, t) = match i % 3 {
                0 => (AttemptOutcome::Sent, &sent),
                1 => (AttemptOutcome::Retry, &retrying),
                _ => (AttemptOutcome::Permanent, &failed),
            };
            assert!(store.finish_attempt("w", &attempt_of(c.id, c.random, outcome), t).await.unwrap());
            assert_counts_exact(&store, &db, &format!("outcome {i}")).await;
        }
        // Two still in flight: one handed back, one whose lease runs out and is reclaimed.
        store.release("w", claimed[6].id, 0).await.unwrap();
        assert_counts_exact(&store, &db, "release").await;
        let stalled = store.claim_due("dead", 1, 0).await.unwrap();
        assert_eq!(stalled.len(), 1);
        assert!(store.reclaim_expired_leases().await.unwrap() >= 1);
        assert_counts_exact(&store, &db, "reclaim").await;

        // A person resends a sent message and one that failed.
        assert!(store.requeue(claimed[0].id, Trigger::Manual).await.unwrap());
        assert!(store.requeue(claimed[2].id, Trigger::Manual).await.unwrap());
        assert_counts_exact(&store, &db, "resend").await;

        // Recovery of what failed, as a job.
        let c = store.claim_due("w", 100, 60_000).await.unwrap();
        for m in &c {
            let f = Transition::Failed { error: "refused".into() };
            store.finish_attempt("w", &attempt_of(m.id, m.random, AttemptOutcome::Permanent), &f).await.unwrap();
        }
        assert_counts_exact(&store, &db, "everything failed").await;
        let job = store
            .create_job(JobKind::RecoverFailed, &MessageFilter { class_id: Some("c1".into()), ..MessageFilter::default() }, &crate::util::by("admin"))
            .await
            .unwrap();
        while store.job_enqueue_batch(job.id, 3).await.unwrap() > 0 {}
        assert_counts_exact(&store, &db, "recover").await;

        // An import of c1 as another class (its messages stored sent or failed).
        let class = store.class("c1").await.unwrap();
        let messages = store
            .list_messages(&MessageFilter { class_id: Some("c1".into()), ..MessageFilter::default() }, None, 100)
            .await
            .unwrap()
            .items;
        let mut attempts = Vec::new();
        for m in &messages {
            attempts.extend(store.attempts(m.id).await.unwrap());
        }
        let mut copy = class.clone();
        copy.class_id = "c1-imported".into();
        copy.group_id = "g1-imported".into();
        store
            .import_class(&ImportedClass {
                class: &copy,
                members: &[],
                messages: &messages,
                attempts: &attempts,
                reports: &[],
                history: &[],
            })
            .await
            .unwrap();
        assert_counts_exact(&store, &db, "import").await;
        store.close().await;
    }
}

on_both_engines! {
    /// A database made before the counters existed: the migration counts what is there.
    async fn the_counters_migration_counts_the_messages_already_stored(db) {
        let text = db.to_string_lossy().to_string();
        let postgres = text.starts_with("postgres");
        // The schema as it was before the counters (SQLite 0013, PostgreSQL 0003).
        let before = if postgres { 4 } else { 14 };
        let mut old = if postgres {
            sqlx::migrate!("./migrations_pg")
        } else {
            sqlx::migrate!("./migrations")
        };
        old.migrations = std::borrow::Cow::Owned(
            old.migrations.iter().filter(|m| m.version < before).cloned().collect(),
        );
        // The classes are written in that old schema's own terms: today's `create_class`
        // names columns later migrations added (a class's `room_id`, 0020).
        const CLASSES: &str = "INSERT INTO classes (class_id, group_id, teacher_uid, \
             report_token_sha256, created_at) VALUES ('c1', 'g1', 'teacher_li', '00', 1), \
             ('c2', 'g2', 'teacher_li', '00', 1)";
        const TEACHERS: &str = "INSERT INTO class_members (class_id, uid, role, first_seen_at, \
             last_seen_at) VALUES ('c1', 'teacher_li', 'teacher', 1, 1), \
             ('c2', 'teacher_li', 'teacher', 1, 1)";
        if postgres {
            let pool = sqlx::PgPool::connect(&text).await.unwrap();
            old.run(&pool).await.unwrap();
            for q in [CLASSES, TEACHERS] {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
            pool.close().await;
        } else {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{text}?mode=rwc"))
                .await
                .unwrap();
            old.run(&pool).await.unwrap();
            for q in [CLASSES, TEACHERS] {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        let store = Store::connect(&db).await.unwrap();
        for i in 0..5 {
            enqueue_timeline(&store, "c1", "g1", "a", i).await;
            enqueue_timeline(&store, "c2", "g2", "b", i).await;
        }
        let c = store.claim_due("w", 3, 60_000).await.unwrap();
        let failed = Transition::Failed { error: "refused".into() };
        store.finish_attempt("w", &attempt_of(c[0].id, c[0].random, AttemptOutcome::Permanent), &failed).await.unwrap();
        store.migrate().await.unwrap();
        assert_counts_exact(&store, &db, "the migration").await;
        // And kept from then on.
        enqueue_timeline(&store, "c1", "g1", "a", 99).await;
        assert_counts_exact(&store, &db, "an insert after the migration").await;
        store.close().await;
    }
}

/// Every page of `filter`, `limit` at a time, following the cursors.
async fn walk(store: &Store, filter: &MessageFilter, limit: u32) -> Vec<Vec<StoredMessage>> {
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_messages(filter, before, limit).await.unwrap();
        pages.push(page.items);
        match page.next_cursor {
            Some(c) => before = Some(c),
            None => return pages,
        }
    }
}

on_both_engines! {
    async fn a_page_filtered_by_several_statuses_holds_exactly_the_matching_messages(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        create_class(&store, "c2", "g2").await;
        for i in 0..40 {
            let uid = ["a", "b", "c"][i as usize % 3];
            enqueue_timeline(&store, "c1", "g1", uid, i).await;
            if i % 4 == 0 {
                enqueue_timeline(&store, "c2", "g2", uid, i).await;
            }
        }
        for uid in ["a", "b"] {
            enqueue_start(&store, "c1", "g1", uid).await;
        }
        // Statuses interleaved by id: sent, retrying, failed, sending, pending.
        let claimed = store.claim_due("w", 1000, 60_000).await.unwrap();
        for (i, m) in claimed.iter().enumerate() {
            let (outcome, t) = match i % 5 {
                0 => (AttemptOutcome::Sent, Transition::Sent { im_msg_seq: None, im_msg_time: None }),
                1 => (AttemptOutcome::Retry, retry()),
                2 => (AttemptOutcome::Permanent, Transition::Failed { error: "x".into() }),
                3 => continue,
                _ => {
                    store.release("w", m.id, 0).await.unwrap();
                    continue;
                }
            };
            store.finish_attempt("w", &attempt_of(m.id, m.random, outcome), &t).await.unwrap();
        }
        let all = walk(&store, &MessageFilter::default(), 1000).await.concat();
        assert_eq!(all.len(), 52);
        use MessageStatus::*;
        let class = |c: &str| Some(c.to_owned());
        let cases: Vec<MessageFilter> = vec![
            MessageFilter { class_id: class("c1"), statuses: vec![Failed, Retrying], ..Default::default() },
            MessageFilter { class_id: class("c1"), statuses: vec![Retrying, Failed, Failed], ..Default::default() },
            MessageFilter { class_id: class("c1"), statuses: vec![Sent, Sending, Pending, Retrying, Failed], ..Default::default() },
            MessageFilter { class_id: class("c1"), statuses: vec![Failed, Pending], uid: Some("a".into()), ..Default::default() },
            MessageFilter { class_id: class("c1"), statuses: vec![Sent, Pending], types: vec![MessageType::ClassStart], ..Default::default() },
            MessageFilter { class_id: class("c2"), statuses: vec![Sent, Failed], ..Default::default() },
            MessageFilter { statuses: vec![Sent, Retrying], ..Default::default() },
            MessageFilter { class_ids: vec!["c1".into(), "c2".into()], statuses: vec![Pending, Sending], ..Default::default() },
            MessageFilter { class_id: class("c1"), statuses: vec![Failed, Retrying], text: Some("\"b\"".into()), ..Default::default() },
            MessageFilter { class_id: class("nobody"), statuses: vec![Failed, Retrying], ..Default::default() },
        ];
        for filter in &cases {
            // What the filter means, decided here from every message (newest first).
            let want: Vec<StoredMessage> = all
                .iter()
                .filter(|m| filter.class_id.as_ref().is_none_or(|c| *c == m.class_id))
                .filter(|m| filter.class_ids.is_empty() || filter.class_ids.contains(&m.class_id))
                .filter(|m| filter.statuses.contains(&m.status))
                .filter(|m| filter.uid.as_ref().is_none_or(|u| *u == m.uid))
                .filter(|m| filter.types.is_empty() || filter.types.contains(&m.msg_type))
                .filter(|m| filter.text.as_ref().is_none_or(|t| m.data.contains(t.as_str())))
                .cloned()
                .collect();
            for limit in [1, 3, 7, 50] {
                let pages = walk(&store, filter, limit).await;
                let expected: Vec<Vec<StoredMessage>> = if want.is_empty() {
                    vec![vec![]]
                } else {
                    want.chunks(limit as usize).map(<[_]>::to_vec).collect()
                };
                assert_eq!(pages, expected, "{filter:?}, {limit} a page");
            }
            assert_eq!(
                store.count_messages(filter).await.unwrap(),
                want.len() as i64,
                "{filter:?} counted"
            );
        }
        store.close().await;
    }
}
