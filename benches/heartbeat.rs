//! Heartbeats: how accurately a whiteboard event is placed when members' clocks are tracked
//! from heartbeats, and what the heartbeat path costs.
//!
//! `cargo bench --bench heartbeat` prints (docs/benchmarks.md, "Heartbeats"):
//!
//! 1. **Accuracy study.** Two-hour classes; each member's crystal drifts 10–100 ppm (either
//!    way); its network path is asymmetric and jittery. Whiteboard events at random moments
//!    are placed by the product's `align()` from the 1003 pairs each method leaves in the
//!    group: the seed's (one report on entering, `time_line` = receipt), today's pairs only
//!    (one report on entering, receipt − the client's rtt/2, with the alignment's clock
//!    filter) and heartbeat tracking (the same report, plus the 1003s ReplayDesk sends from
//!    the member's heartbeats every 3 s: `replaydesk_align::track`, the product's filter and
//!    re-anchor rule, at the default bound of 20 ms and at 5 ms). Error = where the event is
//!    placed − where it truly was.
//! 2. **The heartbeat path** (`BENCH_HB_SECS` per step, default 8): `ReplayDesk` over real
//!    HTTP in this process (sandbox mode, SQLite), members heartbeating at rising rates
//!    while timeline reports keep arriving and are delivered; each step's latency
//!    percentiles. Then the memory per tracked member (resident set before and after
//!    `BENCH_HB_MEMBERS` members, default 20,000, each with a full ten-minute window).
//!
//! Deterministic study (fixed seeds); `BENCH_CLIENTS` (default 400) sets its size.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use replaydesk::align::track::{reanchor_due, ClockTrack, Sample, TrackConfig};
use replaydesk::align::{align, AlignOptions, AlignSource, Entry, EntryBody, RttSource};
use replaydesk::protocol::{Payload, ReplayMessage, Seq, UserValue};
use std::time::{Duration, Instant};

const T0: i64 = 1_795_339_200_000;
const CLASS_MS: i64 = 2 * 3600 * 1000;
const HEARTBEAT_MS: i64 = 3_000;
const EVENTS_PER_MEMBER: usize = 300;
const CLASS_USERS: usize = 20;

/// A member's network: base one-way delays and exponential jitter (a fraction of the base).
struct Path {
    up_ms: f64,
    down_ms: f64,
    jitter: f64,
}

impl Path {
    fn up(&self, rng: &mut StdRng) -> f64 {
        self.up_ms + exp(rng, self.up_ms * self.jitter)
    }
    fn down(&self, rng: &mut StdRng) -> f64 {
        self.down_ms + exp(rng, self.down_ms * self.jitter)
    }
}

fn exp(rng: &mut StdRng, mean: f64) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    -mean * u.ln()
}

/// The networks studied: (name, base range ms, largest asymmetry between directions).
const MODELS: [(&str, (f64, f64), f64); 2] = [
    (
        "asymmetric: base 20–300 ms, directions differ by up to ±30 %",
        (20.0, 300.0),
        0.3,
    ),
    (
        "mildly asymmetric: base 10–80 ms, directions differ by up to ±5 %",
        (10.0, 80.0),
        0.05,
    ),
];

fn path(rng: &mut StdRng, (lo, hi): (f64, f64), asym: f64) -> Path {
    let base = rng.random_range(lo..hi);
    let a: f64 = rng.random_range(-asym..asym);
    Path {
        up_ms: base,
        down_ms: base * (1.0 + a),
        jitter: 0.15,
    }
}

/// A member's clock: reads `c0` at `T0`, runs `ppm` slow (negative: fast).
#[derive(Clone, Copy)]
struct Clock {
    c0: u64,
    ppm: f64,
}

impl Clock {
    fn at(&self, t: i64) -> u64 {
        self.c0 + ((t - T0) as f64 * (1.0 - self.ppm * 1e-6)).round() as u64
    }
}

fn pair(
    uid: &str,
    client_ms: u64,
    time_line: i64,
    unc: Option<i64>,
    src: RttSource,
    at: i64,
) -> (i64, Entry) {
    (
        at,
        Entry {
            im_msg_seq: None,
            received_ms: Some(at),
            received_exact: true,
            from: "administrator".into(),
            log_id: None,
            sent: true,
            recording_source: None,
            body: EntryBody::Protocol {
                msg: ReplayMessage::new(
                    Seq::random(),
                    client_ms,
                    Payload::Timeline {
                        time_line,
                        value: UserValue::new(uid),
                    },
                ),
                time_line_missing: false,
                uncertainty_ms: unc,
                rtt_source: Some(src),
            },
        },
    )
}

fn event(uid: &str, client_ms: u64, at: i64, seq: u64) -> (i64, Entry) {
    (
        at,
        Entry {
            im_msg_seq: None,
            received_ms: Some(at),
            received_exact: true,
            from: uid.into(),
            log_id: None,
            sent: true,
            recording_source: None,
            body: EntryBody::Whiteboard {
                client_ms: Some(client_ms),
                seq: Some(seq),
            },
        },
    )
}

/// Places every event of the class with `align()`; pushes placed − true (ms).
fn place(
    mut entries: Vec<(i64, Entry)>,
    truth: &std::collections::HashMap<u64, i64>,
    out: &mut Vec<f64>,
) {
    entries.sort_by_key(|(t, _)| *t);
    let entries: Vec<Entry> = entries
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut e))| {
            e.im_msg_seq = Some(i as u64 + 1);
            e
        })
        .collect();
    let a = align(
        AlignSource::Log,
        None,
        None,
        &entries,
        &AlignOptions::default(),
    );
    for e in &a.events {
        if let (Some(s), Some(seq)) = (e.server_ms, e.event.seq) {
            if let Some(t) = truth.get(&seq) {
                out.push((s - t) as f64);
            }
        }
    }
}

#[derive(Default)]
struct Study {
    seed: Vec<f64>,
    pairs_only: Vec<f64>,
    tracked_20: Vec<f64>,
    tracked_5: Vec<f64>,
    reanchors_20: usize,
    reanchors_5: usize,
}

/// The 1003s heartbeat tracking adds for one member (bound `bound_ms`), after its entering
/// report (`anchor`).
fn tracked_pairs(
    uid: &str,
    clock: Clock,
    p: &Path,
    rng: &mut StdRng,
    (enter, anchor): (i64, (u64, i64)),
    bound_ms: f64,
    out: &mut Vec<(i64, Entry)>,
) -> usize {
    let mut track = ClockTrack::new(TrackConfig::default());
    let mut anchor = anchor;
    let mut prev_rtt: Option<f64> = None;
    let mut n = 0;
    let mut t = enter + HEARTBEAT_MS;
    while t < T0 + CLASS_MS {
        let (up, down) = (p.up(rng), p.down(rng));
        let arrival = t as f64 + up;
        // The heartbeat carries the round trip of the one before (timed by its answer).
        let half = prev_rtt.map(|r| r / 2.0);
        track.observe(Sample {
            client_ms: clock.at(t),
            server_ms: (arrival - half.unwrap_or(0.0)).round() as i64,
            half_rtt_ms: half,
        });
        prev_rtt = Some(up + down);
        if let Some(_due) = reanchor_due(Some(anchor), &track, bound_ms) {
            let last = track.last().expect("a sample");
            let est = track.estimate(last.server_ms).expect("an estimate");
            let time_line = est.server_ms_of(last.client_ms);
            out.push(pair(
                uid,
                last.client_ms,
                time_line,
                Some(est.uncertainty_ms.ceil() as i64),
                RttSource::Heartbeat,
                arrival.round() as i64 + 5,
            ));
            anchor = (last.client_ms, time_line);
            n += 1;
        }
        t += HEARTBEAT_MS;
    }
    n
}

fn study(model: usize, clients: usize, seed: u64) -> Study {
    let (_, base, asym) = MODELS[model];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut s = Study::default();
    let mut next_seq = 0u64;
    for class in 0..clients.div_ceil(CLASS_USERS) {
        let (mut seed_e, mut pairs_e, mut t20_e, mut t5_e) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut truth = std::collections::HashMap::new();
        for c in 0..CLASS_USERS.min(clients - class * CLASS_USERS) {
            let uid = format!("u{c}");
            let p = path(&mut rng, base, asym);
            let ppm = rng.random_range(10.0..100.0) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let clock = Clock {
                c0: rng.random_range(0..(1u64 << 31)),
                ppm,
            };
            // Entering: a /v1/time exchange, then the timeline report.
            let enter = T0 + rng.random_range(0..60_000);
            let rtt = p.up(&mut rng) + p.down(&mut rng);
            let receipt = enter + p.up(&mut rng).round() as i64;
            let c_enter = clock.at(enter);
            seed_e.push(pair(&uid, c_enter, receipt, None, RttSource::None, receipt));
            let (tl, unc) = replaydesk::service::time_line_for(receipt, Some(rtt));
            let measured = pair(&uid, c_enter, tl, unc, RttSource::Client, receipt);
            pairs_e.push(measured.clone());
            t20_e.push(measured.clone());
            t5_e.push(measured);
            // Heartbeat tracking: the same paths, the same draws for both bounds.
            let mut rng20 = StdRng::seed_from_u64(seed ^ (class as u64) << 20 ^ c as u64);
            let mut rng5 = rng20.clone();
            s.reanchors_20 += tracked_pairs(
                &uid,
                clock,
                &p,
                &mut rng20,
                (enter, (c_enter, tl)),
                20.0,
                &mut t20_e,
            );
            s.reanchors_5 += tracked_pairs(
                &uid,
                clock,
                &p,
                &mut rng5,
                (enter, (c_enter, tl)),
                5.0,
                &mut t5_e,
            );
            for _ in 0..EVENTS_PER_MEMBER {
                let t = rng.random_range(enter + 1_000..T0 + CLASS_MS);
                next_seq += 1;
                truth.insert(next_seq, t);
                let e = event(&uid, clock.at(t), t + 40, next_seq);
                seed_e.push(e.clone());
                pairs_e.push(e.clone());
                t20_e.push(e.clone());
                t5_e.push(e);
            }
        }
        place(seed_e, &truth, &mut s.seed);
        place(pairs_e, &truth, &mut s.pairs_only);
        place(t20_e, &truth, &mut s.tracked_20);
        place(t5_e, &truth, &mut s.tracked_5);
    }
    s
}

fn quantiles(v: &[f64]) -> (f64, f64, f64) {
    let mut a: Vec<f64> = v.iter().map(|x| x.abs()).collect();
    a.sort_by(f64::total_cmp);
    let at = |q: f64| a[((a.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99), a[a.len() - 1])
}

fn accuracy(clients: usize) {
    println!(
        "accuracy: {clients} members per network, two-hour classes of {CLASS_USERS}, drift 10–100 ppm either way, heartbeats every 3 s, {EVENTS_PER_MEMBER} whiteboard events per member"
    );
    println!("| network | method | p50 ms | p99 ms | max ms | 1003s added per member-hour |");
    println!("|---|---|---:|---:|---:|---:|");
    for (m, (name, _, _)) in MODELS.iter().enumerate() {
        let s = study(m, clients, 0x5eed + m as u64);
        let hours = clients as f64 * 2.0;
        let rows = [
            (
                "seed: one report on entering, `time_line` = receipt",
                &s.seed,
                None,
            ),
            (
                "today: pairs only (one report on entering, client rtt, clock filter)",
                &s.pairs_only,
                None,
            ),
            (
                "**heartbeat tracking, `reanchor_ms` = 20 (default)**",
                &s.tracked_20,
                Some(s.reanchors_20),
            ),
            (
                "heartbeat tracking, `reanchor_ms` = 5",
                &s.tracked_5,
                Some(s.reanchors_5),
            ),
        ];
        for (i, (method, v, n)) in rows.iter().enumerate() {
            let (p50, p99, max) = quantiles(v);
            println!(
                "| {} | {method} | {p50:.0} | {p99:.0} | {max:.0} | {} |",
                if i == 0 { name } else { "" },
                n.map_or("–".to_owned(), |n| format!("{:.1}", n as f64 / hours))
            );
        }
    }
}

// ---------------------------------------------------------------- the heartbeat path

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

const ADMIN: &str = "bench-admin-token-0123456789";

async fn start_desk(dir: &std::path::Path) -> replaydesk::service::ReplayDesk {
    let mut c = replaydesk::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        db: dir.join("hb.db"),
        admin_token: Some(replaydesk::secret::Secret::new(ADMIN)),
        ui_dir: dir.join("none"),
        ..Default::default()
    };
    c.limits = replaydesk::config::ReportLimits::none();
    replaydesk::service::ReplayDesk::start(c)
        .await
        .expect("starts")
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

async fn throughput(step_secs: u64) {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let desk = start_desk(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = replaydesk::server::spawn(desk.clone(), listener).unwrap();
    let base = server.base_url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    // Member m's clock, in every class: the bench's clock plus its own offset.
    let epoch = Instant::now();
    let clock = move |m: usize| 4_000_000 + epoch.elapsed().as_millis() as u64 + m as u64 * 1_000;
    // 40 started classes of 100 members (legacy token, open enrolment: one token a class).
    let classes = 40;
    let mut tokens = Vec::new();
    for k in 0..classes {
        let id = format!("hb{k}");
        let v: serde_json::Value = http
            .post(format!("{base}/v1/classes"))
            .bearer_auth(ADMIN)
            .json(&json!({"class_id": id, "group_id": format!("g_{id}"), "teacher_uid": "teacher", "legacy_class_token": true, "open_enrolment": true, "create_group": true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = v["report_token"].as_str().unwrap().to_owned();
        http.post(format!("{base}/v1/classes/{id}/start"))
            .bearer_auth(&token)
            .json(&json!({"uid": "teacher", "timestamp": 1}))
            .send()
            .await
            .unwrap();
        // Every member reports its timeline on entering, as clients do.
        for m in 0..100 {
            http.post(format!("{base}/v1/classes/{id}/timeline"))
                .bearer_auth(&token)
                .json(&json!({"uid": format!("m{m}"), "timestamp": clock(m), "rtt_ms": 1}))
                .send()
                .await
                .unwrap();
        }
        tokens.push((id, token));
    }
    println!("\nthe heartbeat path: {step_secs} s per step, {classes} classes × 100 members (each reported its timeline on entering), timeline reports at 50/s meanwhile (delivered to the sandbox IM)");
    println!("| offered /s | answered /s | p50 ms | p99 ms | max ms | errors | reports/s meanwhile | report p99 ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    // The floor: `GET /v1/time` (no body, no credential) at 500/s with the same reports.
    for (rate, path) in [
        (500usize, "time"),
        (250, "heartbeat"),
        (500, "heartbeat"),
        (1000, "heartbeat"),
        (2000, "heartbeat"),
        (3000, "heartbeat"),
    ] {
        let stop = Instant::now() + Duration::from_secs(step_secs);
        // The reports' load: 50 a second, each a new reading.
        let reports = {
            let (http, base, tokens) = (http.clone(), base.clone(), tokens.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                let mut i = 0u64;
                while Instant::now() < stop {
                    tick.tick().await;
                    i += 1;
                    let (id, token) = &tokens[(i % tokens.len() as u64) as usize];
                    let t = Instant::now();
                    let r = http
                        .post(format!("{base}/v1/classes/{id}/timeline"))
                        .bearer_auth(token)
                        .json(&json!({"uid": format!("r{}", i % 50), "timestamp": 1_000_000 + i * 7 + rate as u64 * 1_000_000, "rtt_ms": 2}))
                        .send()
                        .await;
                    if r.is_ok_and(|r| r.status().is_success()) {
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                lat
            })
        };
        // Heartbeats: `rate` a second, spread over 64 senders, each member every few s.
        let senders = 64;
        let per_sender = Duration::from_secs_f64(senders as f64 / rate as f64);
        let mut tasks = Vec::new();
        for s in 0..senders {
            let (http, base, tokens) = (http.clone(), base.clone(), tokens.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0usize;
                let mut tick = tokio::time::interval(per_sender);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut k = 0usize;
                while Instant::now() < stop {
                    tick.tick().await;
                    k += 1;
                    let member = (s + k * senders) % (tokens.len() * 100);
                    let (id, token) = &tokens[member / 100];
                    let uid = format!("m{}", member % 100);
                    let ts = clock(member % 100);
                    let t = Instant::now();
                    let req = if path == "time" {
                        http.get(format!("{base}/v1/time"))
                    } else {
                        http.post(format!("{base}/v1/classes/{id}/heartbeat"))
                            .bearer_auth(token)
                            .json(&json!({"uid": uid, "timestamp": ts, "rtt_ms": 1}))
                    };
                    match req.send().await {
                        Ok(r) if r.status().is_success() => {
                            lat.push(t.elapsed().as_secs_f64() * 1000.0)
                        }
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            }));
        }
        let mut lat = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (l, e) = t.await.unwrap();
            lat.extend(l);
            errors += e;
        }
        let mut rl = reports.await.unwrap();
        lat.sort_by(f64::total_cmp);
        rl.sort_by(f64::total_cmp);
        println!(
            "| {} {rate} | {:.0} | {:.2} | {:.2} | {:.1} | {errors} | {:.0} | {:.1} |",
            if path == "time" {
                "baseline: `GET /v1/time`"
            } else {
                "heartbeats"
            },
            lat.len() as f64 / step_secs as f64,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or(f64::NAN),
            rl.len() as f64 / step_secs as f64,
            percentile(&rl, 0.99),
        );
    }
    println!(
        "tracked members after the steps: {}",
        desk.tracked_members()
    );
    server.shutdown().await;
}

async fn memory(members: usize) {
    let dir = tempfile::tempdir().unwrap();
    let desk = start_desk(dir.path()).await;
    let http_less = desk.clone();
    // Members in classes of 100; each heartbeats 60 times 10 s apart (a full 10-minute
    // window of kept samples), stamped with the arrival times the library takes.
    for k in 0..members.div_ceil(100) {
        http_less
            .create_class(
                replaydesk::service::CreateClass {
                    class_id: format!("m{k}"),
                    group_id: format!("g_m{k}"),
                    teacher_uid: "teacher".into(),
                    create_group: false,
                    legacy_class_token: false,
                    open_enrolment: false,
                    room_id: None,
                },
                &replaydesk::store::Actor::new("bench", replaydesk::store::Door::Cli),
            )
            .await
            .unwrap();
    }
    let now = replaydesk::clock::unix_ms_now();
    let before = rss_kb().unwrap_or(0);
    for beat in 0..60i64 {
        for m in 0..members {
            let t = now + beat * 10_000 + (m % 1000) as i64;
            desk.record_heartbeat(
                &format!("m{}", m / 100),
                replaydesk::service::TimelineReport {
                    uid: format!("u{}", m % 100),
                    timestamp: 1_000_000 + beat * 10_000,
                    rtt_ms: Some(4.0),
                },
                &replaydesk::service::ReportMeta {
                    received_at: t + 2,
                    body: String::new(),
                    kernel_rtt_ms: None,
                },
            )
            .await
            .unwrap();
        }
    }
    let after = rss_kb().unwrap_or(0);
    println!(
        "\nmemory: {} members tracked, each with 60 heartbeats 10 s apart: resident set {:.1} → {:.1} MB, {:.0} bytes per member",
        desk.tracked_members(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before) * 1024) as f64 / desk.tracked_members() as f64
    );
    desk.shutdown().await;
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    accuracy(if full {
        env_usize("BENCH_CLIENTS", 400)
    } else {
        20
    });
    if full {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(throughput(env_usize("BENCH_HB_SECS", 8) as u64));
        rt.block_on(memory(env_usize("BENCH_HB_MEMBERS", 20_000)));
    }
}
