//! What admins watch: open alerts, and the counters behind `/metrics`. (The audit log and
//! fixing the IM key are console operations: `console.rs`.)

use super::{ReplayDesk, ServiceResult};
use replaydesk_store::Alert;

impl ReplayDesk {
    /// Conditions the console shows until they clear (e.g. refused IM credentials).
    pub async fn alerts(&self) -> ServiceResult<Vec<Alert>> {
        Ok(self.inner.store.open_alerts().await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::requests::SecretKeyRequest;
    use crate::secret_store::{SecretName, SecretStore};
    use crate::ReplayDesk;
    use replaydesk_protocol::secret::Secret;

    fn key(k: &str) -> SecretKeyRequest {
        SecretKeyRequest {
            secret_key: k.to_owned(),
        }
    }

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
        desk.console()
            .set_secret_key(
                key("fixed-B"),
                &crate::Actor::new("admin", crate::Door::BootstrapToken),
            )
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
            .console()
            .set_secret_key(
                key("has space"),
                &crate::Actor::new("admin", crate::Door::BootstrapToken)
            )
            .await
            .is_err());
        desk.shutdown().await;
        let store = SecretStore::file(dir.path().join("keys.db.secrets.toml"));
        assert_eq!(store.get(&SecretName::FixedImSecretKey).unwrap(), None);
    }
}
