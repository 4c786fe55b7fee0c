//! Recordings on the server axis: where each video's time zero lands (by its user's clock,
//! or by the callback's `start_time` plus an offset into the stream), the evidence and the
//! reason for that choice, and what is wrong with a user's videos taken together.

use super::clocks::UserState;
use super::findings::Findings;
use super::msg_ref;
use crate::diagnostics::DiagnosticCode;
use crate::input::{Entry, EntryBody};
use crate::types::*;
use replaydesk_protocol::{Payload, RecordingValue};
use std::collections::BTreeMap;

/// Where the class started and ended on the server axis, when known.
pub(super) type ClassSpan = (Option<i64>, Option<i64>);

/// The class's span, evidence for placing the recordings: the earliest start (1001) and
/// the latest end (1002), each by its sender's clock.
pub(super) fn class_span(entries: &[Entry], users: &BTreeMap<String, UserState>) -> ClassSpan {
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
    (class_start_ms, class_end_ms)
}

/// Every recording announcement (1004) placed, in the group's order.
pub(super) fn place_recordings(
    entries: &[Entry],
    users: &BTreeMap<String, UserState>,
    class_span: ClassSpan,
    opts: &AlignOptions,
    f: &mut Findings,
) -> Vec<RecordingPlacement> {
    let mut recordings = Vec::new();
    for e in entries {
        if let EntryBody::Protocol { msg, .. } = &e.body {
            if let Payload::Recording(r) = &msg.payload {
                recordings.push(place_recording(
                    e,
                    r,
                    users.get(&r.uid),
                    class_span,
                    opts,
                    f,
                ));
            }
        }
    }
    recordings
}

/// What speaks for or against placing a video's time zero at `start_ms`.
struct Weighing<'a> {
    start_time_ms: i64,
    length_ms: i64,
    /// The server times of the user's timeline reports, ascending.
    user_pairs: Vec<i64>,
    class_span: ClassSpan,
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
        PlacementReading::WallClock => "wall-clock",
    }
}

/// The reading chosen for a video, why, and the evidence weighed (when both were possible).
struct Choice {
    chosen: PlacementReading,
    reason: PlacementReason,
    reason_text: String,
    evidence: Vec<ReadingEvidence>,
}

/// The recorder's start, unix ms: `start_time` (seconds) with `start_time_usec` when the
/// callback carries it.
fn start_time_ms(r: &RecordingValue) -> i64 {
    let usec = r
        .extra
        .get("start_time_usec")
        .and_then(|v| replaydesk_protocol::lenient_integer(v).ok())
        .and_then(|v| i64::try_from(v).ok())
        .unwrap_or(0);
    r.start_time.saturating_mul(1000) + usec / 1000
}

/// The client-clock reading: `media_start_time` read on the user's clock, mapped to server
/// time through the segment of their reports in force at the recorder's start; none (and
/// a finding) for a user without a timeline report.
fn client_clock_reading(
    r: &RecordingValue,
    me: &MsgRef,
    user: Option<&UserState>,
    start_time_ms: i64,
    opts: &AlignOptions,
    f: &mut Findings,
) -> (Option<i64>, Option<u32>) {
    let Some(u) = user else {
        f.add(
            DiagnosticCode::RecordingWithoutPair,
            Some(&r.uid),
            vec![me.clone()],
            format!(
                "video {:?} of {} has no timeline report for its user",
                r.video_id, r.uid
            ),
        );
        return (None, None);
    };
    let seg = u.segment_at(start_time_ms + opts.ahead_tolerance_ms);
    let m = u64::try_from(r.media_start_time).unwrap_or(0);
    (Some(u.map(seg, m)), Some(seg as u32))
}

fn place_recording(
    e: &Entry,
    r: &RecordingValue,
    user: Option<&UserState>,
    class_span: ClassSpan,
    opts: &AlignOptions,
    f: &mut Findings,
) -> RecordingPlacement {
    let me = msg_ref(e);
    let start_time_ms = start_time_ms(r);
    let span = r.end_time - r.start_time;
    let length_s = if r.duration > 0 {
        r.duration
    } else {
        span.max(0)
    };
    let mst = r.media_start_time;
    let source = e.recording_source.unwrap_or(RecordingSource::Unknown);
    let media = r
        .extra
        .get("type")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if source.wall_clock() {
        // TRTC's files and those entered by hand carry their start on a wall clock
        // (`media_start_time` 0): no reading to weigh, and no timeline pair needed.
        let start_ms = start_time_ms;
        let placement = RecordingPlacement {
            recording: me,
            source,
            media,
            uid: r.uid.clone(),
            video_id: r.video_id.clone(),
            video_url: r.video_url.clone(),
            start_time: r.start_time,
            end_time: r.end_time,
            duration: r.duration,
            media_start_time: mst,
            by_client_clock_ms: None,
            by_stream_offset_ms: start_ms,
            chosen: PlacementReading::WallClock,
            start_ms,
            end_ms: start_ms + length_s * 1000,
            readings_disagree_ms: None,
            client_clock_vs_start_time_ms: None,
            segment: None,
            reason: PlacementReason::WallClock,
            reason_text: format!(
                "{}: start_time is a wall-clock time, so the video starts at start_time{}",
                if source == RecordingSource::Trtc {
                    "a TRTC cloud recording"
                } else {
                    "a file entered by hand"
                },
                if mst == 0 {
                    String::new()
                } else {
                    format!(" (media_start_time {mst} is not read)")
                }
            ),
            evidence: Vec::new(),
            class_start_position_ms: class_span.0.map(|c| c - start_ms),
        };
        let w = Weighing {
            start_time_ms,
            length_ms: length_s.saturating_mul(1000),
            user_pairs: Vec::new(),
            class_span,
            uid: &r.uid,
            tol: opts.reading_tolerance_ms,
        };
        placement_findings(&placement, &w, span, opts, f);
        return placement;
    }
    // The stream-offset reading: the file's time zero is its first frame, which arrived
    // `media_start_time` ms into the stream the recorder started at `start_time`. A value
    // larger than the window cannot be such an offset (it is a client clock reading).
    let could_be_offset = (0..=opts.client_clock_window_ms).contains(&mst);
    let by_stream_offset_ms = start_time_ms + if could_be_offset { mst } else { 0 };
    let user = user.filter(|u| !u.pairs.is_empty());
    let (by_client_clock_ms, segment) = client_clock_reading(r, &me, user, start_time_ms, opts, f);
    let client_vs_start = by_client_clock_ms.map(|c| (c - start_time_ms).abs());
    let w = Weighing {
        start_time_ms,
        length_ms: length_s.saturating_mul(1000),
        user_pairs: user.map_or_else(Vec::new, |u| u.pairs.iter().map(|p| p.server_ms).collect()),
        class_span,
        uid: &r.uid,
        tol: opts.reading_tolerance_ms,
    };
    let Choice {
        chosen,
        reason,
        reason_text,
        evidence,
    } = choose_reading(
        r,
        &w,
        could_be_offset,
        by_client_clock_ms,
        by_stream_offset_ms,
        opts,
    );
    let start_ms = match chosen {
        PlacementReading::ClientClock => by_client_clock_ms.unwrap_or(by_stream_offset_ms),
        PlacementReading::StreamOffset | PlacementReading::WallClock => by_stream_offset_ms,
    };
    let readings_disagree_ms = by_client_clock_ms.map(|c| (c - by_stream_offset_ms).abs());
    let placement = RecordingPlacement {
        recording: me,
        source,
        media,
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
    };
    placement_findings(&placement, &w, span, opts, f);
    placement
}

/// Which reading places the video. A small value is either an offset into the stream
/// (observed: a few thousand ms) or the reading of a client clock that restarted recently
/// (a reboot): both readings are then weighed by the evidence. A value beyond the window
/// can only be a clock reading, trusted when it lands near the callback's `start_time`.
fn choose_reading(
    r: &RecordingValue,
    w: &Weighing,
    could_be_offset: bool,
    by_client_clock_ms: Option<i64>,
    by_stream_offset_ms: i64,
    opts: &AlignOptions,
) -> Choice {
    let mst = r.media_start_time;
    let window = opts.client_clock_window_ms;
    let client_vs_start = by_client_clock_ms.map(|c| (c - w.start_time_ms).abs());
    let (chosen, reason, reason_text, evidence) = match (by_client_clock_ms, client_vs_start) {
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
            (chosen, reason, text, vec![ec, es])
        }
        (Some(_), Some(d)) if d <= window => (
            PlacementReading::ClientClock,
            PlacementReason::TooLargeForOffset,
            format!(
                "media_start_time {mst} is too large to be an offset into the stream (over {window} ms), so it is {}'s clock, which puts the video {d} ms from start_time",
                r.uid
            ),
            Vec::new(),
        ),
        (Some(_), Some(d)) => (
            PlacementReading::StreamOffset,
            PlacementReason::ClientClockTooFar,
            format!(
                "media_start_time {mst} is too large to be an offset into the stream, but as {}'s clock it puts the video {d} ms from start_time (over {window} ms): placed by start_time alone",
                r.uid
            ),
            Vec::new(),
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
            Vec::new(),
        ),
    };
    Choice {
        chosen,
        reason,
        reason_text,
        evidence,
    }
}

/// What is wrong with one placed video: its readings disagree on a judgement call, it lies
/// outside the class, or its duration contradicts its start and end.
fn placement_findings(
    p: &RecordingPlacement,
    w: &Weighing,
    span: i64,
    opts: &AlignOptions,
    f: &mut Findings,
) {
    // Worth a word when the readings are far apart and the choice was a judgement: the
    // losing reading had evidence for it too, or a small value was read as a clock.
    if let (Some(apart), [ec, es]) = (p.readings_disagree_ms, p.evidence.as_slice()) {
        let loser = if p.chosen == PlacementReading::ClientClock {
            es
        } else {
            ec
        };
        if apart > opts.reading_tolerance_ms
            && (loser.score > 0 || p.chosen == PlacementReading::ClientClock)
        {
            f.add(
                DiagnosticCode::ReadingsDisagree,
                Some(&p.uid),
                vec![p.recording.clone()],
                format!(
                    "video {:?} of {}: the two readings are {apart} ms apart; {}",
                    p.video_id, p.uid, p.reason_text
                ),
            );
        }
    }
    if let Some(Some(d)) = w.outside(p.start_ms) {
        f.add(
            DiagnosticCode::RecordingOutsideClass,
            Some(&p.uid),
            vec![p.recording.clone()],
            if d > 0 {
                format!(
                    "video {:?} of {} starts {d} ms after the class ended (placed by the {} reading)",
                    p.video_id,
                    p.uid,
                    reading_name(p.chosen)
                )
            } else {
                format!(
                    "video {:?} of {} ends {} ms before the class started (placed by the {} reading)",
                    p.video_id,
                    p.uid,
                    -d,
                    reading_name(p.chosen)
                )
            },
        );
    }
    if p.duration > 0 && (p.duration - span).abs() > opts.duration_tolerance_s {
        f.add(
            DiagnosticCode::DurationMismatch,
            Some(&p.uid),
            vec![p.recording.clone()],
            format!(
                "video {:?}: duration {} s but end_time − start_time = {span} s",
                p.video_id, p.duration
            ),
        );
    }
}

/// Per user and stream kind, videos that overlap or leave a gap between them (beyond the
/// tolerances). A user's camera (`main`) and screen share (`aux`) run side by side: they
/// are two streams, so one never overlaps the other, and a gap in one is not filled by
/// the other.
pub(super) fn overlaps_and_gaps(
    recs: &[RecordingPlacement],
    opts: &AlignOptions,
    f: &mut Findings,
) {
    let mut per_uid: BTreeMap<(&str, &str), Vec<&RecordingPlacement>> = BTreeMap::new();
    for r in recs {
        // A file whose kind is not given is the camera: what a 1004 announced before
        // `value.type` existed.
        let kind = r.media.as_deref().unwrap_or("main");
        per_uid.entry((&r.uid, kind)).or_default().push(r);
    }
    for ((uid, _), mut list) in per_uid {
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
