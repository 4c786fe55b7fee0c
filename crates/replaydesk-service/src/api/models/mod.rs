//! The API's own types for what the store keeps as rows: the JSON both doors answer, and
//! the TypeScript (ts-rs) and OpenAPI (utoipa) types the console and the document name.
//!
//! The store's rows (`replaydesk_store`) are the database's shape; these are the API's.
//! Each model is made from its row by a `From` that destructures the row field by field,
//! so a column added to a table is not published until someone adds it here on purpose
//! (the `From` stops compiling until then), and a row can change without the API
//! changing. The enumerations are mirrored the same way: a variant added to the store's
//! enumeration stops the `match` in its `From` from compiling.
//!
//! The names, fields and serde attributes are those the rows had when they were the API,
//! so the JSON bodies and the console's TypeScript types did not change when the API got
//! its own types.
//!
//! `ClassRecord`, `Member`, `StoredMessage`, `Attempt` and `ReportFacts` also read
//! (`Deserialize`) and convert back into rows: the class bundle (`crate::export`) is a
//! persisted format that `import_class` reads again, and it is written and read with these
//! models, in the same wire format the rows had.

use replaydesk_protocol::MessageType;
use replaydesk_store as store;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

// Named by `RecordingCallbackRecord`'s doc comments (kept word for word from the row's).
#[cfg(doc)]
use replaydesk_store::{LIST_BODY_PREVIEW_BYTES, REFUSED_BODY_SAMPLE_BYTES};

mod alerts;
mod audit;
mod callbacks;
mod classes;
mod jobs;
mod messages;
mod recorder;
mod reports;
#[cfg(test)]
mod tests;

pub use alerts::*;
pub use audit::*;
pub use callbacks::*;
pub use classes::*;
pub use jobs::*;
pub use messages::*;
pub use recorder::*;
pub use reports::*;

/// An enumeration of the API mirroring one of the store's, variant for variant, with the
/// same snake_case names, and `From` both ways (exhaustive `match`es, no wildcard).
macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[ts(export)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl From<store::$name> for $name {
            fn from(v: store::$name) -> Self {
                match v { $(store::$name::$variant => Self::$variant),+ }
            }
        }

        impl From<$name> for store::$name {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => Self::$variant),+ }
            }
        }
    };
}

api_enum! {
    /// Where a message's delivery stands.
    MessageStatus {
        Pending,
        Sending,
        Sent,
        Retrying,
        Failed,
    }
}

api_enum! {
    /// What started an attempt.
    Trigger {
        Scheduled,
        Manual,
        Bulk,
        Recovery,
    }
}

api_enum! {
    /// What one attempt came to.
    AttemptOutcome {
        Sent,
        /// A transient failure (internal error): retried on the schedule.
        Retry,
        /// A frequency limit: retried later without using up the schedule.
        SlowDown,
        /// Refused for good (bad parameter, group missing, ...): the message failed.
        Permanent,
        /// The IM credentials are wrong: sending paused, the message waits.
        Credentials,
        /// Timeout or lost response after the request left: it may have landed.
        Ambiguous,
        /// An ambiguous earlier attempt was found in the group's history: marked sent.
        FoundInHistory,
        /// The process stopped while the attempt was in flight (found at start-up).
        Interrupted,
    }
}

api_enum! {
    /// A class's lifecycle as its 1001/1002 messages tell it.
    ClassState {
        Created,
        Started,
        Ended,
    }
}

api_enum! {
    /// A member's part in a class: the class's teacher, or anyone else who reported.
    MemberRole {
        Teacher,
        Student,
    }
}

api_enum! {
    JobKind {
        BulkResend,
        RecoverFailed,
    }
}

api_enum! {
    JobState {
        /// Still choosing its messages (resumable from its cursor).
        Enqueuing,
        /// All its messages are queued; waiting for them to be sent or to fail.
        Running,
        /// Every message it took on is sent or failed.
        Finished,
    }
}

api_enum! {
    /// What became of a recording callback.
    CallbackStatus {
        /// A recording mapped to a class and user: its 1004 was stored with it.
        Accepted,
        /// The same file again: no new message; `message_id` is the file's 1004.
        Duplicate,
        /// The same file as the 1004 of another class or user (a reused or forged
        /// `file_id`): nothing sent; listed for an admin to look at.
        Conflict,
        /// Verified, but not a "recording file ready" event: acknowledged, nothing sent.
        Ignored,
        /// Unreadable, or its sign or expiry did not verify: nothing sent.
        Refused,
        /// Verified, but it maps to no class: kept for an admin to assign.
        Unmatched,
        /// Was unmatched; an admin chose its class and user, and its 1004 was stored.
        Assigned,
        /// Verified, and part of a recording's life without a file to announce (a recorder
        /// started or stopped, a slice, an error; a file with no playable URL): kept in the
        /// recorder life, nothing sent.
        Recorded,
    }
}

api_enum! {
    /// Which cloud sent a callback.
    CallbackSource {
        /// The live-streaming cloud (`POST /v1/callbacks/recording`).
        Css,
        /// TRTC cloud recording (`POST /v1/callbacks/trtc`).
        Trtc,
    }
}

api_enum! {
    /// Which cloud (or person) reported a recorder event.
    RecorderSource {
        Trtc,
        Css,
        /// A file an admin entered by hand.
        Manual,
    }
}

api_enum! {
    /// Where in a recorder's life an event stands.
    RecorderStage {
        Started,
        Stopped,
        Uploading,
        Slice,
        Ready,
        Error,
        Failover,
        Paused,
        Resumed,
        Other,
    }
}

api_enum! {
    /// What became of a recorder event.
    RecorderOutcome {
        /// Kept in the recorder's life; it announces no file.
        Kept,
        /// Its file's 1004 was made from it.
        Announced,
        /// Its file already had a 1004.
        AlreadyAnnounced,
        /// A file in object storage with no `recordings.cos_base_url`: no 1004.
        NoBaseUrl,
        /// Waiting in the callbacks inbox for an admin to assign it.
        Unmatched,
        /// Its file is already the 1004 of another class or user.
        Conflict,
    }
}

api_enum! {
    /// Where a reconcile run stands.
    ReconcileState {
        /// Fetching pages (or interrupted: a new request resumes from its cursor).
        Running,
        Finished,
        /// Stopped by an error; a new request resumes from its cursor.
        Failed,
    }
}

api_enum! {
    /// Where a class's archive stands.
    ArchiveState {
        /// Not (yet) read to the group's newest message.
        Pending,
        /// Every message up to `last_seq` is held.
        Complete,
        /// Read to the newest message, with holes.
        Partial,
        /// The last pass stopped on an error (see `error`).
        Failed,
    }
}

/// One page of a listing and the cursor for the next, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Page<T: TS> {
    pub items: Vec<T>,
    #[ts(type = "number | null")]
    pub next_cursor: Option<i64>,
}

impl<S, T: TS + From<S>> From<store::Page<S>> for Page<T> {
    fn from(p: store::Page<S>) -> Self {
        let store::Page { items, next_cursor } = p;
        Self {
            items: items.into_iter().map(T::from).collect(),
            next_cursor,
        }
    }
}
