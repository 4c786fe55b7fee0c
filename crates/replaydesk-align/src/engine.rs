//! The alignment itself: pairs into clock segments, recordings onto the server axis,
//! events into server time and video positions, and the diagnostics found on the way.
//! One pass over the entries plus per-user work; no I/O.

use super::diagnostics::DiagnosticCode;
use super::input::{Entry, EntryBody};
use super::types::*;
use replaydesk_protocol::{client_delta_ms_with, ClockWidth, Payload};
use std::collections::{BTreeMap, HashMap};

/// Uncertainty of a pair made from IM `MsgTimeStamp`: the stamp is whole seconds (±500 ms
/// around the middle of the second) plus the report's network delay, unknown: "about a second".
const IM_TIMESTAMP_UNCERTAINTY_MS: i64 = 1_000;
/// Listed messages per aggregated diagnostic (the message text gives the full count).
const MAX_LISTED: usize = 20;

struct Pair {
    entry: usize,
    client_ms: u64,
    server_ms: i64,
    /// Where the clock filter puts `client_ms` (see `filter_pairs`); `server_ms` until then.
    aligned_ms: i64,
    uncertainty_ms: Option<i64>,
    precision: PairPrecision,
    rtt_source: Option<RttSource>,
}

fn msg_ref(e: &Entry) -> MsgRef {
    let (kind, seq) = match &e.body {
        EntryBody::Protocol { msg, .. } => (msg.message_type().into(), Some(msg.seq.get())),
        EntryBody::Whiteboard { seq, .. } => (EntryKind::Whiteboard, *seq),
        EntryBody::Hole => (EntryKind::Hole, None),
        EntryBody::Unreadable { .. } => (EntryKind::Unreadable, None),
        EntryBody::Other => (EntryKind::Other, None),
    };
    MsgRef {
        kind,
        im_msg_seq: e.im_msg_seq,
        seq,
        log_id: e.log_id,
    }
}

/// Collects findings; those about many messages become one diagnostic per key.
#[derive(Default)]
struct Findings {
    list: Vec<Diagnostic>,
    grouped: BTreeMap<(DiagnosticCode, String), (Vec<MsgRef>, usize, String)>,
}

impl Findings {
    fn add(
        &mut self,
        code: DiagnosticCode,
        uid: Option<&str>,
        messages: Vec<MsgRef>,
        message: String,
    ) {
        self.list.push(Diagnostic {
            code,
            severity: code.severity(),
            uid: uid.map(str::to_owned),
            messages,
            message,
            explanation: code.explanation().to_owned(),
        });
    }

    /// Adds `m` to the finding `code` for `uid`; `first` describes the first such message.
    fn group(
        &mut self,
        code: DiagnosticCode,
        uid: &str,
        m: MsgRef,
        first: impl FnOnce() -> String,
    ) {
        let slot = self
            .grouped
            .entry((code, uid.to_owned()))
            .or_insert_with(|| (Vec::new(), 0, first()));
        if slot.0.len() < MAX_LISTED {
            slot.0.push(m);
        }
        slot.1 += 1;
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        for ((code, uid), (messages, count, first)) in std::mem::take(&mut self.grouped) {
            let message = if count == 1 {
                first
            } else {
                format!("{count} messages; the first: {first}")
            };
            self.add(
                code,
                (!uid.is_empty()).then_some(uid.as_str()),
                messages,
                message,
            );
        }
        let mut list = self.list;
        list.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
        list
    }
}

struct UserState {
    width: ClockWidth,
    pairs: Vec<Pair>,
}

impl UserState {
    fn map(&self, seg: usize, client_ms: u64) -> i64 {
        let p = &self.pairs[seg];
        p.aligned_ms
            .saturating_add(client_delta_ms_with(self.width, p.client_ms, client_ms))
    }

    /// The pair in force for an event at entry `idx`: the latest pair before it in the
    /// group, else the first (extrapolating backwards).
    fn segment_for_entry(&self, idx: usize) -> usize {
        let n = self.pairs.partition_point(|p| p.entry < idx);
        n.saturating_sub(1)
    }

    /// The pair in force at server time `t`.
    fn segment_at(&self, t: i64) -> usize {
        self.pairs
            .partition_point(|p| p.server_ms <= t)
            .saturating_sub(1)
    }
}

/// Which recordings cover each stretch of the server axis: the recordings' starts and ends
/// cut it into stretches, each with the (ascending) indices of the recordings covering all
/// of it. An event then finds its videos with one binary search instead of a scan of every
/// recording (a class has hundreds of recordings and ~100,000 events).
struct Coverage {
    /// Stretch `k` is `[bounds[k], bounds[k + 1])` (the last one: to the end of the axis);
    /// the bounds are every start and every end + 1 (a recording includes its end).
    bounds: Vec<i64>,
    covering: Vec<Vec<u32>>,
}

impl Coverage {
    fn new(recordings: &[RecordingPlacement]) -> Self {
        let mut bounds: Vec<i64> = recordings
            .iter()
            .flat_map(|r| [r.start_ms, r.end_ms.saturating_add(1)])
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        let covering = bounds
            .iter()
            .map(|&b| {
                recordings
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.start_ms <= b && b <= r.end_ms)
                    .map(|(k, _)| k as u32)
                    .collect()
            })
            .collect();
        Coverage { bounds, covering }
    }

    /// The recordings with `start_ms <= t <= end_ms`, ascending.
    fn at(&self, t: i64) -> &[u32] {
        // The stretch that starts at or before `t`; none before the first bound.
        match self.bounds.partition_point(|&b| b <= t).checked_sub(1) {
            Some(k) => &self.covering[k],
            None => &[],
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
    let usable = |p: &Pair| p.precision != PairPrecision::ImTimestamp;
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

/// Aligns `entries` (oldest first). `group_id`/`class_id` are carried into the answer.
pub fn align(
    source: AlignSource,
    group_id: Option<String>,
    class_id: Option<String>,
    entries: &[Entry],
    opts: &AlignOptions,
) -> Alignment {
    let mut f = Findings::default();
    let reference_shaped = entries.iter().any(|e| {
        matches!(
            &e.body,
            EntryBody::Protocol {
                time_line_missing: true,
                ..
            }
        )
    });

    // ---- pairs and clock readings per user ----
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
                            (Some(_), Some(RttSource::Client | RttSource::Kernel))
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

    // ---- jumps, the clock filter, segments ----
    let mut clocks = Vec::with_capacity(users.len());
    for (uid, u) in users.iter_mut() {
        let jumps: Vec<Option<i64>> = (0..u.pairs.len())
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
            .collect();
        let filtered = filter_pairs(u, &jumps, opts.pair_filter_window_ms);
        for (p, fp) in u.pairs.iter_mut().zip(&filtered) {
            p.aligned_ms = fp.0;
        }
        let u = &*u;
        let mut segments = Vec::with_capacity(u.pairs.len());
        for (k, p) in u.pairs.iter().enumerate() {
            let jump_ms = jumps[k];
            let pair_ref = msg_ref(&entries[p.entry]);
            if let Some(j) = jump_ms {
                f.add(
                    DiagnosticCode::ClockJumpBetweenPairs,
                    Some(uid),
                    vec![msg_ref(&entries[u.pairs[k - 1].entry]), pair_ref.clone()],
                    format!("{uid}'s clock jumped by {j} ms between two timeline reports"),
                );
            }
            match p.precision {
                PairPrecision::ImTimestamp => f.group(
                    DiagnosticCode::PairLowPrecision,
                    uid,
                    pair_ref.clone(),
                    || {
                        format!(
                            "{uid}'s pair at client {} ms comes from MsgTimeStamp (whole seconds)",
                            p.client_ms
                        )
                    },
                ),
                _ => {
                    if let Some(unc) = p
                        .uncertainty_ms
                        .filter(|u| *u > opts.uncertainty_threshold_ms)
                    {
                        f.add(
                            DiagnosticCode::OffsetUncertain,
                            Some(uid),
                            vec![pair_ref.clone()],
                            format!(
                                "{uid}'s offset is uncertain by ±{unc} ms (threshold {} ms)",
                                opts.uncertainty_threshold_ms
                            ),
                        );
                    }
                }
            }
            let client = i64::try_from(p.client_ms).unwrap_or(i64::MAX);
            let (aligned_ms, aligned_unc, filter) = filtered[k].clone();
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

    // ---- the class's span: evidence for placing the recordings ----
    let mut class_start_ms: Option<i64> = None;
    let mut class_end_ms: Option<i64> = None;
    for (i, e) in entries.iter().enumerate() {
        let EntryBody::Protocol { msg, .. } = &e.body else {
            continue;
        };
        let (v, is_start) = match &msg.payload {
            Payload::ClassStart(v) => (v, true),
            Payload::ClassEnd(v) => (v, false),
            _ => continue,
        };
        let Some(u) = users.get(&v.uid).filter(|u| !u.pairs.is_empty()) else {
            continue;
        };
        let t = u.map(u.segment_for_entry(i), msg.timestamp);
        if is_start {
            class_start_ms = Some(class_start_ms.map_or(t, |c| c.min(t)));
        } else {
            class_end_ms = Some(class_end_ms.map_or(t, |c| c.max(t)));
        }
    }
    let class_span = (class_start_ms, class_end_ms);

    // ---- recordings ----
    let mut recordings = Vec::new();
    let mut has_start = false;
    let mut has_end = false;
    let mut by_seq: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if !e.sent {
            f.group(DiagnosticCode::MessageNotSent, "", msg_ref(e), || {
                format!(
                    "log message {} is not in the group",
                    e.log_id.unwrap_or_default()
                )
            });
        }
        match &e.body {
            EntryBody::Unreadable { reason } => {
                f.group(DiagnosticCode::UnreadableMessage, "", msg_ref(e), || {
                    reason.clone()
                })
            }
            EntryBody::Protocol { msg, .. } => {
                by_seq.entry(msg.seq.get()).or_default().push(i);
                match &msg.payload {
                    Payload::ClassStart(_) => has_start = true,
                    Payload::ClassEnd(_) => has_end = true,
                    Payload::Recording(r) => recordings.push(place_recording(
                        e,
                        r,
                        users.get(&r.uid),
                        class_span,
                        opts,
                        &mut f,
                    )),
                    Payload::Timeline { .. } => {}
                }
            }
            _ => {}
        }
    }
    recordings_overlaps_and_gaps(&recordings, opts, &mut f);

    // ---- events ----
    let coverage = Coverage::new(&recordings);
    let mut events = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let (uid, client_ms) = match &e.body {
            EntryBody::Protocol { msg, .. } => match &msg.payload {
                Payload::ClassStart(v) | Payload::ClassEnd(v) => (v.uid.as_str(), msg.timestamp),
                _ => continue,
            },
            EntryBody::Whiteboard {
                client_ms: Some(t), ..
            } => (e.from.as_str(), *t),
            _ => continue,
        };
        let me = msg_ref(e);
        let (server_ms, segment) = match users.get(uid) {
            Some(u) if !u.pairs.is_empty() => {
                let seg = u.segment_for_entry(i);
                let t = u.map(seg, client_ms);
                let p = &u.pairs[seg];
                if seg == 0 && p.entry > i && t < p.server_ms - opts.ahead_tolerance_ms {
                    f.group(DiagnosticCode::EventBeforeFirstPair, uid, me.clone(), || {
                        format!(
                            "{uid}'s event at client {client_ms} ms lies {} ms before the first pair",
                            p.server_ms - t
                        )
                    });
                }
                if let Some(r) = e.received_ms {
                    let slack = if e.received_exact { 0 } else { 999 };
                    let unc = p.uncertainty_ms.unwrap_or(0);
                    let ahead = t - (r + slack);
                    let behind = r - t;
                    if ahead > opts.ahead_tolerance_ms + unc
                        || behind > opts.behind_tolerance_ms + unc
                    {
                        f.group(DiagnosticCode::ClockJumpWithoutPair, uid, me.clone(), || {
                            if ahead > 0 {
                                format!("{uid}'s event is placed {ahead} ms after it was received")
                            } else {
                                format!("{uid}'s event is placed {behind} ms before it was received")
                            }
                        });
                    }
                }
                (Some(t), Some(seg as u32))
            }
            _ => {
                f.group(
                    DiagnosticCode::EventBeforeFirstPair,
                    uid,
                    me.clone(),
                    || format!("{uid} has no timeline report at all: its events cannot be placed"),
                );
                (None, None)
            }
        };
        let positions: Vec<VideoPosition> = match server_ms {
            Some(t) => coverage
                .at(t)
                .iter()
                .map(|&k| VideoPosition {
                    recording: k,
                    position_ms: t - recordings[k as usize].start_ms,
                })
                .collect(),
            None => Vec::new(),
        };
        if me.kind == EntryKind::Whiteboard && positions.is_empty() {
            if let Some(t) = server_ms {
                f.group(
                    DiagnosticCode::WhiteboardOutsideRecordings,
                    uid,
                    me.clone(),
                    || format!("{uid}'s whiteboard data at server {t} ms is in no video"),
                );
            }
        }
        events.push(AlignedEvent {
            event: me,
            uid: uid.to_owned(),
            client_ms,
            server_ms,
            segment,
            received_ms: e.received_ms,
            positions,
        });
    }

    // ---- group-level findings ----
    let mut dups: Vec<(u64, Vec<usize>)> =
        by_seq.into_iter().filter(|(_, v)| v.len() > 1).collect();
    dups.sort();
    for (seq, idx) in dups {
        f.add(
            DiagnosticCode::DuplicateSeq,
            None,
            idx.iter().map(|&i| msg_ref(&entries[i])).collect(),
            format!("seq {seq} is carried by {} messages", idx.len()),
        );
    }
    let holes = holes(source, entries, &mut f);
    if !has_start {
        f.add(
            DiagnosticCode::ClassStartMissing,
            None,
            vec![],
            "no 1001 message".into(),
        );
    }
    if !has_end {
        f.add(
            DiagnosticCode::ClassEndMissing,
            None,
            vec![],
            "no 1002 message".into(),
        );
    }

    Alignment {
        source,
        group_id,
        class_id,
        message_count: entries.len() as u32,
        reference_shaped,
        users: clocks,
        class_start_ms,
        class_end_ms,
        recordings,
        events,
        holes,
        diagnostics: f.finish(),
        options: opts.clone(),
    }
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

/// What speaks for or against placing a video's time zero at `start_ms`.
struct Weighing<'a> {
    start_time_ms: i64,
    length_ms: i64,
    /// The server times of the user's timeline reports, ascending.
    user_pairs: Vec<i64>,
    class_span: (Option<i64>, Option<i64>),
    uid: &'a str,
    tol: i64,
}

impl Weighing<'_> {
    fn weigh(&self, reading: PlacementReading, start_ms: i64) -> ReadingEvidence {
        let tol = self.tol;
        let vs_start_time_ms = start_ms.saturating_sub(self.start_time_ms).saturating_abs();
        let agrees_with_start_time = vs_start_time_ms <= tol;
        // The nearest report on either side of `start_ms`.
        let k = self.user_pairs.partition_point(|&p| p < start_ms);
        let near_user_pairs = [k.checked_sub(1), Some(k)]
            .into_iter()
            .flatten()
            .filter_map(|i| self.user_pairs.get(i))
            .any(|&p| (p - start_ms).abs() <= tol);
        let outside_class = self.outside(start_ms).map(|o| o.is_some());
        let score = i32::from(agrees_with_start_time) + i32::from(near_user_pairs)
            - i32::from(outside_class == Some(true));
        ReadingEvidence {
            reading,
            start_ms,
            vs_start_time_ms,
            agrees_with_start_time,
            near_user_pairs,
            outside_class,
            score,
        }
    }

    /// None when the class's span is unknown; else how far a video starting at `start_ms`
    /// lies outside it (ms after the end, or, negative, before the start), if it does.
    fn outside(&self, start_ms: i64) -> Option<Option<i64>> {
        let tol = self.tol;
        match self.class_span {
            (None, None) => None,
            (s, e) => Some(
                e.filter(|&e| start_ms > e + tol)
                    .map(|e| start_ms - e)
                    .or_else(|| {
                        let end = start_ms.saturating_add(self.length_ms);
                        s.filter(|&s| end < s - tol).map(|s| end - s)
                    }),
            ),
        }
    }

    /// The evidence in words: "12 ms from start_time, near x's timeline reports, inside
    /// the class".
    fn words(&self, ev: &ReadingEvidence) -> String {
        let mut w = vec![format!(
            "{} ms from start_time{}",
            ev.vs_start_time_ms,
            if ev.agrees_with_start_time {
                String::new()
            } else {
                format!(" (more than {} ms)", self.tol)
            }
        )];
        w.push(if ev.near_user_pairs {
            format!("near {}'s timeline reports", self.uid)
        } else {
            format!("away from {}'s timeline reports", self.uid)
        });
        match self.outside(ev.start_ms) {
            Some(Some(d)) if d > 0 => w.push(format!("{d} ms after the class ended")),
            Some(Some(d)) => w.push(format!("ending {} ms before the class started", -d)),
            Some(None) => w.push("inside the class".into()),
            None => {}
        }
        w.join(", ")
    }
}

fn reading_name(r: PlacementReading) -> &'static str {
    match r {
        PlacementReading::ClientClock => "client-clock",
        PlacementReading::StreamOffset => "stream-offset",
    }
}

fn place_recording(
    e: &Entry,
    r: &replaydesk_protocol::RecordingValue,
    user: Option<&UserState>,
    class_span: (Option<i64>, Option<i64>),
    opts: &AlignOptions,
    f: &mut Findings,
) -> RecordingPlacement {
    let me = msg_ref(e);
    let usec = r
        .extra
        .get("start_time_usec")
        .and_then(|v| replaydesk_protocol::lenient_integer(v).ok())
        .and_then(|v| i64::try_from(v).ok())
        .unwrap_or(0);
    let start_time_ms = r.start_time.saturating_mul(1000) + usec / 1000;
    let span = r.end_time - r.start_time;
    let length_s = if r.duration > 0 {
        r.duration
    } else {
        span.max(0)
    };
    let mst = r.media_start_time;
    // The stream-offset reading: the file's time zero is its first frame, which arrived
    // `media_start_time` ms into the stream the recorder started at `start_time`. A value
    // larger than the window cannot be such an offset (it is a client clock reading).
    let could_be_offset = (0..=opts.client_clock_window_ms).contains(&mst);
    let by_stream_offset_ms = start_time_ms + if could_be_offset { mst } else { 0 };
    let user = user.filter(|u| !u.pairs.is_empty());
    let (by_client_clock_ms, segment) = match user {
        Some(u) => {
            let seg = u.segment_at(start_time_ms + opts.ahead_tolerance_ms);
            let m = u64::try_from(mst).unwrap_or(0);
            (Some(u.map(seg, m)), Some(seg as u32))
        }
        None => {
            f.add(
                DiagnosticCode::RecordingWithoutPair,
                Some(&r.uid),
                vec![me.clone()],
                format!(
                    "video {:?} of {} has no timeline report for its user",
                    r.video_id, r.uid
                ),
            );
            (None, None)
        }
    };
    let client_vs_start = by_client_clock_ms.map(|c| (c - start_time_ms).abs());
    let w = Weighing {
        start_time_ms,
        length_ms: length_s.saturating_mul(1000),
        user_pairs: user.map_or_else(Vec::new, |u| u.pairs.iter().map(|p| p.server_ms).collect()),
        class_span,
        uid: &r.uid,
        tol: opts.reading_tolerance_ms,
    };
    let window = opts.client_clock_window_ms;
    let mut evidence = Vec::new();
    // A small value is either an offset into the stream (observed: a few thousand ms) or
    // the reading of a client clock that restarted recently (a reboot): both readings are
    // then weighed by the evidence. A value beyond the window can only be a clock reading,
    // trusted when it lands near the callback's `start_time`.
    let (chosen, reason, reason_text) = match (by_client_clock_ms, client_vs_start) {
        (Some(c), Some(_)) if could_be_offset => {
            let ec = w.weigh(PlacementReading::ClientClock, c);
            let es = w.weigh(PlacementReading::StreamOffset, by_stream_offset_ms);
            let (win, lose, reason) = if ec.score > es.score {
                (&ec, &es, PlacementReason::Evidence)
            } else if es.score > ec.score {
                (&es, &ec, PlacementReason::Evidence)
            } else {
                (&es, &ec, PlacementReason::EvenEvidence)
            };
            let text = format!(
                "media_start_time {mst} could be an offset into the stream or {}'s clock; {} the {} reading ({}), not the {} reading ({})",
                r.uid,
                if reason == PlacementReason::Evidence {
                    format!("the evidence ({} to {}) chose", win.score, lose.score)
                } else {
                    format!("the evidence is even ({} each), so", win.score)
                },
                reading_name(win.reading),
                w.words(win),
                reading_name(lose.reading),
                w.words(lose),
            );
            let chosen = win.reading;
            evidence = vec![ec, es];
            (chosen, reason, text)
        }
        (Some(_), Some(d)) if d <= window => (
            PlacementReading::ClientClock,
            PlacementReason::TooLargeForOffset,
            format!(
                "media_start_time {mst} is too large to be an offset into the stream (over {window} ms), so it is {}'s clock, which puts the video {d} ms from start_time",
                r.uid
            ),
        ),
        (Some(_), Some(d)) => (
            PlacementReading::StreamOffset,
            PlacementReason::ClientClockTooFar,
            format!(
                "media_start_time {mst} is too large to be an offset into the stream, but as {}'s clock it puts the video {d} ms from start_time (over {window} ms): placed by start_time alone",
                r.uid
            ),
        ),
        _ => (
            PlacementReading::StreamOffset,
            PlacementReason::NoPair,
            if could_be_offset {
                format!(
                    "{} has no timeline report, so the video is placed by start_time + media_start_time ({mst} ms)",
                    r.uid
                )
            } else {
                format!(
                    "{} has no timeline report and media_start_time {mst} is too large to be an offset into the stream: placed by start_time alone",
                    r.uid
                )
            },
        ),
    };
    let start_ms = match chosen {
        PlacementReading::ClientClock => by_client_clock_ms.unwrap_or(by_stream_offset_ms),
        PlacementReading::StreamOffset => by_stream_offset_ms,
    };
    let readings_disagree_ms = by_client_clock_ms.map(|c| (c - by_stream_offset_ms).abs());
    // Worth a word when the readings are far apart and the choice was a judgement: the
    // losing reading had evidence for it too, or a small value was read as a clock.
    if let (Some(apart), [ec, es]) = (readings_disagree_ms, evidence.as_slice()) {
        let loser = if chosen == PlacementReading::ClientClock {
            es
        } else {
            ec
        };
        if apart > opts.reading_tolerance_ms
            && (loser.score > 0 || chosen == PlacementReading::ClientClock)
        {
            f.add(
                DiagnosticCode::ReadingsDisagree,
                Some(&r.uid),
                vec![me.clone()],
                format!(
                    "video {:?} of {}: the two readings are {apart} ms apart; {reason_text}",
                    r.video_id, r.uid
                ),
            );
        }
    }
    if let Some(Some(d)) = w.outside(start_ms) {
        f.add(
            DiagnosticCode::RecordingOutsideClass,
            Some(&r.uid),
            vec![me.clone()],
            if d > 0 {
                format!(
                    "video {:?} of {} starts {d} ms after the class ended (placed by the {} reading)",
                    r.video_id,
                    r.uid,
                    reading_name(chosen)
                )
            } else {
                format!(
                    "video {:?} of {} ends {} ms before the class started (placed by the {} reading)",
                    r.video_id,
                    r.uid,
                    -d,
                    reading_name(chosen)
                )
            },
        );
    }
    if r.duration > 0 && (r.duration - span).abs() > opts.duration_tolerance_s {
        f.add(
            DiagnosticCode::DurationMismatch,
            Some(&r.uid),
            vec![me.clone()],
            format!(
                "video {:?}: duration {} s but end_time − start_time = {span} s",
                r.video_id, r.duration
            ),
        );
    }
    RecordingPlacement {
        recording: me,
        uid: r.uid.clone(),
        video_id: r.video_id.clone(),
        video_url: r.video_url.clone(),
        start_time: r.start_time,
        end_time: r.end_time,
        duration: r.duration,
        media_start_time: mst,
        by_client_clock_ms,
        by_stream_offset_ms,
        chosen,
        start_ms,
        end_ms: start_ms + length_s * 1000,
        readings_disagree_ms,
        client_clock_vs_start_time_ms: client_vs_start,
        segment,
        reason,
        reason_text,
        evidence,
        class_start_position_ms: class_span.0.map(|c| c - start_ms),
    }
}

fn recordings_overlaps_and_gaps(
    recs: &[RecordingPlacement],
    opts: &AlignOptions,
    f: &mut Findings,
) {
    let mut per_uid: BTreeMap<&str, Vec<&RecordingPlacement>> = BTreeMap::new();
    for r in recs {
        per_uid.entry(&r.uid).or_default().push(r);
    }
    for (uid, mut list) in per_uid {
        list.sort_by_key(|r| r.start_ms);
        for w in list.windows(2) {
            let (a, b) = (w[0], w[1]);
            let pair = vec![a.recording.clone(), b.recording.clone()];
            if b.start_ms < a.end_ms - opts.overlap_tolerance_ms {
                f.add(
                    DiagnosticCode::RecordingsOverlap,
                    Some(uid),
                    pair,
                    format!(
                        "videos {:?} and {:?} of {uid} overlap by {} ms",
                        a.video_id,
                        b.video_id,
                        a.end_ms - b.start_ms
                    ),
                );
            } else if b.start_ms > a.end_ms + opts.gap_tolerance_ms {
                f.add(
                    DiagnosticCode::RecordingsGap,
                    Some(uid),
                    pair,
                    format!(
                        "{} ms without video of {uid} between {:?} and {:?}",
                        b.start_ms - a.end_ms,
                        a.video_id,
                        b.video_id
                    ),
                );
            }
        }
    }
}

/// Holes: `IsPlaceMsg` entries, and (in a history) `MsgSeq`s missing between two entries,
/// as runs. One diagnostic per run, naming its first `MsgSeq`s.
fn holes(source: AlignSource, entries: &[Entry], f: &mut Findings) -> Vec<SeqRange> {
    let place: Vec<u64> = entries
        .iter()
        .filter(|e| e.body == EntryBody::Hole)
        .filter_map(|e| e.im_msg_seq)
        .collect();
    let known: Vec<u64> = entries.iter().filter_map(|e| e.im_msg_seq).collect();
    let runs = hole_runs(&place, &known, source == AlignSource::History);
    for run in runs.iter().take(MAX_LISTED) {
        let refs = (run.first..=run.last)
            .take(MAX_LISTED)
            .map(|s| MsgRef {
                kind: EntryKind::Hole,
                im_msg_seq: Some(s),
                seq: None,
                log_id: None,
            })
            .collect();
        let message = if run.count() == 1 {
            format!("MsgSeq {} is a hole", run.first)
        } else {
            format!(
                "MsgSeq {}..={} are holes ({} messages)",
                run.first,
                run.last,
                run.count()
            )
        };
        f.add(DiagnosticCode::HistoryHole, None, refs, message);
    }
    if let Some(rest) = runs.get(MAX_LISTED..).filter(|r| !r.is_empty()) {
        f.add(
            DiagnosticCode::HistoryHole,
            None,
            Vec::new(),
            format!(
                "{} more runs of holes, {} messages in all (every run is in `holes`)",
                rest.len(),
                seq_count(rest)
            ),
        );
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rec(start_ms: i64, end_ms: i64) -> RecordingPlacement {
        RecordingPlacement {
            recording: MsgRef {
                kind: EntryKind::Recording,
                im_msg_seq: None,
                seq: None,
                log_id: None,
            },
            uid: String::new(),
            video_id: String::new(),
            video_url: String::new(),
            start_time: 0,
            end_time: 0,
            media_start_time: 0,
            duration: 0,
            by_client_clock_ms: None,
            by_stream_offset_ms: 0,
            chosen: PlacementReading::StreamOffset,
            start_ms,
            end_ms,
            readings_disagree_ms: None,
            client_clock_vs_start_time_ms: None,
            segment: None,
            reason: PlacementReason::NoPair,
            reason_text: String::new(),
            evidence: Vec::new(),
            class_start_position_ms: None,
        }
    }

    proptest! {
        /// The index answers exactly what a scan of every recording answers.
        #[test]
        fn coverage_finds_exactly_the_covering_recordings(
            spans in prop::collection::vec((0i64..1000, -5i64..400), 0..12),
            ts in prop::collection::vec(-10i64..1500, 1..40),
        ) {
            let recs: Vec<RecordingPlacement> =
                spans.iter().map(|&(s, len)| rec(s, s + len)).collect();
            let c = Coverage::new(&recs);
            for t in ts {
                let scan: Vec<u32> = recs
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.start_ms <= t && t <= r.end_ms)
                    .map(|(k, _)| k as u32)
                    .collect();
                prop_assert_eq!(c.at(t), scan.as_slice(), "t = {}", t);
            }
        }
    }
}
