//! What admins watch and fix: the audit log, open alerts, the IM key, and the counters
//! behind `/metrics`.

use super::{validate, ReplayDesk, ServiceError, ServiceResult, MAX_PAGE};
use crate::secret::Secret;
use crate::store::{Alert, AuditEntry, Page};

impl ReplayDesk {
    /// The audit log, newest first; `cursor` is the previous page's `next_cursor`.
    pub async fn audit_log(
        &self,
        cursor: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<AuditEntry>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let items = self.inner.store.audit_log(cursor, limit + 1).await?;
        Ok(Page::from_overfetch(items, limit, |e| e.id))
    }

    /// Conditions the console shows until they clear (e.g. refused IM credentials).
    pub async fn alerts(&self) -> ServiceResult<Vec<Alert>> {
        Ok(self.inner.store.open_alerts().await?)
    }

    /// Replaces the IM secret key (a wrong one paused sending) and resumes. Audited.
    pub async fn update_secret_key(&self, key: Secret, actor: &str) -> ServiceResult<()> {
        validate::actor(actor).map_err(ServiceError::Invalid)?;
        validate::secret_key(key.expose()).map_err(ServiceError::Invalid)?;
        Ok(self.inner.delivery.update_secret_key(key, actor).await?)
    }
}
