//! ReplayDesk: the business-server side of the classroom replay protocol.
//!
//! The library holds every capability once; the `replaydesk` CLI, the HTTP server and the
//! Tauri desktop shell are thin adapters over it. It has no Tauri dependency.

pub mod app;
pub mod clock;
pub mod delivery;
pub mod emulator;
pub mod im;
pub mod protocol;
pub mod secret;
pub mod store;

pub use app::AppInfo;
