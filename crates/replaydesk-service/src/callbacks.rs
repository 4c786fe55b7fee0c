//! The recording callback end to end (docs/protocol.md section 4): every body kept with what
//! became of it, a matched recording stored with its 1004 before it is acknowledged, and
//! the admin's view and assignment of the callbacks that matched no class.

use super::api::models;
use super::{validate, ReplayDesk, ServiceError, ServiceResult, MAX_PAGE};
use replaydesk_callback::{
    candidate_keys, classify, file_key, map_recording, missing_for_1004, recording_message,
    stream_media, verify, CallbackError, ClassDirectory, Classification, Mapping,
    RecordingCallback, Refusal, EVENT_RECORDING_READY,
};
use replaydesk_protocol::secret::Secret;
use replaydesk_protocol::{check_size, Seq};
use replaydesk_store::Actor;
use replaydesk_store::{
    CallbackSource, CallbackStatus, NewCallbackRow, NewRecorderEvent, Page, RecorderSource,
    RecorderStage, RecordingCallbackRecord, RecordingIntake, RecordingTarget,
    REFUSED_BODY_SAMPLE_BYTES,
};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use ts_rs::TS;

/// An admin's choice of class and user for an unmatched callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct AssignCallback {
    pub class_id: String,
    pub uid: String,
    /// Required (`true`) when `uid` is not a member of the class (no report from it, not
    /// on its roster): the recording then goes to a user the class does not know, which
    /// is usually a typo. Without it such an assignment is refused with 409.
    #[serde(default, deserialize_with = "super::decode::lenient::opt_bool")]
    #[ts(optional)]
    pub not_a_member: Option<bool>,
}

/// An unassigned callback: unmatched again, and the 1004 its assignment made, deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct UnassignedCallback {
    pub callback: models::RecordingCallbackRecord,
    /// The 1004 deleted (never sent), or null when it was a matched callback's and stays.
    #[ts(type = "number | null")]
    pub message_deleted: Option<i64>,
}

/// An assigned callback and its 1004.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AssignedCallback {
    pub callback: models::RecordingCallbackRecord,
    pub message: models::StoredMessage,
    /// False when the file's 1004 already existed for this class and user (nothing new
    /// is sent).
    pub message_created: bool,
}

/// What became of one callback: its stored row, and why it was refused when it was.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackReceipt {
    pub callback: RecordingCallbackRecord,
    /// Set when the row is `refused`: the sender is answered with it.
    pub refusal: Option<Refusal>,
}

impl CallbackReceipt {
    /// Whether the sender gets `{"code":0}` (everything but a refusal).
    pub fn acknowledged(&self) -> bool {
        self.refusal.is_none()
    }
}

/// The alert opened when recording callbacks are being refused: at least
/// [`CALLBACKS_REFUSED_THRESHOLD`] within [`CALLBACKS_REFUSED_WINDOW_MS`] (from any sender),
/// closed by the next callback that is accepted (any that passes its sign check). The
/// monitoring rules shipped with ReplayDesk fire on this alert's own state
/// (`replaydesk_alert_open{kind="callbacks_refused"}`), so they use this definition too.
pub const CALLBACKS_REFUSED_ALERT: &str = "callbacks_refused";
pub const CALLBACKS_REFUSED_THRESHOLD: i64 = 5;
pub const CALLBACKS_REFUSED_WINDOW_MS: i64 = 10 * 60 * 1000;

/// The likely cause of refusals whose most common reason is `reason`.
fn likely_cause(reason: &str) -> &'static str {
    match reason {
        "bad_sign" => {
            "the sign does not match: the callback key set here (callback_key) most likely \
             differs from the one set in the streaming cloud's console"
        }
        "no_callback_key" => {
            "no callback key is configured (callback_key), so every recording callback is \
             refused: set the key the streaming cloud signs with"
        }
        "expired" | "t_too_far_ahead" => {
            "the callbacks' expiry time t is out of range: this server's clock or the \
             sender's is off, or old callbacks are being replayed"
        }
        _ => {
            "the bodies are not recording callbacks as this server reads them: a sender other \
             than the streaming cloud, or a format it does not know"
        }
    }
}

fn unix_s(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

impl ReplayDesk {
    /// Receives one recording callback body, in this order: read it, verify its sign and
    /// expiry (at `received_at`, with `callback_skew_secs` of allowance), ignore events
    /// other than 100, map it to a class and user, and store it with its 1004 in one
    /// transaction (the same file again is a `duplicate` of the same message). Every body
    /// is kept, refused, ignored and unmatched ones included. Returns once the row (and the
    /// message) is durable; an `Err` means nothing could be recorded and the sender should
    /// try again.
    pub async fn receive_recording_callback(
        &self,
        body: &[u8],
        received_at: i64,
    ) -> ServiceResult<CallbackReceipt> {
        if self.inner.stopped.load(Ordering::SeqCst) {
            return Err(ServiceError::Unavailable("the server is stopping".into()));
        }
        let text = body;
        let config = &self.inner.config;
        let sign_key = config
            .callback_key
            .clone()
            .unwrap_or_else(|| Secret::new(""));
        let skew = i64::try_from(config.callback_skew_secs).unwrap_or(i64::MAX);
        let verified = RecordingCallback::parse(body)
            .map_err(Refusal::from)
            .and_then(|cb| verify(&cb, &sign_key, unix_s(received_at), skew).map(|()| cb));
        let cb = match verified {
            Ok(cb) => cb,
            Err(refusal) => return self.refuse_callback(text, received_at, None, refusal).await,
        };

        if cb.event_type == Some(super::record_status::EVENT_RECORD_STATUS) {
            return self.receive_record_status(&cb, text, received_at).await;
        }
        if let Classification::Ignored { event_type } = classify(&cb) {
            let reason = match event_type {
                Some(e) => format!("event_type {e} is not a recording (100)"),
                None => "no event_type".to_owned(),
            };
            let callback = self
                .inner
                .store
                .record_callback(&NewCallbackRow {
                    source: CallbackSource::Css,
                    received_at,
                    body: text,
                    body_bytes: text.len(),
                    status: CallbackStatus::Ignored,
                    reason: Some(&reason),
                    file_key: None,
                })
                .await?;
            tracing::info!(id = callback.id, ?event_type, "recording callback ignored");
            self.close_refused_alert().await;
            return Ok(CallbackReceipt {
                callback,
                refusal: None,
            });
        }

        let key = file_key(&cb);
        let keys = candidate_keys(&cb);
        let mut snapshot = self
            .inner
            .store
            .class_snapshot_for(&keys.groups, &keys.rooms, &keys.streams)
            .await?;
        // A legacy stream id is matched by hashing members: any class's may be the one,
        // unless its groupid names a known class (the mapping then stays within it).
        if keys.legacy
            && !keys
                .groups
                .iter()
                .any(|g| snapshot.class_by_group(g).is_some())
        {
            snapshot = self.inner.store.class_snapshot().await?;
        }
        let mapped = match map_recording(&cb, &snapshot) {
            // The cloud's ids are kept as sent, never refused: one that is a member's is
            // used as it is; one that matches no member becomes a member's only when it
            // passes the identifier rule, else the callback waits in the inbox (unmatched)
            // for an admin to assign.
            Mapping::Matched { class_id, uid, via } => {
                match self.check_member_uid(&class_id, "uid", &uid).await {
                    Ok(()) => Ok((class_id, uid, via)),
                    Err(e) => Err(format!(
                        "{via} names class {class_id:?} but its user id is unusable: {e}"
                    )),
                }
            }
            Mapping::Unmatched { reason } => Err(reason),
        };
        let now_s = unix_s(self.server_ms()).max(0).unsigned_abs();
        let (class_id, uid, note) = match &mapped {
            Ok((class_id, uid, via)) => {
                // A 1004 the IM service would refuse (a novel in video_url) is refused
                // here, where the sender still hears of it, not at delivery.
                let probe = recording_message(&cb, uid, Seq::from_raw(Seq::MAX), now_s).to_data();
                if let Err(e) = check_size(&probe) {
                    let field = if cb.video_url.as_ref().map_or(0, String::len)
                        >= cb
                            .video_id
                            .as_ref()
                            .or(cb.file_id.as_ref())
                            .map_or(0, String::len)
                    {
                        "video_url"
                    } else {
                        "video_id"
                    };
                    let refusal = Refusal::Malformed(CallbackError::InvalidField {
                        field,
                        reason: format!("the 1004 message would be too large: {e}"),
                    });
                    return self
                        .refuse_callback(text, received_at, Some(&key), refusal)
                        .await;
                }
                let missing = missing_for_1004(&cb);
                let note = if missing.is_empty() {
                    format!("matched by {via}")
                } else {
                    format!(
                        "matched by {via}; the callback lacks {}, written as 0 or empty in the 1004",
                        missing.join(", ")
                    )
                };
                (class_id.as_str(), uid.as_str(), note)
            }
            Err(_) => ("", "", String::new()),
        };
        let build = |seq| recording_message(&cb, uid, seq, now_s);
        let target = match &mapped {
            Ok(_) => RecordingTarget::Matched {
                class_id,
                uid,
                note: Some(&note),
                build: &build,
            },
            Err(reason) => RecordingTarget::Unmatched { reason },
        };
        // The file is also an event of its recorder's life (the task id names the
        // recorder; a repeat of the file adds no second event).
        let life_key = format!("css:100:{key}");
        let stream = cb.stream();
        let life = NewRecorderEvent {
            source: RecorderSource::Css,
            task_id: cb.task_id.as_deref().or(stream).unwrap_or(""),
            class_id: None,
            uid: None,
            room_id: None,
            stream_id: stream,
            media: stream.and_then(stream_media),
            event_type: EVENT_RECORDING_READY,
            event_name: "record_file_ready",
            stage: RecorderStage::Ready,
            event_at: cb.end_time.map(|s| s.saturating_mul(1000)),
            file_key: Some(&key),
            file_start_ms: cb.start_time.map(|s| s.saturating_mul(1000)),
            file_end_ms: cb.end_time.map(|s| s.saturating_mul(1000)),
            detail: None,
            dedup_key: &life_key,
            received_at,
        };
        let recorded = self
            .inner
            .store
            .record_recording(&RecordingIntake {
                received_at,
                body: text,
                file_key: &key,
                target,
                life: Some(life),
            })
            .await?;
        let record = &recorded.record;
        if recorded.created {
            self.inner.delivery.wake();
        }
        match record.status {
            CallbackStatus::Unmatched => tracing::warn!(
                id = record.id,
                reason = record.reason.as_deref().unwrap_or(""),
                "recording callback matches no class; kept for an admin"
            ),
            _ => tracing::info!(
                id = record.id,
                status = %record.status,
                class_id = record.class_id.as_deref().unwrap_or(""),
                uid = record.uid.as_deref().unwrap_or(""),
                message_id = record.message_id,
                file_key = %key,
                "recording callback recorded"
            ),
        }
        self.close_refused_alert().await;
        Ok(CallbackReceipt {
            callback: recorded.record,
            refusal: None,
        })
    }

    /// Opens the `callbacks_refused` alert once enough refusals are recent (see
    /// [`CALLBACKS_REFUSED_ALERT`]). A failure is logged: the refusal itself is recorded.
    async fn watch_refusals(&self, received_at: i64) {
        let store = &self.inner.store;
        let since = received_at - CALLBACKS_REFUSED_WINDOW_MS;
        let raised = async {
            let by_reason = store.refused_callbacks_since(since).await?;
            let total: i64 = by_reason.iter().map(|(_, n)| n).sum();
            if total < CALLBACKS_REFUSED_THRESHOLD {
                return Ok(false);
            }
            let reasons: Vec<String> = by_reason.iter().map(|(r, n)| format!("{n} {r}")).collect();
            let top = by_reason.first().map_or("", |(r, _)| r.as_str());
            let detail = format!(
                "{total} recording callbacks refused in the last {} minutes ({}). Likely cause: {}. A refused recording is not stored and gets no 1004; this alert closes when a callback is accepted again.",
                CALLBACKS_REFUSED_WINDOW_MS / 60_000,
                reasons.join(", "),
                likely_cause(top)
            );
            store
                .raise_alert(CALLBACKS_REFUSED_ALERT, &detail)
                .await
                .map(|()| true)
        };
        match raised.await {
            Ok(true) => tracing::warn!(
                alert = CALLBACKS_REFUSED_ALERT,
                "recording callbacks are being refused"
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not check refused callbacks for an alert"),
        }
    }

    /// A callback passed its sign check: the `callbacks_refused` alert, if open, closes.
    pub(crate) async fn close_refused_alert(&self) {
        let store = &self.inner.store;
        let closed = async {
            if store.alert_open(CALLBACKS_REFUSED_ALERT).await? {
                store.clear_alerts(CALLBACKS_REFUSED_ALERT).await
            } else {
                Ok(0)
            }
        };
        match closed.await {
            Ok(0) => {}
            Ok(_) => tracing::info!(
                alert = CALLBACKS_REFUSED_ALERT,
                "a recording callback was accepted again; alert closed"
            ),
            Err(e) => tracing::warn!(error = %e, "could not close the callbacks_refused alert"),
        }
    }

    /// Keeps a refused callback: its first [`REFUSED_BODY_SAMPLE_BYTES`] only, among the
    /// newest [`replaydesk_store::REFUSED_SAMPLE_ROWS`] refused ones (an unauthenticated sender
    /// cannot make the database grow without bound); every refusal is counted.
    async fn refuse_callback(
        &self,
        body: &[u8],
        received_at: i64,
        file_key: Option<&str>,
        refusal: Refusal,
    ) -> ServiceResult<CallbackReceipt> {
        self.inner
            .watch
            .callbacks_refused
            .fetch_add(1, Ordering::Relaxed);
        if refusal == Refusal::NoCallbackKey {
            tracing::warn!("recording callback refused: no callback_key is configured");
        }
        let callback = self
            .inner
            .store
            .record_callback(&NewCallbackRow {
                source: CallbackSource::Css,
                received_at,
                body: &body[..body.len().min(REFUSED_BODY_SAMPLE_BYTES)],
                body_bytes: body.len(),
                status: CallbackStatus::Refused,
                reason: Some(refusal.reason()),
                file_key,
            })
            .await?;
        tracing::warn!(id = callback.id, reason = refusal.reason(), detail = %refusal, "recording callback refused");
        self.watch_refusals(received_at).await;
        Ok(CallbackReceipt {
            callback,
            refusal: Some(refusal),
        })
    }

    /// Recording callbacks with any of `statuses` (all when empty), newest first; `cursor`
    /// is the previous page's `next_cursor`.
    pub async fn recording_callbacks(
        &self,
        statuses: &[CallbackStatus],
        cursor: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<RecordingCallbackRecord>> {
        Ok(self
            .inner
            .store
            .recording_callbacks(statuses, cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    /// Undoes an assignment while its 1004 has not been sent (see
    /// [`replaydesk_store::Store::unassign_callback`]). 404 for an unknown callback; 409 when
    /// it is not assigned or its 1004 is sent or being sent. Audited.
    pub async fn unassign_callback(
        &self,
        id: i64,
        actor: &Actor,
    ) -> ServiceResult<UnassignedCallback> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        let (callback, message_deleted) = self.inner.store.unassign_callback(id, actor).await?;
        tracing::info!(id, ?message_deleted, %actor, "recording callback unassigned");
        Ok(UnassignedCallback {
            callback: callback.into(),
            message_deleted,
        })
    }

    pub async fn recording_callback(&self, id: i64) -> ServiceResult<RecordingCallbackRecord> {
        Ok(self.inner.store.recording_callback(id).await?)
    }

    /// Assigns an `unmatched` callback to a class and user: its 1004 is made exactly as for
    /// a matched callback (one per file), the callback becomes `assigned`, and the action
    /// is audited. 404 for an unknown callback or class; 409 when the callback is not
    /// unmatched, or its file's 1004 already exists for another class or user.
    pub async fn assign_callback(
        &self,
        id: i64,
        req: AssignCallback,
        actor: &Actor,
    ) -> ServiceResult<AssignedCallback> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        validate::uid_printable("uid", &req.uid).map_err(ServiceError::Invalid)?;
        let row = self.recording_callback(id).await?;
        self.class(&req.class_id).await?;
        self.check_member_uid(&req.class_id, "uid", &req.uid)
            .await
            .map_err(ServiceError::Invalid)?;
        if row.status != CallbackStatus::Unmatched {
            return Err(ServiceError::Conflict(format!(
                "callback {id} is {}; only an unmatched callback can be assigned",
                row.status
            )));
        }
        let members = self.inner.store.members(&req.class_id).await?;
        if !members.iter().any(|m| m.uid == req.uid) && req.not_a_member != Some(true) {
            let known: Vec<&str> = members.iter().take(20).map(|m| m.uid.as_str()).collect();
            return Err(ServiceError::Conflict(format!(
                "uid {:?} is not a member of class {:?} (members: {}); to assign the recording to it anyway, send \"not_a_member\": true",
                req.uid,
                req.class_id,
                if known.is_empty() {
                    "none yet".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
        let now_s = unix_s(self.server_ms()).max(0).unsigned_abs();
        let build: Box<dyn Fn(Seq) -> replaydesk_protocol::ReplayMessage + Send + Sync> =
            match row.source {
                CallbackSource::Css => {
                    let cb = RecordingCallback::parse(row.body.as_bytes()).map_err(|e| {
                        ServiceError::Conflict(format!("callback {id} cannot be read again: {e}"))
                    })?;
                    let uid = req.uid.clone();
                    Box::new(move |seq| recording_message(&cb, &uid, seq, now_s))
                }
                CallbackSource::Trtc => {
                    let value = self.trtc_value_for_assign(&row, &req.uid).await?;
                    Box::new(move |seq| {
                        replaydesk_protocol::ReplayMessage::new(
                            seq,
                            now_s,
                            replaydesk_protocol::Payload::Recording(value.clone()),
                        )
                    })
                }
            };
        let recorded = self
            .inner
            .store
            .assign_callback(id, &req.class_id, &req.uid, actor, build.as_ref())
            .await?;
        if recorded.created {
            self.inner.delivery.wake();
        }
        let message = recorded.message.ok_or_else(|| {
            ServiceError::Internal(format!("callback {id} was assigned without a message"))
        })?;
        tracing::info!(id, class_id = %req.class_id, uid = %req.uid, message_id = message.id, %actor, "recording callback assigned");
        Ok(AssignedCallback {
            callback: recorded.record.into(),
            message: message.into(),
            message_created: recorded.created,
        })
    }
}
