//! The embedded backend: at launch the app starts, in the background, the same service and HTTP listener as
//! `replaydesk serve` ([`replaydesk_server::launch`]), from the same keys and
//! `REPLAYDESK_*` variables plus the app config dir's `replaydesk.toml`, with its SQLite
//! file in the app data dir; at quit it shuts it down gracefully.

use replaydesk_clock::NativeClock;
use replaydesk_host::{server_url_for, Host, CLOCK_CHECK_INTERVAL};
use replaydesk_server::{launch, ServerHandle};
use replaydesk_service::api::ErrorBody;
use replaydesk_service::config::Config;
use replaydesk_service::secret_store::SecretStore;
use replaydesk_service::ServiceError;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::ipc::Invoke;
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

/// How far the backend's start has come: managed before the window paints, so that a
/// command from the console waits for the backend instead of failing on state that is not
/// there yet ([`after_start`]).
#[derive(Debug, Clone)]
pub enum Startup {
    Starting,
    Ready,
    Failed(String),
}

/// The watch the commands wait on (managed state).
pub struct Started(tokio::sync::watch::Receiver<Startup>);

/// A start not yet done: the sender that tells how it ends, and the [`Started`] to manage.
pub fn starting() -> (tokio::sync::watch::Sender<Startup>, Started) {
    let (tell, watch) = tokio::sync::watch::channel(Startup::Starting);
    (tell, Started(watch))
}

/// Wraps the command handler so that every command runs only once the backend has started:
/// before that, the call waits (on Tauri's async runtime) and then runs as usual; if the
/// start failed, it is rejected with the reason. Without [`Started`] in managed state (a
/// test that starts its own backend) commands run at once.
pub fn after_start<R: Runtime>(
    commands: impl Fn(Invoke<R>) -> bool + Send + Sync + 'static,
) -> impl Fn(Invoke<R>) -> bool + Send + Sync + 'static {
    let commands = Arc::new(commands);
    move |invoke: Invoke<R>| {
        let Some(started) = invoke.message.webview_ref().try_state::<Started>() else {
            return commands(invoke);
        };
        let mut watch = started.0.clone();
        if matches!(*watch.borrow(), Startup::Ready) {
            return commands(invoke);
        }
        let commands = commands.clone();
        tauri::async_runtime::spawn(async move {
            let command = invoke.message.command().to_owned();
            let resolver = invoke.resolver.clone();
            let outcome = watch
                .wait_for(|s| !matches!(s, Startup::Starting))
                .await
                .map(|s| s.clone());
            match outcome {
                Ok(Startup::Failed(reason)) => resolver.reject(ErrorBody::from(
                    ServiceError::Unavailable(format!("the backend could not start: {reason}")),
                )),
                Ok(_) => {
                    if !commands(invoke) {
                        resolver.reject(format!("Command {command} not found"));
                    }
                }
                Err(_) => resolver.reject(ErrorBody::from(ServiceError::Unavailable(
                    "the backend is stopping".into(),
                ))),
            }
        });
        // Accepted: the spawned task answers it (or says it does not exist).
        true
    }
}

/// Starts the backend on Tauri's async runtime and returns at once, so that the window
/// and the console's shell paint while it starts (creating or migrating the database, the
/// sandbox emulator, the listener); the commands wait for it ([`after_start`]). When it is
/// up, `ReplayDesk`, `Host` and `DesktopPaths` are in managed state. A start that fails
/// (a taken listen address, a bad config file) ends the app with one plain line, as before.
pub fn start<R: Runtime>(app: &tauri::App<R>) -> Result<(), Box<dyn std::error::Error>> {
    let config_dir = app.path().app_config_dir()?;
    let data_dir = app.path().app_data_dir()?;
    let (tell, started) = starting();
    app.manage(started);
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        match start_backend(&handle, config_dir, data_dir).await {
            Ok(()) => {
                tell.send_replace(Startup::Ready);
            }
            Err(e) => {
                eprintln!("ReplayDesk could not start: {e}");
                tell.send_replace(Startup::Failed(e.to_string()));
                std::process::exit(1);
            }
        }
    });
    Ok(())
}

async fn start_backend<R: Runtime>(
    app: &AppHandle<R>,
    config_dir: PathBuf,
    data_dir: PathBuf,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
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
    let handle = launch(config).await?;
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
