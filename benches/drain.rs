//! Accepted → sent: a backlog of messages drained by the delivery worker into the IM
//! emulator running in its own process (`replaydesk im-emulator`, in memory), over
//! loopback HTTP, with the database in WAL mode and `synchronous=FULL`.
//!
//! `cargo bench --bench drain`. Two runs:
//! 1. limits off (emulator and worker): `BENCH_N` messages (default 20,000) over
//!    `BENCH_GROUPS` groups (default 50), `BENCH_CONCURRENCY` attempts in flight (default:
//!    the worker's default);
//! 2. the real limits on (the service's 200 requests/s per app, 40 messages/s per group, in
//!    the emulator and the worker): `BENCH_LIMITED_N` messages (default 4,000) over the same
//!    groups, all sharing the app limit; prints the rate against the 200/s cap and the
//!    emulator's frequency-limit answers.
//!
//! `BENCH_STORED` messages already stored (sent, with attempts) before the run: the growth
//! figures (`scripts/bench-growth.sh`). `BENCH_DIR` is where the database goes (default a
//! temporary directory). Under `cargo test --benches` it does a tiny run.
//!
//! `BENCH_PG=<admin URL>` drains on PostgreSQL instead (the URL `scripts/pg_cluster.sh
//! start` prints; `PG_FSYNC=on` for a durable cluster), in a fresh database created on
//! that server and dropped at the end; `BENCH_NODES=N` (default 1; more needs `BENCH_PG`)
//! drains the same backlog with N delivery workers at once, each with its own connection
//! pool (`Store`), IM client and `Delivery`, as N nodes would. They run in this one
//! process, on its one tokio runtime, not in N processes: they share the database and the
//! rate budgets as nodes do, but not the scheduling of separate processes. `BENCH_STORED`
//! is SQLite only.
//!
//! Every run checks that every message was sent exactly once: the workers counted `n` sent
//! outcomes, the emulator stored `n` messages and absorbed no duplicate send.

#[path = "common/cpu.rs"]
mod cpu;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/seed.rs"]
mod seed;
use cpu::cpu_secs;

use replaydesk::delivery::{Delivery, DeliveryConfig};
use replaydesk::im::client::{ImClient, ImConfig};
use replaydesk::protocol::{Payload, ReplayMessage, Seq, UserValue};
use replaydesk::secret::Secret;
use replaydesk::store::{AttemptOutcome, NewClass, NewMessage, Store};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "bench-drain-secret-key";
const SDKAPPID: u64 = 1_400_000_777;

/// `replaydesk im-emulator` in its own process; killed when dropped.
struct EmulatorProcess {
    child: Child,
    base: String,
}

impl EmulatorProcess {
    fn spawn(limits: bool) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_replaydesk"));
        cmd.args([
            "im-emulator",
            "--listen",
            "127.0.0.1:0",
            "--sdkappid",
            &SDKAPPID.to_string(),
        ])
        .env("REPLAYDESK_IM_SECRET_KEY", KEY)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        if !limits {
            cmd.args(["--app-rate", "0", "--group-rate", "0"]);
        }
        let mut child = cmd.spawn().expect("spawn replaydesk im-emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the emulator's first line");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("the emulator did not start: {line:?}"))
            .to_owned();
        Self { child, base }
    }

    fn cpu_secs(&self) -> Option<f64> {
        cpu_secs(self.child.id())
    }

    async fn stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/control/stats", self.base))
            .await
            .expect("emulator stats")
            .json()
            .await
            .expect("stats JSON")
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Run {
    n: usize,
    wall: Duration,
    slow_downs: u64,
    emulator_frequency_errors: u64,
    /// Sent outcomes the workers counted.
    sent: u64,
    /// Messages the emulator stored in their groups.
    emulator_stored: u64,
    /// Sends the emulator answered as a repeat of one it had stored (a double send).
    emulator_duplicates: u64,
    worker_cpu: Option<f64>,
    emulator_cpu: Option<f64>,
    /// CPU seconds the PostgreSQL server used during the drain.
    pg_cpu: Option<f64>,
}

impl Run {
    fn exactly_once(&self) -> bool {
        let n = self.n as u64;
        self.sent == n && self.emulator_stored == n && self.emulator_duplicates == 0
    }
}

/// A client of the emulator of its own, as each node has.
fn im_client(emu: &EmulatorProcess) -> Arc<ImClient> {
    Arc::new(
        ImClient::new(ImConfig::new(
            emu.base.clone(),
            SDKAPPID,
            "administrator",
            Secret::new(KEY),
        ))
        .unwrap(),
    )
}

/// Sent outcomes counted by all the workers.
fn sent_so_far(deliveries: &[Delivery]) -> u64 {
    outcomes(deliveries, AttemptOutcome::Sent)
}

fn outcomes(deliveries: &[Delivery], outcome: AttemptOutcome) -> u64 {
    deliveries
        .iter()
        .flat_map(|d| d.stats().attempts_by_outcome)
        .filter(|(o, _)| *o == outcome)
        .map(|(_, c)| c)
        .sum()
}

/// Who drains, and where.
struct Drainers<'a> {
    /// What `Store::open` takes: the SQLite file or the PostgreSQL URL.
    db: &'a std::path::Path,
    /// Delivery workers at once on that database.
    workers: usize,
    /// The PostgreSQL server's processes, for their CPU time.
    pg: Option<&'a pg::PgProcesses>,
}

/// Drains `n` messages over `groups` groups; returns when all are sent.
async fn drain(
    on: &Drainers<'_>,
    n: usize,
    groups: usize,
    limits: bool,
    concurrency: Option<usize>,
    tag: &str,
) -> Run {
    let emu = EmulatorProcess::spawn(limits);
    let im = im_client(&emu);
    let Drainers { db, workers, pg } = *on;
    let store = Store::open(db).await.unwrap();
    let classes: Vec<String> = (0..groups).map(|g| format!("{tag}-c{g}")).collect();
    let group_ids: Vec<String> = (0..groups).map(|g| format!("{tag}-g{g}")).collect();
    for (c, g) in classes.iter().zip(&group_ids) {
        store
            .create_class(&NewClass {
                class_id: c,
                group_id: g,
                teacher_uid: "teacher_li",
                report_token_sha256: &format!("{c}-token"),
                credential_key: "",
                legacy_class_token: false,
                open_enrolment: false,
                room_id: None,
            })
            .await
            .unwrap();
        im.create_group(g, g, "ChatRoom")
            .await
            .expect("create group");
    }
    // The backlog: accepted in batches of 500, as group commit would.
    let builders: Vec<_> = (0..n as u64)
        .map(|i| {
            move |seq: Seq| {
                ReplayMessage::new(
                    seq,
                    1_795_339_200_000 + i,
                    Payload::Timeline {
                        time_line: 1_795_339_200_000 + i as i64,
                        value: UserValue::new("teacher_li"),
                    },
                )
            }
        })
        .collect();
    let keys: Vec<String> = (0..n).map(|i| format!("1003:teacher_li:{i}")).collect();
    for start in (0..n).step_by(500) {
        let msgs: Vec<NewMessage> = (start..(start + 500).min(n))
            .map(|i| NewMessage {
                class_id: &classes[i % groups],
                group_id: &group_ids[i % groups],
                uid: "teacher_li",
                dedup_key: &keys[i],
                build: &builders[i],
            })
            .collect();
        store.insert_messages(&msgs).await.unwrap();
    }
    if limits {
        // Creating the groups used the emulator's app budget for this second: start clean.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let mut config = DeliveryConfig {
        app_rate: if limits { 200.0 } else { 0.0 },
        group_rate: if limits { 40.0 } else { 0.0 },
        ..DeliveryConfig::default()
    };
    if let Some(c) = concurrency {
        config.concurrency = c;
    }
    // Worker 0 drains through the store that filled the backlog; each further worker has a
    // pool and an IM client of its own, as another node would.
    let mut stores = vec![store];
    for _ in 1..workers {
        stores.push(Store::open(db).await.unwrap());
    }
    let deliveries: Vec<Delivery> = stores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let config = DeliveryConfig {
                node_id: format!("drain-{i}"),
                ..config.clone()
            };
            let im = if i == 0 { im.clone() } else { im_client(&emu) };
            Delivery::new(s.clone(), im, config)
        })
        .collect();
    let cpu0 = cpu_secs(std::process::id());
    let ecpu0 = emu.cpu_secs();
    let pg0 = pg.map(pg::PgProcesses::snapshot);
    let start = Instant::now();
    let mut handles = Vec::with_capacity(workers);
    for d in &deliveries {
        handles.push(d.start().await.unwrap());
    }
    while (sent_so_far(&deliveries) as usize) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall = start.elapsed();
    let worker_cpu = cpu_secs(std::process::id()).zip(cpu0).map(|(a, b)| a - b);
    let emulator_cpu = emu.cpu_secs().zip(ecpu0).map(|(a, b)| a - b);
    let pg_cpu = pg.zip(pg0).map(|(p, s0)| p.snapshot().since(&s0));
    for (d, h) in deliveries.iter().zip(handles) {
        d.shutdown(h, Duration::from_secs(5)).await;
    }
    // Counted after the workers stopped: a double send would have shown by now.
    let slow_downs = outcomes(&deliveries, AttemptOutcome::SlowDown);
    let sent = sent_so_far(&deliveries);
    let stats = emu.stats().await;
    for s in &stores {
        s.close().await;
    }
    let count = |field: &str| stats[field].as_u64().unwrap_or(u64::MAX);
    Run {
        n,
        wall,
        slow_downs,
        emulator_frequency_errors: count("frequency_errors"),
        sent,
        emulator_stored: count("messages_stored"),
        emulator_duplicates: count("duplicates_absorbed"),
        worker_cpu,
        emulator_cpu,
        pg_cpu,
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Where the backlog is drained: a SQLite file, or a fresh PostgreSQL database.
enum DrainDb {
    Sqlite(std::path::PathBuf),
    Postgres(pg::PgDatabase),
}

impl DrainDb {
    fn target(&self) -> std::path::PathBuf {
        match self {
            DrainDb::Sqlite(path) => path.clone(),
            DrainDb::Postgres(db) => db.url(),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = !args.iter().any(|a| a == "--bench");
    let n = env_usize("BENCH_N").unwrap_or(if quick { 200 } else { 20_000 });
    let limited_n = env_usize("BENCH_LIMITED_N").unwrap_or(if quick { 100 } else { 4_000 });
    let groups = env_usize("BENCH_GROUPS").unwrap_or(50).max(1);
    let concurrency = env_usize("BENCH_CONCURRENCY");
    let stored = seed::stored_from_env();
    let pg_admin = pg::admin_from_env();
    let workers = pg::nodes_from_env(pg_admin.is_some());
    assert!(
        stored == 0 || pg_admin.is_none(),
        "BENCH_STORED seeds SQLite only: unset it, or BENCH_PG"
    );
    let cores = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let tmp = match std::env::var_os("BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let (db, engine, pg_procs) = match &pg_admin {
            Some(admin) => (
                DrainDb::Postgres(pg::PgDatabase::create(admin, "bench_drain", "BENCH_PG").await),
                pg::describe(admin).await,
                pg::PgProcesses::find(admin).await,
            ),
            None => {
                let db = tmp.path().join("drain.db");
                seed::seed(&db, stored).await;
                (
                    DrainDb::Sqlite(db),
                    "SQLite (WAL, synchronous=FULL)".to_owned(),
                    None,
                )
            }
        };
        let target = db.target();
        let on = Drainers {
            db: &target,
            workers,
            pg: pg_procs.as_ref(),
        };
        let free = drain(&on, n, groups, false, concurrency, "free").await;
        let capped = drain(&on, limited_n, groups, true, concurrency, "capped").await;
        drop(db);
        println!(
            "\ndrain: accepted → sent into `replaydesk im-emulator` (its own process, in memory), \
             {groups} groups, {cores} cores, {stored} messages already stored{}",
            if quick { " (quick run)" } else { "" }
        );
        println!(
            "engine: {engine}; {}\n",
            match workers {
                1 => "1 delivery worker".to_owned(),
                w => format!(
                    "{w} delivery workers at once on one database (each its own pool, IM client \
                     and Delivery; all in this one process)"
                ),
            }
        );
        println!("| run | messages | sent/s | vs cap | frequency errors (emulator) | slow-down outcomes | worker CPU | emulator CPU |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        let cpu = |c: Option<f64>, r: &Run| {
            c.map_or("n/a".into(), |c| {
                format!("{:.0} %", 100.0 * c / r.wall.as_secs_f64())
            })
        };
        let runs = [
            ("limits off", &free, None),
            ("limits on (200/s app, 40/s group)", &capped, Some(200.0)),
        ];
        for (name, r, cap) in runs {
            let rate = r.n as f64 / r.wall.as_secs_f64();
            println!(
                "| {name} | {} | {rate:.0} | {} | {} | {} | {} | {} |",
                r.n,
                cap.map_or("".into(), |c: f64| format!("{:+.1} %", 100.0 * (rate - c) / c)),
                r.emulator_frequency_errors,
                r.slow_downs,
                cpu(r.worker_cpu, r),
                cpu(r.emulator_cpu, r),
            );
        }
        println!("\n(CPU as a share of one core over the drain's wall time.)");
        for (name, r, _) in runs {
            println!(
                "{name}: exactly once {}: {} sent outcomes, {} messages stored by the emulator, \
                 {} duplicate sends absorbed{}",
                if r.exactly_once() { "yes" } else { "NO" },
                r.sent,
                r.emulator_stored,
                r.emulator_duplicates,
                r.pg_cpu.map_or(String::new(), |c| format!("; PostgreSQL CPU {}", cpu(Some(c), r))),
            );
        }
        for (name, r, _) in runs {
            assert!(r.exactly_once(), "{name}: every message sent exactly once");
        }
    });
}
