//! The message log: listing with filters, one message with its attempts, bulk resend and
//! recover as jobs, and the messages a job took on. (Resending one message is the
//! console operation `resend_message`: `console.rs`.)

use super::{validate, MessageDetail, ReplayDesk, ServiceError, ServiceResult, MAX_PAGE};
use replaydesk_protocol::MessageType;
use replaydesk_store::Actor;
use replaydesk_store::{Job, MessageFilter, Page, StoredMessage};

impl ReplayDesk {
    /// Messages matching `filter`, newest first; `cursor` is the previous page's
    /// `next_cursor`. A filter on an unknown class is 404.
    pub async fn list_messages(
        &self,
        filter: &MessageFilter,
        cursor: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<StoredMessage>> {
        validate::text_query(filter.text.as_deref()).map_err(ServiceError::Invalid)?;
        if let Some(c) = &filter.class_id {
            self.class(c).await?;
        }
        Ok(self
            .inner
            .store
            .list_messages(filter, cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    pub async fn count_messages(&self, filter: &MessageFilter) -> ServiceResult<i64> {
        validate::text_query(filter.text.as_deref()).map_err(ServiceError::Invalid)?;
        Ok(self.inner.store.count_messages(filter).await?)
    }

    /// One message with all its attempts and its source: a 1003's report, a 1004's
    /// callback (each found by the message, through an index).
    pub async fn message(&self, id: i64) -> ServiceResult<MessageDetail> {
        let store = &self.inner.store;
        let message = store.message(id).await?;
        let attempts = store.attempts(id).await?;
        let (source_report, source_callback) = match message.msg_type {
            MessageType::Timeline => (store.report_of_message(id).await?, None),
            MessageType::Recording => (None, store.callback_of_message(id).await?),
            _ => (None, None),
        };
        Ok(MessageDetail {
            message: message.into(),
            attempts: attempts.into_iter().map(Into::into).collect(),
            source_report: source_report.map(Into::into),
            source_callback: source_callback.map(Into::into),
        })
    }

    /// How many messages a bulk resend with `filter` would take now.
    pub async fn count_resend(&self, filter: &MessageFilter) -> ServiceResult<i64> {
        validate::text_query(filter.text.as_deref()).map_err(ServiceError::Invalid)?;
        for c in filter.class_id.iter().chain(&filter.class_ids) {
            self.class(c).await?;
        }
        // Messages of imported classes are never resent, so never counted here.
        Ok(self.inner.store.count_resendable(filter).await?)
    }

    /// Resends every message matching `filter` as a background job. Audited.
    pub async fn bulk_resend(&self, filter: MessageFilter, actor: &Actor) -> ServiceResult<Job> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        validate::text_query(filter.text.as_deref()).map_err(ServiceError::Invalid)?;
        if let Some(c) = &filter.class_id {
            super::import::refuse_if_imported(&self.class(c).await?, "resending")?;
        }
        Ok(self.inner.delivery.bulk_resend(filter, actor).await?)
    }

    /// How many messages "recover failed since `since_ms`" would take now.
    pub async fn count_recover(&self, since_ms: i64, class_id: Option<&str>) -> ServiceResult<i64> {
        if since_ms < 0 {
            return Err(ServiceError::Invalid(format!(
                "since_ms: must not be negative, got {since_ms}"
            )));
        }
        if let Some(c) = class_id {
            self.class(c).await?;
        }
        let filter = replaydesk_delivery::recover_filter(since_ms, class_id.map(str::to_owned));
        Ok(self.inner.store.count_resendable(&filter).await?)
    }

    /// Queues again every message that failed at or after `since_ms` (optionally in one
    /// class), as a background job. Audited.
    pub async fn recover_failed_since(
        &self,
        since_ms: i64,
        class_id: Option<String>,
        actor: &Actor,
    ) -> ServiceResult<Job> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        if since_ms < 0 {
            return Err(ServiceError::Invalid(format!(
                "since_ms: must not be negative, got {since_ms}"
            )));
        }
        if let Some(c) = &class_id {
            super::import::refuse_if_imported(&self.class(c).await?, "recovering")?;
        }
        Ok(self
            .inner
            .delivery
            .recover_failed_since(since_ms, class_id, actor)
            .await?)
    }

    pub async fn job(&self, id: i64) -> ServiceResult<Job> {
        Ok(self.inner.store.job(id).await?)
    }

    /// The messages job `id` took on, newest first; `cursor` is the previous page's
    /// `next_cursor`. An unknown job is 404.
    pub async fn job_messages(
        &self,
        id: i64,
        cursor: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<StoredMessage>> {
        Ok(self
            .inner
            .store
            .job_messages(id, cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }
}
