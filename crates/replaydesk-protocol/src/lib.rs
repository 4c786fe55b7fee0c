//! The classroom replay protocol's custom messages (docs/protocol.md section 1).
//!
//! Writing is exact: field names and order as the reference servers write them, integers as
//! JSON integers, compact JSON. Reading is lenient, as ReplayGroups written by other servers
//! demand: numbers may arrive as floats or strings, unknown fields are kept.

mod client_time;
mod duplicate_keys;
mod envelope;
mod error;
mod lenient;
mod message;
pub mod secret;

pub use client_time::{client_add_ms, client_delta_ms, client_delta_ms_with, ClockWidth};
pub use duplicate_keys::no_duplicate_keys;
pub use envelope::{check_size, msg_body_size, CustomElem, MsgBodyElem, MAX_MSG_BODY_BYTES};
pub use error::ProtocolError;
pub use lenient::{lenient_integer, shortened};
pub use message::{MessageType, Payload, RecordingValue, ReplayMessage, Seq, UserValue};
pub use secret::Secret;

/// The `Ext` the whiteboard SDK puts on its custom messages.
pub const WHITEBOARD_EXT: &str = "TXWhiteBoardExt";

#[cfg(test)]
mod tests;
