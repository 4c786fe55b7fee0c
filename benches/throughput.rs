//! Durable-path throughput, each figure beside the bare SQLite insert rate measured in the
//! same run on the same machine (these machines are shared and noisy: compare ratios).
//!
//! `cargo bench --bench throughput` (set `BENCH_N` for more or fewer messages).

use replaydesk::delivery::{Delivery, DeliveryConfig};
use replaydesk::emulator::{Emulator, EmulatorConfig};
use replaydesk::im::client::{ImClient, ImConfig};
use replaydesk::protocol::{Payload, ReplayMessage, Seq, UserValue};
use replaydesk::secret::Secret;
use replaydesk::store::{MessageStatus, NewClass, NewMessage, Store};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "bench-secret-key";

fn build(ts: u64) -> impl Fn(Seq) -> ReplayMessage + Send + Sync {
    move |seq| {
        ReplayMessage::new(
            seq,
            ts,
            Payload::Timeline {
                time_line: 1_795_339_200_000 + ts as i64,
                value: UserValue::new("teacher_li"),
            },
        )
    }
}

async fn bare_sqlite(dir: &std::path::Path, n: usize, batch: usize) -> f64 {
    let opts = SqliteConnectOptions::new()
        .filename(dir.join(format!("bare-{batch}.db")))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let data = build(1)(Seq::from_raw(12345)).to_data();
    let start = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(batch) {
        let mut tx = pool.begin().await.unwrap();
        for _ in chunk {
            sqlx::query("INSERT INTO t (data) VALUES (?)")
                .bind(&data)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn open_store(dir: &std::path::Path, name: &str, groups: usize) -> Store {
    let store = Store::open(&dir.join(name)).await.unwrap();
    for g in 0..groups {
        store
            .create_class(&NewClass {
                class_id: &format!("c{g}"),
                group_id: &format!("g{g}"),
                teacher_uid: "teacher_li",
                report_token_sha256: "00",
                credential_key: "",
                legacy_class_token: false,
                open_enrolment: false,
                room_id: None,
            })
            .await
            .unwrap();
    }
    store
}

async fn store_accepts_single(dir: &std::path::Path, n: usize) -> f64 {
    let store = open_store(dir, "single.db", 1).await;
    let start = Instant::now();
    for i in 0..n {
        let b = build(i as u64);
        let key = format!("k{i}");
        store
            .insert_message(&NewMessage {
                class_id: "c0",
                group_id: "g0",
                uid: "teacher_li",
                dedup_key: &key,
                build: &b,
            })
            .await
            .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn store_accepts_batched(dir: &std::path::Path, n: usize, batch: usize) -> f64 {
    let store = open_store(dir, &format!("batched-{batch}.db"), 1).await;
    let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let builders: Vec<_> = (0..n).map(|i| build(i as u64)).collect();
    let start = Instant::now();
    for (ks, bs) in keys.chunks(batch).zip(builders.chunks(batch)) {
        let msgs: Vec<NewMessage> = ks
            .iter()
            .zip(bs)
            .map(|(k, b)| NewMessage {
                class_id: "c0",
                group_id: "g0",
                uid: "teacher_li",
                dedup_key: k,
                build: b,
            })
            .collect();
        store.insert_messages(&msgs).await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn delivery_rate(dir: &std::path::Path, n: usize) -> f64 {
    let groups = 50;
    let mut cfg = EmulatorConfig::new(1_400_000_009, KEY);
    cfg.app_rate = 0;
    cfg.group_rate = 0;
    let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for g in 0..groups {
        emu.create_group_direct(&format!("g{g}")).unwrap();
    }
    let store = open_store(dir, "delivery.db", groups).await;
    let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let classes: Vec<String> = (0..groups).map(|g| format!("c{g}")).collect();
    let group_ids: Vec<String> = (0..groups).map(|g| format!("g{g}")).collect();
    let builders: Vec<_> = (0..n).map(|i| build(i as u64)).collect();
    let msgs: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            class_id: &classes[i % groups],
            group_id: &group_ids[i % groups],
            uid: "teacher_li",
            dedup_key: &keys[i],
            build: &builders[i],
        })
        .collect();
    store.insert_messages(&msgs).await.unwrap();
    let im = ImClient::new(ImConfig::new(
        emu.base_url(),
        1_400_000_009,
        "administrator",
        Secret::new(KEY),
    ))
    .unwrap();
    let delivery = Delivery::new(
        store.clone(),
        Arc::new(im),
        DeliveryConfig {
            app_rate: 0.0,
            group_rate: 0.0,
            ..DeliveryConfig::default()
        },
    );
    let start = Instant::now();
    let worker = delivery.start().await.unwrap();
    loop {
        let sent = store
            .status_counts(None)
            .await
            .unwrap()
            .into_iter()
            .find(|(s, _)| *s == MessageStatus::Sent)
            .map(|(_, c)| c)
            .unwrap_or(0);
        if sent as usize == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    delivery.shutdown(worker, Duration::from_secs(5)).await;
    rate
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench`-less args; do little then.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 50 } else { 2000 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let bare1 = bare_sqlite(dir.path(), n, 1).await;
        let bare100 = bare_sqlite(dir.path(), n * 5, 100).await;
        let single = store_accepts_single(dir.path(), n).await;
        let batched = store_accepts_batched(dir.path(), n * 5, 100).await;
        let deliver = delivery_rate(dir.path(), n * 2).await;
        let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);
        println!("durable path, {cores} cores, n = {n} (SQLite WAL, synchronous=FULL)\n");
        println!("| measure | per second | vs bare SQLite insert |");
        println!("|---|---:|---:|");
        println!("| bare SQLite insert, 1 row per transaction | {bare1:.0} | 1.00 |");
        println!("| bare SQLite insert, 100 rows per transaction | {bare100:.0} | {:.2} |", bare100 / bare1);
        println!("| durable accept (`Store::insert_message`), 1 per transaction | {single:.0} | {:.2} |", single / bare1);
        println!("| durable accept (`Store::insert_messages`), 100 per transaction | {batched:.0} | {:.2} (vs batched bare: {:.2}) |", batched / bare1, batched / bare100);
        println!("| accepted → sent against the emulator, limits off, 50 groups | {deliver:.0} | {:.2} |", deliver / bare1);
    });
}
