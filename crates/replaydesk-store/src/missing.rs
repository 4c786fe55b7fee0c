//! Recordings that never arrive (issue 22, item 3): a recorder that started for a member
//! and produced no file with a 1004 within `missing_after` of its stop (or of the class's
//! end) raises a `recording_missing` alert on its class, one per recorder; a file entered
//! by hand (or arriving late from the cloud) clears it.
//!
//! The check is a reconciliation, safe to run on every node at once: for each class in
//! scope it raises the alerts that are due and clears the ones whose recorder now has a
//! file. Raising is `INSERT .. ON CONFLICT DO NOTHING` against the unique index on open
//! alerts (`alerts_open_subject`, migration 0022), so two nodes raising the same alert
//! store one; clearing is an idempotent `UPDATE`. A node that read the lives just before
//! a file was entered may raise an alert the entry has just cleared: the next check (by
//! any node) clears it again.

use super::audit::{audit_tx, Actor};
use super::callbacks::recording_dedup_key;
use super::classes::{class_from_row, ClassRecord, CLASS_COLUMNS};
use super::messages::{insert_message_tx, message_from_row, NewMessage};
use super::recorder::{
    add_recorder_event_tx, recorder_lives, NewRecorderEvent, RecorderEvent, RecorderLife,
    RecorderOutcome, RecorderSource, RecorderStage,
};
use super::Db;
use super::{now_ms, Store, StoreError, StoreResult, StoredMessage};
use replaydesk_protocol::{Payload, ReplayMessage, Seq};
use sqlx::{Row, Transaction};
use std::collections::{BTreeMap, HashMap};

/// The alert kind of a recorder that produced no file.
pub const RECORDING_MISSING_ALERT: &str = "recording_missing";

/// How far back the check looks for recorders that started: a recorder silent for longer
/// than this keeps its alert (cleared when a file comes) but is not raised anew.
pub const MISSING_LOOKBACK_MS: i64 = 7 * 24 * 3600 * 1000;

/// A recorder that started and has no file with a 1004.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingRecorder {
    pub class_id: String,
    pub uid: Option<String>,
    pub source: RecorderSource,
    pub task_id: String,
    pub media: Option<String>,
    /// When it started (cloud clock, else arrival), unix ms.
    pub started_at: i64,
    /// When the wait for its file began: its stop, else the class's end; `None` while it
    /// may still be recording.
    pub waiting_since: Option<i64>,
    /// True when `waiting_since` is the recorder's stop (false: the class's end).
    pub stopped: bool,
    /// True once `missing_after` has passed since `waiting_since`: the alert is due.
    pub due: bool,
    /// The alert's subject within the class: `<source>|<task_id>|<uid>|<media>`.
    pub subject: String,
}

/// What one run of the check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MissingCheck {
    pub classes: usize,
    pub raised: u64,
    pub cleared: u64,
}

/// A file an admin enters by hand, with the 1004's own fields and units.
pub struct HandEnteredFile<'a> {
    pub class_id: &'a str,
    pub uid: &'a str,
    pub video_id: &'a str,
    pub video_url: &'a str,
    /// Unix seconds.
    pub start_time: i64,
    pub end_time: i64,
    /// `main` or `aux`, when given.
    pub media: Option<&'a str>,
    /// The recorder the file belongs to (the alert's task id), when the admin names it.
    pub task_id: Option<&'a str>,
    /// Builds the 1004 for a drawn `seq`.
    pub build: &'a (dyn Fn(Seq) -> ReplayMessage + Send + Sync),
}

/// A file entered by hand, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EnteredFile {
    pub message: StoredMessage,
    pub event: RecorderEvent,
}

/// The task id a file entered by hand carries when the admin names no recorder: it then
/// stands for every recorder of its uid (see [`covered`]).
pub const HAND_TASK: &str = "by-hand";

fn subject(life: &RecorderLife) -> String {
    format!(
        "{}|{}|{}|{}",
        life.source.as_str(),
        life.task_id,
        life.uid.as_deref().unwrap_or(""),
        life.media.as_deref().unwrap_or("")
    )
}

fn has_1004(e: &RecorderEvent) -> bool {
    e.stage == RecorderStage::Ready && e.message_id.is_some()
}

/// Whether a started recorder has its file: one of its own with a 1004; a file with a
/// 1004 of the same member and stream kind that ends after the recorder started (from
/// either cloud: a CSS recorder's status events and its file carry different ids); or a
/// file entered by hand for its task, or for its member without naming a task.
pub fn covered(life: &RecorderLife, class_events: &[RecorderEvent]) -> bool {
    if life.ready.iter().any(has_1004) {
        return true;
    }
    let started = life.started.unwrap_or(i64::MIN);
    class_events.iter().filter(|e| has_1004(e)).any(|e| {
        let hand = e.source == RecorderSource::Manual;
        if hand && e.task_id == life.task_id {
            return true;
        }
        let same_member = e.uid.is_some() && e.uid == life.uid;
        let same_kind = e.media.is_none() || life.media.is_none() || e.media == life.media;
        let after_start = e
            .file_end_ms
            .or(e.event_at)
            .unwrap_or(e.received_at)
            .ge(&started);
        same_member && same_kind && (after_start || (hand && e.task_id == HAND_TASK))
    })
}

/// The recorders of a class that started and have no file, with whether each is due.
pub fn missing_recorders(
    class: &ClassRecord,
    events: &[RecorderEvent],
    now_ms: i64,
    missing_after_ms: i64,
) -> Vec<MissingRecorder> {
    recorder_lives(events)
        .into_iter()
        .filter(|l| l.started.is_some() && l.source != RecorderSource::Manual)
        .filter(|l| !covered(l, events))
        .map(|l| {
            let waiting_since = l.stopped.or(class.ended_at);
            MissingRecorder {
                class_id: class.class_id.clone(),
                uid: l.uid.clone(),
                source: l.source,
                task_id: l.task_id.clone(),
                media: l.media.clone(),
                started_at: l.started.unwrap_or_default(),
                waiting_since,
                stopped: l.stopped.is_some(),
                due: waiting_since.is_some_and(|w| now_ms >= w.saturating_add(missing_after_ms)),
                subject: subject(&l),
            }
        })
        .collect()
}

/// `HH:MM UTC` of a unix ms time.
fn hh_mm_utc(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02} UTC", minutes / 60, minutes % 60)
}

/// A duration in words: `30 min`, `45 s`.
fn span_words(ms: i64) -> String {
    if ms >= 60_000 && ms % 60_000 == 0 {
        format!("{} min", ms / 60_000)
    } else {
        format!("{} s", ms / 1000)
    }
}

/// The alert's text: "recording of stu1 started 10:02 UTC, no file (...)".
pub fn missing_detail(m: &MissingRecorder, missing_after_ms: i64) -> String {
    let who = m.uid.as_deref().unwrap_or("an unknown user");
    let kind = m
        .media
        .as_deref()
        .map(|k| format!(" {k}"))
        .unwrap_or_default();
    let waited = match m.waiting_since {
        Some(w) => format!(
            "; none {} after {} at {}",
            span_words(missing_after_ms),
            if m.stopped {
                "it stopped"
            } else {
                "the class ended"
            },
            hh_mm_utc(w)
        ),
        None => String::new(),
    };
    format!(
        "recording of {who} started {}, no file (task {}, {}{kind}){waited}. Enter the file by \
         hand in the class's Recordings view (POST /v1/admin/classes/{}/recordings with \
         task_id {:?}).",
        hh_mm_utc(m.started_at),
        m.task_id,
        m.source.as_str(),
        m.class_id,
        m.task_id
    )
}

/// The 1004 entered by hand in `class_id` for the file `build` announces (the same
/// `video_id` or `video_url`), if any: a cloud's callback for a file an admin already
/// entered by hand is the same file.
pub(crate) async fn hand_entered_file_tx(
    tx: &mut Transaction<'_, Db>,
    class_id: &str,
    build: &(dyn Fn(Seq) -> ReplayMessage + Send + Sync),
) -> StoreResult<Option<StoredMessage>> {
    let Payload::Recording(file) = build(Seq::from_raw(Seq::MAX)).payload else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {} FROM messages WHERE class_id = $1 AND msg_type = 1004 \
         AND dedup_key LIKE '1004:manual:%' ORDER BY id",
        super::messages::message_columns()
    );
    let rows = sqlx::query(&sql)
        .bind(class_id)
        .fetch_all(&mut **tx)
        .await?;
    for row in &rows {
        let m = message_from_row(row)?;
        let (video_id, video_url) = announced_file(&m);
        if video_id.as_deref() == Some(file.video_id.as_str())
            || video_url.as_deref() == Some(file.video_url.as_str())
        {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// The `video_id` and `video_url` a stored 1004 announces.
fn announced_file(m: &StoredMessage) -> (Option<String>, Option<String>) {
    let value = serde_json::from_str::<serde_json::Value>(&m.data)
        .ok()
        .and_then(|d| d.get("value").cloned())
        .unwrap_or_default();
    let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    (text("video_id"), text("video_url"))
}

impl Store {
    /// The recorders of one class that started and have no file (due or not yet).
    pub async fn class_missing_recorders(
        &self,
        class_id: &str,
        now_ms: i64,
        missing_after_ms: i64,
    ) -> StoreResult<Vec<MissingRecorder>> {
        let class = self.class(class_id).await?;
        let events = self.recorder_events(class_id).await?;
        Ok(missing_recorders(&class, &events, now_ms, missing_after_ms))
    }

    /// Raises the due `recording_missing` alerts of one class and clears those whose
    /// recorder has its file now. Returns (raised, cleared).
    pub async fn check_class_recordings(
        &self,
        class_id: &str,
        now_ms: i64,
        missing_after_ms: i64,
    ) -> StoreResult<(u64, u64)> {
        let missing = self
            .class_missing_recorders(class_id, now_ms, missing_after_ms)
            .await?;
        let mut raised = 0;
        for m in missing.iter().filter(|m| m.due) {
            let r = sqlx::query(
                "INSERT INTO alerts (kind, class_id, subject, detail, raised_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(RECORDING_MISSING_ALERT)
            .bind(class_id)
            .bind(&m.subject)
            .bind(missing_detail(m, missing_after_ms))
            .bind(now_ms)
            .execute(self.writer())
            .await?;
            raised += r.rows_affected();
        }
        // Every open alert whose recorder is no longer missing: its file came.
        let open: Vec<String> = sqlx::query_scalar(
            "SELECT subject FROM alerts WHERE kind = $1 AND class_id = $2 \
             AND cleared_at IS NULL AND subject IS NOT NULL",
        )
        .bind(RECORDING_MISSING_ALERT)
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        let mut cleared = 0;
        for s in open
            .iter()
            .filter(|s| !missing.iter().any(|m| &m.subject == *s))
        {
            let r = sqlx::query(
                "UPDATE alerts SET cleared_at = $1 WHERE kind = $2 AND class_id = $3 \
                 AND subject = $4 AND cleared_at IS NULL",
            )
            .bind(now_ms)
            .bind(RECORDING_MISSING_ALERT)
            .bind(class_id)
            .bind(s)
            .execute(self.writer())
            .await?;
            cleared += r.rows_affected();
        }
        Ok((raised, cleared))
    }

    /// The periodic check over every class in scope: those with a recorder started in
    /// the last [`MISSING_LOOKBACK_MS`], and those with an open `recording_missing` alert.
    pub async fn check_missing_recordings(
        &self,
        now_ms: i64,
        missing_after_ms: i64,
    ) -> StoreResult<MissingCheck> {
        let mut classes: Vec<String> = self
            .recorder_events_since(RecorderStage::Started, now_ms - MISSING_LOOKBACK_MS)
            .await?
            .into_iter()
            .filter_map(|e| e.class_id)
            .collect();
        let alerted: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT class_id FROM alerts WHERE kind = $1 AND cleared_at IS NULL \
             AND class_id IS NOT NULL",
        )
        .bind(RECORDING_MISSING_ALERT)
        .fetch_all(self.reader())
        .await?;
        classes.extend(alerted);
        classes.sort();
        classes.dedup();
        let mut out = MissingCheck {
            classes: classes.len(),
            ..MissingCheck::default()
        };
        for class_id in &classes {
            match self
                .check_class_recordings(class_id, now_ms, missing_after_ms)
                .await
            {
                Ok((r, c)) => {
                    out.raised += r;
                    out.cleared += c;
                }
                // A class deleted meanwhile has nothing left to alert about.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The open `recording_missing` alerts of a class, by subject.
    pub async fn open_missing_alerts(&self, class_id: &str) -> StoreResult<BTreeMap<String, i64>> {
        let rows = sqlx::query(
            "SELECT subject, id FROM alerts WHERE kind = $1 AND class_id = $2 \
             AND cleared_at IS NULL AND subject IS NOT NULL",
        )
        .bind(RECORDING_MISSING_ALERT)
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("subject")?, r.try_get("id")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Stores a file entered by hand, in one transaction: its 1004, its event in the
    /// recorder life (source `manual`, stage `ready`) and the audit entry.
    ///
    /// Conflict when the class already has a 1004 for the same `video_id` or `video_url`
    /// (from a callback or an earlier entry: one file never yields two 1004s), or when
    /// the class is an imported record; NotFound for an unknown class.
    pub async fn enter_recording(
        &self,
        f: &HandEnteredFile<'_>,
        actor: &Actor,
    ) -> StoreResult<EnteredFile> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {CLASS_COLUMNS} FROM classes WHERE class_id = $1");
        let class = sqlx::query(&sql)
            .bind(f.class_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("class {:?}", f.class_id)))?;
        let class = class_from_row(&class)?;
        if class.imported_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "class {:?} is an imported record: nothing is sent for it",
                f.class_id
            )));
        }
        let sql = format!(
            "SELECT {} FROM messages WHERE class_id = $1 AND msg_type = 1004 ORDER BY id",
            super::messages::message_columns()
        );
        let rows = sqlx::query(&sql)
            .bind(f.class_id)
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            let m = message_from_row(row)?;
            let (video_id, video_url) = announced_file(&m);
            let same_id = video_id.as_deref() == Some(f.video_id);
            if same_id || video_url.as_deref() == Some(f.video_url) {
                return Err(StoreError::Conflict(format!(
                    "the class already announces this file: message {} (uid {:?}) has the same {}",
                    m.id,
                    m.uid,
                    if same_id { "video_id" } else { "video_url" }
                )));
            }
        }
        let file_key = format!("manual:{}", f.video_id);
        let key = recording_dedup_key(&file_key);
        let inserted = insert_message_tx(
            &mut tx,
            &NewMessage {
                class_id: f.class_id,
                group_id: &class.group_id,
                uid: f.uid,
                dedup_key: &key,
                build: f.build,
            },
            now_ms(),
        )
        .await?;
        let now = now_ms();
        // As for a callback's file: a uid the class does not know yet is enrolled as a
        // student (the recording may be all there is of it).
        super::members::enrol_student_tx(&mut tx, f.class_id, f.uid, now).await?;
        let dedup = format!("manual:{}:{}", f.class_id, f.video_id);
        let detail = format!("entered by hand by {actor}");
        let event = add_recorder_event_tx(
            &mut tx,
            &NewRecorderEvent {
                source: RecorderSource::Manual,
                task_id: f.task_id.unwrap_or(HAND_TASK),
                class_id: Some(f.class_id),
                uid: Some(f.uid),
                room_id: None,
                stream_id: None,
                media: f.media,
                event_type: 0,
                event_name: "entered_by_hand",
                stage: RecorderStage::Ready,
                event_at: Some(now),
                file_key: Some(&file_key),
                file_start_ms: Some(f.start_time.saturating_mul(1000)),
                file_end_ms: Some(f.end_time.saturating_mul(1000)),
                detail: Some(&detail),
                dedup_key: &dedup,
                received_at: now,
            },
            RecorderOutcome::Announced,
            None,
            Some(inserted.message.id),
        )
        .await?
        .ok_or_else(|| {
            StoreError::Conflict(format!(
                "video_id {:?} was already entered by hand in this class",
                f.video_id
            ))
        })?;
        audit_tx(
            &mut tx,
            actor,
            "enter_recording",
            &format!("class:{}", f.class_id),
            &serde_json::json!({
                "uid": f.uid,
                "video_id": f.video_id,
                "task_id": f.task_id,
                "type": f.media,
                "message_id": inserted.message.id,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(EnteredFile {
            message: inserted.message,
            event,
        })
    }

    /// Who made each 1004 of a class, by message id: the source of the recorder event
    /// that carries it (`trtc`, `css`, `manual`), else of the callback that made it
    /// (`css` for callbacks from before the recorder life was kept). A 1004 in neither
    /// was written some other way (imported, or by another server into the group).
    pub async fn recording_sources(&self, class_id: &str) -> StoreResult<HashMap<i64, String>> {
        let mut out = HashMap::new();
        let rows = sqlx::query(
            // Through the class's 1004s (indexed by class and type), then each one's
            // callbacks by message: recording_callbacks has no index by class.
            "SELECT rc.message_id, rc.source FROM messages m \
             JOIN recording_callbacks rc ON rc.message_id = m.id \
             WHERE m.class_id = $1 AND m.msg_type = 1004 ORDER BY rc.id",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        for r in &rows {
            out.entry(r.try_get::<i64, _>("message_id")?)
                .or_insert(r.try_get::<String, _>("source")?);
        }
        // The recorder life names the source more precisely (a file entered by hand has
        // no callback); it wins.
        let rows = sqlx::query(
            "SELECT message_id, source FROM recorder_events \
             WHERE class_id = $1 AND message_id IS NOT NULL ORDER BY id",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        for r in &rows {
            out.insert(r.try_get("message_id")?, r.try_get("source")?);
        }
        Ok(out)
    }
}
