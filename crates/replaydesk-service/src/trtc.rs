//! TRTC cloud-recording callbacks end to end (issue 22; docs/protocol.md section 4): each
//! body verified on its exact bytes, kept with what became of it, every event kept in the
//! recorder life, and a complete file with a playable URL stored with its 1004 before
//! the cloud is answered.

use super::{ReplayDesk, ServiceError, ServiceResult};
use parking_lot::Mutex;
use replaydesk_callback::trtc::{
    check_app, check_fresh, describe, event_key, file_key, files, trtc_recording_value,
    verify_sign, FileStorage, TrtcCallback, TrtcFile, TrtcRefusal,
};
use replaydesk_callback::ClassDirectory;
use replaydesk_protocol::secret::Secret;
use replaydesk_protocol::{check_size, Payload, ReplayMessage, Seq};
use replaydesk_store::{
    CallbackSource, CallbackStatus, EventFile, NewCallbackRow, NewRecorderEvent, RecorderIntake,
    RecorderOutcome, RecorderSource, RecorderStage, RecordingCallbackRecord, RecordingTarget,
    REFUSED_BODY_SAMPLE_BYTES,
};
use std::sync::atomic::Ordering;

/// What became of one TRTC callback.
#[derive(Debug, Clone, PartialEq)]
pub struct TrtcReceipt {
    /// The stored row (a refused one keeps a sample of the body).
    pub callback: RecordingCallbackRecord,
    /// Set when refused: the sender is answered with it.
    pub refusal: Option<TrtcRefusal>,
    /// 1004s this callback made.
    pub messages_created: usize,
}

/// Refusal warnings logged per minute; beyond them refusals are counted, and the count is
/// logged with the next warning, so a forged flood cannot fill the logs.
const REFUSAL_WARNINGS_PER_MINUTE: u32 = 10;

/// The refusal log's budget: (minute it counts, warnings in it, refusals not logged).
#[derive(Default)]
pub(crate) struct RefusalLog(Mutex<(i64, u32, u64)>);

impl RefusalLog {
    /// Whether to log a refusal now, and how many went unlogged before it.
    fn admit(&self, now_ms: i64) -> Option<u64> {
        let mut g = self.0.lock();
        let minute = now_ms.div_euclid(60_000);
        if g.0 != minute {
            g.0 = minute;
            g.1 = 0;
        }
        if g.1 >= REFUSAL_WARNINGS_PER_MINUTE {
            g.2 += 1;
            return None;
        }
        g.1 += 1;
        Some(std::mem::take(&mut g.2))
    }
}

/// One file of a callback, settled: its event, and its 1004 or why there is none.
struct Planned {
    event_key: String,
    file_key: Option<String>,
    uid: Option<String>,
    media: Option<String>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    detail: Option<String>,
    plan: Plan,
}

enum Plan {
    Keep(RecorderOutcome, String),
    Announce {
        target: Result<(String, String), String>,
        value: Box<replaydesk_protocol::RecordingValue>,
        note: String,
    },
}

impl ReplayDesk {
    /// Receives one TRTC callback: verifies `Sign` over the raw body and `SdkAppId`, reads
    /// it, checks `CallbackTs`, maps it to a class (its `RoomId`) and user (the file's),
    /// and stores the callback, its events and any 1004 in one transaction. Every body is
    /// kept (a refused one as a sample). Returns once that is durable; an `Err` means
    /// nothing could be recorded and the sender should try again.
    pub async fn receive_trtc_callback(
        &self,
        body: &[u8],
        sign: Option<&str>,
        sdkappid: Option<&str>,
        received_at: i64,
    ) -> ServiceResult<TrtcReceipt> {
        let result = self.receive_trtc(body, sign, sdkappid, received_at).await;
        if let Err(e) = &result {
            self.inner.watch.trtc_failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "TRTC callback could not be recorded; answered 5xx (TRTC retries for about a minute only)");
        }
        result
    }

    async fn receive_trtc(
        &self,
        body: &[u8],
        sign: Option<&str>,
        sdkappid: Option<&str>,
        received_at: i64,
    ) -> ServiceResult<TrtcReceipt> {
        if self.inner.stopped.load(Ordering::SeqCst) {
            return Err(ServiceError::Unavailable("the server is stopping".into()));
        }
        let key = self
            .inner
            .config
            .trtc_callback_key
            .clone()
            .unwrap_or_else(|| Secret::new(""));
        let checked = verify_sign(body, sign, &key)
            .and_then(|()| check_app(sdkappid, self.inner.sdkappid))
            .and_then(|()| TrtcCallback::parse(body).map_err(TrtcRefusal::from))
            .and_then(|cb| check_fresh(cb.callback_ts, received_at).map(|()| cb))
            .and_then(|cb| files(&cb).map(|f| (cb, f)).map_err(TrtcRefusal::from));
        let (cb, found) = match checked {
            Ok(ok) => ok,
            Err(refusal) => return self.refuse_trtc(body, received_at, refusal).await,
        };
        let (name, stage) = describe(&cb);
        let stage = RecorderStage::parse(stage.as_str()).unwrap_or(RecorderStage::Other);
        let room = cb.room_id.clone();
        let snapshot = self
            .inner
            .store
            .class_snapshot_for(&[], &room.iter().cloned().collect::<Vec<_>>(), &[])
            .await?;
        let class = room.as_deref().and_then(|r| snapshot.class_by_room(r));
        let class_id = class.as_ref().map(|c| c.class_id.clone());
        let no_class = match &room {
            Some(r) => format!("room {r:?} is no class's room_id nor class id"),
            None => "the callback names no RoomId".to_owned(),
        };

        let mut planned = Vec::new();
        if found.is_empty() {
            let note = match &class_id {
                Some(c) => format!("{name} (event {}) of class {c:?}", cb.event_type),
                None => format!("{name} (event {}); {no_class}", cb.event_type),
            };
            planned.push(Planned {
                event_key: event_key(&cb, None),
                file_key: None,
                uid: cb.user_id.clone(),
                media: None,
                start_ms: None,
                end_ms: None,
                detail: task_detail(&cb),
                plan: Plan::Keep(RecorderOutcome::Kept, note),
            });
        }
        for f in &found {
            planned.push(
                self.plan_file(&cb, f, class_id.as_deref(), &no_class)
                    .await?,
            );
        }

        // The 1004s, checked before anything is stored: one the IM service would refuse
        // (a novel in VideoUrl) is refused here, where the sender still hears of it.
        let now_s = (self.server_ms().div_euclid(1000)).max(0).unsigned_abs();
        for p in &planned {
            if let Plan::Announce { value, .. } = &p.plan {
                let probe = ReplayMessage::new(
                    Seq::from_raw(Seq::MAX),
                    now_s,
                    Payload::Recording((**value).clone()),
                );
                if let Err(e) = check_size(&probe.to_data()) {
                    let refusal =
                        TrtcRefusal::Malformed(replaydesk_callback::CallbackError::InvalidField {
                            field: "EventInfo.Payload",
                            reason: format!("the 1004 message would be too large: {e}"),
                        });
                    return self.refuse_trtc(body, received_at, refusal).await;
                }
            }
        }

        let builds: Vec<Box<dyn Fn(Seq) -> ReplayMessage + Send + Sync>> = planned
            .iter()
            .map(|p| -> Box<dyn Fn(Seq) -> ReplayMessage + Send + Sync> {
                match &p.plan {
                    Plan::Announce { value, .. } => {
                        let value = (**value).clone();
                        Box::new(move |seq| {
                            ReplayMessage::new(seq, now_s, Payload::Recording(value.clone()))
                        })
                    }
                    Plan::Keep(..) => Box::new(|seq| {
                        ReplayMessage::new(seq, now_s, Payload::ClassStart(Default::default()))
                    }),
                }
            })
            .collect();
        let task = cb.task().to_owned();
        let event_at = cb.event_at_ms();
        let items: Vec<(NewRecorderEvent<'_>, EventFile<'_>)> = planned
            .iter()
            .zip(&builds)
            .map(|(p, build)| {
                let event = NewRecorderEvent {
                    source: RecorderSource::Trtc,
                    task_id: &task,
                    class_id: class_id.as_deref(),
                    uid: p.uid.as_deref(),
                    room_id: room.as_deref(),
                    stream_id: None,
                    media: p.media.as_deref(),
                    event_type: cb.event_type,
                    event_name: name,
                    stage,
                    event_at,
                    file_key: p.file_key.as_deref(),
                    file_start_ms: p.start_ms,
                    file_end_ms: p.end_ms,
                    detail: p.detail.as_deref(),
                    dedup_key: &p.event_key,
                    received_at,
                };
                let file = match &p.plan {
                    Plan::Keep(outcome, note) => EventFile::Keep {
                        outcome: *outcome,
                        note: Some(note),
                    },
                    Plan::Announce { target, note, .. } => EventFile::Announce {
                        file_key: p.file_key.as_deref().unwrap_or(""),
                        target: match target {
                            Ok((class_id, uid)) => RecordingTarget::Matched {
                                class_id,
                                uid,
                                note: Some(note),
                                build: build.as_ref(),
                            },
                            Err(reason) => RecordingTarget::Unmatched { reason },
                        },
                    },
                };
                (event, file)
            })
            .collect();
        let mut items = items.into_iter();
        let (event, file) = items.next().expect("at least one planned event");
        let recorded = self
            .inner
            .store
            .record_recorder_event(&RecorderIntake {
                source: CallbackSource::Trtc,
                received_at,
                body,
                event,
                file,
                more: items.collect(),
            })
            .await?;
        let created = usize::from(recorded.created) + recorded.more_created;
        if created > 0 {
            self.inner.delivery.wake();
        }
        let record = &recorded.callback;
        tracing::info!(
            id = record.id,
            event_type = cb.event_type,
            status = %record.status,
            class_id = record.class_id.as_deref().unwrap_or(""),
            uid = record.uid.as_deref().unwrap_or(""),
            messages_created = created,
            "TRTC callback recorded"
        );
        Ok(TrtcReceipt {
            callback: recorded.callback,
            refusal: None,
            messages_created: created,
        })
    }

    /// What one file of an event comes to: a slice or a file with no playable URL is
    /// kept; a complete file is announced to its class and user, or waits for an admin.
    async fn plan_file(
        &self,
        cb: &TrtcCallback,
        f: &TrtcFile,
        class_id: Option<&str>,
        no_class: &str,
    ) -> ServiceResult<Planned> {
        let uid = f.user_id.clone().or_else(|| cb.user_id.clone());
        let key = file_key(cb, f);
        let mut start_ms = f.start_ms;
        let mut start_from_slice = false;
        if start_ms.is_none() && f.complete {
            // The 311's own times win; without them, the first slice's start (307).
            start_ms = self
                .inner
                .store
                .recorder_task_events(RecorderSource::Trtc, cb.task())
                .await?
                .into_iter()
                // A 307 names no stream kind: a slice of the same user with none, or the
                // same, is this file's.
                .filter(|e| {
                    e.stage == RecorderStage::Slice
                        && e.uid == uid
                        && (e.media.is_none() || e.media == f.media)
                })
                .find_map(|e| e.file_start_ms);
            start_from_slice = start_ms.is_some();
        }
        let detail = [
            f.file_name.as_deref().map(|n| format!("file {n}")),
            f.track_type.as_deref().map(|t| format!("track {t}")),
            task_detail(cb),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
        let mut p = Planned {
            event_key: event_key(cb, Some(f)),
            file_key: Some(key),
            uid: uid.clone(),
            media: f.media.clone(),
            start_ms,
            end_ms: f.end_ms,
            detail: (!detail.is_empty()).then_some(detail),
            plan: Plan::Keep(RecorderOutcome::Kept, String::new()),
        };
        if !f.complete {
            p.plan = Plan::Keep(
                RecorderOutcome::Kept,
                "a file's first slice: kept in the recorder's life; its 1004 comes with the whole file".into(),
            );
            return Ok(p);
        }
        let url = match f.storage {
            FileStorage::Vod => f.video_url.clone(),
            FileStorage::Cos => match (&self.inner.config.recordings.cos_base_url, &f.file_name) {
                (Some(base), Some(name)) => {
                    Some(format!("{base}/{}", name.trim_start_matches('/')))
                }
                _ => {
                    p.plan = Plan::Keep(
                        RecorderOutcome::NoBaseUrl,
                        "a file in object storage has no playable URL and recordings.cos_base_url is not set: no 1004".into(),
                    );
                    return Ok(p);
                }
            },
        };
        let Some(url) = url else {
            p.plan = Plan::Keep(
                RecorderOutcome::Kept,
                "the file has no VideoUrl: no 1004".into(),
            );
            return Ok(p);
        };
        let mixed = self.inner.config.recordings.mixed_user_prefix.as_deref();
        let target = match (class_id, uid.as_deref()) {
            (None, _) => Err(no_class.to_owned()),
            (Some(c), Some(u)) if mixed.is_some_and(|m| u.starts_with(m)) => Err(format!(
                "a mixed-stream file of class {c:?} (user id {u:?} begins with recordings.mixed_user_prefix): assign it to a uid"
            )),
            (Some(c), None) => Err(format!("a file of class {c:?} that names no user")),
            (Some(c), Some(u)) => match self.check_member_uid(c, "uid", u).await {
                Ok(()) => Ok((c.to_owned(), u.to_owned())),
                Err(e) => Err(format!(
                    "room names class {c:?} but the file's user id is unusable: {e}"
                )),
            },
        };
        let value_uid = target.as_ref().map(|(_, u)| u.as_str()).unwrap_or("");
        let value = trtc_recording_value(f, value_uid, &url, start_ms);
        let mut note = format!("matched by room {:?}", cb.room_id.as_deref().unwrap_or(""));
        if start_from_slice {
            note.push_str("; start_time from the file's first slice (307)");
        }
        let missing: Vec<&str> = [
            (start_ms.is_none(), "start time"),
            (f.end_ms.is_none(), "end time"),
        ]
        .into_iter()
        .filter_map(|(m, n)| m.then_some(n))
        .collect();
        if !missing.is_empty() {
            note.push_str(&format!(
                "; the callback lacks its {}, written as 0 in the 1004",
                missing.join(" and ")
            ));
        }
        p.plan = Plan::Announce {
            target,
            value: Box::new(value),
            note,
        };
        Ok(p)
    }

    /// The 1004 `value` of an unmatched TRTC callback's file for `uid`, read again from
    /// its body (its file by the row's `file_key`; its start as its recorder event kept
    /// it, so a start taken from a first slice stays).
    pub(crate) async fn trtc_value_for_assign(
        &self,
        row: &RecordingCallbackRecord,
        uid: &str,
    ) -> ServiceResult<replaydesk_protocol::RecordingValue> {
        let unreadable = |e: String| {
            ServiceError::Conflict(format!("callback {} cannot be read again: {e}", row.id))
        };
        let cb = TrtcCallback::parse(row.body.as_bytes()).map_err(|e| unreadable(e.to_string()))?;
        let listed = files(&cb).map_err(|e| unreadable(e.to_string()))?;
        let f = listed
            .iter()
            .find(|f| Some(file_key(&cb, f)) == row.file_key)
            .ok_or_else(|| unreadable("its file is not in its body".into()))?;
        let url = match f.storage {
            FileStorage::Vod => f.video_url.clone(),
            FileStorage::Cos => self
                .inner
                .config
                .recordings
                .cos_base_url
                .as_ref()
                .zip(f.file_name.as_ref())
                .map(|(base, name)| format!("{base}/{}", name.trim_start_matches('/'))),
        }
        .ok_or_else(|| unreadable("its file has no playable URL".into()))?;
        let start_ms = self
            .inner
            .store
            .recorder_events_of_callback(row.id)
            .await?
            .into_iter()
            .find(|e| e.file_key == row.file_key)
            .and_then(|e| e.file_start_ms)
            .or(f.start_ms);
        Ok(trtc_recording_value(f, uid, &url, start_ms))
    }

    /// Keeps a refused TRTC callback (a sample of its body, among the newest refused
    /// ones), counts it, and logs it at `warn` within [`REFUSAL_WARNINGS_PER_MINUTE`].
    async fn refuse_trtc(
        &self,
        body: &[u8],
        received_at: i64,
        refusal: TrtcRefusal,
    ) -> ServiceResult<TrtcReceipt> {
        self.inner
            .watch
            .callbacks_refused
            .fetch_add(1, Ordering::Relaxed);
        let callback = self
            .inner
            .store
            .record_callback(&NewCallbackRow {
                source: CallbackSource::Trtc,
                received_at,
                body: &body[..body.len().min(REFUSED_BODY_SAMPLE_BYTES)],
                body_bytes: body.len(),
                status: CallbackStatus::Refused,
                reason: Some(refusal.reason()),
                file_key: None,
            })
            .await?;
        if let Some(unlogged) = self.inner.trtc_refusal_log.admit(received_at) {
            tracing::warn!(
                id = callback.id,
                reason = refusal.reason(),
                detail = %refusal,
                unlogged_before = unlogged,
                "TRTC callback refused"
            );
        }
        Ok(TrtcReceipt {
            callback,
            refusal: Some(refusal),
            messages_created: 0,
        })
    }
}

/// The task-wide facts worth keeping beside the columns (a stop's leave code, an error).
fn task_detail(cb: &TrtcCallback) -> Option<String> {
    let parts: Vec<String> = ["LeaveCode", "Status", "Errmsg", "Info", "Url"]
        .iter()
        .filter_map(|k| {
            cb.payload.get(*k).and_then(|v| match v {
                serde_json::Value::String(s) if s.is_empty() => None,
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => {
                    Some(format!("{k} {}", replaydesk_protocol::shortened(s, 200)))
                }
                other => Some(format!("{k} {other}")),
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}
