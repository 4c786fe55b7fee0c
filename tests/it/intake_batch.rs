//! The intake writer's batches: many reports committed together with multi-row statements
//! behave exactly as one by one — a repeat in the same batch or of an earlier batch is the
//! same message, a class event in the batch still updates its class, every raw report is
//! kept with its message, and every reporting uid becomes a member; and the class cache of
//! the reporting path sees every change to a class.

use crate::util::{class_event, create_class, timeline_intake};
use replaydesk::store::{ClassEvent, ClassState, IntakeItem, Store, CLASS_TTL};

fn timeline(class: &str, group: &str, uid: &str, ts: u64, time_line: i64) -> IntakeItem {
    timeline_intake(class, group, uid, ts, time_line, time_line + 2)
}

async fn open() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    let store = Store::open(&db).await.unwrap();
    create_class(&store, "c1", "g1").await;
    create_class(&store, "c2", "g2").await;
    (dir, db, store)
}

#[tokio::test]
async fn a_batch_with_repeats_and_a_class_event_records_each_report_as_one_by_one_would() {
    let (_dir, _db, store) = open().await;
    let first = store
        .record_intake(&[timeline("c1", "g1", "amy", 10, 1_000)])
        .await;
    let first = first[0].as_ref().unwrap().clone();
    assert!(first.created);

    let batch = vec![
        timeline("c1", "g1", "bob", 20, 2_000),
        // Repeats: of the report just before it in this batch, and of the earlier batch
        // (with another time_line, as a client retry would have).
        timeline("c1", "g1", "bob", 20, 2_500),
        timeline("c1", "g1", "amy", 10, 9_999),
        class_event("c2", "g2", "teacher_li", 5, ClassEvent::Start),
        // The same uid and timestamp in another class is another message.
        timeline("c2", "g2", "bob", 20, 2_000),
    ];
    let out: Vec<_> = store
        .record_intake(&batch)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(out[0].created);
    assert!(!out[1].created);
    assert_eq!(out[1].message.id, out[0].message.id);
    // The stored message keeps the first report's time_line.
    assert_eq!(out[1].message.data, out[0].message.data);
    assert!(out[0].message.data.contains("\"time_line\":2000"));
    assert!(!out[2].created);
    assert_eq!(out[2].message.id, first.message.id);
    assert!(out[3].created);
    assert!(out[4].created);
    assert_ne!(out[4].message.id, out[0].message.id);
    assert_eq!(out[4].message.class_id, "c2");

    // Every report kept raw, each pointing at its message.
    let reports = store.timeline_reports("c1", None, 100).await.unwrap().items;
    assert_eq!(reports.len(), 4);
    let mut ids: Vec<_> = reports.iter().map(|r| r.message_id.unwrap()).collect();
    ids.sort_unstable();
    let mut want = vec![
        first.message.id,
        first.message.id,
        out[0].message.id,
        out[0].message.id,
    ];
    want.sort_unstable();
    assert_eq!(ids, want);
    // The class event moved its class; the reporting uids are members.
    assert_eq!(store.class("c2").await.unwrap().state, ClassState::Started);
    let members: Vec<String> = store
        .members("c1")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.uid)
        .collect();
    assert!(members.contains(&"amy".to_owned()) && members.contains(&"bob".to_owned()));
    assert!(store.is_member("c2", "bob").await.unwrap());
    assert!(!store.is_member("c2", "amy").await.unwrap());
}

/// A batch of a size no power of two, over two classes, with repeats of an earlier batch
/// among its reports: each answer is the message the store holds (same id, data, seq,
/// random, status) — SQLite's batch insert names each new row's id without reading it
/// back — and each raw report points at its own message.
#[tokio::test]
async fn each_answer_of_a_large_batch_is_the_stored_message() {
    let (_dir, _db, store) = open().await;
    let earlier: Vec<_> = (0..3)
        .map(|i| timeline("c1", "g1", &format!("u{i}"), 7, 700))
        .collect();
    for r in store.record_intake(&earlier).await {
        assert!(r.unwrap().created);
    }
    for skip_some in [false, true] {
        let batch: Vec<_> = (0..37u64)
            .map(|i| {
                let (class, group) = if i % 3 == 0 {
                    ("c2", "g2")
                } else {
                    ("c1", "g1")
                };
                // With `skip_some`, three reports repeat the earlier batch's (same uid and
                // timestamp in c1): not created, answered with the earlier message.
                if skip_some && i < 3 {
                    return timeline("c1", "g1", &format!("u{i}"), 7, 900);
                }
                let ts = if skip_some { 1_000 + i } else { 100 + i };
                timeline(
                    class,
                    group,
                    &format!("u{}", i % 11),
                    ts,
                    10_000 + ts as i64,
                )
            })
            .collect();
        let out: Vec<_> = store
            .record_intake(&batch)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let mut ids = std::collections::HashSet::new();
        for (i, ins) in out.iter().enumerate() {
            assert_eq!(ins.created, !(skip_some && i < 3), "report {i}");
            assert!(ids.insert(ins.message.id), "report {i}: an id given twice");
            let stored = store.message(ins.message.id).await.unwrap();
            assert_eq!(
                stored, ins.message,
                "report {i}: the answer is the stored message"
            );
        }
        for class in ["c1", "c2"] {
            for r in store
                .timeline_reports(class, None, 1000)
                .await
                .unwrap()
                .items
            {
                let m = store.message(r.message_id.unwrap()).await.unwrap();
                assert_eq!(
                    (m.class_id.as_str(), Some(m.uid.as_str())),
                    (class, r.uid.as_deref())
                );
            }
        }
    }
}

#[tokio::test]
async fn the_reporting_paths_class_cache_sees_every_change_made_here() {
    let (_dir, _db, store) = open().await;
    // An unknown class is not remembered as missing: once created it is found at once.
    assert!(store.class_entry("c3").await.unwrap().is_none());
    create_class(&store, "c3", "g3").await;
    let c3 = store.class_entry("c3").await.unwrap().expect("c3 is found");
    assert_eq!(c3.record.state, ClassState::Created);

    // Start, end and reopen are each seen by the next look-up.
    let event = |event| class_event("c3", "g3", "teacher_li", 1, event);
    store.record_intake(&[event(ClassEvent::Start)]).await[0]
        .as_ref()
        .unwrap();
    let e = store.class_entry("c3").await.unwrap().unwrap();
    assert_eq!(e.record.state, ClassState::Started);
    store.record_intake(&[event(ClassEvent::End)]).await[0]
        .as_ref()
        .unwrap();
    let e = store.class_entry("c3").await.unwrap().unwrap();
    assert_eq!(e.record.state, ClassState::Ended);
    store.reopen_class("c3").await.unwrap();
    let e = store.class_entry("c3").await.unwrap().unwrap();
    assert_eq!(e.record.state, ClassState::Created);
    assert_eq!(e.record.reopen_count, 1);
}

#[tokio::test]
async fn a_change_made_by_another_process_is_seen_once_the_cache_entry_ages_out() {
    let (_dir, db, store) = open().await;
    let before = store.class_entry("c1").await.unwrap().unwrap();
    // Another node on the same database changes the class's credentials (straight in SQL:
    // nothing in this process hears of it).
    let other = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&db))
        .await
        .unwrap();
    sqlx::query(
        "UPDATE classes SET credential_key = 'rotated', report_token_sha256 = 'ff', \
         legacy_class_token = 1 WHERE class_id = 'c1'",
    )
    .execute(&other)
    .await
    .unwrap();
    other.close().await;
    tokio::time::sleep(CLASS_TTL + std::time::Duration::from_millis(50)).await;
    let after = store.class_entry("c1").await.unwrap().unwrap();
    assert_ne!(after.auth.credential_key, before.auth.credential_key);
    assert_eq!(after.auth.credential_key, "rotated");
    assert_eq!(after.auth.report_token_sha256, "ff");
    assert!(after.auth.legacy_class_token && after.record.legacy_class_token);
}

/// Two nodes on one PostgreSQL committing batches that name the same members in opposite
/// orders, over and over: no batch deadlocks. Each batch's member upsert locks its rows in
/// the order it lists them, so two batches listing shared members in different orders
/// once deadlocked (PostgreSQL aborted one after `deadlock_timeout`; the intake then wrote
/// its reports one by one): the bench's three-node `wrk` run showed a p99 of a second.
/// The deadlocks are PostgreSQL's own count for the test's database, which a backend
/// reports at the latest when it exits: both nodes' pools are closed before it is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_naming_the_same_members_in_opposite_orders_never_deadlock() {
    let Some(db) = crate::util::engines::postgres("intake_member_order").await else {
        return;
    };
    let url = db.db().to_string_lossy().into_owned();
    let deadlocks = || {
        let url = url.clone();
        async move {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let n: i64 = sqlx::query_scalar(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            pool.close().await;
            n
        }
    };
    let a = Store::open(&db.db()).await.unwrap();
    let b = Store::open(&db.db()).await.unwrap();
    create_class(&a, "c1", "g1").await;
    let before = deadlocks().await;
    let uids: Vec<String> = (0..16).map(|i| format!("s{i:02}")).collect();
    for round in 0..40u64 {
        let forward: Vec<IntakeItem> = uids
            .iter()
            .enumerate()
            .map(|(i, u)| timeline("c1", "g1", u, round * 100 + i as u64, 1_000))
            .collect();
        let backward: Vec<IntakeItem> = uids
            .iter()
            .rev()
            .enumerate()
            .map(|(i, u)| timeline("c1", "g1", u, round * 100 + 50 + i as u64, 1_000))
            .collect();
        let (x, y) = tokio::join!(a.record_intake(&forward), b.record_intake(&backward));
        assert!(x.iter().chain(&y).all(Result::is_ok));
    }
    let members = a.members("c1").await.unwrap();
    assert!(uids.iter().all(|u| members.iter().any(|m| &m.uid == u)));
    a.close().await;
    b.close().await;
    // The closed connections' backends report as they exit, a moment after the close.
    for _ in 0..30 {
        assert_eq!(
            deadlocks().await - before,
            0,
            "deadlocks between the two nodes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
