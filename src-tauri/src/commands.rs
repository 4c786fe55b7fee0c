//! The `#[tauri::command]`s the console calls over IPC. Each is a thin wrapper over the
//! `replaydesk` library, which is also what the HTTP API of `replaydesk serve` calls, so
//! both doors answer alike.

use replaydesk::AppInfo;

/// Version and IM mode of this instance (the HTTP door's `GET /v1/info`).
#[tauri::command]
pub fn app_info() -> AppInfo {
    AppInfo::from_env()
}
