//! ReplayDesk: the business-server side of the classroom replay protocol.
//!
//! The root package is the `replaydesk` command line; this library is a facade that
//! re-exports the workspace's crates (`crates/`) under the module names the tests, benches
//! and fuzz targets use. The desktop-only host code (`replaydesk-host`) is not part of it:
//! only the desktop shell depends on that crate. Nothing here depends on Tauri.

pub mod demo;

pub use replaydesk_align as align;
pub use replaydesk_callback as callback;
pub use replaydesk_delivery as delivery;
pub use replaydesk_emulator as emulator;
pub use replaydesk_fsmode as fsmode;
pub use replaydesk_im as im;
pub use replaydesk_protocol::secret;
pub use replaydesk_server as server;
pub use replaydesk_server::{logging, signals};
pub use replaydesk_service as service;
pub use replaydesk_service::{app, config, secret_store, AppInfo};
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
