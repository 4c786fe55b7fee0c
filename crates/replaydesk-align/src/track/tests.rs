use super::*;
use proptest::prelude::*;

const T0: i64 = 1_765_000_000_000;

/// A simulated client: its clock starts at `c0` and runs `ppm` slow (positive) or fast.
struct Sim {
    c0: u64,
    ppm: f64,
}

impl Sim {
    fn client_at(&self, t: i64) -> u64 {
        let dt = (t - T0) as f64;
        self.c0 + (dt * (1.0 - self.ppm * 1e-6)).round() as u64
    }

    fn true_offset(&self, t: i64) -> f64 {
        t as f64 - self.client_at(t) as f64
    }

    /// The heartbeat stamped at server time `t`, going up in `up` ms and its answer coming
    /// back in `down` ms (so the client measures `up + down`).
    fn sample(&self, t: i64, up: f64, down: f64) -> Sample {
        let arrival = t as f64 + up;
        let rtt = up + down;
        Sample {
            client_ms: self.client_at(t),
            server_ms: (arrival - rtt / 2.0).round() as i64,
            half_rtt_ms: Some(rtt / 2.0),
        }
    }
}

fn delays(seed: u64, n: usize, jitter: f64) -> Vec<(f64, f64)> {
    // A small deterministic generator: the strategy picks the seed.
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f64 / 10_000.0
    };
    (0..n)
        .map(|_| (5.0 + next() * jitter, 5.0 + next() * jitter))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A drifting clock over symmetric jittery paths is tracked to within the paths' jitter,
    /// its drift found, and no jump is ever reported.
    #[test]
    fn a_drifting_clock_is_tracked_without_false_jumps(
        ppm in -100.0f64..100.0,
        c0 in 0u64..1_000_000_000,
        jitter in 0.0f64..40.0,
        seed in any::<u64>(),
    ) {
        let sim = Sim { c0, ppm };
        let mut track = ClockTrack::new(TrackConfig::default());
        let n = 600; // 30 minutes of heartbeats every 3 s
        for (i, (up, down)) in delays(seed, n, jitter).into_iter().enumerate() {
            let t = T0 + i as i64 * 3_000;
            let o = track.observe(sim.sample(t, up, down));
            prop_assert!(!matches!(o, Observed::Jump { .. }), "false jump at {i}: {o:?}");
        }
        let end = T0 + (n as i64 - 1) * 3_000;
        let est = track.estimate(end).unwrap();
        let err = (est.offset_ms - sim.true_offset(end)).abs();
        prop_assert!(err <= jitter / 2.0 + 2.0, "offset off by {err} ms (jitter {jitter})");
        prop_assert!((est.drift_ppm - ppm).abs() <= 5.0 + jitter, "drift {} vs {ppm}", est.drift_ppm);
        prop_assert_eq!(track.run(), 0);
    }

    /// A clock that jumps (reboot, sleep, wrap) is found to have jumped once, within two
    /// heartbeats, and is tracked again from there.
    #[test]
    fn a_jump_is_found_once_and_tracked_after(
        ppm in -100.0f64..100.0,
        at in 5usize..200,
        jump in prop_oneof![-2_000_000_000i64..-1_000, 1_000i64..2_000_000_000],
        seed in any::<u64>(),
    ) {
        let before = Sim { c0: 3_000_000_000, ppm };
        let jitter = 10.0;
        let dt_at = (at as i64 * 3_000) as f64;
        let after = Sim {
            c0: (before.client_at(T0 + at as i64 * 3_000) as i64 + jump
                - (dt_at * (1.0 - ppm * 1e-6)).round() as i64) as u64,
            ppm,
        };
        let mut track = ClockTrack::new(TrackConfig::default());
        let mut found = Vec::new();
        for (i, (up, down)) in delays(seed, 300, jitter).into_iter().enumerate() {
            let t = T0 + i as i64 * 3_000;
            let s = if i < at { before.sample(t, up, down) } else { after.sample(t, up, down) };
            if let Observed::Jump { delta_ms } = track.observe(s) {
                found.push((i, delta_ms));
            }
        }
        prop_assert_eq!(found.len(), 1, "jumps found: {:?}", found);
        let (i, delta) = found[0];
        prop_assert!(i == at + 1, "found at {i}, jumped at {at}");
        prop_assert!((delta + jump).abs() <= 50, "delta {delta} for a jump of {jump}");
        prop_assert_eq!(track.run(), 1);
        let end = T0 + 299 * 3_000;
        let err = (track.estimate(end).unwrap().offset_ms - after.true_offset(end)).abs();
        prop_assert!(err <= jitter / 2.0 + 2.0, "offset after the jump off by {err}");
    }

    /// One heartbeat held up in the network (its round trip measured before, so not known
    /// to be late) is not a jump.
    #[test]
    fn one_late_heartbeat_is_not_a_jump(late in 150.0f64..30_000.0, at in 3usize..100, seed in any::<u64>()) {
        let sim = Sim { c0: 42, ppm: 30.0 };
        let mut track = ClockTrack::new(TrackConfig::default());
        for (i, (up, down)) in delays(seed, 120, 10.0).into_iter().enumerate() {
            let t = T0 + i as i64 * 3_000;
            let mut s = sim.sample(t, up, down);
            if i == at {
                s.server_ms += late.round() as i64;
            }
            let o = track.observe(s);
            prop_assert!(!matches!(o, Observed::Jump { .. }), "a jump at {}: {:?}", i, o);
        }
        prop_assert_eq!(track.run(), 0);
    }
}

#[test]
fn unmeasured_samples_take_the_shortest_delay() {
    let mut track = ClockTrack::new(TrackConfig::default());
    for (i, delay) in [40, 12, 30, 55].into_iter().enumerate() {
        track.observe(Sample {
            client_ms: 1_000 + i as u64 * 1_000,
            server_ms: T0 + i as i64 * 1_000 + delay,
            half_rtt_ms: None,
        });
    }
    let est = track.estimate(T0 + 3_000).unwrap();
    assert_eq!(est.offset_ms, (T0 - 1_000 + 12) as f64);
    assert_eq!(est.uncertainty_ms, TrackConfig::default().unmeasured_ms);
}

#[test]
fn a_resumed_track_keeps_its_line_and_finds_the_drift_without_a_new_window() {
    // 80 ppm slow, tracked for ten minutes, then summarised and resumed elsewhere.
    let sim = Sim {
        c0: 5_000_000,
        ppm: 80.0,
    };
    let mut full = ClockTrack::new(TrackConfig::default());
    let mut t = T0;
    while t < T0 + 600_000 {
        full.observe(sim.sample(t, 10.0, 10.0));
        t += 3_000;
    }
    let last = full.last().unwrap();
    let est = full.estimate(last.server_ms).unwrap();
    let mut resumed = ClockTrack::resume(
        TrackConfig::default(),
        Resume {
            run: full.run(),
            last_client_ms: last.client_ms,
            offset_ms: est.offset_ms.round(),
            drift_ppm: est.drift_ppm,
            uncertainty_ms: est.uncertainty_ms.ceil(),
            line_from_ms: full.line_from_ms(),
        },
    );
    let r = resumed.estimate(last.server_ms).unwrap();
    assert!(
        (r.offset_ms - est.offset_ms).abs() <= 1.0,
        "{r:?} vs {est:?}"
    );
    assert!(
        (r.drift_ppm - est.drift_ppm).abs() <= 2.0,
        "{r:?} vs {est:?}"
    );
    // Both take the same next heartbeats and agree on when the offset has moved 20 ms
    // from the line at the summary.
    let anchor = (last.client_ms, last.server_ms);
    let (mut due_full, mut due_resumed) = (None, None);
    while t < T0 + 1_200_000 && (due_full.is_none() || due_resumed.is_none()) {
        let s = sim.sample(t, 10.0, 10.0);
        assert_eq!(resumed.observe(s), Observed::Tracked);
        full.observe(s);
        if due_full.is_none() && reanchor_due(Some(anchor), &full, 20.0).is_some() {
            due_full = Some(t);
        }
        if due_resumed.is_none() && reanchor_due(Some(anchor), &resumed, 20.0).is_some() {
            due_resumed = Some(t);
        }
        t += 3_000;
    }
    let (f, r) = (due_full.unwrap(), due_resumed.unwrap());
    assert!((f - r).abs() <= 3 * 3_000, "full at {f}, resumed at {r}");
    assert_eq!(resumed.run(), 0);
}
