//! Where the configuration's values come from: the TOML file, the `REPLAYDESK_*`
//! environment variables and the command-line flags, each read into a [`Layer`] in which
//! every key is optional, so that layers merge key by key.
//!
//! Every key is declared once, in the [`layer!`] invocations below: its name in the file
//! (`[section]` + field), its type, and from the name its variable (`REPLAYDESK_` + the
//! dotted key in upper case with `_` for `.`: `im.secret_key` is
//! `REPLAYDESK_IM_SECRET_KEY`). Merging and reading the environment are generated from that
//! declaration; what a value must satisfy is checked in `validate.rs`.
//!
//! Layers have no `Debug`: they hold secrets and a database URL that may carry a password,
//! and nothing needs to print them.

use super::ConfigError;
use replaydesk_protocol::secret::Secret;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The prefix of every variable read.
pub const ENV_PREFIX: &str = "REPLAYDESK_";

/// Declares one layer: its keys (each `Option<T>` in the layer) and its sections (nested
/// layers, `[name]` tables in the file).
macro_rules! layer {
    ($name:ident { $($key:ident : $ty:ty),* $(,)? } $(sections { $($sec:ident : $sec_ty:ident),* $(,)? })?) => {
        #[derive(Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $name {
            $(pub(super) $key: Option<$ty>,)*
            $($(#[serde(default)] pub(super) $sec: $sec_ty,)*)?
        }

        impl $name {
            /// Each key `top` sets replaces this layer's.
            pub(super) fn merge(&mut self, top: Self) {
                $(if top.$key.is_some() { self.$key = top.$key; })*
                $($(self.$sec.merge(top.$sec);)*)?
            }

            /// Sets each key whose variable is among `env`; `prefix` is the section's
            /// dotted path (`""` or `"im."`).
            fn read_env(&mut self, prefix: &str, env: &EnvVars) -> Result<(), ConfigError> {
                $(if let Some(v) = env.read(&format!("{prefix}{}", stringify!($key)))? {
                    self.$key = Some(v);
                })*
                $($(self.$sec.read_env(&format!("{prefix}{}.", stringify!($sec)), env)?;)*)?
                Ok(())
            }

            /// The dotted names of this layer's keys, sections' keys after its own.
            fn keys(prefix: &str, out: &mut Vec<String>) {
                $(out.push(format!("{prefix}{}", stringify!($key)));)*
                $($($sec_ty::keys(&format!("{prefix}{}.", stringify!($sec)), out);)*)?
            }
        }
    };
}

layer! {
    Layer {
        listen: String,
        db: PathBuf,
        admin_token: Secret,
        admin_token_enabled: bool,
        session_idle: String,
        session_max: String,
        callback_key: Secret,
        trtc_callback_key: Secret,
        callback_skew_secs: u64,
        callback_rate_per_source: f64,
        behind_proxy: bool,
        max_body_bytes: u64,
        ui_dir: PathBuf,
        shutdown_grace_secs: u64,
        trusted_proxies: Vec<String>,
    }
    sections {
        im: ImLayer,
        delivery: DeliveryLayer,
        limits: LimitsLayer,
        recordings: RecordingsLayer,
        heartbeat: HeartbeatLayer,
        archive: ArchiveLayer,
    }
}

layer! {
    HeartbeatLayer {
        reanchor_ms: u64,
        silence_end: String,
    }
}

layer! {
    ArchiveLayer {
        every: String,
    }
}

layer! {
    RecordingsLayer {
        cos_base_url: String,
        mixed_user_prefix: String,
        missing_after: String,
    }
}

layer! {
    ImLayer {
        endpoint: String,
        sdkappid: u64,
        admin: String,
        secret_key: Secret,
        retention: String,
    }
}

layer! {
    DeliveryLayer {
        app_rate: f64,
        group_rate: f64,
        concurrency: u64,
        retry_schedule: String,
        lease: String,
    }
}

layer! {
    LimitsLayer {
        reports_per_credential: f64,
        reports_per_class: f64,
        connections_per_source: u64,
    }
}

/// Every configuration key, dotted (`im.secret_key`), in declaration order.
pub fn keys() -> Vec<String> {
    let mut out = Vec::new();
    Layer::keys("", &mut out);
    out
}

/// The environment variable that sets `key` (`im.secret_key` → `REPLAYDESK_IM_SECRET_KEY`).
pub fn env_var(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "_").to_ascii_uppercase())
}

/// A key's value as written in an environment variable. Errors say what was expected and
/// never quote the value: a secret set in the wrong variable would be printed.
trait FromEnv: Sized {
    fn from_env(value: String) -> Result<Self, &'static str>;
}

impl FromEnv for String {
    fn from_env(value: String) -> Result<Self, &'static str> {
        Ok(value)
    }
}

impl FromEnv for PathBuf {
    fn from_env(value: String) -> Result<Self, &'static str> {
        Ok(PathBuf::from(value))
    }
}

impl FromEnv for Secret {
    fn from_env(value: String) -> Result<Self, &'static str> {
        Ok(Secret::new(value))
    }
}

impl FromEnv for u64 {
    fn from_env(value: String) -> Result<Self, &'static str> {
        value
            .trim()
            .parse()
            .map_err(|_| "expected a non-negative integer")
    }
}

impl FromEnv for f64 {
    fn from_env(value: String) -> Result<Self, &'static str> {
        value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or("expected a number")
    }
}

impl FromEnv for bool {
    fn from_env(value: String) -> Result<Self, &'static str> {
        match value.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("expected true or false"),
        }
    }
}

/// Comma-separated, as a list in the file.
impl FromEnv for Vec<String> {
    fn from_env(value: String) -> Result<Self, &'static str> {
        Ok(value
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect())
    }
}

/// The non-empty `REPLAYDESK_*` variables (an empty variable counts as unset).
struct EnvVars(HashMap<String, String>);

impl EnvVars {
    fn read<T: FromEnv>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        let var = env_var(key);
        let Some(value) = self.0.get(&var) else {
            return Ok(None);
        };
        T::from_env(value.clone())
            .map(Some)
            .map_err(|message| ConfigError::Env {
                var,
                message: message.to_owned(),
            })
    }
}

/// The layer `vars` (name, value) set; variables that name no key are ignored.
pub(super) fn env_layer(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Layer, ConfigError> {
    let env = EnvVars(
        vars.into_iter()
            .filter(|(var, value)| var.starts_with(ENV_PREFIX) && !value.is_empty())
            .collect(),
    );
    let mut layer = Layer::default();
    layer.read_env("", &env)?;
    Ok(layer)
}

/// The process's environment, leaving out variables that are not Unicode.
pub(super) fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// The layer a configuration file's `text` sets (`path` names it in errors).
pub(super) fn file_layer(path: &Path, text: &str) -> Result<Layer, ConfigError> {
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
