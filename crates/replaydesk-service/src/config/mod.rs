//! `replaydesk serve`'s configuration: a TOML file (`--config PATH`, default
//! `replaydesk.toml` if present), then `REPLAYDESK_*` environment variables, then the
//! `--listen` / `--db` flags, later sources winning key by key.
//!
//! Unknown keys in the file are refused, and every error names the key (or variable) at
//! fault. Secrets (admin token, callback key, IM secret key) are [`Secret`]s: no log line
//! or error shows them.
//!
//! `sources.rs` declares every key once and reads the three sources into layers;
//! `validate.rs` turns the merged layer into a [`Config`] or names the key at fault.

mod sources;
#[cfg(test)]
mod tests;
mod validate;

pub use sources::{env_var, keys, ENV_PREFIX};

use crate::secret_store::{SecretName, SecretStore, SecretStoreError};
use replaydesk_delivery::{DeliveryConfig, RetrySchedule};
use replaydesk_protocol::secret::{without_userinfo, Secret};
use sources::{env_layer, file_layer, process_env, Layer};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file read when `--config` is not given, if it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "replaydesk.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DB: &str = "replaydesk.db";
pub const DEFAULT_IM_ADMIN: &str = "administrator";
pub const DEFAULT_UI_DIR: &str = "ui/dist";
/// Largest request body accepted (bytes) unless configured.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest `max_body_bytes` that may be configured.
pub const MAX_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Seconds a recording callback's `t` may lie in the past (clock skew allowance).
pub const DEFAULT_CALLBACK_SKEW_SECS: u64 = 60;
/// Recording callbacks per second one source address may send (10 s worth at once).
pub const DEFAULT_CALLBACK_RATE_PER_SOURCE: f64 = 20.0;
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 15;
/// Reports per second one credential (one member of one class) may send, with
/// [`REPORT_BURST_SECS`] of them at once. A classroom client reports a few times a minute
/// (joining, re-entering, after its clock jumped): one a second is many times that, and
/// the burst covers a client catching up after a network outage.
pub const DEFAULT_REPORTS_PER_CREDENTIAL: f64 = 1.0;
/// Timeline reports per second one class may send, with [`REPORT_BURST_SECS`] of them at
/// once: the IM service takes about 40 messages a second into one group, so more would
/// only queue; the burst (1,200) lets a class of hundreds join within the same seconds.
pub const DEFAULT_REPORTS_PER_CLASS: f64 = 40.0;
/// How many seconds' worth of reports a credential or a class may send at once.
pub const REPORT_BURST_SECS: f64 = 30.0;
/// Connections one source address (an IPv6 /64) may hold at once: half of the server's
/// 1,024, so one host cannot take the server, while a classroom of hundreds of clients
/// behind one NAT, each holding a connection, still fits.
pub const DEFAULT_CONNECTIONS_PER_SOURCE: usize = 512;
/// Shortest admin token accepted from configuration.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// The effective configuration. `Debug` shows `db` as [`replaydesk_store::db_for_display`]
/// does (a PostgreSQL URL may carry a password) and secrets as `***`.
#[derive(Clone)]
pub struct Config {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// SQLite database file.
    pub db: PathBuf,
    /// Bearer token for `/v1/admin/*` and class creation; generated when unset.
    pub admin_token: Option<Secret>,
    /// Whether the bootstrap `admin_token` is accepted (true by default). Once people have
    /// accounts and tokens of their own, set it false: the token is then refused (401).
    pub admin_token_enabled: bool,
    /// How long a console session lasts (idle and at most).
    pub sessions: SessionSettings,
    /// Recording-callback sign key.
    pub callback_key: Option<Secret>,
    /// TRTC cloud-recording callback key (`Sign` = HMAC-SHA256 under it); without one
    /// every TRTC callback is refused (`no_callback_key`).
    pub trtc_callback_key: Option<Secret>,
    /// Where recordings come from beyond the callbacks' own fields (`[recordings]`).
    pub recordings: RecordingSettings,
    /// `archive.every`: how often a live class's group is archived (and the archiver
    /// looks for classes due a pass).
    pub archive_every: Duration,
    /// Seconds of clock skew allowed on a recording callback's expiry time `t`.
    pub callback_skew_secs: u64,
    /// Recording callbacks per second accepted from one source address (an IPv6 /64 counts
    /// as one), with a burst of ten seconds' worth; beyond it 429 before the body is read.
    /// 0 = no limit.
    pub callback_rate_per_source: f64,
    /// True when clients reach ReplayDesk through a proxy or load balancer: the kernel's
    /// round-trip estimate of a connection then measures the proxy, not the client, so a
    /// timeline report without `rtt_ms` keeps its receipt time as `time_line`. False (the
    /// default): such a report is corrected by half the connection's `TCP_INFO` RTT.
    pub behind_proxy: bool,
    /// Largest request body accepted, in bytes (larger ones get 413).
    pub max_body_bytes: usize,
    /// The console's static files, served at `/` when the directory exists.
    pub ui_dir: PathBuf,
    /// How long shutdown waits for IM calls in flight.
    pub shutdown_grace_secs: u64,
    pub im: ImSettings,
    pub delivery: DeliverySettings,
    /// Where secrets set at run time are kept (a fixed IM key survives a restart); `None`:
    /// held in memory only. Not a file key: `serve` keeps them beside the database, the
    /// desktop app in the OS keychain.
    pub secret_store: Option<SecretStore>,
    /// How long connections may take and how many there may be.
    pub http: HttpLimits,
    /// Rate limits on the classroom clients' reports.
    pub limits: ReportLimits,
    /// Heartbeats: when a member's clock is re-anchored, when a silent class ends.
    pub heartbeat: HeartbeatSettings,
}

/// `heartbeat.reanchor_ms` unless set: how far (ms) a member's tracked clock may move from
/// what its last 1003 implies before ReplayDesk sends a fresh one.
pub const DEFAULT_HEARTBEAT_REANCHOR_MS: u64 = 20;
/// `heartbeat.silence_end` unless set.
pub const DEFAULT_HEARTBEAT_SILENCE_END: Duration = Duration::from_secs(10 * 60);

/// `[heartbeat]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatSettings {
    /// `heartbeat.reanchor_ms`.
    pub reanchor_ms: u64,
    /// `heartbeat.silence_end`: a started class whose members heartbeat and then none does
    /// for this long is ended by ReplayDesk; `None` (`0`): never.
    pub silence_end: Option<Duration>,
}

impl Default for HeartbeatSettings {
    fn default() -> Self {
        Self {
            reanchor_ms: DEFAULT_HEARTBEAT_REANCHOR_MS,
            silence_end: Some(DEFAULT_HEARTBEAT_SILENCE_END),
        }
    }
}

/// How long a console session lasts: it ends after `idle` without a request, and at
/// `max` after sign-in whatever happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    pub idle: Duration,
    pub max: Duration,
}

/// A session's idle end unless configured (`session_idle`).
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// A session's absolute end unless configured (`session_max`).
pub const DEFAULT_SESSION_MAX: Duration = Duration::from_secs(12 * 3600);

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle: DEFAULT_SESSION_IDLE,
            max: DEFAULT_SESSION_MAX,
        }
    }
}

/// How long a recorder that started may go without a file after it stopped (or after its
/// class ended) before a `recording_missing` alert is raised on the class, unless set.
pub const DEFAULT_RECORDINGS_MISSING_AFTER: Duration = Duration::from_secs(30 * 60);
/// `im.retention`: how long the IM keeps a group's messages (the trial and professional
/// editions' period).
pub const DEFAULT_IM_RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// `archive.every`: how often a live class's group is archived, and how often the archiver
/// looks for work.
pub const DEFAULT_ARCHIVE_EVERY: Duration = Duration::from_secs(5 * 60);

/// How many reports a credential and a class may send (`[limits]`); 0 = no limit. Each is
/// a rate per second with a burst of [`REPORT_BURST_SECS`] seconds' worth; beyond it a
/// report is answered 429 with `Retry-After`, stored nowhere and counted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLimits {
    /// Reports (timeline, start, end) per second per credential: a member credential, or
    /// the legacy class-wide token per uid it speaks for.
    pub reports_per_credential: f64,
    /// Timeline reports per second per class. Start and end do not count and are never
    /// refused for the class's sake: a flood of reports cannot keep a class from ending.
    pub reports_per_class: f64,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            reports_per_credential: DEFAULT_REPORTS_PER_CREDENTIAL,
            reports_per_class: DEFAULT_REPORTS_PER_CLASS,
        }
    }
}

impl ReportLimits {
    /// No limits (benchmarks, load tests).
    pub fn none() -> Self {
        Self {
            reports_per_credential: 0.0,
            reports_per_class: 0.0,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("db", &replaydesk_store::db_for_display(&self.db))
            .field("admin_token", &self.admin_token)
            .field("admin_token_enabled", &self.admin_token_enabled)
            .field("sessions", &self.sessions)
            .field("callback_key", &self.callback_key)
            .field("trtc_callback_key", &self.trtc_callback_key)
            .field("recordings", &self.recordings)
            .field("archive_every", &self.archive_every)
            .field("callback_skew_secs", &self.callback_skew_secs)
            .field("callback_rate_per_source", &self.callback_rate_per_source)
            .field("behind_proxy", &self.behind_proxy)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("ui_dir", &self.ui_dir)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("im", &self.im)
            .field("delivery", &self.delivery)
            .field("secret_store", &self.secret_store)
            .field("http", &self.http)
            .field("limits", &self.limits)
            .field("heartbeat", &self.heartbeat)
            .finish()
    }
}

/// `[recordings]`: how recording files with no playable URL of their own are played,
/// which recordings are of the whole room rather than a person, and how long a recorder
/// may go without a file.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingSettings {
    /// The base URL of the object-storage bucket TRTC cloud recording writes to (e.g.
    /// `https://bucket-1250000000.cos.ap-guangzhou.myqcloud.com/recordings`). A file
    /// stored there (TRTC 305, 310) is announced as `<base>/<file name>`; without it such a
    /// file is kept in the recorder life and makes no 1004.
    pub cos_base_url: Option<String>,
    /// The user-id prefix of TRTC's mixed-stream recording task (e.g. `recorder_mix_`): a
    /// file under such a user id is the whole room, not a person, and waits in the
    /// callbacks inbox for an admin to assign it to a uid.
    pub mixed_user_prefix: Option<String>,
    /// `recordings.missing_after`: a recorder that started and has no file this long after
    /// it stopped or after the class ended raises `recording_missing`.
    pub missing_after: Duration,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        Self {
            cos_base_url: None,
            mixed_user_prefix: None,
            missing_after: DEFAULT_RECORDINGS_MISSING_AFTER,
        }
    }
}

/// Bounds on what a client's connection may hold: slow or idle clients are cut off, so
/// neither file descriptors nor shutdown wait on them.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpLimits {
    /// A request's headers must arrive within this (an idle keep-alive connection is
    /// closed after it too).
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this, once its headers have.
    pub body_read_timeout: Duration,
    /// Connections open at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Connections one source address (an IPv6 /64) may hold at once; one more is answered
    /// 429 and closed. 0 = no cap. `limits.connections_per_source`.
    pub connections_per_source: usize,
    /// Proxies whose `X-Forwarded-For` is believed (`trusted_proxies`): their connections
    /// are not capped by address; each request through them counts, while in flight,
    /// against the client address they forwarded.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// On shutdown, how long requests in flight get to finish before their connections
    /// are dropped.
    pub drain: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            connections_per_source: DEFAULT_CONNECTIONS_PER_SOURCE,
            trusted_proxies: Vec::new(),
            drain: Duration::from_secs(10),
        }
    }
}

/// Where messages go. With no `endpoint` ReplayDesk runs in sandbox mode (the built-in
/// IM emulator, in process). `Debug` shows the endpoint without any `user:pass@`.
#[derive(Clone, PartialEq)]
pub struct ImSettings {
    pub endpoint: Option<String>,
    pub sdkappid: Option<u64>,
    pub admin: String,
    pub secret_key: Option<Secret>,
    /// `im.retention`: how long the IM keeps a message from when it was sent (the
    /// archive's deadlines are measured against it).
    pub retention: Duration,
}

impl std::fmt::Debug for ImSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImSettings")
            .field("endpoint", &self.endpoint.as_deref().map(without_userinfo))
            .field("sdkappid", &self.sdkappid)
            .field("admin", &self.admin)
            .field("secret_key", &self.secret_key)
            .field("retention", &self.retention)
            .finish()
    }
}

/// Tunables of the delivery worker.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// Requests per second for the whole app (0 = no limit).
    pub app_rate: f64,
    /// Messages per second per group (0 = no limit).
    pub group_rate: f64,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Retry delays, e.g. `"1s,5s,15s,1m,5m"`; `None` = the built-in schedule.
    pub retry_schedule: Option<String>,
    /// How long a claimed message is held without renewal, e.g. `"30s"`; `None` = 30 s.
    pub lease: Option<String>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        let d = DeliveryConfig::default();
        Self {
            app_rate: d.app_rate,
            group_rate: d.group_rate,
            concurrency: d.concurrency,
            retry_schedule: None,
            lease: None,
        }
    }
}

impl DeliverySettings {
    /// The worker configuration these settings describe.
    pub fn to_delivery_config(&self) -> Result<DeliveryConfig, ConfigError> {
        let mut c = DeliveryConfig {
            app_rate: self.app_rate,
            group_rate: self.group_rate,
            concurrency: self.concurrency.max(1),
            ..DeliveryConfig::default()
        };
        if let Some(s) = &self.retry_schedule {
            c.schedule = RetrySchedule::parse(s, 0.2)
                .map_err(|e| ConfigError::invalid("delivery.retry_schedule", e))?;
        }
        if let Some(s) = &self.lease {
            c.lease = replaydesk_delivery::parse_duration(s.trim())
                .ok()
                .filter(|d| *d >= Duration::from_millis(100))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "delivery.lease",
                        "must be a duration of at least 100ms such as \"30s\" (units ms, s, m, h)",
                    )
                })?;
        }
        Ok(c)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080))),
            db: PathBuf::from(DEFAULT_DB),
            admin_token: None,
            admin_token_enabled: true,
            sessions: SessionSettings::default(),
            callback_key: None,
            trtc_callback_key: None,
            recordings: RecordingSettings::default(),
            archive_every: DEFAULT_ARCHIVE_EVERY,
            callback_skew_secs: DEFAULT_CALLBACK_SKEW_SECS,
            callback_rate_per_source: DEFAULT_CALLBACK_RATE_PER_SOURCE,
            behind_proxy: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            ui_dir: PathBuf::from(DEFAULT_UI_DIR),
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            http: HttpLimits::default(),
            im: ImSettings {
                endpoint: None,
                sdkappid: None,
                admin: DEFAULT_IM_ADMIN.to_owned(),
                secret_key: None,
                retention: DEFAULT_IM_RETENTION,
            },
            delivery: DeliverySettings::default(),
            secret_store: None,
            limits: ReportLimits::default(),
            heartbeat: HeartbeatSettings::default(),
        }
    }
}

/// What is wrong with the configuration; every variant names the key or variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    fn invalid(key: &str, message: impl fmt::Display) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.to_string(),
        }
    }
}

/// The command-line flags that take part in configuration. `Debug` hides a password in
/// `db`, like [`Config`]'s.
#[derive(Clone, Default)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub db: Option<PathBuf>,
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flags")
            .field("config", &self.config)
            .field("listen", &self.listen)
            .field(
                "db",
                &self.db.as_deref().map(replaydesk_store::db_for_display),
            )
            .finish()
    }
}

/// 32 random bytes as lower-case hex: admin and report tokens.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

impl Config {
    /// Reads the file (the `--config` one, else `replaydesk.toml` if present), the process
    /// environment and `flags`.
    pub fn load(flags: &Flags) -> Result<Config, ConfigError> {
        let file = match &flags.config {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        let text = match &file {
            Some(p) => Some(
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?,
            ),
            None => None,
        };
        let file_src = file.as_deref().zip(text.as_deref());
        Self::from_sources(file_src, process_env(), flags)
    }

    /// The desktop app's configuration: `config_file` (the app config dir's
    /// `replaydesk.toml`) if it exists, then the `REPLAYDESK_*` variables, as `serve` reads
    /// them; the database defaults to `replaydesk.db` in `data_dir`, and the IM secret key
    /// and callback key set in Settings come from `secrets` unless the file or a variable
    /// sets them.
    pub fn load_desktop(
        config_file: &Path,
        data_dir: &Path,
        secrets: SecretStore,
    ) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(config_file) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: config_file.to_owned(),
                    source,
                })
            }
        };
        let mut layer = match &text {
            Some(t) => file_layer(config_file, t)?,
            None => Layer::default(),
        };
        layer.merge(env_layer(process_env())?);
        if layer.db.is_none() {
            layer.db = Some(data_dir.join(DEFAULT_DB));
        }
        let stored = |name: SecretName| -> Result<Option<Secret>, ConfigError> {
            secrets
                .get(&name)
                .map_err(|e: SecretStoreError| ConfigError::Invalid {
                    key: name.key().to_owned(),
                    message: e.to_string(),
                })
        };
        if layer.im.secret_key.is_none() {
            layer.im.secret_key = stored(SecretName::ImSecretKey)?;
        }
        if layer.callback_key.is_none() {
            layer.callback_key = stored(SecretName::CallbackKey)?;
        }
        let mut config = Self::from_layer(layer)?;
        config.secret_store = Some(secrets);
        Ok(config)
    }

    /// Builds the configuration from a file's text (with its path, for errors), environment
    /// variables and flags, later winning. `flags.config` is not read here.
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &Flags,
    ) -> Result<Config, ConfigError> {
        let mut layer = match file {
            Some((path, text)) => file_layer(path, text)?,
            None => Layer::default(),
        };
        layer.merge(env_layer(env)?);
        layer.merge(Layer {
            listen: flags.listen.clone(),
            db: flags.db.clone(),
            ..Layer::default()
        });
        Self::from_layer(layer)
    }

    /// True when no IM endpoint is configured: messages go to the in-process emulator.
    pub fn sandbox(&self) -> bool {
        self.im.endpoint.is_none()
    }

    /// Sets a random admin token when none is configured, and returns it so that the
    /// caller can show it once.
    pub fn ensure_admin_token(&mut self) -> Option<Secret> {
        if self.admin_token.is_some() {
            return None;
        }
        let token = Secret::new(random_token());
        self.admin_token = Some(token.clone());
        Some(token)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}
