//! The findings an alignment reports: stable codes (the console and scripts key on them),
//! a severity, and one plain explanation per code for support staff.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How much a finding matters for the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Severity {
    /// Worth knowing; the replay is not affected.
    Info,
    /// Part of the replay may be out of sync or missing.
    Warning,
    /// The replay cannot be right as it stands.
    Error,
}

/// Stable codes; never renamed once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DiagnosticCode {
    RecordingWithoutPair,
    EventBeforeFirstPair,
    ClockJumpWithoutPair,
    ClockJumpBetweenPairs,
    RecordingsOverlap,
    RecordingsGap,
    DurationMismatch,
    WhiteboardOutsideRecordings,
    DuplicateSeq,
    HistoryHole,
    ClassStartMissing,
    ClassEndMissing,
    OffsetUncertain,
    PairLowPrecision,
    UnreadableMessage,
    MessageNotSent,
    ReadingsDisagree,
    RecordingOutsideClass,
    ReadFromArchive,
}

impl DiagnosticCode {
    pub const ALL: [DiagnosticCode; 19] = [
        DiagnosticCode::RecordingWithoutPair,
        DiagnosticCode::EventBeforeFirstPair,
        DiagnosticCode::ClockJumpWithoutPair,
        DiagnosticCode::ClockJumpBetweenPairs,
        DiagnosticCode::RecordingsOverlap,
        DiagnosticCode::RecordingsGap,
        DiagnosticCode::DurationMismatch,
        DiagnosticCode::WhiteboardOutsideRecordings,
        DiagnosticCode::DuplicateSeq,
        DiagnosticCode::HistoryHole,
        DiagnosticCode::ClassStartMissing,
        DiagnosticCode::ClassEndMissing,
        DiagnosticCode::OffsetUncertain,
        DiagnosticCode::PairLowPrecision,
        DiagnosticCode::UnreadableMessage,
        DiagnosticCode::MessageNotSent,
        DiagnosticCode::ReadingsDisagree,
        DiagnosticCode::RecordingOutsideClass,
        DiagnosticCode::ReadFromArchive,
    ];

    /// The code as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::RecordingWithoutPair => "recording_without_pair",
            DiagnosticCode::EventBeforeFirstPair => "event_before_first_pair",
            DiagnosticCode::ClockJumpWithoutPair => "clock_jump_without_pair",
            DiagnosticCode::ClockJumpBetweenPairs => "clock_jump_between_pairs",
            DiagnosticCode::RecordingsOverlap => "recordings_overlap",
            DiagnosticCode::RecordingsGap => "recordings_gap",
            DiagnosticCode::DurationMismatch => "duration_mismatch",
            DiagnosticCode::WhiteboardOutsideRecordings => "whiteboard_outside_recordings",
            DiagnosticCode::DuplicateSeq => "duplicate_seq",
            DiagnosticCode::HistoryHole => "history_hole",
            DiagnosticCode::ClassStartMissing => "class_start_missing",
            DiagnosticCode::ClassEndMissing => "class_end_missing",
            DiagnosticCode::OffsetUncertain => "offset_uncertain",
            DiagnosticCode::PairLowPrecision => "pair_low_precision",
            DiagnosticCode::UnreadableMessage => "unreadable_message",
            DiagnosticCode::MessageNotSent => "message_not_sent",
            DiagnosticCode::ReadingsDisagree => "readings_disagree",
            DiagnosticCode::RecordingOutsideClass => "recording_outside_class",
            DiagnosticCode::ReadFromArchive => "read_from_archive",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            DiagnosticCode::RecordingWithoutPair
            | DiagnosticCode::ClockJumpWithoutPair
            | DiagnosticCode::DuplicateSeq => Severity::Error,
            DiagnosticCode::EventBeforeFirstPair
            | DiagnosticCode::RecordingsOverlap
            | DiagnosticCode::RecordingsGap
            | DiagnosticCode::DurationMismatch
            | DiagnosticCode::WhiteboardOutsideRecordings
            | DiagnosticCode::HistoryHole
            | DiagnosticCode::ClassStartMissing
            | DiagnosticCode::ClassEndMissing
            | DiagnosticCode::OffsetUncertain
            | DiagnosticCode::UnreadableMessage
            | DiagnosticCode::MessageNotSent
            | DiagnosticCode::RecordingOutsideClass => Severity::Warning,
            DiagnosticCode::ClockJumpBetweenPairs
            | DiagnosticCode::PairLowPrecision
            | DiagnosticCode::ReadingsDisagree
            | DiagnosticCode::ReadFromArchive => Severity::Info,
        }
    }

    /// What the finding means, in plain words.
    pub fn explanation(self) -> &'static str {
        match self {
            DiagnosticCode::RecordingWithoutPair => {
                "This user's video has no timeline report (1003) for the user, so the video \
                 cannot be tied to the user's clock; it is placed by the recording callback's \
                 start_time alone, which can be seconds off."
            }
            DiagnosticCode::EventBeforeFirstPair => {
                "These events were stamped before the user's first timeline report, so their \
                 time is extrapolated backwards; if the clock slept or restarted in between, \
                 they land at the wrong moment."
            }
            DiagnosticCode::ClockJumpWithoutPair => {
                "The user's clock jumped (sleep, reboot, or a changed clock) and no new timeline \
                 report followed, so events after the jump are placed at the wrong time. The \
                 client should report a 1003 again after waking or restarting."
            }
            DiagnosticCode::ClockJumpBetweenPairs => {
                "The user's clock jumped between two timeline reports (sleep, reboot); the newer \
                 report is used from its time on, so the replay stays in sync."
            }
            DiagnosticCode::RecordingsOverlap => {
                "Two videos of the same user cover the same time; a player may show either, or \
                 jump between them."
            }
            DiagnosticCode::RecordingsGap => {
                "There is time between two videos of the same user with no video: that part of \
                 the class shows no camera for this user (a stream dropped or a file is missing)."
            }
            DiagnosticCode::DurationMismatch => {
                "The recording callback's duration disagrees with end_time − start_time; the file \
                 may be cut short or the callback's times may be off, so positions near the end \
                 are uncertain."
            }
            DiagnosticCode::WhiteboardOutsideRecordings => {
                "This whiteboard data falls outside every video, so no video position shows it \
                 during replay."
            }
            DiagnosticCode::DuplicateSeq => {
                "Two different messages carry the same seq; players tell messages apart by seq, \
                 so one of them may be dropped or shown in place of the other."
            }
            DiagnosticCode::ReadFromArchive => {
                "The IM no longer keeps these messages (they are older than its retention); \
                 they were read from ReplayDesk's archive of the group, as the IM returned them \
                 when they were archived."
            }
            DiagnosticCode::HistoryHole => {
                "The group's history has a hole here (expired, failed to store, or recalled); \
                 whatever was there is not replayed."
            }
            DiagnosticCode::ClassStartMissing => {
                "There is no class-start message (1001); players may not know where the class \
                 begins."
            }
            DiagnosticCode::ClassEndMissing => {
                "There is no class-end message (1002); players may not know where the class \
                 ends (it may still be running)."
            }
            DiagnosticCode::OffsetUncertain => {
                "The timeline report's round trip was long, so this user's events may be off by \
                 up to the uncertainty shown."
            }
            DiagnosticCode::PairLowPrecision => {
                "This timeline report carries no time_line (a group written by the public \
                 reference server), so the IM service's receipt time in whole seconds stands in: \
                 this user's events may be off by about a second plus the network delay."
            }
            DiagnosticCode::UnreadableMessage => {
                "A custom message could not be read as a replay message; players will ignore it."
            }
            DiagnosticCode::MessageNotSent => {
                "ReplayDesk has not (yet) delivered this message to the group, so the replay \
                 does not have it."
            }
            DiagnosticCode::ReadingsDisagree => {
                "The recording's media_start_time can be read two ways (a reading of the \
                 user's own clock, or an offset from the stream's start) and the two place \
                 the video far apart. The reading with more evidence (agreement with the \
                 callback's start_time, with the class's start and end, with the user's \
                 timeline reports) was chosen, and the recording says why; if that choice is \
                 wrong, this user's video is off by the difference shown."
            }
            DiagnosticCode::RecordingOutsideClass => {
                "This video, as placed, does not overlap the class at all: either it belongs \
                 to another class, or its placement is wrong (a client clock that restarted, \
                 a wrong start_time), and a player will not show it during the class."
            }
        }
    }
}

impl std::fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
