//! The `#[tauri::command]`s the console calls over IPC. Each is a thin wrapper over the
//! `replaydesk` library, which is also what the HTTP API of `replaydesk serve` calls, so
//! both doors answer alike. One module per area: [`admin`] holds the twins of the admin
//! HTTP routes (one command per route, same name as the route's handler).

pub mod admin;
pub mod align;

use replaydesk::AppInfo;

/// Commands with no HTTP admin route to twin (the route-parity test skips these and only
/// these). Desktop-only commands (host, settings) are added here.
pub const DESKTOP_ONLY: &[&str] = &["app_info"];

/// Version and IM mode of this instance (the HTTP door's `GET /v1/info`).
#[tauri::command]
pub fn app_info() -> AppInfo {
    AppInfo::from_env()
}
