//! A class's recordings (issue 22, items 3 and 4): each member's recorders with their life
//! and their 1004s (the console's "Recordings" view), recorders that never produced a file
//! (the `recording_missing` alert and the periodic check that raises and clears it), and a
//! file entered by hand.

use super::api::models;
use super::requests::EnterRecording;
use super::{validate, Console, ReplayDesk, ServiceError, ServiceResult};
use replaydesk_protocol::{check_size, Payload, RecordingValue, ReplayMessage, Seq};
use replaydesk_store::{
    recorder_lives, HandEnteredFile, MissingRecorder, RecorderLife, Store, HAND_TASK,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use ts_rs::TS;

pub use replaydesk_store::RECORDING_MISSING_ALERT;

/// Longest `video_id` and `task_id` a file entered by hand may carry.
const MAX_ID_CHARS: usize = 256;
/// Start and end times above this are milliseconds, not the 1004's seconds (year 5138).
const MAX_UNIX_SECONDS: i64 = 99_999_999_999;

/// A recorder that started and has no file yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct MissingFile {
    /// True once `recordings.missing_after` has passed since `waiting_since`: the alert is
    /// raised (or about to be, at the next check).
    pub due: bool,
    /// The recorder's stop, else the class's end, unix ms; null while it may still record.
    #[ts(type = "number | null")]
    pub waiting_since: Option<i64>,
    /// The open `recording_missing` alert about it.
    #[ts(type = "number | null")]
    pub alert_id: Option<i64>,
    /// The alert's text.
    pub detail: String,
}

/// One recorder of a member: the events of one (uid, source, task, stream kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Recorder {
    pub uid: Option<String>,
    pub source: models::RecorderSource,
    pub task_id: String,
    /// `main` (camera), `aux` (screen share), or null when the events do not say.
    pub media: Option<String>,
    /// When it started and stopped (cloud clock, else arrival), unix ms.
    #[ts(type = "number | null")]
    pub started: Option<i64>,
    #[ts(type = "number | null")]
    pub stopped: Option<i64>,
    /// Slices and upload events seen.
    pub slices: u32,
    /// Its files (stage `ready`), each with its 1004 when it has one.
    pub ready: Vec<models::RecorderEvent>,
    pub errors: Vec<models::RecorderEvent>,
    /// Every event, in order.
    pub events: Vec<models::RecorderEvent>,
    /// Set when it started and has no file with a 1004.
    pub missing: Option<MissingFile>,
}

/// The class's recordings, for the console's Recordings view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassRecordings {
    pub class_id: String,
    /// `recordings.missing_after`, ms.
    #[ts(type = "number")]
    pub missing_after_ms: i64,
    /// Every recorder, in the order each first appeared.
    pub recorders: Vec<Recorder>,
    /// The 1004s the recorders' files made, by message id.
    pub messages: BTreeMap<String, models::StoredMessage>,
}

/// A file entered by hand: its 1004 and its event in the recorder life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct EnteredRecording {
    pub message: models::StoredMessage,
    pub event: models::RecorderEvent,
    /// How many `recording_missing` alerts of the class this file cleared.
    #[ts(type = "number")]
    pub cleared_alerts: u64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn printable_id(field: &str, v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if v.chars().count() > MAX_ID_CHARS {
        return Err(format!("{field} is longer than {MAX_ID_CHARS} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(())
}

/// The checks a file entered by hand passes before anything is stored: those a
/// callback's file passes (a usable uid, an http(s) `video_url`, a 1004 the IM service
/// takes), and the 1004's units (seconds, not milliseconds; an end not before the start).
fn check_entry(req: &EnterRecording) -> Result<(), String> {
    printable_id("video_id", &req.video_id)?;
    let url = req.video_url.trim_start().to_ascii_lowercase();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("video_url: only http:// and https:// URLs are accepted".into());
    }
    if req
        .video_url
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err("video_url contains spaces or control characters".into());
    }
    for (field, v) in [("start_time", req.start_time), ("end_time", req.end_time)] {
        if v <= 0 {
            return Err(format!(
                "{field} must be a positive unix time in seconds, got {v}"
            ));
        }
        if v > MAX_UNIX_SECONDS {
            return Err(format!(
                "{field} {v} looks like milliseconds: the 1004 takes unix seconds"
            ));
        }
    }
    if req.end_time < req.start_time {
        return Err(format!(
            "end_time {} is before start_time {}",
            req.end_time, req.start_time
        ));
    }
    if let Some(d) = req.duration.filter(|d| *d < 0) {
        return Err(format!("duration must not be negative, got {d}"));
    }
    if let Some(s) = req.file_size.filter(|s| *s < 0) {
        return Err(format!("file_size must not be negative, got {s}"));
    }
    if let Some(t) = req.media.as_deref() {
        if !matches!(t, "main" | "aux") {
            return Err(format!(
                "type must be \"main\" (camera) or \"aux\" (screen share), got {t:?}"
            ));
        }
    }
    if let Some(t) = req.task_id.as_deref() {
        printable_id("task_id", t)?;
    }
    Ok(())
}

/// The 1004 of a file entered by hand.
fn hand_value(req: &EnterRecording) -> RecordingValue {
    RecordingValue {
        uid: req.uid.clone(),
        start_time: req.start_time,
        end_time: req.end_time,
        // The start is a wall-clock time already (as for TRTC's files).
        media_start_time: 0,
        file_size: req
            .file_size
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0),
        duration: req.duration.unwrap_or(req.end_time - req.start_time),
        video_id: req.video_id.clone(),
        video_url: req.video_url.clone(),
        extra: req
            .media
            .iter()
            .map(|t| ("type".to_owned(), serde_json::Value::from(t.as_str())))
            .collect(),
    }
}

fn recorder_view(
    life: RecorderLife,
    missing: &[MissingRecorder],
    alerts: &BTreeMap<String, i64>,
    missing_after_ms: i64,
) -> Recorder {
    let found = missing.iter().find(|m| {
        m.source == life.source
            && m.task_id == life.task_id
            && m.uid == life.uid
            && m.media == life.media
    });
    Recorder {
        missing: found.map(|m| MissingFile {
            due: m.due,
            waiting_since: m.waiting_since,
            alert_id: alerts.get(&m.subject).copied(),
            detail: replaydesk_store::missing_detail(m, missing_after_ms),
        }),
        uid: life.uid,
        source: life.source.into(),
        task_id: life.task_id,
        media: life.media,
        started: life.started,
        stopped: life.stopped,
        slices: life.slices,
        ready: life.ready.into_iter().map(Into::into).collect(),
        errors: life.errors.into_iter().map(Into::into).collect(),
        events: life.events.into_iter().map(Into::into).collect(),
    }
}

impl ReplayDesk {
    fn missing_after_ms(&self) -> i64 {
        ms(self.inner.config.recordings.missing_after)
    }

    /// Each recorder of the class with its life, its files' 1004s, and whether it is
    /// missing its file.
    pub async fn class_recordings(&self, class_id: &str) -> ServiceResult<ClassRecordings> {
        let store = &self.inner.store;
        let class = store.class(class_id).await?;
        let events = store.recorder_events(class_id).await?;
        let after = self.missing_after_ms();
        let missing = replaydesk_store::missing_recorders(&class, &events, self.server_ms(), after);
        let alerts = store.open_missing_alerts(class_id).await?;
        let mut messages = BTreeMap::new();
        for id in events.iter().filter_map(|e| e.message_id) {
            if let std::collections::btree_map::Entry::Vacant(slot) = messages.entry(id.to_string())
            {
                slot.insert(store.message(id).await?.into());
            }
        }
        Ok(ClassRecordings {
            class_id: class.class_id,
            missing_after_ms: after,
            recorders: recorder_lives(&events)
                .into_iter()
                .map(|l| recorder_view(l, &missing, &alerts, after))
                .collect(),
            messages,
        })
    }

    /// Enters a recording file by hand: after the checks a callback's file passes, its
    /// 1004 (sent like any other), its event in the recorder life (`manual`, `ready`) and
    /// the audit entry (`enter_recording`) are stored together; then the class's
    /// `recording_missing` alerts that this file answers are cleared. 409 when the class
    /// already announces the same `video_id` or `video_url`.
    pub async fn enter_recording(
        &self,
        class_id: &str,
        req: EnterRecording,
        actor: &replaydesk_store::Actor,
    ) -> ServiceResult<EnteredRecording> {
        validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
        check_entry(&req).map_err(ServiceError::Invalid)?;
        self.class(class_id).await?;
        self.check_member_uid(class_id, "uid", &req.uid)
            .await
            .map_err(ServiceError::Invalid)?;
        let value = hand_value(&req);
        let now_s = u64::try_from(self.server_ms().div_euclid(1000)).unwrap_or(0);
        let build = |seq| ReplayMessage::new(seq, now_s, Payload::Recording(value.clone()));
        check_size(&build(Seq::from_raw(Seq::MAX)).to_data()).map_err(|e| {
            ServiceError::Invalid(format!("the 1004 message would be too large: {e}"))
        })?;
        let entered = self
            .inner
            .store
            .enter_recording(
                &HandEnteredFile {
                    class_id,
                    uid: &req.uid,
                    video_id: &req.video_id,
                    video_url: &req.video_url,
                    start_time: req.start_time,
                    end_time: req.end_time,
                    media: req.media.as_deref(),
                    task_id: req.task_id.as_deref(),
                    build: &build,
                },
                actor,
            )
            .await?;
        self.inner.delivery.wake();
        let (_, cleared) = self
            .inner
            .store
            .check_class_recordings(class_id, self.server_ms(), self.missing_after_ms())
            .await?;
        tracing::info!(
            class_id,
            uid = %req.uid,
            message_id = entered.message.id,
            task_id = req.task_id.as_deref().unwrap_or(HAND_TASK),
            cleared,
            "recording entered by hand"
        );
        Ok(EnteredRecording {
            message: entered.message.into(),
            event: entered.event.into(),
            cleared_alerts: cleared,
        })
    }
}

impl Console<'_> {
    /// `GET /v1/admin/classes/{class_id}/recordings`: each recorder with its life, its
    /// 1004s and whether it is missing its file.
    pub async fn class_recordings(&self, class_id: &str) -> ServiceResult<ClassRecordings> {
        self.desk.class_recordings(class_id).await
    }

    /// `POST /v1/admin/classes/{class_id}/recordings`: a file entered by hand; audited.
    pub async fn enter_recording(
        &self,
        class_id: &str,
        body: EnterRecording,
        actor: &replaydesk_store::Actor,
    ) -> ServiceResult<EnteredRecording> {
        self.desk.enter_recording(class_id, body, actor).await
    }
}

/// How often the missing-recordings check runs: a tenth of `missing_after`, between
/// 100 ms and a minute (an alert is then at most that late).
pub fn check_period(missing_after: Duration) -> Duration {
    (missing_after / 10).clamp(Duration::from_millis(100), Duration::from_secs(60))
}

/// Runs the missing-recordings check every [`check_period`] until `stop` turns true. Every
/// node runs it; the store makes a second raise of an alert add nothing.
pub(crate) async fn watch_missing(
    store: Store,
    missing_after: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let every = check_period(missing_after);
    let after = ms(missing_after);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        match store
            .check_missing_recordings(replaydesk_clock::unix_ms_now(), after)
            .await
        {
            Ok(c) if c.raised > 0 => tracing::warn!(
                raised = c.raised,
                cleared = c.cleared,
                alert = RECORDING_MISSING_ALERT,
                "recorders started and produced no file"
            ),
            Ok(c) if c.cleared > 0 => {
                tracing::info!(cleared = c.cleared, "missing recordings arrived")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot check for missing recordings"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> EnterRecording {
        EnterRecording {
            uid: "stu1".into(),
            video_id: "v1".into(),
            video_url: "https://vod.example.invalid/v1.mp4".into(),
            start_time: 1_795_339_200,
            end_time: 1_795_342_800,
            duration: None,
            file_size: None,
            media: Some("main".into()),
            task_id: None,
        }
    }

    #[test]
    fn a_file_entered_by_hand_is_checked_like_a_callbacks() {
        assert_eq!(check_entry(&entry()), Ok(()));
        let bad = |f: fn(&mut EnterRecording), says: &str| {
            let mut e = entry();
            f(&mut e);
            let err = check_entry(&e).unwrap_err();
            assert!(err.contains(says), "{err}");
        };
        bad(|e| e.video_url = "javascript:alert(1)".into(), "video_url");
        bad(|e| e.start_time = 1_795_339_200_000, "milliseconds");
        bad(|e| e.end_time = 1_795_339_199, "before start_time");
        bad(|e| e.media = Some("camera".into()), "\"main\"");
        bad(|e| e.video_id = " ".into(), "video_id is empty");
        bad(|e| e.file_size = Some(-1), "file_size");
        let v = hand_value(&entry());
        assert_eq!((v.duration, v.media_start_time, v.file_size), (3600, 0, 0));
        assert_eq!(v.extra.get("type"), Some(&serde_json::json!("main")));
    }

    #[test]
    fn the_check_runs_often_enough_and_not_too_often() {
        assert_eq!(
            check_period(Duration::from_secs(1800)),
            Duration::from_secs(60)
        );
        assert_eq!(
            check_period(Duration::from_secs(1)),
            Duration::from_millis(100)
        );
        assert_eq!(
            check_period(Duration::from_secs(100)),
            Duration::from_secs(10)
        );
    }
}
