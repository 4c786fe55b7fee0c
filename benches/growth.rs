//! The console's queries on a database that already holds many messages: `BENCH_STORED`
//! messages (default 1,000,000; at least 200,000, so that one class, `seed-big`, holds
//! 100,000 of them), each with its attempt and raw report, seeded straight in SQL. Each
//! query runs through the store's own functions, as the console calls them; the median
//! and the slowest of `BENCH_REPEAT` runs (default 5) are printed, with the query plan
//! SQLite chose for each.
//!
//! `cargo bench --bench growth`; `scripts/bench-growth.sh` runs this, `serve_load` and
//! `drain` at 0, 1,000,000 and 5,000,000 stored messages. `BENCH_DIR` is where the
//! database goes (several GB at 5,000,000). Under `cargo test --benches` it does a tiny run.

#[path = "common/seed.rs"]
mod seed;

use replaydesk::store::{MessageFilter, MessageStatus, Store};
use sqlx::Row;
use std::future::Future;
use std::time::{Duration, Instant};

async fn time<T, F: Future<Output = T>>(repeat: usize, mut f: impl FnMut() -> F) -> (f64, f64) {
    let mut took = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let t0 = Instant::now();
        let _ = f().await;
        took.push(t0.elapsed());
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(took[took.len() / 2]), ms(*took.last().unwrap()))
}

/// A read-only pool on the database, for the plans and for the statements the store used
/// before (timed in the same run, for comparison).
async fn raw_pool(db: &std::path::Path) -> sqlx::SqlitePool {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true);
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap()
}

/// The text of the store's page statement for several statuses (see `list_messages`): one
/// branch per status, each with its conditions as the store writes them for the index it
/// chose (`Store::index_hints`), merged.
fn per_status_page(cols: &str, branches: &[String]) -> String {
    let branches: Vec<String> = branches
        .iter()
        .enumerate()
        .map(|(i, cond)| {
            format!(
                "SELECT * FROM (SELECT {cols} FROM messages WHERE 1 = 1{cond} \
                 ORDER BY id DESC LIMIT 51) AS s{i}"
            )
        })
        .collect();
    format!(
        "SELECT {cols} FROM ({}) AS u ORDER BY id DESC LIMIT 51",
        branches.join(" UNION ALL ")
    )
}

/// SQLite's plan for `sql` (the store's statement text, with literal values).
async fn plan(db: &std::path::Path, sql: &str) -> String {
    let pool = raw_pool(db).await;
    let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = !args.iter().any(|a| a == "--bench");
    let stored = match seed::stored_from_env() {
        0 if quick => 200_000,
        0 => 1_000_000,
        n => n.max(200_000),
    };
    let repeat: usize = std::env::var("BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let tmp = match std::env::var_os("BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let db = tmp.path().join("growth.db");
        seed::seed(&db, stored).await;
        let store = Store::open(&db).await.unwrap();
        let big = seed::BIG_CLASS;
        let class = MessageFilter {
            class_id: Some(big.into()),
            ..MessageFilter::default()
        };
        let failed = MessageFilter {
            statuses: vec![MessageStatus::Failed, MessageStatus::Retrying],
            ..class.clone()
        };
        let by_uid = MessageFilter {
            uid: Some("student_7".into()),
            ..class.clone()
        };
        let failed_uid = MessageFilter {
            statuses: failed.statuses.clone(),
            ..by_uid.clone()
        };
        let failed_1003 = MessageFilter {
            types: vec![replaydesk::protocol::MessageType::Timeline],
            ..failed.clone()
        };
        let failed_all = MessageFilter {
            statuses: failed.statuses.clone(),
            ..MessageFilter::default()
        };
        let sent_or_failed_all = MessageFilter {
            statuses: vec![MessageStatus::Sent, MessageStatus::Failed],
            ..MessageFilter::default()
        };
        let raw = raw_pool(&db).await;
        let old = |sql: String| {
            let raw = raw.clone();
            move || {
                let raw = raw.clone();
                let sql = sql.clone();
                async move { sqlx::query(&sql).fetch_all(&raw).await.unwrap().len() }
            }
        };
        let one = store.list_messages(&class, None, 1).await.unwrap().items[0].id - 50_000;
        println!(
            "\nconsole queries, class `{big}` of 100,000 messages, {stored} messages stored; \
             median / slowest of {repeat} runs\n"
        );
        println!("| query | median ms | slowest ms | plan |");
        println!("|---|---:|---:|---|");
        let cols = "id, class_id, group_id, msg_type, uid, seq, random, data, status, attempt_count";
        let old_failed_sql = format!("SELECT {cols} FROM messages WHERE 1 = 1 AND class_id = '{big}' AND status IN ('failed', 'retrying') ORDER BY id DESC LIMIT 51");
        let old_1003_sql = format!("SELECT {cols} FROM messages WHERE 1 = 1 AND class_id = '{big}' AND status IN ('failed', 'retrying') AND msg_type IN (1003) ORDER BY id DESC LIMIT 51");
        let old_sent_sql = format!("SELECT {cols} FROM messages WHERE 1 = 1 AND status IN ('sent', 'failed') ORDER BY id DESC LIMIT 51");
        let old_count_sql = format!("SELECT COUNT(*) FROM messages WHERE 1 = 1 AND class_id = '{big}'");
        let old_dashboard_sql = "SELECT status, COUNT(*) AS n FROM messages GROUP BY status".to_owned();
        let old_classes_sql = "SELECT class_id, status, COUNT(*) AS n FROM messages GROUP BY class_id, status".to_owned();
        let rows: Vec<(&str, (f64, f64), String)> = vec![
            (
                "first page (50, newest first)",
                time(repeat, || store.list_messages(&class, None, 50)).await,
                format!("SELECT {cols} FROM messages WHERE 1 = 1 AND class_id = '{big}' ORDER BY id DESC LIMIT 51"),
            ),
            (
                "a page in the middle (cursor)",
                time(repeat, || store.list_messages(&class, Some(one), 50)).await,
                format!("SELECT {cols} FROM messages WHERE 1 = 1 AND class_id = '{big}' AND id < {one} ORDER BY id DESC LIMIT 51"),
            ),
            (
                "filtered page: failed or retrying (none match)",
                time(repeat, || store.list_messages(&failed, None, 50)).await,
                per_status_page(cols, &["failed", "retrying"].map(|st| format!(" AND class_id = '{big}' AND status IN ('{st}')"))),
            ),
            (
                "the same, the statement used before (status IN, for comparison)",
                time(repeat, old(old_failed_sql.clone())).await,
                old_failed_sql.clone(),
            ),
            (
                "filtered page: one uid, failed or retrying",
                time(repeat, || store.list_messages(&failed_uid, None, 50)).await,
                per_status_page(cols, &["failed", "retrying"].map(|st| format!(" AND class_id = '{big}' AND status IN ('{st}') AND (uid || '') = 'student_7'"))),
            ),
            (
                "filtered page: 1003s, failed or retrying",
                time(repeat, || store.list_messages(&failed_1003, None, 50)).await,
                per_status_page(cols, &["failed", "retrying"].map(|st| format!(" AND class_id = '{big}' AND status IN ('{st}') AND (msg_type + 0) IN (1003)"))),
            ),
            (
                "the same, the statement used before (status IN, for comparison)",
                time(repeat, old(old_1003_sql.clone())).await,
                old_1003_sql.clone(),
            ),
            (
                "filtered page, whole store: failed or retrying",
                time(repeat, || store.list_messages(&failed_all, None, 50)).await,
                per_status_page(cols, &["failed", "retrying"].map(|st| format!(" AND status IN ('{st}')"))),
            ),
            (
                "filtered page, whole store: sent or failed",
                time(repeat, || store.list_messages(&sent_or_failed_all, None, 50)).await,
                per_status_page(cols, &[" AND (status || '') IN ('sent')".into(), " AND status IN ('failed')".into()]),
            ),
            (
                "the same, the statement used before (status IN, for comparison)",
                time(repeat, old(old_sent_sql.clone())).await,
                old_sent_sql.clone(),
            ),
            (
                "filtered page: one uid",
                time(repeat, || store.list_messages(&by_uid, None, 50)).await,
                format!("SELECT {cols} FROM messages WHERE 1 = 1 AND class_id = '{big}' AND uid = 'student_7' ORDER BY id DESC LIMIT 51"),
            ),
            (
                "count, the class",
                time(repeat, || store.count_messages(&class)).await,
                format!("SELECT status, CAST(SUM(n) AS BIGINT) AS n FROM message_counts WHERE class_id = '{big}' GROUP BY status HAVING SUM(n) <> 0"),
            ),
            (
                "the same, counted from the messages as before (for comparison)",
                time(repeat, old(old_count_sql.clone())).await,
                old_count_sql.clone(),
            ),
            (
                "count, one uid of the class",
                time(repeat, || store.count_messages(&by_uid)).await,
                format!("SELECT COUNT(*) FROM messages WHERE 1 = 1 AND class_id = '{big}' AND uid = 'student_7'"),
            ),
            (
                "counts per status, the class",
                time(repeat, || store.status_counts(Some(big))).await,
                format!("SELECT status, CAST(SUM(n) AS BIGINT) AS n FROM message_counts WHERE class_id = '{big}' GROUP BY status HAVING SUM(n) <> 0"),
            ),
            (
                "counts per status, all (dashboard)",
                time(repeat, || store.status_counts(None)).await,
                "SELECT status, CAST(SUM(n) AS BIGINT) AS n FROM message_counts GROUP BY status HAVING SUM(n) <> 0".into(),
            ),
            (
                "the same, counted from the messages as before (for comparison)",
                time(repeat, old(old_dashboard_sql.clone())).await,
                old_dashboard_sql.clone(),
            ),
            (
                "counts per class and status (class list)",
                time(repeat, || store.class_status_counts()).await,
                "SELECT class_id, status, CAST(SUM(n) AS BIGINT) AS n FROM message_counts GROUP BY class_id, status HAVING SUM(n) <> 0".into(),
            ),
            (
                "the same, counted from the messages as before (for comparison)",
                time(repeat, old(old_classes_sql.clone())).await,
                old_classes_sql.clone(),
            ),
            (
                "one message",
                time(repeat, || store.message(one)).await,
                format!("SELECT {cols} FROM messages WHERE id = {one}"),
            ),
            (
                "its attempts",
                time(repeat, || store.attempts(one)).await,
                format!("SELECT id, outcome FROM attempts WHERE message_id = {one} ORDER BY id"),
            ),
            (
                "raw timeline reports, first page",
                time(repeat, || store.timeline_reports(big, None, 50)).await,
                format!("SELECT id, body FROM timeline_reports WHERE class_id = '{big}' AND (NULL IS NULL OR id < NULL) ORDER BY id DESC LIMIT 51"),
            ),
        ];
        for (name, (median, max), sql) in rows {
            println!(
                "| {name} | {median:.2} | {max:.2} | {} |",
                plan(&db, &sql).await
            );
        }
        raw.close().await;
        store.close().await;
    });
}
