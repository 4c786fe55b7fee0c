//! The IM service's server-side REST API: wire format, UserSig, and how each answer is
//! to be handled.

pub mod client;
pub mod errors;
pub mod history;
pub mod usersig;
pub mod wire;

pub use errors::{classify_code, ErrorClass};
pub use history::{classify, HistoryItem};
