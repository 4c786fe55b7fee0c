//! What an alignment answers, as the console draws it and `replaydesk align --json`
//! prints it. Times are milliseconds: `server_ms` on the server's unix clock, `client_ms`
//! on one user's own clock.

use super::diagnostics::{DiagnosticCode, Severity};
use replaydesk_protocol::{ClockWidth, MessageType};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where the messages that were aligned came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum AlignSource {
    /// A ReplayGroup's history (`group_msg_get_simple`), fetched by reconcile or read from a dump.
    History,
    /// ReplayDesk's own log of the class (what it sent or will send).
    Log,
}

/// What kind of entry a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum EntryKind {
    ClassStart,
    ClassEnd,
    Timeline,
    Recording,
    /// Whiteboard data (`Ext` = `TXWhiteBoardExt`), stamped on its sender's clock.
    Whiteboard,
    /// `IsPlaceMsg`: a message that expired, failed to store or was recalled.
    Hole,
    /// A custom message that is not a readable protocol message.
    Unreadable,
    /// Text, images, and anything else replay does not use.
    Other,
}

impl From<MessageType> for EntryKind {
    fn from(t: MessageType) -> Self {
        match t {
            MessageType::ClassStart => EntryKind::ClassStart,
            MessageType::ClassEnd => EntryKind::ClassEnd,
            MessageType::Timeline => EntryKind::Timeline,
            MessageType::Recording => EntryKind::Recording,
        }
    }
}

/// A run of consecutive `MsgSeq`s, both ends included: how holes are listed, so that the
/// answer grows with the number of runs, never with their length (listed one by one, the
/// holes of a small history whose `MsgSeq`s jump far apart made an answer of many MB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[ts(export)]
pub struct SeqRange {
    #[ts(type = "number")]
    pub first: u64,
    #[ts(type = "number")]
    pub last: u64,
}

impl SeqRange {
    /// How many `MsgSeq`s the run holds.
    pub fn count(&self) -> u64 {
        self.last - self.first + 1
    }

    pub fn contains(&self, seq: u64) -> bool {
        (self.first..=self.last).contains(&seq)
    }
}

/// Reads a run as written now (`{"first", "last"}`), or one `MsgSeq` as answers and stored
/// reconcile reports from before runs wrote each hole (a number).
impl<'de> Deserialize<'de> for SeqRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            One(u64),
            Run { first: u64, last: u64 },
        }
        match Either::deserialize(d)? {
            Either::One(s) => Ok(SeqRange { first: s, last: s }),
            Either::Run { first, last } if first <= last => Ok(SeqRange { first, last }),
            Either::Run { .. } => Err(serde::de::Error::custom(
                "a MsgSeq run must not end before it starts",
            )),
        }
    }
}

/// The runs of `seqs` (sorted; repeats allowed), each run once.
pub fn seq_runs(seqs: impl IntoIterator<Item = SeqRange>) -> Vec<SeqRange> {
    let mut out: Vec<SeqRange> = Vec::new();
    for r in seqs {
        match out.last_mut() {
            Some(last) if r.first <= last.last.saturating_add(1) => {
                last.last = last.last.max(r.last);
            }
            _ => out.push(r),
        }
    }
    out
}

/// How many `MsgSeq`s the runs hold together.
pub fn seq_count(runs: &[SeqRange]) -> u64 {
    runs.iter().map(SeqRange::count).sum()
}

/// The holes of a history: `IsPlaceMsg` entries at `place` and the `MsgSeq`s missing between
/// two `known` ones (both in any order), as runs. Memory and time grow with the entries,
/// never with the size of a jump between them.
pub fn hole_runs(place: &[u64], known: &[u64], between: bool) -> Vec<SeqRange> {
    let mut runs: Vec<SeqRange> = place
        .iter()
        .map(|&s| SeqRange { first: s, last: s })
        .collect();
    if between {
        let mut known = known.to_vec();
        known.sort_unstable();
        known.dedup();
        for w in known.windows(2) {
            if w[1] > w[0] + 1 {
                runs.push(SeqRange {
                    first: w[0] + 1,
                    last: w[1] - 1,
                });
            }
        }
    }
    runs.sort_unstable();
    seq_runs(runs)
}

/// Names one message: by its place in the group (`im_msg_seq`), its protocol `seq`, and
/// its row in ReplayDesk's log, whichever are known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct MsgRef {
    pub kind: EntryKind,
    /// The group's `MsgSeq`.
    #[ts(type = "number | null")]
    pub im_msg_seq: Option<u64>,
    /// The protocol `seq` (or the whiteboard data's own `seq`).
    #[ts(type = "number | null")]
    pub seq: Option<u64>,
    /// The message's id in ReplayDesk's log.
    #[ts(type = "number | null")]
    pub log_id: Option<i64>,
}

/// How well a pair ties a client's clock to the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PairPrecision {
    /// `time_line` corrected by a measured round trip: off by at most `uncertainty_ms`.
    Measured,
    /// `time_line` as written, with no round-trip measurement known: late by the report's
    /// one-way delay (usually tens of ms).
    TimeLine,
    /// Lower precision: no `time_line` (the public reference server's groups), so the IM
    /// service's `MsgTimeStamp` (whole seconds, set on receipt) stands in for it.
    ImTimestamp,
}

/// Which round-trip estimate corrected a timeline report's `time_line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RttSource {
    /// The client measured the round trip itself (`rtt_ms` in the report).
    Client,
    /// The kernel's estimate for the reporting connection (`TCP_INFO`).
    Kernel,
    /// None: `time_line` is the receipt time.
    None,
    /// A 1003 ReplayDesk sent from the member's tracked clock (its heartbeats):
    /// `time_line` is the tracked estimate, off by at most its uncertainty.
    Heartbeat,
}

impl RttSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RttSource::Client => "client",
            RttSource::Kernel => "kernel",
            RttSource::None => "none",
            RttSource::Heartbeat => "heartbeat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client" => Some(RttSource::Client),
            "kernel" => Some(RttSource::Kernel),
            "none" => Some(RttSource::None),
            "heartbeat" => Some(RttSource::Heartbeat),
            _ => None,
        }
    }
}

/// One pair (client reading, server time) and the span of server time it is in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ClockSegment {
    /// The message that carried the pair (a 1003; a 1001 in reference-server groups).
    pub pair: MsgRef,
    #[ts(type = "number")]
    pub client_ms: u64,
    #[ts(type = "number")]
    pub server_ms: i64,
    /// server − client, ms. For a 32-bit clock it is only meaningful with this pair.
    #[ts(type = "number")]
    pub offset_ms: i64,
    /// How far the offset may be off, when known.
    #[ts(type = "number | null")]
    pub uncertainty_ms: Option<i64>,
    pub precision: PairPrecision,
    pub rtt_source: Option<RttSource>,
    /// In force from this server time (the pair's own) ...
    #[ts(type = "number")]
    pub from_server_ms: i64,
    /// ... until the next pair of the same user (none for the last).
    #[ts(type = "number | null")]
    pub until_server_ms: Option<i64>,
    /// How far this pair disagrees with the previous one (server span − client span, ms)
    /// when more than the jump tolerance: the clock slept, rebooted or jumped between them.
    #[ts(type = "number | null")]
    pub jump_ms: Option<i64>,
    /// Where this pair's client reading lands after the clock filter: the server time
    /// events in this segment are placed from (see [`PairFilter`]).
    #[ts(type = "number")]
    #[serde(default)]
    pub aligned_server_ms: i64,
    /// `aligned_server_ms` − client reading, ms.
    #[ts(type = "number")]
    #[serde(default)]
    pub aligned_offset_ms: i64,
    /// How far `aligned_server_ms` may be off: half the smallest round trip the filter saw
    /// (the paths' asymmetry is not observable), when one was measured.
    #[ts(type = "number | null")]
    #[serde(default)]
    pub aligned_uncertainty_ms: Option<i64>,
    /// Which pairs the clock filter used, or null when it had only this one.
    #[serde(default)]
    pub filter: Option<PairFilter>,
}

/// The clock filter's choice for one pair (the NTP clock-filter idea, on timeline reports):
/// among the pairs of the same user within `pair_filter_window_ms` of it and with no clock
/// jump between them, the one that arrived fastest (the smallest receipt − client reading:
/// the least uplink delay) gives the offset, less half the smallest round trip measured
/// among them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PairFilter {
    /// Index (in this user's `segments`) of the pair that arrived fastest.
    pub fastest: u32,
    /// Index of the pair with the smallest measured round trip, if any was measured.
    pub smallest_rtt: Option<u32>,
    /// How many pairs the filter compared.
    pub pairs: u32,
}

/// One user's clock: its width and its pairs in server-time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UserClock {
    pub uid: String,
    pub clock_width: ClockWidth,
    pub segments: Vec<ClockSegment>,
}

/// Which reading of `media_start_time` placed a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PlacementReading {
    /// A pts on the user's client clock, mapped through the pair in force.
    ClientClock,
    /// An offset in ms from the stream's start: `start_time` × 1000 + `media_start_time`.
    StreamOffset,
    /// No reading: `start_time` is a wall-clock time (TRTC cloud recording, a file entered
    /// by hand: `media_start_time` is 0), the video starts at `start_time` × 1000.
    WallClock,
}

/// Which source made a recording's 1004, and so how its start is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RecordingSource {
    /// The live-streaming (CSS) recording callback of the iLive era: placed by a reading
    /// of its `media_start_time`.
    Css,
    /// TRTC cloud recording: placed by its wall-clock start.
    Trtc,
    /// Entered by hand by an admin: placed by its wall-clock start.
    Manual,
    /// Not known here: a 1004 no callback of this ReplayDesk made (written into the group
    /// by another server, an imported class, a dump): read as a CSS one.
    Unknown,
}

impl RecordingSource {
    /// Whether its `start_time` is the video's start on a wall clock (no reading needed).
    pub fn wall_clock(self) -> bool {
        matches!(self, RecordingSource::Trtc | RecordingSource::Manual)
    }
}

fn unknown_source() -> RecordingSource {
    RecordingSource::Unknown
}

/// Why a recording was placed by the reading it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PlacementReason {
    /// The user has no timeline report, so only the stream-offset reading exists.
    NoPair,
    /// `media_start_time` is too large to be an offset from the stream's start, and the
    /// client-clock reading lands within `client_clock_window_ms` of `start_time`.
    TooLargeForOffset,
    /// Too large for an offset, but the client-clock reading lands further than
    /// `client_clock_window_ms` from `start_time`: placed by `start_time` alone.
    ClientClockTooFar,
    /// Both readings were possible; the one with more evidence won (see `evidence`).
    Evidence,
    /// Both readings were possible and the evidence was even: the stream-offset reading,
    /// which is what small values usually are.
    EvenEvidence,
    /// A TRTC file or one entered by hand: placed by its wall-clock `start_time`.
    WallClock,
}

/// What speaks for or against one reading of `media_start_time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReadingEvidence {
    pub reading: PlacementReading,
    /// Where this reading puts the video's time zero, server ms.
    #[ts(type = "number")]
    pub start_ms: i64,
    /// |this placement − the callback's `start_time`|, ms.
    #[ts(type = "number")]
    pub vs_start_time_ms: i64,
    /// `vs_start_time_ms` is within `reading_tolerance_ms`.
    pub agrees_with_start_time: bool,
    /// The placement lies within `reading_tolerance_ms` of one of the user's timeline
    /// reports (a client reports its clock on joining, about when its stream starts).
    pub near_user_pairs: bool,
    /// The video placed this way does not overlap the class (its 1001 … 1002, widened by
    /// `reading_tolerance_ms`); null when the class's start and end are both unknown.
    pub outside_class: Option<bool>,
    /// Agreements count +1 each, lying outside the class −1.
    pub score: i32,
}

/// Where one recording lies on the server axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RecordingPlacement {
    pub recording: MsgRef,
    /// Which source made the 1004 (and so placed it).
    #[serde(default = "unknown_source")]
    pub source: RecordingSource,
    /// The 1004's `value.type`: `main` (camera) or `aux` (screen share), when it says.
    #[serde(default)]
    pub media: Option<String>,
    pub uid: String,
    pub video_id: String,
    pub video_url: String,
    /// As the recording callback gave them: unix seconds, seconds, and the raw reading.
    #[ts(type = "number")]
    pub start_time: i64,
    #[ts(type = "number")]
    pub end_time: i64,
    #[ts(type = "number")]
    pub duration: i64,
    #[ts(type = "number")]
    pub media_start_time: i64,
    /// Placement by the client-clock reading (none without a pair for the user).
    #[ts(type = "number | null")]
    pub by_client_clock_ms: Option<i64>,
    /// Placement by the stream-offset reading.
    #[ts(type = "number")]
    pub by_stream_offset_ms: i64,
    pub chosen: PlacementReading,
    /// The video's time zero on the server axis, by the chosen reading.
    #[ts(type = "number")]
    pub start_ms: i64,
    #[ts(type = "number")]
    pub end_ms: i64,
    /// |client-clock − stream-offset| placements, ms.
    #[ts(type = "number | null")]
    pub readings_disagree_ms: Option<i64>,
    /// |client-clock placement − `start_time` × 1000|, ms.
    #[ts(type = "number | null")]
    pub client_clock_vs_start_time_ms: Option<i64>,
    /// The pair used by the client-clock reading (index into the user's segments).
    pub segment: Option<u32>,
    /// Why `chosen` was chosen.
    #[serde(default = "default_reason")]
    pub reason: PlacementReason,
    /// The same in plain words, with the figures.
    #[serde(default)]
    pub reason_text: String,
    /// The evidence weighed for each reading that was possible (empty when only one was).
    #[serde(default)]
    pub evidence: Vec<ReadingEvidence>,
    /// Where the class's start falls in this video (class start − `start_ms`, ms; negative:
    /// the video began after the class started); null when the class start is unknown.
    #[ts(type = "number | null")]
    #[serde(default)]
    pub class_start_position_ms: Option<i64>,
}

fn default_reason() -> PlacementReason {
    PlacementReason::EvenEvidence
}

/// Where an event lies in one video that covers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct VideoPosition {
    /// Index into `recordings` (which names the video and its uid: an event of a big
    /// class lies in dozens of videos, so the names are not repeated here).
    pub recording: u32,
    /// Replay position: `server_ms` − the video's `start_ms`.
    #[ts(type = "number")]
    pub position_ms: i64,
}

/// A client-stamped event (1001, 1002, whiteboard data) placed on the server axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AlignedEvent {
    pub event: MsgRef,
    /// Whose clock stamped it.
    pub uid: String,
    #[ts(type = "number")]
    pub client_ms: u64,
    /// None when the user has no pair at all.
    #[ts(type = "number | null")]
    pub server_ms: Option<i64>,
    /// The pair used (index into the user's segments).
    pub segment: Option<u32>,
    /// When the group (or ReplayDesk) received it, ms (IM `MsgTimeStamp` is whole seconds).
    #[ts(type = "number | null")]
    pub received_ms: Option<i64>,
    pub positions: Vec<VideoPosition>,
}

/// One finding, with a stable code, a severity, the messages involved and what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Diagnostic {
    pub code: DiagnosticCode,
    pub severity: Severity,
    pub uid: Option<String>,
    pub messages: Vec<MsgRef>,
    /// What was found, with the figures.
    pub message: String,
    /// What it means for the replay, in plain words (the same for every instance of a code).
    pub explanation: String,
}

/// The thresholds an alignment was computed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct AlignOptions {
    /// A pair whose uncertainty exceeds this is reported (`offset_uncertain`).
    #[ts(type = "number")]
    pub uncertainty_threshold_ms: i64,
    /// Two pairs of one user that disagree by more than this mark a clock jump.
    #[ts(type = "number")]
    pub jump_tolerance_ms: i64,
    /// An event placed this much after it was received (impossible) means a clock jump.
    #[ts(type = "number")]
    pub ahead_tolerance_ms: i64,
    /// An event placed this much before it was received means a clock jump (whiteboard
    /// data may legitimately arrive minutes late, so this is generous).
    #[ts(type = "number")]
    pub behind_tolerance_ms: i64,
    /// `duration` may differ from `end_time − start_time` by this much.
    #[ts(type = "number")]
    pub duration_tolerance_s: i64,
    /// Consecutive recordings of one user further apart than this leave a gap.
    #[ts(type = "number")]
    pub gap_tolerance_ms: i64,
    /// Consecutive recordings of one user overlapping by more than this overlap.
    #[ts(type = "number")]
    pub overlap_tolerance_ms: i64,
    /// The client-clock reading of `media_start_time` is chosen only when it lands this
    /// close to the callback's `start_time`.
    #[ts(type = "number")]
    pub client_clock_window_ms: i64,
    /// A reading agrees with the callback's `start_time` or with the user's timeline
    /// reports when it lands this close; a video this far outside the class is outside
    /// it; two readings further apart than this, when the choice between them was not
    /// clear-cut, are reported (`readings_disagree`).
    #[ts(type = "number")]
    pub reading_tolerance_ms: i64,
    /// The clock filter compares a pair with the same user's pairs this close in server
    /// time (and with no clock jump between): wide enough for several reports, narrow
    /// enough that a client clock's drift (tens of ppm) stays under a few ms. 0 turns the
    /// filter off (each pair stands alone).
    #[ts(type = "number")]
    pub pair_filter_window_ms: i64,
}

impl Default for AlignOptions {
    fn default() -> Self {
        Self {
            uncertainty_threshold_ms: 250,
            jump_tolerance_ms: 2_000,
            ahead_tolerance_ms: 5_000,
            behind_tolerance_ms: 300_000,
            duration_tolerance_s: 2,
            gap_tolerance_ms: 5_000,
            overlap_tolerance_ms: 1_000,
            client_clock_window_ms: 600_000,
            reading_tolerance_ms: 5_000,
            pair_filter_window_ms: 120_000,
        }
    }
}

/// The answer: every user's clock, every recording's placement, every event's server time
/// and video positions, and what is wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Alignment {
    pub source: AlignSource,
    pub group_id: Option<String>,
    pub class_id: Option<String>,
    /// Messages read.
    pub message_count: u32,
    /// True when the group looks written by the public reference server (1003 without
    /// `time_line`): pairs come from `MsgTimeStamp`.
    pub reference_shaped: bool,
    pub users: Vec<UserClock>,
    /// The class's start (the earliest 1001) and end (the latest 1002) on the server
    /// axis, when they could be placed.
    #[ts(type = "number | null")]
    #[serde(default)]
    pub class_start_ms: Option<i64>,
    #[ts(type = "number | null")]
    #[serde(default)]
    pub class_end_ms: Option<i64>,
    pub recordings: Vec<RecordingPlacement>,
    pub events: Vec<AlignedEvent>,
    /// Holes (`IsPlaceMsg`, or `MsgSeq`s missing between two messages), as runs of
    /// consecutive `MsgSeq`s.
    pub holes: Vec<SeqRange>,
    pub diagnostics: Vec<Diagnostic>,
    pub options: AlignOptions,
}
