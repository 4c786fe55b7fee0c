//! Rows as the rest of the program sees them, with enumerations instead of strings.

use replaydesk_protocol::MessageType;
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// Where a message's delivery stands.
    MessageStatus {
        Pending => "pending",
        Sending => "sending",
        Sent => "sent",
        Retrying => "retrying",
        Failed => "failed",
    }
}

text_enum! {
    /// What started an attempt.
    Trigger {
        Scheduled => "scheduled",
        Manual => "manual",
        Bulk => "bulk",
        Recovery => "recovery",
    }
}

text_enum! {
    /// What one attempt came to.
    AttemptOutcome {
        Sent => "sent",
        /// A transient failure (internal error): retried on the schedule.
        Retry => "retry",
        /// A frequency limit: retried later without using up the schedule.
        SlowDown => "slow_down",
        /// Refused for good (bad parameter, group missing, ...): the message failed.
        Permanent => "permanent",
        /// The IM credentials are wrong: sending paused, the message waits.
        Credentials => "credentials",
        /// Timeout or lost response after the request left: it may have landed.
        Ambiguous => "ambiguous",
        /// An ambiguous earlier attempt was found in the group's history: marked sent.
        FoundInHistory => "found_in_history",
        /// The process stopped while the attempt was in flight (found at start-up).
        Interrupted => "interrupted",
    }
}

/// A message as stored, with where its delivery stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub id: i64,
    pub class_id: String,
    pub group_id: String,
    pub msg_type: MessageType,
    pub uid: String,
    pub seq: u64,
    pub random: u32,
    /// The exact `Data` text sent to the group.
    pub data: String,
    pub status: MessageStatus,
    pub attempt_count: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub im_msg_seq: Option<i64>,
    pub im_msg_time: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: i64,
    pub message_id: i64,
    pub trigger: Trigger,
    pub random: u32,
    pub started_at: i64,
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    pub im_error_code: Option<i64>,
    pub im_error_info: Option<String>,
    pub transport_error: Option<String>,
    pub outcome: AttemptOutcome,
}

/// A condition the console shows until it is cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    /// `im_credentials` (sending paused), `group_missing` (a class's IM group does not
    /// exist; fixed by `POST /v1/admin/classes/{class_id}/create-group`), ...
    pub kind: String,
    /// The class the alert is about, if it is about one.
    pub class_id: Option<String>,
    pub detail: String,
    pub raised_at: i64,
    pub cleared_at: Option<i64>,
}
