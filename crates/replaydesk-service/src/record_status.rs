//! CSS recording status events (`event_type` 332; issue 22): verified as event 100 is,
//! then kept in the recorder life of the stream's class and user as the recording's life
//! (started, paused, resumed, error, ended), never turned into a message.

use super::{CallbackReceipt, ReplayDesk, ServiceResult};
use replaydesk_callback::{
    candidate_keys, map_recording, stream_media, Mapping, RecordingCallback,
};
use replaydesk_store::{
    CallbackSource, EventFile, NewRecorderEvent, RecorderIntake, RecorderOutcome, RecorderSource,
    RecorderStage,
};

/// CSS's recording status event (`record_event`: started, failed, paused, resumed, error,
/// ended), signed as event 100 (<https://www.tencentcloud.com/document/product/267/58590>).
pub(crate) const EVENT_RECORD_STATUS: i64 = 332;

/// A CSS `record_event`'s stage in its recorder's life.
fn record_event_stage(event: &str) -> RecorderStage {
    match event {
        "record_start_succeeded" => RecorderStage::Started,
        "record_start_failed" | "record_error" => RecorderStage::Error,
        "record_paused" => RecorderStage::Paused,
        "record_resumed" => RecorderStage::Resumed,
        "record_ended" => RecorderStage::Stopped,
        _ => RecorderStage::Other,
    }
}

impl ReplayDesk {
    /// A verified CSS recording status event (332): kept in the recorder life of the
    /// stream's class and user (mapped as a recording would be), never a message; one that
    /// maps to no class is kept (`recorded`) with what the mapping tried.
    pub(crate) async fn receive_record_status(
        &self,
        cb: &RecordingCallback,
        body: &[u8],
        received_at: i64,
    ) -> ServiceResult<CallbackReceipt> {
        let text_of = |k: &str| match cb.raw.get(k) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let event = text_of("record_event").unwrap_or_default();
        let session = text_of("session_id");
        let stream = cb.stream().map(str::to_owned);
        let keys = candidate_keys(cb);
        let snapshot = self
            .inner
            .store
            .class_snapshot_for(&keys.groups, &keys.rooms, &keys.streams)
            .await?;
        let (class_id, uid, note) = match map_recording(cb, &snapshot) {
            Mapping::Matched { class_id, uid, via } => {
                let note = format!("record_event {event:?}, matched by {via}");
                (Some(class_id), Some(uid), note)
            }
            Mapping::Unmatched { reason } => (
                None,
                None,
                format!("record_event {event:?}; maps to no class: {reason}"),
            ),
        };
        let task = session
            .clone()
            .or_else(|| stream.clone())
            .unwrap_or_default();
        let seq = text_of("seq")
            .or_else(|| text_of("event_time"))
            .unwrap_or_default();
        let dedup = format!("css:332:{task}:{event}:{seq}");
        let detail = text_of("record_detail").or_else(|| text_of("errmsg"));
        let event_at = text_of("event_time")
            .and_then(|t| t.parse::<i64>().ok())
            .map(|t| t.saturating_mul(1000));
        let name = if event.is_empty() {
            "record_event"
        } else {
            event.as_str()
        };
        let recorded = self
            .inner
            .store
            .record_recorder_event(&RecorderIntake {
                source: CallbackSource::Css,
                received_at,
                body,
                event: NewRecorderEvent {
                    source: RecorderSource::Css,
                    task_id: &task,
                    class_id: class_id.as_deref(),
                    uid: uid.as_deref(),
                    room_id: None,
                    stream_id: stream.as_deref(),
                    media: stream.as_deref().and_then(stream_media),
                    event_type: EVENT_RECORD_STATUS,
                    event_name: name,
                    stage: record_event_stage(&event),
                    event_at,
                    file_key: None,
                    file_start_ms: None,
                    file_end_ms: None,
                    detail: detail.as_deref(),
                    dedup_key: &dedup,
                    received_at,
                },
                file: EventFile::Keep {
                    outcome: RecorderOutcome::Kept,
                    note: Some(&note),
                },
                more: Vec::new(),
            })
            .await?;
        tracing::info!(
            id = recorded.callback.id,
            record_event = %event,
            class_id = class_id.as_deref().unwrap_or(""),
            "recording status event kept"
        );
        self.close_refused_alert().await;
        Ok(CallbackReceipt {
            callback: recorded.callback,
            refusal: None,
        })
    }
}
