//! The embedded backend: at launch the app starts the same service and HTTP listener as
//! `replaydesk serve` ([`replaydesk_server::launch`]), from the same keys and
//! `REPLAYDESK_*` variables plus the app config dir's `replaydesk.toml`, with its SQLite
//! file in the app data dir; at quit it shuts it down gracefully.

use replaydesk_clock::NativeClock;
use replaydesk_host::{server_url_for, Host, CLOCK_CHECK_INTERVAL};
use replaydesk_server::{launch, ServerHandle};
use replaydesk_service::config::Config;
use replaydesk_service::secret_store::SecretStore;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Manager, Runtime};

/// Where this app keeps its files (managed state, for the settings commands).
#[derive(Debug, Clone)]
pub struct DesktopPaths {
    /// `replaydesk.toml` in the app config dir (Settings writes it).
    pub config_file: PathBuf,
    /// The app data dir: `replaydesk.db`, `replaydesk.log`.
    pub data_dir: PathBuf,
    pub secrets: SecretStore,
}

/// The running server, taken at quit.
struct Running(Mutex<Option<ServerHandle>>);

/// The keyring service name secrets are kept under (the bundle identifier).
const KEYCHAIN_SERVICE: &str = "dev.replaydesk.desktop";

/// Starts the backend and puts `ReplayDesk`, `Host` and `DesktopPaths` in managed state.
pub fn start<R: Runtime>(app: &tauri::App<R>) -> Result<(), Box<dyn std::error::Error>> {
    let config_dir = app.path().app_config_dir()?;
    let data_dir = app.path().app_data_dir()?;
    if let Err(e) = replaydesk_server::logging::init_with_file(&data_dir.join("replaydesk.log")) {
        eprintln!(
            "replaydesk: cannot write the log file in {}: {e}",
            data_dir.display()
        );
        replaydesk_server::logging::init();
    }
    let secrets = SecretStore::keychain_or_file(KEYCHAIN_SERVICE, config_dir.join("secrets.toml"));
    let paths = DesktopPaths {
        config_file: config_dir.join(replaydesk_service::config::DEFAULT_CONFIG_FILE),
        data_dir: data_dir.clone(),
        secrets,
    };
    std::fs::create_dir_all(&data_dir)?;
    let config = Config::load_desktop(&paths.config_file, &data_dir, paths.secrets.clone())?;
    let handle = tauri::async_runtime::block_on(launch(config))?;
    let desk = handle.desk().clone();
    let host = Host::new(
        desk.clone(),
        Arc::new(NativeClock),
        server_url_for(handle.addr()),
    )
    .listening_on(handle.addr())
    .remembering_in(data_dir.join("hosting"));
    tracing::info!(config = %paths.config_file.display(), data = %data_dir.display(), "desktop backend started");
    app.manage(desk);
    app.manage(host.clone());
    app.manage(paths);
    app.manage(Running(Mutex::new(Some(handle))));
    // A class still running from before the last quit (or reboot) is hosted again, with a
    // fresh 1003; then the clock watch: a sleep, reboot or clock jump re-reports it.
    tauri::async_runtime::spawn(async move {
        host.resume().await;
        loop {
            tokio::time::sleep(CLOCK_CHECK_INTERVAL).await;
            host.check_clock().await;
        }
    });
    Ok(())
}

/// Stops the backend gracefully (once): no new connections, requests in flight answered,
/// queued reports committed, IM calls in flight recorded; unsent messages wait in the
/// database for the next launch.
pub async fn shutdown_async<R: Runtime>(app: &AppHandle<R>) {
    let handle = app
        .try_state::<Running>()
        .and_then(|r| r.0.lock().unwrap_or_else(|p| p.into_inner()).take());
    if let Some(h) = handle {
        tracing::info!("quitting: stopping the backend");
        h.shutdown().await;
        tracing::info!("backend stopped");
    }
}

/// [`shutdown_async`] from the main thread (the app's exit event).
pub fn shutdown<R: Runtime>(app: &AppHandle<R>) {
    tauri::async_runtime::block_on(shutdown_async(app));
}
