//! Settings: read and save the IM connection, rate limits and listen address (the app's
//! `replaydesk.toml`) and the secrets (OS keychain or a 0600 file). Secrets are write-only:
//! no command returns one. Saved settings apply at the next start (`restart_app`).

use super::ErrorBody;
use crate::backend::DesktopPaths;
use replaydesk_host::settings::{self, Settings, SettingsError, SettingsUpdate};
use replaydesk_service::{ReplayDesk, ServiceError};

fn error_body(e: SettingsError) -> ErrorBody {
    match e {
        SettingsError::Invalid { .. } => ServiceError::Invalid(e.to_string()).into(),
        other => ServiceError::Internal(other.to_string()).into(),
    }
}

/// The running backend's address, next to what the file says.
fn with_listening(mut s: Settings, desk: &ReplayDesk) -> Settings {
    s.listening_on = Some(desk.config().listen.to_string());
    s
}

#[tauri::command]
pub fn get_settings(
    paths: tauri::State<'_, DesktopPaths>,
    desk: tauri::State<'_, ReplayDesk>,
) -> Result<Settings, ErrorBody> {
    let s = settings::read(&paths.config_file, &paths.secrets).map_err(error_body)?;
    Ok(with_listening(s, &desk))
}

/// Checks the whole change, then keeps it; nothing is kept when a field is wrong.
#[tauri::command]
pub fn save_settings(
    paths: tauri::State<'_, DesktopPaths>,
    desk: tauri::State<'_, ReplayDesk>,
    body: SettingsUpdate,
) -> Result<Settings, ErrorBody> {
    let saved = settings::save(&paths.config_file, &paths.secrets, &body).map_err(error_body)?;
    tracing::info!(file = %paths.config_file.display(), "settings saved (apply at the next start)");
    Ok(with_listening(saved, &desk))
}

/// Restarts the app so saved settings take effect (the backend shuts down gracefully
/// first, as on quit).
#[tauri::command]
pub async fn restart_app<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    crate::backend::shutdown_async(&app).await;
    app.restart();
}
