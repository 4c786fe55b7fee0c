//! From the merged sources to a [`Config`]: defaults for what no source set, and each
//! value checked, the error naming its key.

use super::sources::Layer;
use super::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

impl Config {
    pub(super) fn from_layer(l: Layer) -> Result<Config, ConfigError> {
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
        if l.trtc_callback_key.as_ref().is_some_and(Secret::is_empty) {
            return Err(ConfigError::invalid("trtc_callback_key", "is empty"));
        }
        let cos_base_url = match l.recordings.cos_base_url {
            Some(u) => {
                let u = u.trim().trim_end_matches('/').to_owned();
                let lower = u.to_ascii_lowercase();
                if !(lower.starts_with("https://") || lower.starts_with("http://"))
                    || u.len() < "http://x".len()
                    || u.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(ConfigError::invalid(
                        "recordings.cos_base_url",
                        "must be an http:// or https:// URL without spaces",
                    ));
                }
                Some(u)
            }
            None => None,
        };
        let mixed_user_prefix = match l.recordings.mixed_user_prefix {
            Some(p) if p.trim().is_empty() => {
                return Err(ConfigError::invalid(
                    "recordings.mixed_user_prefix",
                    "is empty",
                ))
            }
            p => p,
        };
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
        let missing_after = match &l.recordings.missing_after {
            Some(s) => replaydesk_delivery::parse_duration(s.trim())
                .ok()
                .filter(|d| *d >= Duration::from_secs(1))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "recordings.missing_after",
                        "must be a duration of at least 1s such as \"30m\" (units ms, s, m, h)",
                    )
                })?,
            None => d.recordings.missing_after,
        };
        let reanchor_ms = match l.heartbeat.reanchor_ms {
            Some(n) if (1..=60_000).contains(&n) => n,
            Some(n) => {
                return Err(ConfigError::invalid(
                    "heartbeat.reanchor_ms",
                    format!("must be between 1 and 60000 (ms), got {n}"),
                ))
            }
            None => d.heartbeat.reanchor_ms,
        };
        let silence_end = match l.heartbeat.silence_end.as_deref().map(str::trim) {
            None => d.heartbeat.silence_end,
            Some("0") => None,
            Some(s) => Some(
                replaydesk_delivery::parse_duration(s)
                    .ok()
                    .filter(|d| *d >= Duration::from_secs(1))
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            "heartbeat.silence_end",
                            "must be 0 (never) or a duration of at least 1s such as \"10m\" (units ms, s, m, h)",
                        )
                    })?,
            ),
        };

        let retention = match &l.im.retention {
            Some(text) => parse_days_duration(text).ok_or_else(|| {
                ConfigError::invalid(
                    "im.retention",
                    "must be a duration of at least 1s such as \"7d\" or \"30d\" (units ms, s, m, h, d)",
                )
            })?,
            None => d.im.retention,
        };
        let archive_every = match &l.archive.every {
            Some(text) => replaydesk_delivery::parse_duration(text.trim())
                .ok()
                .filter(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(86_400))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "archive.every",
                        "must be a duration from 1s to 24h such as \"5m\" (units ms, s, m, h)",
                    )
                })?,
            None => d.archive_every,
        };

        let session_time = |key: &str, v: Option<String>, default: Duration| {
            match v {
            None => Ok(default),
            Some(s) => replaydesk_delivery::parse_duration(s.trim())
                .ok()
                .filter(|d| *d >= Duration::from_secs(60) && *d <= Duration::from_secs(30 * 86_400))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        key,
                        "must be a duration from 1m to 30 days such as \"30m\" or \"12h\" (units ms, s, m, h)",
                    )
                }),
        }
        };
        let sessions = super::SessionSettings {
            idle: session_time("session_idle", l.session_idle, d.sessions.idle)?,
            max: session_time("session_max", l.session_max, d.sessions.max)?,
        };
        if sessions.idle > sessions.max {
            return Err(ConfigError::invalid(
                "session_idle",
                "must not be longer than session_max",
            ));
        }
        Ok(Config {
            listen,
            db,
            admin_token: l.admin_token,
            admin_token_enabled: l.admin_token_enabled.unwrap_or(d.admin_token_enabled),
            sessions,
            callback_key: l.callback_key,
            trtc_callback_key: l.trtc_callback_key,
            recordings: super::RecordingSettings {
                cos_base_url,
                mixed_user_prefix,
                missing_after,
            },
            archive_every,
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
            heartbeat: super::HeartbeatSettings {
                reanchor_ms,
                silence_end,
            },
            im: ImSettings {
                endpoint,
                sdkappid: l.im.sdkappid,
                admin,
                secret_key: l.im.secret_key,
                retention,
            },
            delivery,
            secret_store: None,
        })
    }
}

/// A duration such as `7d`, `36h` or `1d 12h` (humantime's units, days included), at least
/// 1 s and at most 10 years: the delivery delays' parser stops at a year, and the IM's
/// retention may be longer.
pub(crate) fn parse_days_duration(text: &str) -> Option<Duration> {
    let d = humantime::parse_duration(text.trim()).ok()?;
    (d >= Duration::from_secs(1) && d <= Duration::from_secs(3650 * 86_400)).then_some(d)
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
