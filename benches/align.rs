//! Alignment: how accurate the clock pairs are, and how fast a big class aligns.
//!
//! `cargo bench --bench align` prints two tables (README "Alignment" benchmarks):
//!
//! 1. **Accuracy study.** Simulated classes over a network with asymmetric, jittery delays
//!    and a known true offset per client. For every timeline report, the error of the
//!    offset (server − client) each method derives from it: the seed's (`time_line` = receipt
//!    time), ReplayDesk's with the client's own round trip (`rtt_ms`: receipt − rtt/2) and
//!    with the kernel's smoothed round trip of the reporting connection (`TCP_INFO`
//!    `tcpi_rtt`: receipt − srtt/2); plus, for reference only, the best of eight
//!    `GET /v1/time` exchanges (the NTP way), which ReplayDesk does not do.
//! 2. **Speed.** `align()` over a class of 100,000 messages and 50 users.
//!
//! Deterministic (fixed seeds); set `BENCH_CLIENTS` / `BENCH_REPORTS` to change the study's size.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use replaydesk::align::{align, AlignOptions, AlignSource, Entry, EntryBody, RttSource};
use replaydesk::protocol::{Payload, RecordingValue, ReplayMessage, Seq, UserValue};
use std::time::Instant;

// ---- accuracy study ----

/// One client's network path: base one-way delays (ms) and per-packet jitter.
struct Path {
    up_ms: f64,
    down_ms: f64,
    /// Mean of the exponential jitter added to each packet, as a fraction of its base.
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

/// How the network of a simulated class looks.
#[derive(Clone, Copy)]
enum Model {
    /// One base delay per client (20–300 ms), the two directions differing by up to ±30 %
    /// (uplink ≠ downlink), jitter averaging 15 % of the base per packet.
    Asymmetric,
    /// Uplink and downlink drawn independently (each 20–300 ms): the worst case for any
    /// method that halves a round trip; same jitter.
    Independent,
}

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Asymmetric => "asymmetric (±30 %)",
            Model::Independent => "independent directions",
        }
    }

    fn path(self, rng: &mut StdRng) -> Path {
        let (up_ms, down_ms) = match self {
            Model::Asymmetric => {
                let base = rng.random_range(20.0..300.0);
                let a: f64 = rng.random_range(-0.3..0.3);
                (base, (base * (1.0 + a)).clamp(20.0, 300.0))
            }
            Model::Independent => (rng.random_range(20.0..300.0), rng.random_range(20.0..300.0)),
        };
        Path {
            up_ms,
            down_ms,
            jitter: 0.15,
        }
    }
}

#[derive(Default)]
struct Errors {
    seed: Vec<f64>,
    client_rtt: Vec<f64>,
    kernel_rtt: Vec<f64>,
    best_of_8: Vec<f64>,
}

/// Errors (ms, signed: estimated − true offset) for every report of every client. Each
/// method sees only what it would see in production; the true offset cancels out, so the
/// error is what the delays leave over.
fn study(model: Model, clients: usize, reports: usize, seed: u64) -> Errors {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut e = Errors::default();
    for _ in 0..clients {
        let path = model.path(&mut rng);
        // The kernel's srtt (RFC 6298: first sample, then 7/8 old + 1/8 new) over the
        // keep-alive connection's earlier round trips (a few segments per report).
        let mut srtt: Option<f64> = None;
        let sample_srtt = |rng: &mut StdRng, srtt: &mut Option<f64>| {
            let r = path.up(rng) + path.down(rng);
            *srtt = Some(srtt.map_or(r, |s| s * 7.0 / 8.0 + r / 8.0));
        };
        for _ in 0..4 {
            sample_srtt(&mut rng, &mut srtt);
        }
        for _ in 0..reports {
            // The report's own one-way trip: the server pairs the client's reading with
            // (a correction of) the receipt time, so the seed's error is this delay.
            let up = path.up(&mut rng);
            e.seed.push(up);
            // The client timed a GET /v1/time just before and sends rtt_ms with the report.
            let rtt = path.up(&mut rng) + path.down(&mut rng);
            e.client_rtt.push(up - rtt / 2.0);
            // The kernel's estimate as it stands when the report arrives.
            e.kernel_rtt.push(up - srtt.unwrap_or(0.0) / 2.0);
            for _ in 0..3 {
                sample_srtt(&mut rng, &mut srtt);
            }
            // Reference: eight exchanges, the one with the smallest round trip; its offset
            // is server_ms − midpoint, off by half the difference of its two legs.
            let best = (0..8)
                .map(|_| (path.up(&mut rng), path.down(&mut rng)))
                .min_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)))
                .expect("eight exchanges");
            e.best_of_8.push((best.0 - best.1) / 2.0);
        }
    }
    e
}

/// p50, p99 and max of the absolute errors.
fn quantiles(v: &[f64]) -> (f64, f64, f64) {
    let mut a: Vec<f64> = v.iter().map(|x| x.abs()).collect();
    a.sort_by(f64::total_cmp);
    let at = |q: f64| a[((a.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99), a[a.len() - 1])
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn accuracy(clients: usize, reports: usize) {
    println!(
        "accuracy study: {clients} clients × {reports} timeline reports per model; \
         |error| of the offset in ms"
    );
    println!(
        "| network | method | p50 ms | p99 ms | max ms | p99 vs seed |\n|---|---|---:|---:|---:|---:|"
    );
    for (i, model) in [Model::Asymmetric, Model::Independent]
        .into_iter()
        .enumerate()
    {
        let e = study(model, clients, reports, 42 + i as u64);
        let (_, seed_p99, _) = quantiles(&e.seed);
        for (name, v) in [
            ("seed: time_line = receipt", &e.seed),
            ("ReplayDesk: receipt − client rtt/2", &e.client_rtt),
            ("ReplayDesk: receipt − kernel srtt/2", &e.kernel_rtt),
            ("reference only: best of 8 exchanges", &e.best_of_8),
        ] {
            let (p50, p99, max) = quantiles(v);
            println!(
                "| {} | {name} | {p50:.1} | {p99:.1} | {max:.1} | {:.2} |",
                model.name(),
                p99 / seed_p99
            );
        }
    }
}

// ---- speed ----

const T0: i64 = 1_795_339_200_000;

/// A two-hour class of `users` users and `messages` messages: each user reports a pair
/// every minute and records four half-hour videos; whiteboard data fills the rest.
fn big_class(users: usize, messages: usize) -> Vec<Entry> {
    let mut rng = StdRng::seed_from_u64(7);
    let class_ms: i64 = 2 * 3600 * 1000;
    let mut out: Vec<(i64, Entry)> = Vec::with_capacity(messages);
    let mut seq = 1u64;
    let mut proto = |received: i64, payload: Payload, ts: u64, rtt: Option<RttSource>| {
        seq += 1;
        Entry {
            im_msg_seq: None,
            received_ms: Some(received),
            received_exact: true,
            from: "administrator".into(),
            log_id: None,
            sent: true,
            body: EntryBody::Protocol {
                msg: ReplayMessage::new(Seq::from_raw(seq), ts, payload),
                time_line_missing: false,
                uncertainty_ms: rtt.map(|_| 40),
                rtt_source: rtt,
            },
        }
    };
    let uid = |u: usize| format!("user{u:02}");
    // Each user's clock: server − client offset (32-bit clocks, some near their wrap).
    let offsets: Vec<i64> = (0..users)
        .map(|_| T0 - rng.random_range(0..u32::MAX as i64))
        .collect();
    let client = |u: usize, server: i64| ((server - offsets[u]) as u64) & 0xFFFF_FFFF;
    out.push((
        T0,
        proto(
            T0,
            Payload::ClassStart(UserValue::new(uid(0))),
            client(0, T0),
            None,
        ),
    ));
    out.push((
        T0 + class_ms,
        proto(
            T0 + class_ms,
            Payload::ClassEnd(UserValue::new(uid(0))),
            client(0, T0 + class_ms),
            None,
        ),
    ));
    for u in 0..users {
        for m in 0..(class_ms / 60_000) {
            let s = T0 + m * 60_000 + u as i64;
            out.push((
                s,
                proto(
                    s + 20,
                    Payload::Timeline {
                        time_line: s,
                        value: UserValue::new(uid(u)),
                    },
                    client(u, s),
                    Some(RttSource::Client),
                ),
            ));
        }
        for r in 0..4 {
            let start = T0 + r * 1_800_000;
            let end = start + 1_800_000;
            let v = RecordingValue {
                uid: uid(u),
                start_time: start / 1000,
                end_time: end / 1000,
                media_start_time: 0,
                file_size: 1,
                duration: 1800,
                video_id: format!("v{u}-{r}"),
                video_url: "https://v.invalid/f.mp4".into(),
                ..RecordingValue::default()
            };
            out.push((
                end + 5_000,
                proto(
                    end + 5_000,
                    Payload::Recording(v),
                    (end / 1000) as u64,
                    None,
                ),
            ));
        }
    }
    let fill = messages.saturating_sub(out.len());
    for k in 0..fill {
        let u = k % users;
        let s = T0 + 1_000 + rng.random_range(0..class_ms - 2_000);
        out.push((
            s + 30,
            Entry {
                im_msg_seq: None,
                received_ms: Some(s + 30),
                received_exact: true,
                from: uid(u),
                log_id: None,
                sent: true,
                body: EntryBody::Whiteboard {
                    client_ms: Some(client(u, s)),
                    seq: Some(k as u64),
                },
            },
        ));
    }
    out.sort_by_key(|(t, _)| *t);
    out.into_iter()
        .enumerate()
        .map(|(i, (_, mut e))| {
            e.im_msg_seq = Some(i as u64 + 1);
            e
        })
        .collect()
}

fn speed() {
    let users = env_usize("BENCH_USERS", 50);
    let messages = env_usize("BENCH_MESSAGES", 100_000);
    let entries = big_class(users, messages);
    let opts = AlignOptions::default();
    let mut runs = Vec::new();
    let mut last = None;
    for _ in 0..7 {
        let t = Instant::now();
        let a = align(
            AlignSource::History,
            Some("g".into()),
            None,
            &entries,
            &opts,
        );
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some(a);
    }
    let a = last.expect("ran");
    runs.sort_by(f64::total_cmp);
    println!(
        "\nspeed: align() over {} messages, {} users ({} pairs, {} recordings, {} events, {} diagnostics)",
        entries.len(),
        a.users.len(),
        a.users.iter().map(|u| u.segments.len()).sum::<usize>(),
        a.recordings.len(),
        a.events.len(),
        a.diagnostics.len()
    );
    println!(
        "7 runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        runs[0], runs[3], runs[6]
    );
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep that quick.
    if std::env::args().any(|a| a == "--bench") {
        accuracy(
            env_usize("BENCH_CLIENTS", 2_000),
            env_usize("BENCH_REPORTS", 50),
        );
        speed();
    } else {
        accuracy(20, 5);
    }
}
