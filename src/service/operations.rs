//! What admins watch and fix: the audit log, open alerts, the IM key, and the counters
//! behind `/metrics`.

use super::{validate, ReplayDesk, ServiceError, ServiceResult, MAX_PAGE};
use crate::secret_store::SecretName;
use crate::store::{Alert, AuditEntry, Page};
use replaydesk_protocol::secret::Secret;

impl ReplayDesk {
    /// The audit log, newest first; `cursor` is the previous page's `next_cursor`.
    pub async fn audit_log(
        &self,
        cursor: Option<i64>,
        limit: u32,
        action: Option<&str>,
        target: Option<&str>,
    ) -> ServiceResult<Page<AuditEntry>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let items = self
            .inner
            .store
            .audit_log_filtered(cursor, limit + 1, action, target)
            .await?;
        Ok(Page::from_overfetch(items, limit, |e| e.id))
    }

    /// Conditions the console shows until they clear (e.g. refused IM credentials).
    pub async fn alerts(&self) -> ServiceResult<Vec<Alert>> {
        Ok(self.inner.store.open_alerts().await?)
    }

    /// Replaces the IM secret key (a wrong one paused sending) and resumes. Audited. With a
    /// secret store configured the key is kept there too, so it survives a restart (until
    /// the configured key itself changes).
    pub async fn update_secret_key(&self, key: Secret, actor: &str) -> ServiceResult<()> {
        validate::actor(actor).map_err(ServiceError::Invalid)?;
        validate::secret_key(key.expose()).map_err(ServiceError::Invalid)?;
        if let Some(store) = &self.inner.config.secret_store {
            // Kept first: a key that could not be kept is refused rather than lost at restart.
            store
                .set(&SecretName::FixedImSecretKey, Some(&key))
                .and_then(|()| {
                    store.set(
                        &SecretName::FixedImSecretKeyReplaces,
                        Some(&Secret::new(self.inner.configured_key_sha256.clone())),
                    )
                })
                .map_err(|e| ServiceError::Unavailable(format!("cannot keep the key: {e}")))?;
        }
        Ok(self.inner.delivery.update_secret_key(key, actor).await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::secret_store::{SecretName, SecretStore};
    use crate::service::ReplayDesk;
    use replaydesk_protocol::secret::Secret;

    fn config(dir: &std::path::Path, configured_key: &str) -> Config {
        let mut c = Config {
            db: dir.join("keys.db"),
            secret_store: Some(SecretStore::file(dir.join("keys.db.secrets.toml"))),
            ..Config::default()
        };
        c.im.secret_key = Some(Secret::new(configured_key));
        c
    }

    fn key_in_use(desk: &ReplayDesk) -> String {
        desk.config()
            .im
            .secret_key
            .as_ref()
            .unwrap()
            .expose()
            .to_owned()
    }

    #[tokio::test]
    async fn a_fixed_secret_key_survives_a_restart_until_the_configured_key_changes() {
        let dir = tempfile::tempdir().unwrap();
        let desk = ReplayDesk::start(config(dir.path(), "configured-A"))
            .await
            .unwrap();
        desk.update_secret_key(Secret::new("fixed-B"), "admin")
            .await
            .unwrap();
        desk.shutdown().await;

        // Same configuration (the wrong key A still in it): the fixed key B is used.
        let desk = ReplayDesk::start(config(dir.path(), "configured-A"))
            .await
            .unwrap();
        assert_eq!(key_in_use(&desk), "fixed-B");
        desk.shutdown().await;

        // The operator changed the configured key since: the configuration is newer.
        let desk = ReplayDesk::start(config(dir.path(), "configured-C"))
            .await
            .unwrap();
        assert_eq!(key_in_use(&desk), "configured-C");
        desk.shutdown().await;
        let store = SecretStore::file(dir.path().join("keys.db.secrets.toml"));
        assert_eq!(store.get(&SecretName::FixedImSecretKey).unwrap(), None);

        // Never in the database file.
        let db = std::fs::read(dir.path().join("keys.db")).unwrap();
        assert!(!db.windows(7).any(|w| w == b"fixed-B"));
    }

    #[tokio::test]
    async fn a_refused_key_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let desk = ReplayDesk::start(config(dir.path(), "configured-A"))
            .await
            .unwrap();
        assert!(desk
            .update_secret_key(Secret::new("has space"), "admin")
            .await
            .is_err());
        desk.shutdown().await;
        let store = SecretStore::file(dir.path().join("keys.db.secrets.toml"));
        assert_eq!(store.get(&SecretName::FixedImSecretKey).unwrap(), None);
    }
}
