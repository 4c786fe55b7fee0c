//! What the host commands take and give (ts-rs types for the host view).

use replaydesk_service::api::models::ClassRecord;
use replaydesk_service::heartbeat::MemberPresence;
use replaydesk_service::StatusCounts;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Start pressed: the 1001 and the teacher's 1003 are stored and on their way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HostStarted {
    #[ts(type = "number")]
    pub start_message_id: i64,
    #[ts(type = "number")]
    pub timeline_message_id: i64,
    /// The native clock reading both carry, ms.
    #[ts(type = "number")]
    pub timestamp: u64,
}

/// A sleep, reboot or clock jump this machine noticed, and the 1003 re-reported for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ClockEvent {
    /// When it was noticed, unix ms.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// In words, e.g. "the computer slept for about 12 min".
    pub what: String,
    /// The class hosted at the time, if any.
    pub class_id: Option<String>,
    /// The teacher's new 1003, when one was sent.
    #[ts(type = "number | null")]
    pub timeline_message_id: Option<i64>,
    /// Why no 1003 could be recorded, if so.
    pub error: Option<String>,
}

/// What students' clients need to report to this class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct JoinInfo {
    /// The base URL of this machine's ReplayDesk as students' clients reach it.
    pub server_url: String,
    pub class_id: String,
    /// The member this join info is for, when one was named.
    pub uid: Option<String>,
    /// That member's own report credential (Bearer); speaks for that uid only.
    pub credential: Option<String>,
    /// Which credential students use, in words.
    pub credential_note: String,
    /// The same as text, one `key: value` a line.
    pub text: String,
    /// The same as a QR code (SVG markup, no scripts; shown as an image).
    pub qr_svg: String,
    /// False when `server_url` is this machine's loopback (127.0.0.1, ::1, localhost),
    /// which no student's device can use.
    pub reachable: bool,
    /// Why students cannot join with this, and what to do, when `reachable` is false.
    pub warning: Option<String>,
    /// This machine's addresses students' devices could use (the routing table's choice
    /// first); while ReplayDesk listens on loopback only, they answer once it listens on
    /// the network.
    pub addresses: Vec<JoinAddress>,
}

/// One address of this machine, as a base URL for students' clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct JoinAddress {
    pub url: String,
    /// The network interface it belongs to (e.g. `wlan0`, `en0`), when known.
    pub interface: Option<String>,
}

/// The host view of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HostStatus {
    pub class: ClassRecord,
    /// True while this app hosts the class (started here, not yet ended).
    pub hosting: bool,
    pub counts: StatusCounts,
    /// The newest delivery problem of the class in words, if any.
    pub last_error: Option<String>,
    /// Sleeps, reboots and clock jumps noticed while hosting it, newest first.
    pub clock_events: Vec<ClockEvent>,
    pub join: JoinInfo,
    /// Who is in the class now, from heartbeats (the teacher's own, sent by this app while
    /// hosting, among them).
    pub members: Vec<MemberPresence>,
}
