//! Events (class start and end, whiteboard data) placed in server time by their sender's
//! clock, and in every video that covers that time.

use super::clocks::UserState;
use super::findings::Findings;
use super::msg_ref;
use crate::diagnostics::DiagnosticCode;
use crate::input::{Entry, EntryBody};
use crate::types::*;
use replaydesk_protocol::Payload;
use std::collections::BTreeMap;

/// Every event in the group's order.
pub(super) fn place_events(
    entries: &[Entry],
    users: &BTreeMap<String, UserState>,
    recordings: &[RecordingPlacement],
    opts: &AlignOptions,
    f: &mut Findings,
) -> Vec<AlignedEvent> {
    let coverage = Coverage::new(recordings);
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
                let (t, seg) = server_time(i, e, uid, client_ms, u, opts, f);
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
    events
}

/// Where the event at entry `i` lands by `uid`'s clock (which has pairs), and by which pair;
/// finds an event before the user's first pair, or one placed far from when the IM
/// received it (a jump of the clock that no pair shows).
fn server_time(
    i: usize,
    e: &Entry,
    uid: &str,
    client_ms: u64,
    u: &UserState,
    opts: &AlignOptions,
    f: &mut Findings,
) -> (i64, usize) {
    let seg = u.segment_for_entry(i);
    let t = u.place(seg, client_ms);
    let p = &u.pairs[seg];
    if seg == 0 && p.entry > i && t < p.server_ms - opts.ahead_tolerance_ms {
        f.group(
            DiagnosticCode::EventBeforeFirstPair,
            uid,
            msg_ref(e),
            || {
                format!(
                    "{uid}'s event at client {client_ms} ms lies {} ms before the first pair",
                    p.server_ms - t
                )
            },
        );
    }
    if let Some(r) = e.received_ms {
        let slack = if e.received_exact { 0 } else { 999 };
        let unc = p.uncertainty_ms.unwrap_or(0);
        let ahead = t - (r + slack);
        let behind = r - t;
        if ahead > opts.ahead_tolerance_ms + unc || behind > opts.behind_tolerance_ms + unc {
            f.group(
                DiagnosticCode::ClockJumpWithoutPair,
                uid,
                msg_ref(e),
                || {
                    if ahead > 0 {
                        format!("{uid}'s event is placed {ahead} ms after it was received")
                    } else {
                        format!("{uid}'s event is placed {behind} ms before it was received")
                    }
                },
            );
        }
    }
    (t, seg)
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
            source: RecordingSource::Unknown,
            media: None,
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
