//! The `#[tauri::command]`s the console calls over IPC. Each is a thin wrapper over the
//! `replaydesk` library, which is also what the HTTP API of `replaydesk serve` calls, so
//! both doors answer alike. One module per area: [`admin`] holds the twins of the admin
//! HTTP routes (one command per route, same name as the route's handler); [`host`] and
//! [`settings`] the desktop app's own. Errors are [`ApiError`]s: the same
//! `{"error","detail"}` JSON as the HTTP API's error bodies.

pub mod admin;
pub mod align;
pub mod host;
pub mod settings;

pub use replaydesk::server::error::ApiError;
use replaydesk::{AppInfo, ReplayDesk};

/// Commands with no HTTP admin route to twin (the route-parity test skips these and only
/// these). Desktop-only commands (host, settings) are added here.
pub const DESKTOP_ONLY: &[&str] = &[
    "app_info",
    "host_create_class",
    "host_list_classes",
    "host_start_class",
    "host_end_class",
    "host_status",
    "host_join_info",
    "get_settings",
    "save_settings",
    "restart_app",
];

/// Version and IM mode of the running backend (the HTTP door's `GET /v1/info`).
#[tauri::command]
pub fn app_info(state: tauri::State<'_, ReplayDesk>) -> AppInfo {
    state.info()
}
