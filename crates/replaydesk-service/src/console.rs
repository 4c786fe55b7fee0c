//! The console's operations, one function each, named as the operation that calls it
//! (declared once in `api/table.rs`, which both doors are built from):
//! `desk.console().list_messages(q)`.
//! They take the typed requests of [`super::requests`]; the queries become the store's filters
//! in [`super::filters`], checked there once for both doors.

use super::requests::{
    AddMembers, AuditQuery, CallbackQuery, ClassQuery, IssueCredentials, JobsQuery, MessageQuery,
    PageQuery, RecoverRequest, ResendFilter, ResendMessageRequest, SandboxFaults, SecretKeyRequest,
};
use super::validate;
use super::{
    AssignCallback, AssignedCallback, ClassSummary, CreateClass, CreatedClass, GroupCreated,
    JoinSheet, MemberCredential, MessageDetail, RecoverPreview, ReplayDesk, ResendOutcome,
    ResendPreview, ServiceError, ServiceResult, UnassignedCallback, DEFAULT_PAGE, MAX_PAGE,
};
use crate::secret_store::SecretName;
use replaydesk_protocol::secret::Secret;
use replaydesk_store::Actor;
// The console answers with the API's models; the store's rows are converted here, at
// the service's edge (see `api::models`).
use super::api::models::{
    AddedMembers, Alert, AuditEntry, Job, Page, RecordingCallbackRecord, RosterMember,
    StoredMessage, TimelineReportRecord,
};

/// The console's view of a [`ReplayDesk`].
#[derive(Debug, Clone, Copy)]
pub struct Console<'a> {
    pub(crate) desk: &'a ReplayDesk,
}

impl ReplayDesk {
    /// The console's operations on this desk.
    pub fn console(&self) -> Console<'_> {
        Console { desk: self }
    }
}

/// Rows as the API's models.
fn models<R, M: From<R>>(rows: Vec<R>) -> Vec<M> {
    rows.into_iter().map(M::from).collect()
}

impl Console<'_> {
    /// `POST /v1/classes`.
    pub async fn create_class(
        &self,
        body: CreateClass,
        actor: &Actor,
    ) -> ServiceResult<CreatedClass> {
        self.desk.create_class(body, actor).await
    }

    /// `GET /v1/admin/classes`: with per-status counts, narrowed by `q`.
    pub async fn list_classes(&self, query: ClassQuery) -> ServiceResult<Vec<ClassSummary>> {
        let state = match query.archive_state.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                replaydesk_store::ArchiveState::parse(s)
                    .map(crate::api::models::ArchiveState::from)
                    .ok_or_else(|| {
                        ServiceError::BadRequest(format!(
                            "archive_state: must be pending, complete, partial or failed, got {s:?}"
                        ))
                    })?,
            ),
        };
        let mut all = self.desk.list_classes().await?;
        if let Some(state) = state {
            all.retain(|c| c.archive_state == state);
        }
        if let Some(before) = query.deadline_before {
            all.retain(|c| c.archive_deadline_ms.is_some_and(|d| d < before));
        }
        if let Some(q) = query
            .q
            .map(|q| q.trim().to_lowercase())
            .filter(|q| !q.is_empty())
        {
            all.retain(|c| {
                [&c.class.class_id, &c.class.group_id, &c.class.teacher_uid]
                    .iter()
                    .any(|s| s.to_lowercase().contains(&q))
            });
        }
        Ok(all)
    }

    /// `GET /v1/admin/classes/{class_id}`.
    pub async fn get_class(&self, class_id: &str) -> ServiceResult<ClassSummary> {
        self.desk.class_summary(class_id).await
    }

    /// `POST /v1/admin/classes/{class_id}/reopen`: an ended class may start and end once
    /// more; audited.
    pub async fn reopen_class(&self, class_id: &str, actor: &Actor) -> ServiceResult<ClassSummary> {
        self.desk.reopen_class(class_id, actor).await
    }

    /// `POST /v1/admin/classes/{class_id}/end`: ends a started class for its teacher (the
    /// 1002 stamped by the teacher's newest pair); audited.
    pub async fn end_class(&self, class_id: &str, actor: &Actor) -> ServiceResult<ClassSummary> {
        self.desk.end_class_for_teacher(class_id, actor).await
    }

    /// `POST /v1/admin/classes/{class_id}/create-group`: the fix a `group_missing` alert
    /// offers; audited.
    pub async fn create_group(&self, class_id: &str, actor: &Actor) -> ServiceResult<GroupCreated> {
        self.desk.create_group(class_id, actor).await
    }

    /// `GET /v1/admin/classes/{class_id}/members`: the roster, with each member's
    /// credential state (never a credential).
    pub async fn class_members(&self, class_id: &str) -> ServiceResult<Vec<RosterMember>> {
        Ok(models(self.desk.roster(class_id).await?))
    }

    /// `POST /v1/admin/classes/{class_id}/members`: register a roster before anyone
    /// reports; audited.
    pub async fn add_members(
        &self,
        class_id: &str,
        body: AddMembers,
        actor: &Actor,
    ) -> ServiceResult<AddedMembers> {
        Ok(self.desk.add_members(class_id, body, actor).await?.into())
    }

    /// `POST /v1/admin/classes/{class_id}/members/{uid}/credential`: issues the member a
    /// new report credential (an unknown uid is enrolled as a student); the old one is
    /// refused from now on. Audited.
    pub async fn member_credential(
        &self,
        class_id: &str,
        uid: &str,
        actor: &Actor,
    ) -> ServiceResult<MemberCredential> {
        self.desk
            .issue_member_credential(class_id, uid, actor)
            .await
    }

    /// `POST /v1/admin/classes/{class_id}/members/{uid}/revoke`: the member's reports are
    /// refused until a credential is issued again. Audited.
    pub async fn revoke_credential(
        &self,
        class_id: &str,
        uid: &str,
        actor: &Actor,
    ) -> ServiceResult<RosterMember> {
        Ok(self
            .desk
            .revoke_member_credential(class_id, uid, actor)
            .await?
            .into())
    }

    /// `POST /v1/admin/classes/{class_id}/credentials`: the join sheet (new credentials
    /// for the students, with QR codes). Audited per member.
    pub async fn issue_credentials(
        &self,
        class_id: &str,
        body: IssueCredentials,
        actor: &Actor,
    ) -> ServiceResult<JoinSheet> {
        self.desk.issue_join_sheet(class_id, body, actor).await
    }

    /// `GET /v1/admin/classes/{class_id}/reports`: the raw timeline reports.
    pub async fn class_reports(
        &self,
        class_id: &str,
        query: PageQuery,
    ) -> ServiceResult<Page<TimelineReportRecord>> {
        Ok(self
            .desk
            .timeline_reports(class_id, query.cursor, query.limit.unwrap_or(DEFAULT_PAGE))
            .await?
            .into())
    }

    /// `GET /v1/admin/classes/{class_id}/messages`.
    pub async fn class_messages(
        &self,
        class_id: &str,
        query: MessageQuery,
    ) -> ServiceResult<Page<StoredMessage>> {
        let (filter, cursor, limit) = query.into_filter(Some(class_id))?;
        Ok(self
            .desk
            .list_messages(&filter, cursor, limit)
            .await?
            .into())
    }

    /// `GET /v1/admin/messages`: across classes (`class` narrows).
    pub async fn list_messages(&self, query: MessageQuery) -> ServiceResult<Page<StoredMessage>> {
        let (filter, cursor, limit) = query.into_filter(None)?;
        Ok(self
            .desk
            .list_messages(&filter, cursor, limit)
            .await?
            .into())
    }

    /// `GET /v1/admin/messages/{id}`: the message and its attempts.
    pub async fn get_message(&self, id: i64) -> ServiceResult<MessageDetail> {
        self.desk.message(id).await
    }

    /// `POST /v1/admin/messages/{id}/resend`: a message already `sent` only with
    /// `{"duplicate": true}` (409 otherwise).
    pub async fn resend_message(
        &self,
        id: i64,
        body: ResendMessageRequest,
        actor: &Actor,
    ) -> ServiceResult<ResendOutcome> {
        let desk = self.desk;
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        let m = desk.inner.store.message(id).await?;
        super::import::refuse_if_imported(&desk.class(&m.class_id).await?, "resending")?;
        let duplicate = body.duplicate.unwrap_or(false);
        let queued = desk.inner.delivery.resend(id, duplicate, actor).await?;
        let message = desk.inner.store.message(id).await?;
        Ok(ResendOutcome {
            queued,
            message: message.into(),
        })
    }

    /// `POST /v1/admin/resend/preview`: how many messages a bulk resend with this body
    /// would take, and the filter as applied. Changes nothing.
    pub async fn preview_resend(&self, body: ResendFilter) -> ServiceResult<ResendPreview> {
        let filter = body.into_filter()?;
        let count = self.desk.count_resend(&filter).await?;
        Ok(ResendPreview {
            count,
            filter: filter.into(),
        })
    }

    /// `POST /v1/admin/resend`: every message matching the filter, as a job — once the
    /// count is confirmed: `confirm_count` must be what the preview stated and still match.
    pub async fn bulk_resend(&self, body: ResendFilter, actor: &Actor) -> ServiceResult<Job> {
        let confirm = body.confirm_count;
        let filter = body.into_filter()?;
        let count = self.desk.count_resend(&filter).await?;
        match confirm {
            Some(n) if n == count => Ok(self.desk.bulk_resend(filter, actor).await?.into()),
            Some(n) => Err(ServiceError::Conflict(format!(
                "confirm_count: {n} confirmed, but {count} messages match now; preview again (POST /v1/admin/resend/preview)"
            ))),
            None => Err(ServiceError::Invalid(format!(
                "confirm_count: required: state the count first (POST /v1/admin/resend/preview; {count} messages match now) and confirm it"
            ))),
        }
    }

    /// `POST /v1/admin/recover/preview`: how many messages a recovery would take. Changes
    /// nothing.
    pub async fn preview_recover(&self, body: RecoverRequest) -> ServiceResult<RecoverPreview> {
        let count = self
            .desk
            .count_recover(body.since_ms, body.class_id.as_deref())
            .await?;
        Ok(RecoverPreview {
            count,
            since_ms: body.since_ms,
            class_id: body.class_id,
        })
    }

    /// `POST /v1/admin/recover`: every message failed since, as a job; with
    /// `confirm_count`, only if that many match now.
    pub async fn recover(&self, body: RecoverRequest, actor: &Actor) -> ServiceResult<Job> {
        if let Some(n) = body.confirm_count {
            let count = self
                .desk
                .count_recover(body.since_ms, body.class_id.as_deref())
                .await?;
            if n != count {
                return Err(ServiceError::Conflict(format!(
                    "confirm_count: {n} confirmed, but {count} messages match now; preview again (POST /v1/admin/recover/preview)"
                )));
            }
        }
        Ok(self
            .desk
            .recover_failed_since(body.since_ms, body.class_id, actor)
            .await?
            .into())
    }

    /// `GET /v1/admin/jobs`: newest first.
    pub async fn list_jobs(&self, query: JobsQuery) -> ServiceResult<Vec<Job>> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        Ok(models(self.desk.inner.store.jobs(limit).await?))
    }

    /// `GET /v1/admin/jobs/{id}`.
    pub async fn get_job(&self, id: i64) -> ServiceResult<Job> {
        Ok(self.desk.job(id).await?.into())
    }

    /// `GET /v1/admin/jobs/{id}/messages`: the messages the job took on, newest first.
    pub async fn job_messages(
        &self,
        id: i64,
        query: PageQuery,
    ) -> ServiceResult<Page<StoredMessage>> {
        Ok(self
            .desk
            .job_messages(id, query.cursor, query.limit.unwrap_or(DEFAULT_PAGE))
            .await?
            .into())
    }

    /// `GET /v1/admin/audit`: newest first.
    pub async fn list_audit(&self, query: AuditQuery) -> ServiceResult<Page<AuditEntry>> {
        let limited = |key: &str, v: &Option<String>, max: usize| match v {
            Some(t) if t.chars().count() > max => Err(ServiceError::Invalid(format!(
                "{key}: longer than {max} characters"
            ))),
            _ => Ok(()),
        };
        limited("action", &query.action, 64)?;
        limited("target", &query.target, 200)?;
        limited("actor", &query.actor, 128)?;
        let nonempty = |v: Option<String>| v.filter(|t| !t.is_empty());
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let items = self
            .desk
            .inner
            .store
            .audit_log_filtered(
                query.cursor,
                limit + 1,
                replaydesk_store::AuditFilter {
                    action: nonempty(query.action).as_deref(),
                    target: nonempty(query.target).as_deref(),
                    actor: nonempty(query.actor).as_deref(),
                },
            )
            .await?;
        Ok(replaydesk_store::Page::from_overfetch(items, limit, |e| e.id).into())
    }

    /// `GET /v1/admin/alerts`: open alerts.
    pub async fn list_alerts(&self) -> ServiceResult<Vec<Alert>> {
        Ok(models(self.desk.alerts().await?))
    }

    /// `GET /v1/admin/callbacks`: newest first.
    pub async fn list_callbacks(
        &self,
        query: CallbackQuery,
    ) -> ServiceResult<Page<RecordingCallbackRecord>> {
        let (statuses, cursor, limit) = query.parts()?;
        Ok(self
            .desk
            .recording_callbacks(&statuses, cursor, limit)
            .await?
            .into())
    }

    /// `GET /v1/admin/callbacks/{id}`.
    pub async fn get_callback(&self, id: i64) -> ServiceResult<RecordingCallbackRecord> {
        Ok(self.desk.recording_callback(id).await?.into())
    }

    /// `POST /v1/admin/callbacks/{id}/assign`.
    pub async fn assign_callback(
        &self,
        id: i64,
        body: AssignCallback,
        actor: &Actor,
    ) -> ServiceResult<AssignedCallback> {
        self.desk.assign_callback(id, body, actor).await
    }

    /// `POST /v1/admin/callbacks/{id}/unassign`: while its 1004 is not sent.
    pub async fn unassign_callback(
        &self,
        id: i64,
        actor: &Actor,
    ) -> ServiceResult<UnassignedCallback> {
        self.desk.unassign_callback(id, actor).await
    }

    /// `PUT /v1/admin/sandbox/faults`: sets the sandbox emulator's fault knobs and answers
    /// those in force; a conflict when the IM service is real (nothing to set). Audited.
    pub async fn set_sandbox_faults(
        &self,
        body: SandboxFaults,
        actor: &Actor,
    ) -> ServiceResult<SandboxFaults> {
        let Some(emu) = self.desk.sandbox_emulator() else {
            return Err(ServiceError::Conflict(
                "not in sandbox mode: the IM service is real, there are no fault knobs".into(),
            ));
        };
        let knobs = replaydesk_emulator::FaultConfig {
            fail_rate: body.fail_rate,
            fail_codes: body.fail_codes.clone(),
            http500_rate: body.http500_rate,
            lost_response_rate: body.lost_response_rate,
            latency_ms: body.latency_ms.into(),
            latency_jitter_ms: body.latency_jitter_ms.into(),
            all_commands: false,
        };
        // The emulator's own check names the field at fault; nothing changes then.
        emu.set_faults(knobs)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        self.desk
            .store()
            .audit(
                actor,
                "set_sandbox_faults",
                "sandbox",
                &serde_json::to_value(&body).unwrap_or_default(),
            )
            .await?;
        tracing::info!(faults = ?body, "sandbox fault knobs set");
        Ok(body)
    }

    /// `PUT /v1/admin/im/secret-key`: replaces the IM secret key (a wrong one paused
    /// sending) and resumes. Audited. With a secret store configured the key is kept there
    /// too, so it survives a restart (until the configured key itself changes).
    pub async fn set_secret_key(&self, body: SecretKeyRequest, actor: &Actor) -> ServiceResult<()> {
        let key = Secret::new(body.secret_key);
        let inner = &self.desk.inner;
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        validate::secret_key(key.expose()).map_err(ServiceError::Invalid)?;
        if let Some(store) = &inner.config.secret_store {
            // Kept first: a key that could not be kept is refused rather than lost at restart.
            store
                .set(&SecretName::FixedImSecretKey, Some(&key))
                .and_then(|()| {
                    store.set(
                        &SecretName::FixedImSecretKeyReplaces,
                        Some(&Secret::new(inner.configured_key_sha256.clone())),
                    )
                })
                .map_err(|e| ServiceError::Unavailable(format!("cannot keep the key: {e}")))?;
        }
        Ok(inner.delivery.update_secret_key(key, actor).await?)
    }
}
