//! Fills a database with messages already stored, fast, straight in SQL (setup for the
//! growth figures, not measured): `n` sent 1003s, each with its attempt and its raw timeline
//! report, over 1,000 classes; when `n` ≥ 200,000 the first 100,000 go to one class,
//! `seed-big` (the console's queries are timed on it).
//!
//! `BENCH_SEED_CACHE=<file>`: the first seed of a size is copied to that file, and every
//! later seed of the same size copies it back instead of seeding again (5,000,000 messages
//! take about 5 minutes to seed, and each bench wants a fresh copy). The caller owns the
//! file: `scripts/bench-growth.sh` makes one per size and deletes it when the size is done.
//! A copy made before a migration was added is still usable: the bench's `Store::open`
//! applies the new migration to its copy.

use replaydesk::store::{NewClass, Store};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The class holding 100,000 of the seeded messages (when there are enough).
#[allow(dead_code)]
pub const BIG_CLASS: &str = "seed-big";
const CLASSES: usize = 1000;
const BIG: usize = 100_000;
/// Rows per transaction while seeding (keeps the WAL file bounded).
const CHUNK: usize = 250_000;

/// How many stored messages the run asks for (`BENCH_STORED`, default 0).
#[allow(dead_code)]
pub fn stored_from_env() -> usize {
    std::env::var("BENCH_STORED")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(0)
}

/// Seeds `n` stored messages into the database at `db` (created and migrated if needed).
/// Prints how long it took.
pub async fn seed(db: &Path, n: usize) {
    if n == 0 {
        return;
    }
    let started = Instant::now();
    let cache = std::env::var_os("BENCH_SEED_CACHE").map(PathBuf::from);
    if let Some(cache) = &cache {
        if cached_size(cache) == Some(n) {
            std::fs::copy(cache, db).expect("copy the cached seed");
            settle();
            eprintln!(
                "copied {n} stored messages from the seed cache {} in {:.1} s (written out)",
                cache.display(),
                started.elapsed().as_secs_f64()
            );
            return;
        }
    }
    let store = Store::open(db).await.expect("open the database");
    let big = n >= 2 * BIG;
    let mut classes: Vec<String> = (0..CLASSES).map(|c| format!("seed-{c:04}")).collect();
    if big {
        classes.push(BIG_CLASS.to_owned());
    }
    for c in &classes {
        store
            .create_class(&NewClass {
                class_id: c,
                group_id: &format!("{c}-group"),
                teacher_uid: "teacher_li",
                report_token_sha256: &format!("{c}-token"),
                credential_key: "",
                legacy_class_token: false,
                open_enrolment: true,
                room_id: None,
            })
            .await
            .expect("create a seed class");
    }
    store.close().await;
    // Setup only: durability does not matter while seeding, speed does.
    let opts = SqliteConnectOptions::new()
        .filename(db)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        .foreign_keys(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .expect("open the database for seeding");
    let now = replaydesk::clock::unix_ms_now() - 86_400_000;
    let mut from = 0;
    while from < n {
        let to = (from + CHUNK).min(n);
        let mut tx = pool.begin().await.unwrap();
        // Message i: in seed-big while i < 100,000 (when big), else in class i % 1000;
        // uid of 64; seq = i (unique in its group); sent a day ago.
        sqlx::query(
            "WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2) \
             INSERT INTO messages (class_id, group_id, msg_type, uid, seq, random, data, dedup_key, \
             status, attempt_count, next_attempt_at, created_at, updated_at, sent_at, im_msg_seq, im_msg_time) \
             SELECT c, c || '-group', 1003, 'student_' || (i % 64), 1000000 + i, i % 4294967296, \
             '{\"type\":1003,\"seq\":' || (1000000 + i) || ',\"timestamp\":' || (1700000000000 + i) || \
             ',\"time_line\":' || (?3 + i) || ',\"value\":{\"uid\":\"student_' || (i % 64) || '\"}}', \
             '1003:student_' || (i % 64) || ':' || (1700000000000 + i), 'sent', 1, NULL, \
             ?3 + i / 1000, ?3 + i / 1000, ?3 + i / 1000, i, (?3 + i / 1000) / 1000 \
             FROM (SELECT i, CASE WHEN ?4 AND i < 100000 THEN 'seed-big' \
                   ELSE 'seed-' || substr('000' || (i % 1000), -4) END AS c FROM s)",
        )
        .bind(from as i64)
        .bind(to as i64)
        .bind(now)
        .bind(big)
        .execute(&mut *tx)
        .await
        .expect("seed messages");
        sqlx::query(
            "INSERT INTO attempts (message_id, trigger_kind, random, started_at, duration_ms, \
             http_status, im_error_code, outcome) \
             SELECT id, 'scheduled', random, sent_at, 3, 200, 0, 'sent' FROM messages \
             WHERE id > (SELECT COALESCE(MAX(message_id), 0) FROM attempts)",
        )
        .execute(&mut *tx)
        .await
        .expect("seed attempts");
        sqlx::query(
            "INSERT INTO timeline_reports (class_id, uid, client_timestamp, rtt_ms, rtt_source, \
             received_at, time_line, uncertainty_ms, message_id, accepted, body) \
             SELECT class_id, uid, 1700000000000 + seq - 1000000, 4, 'client', created_at, \
             created_at, 2, id, 1, '{\"uid\":\"' || uid || '\",\"timestamp\":' || \
             (1700000000000 + seq - 1000000) || ',\"rtt_ms\":4}' FROM messages \
             WHERE id > (SELECT COALESCE(MAX(message_id), 0) FROM timeline_reports)",
        )
        .execute(&mut *tx)
        .await
        .expect("seed timeline reports");
        tx.commit().await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        from = to;
    }
    // No ANALYZE: a real database has never been analysed, so the plans measured are
    // the ones it gets.
    pool.close().await;
    let size = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "seeded {n} stored messages (with attempts and raw reports) in {:.1} s; database {:.0} MB",
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    if let Some(cache) = &cache {
        // The pool is closed, so the WAL is checkpointed into the file: the file alone is
        // the database. Copied under another name and renamed, so that a run killed
        // half-way never leaves a partial copy that looks complete.
        let partial = cache.with_extension("partial");
        std::fs::copy(db, &partial).expect("copy the seed to the cache");
        std::fs::write(size_file(cache), n.to_string()).expect("write the seed cache's size");
        std::fs::rename(&partial, cache).expect("rename the seed cache");
    }
    settle();
}

/// Writes every dirty page out before anything is measured. Seeding runs with
/// `synchronous = OFF` and a copy is not synced, so gigabytes of the seeded file would
/// otherwise still be in the page cache waiting to be written, and the kernel's writeback
/// (and an fsync that waits behind it) would land in the measurement as a latency tail
/// that has nothing to do with the server.
fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// The file beside the cache that says how many messages it holds.
fn size_file(cache: &Path) -> PathBuf {
    let mut name = cache.as_os_str().to_owned();
    name.push(".stored");
    PathBuf::from(name)
}

/// How many stored messages the cache holds, if it is complete.
fn cached_size(cache: &Path) -> Option<usize> {
    if !cache.exists() {
        return None;
    }
    std::fs::read_to_string(size_file(cache))
        .ok()?
        .trim()
        .parse()
        .ok()
}
