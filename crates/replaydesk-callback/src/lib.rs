//! The recording callback (docs/protocol.md section 4): reading, verifying, classifying and
//! mapping it, and the 1004 message it becomes. Pure: no database, no HTTP.
//!
//! The server's order of work for one `POST /v1/callbacks/recording`:
//!
//! 1. [`RecordingCallback::parse`] the body (keep the body whatever happens); a failure is
//!    a refusal (`Refusal::from(error)`, reason `not_json`, `missing_field`, ...).
//! 2. [`verify`] its sign and expiry; a [`Refusal`] is stored with [`Refusal::reason`].
//! 3. [`classify`]: anything but `event_type` 100 is acknowledged and ignored.
//! 4. [`file_key`]: a callback for a file already recorded is the same message again.
//! 5. [`map_recording`] against a [`ClassDirectory`] (e.g. a [`ClassSnapshot`] loaded
//!    first); [`Mapping::Unmatched`] is kept for an admin, never dropped.
//! 6. [`recording_message`] (or [`recording_value`]) with a fresh `seq` and the server's
//!    unix seconds, stored durably before the callback is acknowledged.

mod mapping;
mod parse;
mod payload;
pub mod trtc;
mod verify;

pub use mapping::{candidate_keys, CandidateKeys};
pub use mapping::{
    decode_userid, legacy_hash, map_recording, stream_media, stream_room_and_user, ClassDirectory,
    ClassRef, ClassSnapshot, Mapping, MatchRule,
};
pub use parse::{CallbackError, RecordingCallback, EVENT_RECORDING_READY};
pub use payload::{
    classify, file_key, missing_for_1004, recording_message, recording_value, Classification,
};
pub use verify::{expected_sign, verify, Refusal, MAX_T_AHEAD_S};
