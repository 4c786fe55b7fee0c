//! Tracking one member's clock from its heartbeats, in the spirit of NTP: each heartbeat is
//! a sample (the client's reading, the server time estimated for it, and how far that may
//! be off: half the round trip), the best sample (the shortest round trip) of each stretch
//! of time is kept, and a line through the kept samples of a window gives the clock's
//! offset from the server and its drift. A sample far off the line, confirmed by the next
//! one, is a jump (a reboot, a sleep, a 32-bit wrap, a clock set by hand): the clock starts
//! a new run and its history is dropped.
//!
//! Pure: no store, no clock of its own; the caller gives every time.

use std::collections::VecDeque;

/// One heartbeat as the tracker needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The client's clock reading the heartbeat carried (`timestamp`).
    pub client_ms: u64,
    /// The server time estimated for that reading (arrival − half the round trip, as a
    /// timeline report's `time_line`).
    pub server_ms: i64,
    /// Half the measured round trip (how far `server_ms` may be off); `None` when no
    /// round trip is known (`server_ms` is then the arrival, late by the one-way delay).
    pub half_rtt_ms: Option<f64>,
}

impl Sample {
    /// Server time minus client time: what the client's clock must be moved by.
    fn offset(&self) -> f64 {
        self.server_ms as f64 - self.client_ms as f64
    }

    /// How far the sample's offset may be off; one with no round trip counts as
    /// [`TrackConfig::unmeasured_ms`].
    fn error(&self, cfg: &TrackConfig) -> f64 {
        self.half_rtt_ms.unwrap_or(cfg.unmeasured_ms)
    }

    /// When the heartbeat arrived: its server time plus the half round trip taken off it.
    fn arrival(&self) -> f64 {
        self.server_ms as f64 + self.half_rtt_ms.unwrap_or(0.0)
    }

    /// Whether `self` arrived faster than `other` (the minimum-delay rule, as NTP's clock
    /// filter): the smaller arrival − client reading is the shorter uplink delay, whether or
    /// not a round trip was measured (the round trip a heartbeat carries is the previous
    /// one's, so it says little about this one's delay).
    fn faster_than(&self, other: &Sample) -> bool {
        self.arrival() - (self.client_ms as f64) < other.arrival() - (other.client_ms as f64)
    }
}

/// The best sample of a stretch of time: the fastest arrival, less the smallest half
/// round trip measured in the stretch.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    index: i64,
    fastest: Sample,
    min_half: Option<f64>,
}

impl Bucket {
    fn new(index: i64, s: Sample) -> Self {
        Self {
            index,
            fastest: s,
            min_half: s.half_rtt_ms,
        }
    }

    fn add(&mut self, s: Sample) {
        if s.faster_than(&self.fastest) {
            self.fastest = s;
        }
        self.min_half = match (self.min_half, s.half_rtt_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn point(&self) -> Sample {
        let half = self.min_half;
        Sample {
            client_ms: self.fastest.client_ms,
            server_ms: (self.fastest.arrival() - half.unwrap_or(0.0)).round() as i64,
            half_rtt_ms: half,
        }
    }
}

/// What a resumed track starts from: a persisted summary of the line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resume {
    pub run: u32,
    /// The newest sample's client reading.
    pub last_client_ms: u64,
    /// Server minus client at that reading, ms.
    pub offset_ms: f64,
    pub drift_ppm: f64,
    pub uncertainty_ms: f64,
    /// Server time of the oldest sample the line rested on (`None`: unknown; the line is
    /// laid over `min_drift_span_ms`).
    pub line_from_ms: Option<i64>,
}

/// The tracker's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackConfig {
    /// Each stretch of this many ms of server time keeps its best sample.
    pub bucket_ms: i64,
    /// Kept samples older than this (server ms before the newest) are dropped: the drift is
    /// estimated over this window.
    pub window_ms: i64,
    /// Below this span of kept samples, no drift is estimated (the line would follow the
    /// network's noise, not the crystal).
    pub min_drift_span_ms: i64,
    /// A sample this many ms off the line (beyond both samples' own error) is a suspected
    /// jump.
    pub jump_ms: f64,
    /// The error assumed for a sample without a measured round trip.
    pub unmeasured_ms: f64,
}

impl Default for TrackConfig {
    fn default() -> Self {
        Self {
            bucket_ms: 15_000,
            window_ms: 600_000,
            min_drift_span_ms: 60_000,
            jump_ms: 100.0,
            unmeasured_ms: 250.0,
        }
    }
}

/// What the clock looks like now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Server minus client, ms, at `at_server_ms`.
    pub offset_ms: f64,
    /// How fast the offset moves, parts per million (positive: the client's clock is slow).
    pub drift_ppm: f64,
    /// How far `offset_ms` may be off, ms: the best sample's half round trip at most (a
    /// path's asymmetry is part of it and cannot be seen).
    pub uncertainty_ms: f64,
    /// How much the kept samples scatter about the line, ms (rms): how well a change of
    /// the offset can be told from noise (the asymmetry, being constant, cancels out).
    pub noise_ms: f64,
    /// The server time the estimate is for.
    pub at_server_ms: i64,
    /// How many kept samples it rests on.
    pub samples: usize,
}

impl Estimate {
    /// The server time of the client reading `client_ms` taken near `at_server_ms`.
    pub fn server_ms_of(&self, client_ms: u64) -> i64 {
        (client_ms as f64 + self.offset_ms).round() as i64
    }
}

/// What one heartbeat did to the track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observed {
    /// The first sample of the clock.
    First,
    /// On the line (or an outlier not confirmed yet as a jump).
    Tracked,
    /// Off the line; held until the next sample says whether the clock jumped.
    Suspect,
    /// The clock jumped by about `delta_ms` (server minus client moved by that much): a
    /// new run starts with this sample and the one that raised the suspicion.
    Jump { delta_ms: i64 },
}

/// One member's clock, tracked.
#[derive(Debug, Clone)]
pub struct ClockTrack {
    cfg: TrackConfig,
    /// Kept samples, the best of each bucket, oldest first.
    kept: VecDeque<Sample>,
    /// The bucket in progress.
    bucket: Option<Bucket>,
    suspect: Option<Sample>,
    run: u32,
    /// Server time of the first sample of the current run.
    run_started_ms: Option<i64>,
    samples_in_run: u64,
    last: Option<Sample>,
}

impl ClockTrack {
    pub fn new(cfg: TrackConfig) -> Self {
        Self {
            cfg,
            kept: VecDeque::new(),
            bucket: None,
            suspect: None,
            run: 0,
            run_started_ms: None,
            samples_in_run: 0,
            last: None,
        }
    }

    /// A track resumed from a persisted summary (a node restarted, or another took the
    /// member over): the line it described (`offset_ms` at the newest sample's client
    /// reading, `drift_ppm`, `uncertainty_ms`) stands in for the kept samples as points on
    /// it, one per stretch back over the stretch the line rested on (as the track kept
    /// them, so the line weighs as it did), so the next heartbeats are
    /// judged against the line at once instead of after a new window's worth of them. The
    /// run keeps its number; its start is unknown (a jump before it is found by the size of
    /// the move, [`JUMP_SCALE_MS`]).
    pub fn resume(cfg: TrackConfig, r: Resume) -> Self {
        let mut t = Self::new(cfg);
        t.run = r.run;
        let step = t.cfg.bucket_ms.max(1);
        let last_server = r.last_client_ms as f64 + r.offset_ms;
        let span = r.line_from_ms.map_or(t.cfg.min_drift_span_ms, |f| {
            (last_server.round() as i64 - f).clamp(0, t.cfg.window_ms - step)
        });
        let stretches = span / step;
        for k in (0..=stretches).rev() {
            let server = last_server - (k * step) as f64;
            let offset = r.offset_ms - r.drift_ppm * 1e-6 * (k * step) as f64;
            let client = server - offset;
            if client < 0.0 {
                continue;
            }
            let sample = Sample {
                client_ms: client.round() as u64,
                server_ms: server.round() as i64,
                half_rtt_ms: Some(r.uncertainty_ms.max(0.0)),
            };
            t.samples_in_run += 1;
            t.last = Some(sample);
            if k == 0 {
                t.bucket = Some(Bucket::new(sample.server_ms.div_euclid(step), sample));
            } else {
                t.kept.push_back(sample);
            }
        }
        t
    }

    /// The current run: 0 until the first jump, one more after each.
    pub fn run(&self) -> u32 {
        self.run
    }

    /// Server time of the current run's first sample.
    pub fn run_started_ms(&self) -> Option<i64> {
        self.run_started_ms
    }

    /// How many samples the current run has taken.
    pub fn samples_in_run(&self) -> u64 {
        self.samples_in_run
    }

    /// The newest sample taken into the track (not a suspect).
    pub fn last(&self) -> Option<Sample> {
        self.last
    }

    /// Server time of the oldest sample the line rests on.
    pub fn line_from_ms(&self) -> Option<i64> {
        self.candidates().next().map(|s| s.server_ms)
    }

    /// Whether a sample is held as a suspected jump.
    pub fn suspect(&self) -> bool {
        self.suspect.is_some()
    }

    fn candidates(&self) -> impl Iterator<Item = Sample> + '_ {
        self.kept
            .iter()
            .copied()
            .chain(self.bucket.as_ref().map(Bucket::point))
    }

    /// The offset, drift and uncertainty at server time `at`, once there is a sample.
    pub fn estimate(&self, at: i64) -> Option<Estimate> {
        let pts: Vec<Sample> = self.candidates().collect();
        let first = pts.first()?;
        let last = pts.last()?;
        let span = last.server_ms - first.server_ms;
        let best_err = pts
            .iter()
            .map(|s| s.error(&self.cfg))
            .fold(f64::INFINITY, f64::min);
        if pts.len() < 3 || span < self.cfg.min_drift_span_ms {
            // Too short for a slope: the fastest sample's offset, its own error.
            let best = pts
                .iter()
                .fold(first, |b, s| if s.faster_than(b) { s } else { b });
            let mean = pts.iter().map(Sample::offset).sum::<f64>() / pts.len() as f64;
            let spread = pts.iter().map(|s| (s.offset() - mean).powi(2)).sum::<f64>();
            return Some(Estimate {
                offset_ms: best.offset(),
                drift_ppm: 0.0,
                uncertainty_ms: best.error(&self.cfg),
                noise_ms: (spread / pts.len() as f64).sqrt(),
                at_server_ms: at,
                samples: pts.len(),
            });
        }
        // Weighted least squares, times centred on the newest sample for precision; each
        // sample weighs by the inverse square of its error (a short round trip counts most).
        let t0 = last.server_ms;
        let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let base = last.offset();
        for s in &pts {
            let w = 1.0 / (s.error(&self.cfg) + 1.0).powi(2);
            let x = (s.server_ms - t0) as f64;
            let y = s.offset() - base;
            sw += w;
            sx += w * x;
            sy += w * y;
            sxx += w * x * x;
            sxy += w * x * y;
        }
        let den = sw * sxx - sx * sx;
        let slope = if den.abs() > f64::EPSILON {
            (sw * sxy - sx * sy) / den
        } else {
            0.0
        };
        let intercept = (sy - slope * sx) / sw;
        let resid = pts
            .iter()
            .map(|s| {
                let x = (s.server_ms - t0) as f64;
                (s.offset() - base - (intercept + slope * x)).powi(2)
            })
            .sum::<f64>()
            / pts.len() as f64;
        Some(Estimate {
            offset_ms: base + intercept + slope * (at - t0) as f64,
            drift_ppm: slope * 1e6,
            uncertainty_ms: best_err.min(resid.sqrt() + best_err / (pts.len() as f64).sqrt()),
            noise_ms: resid.sqrt(),
            at_server_ms: at,
            samples: pts.len(),
        })
    }

    /// Takes one heartbeat.
    pub fn observe(&mut self, s: Sample) -> Observed {
        let Some(est) = self.estimate(s.server_ms) else {
            self.start_run(s, None);
            return Observed::First;
        };
        let tolerance = self.cfg.jump_ms + s.error(&self.cfg) + est.uncertainty_ms;
        let off_line = (s.offset() - est.offset_ms).abs() > tolerance
            || self.last.is_some_and(|l| s.client_ms < l.client_ms);
        if !off_line {
            // Back on the line: a held suspect was a late packet, not a jump.
            self.suspect = None;
            self.take(s);
            return Observed::Tracked;
        }
        match self.suspect.take() {
            Some(prev) => {
                let agree = (s.offset() - prev.offset()).abs()
                    <= self.cfg.jump_ms + s.error(&self.cfg) + prev.error(&self.cfg)
                    && s.client_ms >= prev.client_ms;
                if agree {
                    let delta = (prev.offset() - est.offset_ms).round() as i64;
                    self.start_run(prev, Some(s));
                    Observed::Jump { delta_ms: delta }
                } else {
                    // Two outliers that disagree: keep the newer as the suspect.
                    self.suspect = Some(s);
                    Observed::Suspect
                }
            }
            None => {
                self.suspect = Some(s);
                Observed::Suspect
            }
        }
    }

    fn start_run(&mut self, first: Sample, second: Option<Sample>) {
        // A run follows another when the track took a sample before (a resumed track too).
        if self.last.is_some() {
            self.run += 1;
        }
        self.kept.clear();
        self.bucket = None;
        self.suspect = None;
        self.samples_in_run = 0;
        self.run_started_ms = Some(first.server_ms);
        self.take(first);
        if let Some(s) = second {
            self.take(s);
        }
    }

    fn take(&mut self, s: Sample) {
        self.samples_in_run += 1;
        self.last = Some(s);
        let b = s.server_ms.div_euclid(self.cfg.bucket_ms.max(1));
        match &mut self.bucket {
            Some(cur) if cur.index == b => cur.add(s),
            Some(cur) if cur.index < b => {
                self.kept.push_back(cur.point());
                self.bucket = Some(Bucket::new(b, s));
            }
            // A sample from an earlier bucket (arrived out of order): the line stays on
            // the samples in order.
            Some(_) => {}
            None => self.bucket = Some(Bucket::new(b, s)),
        }
        let horizon = s.server_ms - self.cfg.window_ms;
        while self.kept.front().is_some_and(|k| k.server_ms < horizon) {
            self.kept.pop_front();
        }
    }
}

/// A move of the offset this large is a jump, whatever the track's runs say (the clock
/// jumped before the track began: a node restarted, a member back after a long absence).
pub const JUMP_SCALE_MS: f64 = 1_000.0;

/// Why a member's last timeline pair no longer stands for its tracked clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The member never had a pair.
    First,
    /// The clock jumped since the pair.
    Jump,
    /// The tracked offset moved more than the bound from the pair's.
    Drift,
}

/// Whether the member's last pair (`anchor`: client reading, server ms) still stands for
/// the tracked clock; if not, why not and how far the offset moved (ms). A drift counts
/// only once the line rests on a few kept samples and the move stands well out of their
/// scatter (three times the line's own standard error): noise is not drift.
pub fn reanchor_due(
    anchor: Option<(u64, i64)>,
    track: &ClockTrack,
    bound_ms: f64,
) -> Option<(Due, Option<f64>)> {
    let last = track.last()?;
    let est = track.estimate(last.server_ms)?;
    let Some((client_ms, server_ms)) = anchor else {
        return Some((Due::First, None));
    };
    let moved = est.offset_ms - (server_ms as f64 - client_ms as f64);
    let jumped_since = track.run() > 0 && track.run_started_ms().is_some_and(|s| server_ms < s);
    if jumped_since || moved.abs() >= JUMP_SCALE_MS {
        return Some((Due::Jump, Some(moved)));
    }
    let standard_error = est.noise_ms / (est.samples as f64).sqrt();
    if moved.abs() > bound_ms && est.samples >= 3 && moved.abs() > 3.0 * standard_error {
        return Some((Due::Drift, Some(moved)));
    }
    None
}

#[cfg(test)]
mod tests;
