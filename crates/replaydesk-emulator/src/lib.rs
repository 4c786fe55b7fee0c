//! A local stand-in for the IM service's server-side REST API (docs/protocol.md section 2):
//! the four commands ReplayDesk uses, spoken in the service's own wire format, so that
//! ReplayDesk runs without an IM account ("sandbox" mode) and tests run over real HTTP.
//!
//! What it does, as the service does:
//! - `POST /v4/group_open_http_svc/{send_group_msg, group_msg_get_simple, create_group,
//!   destroy_group}?sdkappid=..&identifier=..&usersig=..&random=..&contenttype=json` with a
//!   JSON body; `random` and `contenttype` are optional and not checked. Answers are
//!   HTTP 200 with `ActionStatus`/`ErrorCode`/`ErrorInfo`, failures included.
//! - Every call's UserSig is verified against the emulator's sdkappid and secret key at the
//!   current time, and only the configured administrator may call.
//! - Per-group `MsgSeq` strictly increasing from 1, `MsgTime` in unix seconds, the `Random`
//!   duplicate filter, the 12 KB message body limit, history newest first 20 at a time.
//! - Token-bucket frequency limits per app (all commands) and per group (messages).
//!
//! Plus what the service cannot do: fault knobs ([`FaultConfig`]) and counters
//! ([`EmulatorStats`]), set and read in process or through `GET/PUT /control/faults`,
//! `GET /control/stats` and `POST /control/reset-stats` (no UserSig; they exist only here),
//! and a key rotation: `PUT /control/secret-key` replaces the app's secret key, as an
//! operator rotating it in the service's console would (UserSigs made with the old key are
//! refused from then on). The control endpoints are served by [`Emulator::serve`] (the
//! standalone test tool), not by [`Emulator::serve_im_only`] (the sandbox inside `serve`).
//!
//! The error codes and the exact case each answers are listed in [`codes`]. In the order
//! they are checked: HTTP method and query (60002), `sdkappid` (60012), UserSig (70001,
//! 70003, 70009, 70013, 70014), administrator (60010), per-app limit (60011), command
//! (60009), injected faults, then the command's own checks: body not JSON (60003), wrong
//! shape (10004), message too long (80002), group unknown (10010) or dismissed (10015),
//! per-group limit (10023), `GroupId` taken (10021), history of an `AVChatRoom` (10007).
//!
//! Choices where the service's behaviour is not documented:
//! - A duplicate `Random` within the window is answered like a success, carrying the
//!   ORIGINAL message's `MsgSeq` and `MsgTime`, and nothing new is stored: a sender
//!   retrying after a lost response learns where its message went, and the history holds
//!   it once.
//! - `OnlineOnlyFlag: 1` messages are acknowledged with `MsgTime` and no `MsgSeq`, and are
//!   neither stored nor remembered by the duplicate filter.
//! - `AVChatRoom` groups can be created; their messages take a `MsgSeq` but are not stored,
//!   and `group_msg_get_simple` on them answers 10007 (they keep no history).
//! - A dismissed group's id can be created again; the new group starts from `MsgSeq` 1.
//! - `MsgPriority` is read as `High`/`Normal`/`Low`/`Lowest` (or 0..3) and stored as
//!   0/1/2/3; anything else is `Normal` (1).

pub mod codes;
mod faults;
mod handlers;
mod limits;
mod persist;
mod retention;
mod state;
mod stats;

pub use faults::{FaultConfig, FaultConfigError, MAX_LATENCY_MS};
pub use persist::{PersistError, FLUSH_EVERY};
pub use retention::Retention;
pub use stats::EmulatorStats;

use limits::TokenBucket;
use parking_lot::Mutex;
use replaydesk_im::usersig;
use replaydesk_im::wire::{self, HistoryMsg};
use state::Groups;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The administrator account the emulator accepts unless configured otherwise.
pub const DEFAULT_ADMIN: &str = "administrator";
/// Requests a second per app (all commands), as the service documents.
pub const DEFAULT_APP_RATE: u32 = 200;
/// Messages a second per group, as the service documents.
pub const DEFAULT_GROUP_RATE: u32 = 40;
/// How long a `Random` is remembered by a group's duplicate filter.
pub const DEFAULT_DUP_WINDOW: Duration = Duration::from_secs(300);
/// The sdkappid [`EmulatorConfig::sandbox`] uses.
pub const SANDBOX_SDKAPPID: u64 = 1_400_000_000;
/// Largest request body read, in bytes; a larger one is refused without being read
/// (80002 on `send_group_msg`, 10004 on other commands).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// How long [`EmulatorHandle::shutdown`] waits for open requests before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How an emulator instance behaves. `Debug` never shows the secret key.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// The one app this emulator serves.
    pub sdkappid: u64,
    /// The app's secret key, which UserSigs are verified with.
    pub secret_key: String,
    /// The administrator account; only its UserSig may call.
    pub admin: String,
    /// Requests a second per app, all commands; 0 = no limit.
    pub app_rate: u32,
    /// Messages a second per group; 0 = no limit.
    pub group_rate: u32,
    /// The duplicate filter's window; zero turns the filter off.
    pub dup_window: Duration,
    /// The fault knobs at start.
    pub faults: FaultConfig,
    /// How long groups keep their messages ([`Retention::NONE`]: for ever).
    pub retention: Retention,
}

impl EmulatorConfig {
    /// An app `sdkappid` with `secret_key`, every other setting at its default (the
    /// service's limits, no faults).
    pub fn new(sdkappid: u64, secret_key: impl Into<String>) -> Self {
        Self {
            sdkappid,
            secret_key: secret_key.into(),
            admin: DEFAULT_ADMIN.to_owned(),
            app_rate: DEFAULT_APP_RATE,
            group_rate: DEFAULT_GROUP_RATE,
            dup_window: DEFAULT_DUP_WINDOW,
            faults: FaultConfig::none(),
            retention: Retention::NONE,
        }
    }

    /// A configuration for sandbox mode: [`SANDBOX_SDKAPPID`] and a fresh random secret
    /// key (the caller reads it from the config to sign its calls).
    pub fn sandbox() -> Self {
        let key: [u8; 32] = rand::random();
        Self::new(SANDBOX_SDKAPPID, hex::encode(key))
    }

    fn validate(&self) -> Result<(), EmulatorError> {
        if self.secret_key.is_empty() {
            return Err(EmulatorError::InvalidConfig("secret key is empty".into()));
        }
        if self.admin.trim().is_empty() {
            return Err(EmulatorError::InvalidConfig(
                "admin identifier is empty".into(),
            ));
        }
        self.faults.validate()?;
        Ok(())
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("sdkappid", &self.sdkappid)
            .field("secret_key", &"<redacted>")
            .field("admin", &self.admin)
            .field("app_rate", &self.app_rate)
            .field("group_rate", &self.group_rate)
            .field("dup_window", &self.dup_window)
            .field("faults", &self.faults)
            .field("retention", &self.retention)
            .finish()
    }
}

/// What can go wrong starting or driving an emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("invalid emulator configuration: {0}")]
    InvalidConfig(String),
    #[error("invalid fault settings: {0}")]
    Faults(#[from] FaultConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("emulator I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid GroupId {id:?}: {reason}")]
    InvalidGroupId { id: String, reason: &'static str },
    #[error("group {0:?} already exists")]
    GroupExists(String),
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// The emulator's state, shared by every request.
struct Shared {
    sdkappid: u64,
    /// Behind a lock: a rotation (`PUT /control/secret-key`) replaces it while serving.
    secret_key: Mutex<String>,
    admin: String,
    groups: Mutex<Groups>,
    app_bucket: Mutex<Option<TokenBucket>>,
    faults: Mutex<FaultConfig>,
    stats: Mutex<EmulatorStats>,
    /// The file the groups are kept in, if any (see `persist`).
    persisted: std::sync::OnceLock<persist::Persisted>,
}

/// One emulated IM app, in memory. Cheap to clone (all clones share the state).
///
/// Serve it with [`Emulator::start`] / [`Emulator::serve`], or mount [`Emulator::router`]
/// in a server of one's own.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("sdkappid", &self.shared.sdkappid)
            .field("admin", &self.shared.admin)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// An emulator with no groups. Refuses an empty key or admin and invalid faults.
    pub fn new(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        config.validate()?;
        let now = Instant::now();
        let mut groups = Groups::new(config.group_rate, config.dup_window);
        groups.set_retention(config.retention);
        Ok(Self {
            shared: Arc::new(Shared {
                sdkappid: config.sdkappid,
                secret_key: Mutex::new(config.secret_key),
                admin: config.admin,
                groups: Mutex::new(groups),
                app_bucket: Mutex::new(TokenBucket::new(config.app_rate, now)),
                faults: Mutex::new(config.faults),
                stats: Mutex::new(EmulatorStats::default()),
                persisted: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Binds `addr` (port 0 picks a free port) and serves the emulator on it in a
    /// background task.
    /// An emulator whose groups are kept in the SQLite file at `path` (created if
    /// missing): the groups saved there come back, and every change is saved in batches.
    pub async fn new_persistent(
        config: EmulatorConfig,
        path: &std::path::Path,
    ) -> Result<Self, EmulatorError> {
        let emu = Self::new(config)?;
        let (pool, saved) = persist::open(path).await?;
        let groups = saved.len();
        emu.shared
            .groups
            .lock()
            .restore(saved, now_unix_s(), Instant::now());
        let p = persist::Persisted::start(pool, path, Arc::downgrade(&emu.shared));
        let _ = emu.shared.persisted.set(p);
        tracing::info!(path = %path.display(), groups, "IM emulator: groups kept in a file");
        Ok(emu)
    }

    /// Saves the journaled changes now (they are saved every [`FLUSH_EVERY`] anyway).
    pub fn save_soon(&self) {
        if let Some(p) = self.shared.persisted.get() {
            p.wake();
        }
    }

    /// Saves the last changes and closes the file, if the groups are kept in one.
    pub async fn close(&self) {
        if let Some(p) = self.shared.persisted.get() {
            p.close().await;
        }
    }

    pub async fn start(
        config: EmulatorConfig,
        addr: SocketAddr,
    ) -> Result<EmulatorHandle, EmulatorError> {
        let emulator = Self::new(config)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        emulator.serve(listener)
    }

    /// Serves this emulator on an already bound listener in a background task, with its
    /// open control endpoints (`/control/...`): the standalone test tool.
    pub fn serve(self, listener: TcpListener) -> Result<EmulatorHandle, EmulatorError> {
        let router = self.router();
        self.serve_router(listener, router)
    }

    /// Serves the IM API only, without the control endpoints (which take no UserSig): the
    /// sandbox inside `replaydesk serve`, where any local process could otherwise rotate the
    /// key or inject faults; its faults are set through the admin API instead.
    pub fn serve_im_only(self, listener: TcpListener) -> Result<EmulatorHandle, EmulatorError> {
        let router = handlers::router(self.clone(), false);
        self.serve_router(listener, router)
    }

    fn serve_router(
        self,
        listener: TcpListener,
        router: axum::Router,
    ) -> Result<EmulatorHandle, EmulatorError> {
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        tracing::info!(%addr, sdkappid = self.shared.sdkappid, "IM emulator listening");
        Ok(EmulatorHandle {
            emulator: self,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The IM API (`/v4/...`) and the control endpoints (`/control/...`), with this
    /// emulator as state; every other path answers IM error 60009 with HTTP 404.
    pub fn router(&self) -> axum::Router {
        handlers::router(self.clone(), true)
    }

    /// The app this emulator serves.
    pub fn sdkappid(&self) -> u64 {
        self.shared.sdkappid
    }

    /// The administrator account allowed to call.
    pub fn admin(&self) -> &str {
        &self.shared.admin
    }

    /// A UserSig of the administrator, valid from now for `expire_secs`.
    pub fn admin_usersig(&self, expire_secs: u64) -> String {
        usersig::generate(
            self.shared.sdkappid,
            &self.shared.admin,
            &self.shared.secret_key.lock(),
            now_unix_s(),
            expire_secs,
        )
    }

    /// The fault knobs in force.
    pub fn faults(&self) -> FaultConfig {
        self.shared.faults.lock().clone()
    }

    /// Replaces the fault knobs; refuses (and keeps the old ones) when out of range.
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), EmulatorError> {
        faults.validate()?;
        *self.shared.faults.lock() = faults;
        Ok(())
    }

    /// How long groups keep their messages.
    pub fn retention(&self) -> Retention {
        self.shared.groups.lock().retention()
    }

    /// Changes how long groups keep their messages, from the next read on (messages
    /// already past the new limits read as holes; lifting a limit shows them again).
    pub fn set_retention(&self, retention: Retention) {
        self.shared.groups.lock().set_retention(retention);
    }

    /// The counters since start or the last reset.
    pub fn stats(&self) -> EmulatorStats {
        self.shared.stats.lock().clone()
    }

    /// Rotates the app's secret key: from now on only UserSigs made with `key` are
    /// accepted (a call made with the old key is refused with 70009, as the service does
    /// once a key is replaced). Refuses an empty key and keeps the old one.
    pub fn set_secret_key(&self, key: &str) -> Result<(), EmulatorError> {
        if key.is_empty() {
            return Err(EmulatorError::InvalidConfig("secret key is empty".into()));
        }
        *self.shared.secret_key.lock() = key.to_owned();
        Ok(())
    }

    /// Zeroes the counters and returns their values before.
    pub fn reset_stats(&self) -> EmulatorStats {
        std::mem::take(&mut *self.shared.stats.lock())
    }

    /// A group's stored messages, oldest first (empty for an unknown or dismissed group).
    pub fn history(&self, group_id: &str) -> Vec<HistoryMsg> {
        self.shared.groups.lock().history(group_id)
    }

    /// Recalls messages without a call (tests): they stay as holes. Unknown seqs are skipped.
    pub fn recall_direct(&self, group_id: &str, seqs: &[u64]) -> usize {
        self.shared
            .groups
            .lock()
            .recall(group_id, seqs)
            .map(|l| l.iter().filter(|(_, found)| *found).count())
            .unwrap_or(0)
    }

    /// Creates a `Public` group without a call (for tests and sandbox setup).
    pub fn create_group_direct(&self, group_id: &str) -> Result<(), EmulatorError> {
        wire::validate_group_id(group_id).map_err(|reason| EmulatorError::InvalidGroupId {
            id: group_id.to_owned(),
            reason,
        })?;
        self.shared
            .groups
            .lock()
            .create(Some(group_id), "Public", Instant::now())
            .map(drop)
            .map_err(|_| EmulatorError::GroupExists(group_id.to_owned()))
    }

    fn with_stats(&self, f: impl FnOnce(&mut EmulatorStats)) {
        f(&mut self.shared.stats.lock());
    }
}

/// A running emulator. Dropping it asks the server to stop; [`EmulatorHandle::shutdown`]
/// also waits for it.
#[derive(Debug)]
pub struct EmulatorHandle {
    emulator: Emulator,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl EmulatorHandle {
    /// The emulator being served (to mount elsewhere, or to pass around).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base URL to give an IM client (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// See [`Emulator::faults`].
    pub fn faults(&self) -> FaultConfig {
        self.emulator.faults()
    }

    /// See [`Emulator::set_faults`].
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), EmulatorError> {
        self.emulator.set_faults(faults)
    }

    /// See [`Emulator::stats`].
    pub fn stats(&self) -> EmulatorStats {
        self.emulator.stats()
    }

    /// See [`Emulator::reset_stats`].
    pub fn reset_stats(&self) -> EmulatorStats {
        self.emulator.reset_stats()
    }

    /// See [`Emulator::set_secret_key`].
    pub fn set_secret_key(&self, key: &str) -> Result<(), EmulatorError> {
        self.emulator.set_secret_key(key)
    }

    /// See [`Emulator::history`].
    pub fn history(&self, group_id: &str) -> Vec<HistoryMsg> {
        self.emulator.history(group_id)
    }

    /// See [`Emulator::set_retention`].
    pub fn set_retention(&self, retention: Retention) {
        self.emulator.set_retention(retention)
    }

    /// See [`Emulator::create_group_direct`].
    pub fn create_group_direct(&self, group_id: &str) -> Result<(), EmulatorError> {
        self.emulator.create_group_direct(group_id)
    }

    /// See [`Emulator::admin_usersig`].
    pub fn admin_usersig(&self, expire_secs: u64) -> String {
        self.emulator.admin_usersig(expire_secs)
    }

    /// Stops accepting connections, lets open requests finish (up to 10 s), then stops.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(mut task) = self.task.take() else {
            self.emulator.close().await;
            return Ok(());
        };
        let stopped = tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await;
        // After the last request: its changes are in the final batch.
        self.emulator.close().await;
        match stopped {
            Ok(Ok(result)) => result.map_err(EmulatorError::Io),
            // The task was cancelled or panicked: nothing is left to stop.
            Ok(Err(_)) => Ok(()),
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Unix seconds now.
fn now_unix_s() -> i64 {
    replaydesk_clock::unix_ms_now().div_euclid(1000)
}
