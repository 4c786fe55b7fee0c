//! TRTC cloud-recording callbacks (docs/protocol.md section 4, "TRTC cloud recording"):
//! verifying the `Sign` header over the raw body, reading the body, and what each event
//! means for a recording's life and for a 1004. Pure: no database, no HTTP.
//!
//! The server's order of work for one `POST /v1/callbacks/trtc`:
//!
//! 1. [`verify_sign`]: `Sign` = base64(HMAC-SHA256(key, raw body)), compared in constant
//!    time, before the body is read; then [`check_app`] (the `SdkAppId` header).
//! 2. [`TrtcCallback::parse`]; a body that verifies but does not read is refused (422).
//! 3. [`check_fresh`]: the body carries no expiry, so its `CallbackTs` must be recent.
//! 4. [`describe`] the event (its name and stage) and list the [`files`] it names; a
//!    complete file with a playable URL becomes a 1004 ([`trtc_recording_value`]), one
//!    per [`file_key`] however often the event repeats ([`event_key`]).

mod event;
mod parse;
mod verify;

pub use event::{
    describe, event_key, file_key, files, trtc_recording_value, FileStorage, LifeStage, TrtcFile,
};
pub use parse::{TrtcCallback, EVENT_GROUP_CLOUD_RECORDING, EVENT_GROUP_PAGE_RECORDING};
pub use verify::{
    check_app, check_fresh, sign_body, verify_sign, TrtcRefusal, MAX_AGE_MS, MAX_AHEAD_MS,
};

#[cfg(test)]
mod tests;
