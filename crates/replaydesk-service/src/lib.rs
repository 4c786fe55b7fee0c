//! The library API: one [`ReplayDesk`] owns the store, the delivery worker and the
//! configuration, and offers every operation the console and the HTTP API need. The HTTP
//! handlers (and the Tauri commands) are thin adapters over it. Each resource's operations
//! live in a module of their own (classes, reports, messages, callbacks, operations).

mod align;
pub mod api;
pub mod app;
pub mod archive;
mod auth;
mod callbacks;
mod classes;
pub mod config;
mod console;
pub mod decode;
mod end_class;
mod error;
pub mod export;
mod filters;
mod health;
pub mod heartbeat;
pub mod import;
mod intake;
pub mod join;
mod messages;
mod operations;
pub mod people;
pub mod reconcile;
mod record_status;
pub mod recordings;
mod reports;
pub mod requests;
mod rooms;
pub mod secret_store;
mod trtc;
mod types;
pub mod validate;

pub use align::align_class;
pub use app::AppInfo;
pub use auth::{
    token_sha256, JoinCard, JoinSheet, MemberCredential, ReportGrant, MAX_SHEET_MEMBERS,
};
pub use callbacks::{
    AssignCallback, AssignedCallback, CallbackReceipt, UnassignedCallback, CALLBACKS_REFUSED_ALERT,
    CALLBACKS_REFUSED_THRESHOLD, CALLBACKS_REFUSED_WINDOW_MS,
};
pub use console::Console;
pub use error::{ServiceError, ServiceResult, StartError};
pub use export::{export_class, ClassBundle, HistoryItem, BUNDLE_FORMAT};
pub use health::{Health, Readiness, CACHE_FOR};
pub use import::{import_bundle, parse_bundle, read_bundle, BundleError, CheckedBundle};
pub use intake::MAX_BATCH;
pub use people::Principal;
pub use recordings::{
    ClassRecordings, EnteredRecording, MissingFile, Recorder, RECORDING_MISSING_ALERT,
};
pub use replaydesk_store::{Actor, Door};
pub use reports::{
    kept_report_body, time_line_for, ReportMeta, REFUSED_REPORT_SAMPLE_BYTES,
    REPORT_MAX_BODY_BYTES, TIMELINE_FIELDS,
};
pub use trtc::TrtcReceipt;
pub use types::*;

use crate::config::{random_token, Config, ConfigError};
use crate::secret_store::{SecretName, SecretStore};
use intake::{Intake, IntakeCounters};
use parking_lot::Mutex;
use replaydesk_clock::unix_ms_now;
use replaydesk_delivery::{Delivery, WorkerHandle};
use replaydesk_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use replaydesk_im::client::{ImClient, ImConfig};
use replaydesk_protocol::secret::Secret;
use replaydesk_store::Store;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Default and largest page sizes of listings.
pub const DEFAULT_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1000;

struct Inner {
    config: Config,
    admin_token: Secret,
    info: AppInfo,
    store: Store,
    delivery: Delivery,
    worker: Mutex<Option<WorkerHandle>>,
    intake: Intake,
    counters: Arc<IntakeCounters>,
    refused: AtomicU64,
    /// Failed sign-ins per source and per unknown name (see `people::throttle`).
    throttle: people::Throttle,
    watch: health::Watch,
    emulator: Option<Emulator>,
    emulator_handle: Mutex<Option<EmulatorHandle>>,
    stopped: AtomicBool,
    /// Set when a stop is asked for, before requests in flight are finished (`/readyz`).
    stopping: AtomicBool,
    /// SHA-256 of the IM secret key the configuration gave at start ("" when none): a key
    /// fixed at run time is kept with it, and used after a restart only while the
    /// configuration still gives that same key.
    configured_key_sha256: String,
    /// Stops the missing-recordings check (`recordings::watch_missing`).
    stop_checks: tokio::sync::watch::Sender<bool>,
    checks: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The archiver's clock (started once the desk exists: it starts passes through it).
    archiver: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Archive passes running in this process, waited for at shutdown (each stops
    /// between two pages once stopping).
    archive_passes: Arc<Mutex<tokio::task::JoinSet<()>>>,
    /// The IM app messages go to (in sandbox mode the emulator's): a TRTC callback's
    /// `SdkAppId` must be it (TRTC and IM share the app in TIC).
    sdkappid: u64,
    /// How many TRTC refusals were logged this minute (see `trtc::RefusalLog`).
    trtc_refusal_log: trtc::RefusalLog,
    /// Every member's tracked clock on this node (see `heartbeat`).
    heartbeats: heartbeat::Tracker,
    /// Writes the presence summaries and ends silent classes (`heartbeat::heartbeat_loop`).
    heartbeat_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The backend: every operation once. Cheap to clone.
#[derive(Clone)]
pub struct ReplayDesk {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ReplayDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayDesk")
            .field("info", &self.inner.info)
            .field(
                "db",
                &replaydesk_store::db_for_display(&self.inner.config.db),
            )
            .finish_non_exhaustive()
    }
}

/// The IM key an admin fixed at run time, if it replaced the key configured now. A fixed key
/// that replaced another one is stale (the configuration changed since) and is dropped.
fn fixed_secret_key(store: &SecretStore, configured_key_sha256: &str) -> Option<Secret> {
    let fixed = match store.get(&SecretName::FixedImSecretKey) {
        Ok(Some(k)) => k,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the IM secret key fixed at run time; using the configured one");
            return None;
        }
    };
    let replaces = store
        .get(&SecretName::FixedImSecretKeyReplaces)
        .ok()
        .flatten();
    if replaces.as_ref().map(Secret::expose) == Some(configured_key_sha256) {
        return Some(fixed);
    }
    tracing::info!("the configured IM secret key changed since one was fixed at run time: using the configured key");
    for name in [
        SecretName::FixedImSecretKey,
        SecretName::FixedImSecretKeyReplaces,
    ] {
        if let Err(e) = store.set(&name, None) {
            tracing::warn!(error = %e, "cannot drop the stale fixed IM secret key");
        }
    }
    None
}

impl ReplayDesk {
    /// Opens the store and starts the delivery worker. With no IM endpoint configured it
    /// starts the IM emulator in process on 127.0.0.1 (sandbox mode) and sends there. An
    /// unset admin token is generated (read it with [`ReplayDesk::admin_token`]).
    pub async fn start(mut config: Config) -> Result<Self, StartError> {
        config.ensure_admin_token();
        let configured_key_sha256 = config
            .im
            .secret_key
            .as_ref()
            .map(|k| token_sha256(k.expose()))
            .unwrap_or_default();
        if let Some(store) = &config.secret_store {
            if let Some(fixed) = fixed_secret_key(store, &configured_key_sha256) {
                tracing::info!("using the IM secret key an admin fixed at run time (kept in {}), not the configured one", store.describe());
                config.im.secret_key = Some(fixed);
            }
        }
        let admin_token = config
            .admin_token
            .clone()
            .unwrap_or_else(|| Secret::new(random_token()));
        let delivery_config = config.delivery.to_delivery_config()?;
        let (im_config, emulator_handle) = match &config.im.endpoint {
            Some(endpoint) => {
                let sdkappid = config.im.sdkappid.ok_or_else(|| ConfigError::Invalid {
                    key: "im.sdkappid".into(),
                    message: "is required when im.endpoint is set".into(),
                })?;
                let key = config
                    .im
                    .secret_key
                    .clone()
                    .ok_or_else(|| ConfigError::Invalid {
                        key: "im.secret_key".into(),
                        message: "is required when im.endpoint is set".into(),
                    })?;
                (
                    ImConfig::new(endpoint.clone(), sdkappid, config.im.admin.clone(), key),
                    None,
                )
            }
            None => {
                let emu_config = EmulatorConfig::sandbox();
                let (sdkappid, admin, key) = (
                    emu_config.sdkappid,
                    emu_config.admin.clone(),
                    Secret::new(emu_config.secret_key.clone()),
                );
                // Its groups are kept beside the database, so that what was sent is still
                // in them after a restart (reconcile compares the two).
                let emu =
                    Emulator::new_persistent(emu_config, &sandbox_groups_file(&config.db)).await?;
                let listener =
                    tokio::net::TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                        .await
                        .map_err(replaydesk_emulator::EmulatorError::Io)?;
                let handle = emu.serve_im_only(listener)?;
                (
                    ImConfig::new(handle.base_url(), sdkappid, admin, key),
                    Some(handle),
                )
            }
        };
        let store = Store::open(&config.db).await?;
        let emulator = emulator_handle.as_ref().map(|h| h.emulator().clone());
        if let Some(emu) = &emulator {
            // Groups saved beside the database are back; a class whose group is not (a
            // database from before, or the file removed) gets an empty one.
            for class in store.classes().await? {
                let _ = emu.create_group_direct(&class.group_id);
            }
            tracing::warn!(
                "SANDBOX MODE: no IM endpoint configured; messages go to the built-in IM emulator (its groups kept in {})",
                sandbox_groups_file(&config.db).display()
            );
            if config.im.sdkappid.is_some() || config.im.secret_key.is_some() {
                tracing::warn!("im.sdkappid / im.secret_key are ignored: im.endpoint is not set");
            }
        }
        let sdkappid = im_config.sdkappid;
        let im = Arc::new(ImClient::new(im_config)?);
        let delivery = Delivery::new(store.clone(), im, delivery_config);
        let worker = delivery.start().await?;
        let counters = Arc::new(IntakeCounters::default());
        let intake = Intake::start(store.clone(), delivery.clone(), counters.clone());
        let info = AppInfo::new(config.im.endpoint.as_deref());
        let (stop_checks, stop_rx) = tokio::sync::watch::channel(false);
        let checks = tokio::spawn(recordings::watch_missing(
            store.clone(),
            config.recordings.missing_after,
            stop_rx,
        ));
        let desk = Self {
            inner: Arc::new(Inner {
                admin_token,
                info,
                store,
                delivery,
                worker: Mutex::new(Some(worker)),
                intake,
                counters,
                refused: AtomicU64::new(0),
                throttle: people::Throttle::default(),
                watch: health::Watch::default(),
                emulator,
                emulator_handle: Mutex::new(emulator_handle),
                stopped: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                configured_key_sha256,
                stop_checks,
                checks: Mutex::new(Some(checks)),
                archiver: Mutex::new(None),
                archive_passes: Default::default(),
                sdkappid,
                trtc_refusal_log: Default::default(),
                heartbeats: heartbeat::Tracker::default(),
                heartbeat_task: Mutex::new(None),
                config,
            }),
        };
        let task = tokio::spawn(heartbeat::heartbeat_loop(
            desk.clone(),
            desk.inner.stop_checks.subscribe(),
        ));
        *desk.inner.heartbeat_task.lock() = Some(task);
        let archiver = tokio::spawn(archive::watch(
            desk.clone(),
            desk.inner.stop_checks.subscribe(),
        ));
        *desk.inner.archiver.lock() = Some(archiver);
        Ok(desk)
    }

    /// Takes no more reports, commits and answers those queued, lets IM calls in flight
    /// finish (up to `shutdown_grace_secs`), then closes the database and the sandbox
    /// emulator. Messages not yet sent stay in the store for the next start.
    pub async fn shutdown(&self) {
        self.begin_stopping();
        if self.inner.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.intake.close().await;
        self.inner.stop_checks.send_replace(true);
        let checks = self.inner.checks.lock().take();
        if let Some(c) = checks {
            let _ = c.await;
        }
        let heartbeats = self.inner.heartbeat_task.lock().take();
        if let Some(h) = heartbeats {
            let _ = h.await;
        }
        let archiver = self.inner.archiver.lock().take();
        if let Some(a) = archiver {
            let _ = a.await;
        }
        let mut passes = std::mem::take(&mut *self.inner.archive_passes.lock());
        while passes.join_next().await.is_some() {}
        let worker = self.inner.worker.lock().take();
        if let Some(w) = worker {
            self.inner
                .delivery
                .shutdown(w, self.inner.config.shutdown_grace())
                .await;
        }
        self.inner.store.close().await;
        let emu = self.inner.emulator_handle.lock().take();
        if let Some(h) = emu {
            let _ = h.shutdown().await;
        }
    }

    /// Marks the service as stopping (`/readyz` answers 503 from now on) while the HTTP
    /// door still finishes the requests in flight; [`ReplayDesk::shutdown`] follows.
    pub fn begin_stopping(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    pub fn info(&self) -> AppInfo {
        self.inner.info.clone()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The admin bearer token (configured or generated at start).
    pub fn admin_token(&self) -> &Secret {
        &self.inner.admin_token
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn delivery(&self) -> &Delivery {
        &self.inner.delivery
    }

    /// The in-process IM emulator in sandbox mode.
    pub fn sandbox_emulator(&self) -> Option<&Emulator> {
        self.inner.emulator.as_ref()
    }

    /// The IM app this server sends to (in sandbox mode, the emulator's).
    pub fn sdkappid(&self) -> u64 {
        self.inner.sdkappid
    }

    /// The server's wall clock, unix ms.
    pub fn server_ms(&self) -> i64 {
        unix_ms_now()
    }
}

/// Where sandbox mode keeps the built-in IM emulator's groups: `<db>.im-emulator.db`. A
/// PostgreSQL database has no file to sit beside: `replaydesk.im-emulator.db` in the
/// working directory.
pub fn sandbox_groups_file(db: &std::path::Path) -> std::path::PathBuf {
    if replaydesk_store::Engine::of(&db.to_string_lossy()) == replaydesk_store::Engine::Postgres {
        return std::path::PathBuf::from("replaydesk.im-emulator.db");
    }
    let mut name = db.as_os_str().to_owned();
    name.push(".im-emulator.db");
    std::path::PathBuf::from(name)
}
