//! Where secrets set at run time (through the desktop app's Settings, or a fixed IM key
//! through `PUT /v1/admin/im/secret-key`) are kept so that they survive a restart: the OS
//! keychain (`keyring`: Keychain on macOS, Secret Service on Linux, Credential Manager on
//! Windows) when one answers, else a TOML file only its owner may read (0600). Never in
//! the SQLite file, never in a log line (values stay [`Secret`]s).

use replaydesk_protocol::secret::Secret;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The secrets kept, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretName {
    /// The IM secret key as configured (desktop Settings).
    ImSecretKey,
    /// The recording-callback sign key as configured (desktop Settings).
    CallbackKey,
    /// An IM secret key an admin fixed at run time (`PUT /v1/admin/im/secret-key`).
    FixedImSecretKey,
    /// SHA-256 of the configured key the fixed one replaced: when the configured key
    /// changes later, the configuration is newer and the fixed key is dropped.
    FixedImSecretKeyReplaces,
}

impl SecretName {
    pub fn key(&self) -> String {
        match self {
            SecretName::ImSecretKey => "im.secret_key".to_owned(),
            SecretName::CallbackKey => "callback_key".to_owned(),
            SecretName::FixedImSecretKey => "im.secret_key.fixed".to_owned(),
            SecretName::FixedImSecretKeyReplaces => "im.secret_key.fixed_replaces".to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretStoreError {
    #[error("secret file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("OS keychain: {0}")]
    Keychain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    /// Entries of this keyring service, one per [`SecretName`].
    Keychain {
        service: String,
    },
    File {
        path: PathBuf,
    },
}

/// A place for secrets. Cheap to clone; every call goes to the backing store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretStore {
    backend: Backend,
}

/// Set to `file` to skip the OS keychain (CI, or a machine whose keychain prompts).
pub const SECRET_STORE_ENV: &str = "REPLAYDESK_SECRET_STORE";

impl SecretStore {
    /// A file store at `path` (created 0600 on first write).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            backend: Backend::File { path: path.into() },
        }
    }

    /// The OS keychain under `service` when it answers, else the file at `fallback`.
    /// `REPLAYDESK_SECRET_STORE=file` chooses the file outright.
    pub fn keychain_or_file(service: &str, fallback: impl Into<PathBuf>) -> Self {
        let fallback = fallback.into();
        if std::env::var(SECRET_STORE_ENV).is_ok_and(|v| v.trim() == "file") {
            return Self::file(fallback);
        }
        match keyring::Entry::new(service, &SecretName::ImSecretKey.key())
            .and_then(|e| e.get_password().map(|_| ()))
        {
            Ok(()) | Err(keyring::Error::NoEntry) => Self {
                backend: Backend::Keychain {
                    service: service.to_owned(),
                },
            },
            Err(e) => {
                tracing::info!(reason = %e, file = %fallback.display(), "no OS keychain answers; secrets go to a file only you can read");
                Self::file(fallback)
            }
        }
    }

    /// Words for the Settings view: where secrets are kept.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Keychain { .. } => "the OS keychain".to_owned(),
            Backend::File { path } => {
                format!("{} (readable only by your user)", path.display())
            }
        }
    }

    /// The file, for a file store.
    pub fn file_path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::File { path } => Some(path),
            Backend::Keychain { .. } => None,
        }
    }

    pub fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretStoreError> {
        match &self.backend {
            Backend::Keychain { service } => {
                match keyring::Entry::new(service, &name.key()).and_then(|e| e.get_password()) {
                    Ok(v) => Ok(Some(Secret::new(v))),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(SecretStoreError::Keychain(e.to_string())),
                }
            }
            Backend::File { path } => Ok(read_file(path)?.remove(&name.key()).map(Secret::new)),
        }
    }

    /// Stores `value` under `name`; `None` removes it.
    pub fn set(&self, name: &SecretName, value: Option<&Secret>) -> Result<(), SecretStoreError> {
        match &self.backend {
            Backend::Keychain { service } => {
                let entry = keyring::Entry::new(service, &name.key())
                    .map_err(|e| SecretStoreError::Keychain(e.to_string()))?;
                let done = match value {
                    Some(v) => entry.set_password(v.expose()),
                    None => match entry.delete_credential() {
                        Err(keyring::Error::NoEntry) => Ok(()),
                        other => other,
                    },
                };
                done.map_err(|e| SecretStoreError::Keychain(e.to_string()))
            }
            Backend::File { path } => {
                let mut all = read_file(path)?;
                match value {
                    Some(v) => all.insert(name.key(), v.expose().to_owned()),
                    None => all.remove(&name.key()),
                };
                write_file(path, &all)
            }
        }
    }
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> SecretStoreError {
    SecretStoreError::File {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

fn read_file(path: &Path) -> Result<BTreeMap<String, String>, SecretStoreError> {
    match std::fs::read_to_string(path) {
        // The parse error of a TOML value could quote it: say only where.
        Ok(text) => toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(" at byte {}", s.start))
                .unwrap_or_default();
            file_error(path, format!("is not a TOML table of strings{at}"))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(file_error(path, e)),
    }
}

/// Writes a temporary file created 0600 beside `path`, then renames it over `path`, so the
/// secrets are never readable by others, not even for a moment, and never half-written.
fn write_file(path: &Path, all: &BTreeMap<String, String>) -> Result<(), SecretStoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_error(path, e))?;
    }
    let text = toml::to_string(all).map_err(|e| file_error(path, e))?;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| file_error(&tmp, e))?;
    #[cfg(unix)]
    {
        // A leftover temporary file keeps its old mode: set it again.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| file_error(&tmp, e))?;
    }
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| file_error(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_keeps_secrets_across_opens_and_only_for_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("secrets.toml");
        let store = SecretStore::file(&path);
        assert_eq!(store.get(&SecretName::ImSecretKey).unwrap(), None);
        store
            .set(&SecretName::ImSecretKey, Some(&Secret::new("k-1")))
            .unwrap();
        store
            .set(&SecretName::CallbackKey, Some(&Secret::new("cb")))
            .unwrap();
        let again = SecretStore::file(&path);
        assert_eq!(
            again.get(&SecretName::ImSecretKey).unwrap(),
            Some(Secret::new("k-1"))
        );
        again.set(&SecretName::ImSecretKey, None).unwrap();
        assert_eq!(store.get(&SecretName::ImSecretKey).unwrap(), None);
        assert_eq!(
            store.get(&SecretName::CallbackKey).unwrap(),
            Some(Secret::new("cb"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_that_does_not_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        std::fs::write(&path, "im.secret_key = hunter2-unquoted\n").unwrap();
        let err = SecretStore::file(&path)
            .get(&SecretName::ImSecretKey)
            .unwrap_err()
            .to_string();
        assert!(err.contains("secrets.toml"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
