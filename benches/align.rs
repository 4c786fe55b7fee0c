//! Alignment: how accurate the clock pairs are, and how fast a big class aligns.
//!
//! `cargo bench --bench align` prints two tables (docs/benchmarks.md, "Alignment"):
//!
//! 1. **Accuracy study.** Simulated classes over a network with asymmetric, jittery delays
//!    and a known true offset per client. Every method's pairs are made as intake makes them
//!    and aligned by `align()` itself; the error is where the alignment puts a report's
//!    client reading minus where it truly was: the seed's pairs (`time_line` = receipt
//!    time), ReplayDesk's each alone (receipt − the client's `rtt_ms`/2, or − the kernel's
//!    smoothed RTT/2) and with its clock filter (the default: the fastest of a user's
//!    reports within two minutes, less half the smallest round trip); plus, for reference
//!    only, the best of eight `GET /v1/time` exchanges (the NTP way).
//! 2. **Placement of recordings.** Simulated classes whose users' recordings give
//!    `media_start_time` as a client-clock pts or as an offset into the stream, from
//!    clients up for days or rebooted minutes before the class (then both readings are
//!    small): where `align()` puts each video's start against its true first frame, and
//!    where the rule before the evidence (any value up to 600 s is an offset) put it.
//! 3. **Speed.** `align()` over a class of 100,000 messages and 50 users.
//!
//! Deterministic (fixed seeds); set `BENCH_CLIENTS` / `BENCH_REPORTS` / `BENCH_INTERVAL_S`
//! to change the study's size and how often a client reports.
//!
//! One file although long: a bench is one program (its simulated classes, the methods it
//! compares and the tables it prints).

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

/// What each method made of the reports: for every report, the error (ms, signed: the
/// server time the alignment gives the client's reading − the true one).
#[derive(Default)]
struct Errors {
    seed: Vec<f64>,
    client_rtt: Vec<f64>,
    kernel_rtt: Vec<f64>,
    filtered_client_rtt: Vec<f64>,
    filtered_kernel_rtt: Vec<f64>,
    best_of_8: Vec<f64>,
}

/// Users per simulated class (each class is aligned as a whole, as the product does).
const CLASS_USERS: usize = 50;

/// One timeline report as ReplayDesk would log it: the pair `intake` makes
/// (`time_line_for`: receipt − rtt/2, uncertainty rtt/2) or the seed's (receipt).
fn report_entry(
    uid: &str,
    seq: u64,
    client_ms: u64,
    receipt: i64,
    rtt: Option<(f64, RttSource)>,
) -> Entry {
    let (time_line, unc) = replaydesk::service::time_line_for(receipt, rtt.map(|r| r.0));
    Entry {
        im_msg_seq: None,
        received_ms: Some(receipt),
        received_exact: true,
        from: "administrator".into(),
        log_id: None,
        sent: true,
        recording_source: None,
        body: EntryBody::Protocol {
            msg: ReplayMessage::new(
                Seq::from_raw(seq),
                client_ms,
                Payload::Timeline {
                    time_line,
                    value: UserValue::new(uid),
                },
            ),
            time_line_missing: false,
            uncertainty_ms: unc,
            rtt_source: Some(rtt.map_or(RttSource::None, |r| r.1)),
        },
    }
}

/// Aligns one class's entries with ReplayDesk's own code and collects, for every pair,
/// where its client reading landed (`aligned_server_ms`) − where it truly was.
fn errors_of(
    entries: &[Entry],
    truth: &std::collections::HashMap<String, i64>,
    filter: bool,
    out: &mut Vec<f64>,
) {
    let mut entries = entries.to_vec();
    entries.sort_by_key(|e| e.received_ms);
    for (i, e) in entries.iter_mut().enumerate() {
        e.im_msg_seq = Some(i as u64 + 1);
    }
    let opts = AlignOptions {
        pair_filter_window_ms: if filter {
            AlignOptions::default().pair_filter_window_ms
        } else {
            0
        },
        ..AlignOptions::default()
    };
    let a = align(AlignSource::Log, None, None, &entries, &opts);
    for u in &a.users {
        let offset = truth[&u.uid];
        for s in &u.segments {
            out.push((s.aligned_server_ms - (s.client_ms as i64 + offset)) as f64);
        }
    }
}

/// Simulates `clients` clients, each reporting `reports` times `interval_ms` apart, in
/// classes of [`CLASS_USERS`]; every method's pairs are aligned by `align()` itself, so
/// the figures are the product's (the best-of-8 row excepted: a reference).
fn study(model: Model, clients: usize, reports: usize, interval_ms: i64, seed: u64) -> Errors {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut e = Errors::default();
    let mut next_seq = 1u64;
    for class in 0..clients.div_ceil(CLASS_USERS) {
        let mut truth = std::collections::HashMap::new();
        let (mut seed_l, mut client_l, mut kernel_l) = (Vec::new(), Vec::new(), Vec::new());
        for c in 0..CLASS_USERS.min(clients - class * CLASS_USERS) {
            let uid = format!("u{c}");
            let path = model.path(&mut rng);
            // The client's clock: server − client offset, a 32-bit reading.
            let offset = T0 - rng.random_range(0..u32::MAX as i64);
            truth.insert(uid.clone(), offset);
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
            let start = T0 + rng.random_range(0..interval_ms);
            for k in 0..reports {
                // The client reads its clock at true server time `t` and sends the report;
                // it arrives one uplink later.
                let t = start + k as i64 * interval_ms;
                let client_ms = (t - offset) as u64;
                let receipt = t + path.up(&mut rng).round() as i64;
                // The client timed a GET /v1/time just before and sends rtt_ms with it.
                let rtt = path.up(&mut rng) + path.down(&mut rng);
                let kernel = srtt.unwrap_or(0.0);
                next_seq += 1;
                seed_l.push(report_entry(&uid, next_seq, client_ms, receipt, None));
                client_l.push(report_entry(
                    &uid,
                    next_seq,
                    client_ms,
                    receipt,
                    Some((rtt, RttSource::Client)),
                ));
                kernel_l.push(report_entry(
                    &uid,
                    next_seq,
                    client_ms,
                    receipt,
                    Some((kernel, RttSource::Kernel)),
                ));
                for _ in 0..3 {
                    sample_srtt(&mut rng, &mut srtt);
                }
                // Reference: eight exchanges, the one with the smallest round trip; its
                // offset is server_ms − midpoint, off by half the difference of its legs.
                let best = (0..8)
                    .map(|_| (path.up(&mut rng), path.down(&mut rng)))
                    .min_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)))
                    .expect("eight exchanges");
                e.best_of_8.push((best.0 - best.1) / 2.0);
            }
        }
        errors_of(&seed_l, &truth, false, &mut e.seed);
        errors_of(&client_l, &truth, false, &mut e.client_rtt);
        errors_of(&kernel_l, &truth, false, &mut e.kernel_rtt);
        errors_of(&client_l, &truth, true, &mut e.filtered_client_rtt);
        errors_of(&kernel_l, &truth, true, &mut e.filtered_kernel_rtt);
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

fn accuracy(clients: usize, reports: usize, interval_s: i64) {
    println!(
        "accuracy study: {clients} clients × {reports} timeline reports {interval_s} s apart, \
         per model; |error| in ms of where align() puts a report's client reading"
    );
    println!(
        "| network | method | p50 ms | p99 ms | max ms | p99 vs seed |\n|---|---|---:|---:|---:|---:|"
    );
    for (i, model) in [Model::Asymmetric, Model::Independent]
        .into_iter()
        .enumerate()
    {
        let e = study(model, clients, reports, interval_s * 1000, 42 + i as u64);
        let (_, seed_p99, _) = quantiles(&e.seed);
        for (name, v) in [
            ("seed: time_line = receipt", &e.seed),
            (
                "ReplayDesk, each report alone: receipt − client rtt/2",
                &e.client_rtt,
            ),
            (
                "ReplayDesk, each report alone: receipt − kernel srtt/2",
                &e.kernel_rtt,
            ),
            (
                "ReplayDesk clock filter (default), client rtt",
                &e.filtered_client_rtt,
            ),
            (
                "ReplayDesk clock filter (default), kernel srtt",
                &e.filtered_kernel_rtt,
            ),
            ("reference only: best of 8 /v1/time exchanges", &e.best_of_8),
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

// ---- placement of recordings: which reading of media_start_time ----

/// How a simulated user's recording reports `media_start_time`, and how long its client
/// had been up (its clock's reading) when the class began.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RecordingCase {
    /// A pts on the client's clock (as the demo's clients send it), clock up for days.
    ClockLongUptime,
    /// The same, but the client rebooted a few minutes before the class: its clock reads
    /// as little as a stream offset does (the demo's `student_zhao`).
    ClockRebooted,
    /// An offset into the stream (a few seconds at most), clock up for days.
    OffsetLongUptime,
    /// An offset into the stream from a client that rebooted a few minutes before: both
    /// readings are small, so only the evidence tells them apart.
    OffsetRebooted,
}

impl RecordingCase {
    const ALL: [RecordingCase; 4] = [
        RecordingCase::ClockLongUptime,
        RecordingCase::ClockRebooted,
        RecordingCase::OffsetLongUptime,
        RecordingCase::OffsetRebooted,
    ];

    fn name(self) -> &'static str {
        match self {
            RecordingCase::ClockLongUptime => "client-clock pts, clock up for days",
            RecordingCase::ClockRebooted => "client-clock pts, client rebooted 20 s–10 min before",
            RecordingCase::OffsetLongUptime => "stream offset, clock up for days",
            RecordingCase::OffsetRebooted => "stream offset, client rebooted 20 s–10 min before",
        }
    }
}

/// Per case: |placed start − true start| in ms, with today's rule and with the rule
/// before the evidence (any value up to `client_clock_window_ms` read as a stream offset).
#[derive(Default)]
struct Placements {
    now: Vec<f64>,
    before: Vec<f64>,
}

/// Simulated 45-minute classes of `users` users, each user in one [`RecordingCase`] (in
/// turn), joining within the first minute, reporting its clock on joining and every five
/// minutes over an asymmetric path (so a clock reading is placed tens of ms off, as in the
/// accuracy study), and recorded from its first frame to the class's end; aligned by
/// `align()`.
fn placement_study(classes: usize, users: usize, seed: u64) -> Vec<(RecordingCase, Placements)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out: Vec<(RecordingCase, Placements)> = RecordingCase::ALL
        .iter()
        .map(|&c| (c, Placements::default()))
        .collect();
    let opts = AlignOptions::default();
    let class_ms: i64 = 45 * 60 * 1000;
    let mut seq = 1u64;
    for k in 0..classes {
        let start = T0 + k as i64 * 3_600_000;
        let end = start + class_ms;
        let mut entries: Vec<(i64, Entry)> = Vec::new();
        let mut truth = Vec::new();
        let mut proto = |at: i64, payload: Payload, ts: u64| {
            seq += 1;
            Entry {
                im_msg_seq: None,
                received_ms: Some(at),
                received_exact: true,
                from: "administrator".into(),
                log_id: None,
                sent: true,
                recording_source: None,
                body: EntryBody::Protocol {
                    msg: ReplayMessage::new(Seq::from_raw(seq), ts, payload),
                    time_line_missing: false,
                    uncertainty_ms: None,
                    rtt_source: None,
                },
            }
        };
        for u in 0..users {
            let case = RecordingCase::ALL[u % RecordingCase::ALL.len()];
            let uid = format!("u{u}");
            let join = start + rng.random_range(0..60_000);
            // The client's clock reading at the class's start.
            let at_start: i64 = match case {
                RecordingCase::ClockRebooted | RecordingCase::OffsetRebooted => {
                    rng.random_range(20_000..600_000)
                }
                _ => rng.random_range(700_000..u32::MAX as i64 - 10_000_000),
            };
            let client = |server: i64| (at_start + (server - start)) as u64;
            if u == 0 {
                entries.push((
                    start,
                    proto(
                        start,
                        Payload::ClassStart(UserValue::new(&uid)),
                        client(start),
                    ),
                ));
                entries.push((
                    end,
                    proto(end, Payload::ClassEnd(UserValue::new(&uid)), client(end)),
                ));
            }
            // Reports over a path of 20–150 ms each way (the asymmetric model's jitter).
            let path = Model::Asymmetric.path(&mut rng);
            let mut r = join;
            while r < end {
                let receipt = r + path.up(&mut rng).round() as i64;
                let rtt = path.up(&mut rng) + path.down(&mut rng);
                let e = report_entry(&uid, 0, client(r), receipt, Some((rtt, RttSource::Client)));
                entries.push((receipt, e));
                r += 300_000;
            }
            // The first frame arrives a little after joining; the recorder started up to
            // 2 s before it (start_time is whole seconds).
            let first_frame = join + rng.random_range(500..3_000);
            let (start_time, media_start_time) = match case {
                RecordingCase::ClockLongUptime | RecordingCase::ClockRebooted => {
                    let recorder = first_frame - rng.random_range(0..2_000);
                    (recorder.div_euclid(1000), client(first_frame) as i64)
                }
                RecordingCase::OffsetLongUptime | RecordingCase::OffsetRebooted => {
                    let recorder_s = (first_frame - rng.random_range(200..3_000)).div_euclid(1000);
                    (recorder_s, first_frame - recorder_s * 1000)
                }
            };
            let v = RecordingValue {
                uid: uid.clone(),
                start_time,
                end_time: end / 1000,
                media_start_time,
                file_size: 1,
                duration: end / 1000 - start_time,
                video_id: format!("v{k}-{u}"),
                video_url: "https://v.invalid/f.mp4".into(),
                ..RecordingValue::default()
            };
            entries.push((
                end + 5_000,
                proto(end + 5_000, Payload::Recording(v), (end / 1000) as u64),
            ));
            truth.push((uid, case, first_frame));
        }
        entries.sort_by_key(|(t, _)| *t);
        let entries: Vec<Entry> = entries
            .into_iter()
            .enumerate()
            .map(|(i, (_, mut e))| {
                e.im_msg_seq = Some(i as u64 + 1);
                e
            })
            .collect();
        let a = align(AlignSource::Log, None, None, &entries, &opts);
        for (uid, case, first_frame) in truth {
            let r = a.recordings.iter().find(|r| r.uid == uid).expect("placed");
            // Before: any value within the window was an offset into the stream.
            let before = if r.media_start_time <= opts.client_clock_window_ms {
                r.by_stream_offset_ms
            } else {
                match r.by_client_clock_ms {
                    Some(c) if (c - r.start_time * 1000).abs() <= opts.client_clock_window_ms => c,
                    _ => r.by_stream_offset_ms,
                }
            };
            let slot = &mut out.iter_mut().find(|(c, _)| *c == case).expect("case").1;
            slot.now.push((r.start_ms - first_frame) as f64);
            slot.before.push((before - first_frame) as f64);
        }
    }
    out
}

fn placements(classes: usize) {
    println!(
        "\nplacement study: {classes} classes × 12 users, 3 per case; |placed start − true first frame| in ms, and how many were placed more than 1 s off"
    );
    println!(
        "| media_start_time | rule | p50 ms | p99 ms | max ms | > 1 s off |\n|---|---|---:|---:|---:|---:|"
    );
    for (case, p) in placement_study(classes, 12, 11) {
        for (rule, v) in [
            ("before: any value ≤ 600 s is an offset", &p.before),
            ("now: the reading the evidence supports", &p.now),
        ] {
            let (p50, p99, max) = quantiles(v);
            let off = v.iter().filter(|e| e.abs() > 1_000.0).count();
            println!(
                "| {} | {rule} | {p50:.0} | {p99:.0} | {max:.0} | {off} of {} |",
                case.name(),
                v.len()
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
            recording_source: None,
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
                recording_source: None,
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
            env_usize("BENCH_INTERVAL_S", 30) as i64,
        );
        placements(env_usize("BENCH_CLASSES", 500));
        speed();
    } else {
        accuracy(20, 5, 30);
        placements(8);
    }
}
