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
#[path = "common/seed.rs"]
mod seed;
use cpu::cpu_secs;

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
    fn spawn(role: &str, db: Option<&std::path::Path>) -> Self {
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

// ---------------------------------------------------------------- wrk

/// wrk's Lua script: each thread numbers its requests, so every report is a new message.
const WRK_LUA: &str = r#"
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  tid = tonumber(tid) or 0
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

/// Runs `wrk -t2 -c64 --latency` for `secs` against the timeline route of `base`.
fn run_wrk(dir: &std::path::Path, base: &str, token: &str, secs: u64) -> Option<WrkResult> {
    let script = dir.join("report.lua");
    std::fs::write(&script, WRK_LUA).ok()?;
    let out = Command::new("wrk")
        .args(["-t2", "-c64", "--latency", "-d"])
        .arg(format!("{secs}s"))
        .arg("-s")
        .arg(&script)
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
/// `concurrency` clients sharing one keep-alive pool. Each client first opens its
/// connection (`GET /healthz`); the clock starts once all have.
async fn burst(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
    concurrency: usize,
    bound: Duration,
) -> Burst {
    let url = Arc::new(format!("{base}/v1/classes/{CLASS}/timeline"));
    let token = Arc::new(token.to_owned());
    let next = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(tokio::sync::Barrier::new(concurrency + 1));
    let start_at = Arc::new(tokio::sync::OnceCell::<Instant>::new());
    let mut tasks = Vec::with_capacity(concurrency);
    for client in 0..concurrency {
        let (http, url, token, next, ready) = (
            http.clone(),
            url.clone(),
            token.clone(),
            next.clone(),
            ready.clone(),
        );
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
        let dir = tempfile::tempdir().unwrap();
        let dir = match std::env::var_os("BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d).unwrap(),
            None => dir,
        };
        let db = dir.path().join("replaydesk.db");
        let already = seed::stored_from_env();
        seed::seed(&db, already).await;
        let http = http_client(concurrency);

        // ReplayDesk.
        let server = ServerProcess::spawn("server", Some(&db));
        let base = server.base();
        let token = create_class(&http, &base).await;
        let cpu0 = server.cpu_secs();
        let gen0 = cpu_secs(std::process::id());
        let rd = burst(&http, &base, &token, n, concurrency, bound).await;
        let rd_cpu = server.cpu_secs().zip(cpu0).map(|(a, b)| a - b);
        let rd_gen = cpu_secs(std::process::id()).zip(gen0).map(|(a, b)| a - b);
        let m = metrics_text(&http, &base).await;
        let commits = metric(&m, "replaydesk_intake_commits_total");
        let accepted_metric = metric(&m, "replaydesk_messages_accepted_total");
        let delivered = metric(&m, "replaydesk_delivery_attempts_total");
        let rss = peak_rss_mb(server.child.id());
        // Kill -9, then read the file: what was acknowledged must be there.
        server.kill();
        let stored = stored_ids(&db).await;
        let acked: HashSet<i64> = rd.message_ids.iter().copied().collect();
        let found = acked.iter().filter(|id| stored.contains(id)).count();
        // Done with the burst's database: the wrk run below seeds a copy of its own, and
        // with 5,000,000 stored messages two copies at once would take 7 GB.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }

        // The no-op baseline.
        let noop = ServerProcess::spawn("noop", None);
        let nbase = noop.base();
        let cpu0 = noop.cpu_secs();
        let gen0 = cpu_secs(std::process::id());
        let nb = burst(&http, &nbase, "noop-token", n, concurrency, bound).await;
        let nb_cpu = noop.cpu_secs().zip(cpu0).map(|(a, b)| a - b);
        let nb_gen = cpu_secs(std::process::id()).zip(gen0).map(|(a, b)| a - b);
        noop.stop();

        println!(
            "\nserve load: {n} timeline reports, {concurrency} concurrent clients (one keep-alive \
             pool), loopback, {cores} cores; each server in its own process; {already} messages \
             already stored{}\n",
            if quick { " (quick run)" } else { "" }
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
        row("replaydesk serve (durable 1003 accept)", &rd);
        row("no-op axum handler", &nb);
        println!();
        println!(
            "durable: {found} of {} accepted reports found in SQLite after SIGKILL of the server \
             ({} messages of the class stored)",
            rd.accepted,
            stored.len()
        );
        if let Some(rss) = rss {
            println!("peak resident memory of the replaydesk server during the burst: {rss:.1} MB");
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
                 recorded (group-committed) on the same writer connection"
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
            "CPU during the burst: replaydesk {:.1} s wall, server {}, load generator {}; \
             no-op {:.1} s wall, server {}, load generator {}",
            rd.wall.as_secs_f64(),
            fmt_cpu(rd_cpu, &rd),
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
            let noop = ServerProcess::spawn("noop", None);
            let nw = run_wrk(dir.path(), &noop.base(), "noop-token", wrk_secs);
            noop.stop();
            let db2 = dir.path().join("replaydesk-wrk.db");
            seed::seed(&db2, already).await;
            let server = ServerProcess::spawn("server", Some(&db2));
            let token = create_class(&http, &server.base()).await;
            let rw = run_wrk(dir.path(), &server.base(), &token, wrk_secs);
            let rss = peak_rss_mb(server.child.id());
            server.stop();
            if let (Some(nw), Some(rw)) = (nw, rw) {
                println!(
                    "\nwrk -t2 -c64 --latency -d{wrk_secs}s (each report unique), same run:\n"
                );
                println!("| server | requests/s | p50 ms | p99 ms | max ms | non-2xx | vs no-op |");
                println!("|---|---:|---:|---:|---:|---:|---:|");
                for (name, w) in [
                    ("replaydesk serve (durable 1003 accept)", &rw),
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
                    println!("\npeak resident memory of the replaydesk server under wrk: {rss:.1} MB");
                }
            }
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
