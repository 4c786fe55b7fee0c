//! Load on the reporting backend over real HTTP: a burst of timeline reports from
//! concurrent keep-alive clients against `ReplayDesk` + axum (sandbox mode, SQLite WAL,
//! `synchronous=FULL`), beside a no-op axum handler measured in the same run on the same
//! machine (these machines are shared and noisy: compare the ratio). Every accepted
//! report is then checked to be in the database after the server is killed with SIGKILL.
//!
//! `cargo bench --bench serve_load` (`BENCH_N` reports, default 10000;
//! `BENCH_CONCURRENCY` clients, default 64; `BENCH_TIMEOUT_SECS` bounds each burst,
//! default 300). Under `cargo test --benches` it does a tiny run.
//!
//! `BENCH_STORED` messages already stored (seeded straight in SQL before the server starts):
//! the growth figures (`scripts/bench-growth.sh`); `BENCH_DIR` is where the database goes.
//!
//! When `wrk` is installed (Debian `wrk`), both servers are then also driven by it for
//! `BENCH_WRK_SECS` seconds each (default 10; 0 skips), `-t2 -c64`, with a Lua script
//! that makes every report unique: a load generator that is not the bottleneck.
//!
//! `BENCH_PG=<admin URL>` runs the ReplayDesk side on PostgreSQL instead (the URL
//! `scripts/pg_cluster.sh start` prints; `PG_FSYNC=on` for a durable cluster): each phase
//! on a fresh database of its own, created on that server and dropped at the end.
//! `BENCH_NODES=N` (default 1; more needs `BENCH_PG`) starts N server processes on that one
//! database: the first creates the class, the burst's clients are spread round-robin over
//! the nodes, and the SIGKILL check kills every node and reads the accepted ids back from
//! PostgreSQL. Under `wrk` with several nodes, one `wrk -t1` per node runs at once with the
//! 64 connections divided between them; their rates are summed and their worst p50, p99
//! and max are shown. The no-op baseline stays one process with `wrk -t2 -c64`: it is the
//! same run's measure of what the machine and the load generator can do. `BENCH_STORED`
//! is SQLite only.
//!
//! Process layout: this binary re-executes itself (`REPLAYDESK_BENCH_ROLE=server` or
//! `noop`) so that each server runs in its own process, with its own tokio runtime, apart
//! from the load generator. A child prints `port N` on stdout once it listens, and stops
//! when its stdin closes (or when it is killed).
//!
//! One file although long: a bench is one program (its load generator, the servers it starts
//! and kills, and the tables it prints).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use replaydesk::config::Config;
use replaydesk::secret::Secret;
use replaydesk::service::{time_line_for, ReplayDesk, TimelineAccepted, TimelineReport};
use replaydesk::store::{MessageFilter, Store};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROLE_ENV: &str = "REPLAYDESK_BENCH_ROLE";
const DB_ENV: &str = "REPLAYDESK_BENCH_DB";
const ADMIN: &str = "bench-admin-token-0123456789";
const CLASS: &str = "bench-class";

#[path = "common/cpu.rs"]
mod cpu;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/seed.rs"]
mod seed;
use cpu::cpu_secs;
use std::path::{Path as FsPath, PathBuf};

// ---------------------------------------------------------------- the server processes

/// Resolves when stdin reaches end of file (the load generator went away or is done).
async fn stdin_closed() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
}

fn announce(port: u16) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "port {port}");
    let _ = out.flush();
}

/// `REPLAYDESK_BENCH_ROLE=server`: what `replaydesk serve` does in sandbox mode (its
/// runtime, `ReplayDesk::start`, `server::serve_until`), on 127.0.0.1:0, with the
/// database named by `REPLAYDESK_BENCH_DB`.
fn serve_replaydesk() {
    let db = std::env::var_os(DB_ENV).expect("REPLAYDESK_BENCH_DB is set");
    let db = std::path::PathBuf::from(db);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            ui_dir: db.with_extension("no-ui"),
            db,
            admin_token: Some(Secret::new(ADMIN)),
            // A load generator is one credential on one address sending as fast as it
            // can: the limits meant for classroom clients would measure themselves.
            limits: replaydesk::config::ReportLimits::none(),
            ..Config::default()
        };
        let mut config = config;
        config.http.connections_per_source = 0;
        let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let desk = ReplayDesk::start(config).await.expect("service starts");
        announce(port);
        replaydesk::server::serve_until(desk, listener, stdin_closed())
            .await
            .unwrap();
    });
}

static NOOP_IDS: AtomicU64 = AtomicU64::new(1);

/// The no-op handler: the same route, the same bearer header check for presence, and the
/// same cost of reading the body as JSON into the request struct; then a 202 with a
/// response of the same shape, touching nothing.
async fn noop_timeline(Path(_class_id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if headers.get(header::AUTHORIZATION).is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let report: TimelineReport = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let id = NOOP_IDS.fetch_add(1, Ordering::Relaxed);
    let (time_line, _) = time_line_for(replaydesk::clock::unix_ms_now(), report.rtt_ms);
    let accepted = TimelineAccepted {
        message_id: id as i64,
        seq: id,
        time_line,
    };
    (StatusCode::ACCEPTED, Json(accepted)).into_response()
}

/// `REPLAYDESK_BENCH_ROLE=noop`: a bare axum server with the timeline route only (and
/// `/healthz` for the clients' connection warm-up).
fn serve_noop() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let app = Router::new()
            .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
            .route("/v1/classes/{class_id}/timeline", post(noop_timeline));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap().port());
        axum::serve(listener, app)
            .with_graceful_shutdown(stdin_closed())
            .await
            .unwrap();
    });
}

/// A server child; killed (SIGKILL) if still running when dropped.
struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts a server child in `role`, on `db`, in the working directory `cwd` (this
    /// process's when `None`).
    fn spawn(role: &str, db: Option<&FsPath>, cwd: Option<&FsPath>) -> Self {
        let exe = std::env::current_exe().expect("current_exe");
        let mut cmd = Command::new(exe);
        cmd.env(ROLE_ENV, role)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(db) = db {
            cmd.env(DB_ENV, db);
        }
        if let Some(cwd) = cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd.spawn().expect("spawn the server process");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{role} server did not start (said {line:?})"));
        Self { child, port }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// CPU seconds (user + system) the process has used so far (Linux only).
    fn cpu_secs(&self) -> Option<f64> {
        cpu_secs(self.child.id())
    }

    /// SIGKILL: no graceful shutdown, nothing flushed on the way out.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes stdin: the server stops gracefully.
    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Peak resident memory of a process so far (`VmHWM`), MB (Linux only).
fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

// ---------------------------------------------------------------- the nodes and their database

/// Where one measured phase keeps its data.
enum BenchDb {
    /// A SQLite file (the default).
    Sqlite(PathBuf),
    /// A fresh database on the `BENCH_PG` server.
    Postgres(pg::PgDatabase),
}

impl BenchDb {
    /// On PostgreSQL (`pg_admin`) a fresh database tagged `tag`; else the SQLite file
    /// `dir/file`, with `stored` messages seeded first.
    async fn fresh(
        pg_admin: Option<&str>,
        dir: &FsPath,
        file: &str,
        tag: &str,
        stored: usize,
    ) -> Self {
        match pg_admin {
            Some(admin) => BenchDb::Postgres(
                pg::PgDatabase::create(admin, &format!("bench_{tag}"), "BENCH_PG").await,
            ),
            None => {
                let db = dir.join(file);
                seed::seed(&db, stored).await;
                BenchDb::Sqlite(db)
            }
        }
    }

    /// What the servers and `Store::open` take: the file, or the database's URL.
    fn target(&self) -> PathBuf {
        match self {
            BenchDb::Sqlite(path) => path.clone(),
            BenchDb::Postgres(db) => db.url(),
        }
    }

    fn engine_name(&self) -> &'static str {
        match self {
            BenchDb::Sqlite(_) => "SQLite",
            BenchDb::Postgres(_) => "PostgreSQL",
        }
    }

    /// Frees the space: the SQLite file (with 5,000,000 stored messages two copies at once
    /// would take 7 GB), or the PostgreSQL database.
    fn remove(self) {
        if let BenchDb::Sqlite(db) = &self {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
        }
    }
}

/// The ReplayDesk side of a phase: server processes on one database. The first node
/// creates the class; the others start after it because in sandbox mode a node makes its
/// emulator's groups from the classes it finds at start, and every node must have the
/// class's group to deliver to, whichever node took the report.
struct Nodes {
    procs: Vec<ServerProcess>,
    /// Each node's working directory on PostgreSQL: sandbox mode keeps its emulator's
    /// groups in the working directory there (there is no database file to sit beside),
    /// and nodes must not share that file. Declared after `procs`, so removed after the
    /// processes are gone.
    _dirs: Vec<tempfile::TempDir>,
}

impl Nodes {
    /// Starts `count` nodes on `db` and creates the bench class; answers its report token.
    async fn start(
        db: &BenchDb,
        count: usize,
        http: &reqwest::Client,
        work: &FsPath,
    ) -> (Self, String) {
        let mut nodes = Nodes {
            procs: Vec::with_capacity(count),
            _dirs: Vec::new(),
        };
        nodes.spawn_one(db, work);
        let token = create_class(http, &nodes.procs[0].base()).await;
        for _ in 1..count {
            nodes.spawn_one(db, work);
        }
        (nodes, token)
    }

    fn spawn_one(&mut self, db: &BenchDb, work: &FsPath) {
        let cwd = match db {
            BenchDb::Sqlite(_) => None,
            BenchDb::Postgres(_) => Some(tempfile::tempdir_in(work).expect("a node's directory")),
        };
        let target = db.target();
        self.procs.push(ServerProcess::spawn(
            "server",
            Some(&target),
            cwd.as_ref().map(|d| d.path()),
        ));
        self._dirs.extend(cwd);
    }

    fn bases(&self) -> Vec<String> {
        self.procs.iter().map(ServerProcess::base).collect()
    }

    /// CPU seconds of all nodes together.
    fn cpu_secs(&self) -> Option<f64> {
        self.procs.iter().map(ServerProcess::cpu_secs).sum()
    }

    /// The largest peak resident memory of any node, MB.
    fn peak_rss_mb(&self) -> Option<f64> {
        self.procs
            .iter()
            .filter_map(|p| peak_rss_mb(p.child.id()))
            .reduce(f64::max)
    }

    /// A counter of every node's `/metrics`, summed over the nodes.
    async fn metric_sum(&self, http: &reqwest::Client, name: &str) -> Option<f64> {
        let mut sum = None;
        for p in &self.procs {
            if let Some(v) = metric(&metrics_text(http, &p.base()).await, name) {
                sum = Some(sum.unwrap_or(0.0) + v);
            }
        }
        sum
    }

    /// SIGKILL to every node.
    fn kill(self) {
        for p in self.procs {
            p.kill();
        }
    }

    /// Every node stops gracefully.
    fn stop(self) {
        for p in self.procs {
            p.stop();
        }
    }
}

// ---------------------------------------------------------------- wrk

/// wrk's Lua script: each thread numbers its requests, so every report is a new message.
/// Several `wrk` at once (one per node) number their threads from `REPLAYDESK_WRK_THREAD0`
/// up, so that no two send the same report.
const WRK_LUA: &str = r#"
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  tid = (tonumber(os.getenv("REPLAYDESK_WRK_THREAD0")) or 0) + (tonumber(tid) or 0)
end
function request()
  counter = counter + 1
  local body = string.format('{"uid":"student_%03d","timestamp":%d,"rtt_ms":4.5}',
    counter % 64, 2000000000000 + tid * 100000000 + counter)
  return wrk.format("POST", nil, nil, body)
end
"#;

struct WrkResult {
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
    non_2xx: u64,
}

fn wrk_ms(v: &str) -> Option<f64> {
    let v = v.trim();
    let (num, mult) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|x| x * mult)
}

/// How one `wrk` runs: its threads and connections, and the first number of its threads
/// (unique across the `wrk` running at once).
#[derive(Clone, Copy)]
struct WrkShape {
    threads: usize,
    connections: usize,
    thread0: usize,
}

/// The script file `wrk` loads, written once per run.
fn wrk_script(dir: &FsPath) -> Option<PathBuf> {
    let script = dir.join("report.lua");
    std::fs::write(&script, WRK_LUA).ok()?;
    Some(script)
}

/// Runs `wrk --latency` shaped `shape` for `secs` against the timeline route of `base`.
fn run_wrk(
    script: &FsPath,
    base: &str,
    token: &str,
    secs: u64,
    shape: WrkShape,
) -> Option<WrkResult> {
    let out = Command::new("wrk")
        .arg(format!("-t{}", shape.threads))
        .arg(format!("-c{}", shape.connections))
        .args(["--latency", "-d"])
        .arg(format!("{secs}s"))
        .arg("-s")
        .arg(script)
        .env("REPLAYDESK_WRK_THREAD0", shape.thread0.to_string())
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["-H", "Content-Type: application/json"])
        .arg(format!("{base}/v1/classes/{CLASS}/timeline"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut r = WrkResult {
        rate: 0.0,
        p50: f64::NAN,
        p99: f64::NAN,
        max: f64::NAN,
        non_2xx: 0,
    };
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["Requests/sec:", v] => r.rate = v.parse().unwrap_or(0.0),
            ["Latency", _avg, _sd, max, ..] => r.max = wrk_ms(max).unwrap_or(f64::NAN),
            ["50%", v] => r.p50 = wrk_ms(v).unwrap_or(f64::NAN),
            ["99%", v] => r.p99 = wrk_ms(v).unwrap_or(f64::NAN),
            ["Non-2xx", "or", "3xx", "responses:", n] => r.non_2xx = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    if r.rate == 0.0 {
        eprintln!("wrk said:\n{text}{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(r)
}

/// The single `wrk` the no-op and a lone node get.
const WRK_ONE: WrkShape = WrkShape {
    threads: 2,
    connections: 64,
    thread0: 0,
};

/// How `wrk` is run against `nodes` nodes: one `-t2 -c64` for one node; for several, one
/// `-t1` per node with the 64 connections divided between them (the simplest load that
/// reaches every node at once without a balancer in front).
fn wrk_shapes(nodes: usize) -> Vec<WrkShape> {
    if nodes == 1 {
        return vec![WRK_ONE];
    }
    (0..nodes)
        .map(|i| WrkShape {
            threads: 1,
            connections: WRK_ONE.connections / nodes + usize::from(i < WRK_ONE.connections % nodes),
            thread0: i,
        })
        .collect()
}

/// Runs one `wrk` per node at once (shaped by [`wrk_shapes`]) and combines them: the rates
/// and non-2xx answers summed, the latencies the worst of them (a percentile of the whole
/// cannot be had from the parts).
fn run_wrk_nodes(script: &FsPath, bases: &[String], token: &str, secs: u64) -> Option<WrkResult> {
    let shapes = wrk_shapes(bases.len());
    let results: Vec<Option<WrkResult>> = std::thread::scope(|s| {
        let runs: Vec<_> = bases
            .iter()
            .zip(&shapes)
            .map(|(base, &shape)| s.spawn(move || run_wrk(script, base, token, secs, shape)))
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("wrk thread"))
            .collect()
    });
    results
        .into_iter()
        .collect::<Option<Vec<WrkResult>>>()?
        .into_iter()
        .reduce(|a, b| WrkResult {
            rate: a.rate + b.rate,
            p50: a.p50.max(b.p50),
            p99: a.p99.max(b.p99),
            max: a.max.max(b.max),
            non_2xx: a.non_2xx + b.non_2xx,
        })
}

/// The `wrk` command line(s) as the table's heading says them.
fn wrk_described(nodes: usize, secs: u64) -> String {
    let shapes = wrk_shapes(nodes);
    if nodes == 1 {
        return format!("wrk -t2 -c64 --latency -d{secs}s");
    }
    let conns: Vec<String> = shapes.iter().map(|s| s.connections.to_string()).collect();
    format!(
        "replaydesk: {nodes} × wrk -t1 --latency -d{secs}s at once, one per node, -c {} \
         (requests/s and non-2xx summed; p50, p99 and max the worst of the {nodes}); \
         no-op: wrk -t2 -c64 --latency -d{secs}s",
        conns.join("/")
    )
}

// ---------------------------------------------------------------- the load generator

struct Burst {
    /// Reports never sent: the time bound cut the burst short.
    unsent: usize,
    accepted: usize,
    errors: BTreeMap<String, usize>,
    /// Latency of every request answered 202, sorted.
    latencies: Vec<Duration>,
    wall: Duration,
    message_ids: Vec<i64>,
}

impl Burst {
    fn rate(&self) -> f64 {
        self.accepted as f64 / self.wall.as_secs_f64()
    }

    /// Nearest-rank percentile, ms.
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[i].as_secs_f64() * 1000.0
    }

    fn error_text(&self) -> String {
        let unsent = self.unsent;
        let mut parts: Vec<String> = self
            .errors
            .iter()
            .map(|(k, v)| format!("{v} × {k}"))
            .collect();
        if unsent > 0 {
            parts.push(format!("{unsent} not sent (time bound)"));
        }
        if parts.is_empty() {
            "0".into()
        } else {
            parts.join(", ")
        }
    }
}

fn http_client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()
        .unwrap()
}

/// `n` timeline reports (distinct `uid`/`timestamp`, so each is a new message) from
/// `concurrency` clients sharing one keep-alive pool, client `c` sending to node
/// `c % bases.len()`. Each client first opens its connection (`GET /healthz`); the clock
/// starts once all have.
async fn burst(
    http: &reqwest::Client,
    bases: &[String],
    token: &str,
    n: usize,
    concurrency: usize,
    bound: Duration,
) -> Burst {
    let token = Arc::new(token.to_owned());
    let next = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(tokio::sync::Barrier::new(concurrency + 1));
    let start_at = Arc::new(tokio::sync::OnceCell::<Instant>::new());
    let mut tasks = Vec::with_capacity(concurrency);
    for client in 0..concurrency {
        let base = &bases[client % bases.len()];
        let url = format!("{base}/v1/classes/{CLASS}/timeline");
        let (http, token, next, ready) = (http.clone(), token.clone(), next.clone(), ready.clone());
        let health = format!("{base}/healthz");
        let start_at = start_at.clone();
        tasks.push(tokio::spawn(async move {
            let _ = http
                .get(&health)
                .send()
                .await
                .and_then(|r| r.error_for_status());
            ready.wait().await;
            let start = *start_at.get().expect("start time set before release");
            let uid = format!("student_{client:03}");
            let mut lat = Vec::new();
            let mut ids = Vec::new();
            let mut errors: BTreeMap<String, usize> = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || start.elapsed() > bound {
                    break;
                }
                let body = json!({
                    "uid": uid,
                    "timestamp": 1_000_000 + i as i64,
                    "rtt_ms": 2.0 + (i % 16) as f64 * 0.5,
                });
                let t0 = Instant::now();
                let res = http
                    .post(url.as_str())
                    .bearer_auth(token.as_str())
                    .json(&body)
                    .send()
                    .await;
                let outcome = match res {
                    Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => {
                        match r.json::<TimelineAccepted>().await {
                            Ok(a) => Ok(a.message_id),
                            Err(e) => Err(format!("bad 202 body: {e}")),
                        }
                    }
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        Err(format!("HTTP {s}"))
                    }
                    Err(e) if e.is_timeout() => Err("timeout".into()),
                    Err(e) if e.is_connect() => Err("connect error".into()),
                    Err(e) => Err(format!("transport error: {e}")),
                };
                let took = t0.elapsed();
                match outcome {
                    Ok(id) => {
                        lat.push(took);
                        ids.push(id);
                    }
                    Err(e) => *errors.entry(e).or_default() += 1,
                }
            }
            (lat, ids, errors, start.elapsed())
        }));
    }
    // Every client has its connection: start the clock and release them.
    start_at.set(Instant::now()).unwrap();
    ready.wait().await;
    let mut out = Burst {
        unsent: 0,
        accepted: 0,
        errors: BTreeMap::new(),
        latencies: Vec::with_capacity(n),
        wall: Duration::ZERO,
        message_ids: Vec::with_capacity(n),
    };
    for t in tasks {
        let (lat, ids, errors, ended) = t.await.expect("client task");
        out.latencies.extend(lat);
        out.message_ids.extend(ids);
        for (k, v) in errors {
            *out.errors.entry(k).or_default() += v;
        }
        out.wall = out.wall.max(ended);
    }
    out.accepted = out.message_ids.len();
    let failed: usize = out.errors.values().sum();
    out.unsent = n.saturating_sub(out.accepted + failed);
    out.latencies.sort_unstable();
    out
}

async fn create_class(http: &reqwest::Client, base: &str) -> String {
    let res = http
        .post(format!("{base}/v1/classes"))
        .bearer_auth(ADMIN)
        .json(&json!({
            "class_id": CLASS,
            "group_id": "bench-group",
            "teacher_uid": "teacher_li",
            "create_group": true,
            // Many uids post here: the class-wide token (legacy) keeps the client simple.
            "legacy_class_token": true,
            "open_enrolment": true,
        }))
        .send()
        .await
        .expect("create class");
    let status = res.status();
    let v: serde_json::Value = res.json().await.expect("class JSON");
    assert_eq!(status.as_u16(), 201, "create class: {v}");
    v["report_token"].as_str().expect("report_token").to_owned()
}

/// The server's `/metrics` (Prometheus text).
async fn metrics_text(http: &reqwest::Client, base: &str) -> String {
    match http.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// A counter from Prometheus text, summed over its labels; `None` when absent.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let value = match rest.strip_prefix('{') {
                Some(labelled) => labelled.split_once("} ")?.1,
                None => rest.strip_prefix(' ')?,
            };
            value.trim().parse::<f64>().ok()
        })
        .reduce(|a, b| a + b)
}

/// Every message id of the bench class in the database file (opened as the next start of
/// the server would open it).
async fn stored_ids(db: &std::path::Path) -> HashSet<i64> {
    let store = Store::open(db).await.expect("open the database");
    let filter = MessageFilter {
        class_id: Some(CLASS.into()),
        ..MessageFilter::default()
    };
    let mut ids = HashSet::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_messages(&filter, cursor, 1000)
            .await
            .expect("list messages");
        ids.extend(page.items.iter().map(|m| m.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        ids.len() as i64,
        store.count_messages(&filter).await.unwrap()
    );
    store.close().await;
    ids
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
}

/// What the run is measured on, for the tables' engine line and the phases' databases.
struct Setup {
    /// `BENCH_PG`, when the ReplayDesk side runs on PostgreSQL.
    pg_admin: Option<String>,
    /// The PostgreSQL server's processes, for their CPU time.
    pg_procs: Option<pg::PgProcesses>,
    nodes: usize,
    /// The engine as the server describes itself.
    engine: String,
}

impl Setup {
    async fn from_env() -> Self {
        let pg_admin = pg::admin_from_env();
        let nodes = pg::nodes_from_env(pg_admin.is_some());
        let (engine, pg_procs) = match &pg_admin {
            Some(admin) => (
                pg::describe(admin).await,
                pg::PgProcesses::find(admin).await,
            ),
            None => ("SQLite (WAL, synchronous=FULL)".to_owned(), None),
        };
        Self {
            pg_admin,
            pg_procs,
            nodes,
            engine,
        }
    }

    fn pg_snapshot(&self) -> Option<pg::CpuSnapshot> {
        self.pg_procs.as_ref().map(pg::PgProcesses::snapshot)
    }

    /// CPU seconds PostgreSQL used since `before`.
    fn pg_cpu_since(&self, before: Option<pg::CpuSnapshot>) -> Option<f64> {
        Some(self.pg_snapshot()?.since(&before?))
    }

    /// The ReplayDesk row's name in the tables.
    fn server_name(&self) -> String {
        match self.nodes {
            1 => "replaydesk serve (durable 1003 accept)".to_owned(),
            n => format!("replaydesk serve × {n} nodes (durable 1003 accept)"),
        }
    }

    /// Who was killed for the durability check.
    fn killed(&self) -> String {
        match self.nodes {
            1 => "the server".to_owned(),
            n => format!("all {n} nodes"),
        }
    }
}

fn main() {
    match std::env::var(ROLE_ENV).as_deref() {
        Ok("server") => return serve_replaydesk(),
        Ok("noop") => return serve_noop(),
        Ok(other) => panic!("unknown {ROLE_ENV}: {other}"),
        Err(_) => {}
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not (or passes
    // `--test` / `--list`): do a tiny run then.
    let args: Vec<String> = std::env::args().collect();
    let quick =
        args.iter().any(|a| a == "--test" || a == "--list") || !args.iter().any(|a| a == "--bench");
    let n = env_usize("BENCH_N").unwrap_or(if quick { 100 } else { 10_000 });
    let concurrency = env_usize("BENCH_CONCURRENCY").unwrap_or(if quick { 8 } else { 64 });
    let bound = Duration::from_secs(env_usize("BENCH_TIMEOUT_SECS").unwrap_or(300) as u64);
    let cores = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let setup = Setup::from_env().await;
        let pg_admin = setup.pg_admin.as_deref();
        let dir = tempfile::tempdir().unwrap();
        let dir = match std::env::var_os("BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d).unwrap(),
            None => dir,
        };
        let already = seed::stored_from_env();
        assert!(
            already == 0 || pg_admin.is_none(),
            "BENCH_STORED seeds SQLite only: unset it, or BENCH_PG"
        );
        let db = BenchDb::fresh(pg_admin, dir.path(), "replaydesk.db", "burst", already).await;
        let http = http_client(concurrency);

        // ReplayDesk.
        let (servers, token) = Nodes::start(&db, setup.nodes, &http, dir.path()).await;
        let bases = servers.bases();
        let cpu0 = servers.cpu_secs();
        let pg0 = setup.pg_snapshot();
        let gen0 = cpu_secs(std::process::id());
        let rd = burst(&http, &bases, &token, n, concurrency, bound).await;
        let rd_cpu = servers.cpu_secs().zip(cpu0).map(|(a, b)| a - b);
        let rd_pg = setup.pg_cpu_since(pg0);
        let rd_gen = cpu_secs(std::process::id()).zip(gen0).map(|(a, b)| a - b);
        let commits = servers
            .metric_sum(&http, "replaydesk_intake_commits_total")
            .await;
        let accepted_metric = servers
            .metric_sum(&http, "replaydesk_messages_accepted_total")
            .await;
        let delivered = servers
            .metric_sum(&http, "replaydesk_delivery_attempts_total")
            .await;
        let rss = servers.peak_rss_mb();
        // Kill -9, then read the database: what was acknowledged must be there.
        servers.kill();
        let stored = stored_ids(&db.target()).await;
        let acked: HashSet<i64> = rd.message_ids.iter().copied().collect();
        let found = acked.iter().filter(|id| stored.contains(id)).count();
        // Done with the burst's database: the wrk run below starts on one of its own.
        let engine_name = db.engine_name();
        db.remove();

        // The no-op baseline.
        let noop = ServerProcess::spawn("noop", None, None);
        let nbase = noop.base();
        let cpu0 = noop.cpu_secs();
        let gen0 = cpu_secs(std::process::id());
        let nb = burst(&http, &[nbase], "noop-token", n, concurrency, bound).await;
        let nb_cpu = noop.cpu_secs().zip(cpu0).map(|(a, b)| a - b);
        let nb_gen = cpu_secs(std::process::id()).zip(gen0).map(|(a, b)| a - b);
        noop.stop();

        println!(
            "\nserve load: {n} timeline reports, {concurrency} concurrent clients (one keep-alive \
             pool), loopback, {cores} cores; each server in its own process; {already} messages \
             already stored{}",
            if quick { " (quick run)" } else { "" }
        );
        println!(
            "engine: {}; replaydesk: {} on one database{}\n",
            setup.engine,
            match setup.nodes {
                1 => "1 server process".to_owned(),
                n => format!("{n} server processes"),
            },
            if setup.nodes > 1 {
                ", the clients round-robin over them"
            } else {
                ""
            }
        );
        println!("| server | accepted/s | p50 ms | p99 ms | max ms | errors | vs no-op |");
        println!("|---|---:|---:|---:|---:|---|---:|");
        let row = |name: &str, b: &Burst| {
            println!(
                "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.2} |",
                b.rate(),
                b.pct(50.0),
                b.pct(99.0),
                b.pct(100.0),
                b.error_text(),
                b.rate() / nb.rate(),
            );
        };
        row(&setup.server_name(), &rd);
        row("no-op axum handler", &nb);
        println!();
        println!(
            "durable: {found} of {} accepted reports found in {engine_name} after SIGKILL of {} \
             ({} messages of the class stored)",
            rd.accepted,
            setup.killed(),
            stored.len()
        );
        let largest = if setup.nodes > 1 {
            format!(" (the largest of {} nodes)", setup.nodes)
        } else {
            String::new()
        };
        if let Some(rss) = rss {
            println!(
                "peak resident memory of the replaydesk server{largest} during the burst: \
                 {rss:.1} MB"
            );
        }
        if let (Some(c), Some(a)) = (commits, accepted_metric) {
            println!(
                "group commit: {a:.0} reports in {c:.0} intake commits ({:.1} per commit)",
                a / c.max(1.0)
            );
        }
        if let Some(d) = delivered {
            println!(
                "delivery worker meanwhile (sandbox emulator, default rate limits): {d:.0} attempts \
                 recorded (group-committed) {}{}",
                if setup.pg_admin.is_some() {
                    "in the same database"
                } else {
                    "on the same writer connection"
                },
                if setup.nodes > 1 { ", all nodes" } else { "" }
            );
        }
        let fmt_cpu = |c: Option<f64>, b: &Burst| match c {
            Some(c) => format!(
                "{c:.1} s ({:.0} % of one core)",
                100.0 * c / b.wall.as_secs_f64()
            ),
            None => "n/a".into(),
        };
        println!(
            "CPU during the burst: replaydesk {:.1} s wall, server{} {}{}, load generator {}; \
             no-op {:.1} s wall, server {}, load generator {}",
            rd.wall.as_secs_f64(),
            if setup.nodes > 1 { "s together" } else { "" },
            fmt_cpu(rd_cpu, &rd),
            rd_pg.map_or(String::new(), |c| format!(
                ", PostgreSQL {}",
                fmt_cpu(Some(c), &rd)
            )),
            fmt_cpu(rd_gen, &rd),
            nb.wall.as_secs_f64(),
            fmt_cpu(nb_cpu, &nb),
            fmt_cpu(nb_gen, &nb),
        );
        let wrk_secs = std::env::var("BENCH_WRK_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 0 } else { 10 });
        let have_wrk = Command::new("wrk")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if wrk_secs > 0 && have_wrk {
            wrk_phase(&setup, &http, dir.path(), wrk_secs, already).await;
        } else if wrk_secs > 0 {
            println!("\n(wrk not installed: `apt-get install wrk` for the wrk figures)");
        }
        assert_eq!(
            found, rd.accepted,
            "every accepted report must be in the database"
        );
        assert_eq!(acked.len(), rd.accepted, "message ids are distinct");
    });
}

/// `wrk` against the no-op handler, then against the nodes on a fresh database; prints
/// the table.
async fn wrk_phase(setup: &Setup, http: &reqwest::Client, dir: &FsPath, secs: u64, already: usize) {
    let Some(script) = wrk_script(dir) else {
        println!("\n(could not write wrk's script in {})", dir.display());
        return;
    };
    let noop = ServerProcess::spawn("noop", None, None);
    let nw = run_wrk(&script, &noop.base(), "noop-token", secs, WRK_ONE);
    noop.stop();
    let pg_admin = setup.pg_admin.as_deref();
    let db = BenchDb::fresh(pg_admin, dir, "replaydesk-wrk.db", "wrk", already).await;
    let (servers, token) = Nodes::start(&db, setup.nodes, http, dir).await;
    let cpu0 = servers.cpu_secs();
    let pg0 = setup.pg_snapshot();
    let started = Instant::now();
    let rw = run_wrk_nodes(&script, &servers.bases(), &token, secs);
    let wall = started.elapsed().as_secs_f64();
    let rd_cpu = servers.cpu_secs().zip(cpu0).map(|(a, b)| a - b);
    let pg_cpu = setup.pg_cpu_since(pg0);
    let rss = servers.peak_rss_mb();
    servers.stop();
    db.remove();
    let (Some(nw), Some(rw)) = (nw, rw) else {
        return;
    };
    println!(
        "\n{} (each report unique), same run:\n",
        wrk_described(setup.nodes, secs)
    );
    println!("| server | requests/s | p50 ms | p99 ms | max ms | non-2xx | vs no-op |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, w) in [
        (setup.server_name().as_str(), &rw),
        ("no-op axum handler", &nw),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.3} |",
            w.rate,
            w.p50,
            w.p99,
            w.max,
            w.non_2xx,
            w.rate / nw.rate
        );
    }
    if let Some(rss) = rss {
        let largest = if setup.nodes > 1 {
            format!(" (the largest of {} nodes)", setup.nodes)
        } else {
            String::new()
        };
        println!("\npeak resident memory of the replaydesk server{largest} under wrk: {rss:.1} MB");
    }
    // On PostgreSQL the database shares the cores too: say how they were spent.
    if let (Some(rd), Some(pg)) = (rd_cpu, pg_cpu) {
        println!(
            "CPU under wrk ({wall:.1} s): replaydesk {:.0} % of one core, PostgreSQL {:.0} %",
            100.0 * rd / wall,
            100.0 * pg / wall
        );
    }
}
