//! The desktop app's Settings: the IM host (regional hosts offered), SDKAppID, admin
//! account, rate limits and listen address, kept in the app's `replaydesk.toml` (the same
//! keys `serve` reads); and the IM secret key and callback key, kept in the
//! [`SecretStore`] only. Secrets are write-only: what is read back says whether one is
//! set, never what it is.

use replaydesk_delivery::DeliveryConfig;
use replaydesk_protocol::secret::Secret;
use replaydesk_server::listens_beyond_this_machine;
use replaydesk_service::config::{DEFAULT_IM_ADMIN, DEFAULT_LISTEN};
use replaydesk_service::secret_store::{SecretName, SecretStore};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;
use ts_rs::TS;

/// The IM REST hosts of the service's regions (docs/protocol.md section 2).
pub const REGIONAL_HOSTS: &[(&str, &str)] = &[
    ("China (default)", "https://console.tim.qq.com"),
    ("Singapore", "https://adminapisgp.im.qcloud.com"),
    ("Seoul", "https://adminapikr.im.qcloud.com"),
    ("Frankfurt", "https://adminapiger.im.qcloud.com"),
    ("Silicon Valley", "https://adminapiusa.im.qcloud.com"),
    ("Jakarta", "https://adminapiidn.im.qcloud.com"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RegionalHost {
    pub region: String,
    pub endpoint: String,
}

/// What Settings shows. Secrets appear only as "set" or "not set".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Settings {
    /// IM REST base URL; `None`: sandbox (the built-in emulator).
    pub im_endpoint: Option<String>,
    #[ts(type = "number | null")]
    pub sdkappid: Option<u64>,
    pub im_admin: String,
    pub secret_key_set: bool,
    pub callback_key_set: bool,
    /// Requests per second for the whole app (0 = no limit).
    pub app_rate: f64,
    /// Messages per second per group (0 = no limit).
    pub group_rate: f64,
    pub listen: String,
    /// Where the running backend listens now (a `REPLAYDESK_LISTEN` variable beats the
    /// file); filled by the app, `None` when not known.
    pub listening_on: Option<String>,
    /// Set when `listen` lets other machines reach this one.
    pub listen_warning: Option<String>,
    pub regional_hosts: Vec<RegionalHost>,
    /// Where the secrets are kept, in words.
    pub secrets_kept_in: String,
    /// The settings file.
    pub config_file: String,
}

/// A change to Settings. Every field is optional: absent = unchanged. Secrets: a value
/// replaces the kept one, an empty string removes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// An empty string returns to sandbox mode.
    #[serde(default)]
    pub im_endpoint: Option<String>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub sdkappid: Option<u64>,
    #[serde(default)]
    pub im_admin: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
    #[serde(default)]
    pub callback_key: Option<String>,
    #[serde(default)]
    pub app_rate: Option<f64>,
    #[serde(default)]
    pub group_rate: Option<f64>,
    #[serde(default)]
    pub listen: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("settings file {path}: {message}")]
    File { path: String, message: String },
    #[error(transparent)]
    Secrets(#[from] replaydesk_service::secret_store::SecretStoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        field,
        message: message.into(),
    }
}

fn file_err(path: &Path, message: impl std::fmt::Display) -> SettingsError {
    SettingsError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn read_table(path: &Path) -> Result<toml::Table, SettingsError> {
    match std::fs::read_to_string(path) {
        Ok(t) => t
            .parse::<toml::Table>()
            .map_err(|e| file_err(path, e.message())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(toml::Table::new()),
        Err(e) => Err(file_err(path, e)),
    }
}

fn section<'a>(t: &'a toml::Table, name: &str) -> Option<&'a toml::Table> {
    t.get(name).and_then(toml::Value::as_table)
}

fn listen_warning(listen: &str) -> Option<String> {
    let addr: SocketAddr = listen.parse().ok()?;
    listens_beyond_this_machine(&addr).then(|| {
        format!("{listen} lets other computers on the network reach ReplayDesk (students' clients need that; anyone else on the network can try too). Use 127.0.0.1 to keep it on this computer.")
    })
}

/// The settings as kept in `config_file` and `secrets`.
pub fn read(config_file: &Path, secrets: &SecretStore) -> Result<Settings, SettingsError> {
    let t = read_table(config_file)?;
    let im = section(&t, "im");
    let delivery = section(&t, "delivery");
    let d = DeliveryConfig::default();
    let str_of = |tab: Option<&toml::Table>, k: &str| {
        tab.and_then(|x| x.get(k))
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
    };
    let num_of = |tab: Option<&toml::Table>, k: &str| {
        tab.and_then(|x| x.get(k))
            .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
    };
    let listen = str_of(Some(&t), "listen").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    Ok(Settings {
        im_endpoint: str_of(im, "endpoint"),
        sdkappid: im
            .and_then(|x| x.get("sdkappid"))
            .and_then(toml::Value::as_integer)
            .and_then(|i| u64::try_from(i).ok()),
        im_admin: str_of(im, "admin").unwrap_or_else(|| DEFAULT_IM_ADMIN.to_owned()),
        secret_key_set: secrets.get(&SecretName::ImSecretKey)?.is_some(),
        callback_key_set: secrets.get(&SecretName::CallbackKey)?.is_some(),
        app_rate: num_of(delivery, "app_rate").unwrap_or(d.app_rate),
        group_rate: num_of(delivery, "group_rate").unwrap_or(d.group_rate),
        listen_warning: listen_warning(&listen),
        listen,
        listening_on: None,
        regional_hosts: REGIONAL_HOSTS
            .iter()
            .map(|(region, endpoint)| RegionalHost {
                region: (*region).to_owned(),
                endpoint: (*endpoint).to_owned(),
            })
            .collect(),
        secrets_kept_in: secrets.describe(),
        config_file: config_file.display().to_string(),
    })
}

/// Checks `update` whole, then writes the file's keys (others in it are kept) and the
/// secrets. Nothing is written when any field is wrong. Takes effect at the next start.
pub fn save(
    config_file: &Path,
    secrets: &SecretStore,
    update: &SettingsUpdate,
) -> Result<Settings, SettingsError> {
    let current = read(config_file, secrets)?;
    let endpoint = match &update.im_endpoint {
        Some(e) => Some(e.trim().trim_end_matches('/').to_owned()).filter(|e| !e.is_empty()),
        None => current.im_endpoint.clone(),
    };
    if let Some(e) = &endpoint {
        let host_ok = e
            .strip_prefix("https://")
            .or_else(|| e.strip_prefix("http://"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(['@', ' ', '?', '#']));
        if !host_ok {
            return Err(invalid(
                "im_endpoint",
                format!("{e:?} is not an http:// or https:// address"),
            ));
        }
    }
    let sdkappid = update.sdkappid.or(current.sdkappid);
    let admin = update.im_admin.clone().unwrap_or(current.im_admin.clone());
    if admin.trim().is_empty() || admin.chars().any(char::is_whitespace) {
        return Err(invalid(
            "im_admin",
            "must be a non-empty account name without spaces",
        ));
    }
    for (field, v) in [
        ("secret_key", &update.secret_key),
        ("callback_key", &update.callback_key),
    ] {
        if let Some(v) = v {
            if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(invalid(field, "contains whitespace or control characters"));
            }
        }
    }
    let secret_key_set = match &update.secret_key {
        Some(v) => !v.is_empty(),
        None => current.secret_key_set,
    };
    if endpoint.is_some() {
        if sdkappid.is_none() {
            return Err(invalid("sdkappid", "is required with an IM host"));
        }
        if !secret_key_set {
            return Err(invalid("secret_key", "is required with an IM host"));
        }
    }
    let rate = |field: &'static str, v: Option<f64>, cur: f64| match v {
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Some(_) => Err(invalid(
            field,
            "must be a number of at least 0 (0 = no limit)",
        )),
        None => Ok(cur),
    };
    let app_rate = rate("app_rate", update.app_rate, current.app_rate)?;
    let group_rate = rate("group_rate", update.group_rate, current.group_rate)?;
    let listen = match &update.listen {
        Some(l) => {
            let l = l.trim().to_owned();
            l.parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "listen",
                    format!("{l:?} is not an address and port, e.g. 127.0.0.1:8080"),
                )
            })?;
            l
        }
        None => current.listen.clone(),
    };

    let mut t = read_table(config_file)?;
    t.insert("listen".into(), toml::Value::String(listen));
    let im = t
        .entry("im")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let im = im
        .as_table_mut()
        .ok_or_else(|| file_err(config_file, "[im] is not a table"))?;
    match endpoint {
        Some(e) => im.insert("endpoint".into(), toml::Value::String(e)),
        None => im.remove("endpoint"),
    };
    match sdkappid {
        Some(n) => im.insert(
            "sdkappid".into(),
            toml::Value::Integer(
                i64::try_from(n).map_err(|_| invalid("sdkappid", "is too large"))?,
            ),
        ),
        None => im.remove("sdkappid"),
    };
    im.insert("admin".into(), toml::Value::String(admin));
    // A secret in the file (put there by hand) would beat the keychain: move it out.
    im.remove("secret_key");
    let delivery = t
        .entry("delivery")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let delivery = delivery
        .as_table_mut()
        .ok_or_else(|| file_err(config_file, "[delivery] is not a table"))?;
    delivery.insert("app_rate".into(), toml::Value::Float(app_rate));
    delivery.insert("group_rate".into(), toml::Value::Float(group_rate));
    t.remove("callback_key");

    // Secrets first: if the keychain refuses, the file is left as it was.
    for (name, v) in [
        (SecretName::ImSecretKey, &update.secret_key),
        (SecretName::CallbackKey, &update.callback_key),
    ] {
        if let Some(v) = v {
            let value = Some(Secret::new(v.clone())).filter(|s| !s.is_empty());
            secrets.set(&name, value.as_ref())?;
            if name == SecretName::ImSecretKey {
                // A key set here is the configured key now; one fixed earlier is stale.
                secrets.set(&SecretName::FixedImSecretKey, None)?;
                secrets.set(&SecretName::FixedImSecretKeyReplaces, None)?;
            }
        }
    }
    if let Some(dir) = config_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_err(config_file, e))?;
    }
    let text = toml::to_string(&t).map_err(|e| file_err(config_file, e))?;
    let tmp = config_file.with_extension("toml.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, config_file))
        .map_err(|e| file_err(config_file, e))?;
    read(config_file, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use replaydesk_service::config::Config;

    fn fixture() -> (tempfile::TempDir, std::path::PathBuf, SecretStore) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config").join("replaydesk.toml");
        let store = SecretStore::file(dir.path().join("secrets.toml"));
        (dir, file, store)
    }

    #[test]
    fn saved_settings_are_what_the_app_loads_and_secrets_stay_out_of_the_file() {
        let (dir, file, store) = fixture();
        let s = save(
            &file,
            &store,
            &SettingsUpdate {
                im_endpoint: Some("https://adminapisgp.im.qcloud.com/".into()),
                sdkappid: Some(1_400_000_001),
                im_admin: Some("ops_admin".into()),
                secret_key: Some("planted-secret-0042".into()),
                callback_key: Some("cb-key-77".into()),
                app_rate: Some(50.0),
                group_rate: Some(5.0),
                listen: Some("0.0.0.0:8099".into()),
            },
        )
        .unwrap();
        assert!(s.secret_key_set && s.callback_key_set);
        assert!(s.listen_warning.is_some());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("planted-secret-0042") && !text.contains("cb-key-77"));
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("planted-secret-0042"));

        let c = Config::load_desktop(&file, dir.path(), store.clone()).unwrap();
        assert_eq!(
            c.im.endpoint.as_deref(),
            Some("https://adminapisgp.im.qcloud.com")
        );
        assert_eq!(c.im.sdkappid, Some(1_400_000_001));
        assert_eq!(c.im.admin, "ops_admin");
        assert_eq!(
            c.im.secret_key.as_ref().unwrap().expose(),
            "planted-secret-0042"
        );
        assert_eq!(c.callback_key.as_ref().unwrap().expose(), "cb-key-77");
        assert_eq!(c.delivery.app_rate, 50.0);
        assert_eq!(c.listen.to_string(), "0.0.0.0:8099");
        assert_eq!(c.db, dir.path().join("replaydesk.db"));

        // Back to sandbox; the key can be removed.
        let s = save(
            &file,
            &store,
            &SettingsUpdate {
                im_endpoint: Some(String::new()),
                secret_key: Some(String::new()),
                listen: Some("127.0.0.1:8099".into()),
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
        assert_eq!(s.im_endpoint, None);
        assert!(!s.secret_key_set);
        assert_eq!(s.listen_warning, None);
    }

    #[test]
    fn a_bad_field_changes_nothing() {
        let (_dir, file, store) = fixture();
        for bad in [
            SettingsUpdate {
                listen: Some("not an address".into()),
                secret_key: Some("k".into()),
                ..SettingsUpdate::default()
            },
            SettingsUpdate {
                im_endpoint: Some("ftp://x".into()),
                ..SettingsUpdate::default()
            },
            SettingsUpdate {
                im_endpoint: Some("https://console.tim.qq.com".into()),
                sdkappid: Some(1),
                ..SettingsUpdate::default()
            },
            SettingsUpdate {
                group_rate: Some(-1.0),
                ..SettingsUpdate::default()
            },
        ] {
            let err = save(&file, &store, &bad).unwrap_err();
            assert!(matches!(err, SettingsError::Invalid { .. }), "{err}");
        }
        assert!(!file.exists());
        assert_eq!(store.get(&SecretName::ImSecretKey).unwrap(), None);
    }
}
