//! Classes: creation (with the IM group when asked), listing with per-status counts, and
//! members.

use super::auth::derive_credential;
use super::{
    token_sha256, validate, ClassSummary, CreateClass, CreatedClass, GroupCreated, ReplayDesk,
    ServiceError, ServiceResult, StatusCounts,
};
use crate::config::random_token;
use replaydesk_delivery::GROUP_MISSING_ALERT;
use replaydesk_im::client::ImError;
use replaydesk_store::Actor;
use replaydesk_store::{ClassRecord, Member, MessageStatus, NewClass, StoreError};
use std::collections::HashMap;

/// The group type ReplayGroups are created with (keeps history).
const GROUP_TYPE: &str = "Public";
/// Longest group name the IM service takes, in bytes.
const GROUP_NAME_BYTES: usize = 30;
/// IM's answer when a custom `GroupId` is taken: for class creation, the group exists.
const GROUP_ID_TAKEN: i64 = 10021;

impl ReplayDesk {
    /// Creates a class (and its group in IM when asked; one that exists is fine) and
    /// returns its report token, shown this once.
    pub async fn create_class(
        &self,
        req: CreateClass,
        actor: &Actor,
    ) -> ServiceResult<CreatedClass> {
        validate::class_id(&req.class_id).map_err(ServiceError::Invalid)?;
        validate::group_id(&req.group_id).map_err(ServiceError::Invalid)?;
        validate::uid("teacher_uid", &req.teacher_uid).map_err(ServiceError::Invalid)?;
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        if let Some(room) = &req.room_id {
            validate::room_id(room).map_err(ServiceError::Invalid)?;
        }
        let room_id = req.room_id.clone();
        let store = &self.inner.store;
        match store.class(&req.class_id).await {
            Ok(_) => {
                return Err(ServiceError::Conflict(format!(
                    "class {:?} already exists",
                    req.class_id
                )))
            }
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(other) = store.class_by_group(&req.group_id).await? {
            return Err(ServiceError::Conflict(format!(
                "group {:?} is already the ReplayGroup of class {:?}",
                req.group_id, other.class_id
            )));
        }
        // Sandbox: the group must exist for messages to land, asked or not.
        let group_created = if req.create_group || self.inner.emulator.is_some() {
            self.make_group(&req.group_id, &req.class_id).await?
        } else {
            false
        };
        // Without the legacy option the class-wide token is still a random one's hash, so
        // the column keeps its meaning, but the token is shown to nobody.
        let token = random_token();
        let credential_key = random_token();
        let class = store
            .create_class(&NewClass {
                class_id: &req.class_id,
                group_id: &req.group_id,
                teacher_uid: &req.teacher_uid,
                report_token_sha256: &token_sha256(&token),
                credential_key: &credential_key,
                legacy_class_token: req.legacy_class_token,
                open_enrolment: req.open_enrolment,
                room_id: room_id.as_deref(),
            })
            .await?;
        store
            .audit(
                actor,
                "create_class",
                &format!("class:{}", class.class_id),
                &serde_json::json!({
                    "group_id": class.group_id,
                    "teacher_uid": class.teacher_uid,
                    "create_group": req.create_group,
                    "group_created": group_created,
                    "legacy_class_token": req.legacy_class_token,
                    "open_enrolment": req.open_enrolment,
                    "room_id": req.room_id,
                }),
            )
            .await?;
        tracing::info!(class_id = %class.class_id, group_id = %class.group_id, group_created, "class created");
        let teacher_credential =
            derive_credential(&credential_key, &class.class_id, &class.teacher_uid, 0);
        Ok(CreatedClass {
            class: class.into(),
            teacher_credential,
            report_token: req.legacy_class_token.then_some(token),
            group_created,
        })
    }

    /// Creates `group_id` in IM (the sandbox's emulator directly), named after the class.
    /// True if this call created it; false if it existed.
    async fn make_group(&self, group_id: &str, class_id: &str) -> ServiceResult<bool> {
        if let Some(emu) = &self.inner.emulator {
            return Ok(emu.create_group_direct(group_id).is_ok());
        }
        let mut name = class_id.to_owned();
        name.truncate(GROUP_NAME_BYTES); // ASCII: any byte is a char boundary
        match self
            .inner
            .delivery
            .im()
            .create_group(group_id, &name, GROUP_TYPE)
            .await
        {
            Ok(_) => Ok(true),
            Err(ImError::Api { code, .. }) if code == GROUP_ID_TAKEN => Ok(false),
            Err(e) => Err(ServiceError::Im(e)),
        }
    }

    /// The fix a `group_missing` alert offers: creates the class's IM group (one that
    /// exists is fine), clears the class's `group_missing` alerts, and queues again the
    /// class's messages that failed since the first of them was raised. Audited.
    pub async fn create_group(&self, class_id: &str, actor: &Actor) -> ServiceResult<GroupCreated> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        let class = self.class(class_id).await?;
        super::import::refuse_if_imported(&class, "creating its IM group")?;
        let group_created = self.make_group(&class.group_id, class_id).await?;
        let store = &self.inner.store;
        let alert_raised_at = store
            .clear_class_alerts(GROUP_MISSING_ALERT, class_id)
            .await?;
        let job = match alert_raised_at {
            Some(since) => Some(
                self.inner
                    .delivery
                    .recover_failed_since(since, Some(class_id.to_owned()), actor)
                    .await?,
            ),
            None => None,
        };
        store
            .audit(
                actor,
                "create_group",
                &format!("class:{class_id}"),
                &serde_json::json!({
                    "group_id": class.group_id,
                    "group_created": group_created,
                    "alert_raised_at": alert_raised_at,
                    "job_id": job.as_ref().map(|j| j.id),
                }),
            )
            .await?;
        tracing::info!(class_id, group_id = %class.group_id, group_created, "group created for a class");
        Ok(GroupCreated {
            class_id: class_id.to_owned(),
            group_id: class.group_id,
            group_created,
            alert_cleared: alert_raised_at.is_some(),
            job: job.map(Into::into),
        })
    }

    pub async fn class(&self, class_id: &str) -> ServiceResult<ClassRecord> {
        Ok(self.inner.store.class(class_id).await?)
    }

    /// Every class with its messages counted per status and its number of members.
    pub async fn list_classes(&self) -> ServiceResult<Vec<ClassSummary>> {
        let store = &self.inner.store;
        let classes = store.classes().await?;
        // Looked up by class, not searched per class: with thousands of classes a scan
        // per class was quadratic.
        let mut counts: HashMap<String, Vec<(MessageStatus, i64)>> = HashMap::new();
        for (id, s, n) in store.class_status_counts().await? {
            counts.entry(id).or_default().push((s, n));
        }
        let members: HashMap<String, i64> = store.member_counts().await?.into_iter().collect();
        let archives: HashMap<String, (replaydesk_store::ArchiveState, Option<i64>)> = store
            .archive_states()
            .await?
            .into_iter()
            .map(|(c, s, since)| (c, (s, since)))
            .collect();
        Ok(classes
            .into_iter()
            .map(|class| {
                let c =
                    StatusCounts::from_pairs(counts.remove(&class.class_id).unwrap_or_default());
                let m = members.get(&class.class_id).copied().unwrap_or(0);
                let (archive_state, archive_deadline_ms) =
                    self.archive_of(&class, archives.get(&class.class_id).copied());
                ClassSummary {
                    class: class.into(),
                    counts: c,
                    members: m,
                    archive_state,
                    archive_deadline_ms,
                }
            })
            .collect())
    }

    /// One class with its counts.
    pub async fn class_summary(&self, class_id: &str) -> ServiceResult<ClassSummary> {
        let class = self.class(class_id).await?;
        let counts =
            StatusCounts::from_pairs(self.inner.store.status_counts(Some(class_id)).await?);
        let members = self.inner.store.members(class_id).await?.len() as i64;
        let row = self
            .inner
            .store
            .archive_state(class_id)
            .await?
            .map(|r| (r.state, r.unarchived_since));
        let (archive_state, archive_deadline_ms) = self.archive_of(&class, row);
        Ok(ClassSummary {
            class: class.into(),
            counts,
            members,
            archive_state,
            archive_deadline_ms,
        })
    }

    /// Reopens an ended class on purpose, so that it may start and end once more (one
    /// more 1001 and 1002). Audited with what it was before. 409 unless the class ended.
    pub async fn reopen_class(&self, class_id: &str, actor: &Actor) -> ServiceResult<ClassSummary> {
        let store = &self.inner.store;
        super::import::refuse_if_imported(&self.class(class_id).await?, "reopening")?;
        let (start_message_id, end_message_id) = store.class_lifecycle_messages(class_id).await?;
        let (before, after) = store.reopen_class(class_id).await?;
        store
            .audit(
                actor,
                "reopen_class",
                &format!("class:{class_id}"),
                &serde_json::json!({
                    "previous_state": before.state,
                    "started_at": before.started_at,
                    "ended_at": before.ended_at,
                    "start_message_id": start_message_id,
                    "end_message_id": end_message_id,
                    "reopen_count": after.reopen_count,
                }),
            )
            .await?;
        tracing::info!(
            class_id,
            reopen_count = after.reopen_count,
            "class reopened"
        );
        self.class_summary(class_id).await
    }

    /// The members of a class, learnt from its reports.
    pub async fn members(&self, class_id: &str) -> ServiceResult<Vec<Member>> {
        self.class(class_id).await?;
        Ok(self.inner.store.members(class_id).await?)
    }
}
