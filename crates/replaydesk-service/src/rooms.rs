//! A class's TRTC room, the stream ids registered for its members, and its recorder life
//! (issue 22): the admin's side of mapping recordings that carry no `stream_param`.

use super::api::models;
use super::requests::{AddStream, UpdateClass};
use super::{validate, ClassSummary, Console, ReplayDesk, ServiceError, ServiceResult};
use replaydesk_store::Actor;

impl ReplayDesk {
    /// Changes a class (today its TRTC `room_id`; `null` clears it), audited
    /// (`set_class_room`). An empty change is refused: nothing to do is a mistake.
    pub async fn update_class(
        &self,
        class_id: &str,
        req: UpdateClass,
        actor: &Actor,
    ) -> ServiceResult<ClassSummary> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        let Some(room) = req.room_id else {
            return Err(ServiceError::Invalid(
                "nothing to change: give room_id (null clears it)".into(),
            ));
        };
        if let Some(r) = &room {
            validate::room_id(r).map_err(ServiceError::Invalid)?;
        }
        self.class(class_id).await?;
        let (before, after) = self
            .inner
            .store
            .set_class_room(class_id, room.as_deref(), actor)
            .await?;
        tracing::info!(class_id, before = ?before.room_id, after = ?after.room_id, "class room set");
        self.class_summary(class_id).await
    }

    /// Registers a stream id for a user of a class, audited (`add_class_stream`). The user
    /// is checked as a member id (a uid the class does not know yet is allowed: a
    /// recording may come before its user ever reports). 409 when the class already has
    /// the stream id.
    pub async fn add_class_stream(
        &self,
        class_id: &str,
        req: AddStream,
        actor: &Actor,
    ) -> ServiceResult<models::ClassStream> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        validate::stream_id(&req.stream_id).map_err(ServiceError::Invalid)?;
        self.class(class_id).await?;
        self.check_member_uid(class_id, "uid", &req.uid)
            .await
            .map_err(ServiceError::Invalid)?;
        let added = self
            .inner
            .store
            .add_class_stream(class_id, &req.stream_id, &req.uid, actor)
            .await?;
        Ok(added.into())
    }

    /// The stream ids registered in a class.
    pub async fn class_streams(&self, class_id: &str) -> ServiceResult<Vec<models::ClassStream>> {
        self.class(class_id).await?;
        Ok(self
            .inner
            .store
            .class_streams(class_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Removes a registered stream id, audited (`remove_class_stream`); 404 when the
    /// class has none such. Recordings already announced through it stay.
    pub async fn remove_class_stream(
        &self,
        class_id: &str,
        stream_id: &str,
        actor: &Actor,
    ) -> ServiceResult<models::ClassStream> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        Ok(self
            .inner
            .store
            .remove_class_stream(class_id, stream_id, actor)
            .await?
            .into())
    }

    /// Every recorder event of a class (either cloud, and files entered by hand), oldest
    /// first.
    pub async fn class_recorder_events(
        &self,
        class_id: &str,
    ) -> ServiceResult<Vec<models::RecorderEvent>> {
        self.class(class_id).await?;
        Ok(self
            .inner
            .store
            .recorder_events(class_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

/// The console's side of the same operations (declared in `api/table.rs`).
impl Console<'_> {
    /// `PATCH /v1/admin/classes/{class_id}`: sets or clears the class's TRTC `room_id`;
    /// audited.
    pub async fn update_class(
        &self,
        class_id: &str,
        body: crate::requests::UpdateClass,
        actor: &Actor,
    ) -> ServiceResult<ClassSummary> {
        self.desk.update_class(class_id, body, actor).await
    }

    /// `GET /v1/admin/classes/{class_id}/streams`: the stream ids registered in a class.
    pub async fn class_streams(
        &self,
        class_id: &str,
    ) -> ServiceResult<Vec<crate::api::models::ClassStream>> {
        self.desk.class_streams(class_id).await
    }

    /// `POST /v1/admin/classes/{class_id}/streams`: registers a stream id for a user;
    /// audited.
    pub async fn add_class_stream(
        &self,
        class_id: &str,
        body: crate::requests::AddStream,
        actor: &Actor,
    ) -> ServiceResult<crate::api::models::ClassStream> {
        self.desk.add_class_stream(class_id, body, actor).await
    }

    /// `DELETE /v1/admin/classes/{class_id}/streams/{stream_id}`: removes one; audited.
    pub async fn remove_class_stream(
        &self,
        class_id: &str,
        stream_id: &str,
        actor: &Actor,
    ) -> ServiceResult<crate::api::models::ClassStream> {
        self.desk
            .remove_class_stream(class_id, stream_id, actor)
            .await
    }

    /// `GET /v1/admin/classes/{class_id}/recorder-events`: the class's recorder life.
    pub async fn class_recorder_events(
        &self,
        class_id: &str,
    ) -> ServiceResult<Vec<crate::api::models::RecorderEvent>> {
        self.desk.class_recorder_events(class_id).await
    }
}
