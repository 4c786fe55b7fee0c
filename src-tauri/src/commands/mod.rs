//! The `#[tauri::command]`s the console calls over IPC, thin wrappers over the
//! `replaydesk` library. [`operation`] is the one door of every console operation (the
//! library's operation table, which the HTTP API is built from too); [`host`] and
//! [`settings`] are the desktop app's own. Errors are [`ErrorBody`]s: the same
//! `{"error","detail"}` JSON as the HTTP API's error bodies (no HTTP status: IPC has none).

pub mod host;
pub mod operation;
pub mod settings;

pub use replaydesk_service::api::ErrorBody;
use replaydesk_service::{AppInfo, ReplayDesk};

/// Version and IM mode of the running backend (the HTTP door's `GET /v1/info`).
#[tauri::command]
pub fn app_info(state: tauri::State<'_, ReplayDesk>) -> AppInfo {
    state.info()
}
