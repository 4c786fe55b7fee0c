//! The recorder life (issue 22): every recording status event from either cloud, one row
//! per event, with the class and member it belongs to, the file it names, the callback it
//! came in and the 1004 it made.
//!
//! For the views and checks built on it (the class's "Recordings" view, the
//! `recording_missing` alert, files entered by hand): a member's recorders are the events
//! of one (`class_id`, `uid`, `source`, `task_id`, `media`), read with
//! [`Store::recorder_events`] and grouped by [`recorder_lives`]; a recorder that
//! [`RecorderLife::started`] and has no [`RecorderLife::ready`] file is one that produced
//! nothing. A file entered by hand is a `manual` event written with
//! `add_recorder_event_tx` in the transaction that stores its 1004.
//!
//! A repeat of an event adds no row: `dedup_key` is unique (TRTC: task, event type, user
//! and file; CSS: session, event and sequence number).

use super::types::text_enum;
use super::{Db, DbRow, Store, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::{Row, Transaction};

text_enum! {
    /// Which cloud (or person) reported a recorder event.
    RecorderSource {
        /// TRTC cloud recording (`POST /v1/callbacks/trtc`).
        Trtc => "trtc",
        /// The live-streaming cloud's recording (`POST /v1/callbacks/recording`): file
        /// ready (event 100) and status events (332).
        Css => "css",
        /// A file an admin entered by hand (no callback).
        Manual => "manual",
    }
}

text_enum! {
    /// Where in a recorder's life an event stands.
    RecorderStage {
        /// The recorder started (TRTC 301, CSS `record_start_succeeded`).
        Started => "started",
        /// The recorder stopped (TRTC 302, 312; CSS `record_ended`).
        Stopped => "stopped",
        /// Upload to object storage began or ended (TRTC 303, 305).
        Uploading => "uploading",
        /// A file was begun: its first slice, or its index (TRTC 304, 307).
        Slice => "slice",
        /// A file is complete and where it is known (TRTC 310, 311; CSS 100; by hand).
        Ready => "ready",
        /// Something failed (TRTC 308, 309, a non-zero status; CSS `record_start_failed`,
        /// `record_error`).
        Error => "error",
        /// The task moved to another recorder (TRTC 306).
        Failover => "failover",
        /// CSS `record_paused`.
        Paused => "paused",
        /// CSS `record_resumed`.
        Resumed => "resumed",
        /// An event this ReplayDesk does not know (kept as received).
        Other => "other",
    }
}

text_enum! {
    /// What became of a recorder event.
    RecorderOutcome {
        /// Kept in the recorder's life; it announces no file.
        Kept => "kept",
        /// Its file's 1004 was made from it (`message_id`).
        Announced => "announced",
        /// Its file already had a 1004 (another event made it: `message_id`).
        AlreadyAnnounced => "already_announced",
        /// A file in object storage, but no `recordings.cos_base_url` is configured: no
        /// playable URL, so no 1004.
        NoBaseUrl => "no_base_url",
        /// A file that maps to no class or user (or a mixed-stream file): waiting in the
        /// callbacks inbox for an admin to assign it.
        Unmatched => "unmatched",
        /// Its file is already the 1004 of another class or user: nothing sent.
        Conflict => "conflict",
    }
}

/// One recorder event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecorderEvent {
    pub id: i64,
    pub source: RecorderSource,
    /// TRTC `TaskId`; CSS `session_id` (332) or `task_id` (100); by hand, the admin's
    /// reference.
    pub task_id: String,
    pub class_id: Option<String>,
    pub uid: Option<String>,
    /// The TRTC room as text, when the event names one.
    pub room_id: Option<String>,
    /// The CSS stream id, when the event names one.
    pub stream_id: Option<String>,
    /// The stream kind: `main` (camera) or `aux` (screen share), when known.
    pub media: Option<String>,
    /// The cloud's event type (TRTC 301-312; CSS 100 or 332).
    pub event_type: i64,
    /// The event's name (`recorder_started`, `vod_commit`, `record_paused`, ...).
    pub event_name: String,
    pub stage: RecorderStage,
    /// When the event happened by the cloud's clock, unix ms.
    pub event_at: Option<i64>,
    /// The file's identity, for an event that names a file.
    pub file_key: Option<String>,
    /// The file's start and end, unix ms, when the event says.
    pub file_start_ms: Option<i64>,
    pub file_end_ms: Option<i64>,
    pub status: RecorderOutcome,
    /// What the event said beyond the columns (error text, leave code, file name).
    pub detail: Option<String>,
    /// The callback it came in (none for a file entered by hand).
    pub callback_id: Option<i64>,
    /// The file's 1004, once there is one.
    pub message_id: Option<i64>,
    /// When ReplayDesk received it, unix ms.
    pub received_at: i64,
}

/// A recorder event to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecorderEvent<'a> {
    pub source: RecorderSource,
    pub task_id: &'a str,
    pub class_id: Option<&'a str>,
    pub uid: Option<&'a str>,
    pub room_id: Option<&'a str>,
    pub stream_id: Option<&'a str>,
    pub media: Option<&'a str>,
    pub event_type: i64,
    pub event_name: &'a str,
    pub stage: RecorderStage,
    pub event_at: Option<i64>,
    pub file_key: Option<&'a str>,
    pub file_start_ms: Option<i64>,
    pub file_end_ms: Option<i64>,
    pub detail: Option<&'a str>,
    /// Unique per event: a repeat with the same key adds no row.
    pub dedup_key: &'a str,
    pub received_at: i64,
}

const EVENT_COLUMNS: &str = "id, source, task_id, class_id, uid, room_id, stream_id, media, \
     event_type, event_name, stage, event_at, file_key, file_start_ms, file_end_ms, status, \
     detail, callback_id, message_id, received_at";

fn decode<T>(what: &str, text: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    parse(text)
        .ok_or_else(|| sqlx::Error::Decode(format!("unexpected {what} in database: {text}").into()))
}

fn event_from_row(row: &DbRow) -> Result<RecorderEvent, sqlx::Error> {
    let source: String = row.try_get("source")?;
    let stage: String = row.try_get("stage")?;
    let status: String = row.try_get("status")?;
    Ok(RecorderEvent {
        id: row.try_get("id")?,
        source: decode("recorder source", &source, RecorderSource::parse)?,
        task_id: row.try_get("task_id")?,
        class_id: row.try_get("class_id")?,
        uid: row.try_get("uid")?,
        room_id: row.try_get("room_id")?,
        stream_id: row.try_get("stream_id")?,
        media: row.try_get("media")?,
        event_type: row.try_get("event_type")?,
        event_name: row.try_get("event_name")?,
        stage: decode("recorder stage", &stage, RecorderStage::parse)?,
        event_at: row.try_get("event_at")?,
        file_key: row.try_get("file_key")?,
        file_start_ms: row.try_get("file_start_ms")?,
        file_end_ms: row.try_get("file_end_ms")?,
        status: decode("recorder outcome", &status, RecorderOutcome::parse)?,
        detail: row.try_get("detail")?,
        callback_id: row.try_get("callback_id")?,
        message_id: row.try_get("message_id")?,
        received_at: row.try_get("received_at")?,
    })
}

/// The event already stored under `dedup_key`, if any (a repeat).
pub(crate) async fn recorder_event_by_key_tx(
    tx: &mut Transaction<'_, Db>,
    dedup_key: &str,
) -> StoreResult<Option<RecorderEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM recorder_events WHERE dedup_key = $1");
    let row = sqlx::query(&sql)
        .bind(dedup_key)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.as_ref().map(event_from_row).transpose()?)
}

/// Adds one recorder event inside a write transaction, with what became of it, the
/// callback it came in and its 1004. `None` when an event with the same `dedup_key` is
/// already stored (a repeat: nothing is added).
pub(crate) async fn add_recorder_event_tx(
    tx: &mut Transaction<'_, Db>,
    e: &NewRecorderEvent<'_>,
    status: RecorderOutcome,
    callback_id: Option<i64>,
    message_id: Option<i64>,
) -> StoreResult<Option<RecorderEvent>> {
    let sql = format!(
        "INSERT INTO recorder_events (source, task_id, class_id, uid, room_id, stream_id, \
             media, event_type, event_name, stage, event_at, file_key, file_start_ms, \
             file_end_ms, status, detail, dedup_key, callback_id, message_id, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20) ON CONFLICT (dedup_key) DO NOTHING RETURNING {EVENT_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(e.source.as_str())
        .bind(e.task_id)
        .bind(e.class_id)
        .bind(e.uid)
        .bind(e.room_id)
        .bind(e.stream_id)
        .bind(e.media)
        .bind(e.event_type)
        .bind(e.event_name)
        .bind(e.stage.as_str())
        .bind(e.event_at)
        .bind(e.file_key)
        .bind(e.file_start_ms)
        .bind(e.file_end_ms)
        .bind(status.as_str())
        .bind(e.detail)
        .bind(e.dedup_key)
        .bind(callback_id)
        .bind(message_id)
        .bind(e.received_at)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.as_ref().map(event_from_row).transpose()?)
}

impl Store {
    /// Adds one recorder event in its own transaction (see [`add_recorder_event_tx`] for
    /// one that shares the transaction of the 1004 it made).
    pub async fn add_recorder_event(
        &self,
        e: &NewRecorderEvent<'_>,
        status: RecorderOutcome,
        callback_id: Option<i64>,
        message_id: Option<i64>,
    ) -> StoreResult<Option<RecorderEvent>> {
        let mut tx = self.begin_write().await?;
        let added = add_recorder_event_tx(&mut tx, e, status, callback_id, message_id).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Every recorder event of a class, oldest first (by the cloud's time when it gave
    /// one, else by arrival): the class's recorders, from either cloud and by hand.
    pub async fn recorder_events(&self, class_id: &str) -> StoreResult<Vec<RecorderEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM recorder_events WHERE class_id = $1 \
             ORDER BY COALESCE(event_at, received_at), id"
        );
        let rows = sqlx::query(&sql)
            .bind(class_id)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
    }

    /// Every event of one recording task (a cloud's task id), oldest first, whichever
    /// class it maps to (or none).
    pub async fn recorder_task_events(
        &self,
        source: RecorderSource,
        task_id: &str,
    ) -> StoreResult<Vec<RecorderEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM recorder_events WHERE source = $1 AND task_id = $2 \
             ORDER BY COALESCE(event_at, received_at), id"
        );
        let rows = sqlx::query(&sql)
            .bind(source.as_str())
            .bind(task_id)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
    }

    /// The recorder events that came in callback `callback_id` (one, or none for a
    /// refused or ignored callback).
    pub async fn recorder_events_of_callback(
        &self,
        callback_id: i64,
    ) -> StoreResult<Vec<RecorderEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM recorder_events WHERE callback_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(callback_id)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
    }

    /// Recorder events of `stage` received at or after `since_ms`, in any class, oldest
    /// first (for a periodic check such as "started, and no file since").
    pub async fn recorder_events_since(
        &self,
        stage: RecorderStage,
        since_ms: i64,
    ) -> StoreResult<Vec<RecorderEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM recorder_events WHERE stage = $1 AND received_at >= $2 \
             ORDER BY received_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(stage.as_str())
            .bind(since_ms)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
    }
}

/// One recorder of a member: the events of one (class, uid, source, task, media).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecorderLife {
    pub class_id: Option<String>,
    pub uid: Option<String>,
    pub source: RecorderSource,
    pub task_id: String,
    pub media: Option<String>,
    /// The first `started` event's time (cloud clock, else arrival), unix ms.
    pub started: Option<i64>,
    /// The last `stopped` event's time, unix ms.
    pub stopped: Option<i64>,
    /// Slices and upload events seen.
    pub slices: u32,
    /// The `ready` events (files), with their 1004 when made.
    pub ready: Vec<RecorderEvent>,
    /// The `error` events.
    pub errors: Vec<RecorderEvent>,
    /// Every event, in order.
    pub events: Vec<RecorderEvent>,
    /// Made from a file event (a member's recorder), not only from task-wide ones.
    #[serde(skip)]
    file_level: bool,
}

/// Groups events (as [`Store::recorder_events`] gives them) into recorders, in the order
/// each recorder first appears.
///
/// A TRTC task records every member of a room, and its task-wide events (301 started,
/// 302 stopped, 306 failover, errors) name the task's own user, not a member: they name no
/// file. They are applied to every recorder of the same task that has a file event (307,
/// 310, 311: those name the member); a task with no file event at all is one recorder of
/// its own, with the task's user id (so "started, no file" shows). A file event without a
/// stream kind (a 307 slice names none) joins the member's recorder of that task, which
/// takes the kind of the first event that names one (a 311's `main`/`aux`).
pub fn recorder_lives(events: &[RecorderEvent]) -> Vec<RecorderLife> {
    let mut lives: Vec<RecorderLife> = Vec::new();
    let is_task_wide = |e: &RecorderEvent| e.source == RecorderSource::Trtc && e.file_key.is_none();
    let same_recorder = |l: &RecorderLife, e: &RecorderEvent| {
        l.class_id == e.class_id && l.uid == e.uid && l.source == e.source && l.task_id == e.task_id
    };
    // File-level recorders first.
    for e in events.iter().filter(|e| !is_task_wide(e)) {
        let found = lives
            .iter()
            .position(|l| l.file_level && same_recorder(l, e) && l.media == e.media)
            .or_else(|| {
                lives.iter().position(|l| {
                    l.file_level && same_recorder(l, e) && (l.media.is_none() || e.media.is_none())
                })
            });
        let i = match found {
            Some(i) => i,
            None => {
                let mut life = RecorderLife::new(e);
                life.file_level = true;
                lives.push(life);
                lives.len() - 1
            }
        };
        if lives[i].media.is_none() {
            lives[i].media = e.media.clone();
        }
        lives[i].add(e);
    }
    // Task-wide events: onto every recorder of their task, or a recorder of their own.
    for e in events.iter().filter(|e| is_task_wide(e)) {
        let mut applied = false;
        for life in lives.iter_mut().filter(|l| {
            l.file_level
                && l.source == e.source
                && l.task_id == e.task_id
                && l.class_id == e.class_id
        }) {
            life.add(e);
            applied = true;
        }
        if !applied {
            let i = match lives.iter().position(|l| {
                !l.file_level
                    && l.source == e.source
                    && l.task_id == e.task_id
                    && l.class_id == e.class_id
            }) {
                Some(i) => i,
                None => {
                    lives.push(RecorderLife::new(e));
                    lives.len() - 1
                }
            };
            lives[i].add(e);
        }
    }
    for life in &mut lives {
        life.events
            .sort_by_key(|e| (e.event_at.unwrap_or(e.received_at), e.id));
    }
    lives
}

impl RecorderLife {
    fn new(e: &RecorderEvent) -> Self {
        RecorderLife {
            class_id: e.class_id.clone(),
            uid: e.uid.clone(),
            source: e.source,
            task_id: e.task_id.clone(),
            media: e.media.clone(),
            started: None,
            stopped: None,
            slices: 0,
            ready: Vec::new(),
            errors: Vec::new(),
            events: Vec::new(),
            file_level: false,
        }
    }

    fn add(&mut self, e: &RecorderEvent) {
        let at = e.event_at.unwrap_or(e.received_at);
        match e.stage {
            RecorderStage::Started => self.started = Some(self.started.map_or(at, |s| s.min(at))),
            RecorderStage::Stopped => self.stopped = Some(self.stopped.map_or(at, |s| s.max(at))),
            RecorderStage::Slice | RecorderStage::Uploading => self.slices += 1,
            RecorderStage::Ready => self.ready.push(e.clone()),
            RecorderStage::Error => self.errors.push(e.clone()),
            _ => {}
        }
        self.events.push(e.clone());
    }
}
