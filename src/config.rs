//! `replaydesk serve`'s configuration: a TOML file (`--config PATH`, default
//! `replaydesk.toml` if present), then `REPLAYDESK_*` environment variables, then the
//! `--listen` / `--db` flags, later sources winning key by key.
//!
//! Unknown keys in the file are refused, and every error names the key (or variable) at
//! fault. Secrets (admin token, callback key, IM secret key) are [`Secret`]s: no log line
//! or error shows them.

use crate::delivery::{DeliveryConfig, RetrySchedule};
use crate::secret::{without_userinfo, Secret};
use crate::secret_store::{SecretName, SecretStore, SecretStoreError};
use serde::Deserialize;
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

/// The effective configuration. `Debug` shows `db` as [`crate::store::db_for_display`]
/// does (a PostgreSQL URL may carry a password) and secrets as `***`.
#[derive(Clone)]
pub struct Config {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// SQLite database file.
    pub db: PathBuf,
    /// Bearer token for `/v1/admin/*` and class creation; generated when unset.
    pub admin_token: Option<Secret>,
    /// Recording-callback sign key.
    pub callback_key: Option<Secret>,
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
}

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
            .field("db", &crate::store::db_for_display(&self.db))
            .field("admin_token", &self.admin_token)
            .field("callback_key", &self.callback_key)
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
            .finish()
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
}

impl std::fmt::Debug for ImSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImSettings")
            .field("endpoint", &self.endpoint.as_deref().map(without_userinfo))
            .field("sdkappid", &self.sdkappid)
            .field("admin", &self.admin)
            .field("secret_key", &self.secret_key)
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
            c.lease = crate::delivery::parse_duration(s.trim())
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
            callback_key: None,
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
            },
            delivery: DeliverySettings::default(),
            secret_store: None,
            limits: ReportLimits::default(),
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
            .field("db", &self.db.as_deref().map(crate::store::db_for_display))
            .finish()
    }
}

/// One source's values: every key optional, so sources merge key by key. `Debug` hides a
/// password in `db`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    listen: Option<String>,
    db: Option<PathBuf>,
    admin_token: Option<Secret>,
    callback_key: Option<Secret>,
    callback_skew_secs: Option<u64>,
    callback_rate_per_source: Option<f64>,
    behind_proxy: Option<bool>,
    max_body_bytes: Option<u64>,
    ui_dir: Option<PathBuf>,
    shutdown_grace_secs: Option<u64>,
    trusted_proxies: Option<Vec<String>>,
    #[serde(default)]
    im: ImLayer,
    #[serde(default)]
    delivery: DeliveryLayer,
    #[serde(default)]
    limits: LimitsLayer,
}

impl std::fmt::Debug for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layer")
            .field("listen", &self.listen)
            .field("db", &self.db.as_deref().map(crate::store::db_for_display))
            .field("admin_token", &self.admin_token)
            .field("callback_key", &self.callback_key)
            .field("callback_skew_secs", &self.callback_skew_secs)
            .field("callback_rate_per_source", &self.callback_rate_per_source)
            .field("behind_proxy", &self.behind_proxy)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("ui_dir", &self.ui_dir)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("im", &self.im)
            .field("delivery", &self.delivery)
            .field("limits", &self.limits)
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsLayer {
    reports_per_credential: Option<f64>,
    reports_per_class: Option<f64>,
    connections_per_source: Option<u64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImLayer {
    endpoint: Option<String>,
    sdkappid: Option<u64>,
    admin: Option<String>,
    secret_key: Option<Secret>,
}

/// Without the endpoint's `user:pass@`, like [`ImSettings`].
impl std::fmt::Debug for ImLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImLayer")
            .field("endpoint", &self.endpoint.as_deref().map(without_userinfo))
            .field("sdkappid", &self.sdkappid)
            .field("admin", &self.admin)
            .field("secret_key", &self.secret_key)
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryLayer {
    app_rate: Option<f64>,
    group_rate: Option<f64>,
    concurrency: Option<u64>,
    retry_schedule: Option<String>,
    lease: Option<String>,
}

/// Later `Some`s win.
fn over<T>(base: &mut Option<T>, top: Option<T>) {
    if top.is_some() {
        *base = top;
    }
}

impl Layer {
    fn merge(&mut self, top: Layer) {
        over(&mut self.listen, top.listen);
        over(&mut self.db, top.db);
        over(&mut self.admin_token, top.admin_token);
        over(&mut self.callback_key, top.callback_key);
        over(&mut self.callback_skew_secs, top.callback_skew_secs);
        over(
            &mut self.callback_rate_per_source,
            top.callback_rate_per_source,
        );
        over(&mut self.behind_proxy, top.behind_proxy);
        over(&mut self.max_body_bytes, top.max_body_bytes);
        over(&mut self.ui_dir, top.ui_dir);
        over(&mut self.shutdown_grace_secs, top.shutdown_grace_secs);
        over(&mut self.im.endpoint, top.im.endpoint);
        over(&mut self.im.sdkappid, top.im.sdkappid);
        over(&mut self.im.admin, top.im.admin);
        over(&mut self.im.secret_key, top.im.secret_key);
        over(&mut self.delivery.app_rate, top.delivery.app_rate);
        over(&mut self.delivery.group_rate, top.delivery.group_rate);
        over(&mut self.delivery.concurrency, top.delivery.concurrency);
        over(
            &mut self.delivery.retry_schedule,
            top.delivery.retry_schedule,
        );
        over(&mut self.delivery.lease, top.delivery.lease);
        over(&mut self.trusted_proxies, top.trusted_proxies);
        over(
            &mut self.limits.reports_per_credential,
            top.limits.reports_per_credential,
        );
        over(
            &mut self.limits.reports_per_class,
            top.limits.reports_per_class,
        );
        over(
            &mut self.limits.connections_per_source,
            top.limits.connections_per_source,
        );
    }
}

/// The environment variables read, with the key each sets (in the order of the
/// table in docs/configuration.md).
pub const ENV_VARS: &[(&str, &str)] = &[
    ("REPLAYDESK_LISTEN", "listen"),
    ("REPLAYDESK_DB", "db"),
    ("REPLAYDESK_ADMIN_TOKEN", "admin_token"),
    ("REPLAYDESK_CALLBACK_KEY", "callback_key"),
    ("REPLAYDESK_IM_ENDPOINT", "im.endpoint"),
    ("REPLAYDESK_IM_SDKAPPID", "im.sdkappid"),
    ("REPLAYDESK_IM_ADMIN", "im.admin"),
    ("REPLAYDESK_IM_SECRET_KEY", "im.secret_key"),
    ("REPLAYDESK_CALLBACK_SKEW_SECS", "callback_skew_secs"),
    (
        "REPLAYDESK_CALLBACK_RATE_PER_SOURCE",
        "callback_rate_per_source",
    ),
    ("REPLAYDESK_BEHIND_PROXY", "behind_proxy"),
    ("REPLAYDESK_MAX_BODY_BYTES", "max_body_bytes"),
    ("REPLAYDESK_UI_DIR", "ui_dir"),
    ("REPLAYDESK_SHUTDOWN_GRACE_SECS", "shutdown_grace_secs"),
    ("REPLAYDESK_DELIVERY_APP_RATE", "delivery.app_rate"),
    ("REPLAYDESK_DELIVERY_GROUP_RATE", "delivery.group_rate"),
    ("REPLAYDESK_DELIVERY_CONCURRENCY", "delivery.concurrency"),
    (
        "REPLAYDESK_DELIVERY_RETRY_SCHEDULE",
        "delivery.retry_schedule",
    ),
    ("REPLAYDESK_DELIVERY_LEASE", "delivery.lease"),
    (
        "REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL",
        "limits.reports_per_credential",
    ),
    (
        "REPLAYDESK_LIMITS_REPORTS_PER_CLASS",
        "limits.reports_per_class",
    ),
    (
        "REPLAYDESK_LIMITS_CONNECTIONS_PER_SOURCE",
        "limits.connections_per_source",
    ),
    ("REPLAYDESK_TRUSTED_PROXIES", "trusted_proxies"),
];

// Env errors never quote the value: a secret set in the wrong variable would be printed.
fn env_u64(var: &str, v: &str) -> Result<u64, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::Env {
        var: var.to_owned(),
        message: "expected a non-negative integer".into(),
    })
}

fn env_bool(var: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ConfigError::Env {
            var: var.to_owned(),
            message: "expected true or false".into(),
        }),
    }
}

fn env_f64(var: &str, v: &str) -> Result<f64, ConfigError> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| ConfigError::Env {
            var: var.to_owned(),
            message: "expected a number".into(),
        })
}

/// Reads the `REPLAYDESK_*` variables among `vars`. An empty variable counts as unset.
fn env_layer(vars: impl IntoIterator<Item = (String, String)>) -> Result<Layer, ConfigError> {
    let mut l = Layer::default();
    for (var, value) in vars {
        if value.is_empty() {
            continue;
        }
        let Some((_, key)) = ENV_VARS.iter().find(|(v, _)| *v == var) else {
            continue;
        };
        match *key {
            "listen" => l.listen = Some(value),
            "db" => l.db = Some(PathBuf::from(value)),
            "admin_token" => l.admin_token = Some(Secret::new(value)),
            "callback_key" => l.callback_key = Some(Secret::new(value)),
            "im.endpoint" => l.im.endpoint = Some(value),
            "im.sdkappid" => l.im.sdkappid = Some(env_u64(&var, &value)?),
            "im.admin" => l.im.admin = Some(value),
            "im.secret_key" => l.im.secret_key = Some(Secret::new(value)),
            "callback_skew_secs" => l.callback_skew_secs = Some(env_u64(&var, &value)?),
            "callback_rate_per_source" => l.callback_rate_per_source = Some(env_f64(&var, &value)?),
            "behind_proxy" => l.behind_proxy = Some(env_bool(&var, &value)?),
            "max_body_bytes" => l.max_body_bytes = Some(env_u64(&var, &value)?),
            "ui_dir" => l.ui_dir = Some(PathBuf::from(value)),
            "shutdown_grace_secs" => l.shutdown_grace_secs = Some(env_u64(&var, &value)?),
            "delivery.app_rate" => l.delivery.app_rate = Some(env_f64(&var, &value)?),
            "delivery.group_rate" => l.delivery.group_rate = Some(env_f64(&var, &value)?),
            "delivery.concurrency" => l.delivery.concurrency = Some(env_u64(&var, &value)?),
            "delivery.retry_schedule" => l.delivery.retry_schedule = Some(value),
            "delivery.lease" => l.delivery.lease = Some(value),
            "limits.reports_per_credential" => {
                l.limits.reports_per_credential = Some(env_f64(&var, &value)?)
            }
            "limits.reports_per_class" => l.limits.reports_per_class = Some(env_f64(&var, &value)?),
            "limits.connections_per_source" => {
                l.limits.connections_per_source = Some(env_u64(&var, &value)?)
            }
            // Comma-separated, as a list in the file.
            "trusted_proxies" => {
                l.trusted_proxies = Some(
                    value
                        .split(',')
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect(),
                )
            }
            _ => {}
        }
    }
    Ok(l)
}

fn file_layer(path: &Path, text: &str) -> Result<Layer, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        message: toml_error_message(text, &e),
    })
}

/// A TOML error as key, line and column and what kind of mistake, never the text: `toml`'s
/// own message quotes the offending line (and "invalid type" ones quote the value), which
/// on a `secret_key` line would print the key.
fn toml_error_message(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message();
    let kind = if msg.starts_with("unknown field") {
        "unknown key".to_owned()
    } else if msg.starts_with("missing field") {
        // Names a field of ours, quotes nothing of the input.
        msg.to_owned()
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        // "invalid type: string \"...\", expected u64": keep only what was expected.
        match msg.rsplit_once(", expected ") {
            Some((_, expected)) => format!("wrong type, expected {expected}"),
            None => "wrong type".to_owned(),
        }
    } else {
        "invalid TOML syntax".to_owned()
    };
    let Some(span) = e.span() else {
        return kind;
    };
    let start = span.start.min(text.len());
    let before = &text.as_bytes()[..start];
    let line_no = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    let mut out = format!("line {line_no}, column {column}");
    if let Some(key) = key_on_line(text, line_no) {
        out.push_str(&format!(" (key {key})"));
    }
    out.push_str(": ");
    out.push_str(&kind);
    out
}

/// The dotted key a line sets (`[section]` + `key = ...`), when it looks like a key; `None`
/// rather than risk showing a value.
fn key_on_line(text: &str, line_no: usize) -> Option<String> {
    let is_key = |k: &str| {
        !k.is_empty()
            && k.len() <= 64
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    let mut section = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if i + 1 == line_no {
            let key = l.split_once('=')?.0.trim();
            if !is_key(key) {
                return None;
            }
            return Some(if section.is_empty() {
                key.to_owned()
            } else {
                format!("{section}.{key}")
            });
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = if is_key(name.trim()) {
                name.trim().to_owned()
            } else {
                String::new()
            };
        }
    }
    None
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
        Self::from_sources(
            file_src,
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            flags,
        )
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
        layer.merge(env_layer(std::env::vars_os().filter_map(|(k, v)| {
            Some((k.into_string().ok()?, v.into_string().ok()?))
        }))?);
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

    fn from_layer(l: Layer) -> Result<Config, ConfigError> {
        let d = Config::default();
        let listen = match l.listen {
            Some(s) => s.trim().parse::<SocketAddr>().map_err(|_| {
                ConfigError::invalid("listen", "is not an address and port (e.g. 127.0.0.1:8080)")
            })?,
            None => d.listen,
        };
        let db = l.db.unwrap_or(d.db);
        if db.as_os_str().is_empty() {
            return Err(ConfigError::invalid("db", "is empty"));
        }
        if let Some(t) = &l.admin_token {
            if t.expose().chars().count() < MIN_ADMIN_TOKEN_LEN {
                return Err(ConfigError::invalid(
                    "admin_token",
                    format!("is shorter than {MIN_ADMIN_TOKEN_LEN} characters"),
                ));
            }
            if t.expose()
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(ConfigError::invalid(
                    "admin_token",
                    "contains whitespace or control characters",
                ));
            }
        }
        if l.callback_key.as_ref().is_some_and(Secret::is_empty) {
            return Err(ConfigError::invalid("callback_key", "is empty"));
        }
        let max_body_bytes = match l.max_body_bytes {
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_MAX_BODY_BYTES).contains(n))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "max_body_bytes",
                        format!("must be between 1 and {MAX_MAX_BODY_BYTES}, got {n}"),
                    )
                })?,
            None => d.max_body_bytes,
        };
        let callback_skew_secs = l.callback_skew_secs.unwrap_or(d.callback_skew_secs);
        if callback_skew_secs > 86_400 {
            return Err(ConfigError::invalid(
                "callback_skew_secs",
                format!("must be at most 86400, got {callback_skew_secs}"),
            ));
        }
        let callback_rate_per_source = l
            .callback_rate_per_source
            .unwrap_or(d.callback_rate_per_source);
        if !(0.0..=100_000.0).contains(&callback_rate_per_source) {
            return Err(ConfigError::invalid(
                "callback_rate_per_source",
                format!("must be between 0 and 100000, got {callback_rate_per_source}"),
            ));
        }
        let shutdown_grace_secs = l.shutdown_grace_secs.unwrap_or(d.shutdown_grace_secs);
        if shutdown_grace_secs > 3600 {
            return Err(ConfigError::invalid(
                "shutdown_grace_secs",
                format!("must be at most 3600, got {shutdown_grace_secs}"),
            ));
        }

        let endpoint =
            l.im.endpoint
                .map(|e| e.trim().trim_end_matches('/').to_owned())
                .filter(|e| !e.is_empty());
        let admin = l.im.admin.unwrap_or(d.im.admin);
        if admin.trim().is_empty() {
            return Err(ConfigError::invalid("im.admin", "is empty"));
        }
        if let Some(e) = &endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(ConfigError::invalid(
                    "im.endpoint",
                    // Not quoted: an endpoint may hold `user:pass@`.
                    "must start with http:// or https://",
                ));
            }
            if l.im.sdkappid.is_none() {
                return Err(ConfigError::invalid(
                    "im.sdkappid",
                    "is required when im.endpoint is set",
                ));
            }
            if l.im.secret_key.as_ref().is_none_or(Secret::is_empty) {
                return Err(ConfigError::invalid(
                    "im.secret_key",
                    "is required when im.endpoint is set",
                ));
            }
        }

        let report_rate = |key: &str, v: Option<f64>, default: f64| match v {
            Some(x) if !(0.0..=1_000_000.0).contains(&x) => Err(ConfigError::invalid(
                key,
                format!("must be between 0 and 1000000 (0 = no limit), got {x}"),
            )),
            Some(x) => Ok(x),
            None => Ok(default),
        };
        let limits = ReportLimits {
            reports_per_credential: report_rate(
                "limits.reports_per_credential",
                l.limits.reports_per_credential,
                d.limits.reports_per_credential,
            )?,
            reports_per_class: report_rate(
                "limits.reports_per_class",
                l.limits.reports_per_class,
                d.limits.reports_per_class,
            )?,
        };
        let connections_per_source = match l.limits.connections_per_source {
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| *n <= 1_000_000)
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "limits.connections_per_source",
                        format!("must be between 0 and 1000000 (0 = no cap), got {n}"),
                    )
                })?,
            None => d.http.connections_per_source,
        };
        let trusted_proxies = l
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| parse_proxy(p))
            .collect::<Result<Vec<_>, _>>()?;

        let dd = DeliverySettings::default();
        let rate = |key: &str, v: Option<f64>, default: f64| -> Result<f64, ConfigError> {
            match v {
                Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
                Some(x) => Err(ConfigError::invalid(
                    key,
                    format!("must be a non-negative number, got {x}"),
                )),
                None => Ok(default),
            }
        };
        let concurrency = match l.delivery.concurrency {
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "delivery.concurrency",
                        format!("must be between 1 and 1024, got {n}"),
                    )
                })?,
            None => dd.concurrency,
        };
        let delivery = DeliverySettings {
            app_rate: rate("delivery.app_rate", l.delivery.app_rate, dd.app_rate)?,
            group_rate: rate("delivery.group_rate", l.delivery.group_rate, dd.group_rate)?,
            concurrency,
            retry_schedule: l.delivery.retry_schedule,
            lease: l.delivery.lease,
        };
        // Fail now rather than at start-up.
        delivery.to_delivery_config()?;

        Ok(Config {
            listen,
            db,
            admin_token: l.admin_token,
            callback_key: l.callback_key,
            callback_skew_secs,
            callback_rate_per_source,
            behind_proxy: l.behind_proxy.unwrap_or(d.behind_proxy),
            max_body_bytes,
            ui_dir: l.ui_dir.unwrap_or_else(|| default_ui_dir(d.ui_dir)),
            shutdown_grace_secs,
            http: HttpLimits {
                connections_per_source,
                trusted_proxies,
                ..d.http
            },
            limits,
            im: ImSettings {
                endpoint,
                sdkappid: l.im.sdkappid,
                admin,
                secret_key: l.im.secret_key,
            },
            delivery,
            secret_store: None,
        })
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

/// One `trusted_proxies` entry: an address (`10.0.0.5`, `::1`) or a network
/// (`10.0.0.0/8`).
fn parse_proxy(p: &str) -> Result<ipnet::IpNet, ConfigError> {
    let p = p.trim();
    p.parse::<ipnet::IpNet>()
        .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            ConfigError::invalid(
                "trusted_proxies",
                format!("{p:?} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)"),
            )
        })
}

/// The console's files when no `ui_dir` is configured: `ui/dist` in the working directory,
/// else `ui/dist` beside the executable or in one of its parent directories (a checkout's
/// `target/debug/replaydesk` finds the checkout's console from any working directory).
fn default_ui_dir(relative: PathBuf) -> PathBuf {
    if relative.is_dir() {
        return relative;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .take(4)
                .map(|dir| dir.join(&relative))
                .find(|candidate| candidate.is_dir())
        })
        .unwrap_or(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn file(text: &str) -> Option<(&'static Path, &str)> {
        Some((Path::new("test.toml"), text))
    }

    /// A PostgreSQL URL carries its password in the userinfo or in a query parameter;
    /// neither may show when a configuration, or a source of one, is debug-printed.
    #[test]
    fn debug_printing_hides_a_database_password_wherever_it_came_from() {
        for url in [
            "postgres://desk:pw-in-userinfo@db.example/replay",
            "postgres://desk@db.example/replay?sslmode=require&password=pw-in-query",
            "postgres://db.example/replay?SSLPassword=pw-in-query&user=desk#frag",
        ] {
            let from_file = Config::from_sources(
                file(&format!("db = \"{url}\"\n")),
                env(&[]),
                &Flags::default(),
            )
            .unwrap();
            let from_env =
                Config::from_sources(None, env(&[("REPLAYDESK_DB", url)]), &Flags::default())
                    .unwrap();
            let flags = Flags {
                db: Some(PathBuf::from(url)),
                ..Flags::default()
            };
            let from_flag = Config::from_sources(None, env(&[]), &flags).unwrap();
            let layer = Layer {
                db: Some(PathBuf::from(url)),
                ..Layer::default()
            };
            for shown in [
                format!("{from_file:?}"),
                format!("{from_env:?}"),
                format!("{from_flag:?}"),
                format!("{flags:?}"),
                format!("{layer:?}"),
            ] {
                assert!(!shown.contains("pw-in-"), "{shown}");
                assert!(
                    shown.contains("db.example/replay"),
                    "the rest of the URL stays: {shown}"
                );
            }
            assert_eq!(
                from_file.db,
                PathBuf::from(url),
                "only the display hides it"
            );
        }
        let shown = crate::store::db_for_display(Path::new(
            "postgres://h/d?sslmode=require&password=x&application_name=rd",
        ));
        assert_eq!(
            shown,
            "postgres://h/d?sslmode=require&password=***&application_name=rd"
        );
        assert_eq!(
            crate::store::db_for_display(Path::new("/var/lib/replaydesk.db")),
            "/var/lib/replaydesk.db"
        );
    }

    #[test]
    fn client_limits_from_the_file_and_the_environment() {
        let d = Config::from_sources(None, env(&[]), &Flags::default()).unwrap();
        assert_eq!(d.limits, ReportLimits::default());
        assert_eq!(
            d.http.connections_per_source,
            DEFAULT_CONNECTIONS_PER_SOURCE
        );
        assert!(d.http.trusted_proxies.is_empty());
        let text = "trusted_proxies = [\"10.0.0.5\", \"fd00::/8\"]\n[limits]\nreports_per_credential = 2\nreports_per_class = 0\nconnections_per_source = 64\n";
        let c = Config::from_sources(file(text), env(&[]), &Flags::default()).unwrap();
        assert_eq!(c.limits.reports_per_credential, 2.0);
        assert_eq!(c.limits.reports_per_class, 0.0);
        assert_eq!(c.http.connections_per_source, 64);
        assert_eq!(c.http.trusted_proxies.len(), 2);
        let e = env(&[
            ("REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL", "0"),
            ("REPLAYDESK_LIMITS_CONNECTIONS_PER_SOURCE", "0"),
            ("REPLAYDESK_TRUSTED_PROXIES", "192.0.2.1, 10.0.0.0/8"),
        ]);
        let c = Config::from_sources(file(text), e, &Flags::default()).unwrap();
        assert_eq!(c.limits.reports_per_credential, 0.0);
        assert_eq!(c.http.connections_per_source, 0);
        assert_eq!(
            c.http.trusted_proxies,
            vec![
                "192.0.2.1/32".parse::<ipnet::IpNet>().unwrap(),
                "10.0.0.0/8".parse().unwrap()
            ]
        );
        for (bad, key) in [
            (
                "[limits]\nreports_per_class = -1\n",
                "limits.reports_per_class",
            ),
            ("trusted_proxies = [\"proxy.local\"]\n", "trusted_proxies"),
        ] {
            let err = Config::from_sources(file(bad), env(&[]), &Flags::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn defaults_are_sandbox_on_localhost() {
        let c = Config::from_sources(None, env(&[]), &Flags::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.db, PathBuf::from("replaydesk.db"));
        assert!(c.sandbox());
        assert_eq!(c.max_body_bytes, 64 * 1024);
        assert_eq!(c.im.admin, "administrator");
        assert!(c.admin_token.is_none());
    }

    #[test]
    fn file_then_env_then_flags() {
        let text = r#"
            listen = "127.0.0.1:1000"
            db = "file.db"
            admin_token = "file-token-0123456789"
            max_body_bytes = 1000
            [im]
            endpoint = "https://console.tim.qq.com/"
            sdkappid = 1400000001
            admin = "file_admin"
            secret_key = "file-key"
            [delivery]
            group_rate = 10
        "#;
        let only_file = Config::from_sources(file(text), env(&[]), &Flags::default()).unwrap();
        assert_eq!(only_file.listen.port(), 1000);
        assert_eq!(only_file.db, PathBuf::from("file.db"));
        assert_eq!(
            only_file.im.endpoint.as_deref(),
            Some("https://console.tim.qq.com")
        );
        assert_eq!(only_file.im.admin, "file_admin");
        assert_eq!(only_file.max_body_bytes, 1000);
        assert_eq!(only_file.delivery.group_rate, 10.0);
        assert!(!only_file.sandbox());

        let e = env(&[
            ("REPLAYDESK_LISTEN", "127.0.0.1:2000"),
            ("REPLAYDESK_DB", "env.db"),
            ("REPLAYDESK_IM_ADMIN", "env_admin"),
            ("REPLAYDESK_IM_SECRET_KEY", "env-key"),
            ("REPLAYDESK_ADMIN_TOKEN", ""),
            ("UNRELATED", "x"),
        ]);
        let with_env = Config::from_sources(file(text), e.clone(), &Flags::default()).unwrap();
        assert_eq!(with_env.listen.port(), 2000);
        assert_eq!(with_env.db, PathBuf::from("env.db"));
        assert_eq!(with_env.im.admin, "env_admin");
        assert_eq!(with_env.im.secret_key.as_ref().unwrap().expose(), "env-key");
        // An empty variable leaves the file's value.
        assert_eq!(
            with_env.admin_token.as_ref().unwrap().expose(),
            "file-token-0123456789"
        );
        assert_eq!(with_env.im.sdkappid, Some(1_400_000_001));

        let flags = Flags {
            config: None,
            listen: Some("127.0.0.1:3000".into()),
            db: Some("flag.db".into()),
        };
        let all = Config::from_sources(file(text), e, &flags).unwrap();
        assert_eq!(all.listen.port(), 3000);
        assert_eq!(all.db, PathBuf::from("flag.db"));
        assert_eq!(all.im.admin, "env_admin");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let err = Config::from_sources(file("lisen = \"x\""), env(&[]), &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("lisen") && err.contains("test.toml"), "{err}");
        let err = Config::from_sources(file("[im]\nsdk_app_id = 1"), env(&[]), &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("sdk_app_id"), "{err}");
        let err = Config::from_sources(
            file("[im]\nsdkappid = \"abc\""),
            env(&[]),
            &Flags::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("sdkappid") && err.contains("wrong type, expected"),
            "{err}"
        );
        assert!(!err.contains("abc"), "the value is not quoted: {err}");
        let err = Config::from_sources(file("max_body_bytes = -1"), env(&[]), &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_body_bytes"), "{err}");
        let err = Config::from_sources(file("listen = = 1"), env(&[]), &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("test.toml"), "{err}");
        let err = Config::from_sources(
            None,
            env(&[("REPLAYDESK_IM_SDKAPPID", "12x")]),
            &Flags::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("REPLAYDESK_IM_SDKAPPID") && !err.contains("12x"),
            "{err}"
        );
    }

    /// Hole 1: a mistake on a secret's line names the key, line and column, never the text.
    #[test]
    fn config_errors_never_echo_a_secret() {
        const SECRET: &str = "s3cr3t-planted-value";
        let files = [
            format!("[im]\nsecret_key = \"{SECRET}\nsdkappid = 1\n"),
            format!("[im]\nsecret_key = {SECRET}\n"),
            format!("callback_key = \"{SECRET}\"\ncalback_key = \"{SECRET}\"\n"),
            format!("[im]\nsdkappid = \"{SECRET}\"\n"),
            format!("admin_token = [\"{SECRET}\"]\n"),
            format!("{SECRET}\n"),
            format!("[im]\nendpoint = \"https://user:{SECRET}@x\"\n"),
            format!("listen = \"{SECRET}\"\n"),
        ];
        for text in &files {
            let err = Config::from_sources(file(text), env(&[]), &Flags::default())
                .expect_err(text)
                .to_string();
            assert!(!err.contains(SECRET), "{text:?} → {err}");
        }
        let err = Config::from_sources(file(&files[0]), env(&[]), &Flags::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("column") && err.contains("im.secret_key"),
            "{err}"
        );
        for var in [
            "REPLAYDESK_IM_SDKAPPID",
            "REPLAYDESK_MAX_BODY_BYTES",
            "REPLAYDESK_DELIVERY_APP_RATE",
            "REPLAYDESK_LISTEN",
            "REPLAYDESK_IM_ENDPOINT",
        ] {
            let value = if var == "REPLAYDESK_IM_ENDPOINT" {
                format!("ftp://u:{SECRET}@x")
            } else {
                SECRET.to_owned()
            };
            let err = Config::from_sources(None, env(&[(var, &value)]), &Flags::default())
                .expect_err(var)
                .to_string();
            assert!(!err.contains(SECRET), "{var} → {err}");
        }
    }

    #[test]
    fn bad_values_are_refused() {
        let cases: &[(&str, &str)] = &[
            ("listen = \"localhost\"", "listen"),
            ("max_body_bytes = 0", "max_body_bytes"),
            ("admin_token = \"short\"", "admin_token"),
            (
                "[im]\nendpoint = \"ftp://x\"\nsdkappid = 1\nsecret_key = \"k\"",
                "im.endpoint",
            ),
            (
                "[im]\nendpoint = \"https://x\"\nsecret_key = \"k\"",
                "im.sdkappid",
            ),
            (
                "[im]\nendpoint = \"https://x\"\nsdkappid = 1",
                "im.secret_key",
            ),
            ("[delivery]\nconcurrency = 0", "delivery.concurrency"),
            ("[delivery]\ngroup_rate = -1", "delivery.group_rate"),
            (
                "[delivery]\nretry_schedule = \"soon\"",
                "delivery.retry_schedule",
            ),
        ];
        for (text, key) in cases {
            let err = Config::from_sources(file(text), env(&[]), &Flags::default())
                .expect_err(text)
                .to_string();
            assert!(err.starts_with(key), "{text}: {err}");
        }
    }

    #[test]
    fn secrets_never_printed_and_token_generated_once() {
        let mut c = Config::from_sources(
            None,
            env(&[
                ("REPLAYDESK_IM_SECRET_KEY", "hunter2-key"),
                ("REPLAYDESK_CALLBACK_KEY", "hunter2-cb"),
            ]),
            &Flags::default(),
        )
        .unwrap();
        let t = c.ensure_admin_token().expect("generated");
        assert_eq!(t.expose().len(), 64);
        assert!(t.expose().chars().all(|c| c.is_ascii_hexdigit()));
        assert!(c.ensure_admin_token().is_none(), "only once");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(t.expose()),
            "{shown}"
        );
    }

    /// Hole 11: an endpoint holding `user:pass@` is shown without it by `Debug`, from the
    /// file or the environment.
    #[test]
    fn debug_output_hides_the_endpoint_userinfo() {
        let endpoint = "https://ops:hunter2-pw@console.tim.qq.com";
        let from_file = Config::from_sources(
            file(&format!(
                "[im]\nendpoint = \"{endpoint}\"\nsdkappid = 1\nsecret_key = \"k\"\n"
            )),
            env(&[]),
            &Flags::default(),
        )
        .unwrap();
        let from_env = Config::from_sources(
            None,
            env(&[
                ("REPLAYDESK_IM_ENDPOINT", endpoint),
                ("REPLAYDESK_IM_SDKAPPID", "1"),
                ("REPLAYDESK_IM_SECRET_KEY", "k"),
            ]),
            &Flags::default(),
        )
        .unwrap();
        for c in [from_file, from_env] {
            assert_eq!(c.im.endpoint.as_deref(), Some(endpoint), "kept for use");
            for shown in [format!("{c:?}"), format!("{:?}", c.im)] {
                assert!(
                    !shown.contains("hunter2") && !shown.contains("ops:"),
                    "{shown}"
                );
                assert!(shown.contains("https://console.tim.qq.com"), "{shown}");
            }
        }
    }
}
