//! ReplayDesk: the business-server side of the classroom replay protocol.
//!
//! The library holds every capability once; the `replaydesk` CLI, the HTTP server and the
//! Tauri desktop shell are thin adapters over it. It has no Tauri dependency.

pub mod app;
pub mod config;
pub mod demo;
pub mod host;
pub mod logging;
pub mod secret_store;
pub mod server;
pub mod service;
pub mod settings;
pub mod signals;

pub use app::AppInfo;
pub use replaydesk_align as align;
pub use replaydesk_callback as callback;
pub use replaydesk_delivery as delivery;
pub use replaydesk_emulator as emulator;
pub use replaydesk_fsmode as fsmode;
pub use replaydesk_im as im;
pub use replaydesk_protocol::secret;
pub use replaydesk_store as store;

/// The protocol's crate, with reading a group's history (which needs the IM's wire types,
/// so it lives in the IM crate) under its old path.
pub mod protocol {
    pub use replaydesk_im::history::{classify, HistoryItem};
    pub use replaydesk_protocol::*;
}
/// The machine's clocks live in their own crate (no C build dependencies, so it checks for
/// macOS and Windows targets from here); re-exported under the old path.
pub use replaydesk_clock as clock;
pub use service::ReplayDesk;
