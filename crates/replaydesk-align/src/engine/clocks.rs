//! Each user's clock on the server axis: the timeline pairs that tie its readings to server
//! time, its width (32 or 64 bits), the jumps between pairs, the clock filter, and the
//! segments the answer shows. Events and recordings find their server time through
//! `UserState::map`.

use super::findings::Findings;
use super::msg_ref;
use crate::diagnostics::DiagnosticCode;
use crate::input::{Entry, EntryBody};
use crate::types::*;
use replaydesk_protocol::{client_delta_ms_with, ClockWidth, Payload};
use std::collections::{BTreeMap, HashMap};

/// Uncertainty of a pair made from IM `MsgTimeStamp`: the stamp is whole seconds (±500 ms
/// around the middle of the second) plus the report's network delay, unknown: "about a second".
const IM_TIMESTAMP_UNCERTAINTY_MS: i64 = 1_000;

pub(super) struct Pair {
    pub(super) entry: usize,
    pub(super) client_ms: u64,
    pub(super) server_ms: i64,
    /// Where the clock filter puts `client_ms` (see `filter_pairs`); `server_ms` until then.
    pub(super) aligned_ms: i64,
    pub(super) uncertainty_ms: Option<i64>,
    pub(super) precision: PairPrecision,
    pub(super) rtt_source: Option<RttSource>,
}

pub(super) struct UserState {
    pub(super) width: ClockWidth,
    /// In server-time order.
    pub(super) pairs: Vec<Pair>,
    /// Per pair: whether a clock jump lies between it and the pair before (a new clock run
    /// starts there). Filled by `user_clocks`; all false until then.
    pub(super) jump_before: Vec<bool>,
}

/// The fastest a clock can drift from the server's and still be one clock run read by two
/// pairs: a quartz crystal is off by at most a few hundred ppm (temperature included), so
/// two pairs implying more disagree by their noise or by a step the jump rule let pass,
/// and the clock is held rather than drawn between them.
const MAX_DRIFT_PPM: i64 = 2_000;

/// A pair's drift is only trusted for extrapolation over a span that long at least: a
/// shorter one turns the pairs' uncertainty into a rate.
const MIN_EXTRAPOLATION_BASE_MS: i64 = 60_000;

impl UserState {
    /// Where the client reading `client_ms` lands on the server axis by pair `seg`.
    pub(super) fn map(&self, seg: usize, client_ms: u64) -> i64 {
        let p = &self.pairs[seg];
        p.aligned_ms
            .saturating_add(client_delta_ms_with(self.width, p.client_ms, client_ms))
    }

    /// Where the client reading `client_ms` lands on the server axis from pair `seg`, with
    /// the clock's drift: between pair `seg` and the next one of the same clock run, on the
    /// line through the two (linear interpolation of the offset in client time); after the
    /// last pair, on the line through the last two when both are tracked estimates
    /// (heartbeat pairs, `RttSource::Heartbeat`) of one run far enough apart; otherwise
    /// with pair `seg`'s offset held (`map`). Outside the two pairs (before the first, or
    /// past the next in the group's order) the line is only followed when the pairs are
    /// `MIN_EXTRAPOLATION_BASE_MS` apart or more. A line is only drawn when the two pairs imply
    /// a drift a clock can have (`MAX_DRIFT_PPM`).
    pub(super) fn place(&self, seg: usize, client_ms: u64) -> i64 {
        let held = self.map(seg, client_ms);
        let p = &self.pairs[seg];
        let same_run = |k: usize| self.jump_before.get(k).is_some_and(|j| !*j);
        let line = if seg + 1 < self.pairs.len() && same_run(seg + 1) {
            Some((seg, seg + 1))
        } else if seg + 1 == self.pairs.len()
            && seg > 0
            && same_run(seg)
            && p.rtt_source == Some(RttSource::Heartbeat)
            && self.pairs[seg - 1].rtt_source == Some(RttSource::Heartbeat)
        {
            Some((seg - 1, seg))
        } else {
            None
        };
        let Some((a, b)) = line else { return held };
        let (pa, pb) = (&self.pairs[a], &self.pairs[b]);
        let span = client_delta_ms_with(self.width, pa.client_ms, pb.client_ms);
        // From pair `seg` on, in the client's time.
        let from_seg = client_delta_ms_with(self.width, p.client_ms, client_ms);
        let from_a = client_delta_ms_with(self.width, pa.client_ms, client_ms);
        let between = (0..=span).contains(&from_a);
        if span <= 0 || (!between && span < MIN_EXTRAPOLATION_BASE_MS) {
            return held;
        }
        // How far the offset moved from a to b.
        let moved = (pb.aligned_ms - pa.aligned_ms) - span;
        if moved.unsigned_abs() as i128 * 1_000_000 > span as i128 * MAX_DRIFT_PPM as i128 {
            return held;
        }
        // The offset at `client_ms`, moving on from pair `seg`'s.
        let extra = (moved as i128 * from_seg as i128 / span as i128) as i64;
        held.saturating_add(extra)
    }

    /// The pair in force for an event at entry `idx`: the latest pair before it in the
    /// group, else the first (extrapolating backwards).
    pub(super) fn segment_for_entry(&self, idx: usize) -> usize {
        let n = self.pairs.partition_point(|p| p.entry < idx);
        n.saturating_sub(1)
    }

    /// The pair in force at server time `t`.
    pub(super) fn segment_at(&self, t: i64) -> usize {
        self.pairs
            .partition_point(|p| p.server_ms <= t)
            .saturating_sub(1)
    }
}

/// Every user's pairs (sorted by server time) and clock width, by uid.
pub(super) fn read_pairs(entries: &[Entry], reference_shaped: bool) -> BTreeMap<String, UserState> {
    let mut users: BTreeMap<String, UserState> = BTreeMap::new();
    // Per uid: whether any of its clock readings needs more than 32 bits (all a clock's
    // width depends on; `ClockWidth::infer`), keyed by the entries' own strings.
    let mut wide: HashMap<&str, bool> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        match &e.body {
            EntryBody::Protocol {
                msg,
                time_line_missing,
                uncertainty_ms,
                rtt_source,
            } => {
                let uid = msg.payload.uid();
                let pair = match &msg.payload {
                    Payload::Timeline { time_line, .. } if !time_line_missing => Some(Pair {
                        entry: i,
                        client_ms: msg.timestamp,
                        server_ms: *time_line,
                        aligned_ms: *time_line,
                        uncertainty_ms: *uncertainty_ms,
                        precision: match (uncertainty_ms, rtt_source) {
                            (
                                Some(_),
                                Some(RttSource::Client | RttSource::Kernel | RttSource::Heartbeat),
                            )
                            | (Some(_), None) => PairPrecision::Measured,
                            _ => PairPrecision::TimeLine,
                        },
                        rtt_source: *rtt_source,
                    }),
                    Payload::Timeline { .. } => im_pair(i, e, msg.timestamp),
                    Payload::ClassStart(_) if reference_shaped => im_pair(i, e, msg.timestamp),
                    _ => None,
                };
                if let Some(p) = pair {
                    users
                        .entry(uid.to_owned())
                        .or_insert_with(|| UserState {
                            width: ClockWidth::Bits32,
                            pairs: Vec::new(),
                            jump_before: Vec::new(),
                        })
                        .pairs
                        .push(p);
                }
                if matches!(
                    msg.payload,
                    Payload::ClassStart(_) | Payload::ClassEnd(_) | Payload::Timeline { .. }
                ) {
                    *wide.entry(uid).or_default() |= msg.timestamp > u64::from(u32::MAX);
                }
            }
            EntryBody::Whiteboard {
                client_ms: Some(t), ..
            } => *wide.entry(e.from.as_str()).or_default() |= *t > u64::from(u32::MAX),
            _ => {}
        }
    }
    for (uid, u) in users.iter_mut() {
        u.width = if wide.get(uid.as_str()).copied().unwrap_or(false) {
            ClockWidth::Bits64
        } else {
            ClockWidth::Bits32
        };
        u.pairs.sort_by_key(|p| (p.server_ms, p.entry));
        u.jump_before = vec![false; u.pairs.len()];
    }
    users
}

/// A pair from the IM service's receipt stamp (no `time_line`): the middle of its second.
fn im_pair(entry: usize, e: &Entry, client_ms: u64) -> Option<Pair> {
    let r = e.received_ms?;
    Some(Pair {
        entry,
        client_ms,
        server_ms: if e.received_exact { r } else { r + 500 },
        aligned_ms: if e.received_exact { r } else { r + 500 },
        uncertainty_ms: Some(IM_TIMESTAMP_UNCERTAINTY_MS),
        precision: PairPrecision::ImTimestamp,
        rtt_source: None,
    })
}

/// Each user's clock as the answer shows it, one segment per pair, with the findings about
/// its pairs. Moves every pair's `aligned_ms` to where the clock filter puts it: the
/// recordings and events are placed from there.
pub(super) fn user_clocks(
    users: &mut BTreeMap<String, UserState>,
    entries: &[Entry],
    opts: &AlignOptions,
    f: &mut Findings,
) -> Vec<UserClock> {
    let mut clocks = Vec::with_capacity(users.len());
    for (uid, u) in users.iter_mut() {
        let jumps = jumps(u, opts);
        let filtered = filter_pairs(u, &jumps, opts.pair_filter_window_ms);
        for (p, fp) in u.pairs.iter_mut().zip(&filtered) {
            p.aligned_ms = fp.0;
        }
        u.jump_before = jumps.iter().map(Option::is_some).collect();
        let u = &*u;
        let mut segments = Vec::with_capacity(u.pairs.len());
        for (k, (p, (aligned_ms, aligned_unc, filter))) in u.pairs.iter().zip(filtered).enumerate()
        {
            let jump_ms = jumps[k];
            let pair_ref = msg_ref(&entries[p.entry]);
            pair_findings(uid, u, k, jump_ms, entries, opts, f);
            let client = i64::try_from(p.client_ms).unwrap_or(i64::MAX);
            segments.push(ClockSegment {
                pair: pair_ref,
                client_ms: p.client_ms,
                server_ms: p.server_ms,
                offset_ms: p.server_ms.saturating_sub(client),
                uncertainty_ms: p.uncertainty_ms,
                precision: p.precision,
                rtt_source: p.rtt_source,
                from_server_ms: p.server_ms,
                until_server_ms: u.pairs.get(k + 1).map(|n| n.server_ms),
                jump_ms,
                aligned_server_ms: aligned_ms,
                aligned_offset_ms: aligned_ms.saturating_sub(client),
                aligned_uncertainty_ms: aligned_unc,
                filter,
            });
        }
        clocks.push(UserClock {
            uid: uid.clone(),
            clock_width: u.width,
            segments,
        });
    }
    clocks
}

/// Per pair, the clock's jump since the previous pair (ms), when the two disagree by more
/// than the tolerance and both pairs' uncertainties.
fn jumps(u: &UserState, opts: &AlignOptions) -> Vec<Option<i64>> {
    (0..u.pairs.len())
        .map(|k| {
            let p = &u.pairs[k];
            let q = u.pairs.get(k.checked_sub(1)?)?;
            let drift = (p.server_ms - q.server_ms)
                - client_delta_ms_with(u.width, q.client_ms, p.client_ms);
            let tol = opts.jump_tolerance_ms
                + p.uncertainty_ms.unwrap_or(0)
                + q.uncertainty_ms.unwrap_or(0);
            (drift.abs() > tol).then_some(drift)
        })
        .collect()
}

/// What is wrong with pair `k` of `uid`: a jump before it, a low precision, an uncertain
/// offset.
fn pair_findings(
    uid: &str,
    u: &UserState,
    k: usize,
    jump_ms: Option<i64>,
    entries: &[Entry],
    opts: &AlignOptions,
    f: &mut Findings,
) {
    let p = &u.pairs[k];
    let pair_ref = || msg_ref(&entries[p.entry]);
    if let Some(j) = jump_ms {
        f.add(
            DiagnosticCode::ClockJumpBetweenPairs,
            Some(uid),
            vec![msg_ref(&entries[u.pairs[k - 1].entry]), pair_ref()],
            format!("{uid}'s clock jumped by {j} ms between two timeline reports"),
        );
    }
    match p.precision {
        PairPrecision::ImTimestamp => {
            f.group(DiagnosticCode::PairLowPrecision, uid, pair_ref(), || {
                format!(
                    "{uid}'s pair at client {} ms comes from MsgTimeStamp (whole seconds)",
                    p.client_ms
                )
            })
        }
        _ => {
            if let Some(unc) = p
                .uncertainty_ms
                .filter(|u| *u > opts.uncertainty_threshold_ms)
            {
                f.add(
                    DiagnosticCode::OffsetUncertain,
                    Some(uid),
                    vec![pair_ref()],
                    format!(
                        "{uid}'s offset is uncertain by ±{unc} ms (threshold {} ms)",
                        opts.uncertainty_threshold_ms
                    ),
                );
            }
        }
    }
}
/// The clock filter (NTP's idea, on timeline reports): for each pair, among the user's
/// pairs within `window_ms` of it in server time and in the same clock run (no jump
/// between), the fastest arrival, i.e. the smallest receipt − client reading (receipt =
/// `time_line` + the half round trip it was corrected by), tells the offset up to its
/// uplink delay; half the smallest round trip measured among them estimates that delay.
/// A client's reports share its path, so the least delayed of several is much closer to
/// the base delay than any one report is. Lower-precision pairs (`MsgTimeStamp`) stand
/// alone. Answers, per pair: where its client reading lands, how sure that is, and which
/// pairs decided it (none when it stood alone).
fn filter_pairs(
    u: &UserState,
    jumps: &[Option<i64>],
    window_ms: i64,
) -> Vec<(i64, Option<i64>, Option<PairFilter>)> {
    let n = u.pairs.len();
    // Clock runs: a new run starts at each jump.
    let mut run = Vec::with_capacity(n);
    let mut r = 0usize;
    for (k, j) in jumps.iter().enumerate() {
        if j.is_some() {
            r += 1;
        }
        run.push(if k == 0 { 0 } else { r });
    }
    // A pair ReplayDesk made from a member's tracked clock (heartbeats) is filtered
    // already, over many more samples than a few reports: it stands alone.
    let usable = |p: &Pair| {
        p.precision != PairPrecision::ImTimestamp && p.rtt_source != Some(RttSource::Heartbeat)
    };
    let mut out = Vec::with_capacity(n);
    for (k, p) in u.pairs.iter().enumerate() {
        let alone = (p.server_ms, p.uncertainty_ms, None);
        if window_ms <= 0 || !usable(p) {
            out.push(alone);
            continue;
        }
        // Pairs are in server-time order: the window is a contiguous range around k.
        let lo = u.pairs[..k].partition_point(|q| q.server_ms < p.server_ms - window_ms);
        let hi =
            k + 1 + u.pairs[k + 1..].partition_point(|q| q.server_ms <= p.server_ms + window_ms);
        let mut fastest: Option<(i64, usize)> = None;
        let mut smallest: Option<(i64, usize)> = None;
        let mut count = 0u32;
        for j in lo..hi {
            let q = &u.pairs[j];
            if run[j] != run[k] || !usable(q) {
                continue;
            }
            count += 1;
            let half = q.uncertainty_ms.unwrap_or(0);
            // Its receipt, carried to k's client reading along the client's clock.
            let at_k = (q.server_ms + half).saturating_sub(client_delta_ms_with(
                u.width,
                p.client_ms,
                q.client_ms,
            ));
            if fastest.is_none_or(|(t, _)| at_k < t) {
                fastest = Some((at_k, j));
            }
            if let Some(h) = q.uncertainty_ms {
                if smallest.is_none_or(|(s, _)| h < s) {
                    smallest = Some((h, j));
                }
            }
        }
        match fastest {
            Some((t, j)) if count > 1 => {
                let half = smallest.map(|(h, _)| h);
                out.push((
                    t - half.unwrap_or(0),
                    half,
                    Some(PairFilter {
                        fastest: j as u32,
                        smallest_rtt: smallest.map(|(_, s)| s as u32),
                        pairs: count,
                    }),
                ));
            }
            _ => out.push(alone),
        }
    }
    out
}
