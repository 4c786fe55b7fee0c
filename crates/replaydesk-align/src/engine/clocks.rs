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
}

impl UserState {
    /// Where the client reading `client_ms` lands on the server axis by pair `seg`.
    pub(super) fn map(&self, seg: usize, client_ms: u64) -> i64 {
        let p = &self.pairs[seg];
        p.aligned_ms
            .saturating_add(client_delta_ms_with(self.width, p.client_ms, client_ms))
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
