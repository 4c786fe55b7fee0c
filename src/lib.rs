//! ReplayDesk: the business-server side of the classroom replay protocol.
//!
//! The library holds every capability once; the `replaydesk` CLI, the HTTP server and the
//! Tauri desktop shell are thin adapters over it. It has no Tauri dependency.

pub mod align;
pub mod app;
pub mod callback;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod emulator;
pub mod im;
pub mod logging;
pub mod protocol;
pub mod secret;
pub mod server;
pub mod service;
pub mod signals;
pub mod store;

pub use app::AppInfo;
