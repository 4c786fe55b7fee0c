//! The classroom replay protocol's custom messages (docs/protocol.md section 1).
//!
//! Writing is exact: field names and order as the reference servers write them, integers as
//! JSON integers, compact JSON. Reading is lenient, as ReplayGroups written by other servers
//! demand: numbers may arrive as floats or strings, unknown fields are kept.

mod client_time;
mod envelope;
mod error;
mod history;
mod lenient;
mod message;

pub use client_time::{client_add_ms, client_delta_ms, client_delta_ms_with, ClockWidth};
pub use envelope::{check_size, msg_body_size, CustomElem, MsgBodyElem, MAX_MSG_BODY_BYTES};
pub use error::ProtocolError;
pub use history::{classify, HistoryItem, WHITEBOARD_EXT};
pub use lenient::lenient_integer;
pub use message::{MessageType, Payload, RecordingValue, ReplayMessage, Seq, UserValue};

#[cfg(test)]
mod tests;
