//! Every member's tracked clock on this node, in memory: heartbeats cost no write. Which
//! members need a look at the store (a re-anchor may be due) is decided here, without
//! waiting on anything; the look itself runs outside the lock (`super::settle`).

use parking_lot::Mutex;
use replaydesk_align::track::{
    reanchor_due, ClockTrack, Due, Estimate, Observed, Resume, Sample, TrackConfig,
};
use replaydesk_store::{Anchor, MemberRole, PresenceSpanRecord, PresenceSummary, ReanchorReason};
use std::collections::HashMap;

/// How long a member's last 1003, read from the store, is trusted before it is read again
/// (another node may have stored a newer one).
const ANCHOR_FRESH_MS: i64 = 30_000;
/// After a look at the store found nothing to do (or could not be made), the next one
/// waits this long.
const RECHECK_MS: i64 = 1_000;

type Key = (String, String);

#[derive(Debug, Clone, Copy)]
enum AnchorState {
    Unknown,
    Known {
        anchor: Option<Anchor>,
        read_at: i64,
    },
}

#[derive(Debug)]
struct Member {
    track: ClockTrack,
    role: MemberRole,
    last_seen: i64,
    /// When this node last took a heartbeat of it, by its own clock (what pruning goes by:
    /// `last_seen` is the arrival time the caller gave).
    touched: i64,
    heartbeats: u64,
    /// When its current span of continuous presence began (`super::SPAN_GAP_MS`).
    span_start: i64,
    /// Spans ended by a silence whose summary is not written yet.
    closed_spans: Vec<PresenceSpanRecord>,
    dirty: bool,
    anchor: AnchorState,
    /// A look at the store is in flight.
    busy: bool,
    next_check: i64,
}

/// One heartbeat, as the tracker takes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Beat<'a> {
    pub class_id: &'a str,
    pub uid: &'a str,
    pub role: MemberRole,
    pub sample: Sample,
    pub received_at: i64,
    /// The class has started (before, a heartbeat counts for presence only).
    pub started: bool,
}

/// A re-anchor to store: why, and the 1003's fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub reason: ReanchorReason,
    pub role: MemberRole,
    pub prev: Option<Anchor>,
    pub timestamp: u64,
    pub time_line: i64,
    pub run: u32,
    pub estimate: Estimate,
    pub moved_ms: Option<f64>,
}

/// What one member's clock looks like now (the console's presence view).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Live {
    pub uid: String,
    pub last_seen: i64,
    pub heartbeats: u64,
    pub run: u32,
    pub estimate: Option<Estimate>,
    pub suspect: bool,
    pub span_start: i64,
    /// Spans ended since its summary was last written.
    pub closed_spans: Vec<PresenceSpanRecord>,
}

#[derive(Debug, Default)]
pub(crate) struct Tracker {
    members: Mutex<HashMap<Key, Member>>,
    pub(crate) counts: Counts,
}

/// What this node did since start (`/metrics`).
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub heartbeats: std::sync::atomic::AtomicU64,
    /// By reason: jump, drift, first.
    pub reanchors: [std::sync::atomic::AtomicU64; 3],
    pub silence_ends: std::sync::atomic::AtomicU64,
}

/// Whether `anchor` (the member's last 1003) still stands for the tracked clock, and if
/// not, why not and how far it moved (`replaydesk_align::track::reanchor_due`).
pub(crate) fn decide(
    anchor: Option<Anchor>,
    track: &ClockTrack,
    bound_ms: f64,
) -> Option<(ReanchorReason, Option<f64>)> {
    let pair = anchor.map(|a| (u64::try_from(a.client_ms).unwrap_or(0), a.server_ms));
    let (due, moved) = reanchor_due(pair, track, bound_ms)?;
    let reason = match due {
        Due::First => ReanchorReason::First,
        Due::Jump => ReanchorReason::Jump,
        Due::Drift => ReanchorReason::Drift,
    };
    Some((reason, moved))
}

impl Tracker {
    /// Whether this node tracks the member.
    pub(crate) fn knows(&self, class_id: &str, uid: &str) -> bool {
        self.members
            .lock()
            .contains_key(&(class_id.to_owned(), uid.to_owned()))
    }

    /// Starts tracking a member from its persisted summary (this node restarted, or took
    /// it over), unless it is tracked already: its line, run and counts go on.
    pub(crate) fn resume(&self, s: &PresenceSummary, role: MemberRole) {
        let (Some(offset), Some(drift), Some(unc), Ok(client), Ok(run)) = (
            s.offset_ms,
            s.drift_ppb,
            s.uncertainty_ms,
            u64::try_from(s.last_client_ms),
            u32::try_from(s.clock_run),
        ) else {
            return;
        };
        let track = ClockTrack::resume(
            TrackConfig::default(),
            Resume {
                run,
                last_client_ms: client,
                offset_ms: offset as f64,
                drift_ppm: drift as f64 / 1000.0,
                uncertainty_ms: unc as f64,
                line_from_ms: s.line_from_ms,
            },
        );
        self.members
            .lock()
            .entry((s.class_id.clone(), s.uid.clone()))
            .or_insert_with(|| Member {
                track,
                role,
                last_seen: s.last_seen_at,
                touched: replaydesk_store::now_ms(),
                heartbeats: u64::try_from(s.heartbeats).unwrap_or(0),
                span_start: s.last_seen_at,
                closed_spans: Vec::new(),
                dirty: false,
                anchor: AnchorState::Unknown,
                busy: false,
                next_check: 0,
            });
    }

    /// Takes one heartbeat; true when the member's last 1003 should be looked at now (the
    /// caller then runs `super::settle` and ends it with [`Tracker::settled`]).
    pub(crate) fn observe(&self, beat: Beat<'_>, bound_ms: f64) -> bool {
        let Beat {
            class_id,
            uid,
            role,
            sample,
            received_at,
            started,
        } = beat;
        let mut map = self.members.lock();
        let m = map
            .entry((class_id.to_owned(), uid.to_owned()))
            .or_insert_with(|| Member {
                track: ClockTrack::new(TrackConfig::default()),
                role,
                last_seen: received_at,
                touched: 0,
                heartbeats: 0,
                span_start: received_at,
                closed_spans: Vec::new(),
                dirty: true,
                anchor: AnchorState::Unknown,
                busy: false,
                next_check: 0,
            });
        if received_at - m.last_seen > super::SPAN_GAP_MS {
            m.closed_spans.push(PresenceSpanRecord {
                started_at: m.span_start,
                ended_at: m.last_seen,
            });
            m.span_start = received_at;
        }
        m.last_seen = m.last_seen.max(received_at);
        m.touched = replaydesk_store::now_ms();
        m.heartbeats += 1;
        m.dirty = true;
        if let Observed::Jump { delta_ms } = m.track.observe(sample) {
            tracing::info!(
                class_id,
                uid,
                delta_ms,
                run = m.track.run(),
                "heartbeat: the member's clock jumped"
            );
        }
        if !started || m.busy || m.track.samples_in_run() < 2 || m.track.suspect() {
            return false;
        }
        let due = match m.anchor {
            AnchorState::Unknown => received_at >= m.next_check,
            AnchorState::Known { anchor, read_at } => {
                received_at - read_at > ANCHOR_FRESH_MS
                    || (received_at >= m.next_check && decide(anchor, &m.track, bound_ms).is_some())
            }
        };
        m.busy = due;
        due
    }

    /// With the member's last 1003 as the store has it now: the re-anchor due, if any.
    pub(crate) fn plan(
        &self,
        class_id: &str,
        uid: &str,
        anchor: Option<Anchor>,
        now: i64,
        bound_ms: f64,
    ) -> Option<Plan> {
        let mut map = self.members.lock();
        let m = map.get_mut(&(class_id.to_owned(), uid.to_owned()))?;
        m.anchor = AnchorState::Known {
            anchor,
            read_at: now,
        };
        let (reason, moved_ms) = decide(anchor, &m.track, bound_ms)?;
        let last = m.track.last()?;
        let estimate = m.track.estimate(last.server_ms)?;
        Some(Plan {
            reason,
            role: m.role,
            prev: anchor,
            timestamp: last.client_ms,
            time_line: estimate.server_ms_of(last.client_ms),
            run: m.track.run(),
            estimate,
            moved_ms,
        })
    }

    /// Ends a look at the store: `anchor` is the member's last 1003 when known (`None`:
    /// read it again next time).
    pub(crate) fn settled(
        &self,
        class_id: &str,
        uid: &str,
        anchor: Option<Option<Anchor>>,
        now: i64,
    ) {
        let mut map = self.members.lock();
        if let Some(m) = map.get_mut(&(class_id.to_owned(), uid.to_owned())) {
            m.busy = false;
            m.next_check = now + RECHECK_MS;
            m.anchor = match anchor {
                Some(anchor) => AnchorState::Known {
                    anchor,
                    read_at: now,
                },
                None => AnchorState::Unknown,
            };
        }
    }

    /// The member reported a timeline itself: its last 1003 is to be read again.
    pub(crate) fn forget_anchor(&self, class_id: &str, uid: &str) {
        let mut map = self.members.lock();
        if let Some(m) = map.get_mut(&(class_id.to_owned(), uid.to_owned())) {
            m.anchor = AnchorState::Unknown;
            m.next_check = 0;
        }
    }

    /// The summaries of members that heartbeat since the last call.
    pub(crate) fn take_dirty(&self, now: i64) -> Vec<PresenceSummary> {
        let mut map = self.members.lock();
        let mut out = Vec::new();
        for ((class_id, uid), m) in map.iter_mut().filter(|(_, m)| m.dirty) {
            m.dirty = false;
            let Some(last) = m.track.last() else { continue };
            let est = m.track.estimate(last.server_ms);
            out.push(PresenceSummary {
                class_id: class_id.clone(),
                uid: uid.clone(),
                last_seen_at: m.last_seen,
                heartbeats: i64::try_from(m.heartbeats).unwrap_or(i64::MAX),
                clock_run: i64::from(m.track.run()),
                last_client_ms: i64::try_from(last.client_ms).unwrap_or(i64::MAX),
                last_server_ms: last.server_ms,
                offset_ms: est.map(|e| e.offset_ms.round() as i64),
                drift_ppb: est.map(|e| (e.drift_ppm * 1000.0).round() as i64),
                uncertainty_ms: est.map(|e| e.uncertainty_ms.ceil() as i64),
                line_from_ms: m.track.line_from_ms(),
                updated_at: now,
                span_started_at: m.span_start,
                closed_spans: std::mem::take(&mut m.closed_spans),
            });
        }
        out
    }

    /// Marks members dirty again (their summary could not be written).
    pub(crate) fn mark_dirty(&self, rows: &[PresenceSummary]) {
        let mut map = self.members.lock();
        for r in rows {
            if let Some(m) = map.get_mut(&(r.class_id.clone(), r.uid.clone())) {
                m.dirty = true;
                let newer = std::mem::take(&mut m.closed_spans);
                m.closed_spans = r.closed_spans.iter().copied().chain(newer).collect();
            }
        }
    }

    /// The class's members tracked on this node.
    pub(crate) fn live(&self, class_id: &str) -> Vec<Live> {
        let map = self.members.lock();
        let mut out: Vec<Live> = map
            .iter()
            .filter(|((c, _), _)| c == class_id)
            .map(|((_, uid), m)| Live {
                uid: uid.clone(),
                last_seen: m.last_seen,
                heartbeats: m.heartbeats,
                run: m.track.run(),
                estimate: m.track.last().and_then(|l| m.track.estimate(l.server_ms)),
                suspect: m.track.suspect(),
                span_start: m.span_start,
                closed_spans: m.closed_spans.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.uid.cmp(&b.uid));
        out
    }

    /// Drops the members not seen since `before` whose summary was written: a class that
    /// ended (or a member that left) does not hold memory for ever.
    pub(crate) fn prune(&self, before: i64) {
        self.members
            .lock()
            .retain(|_, m| m.dirty || m.busy || m.touched >= before);
    }

    /// Drops a class's members (it ended).
    pub(crate) fn forget_class(&self, class_id: &str) {
        self.members.lock().retain(|(c, _), _| c != class_id);
    }

    /// How many members are tracked.
    pub(crate) fn len(&self) -> usize {
        self.members.lock().len()
    }
}
