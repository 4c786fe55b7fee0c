//! ReplayDesk: the business-server side of the classroom replay protocol.
//!
//! The library holds every capability once; the `replaydesk` CLI, the HTTP server and the
//! Tauri desktop shell are thin adapters over it. It has no Tauri dependency.

pub mod align;
pub mod app;
pub mod callback;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod emulator;
pub mod fsmode;
pub mod host;
pub mod im;
pub mod logging;
pub mod protocol;
pub mod secret;
pub mod secret_store;
pub mod server;
pub mod service;
pub mod settings;
pub mod signals;
pub mod store;

pub use app::AppInfo;
/// The machine's clocks live in their own crate (no C build dependencies, so it checks for
/// macOS and Windows targets from here); re-exported under the old path.
pub use replaydesk_clock as clock;
pub use service::ReplayDesk;
