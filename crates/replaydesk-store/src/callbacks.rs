//! Recording callbacks as received (docs/protocol.md section 4), each with what became of it,
//! and the 1004 a matched one becomes, written in the same transaction.
//!
//! One recording file is one 1004, however often the cloud repeats its callback and
//! whichever class a repeat maps to: the file's key (`callback::file_key`) is looked up
//! among the callbacks already recorded (indexed), and the message's per-class dedup key
//! `1004:<file key>` backs that up.
//!
//! One file although long: the callback's row, its status changes (assign, unassign,
//! repeat) and the 1004 each writes share one transaction per change, so they are kept
//! where that transaction can be read whole. (A recorder event's intake, which writes the
//! same rows, is in `recorder_intake.rs`.)

use super::audit::audit_tx;
use super::audit::Actor;
use super::filter::Page;
use super::messages::{insert_message_tx, message_columns, message_from_row, NewMessage};
use super::recorder::add_recorder_event_tx;
use super::types::{text_enum, StoredMessage};
use super::{now_ms, Store, StoreError, StoreResult};
use super::{Db, DbRow, Engine, SqlBuilder};
use super::{NewRecorderEvent, RecorderOutcome};
use replaydesk_callback::ClassSnapshot;
use replaydesk_protocol::{ReplayMessage, Seq};
use serde::{Deserialize, Serialize};
use sqlx::{Row, Transaction};

text_enum! {
    /// What became of a recording callback.
    CallbackStatus {
        /// A recording mapped to a class and user: its 1004 was stored with it.
        Accepted => "accepted",
        /// The same file again: no new message; `message_id` is the file's 1004.
        Duplicate => "duplicate",
        /// The same file as the 1004 of another class or user (a reused or forged
        /// `file_id`): nothing sent; listed for an admin to look at.
        Conflict => "conflict",
        /// Verified, but not a "recording file ready" event: acknowledged, nothing sent.
        Ignored => "ignored",
        /// Unreadable, or its sign or expiry did not verify: nothing sent.
        Refused => "refused",
        /// Verified, but it maps to no class: kept for an admin to assign.
        Unmatched => "unmatched",
        /// Was unmatched; an admin chose its class and user, and its 1004 was stored.
        Assigned => "assigned",
        /// Verified, and part of a recording's life without a file to announce (a recorder
        /// started or stopped, a slice, an error; a file with no playable URL): kept in the
        /// recorder life (`recorder_events`), nothing sent.
        Recorded => "recorded",
    }
}

text_enum! {
    /// Which cloud sent a callback, and so how its body is read and verified.
    CallbackSource {
        /// The live-streaming cloud (`POST /v1/callbacks/recording`; `sign` = md5(key + t)).
        Css => "css",
        /// TRTC cloud recording (`POST /v1/callbacks/trtc`; header `Sign` = HMAC-SHA256).
        Trtc => "trtc",
    }
}

/// A recording callback as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingCallbackRecord {
    pub id: i64,
    /// Which cloud sent it.
    pub source: CallbackSource,
    /// When it arrived, unix ms.
    pub received_at: i64,
    pub status: CallbackStatus,
    /// Why it was refused (`bad_sign`, `expired`, `not_json`, ...), what the mapping tried
    /// (unmatched, and kept once assigned), what was missing for the 1004 (accepted), the
    /// message it repeats (duplicate), or the event it was (ignored).
    pub reason: Option<String>,
    /// The recording file's identity (`file_id:...`, `video_id:...`, ...), once verified.
    pub file_key: Option<String>,
    pub class_id: Option<String>,
    pub uid: Option<String>,
    /// The file's 1004 (accepted, duplicate, assigned).
    pub message_id: Option<i64>,
    /// The body as received, shown as UTF-8 text (invalid bytes replaced; the store keeps
    /// the bytes), with the `sign` value hidden. Listings carry only its first
    /// [`LIST_BODY_PREVIEW_BYTES`]; the detail route the whole stored body.
    pub body: String,
    /// Size of the body as received, bytes.
    pub body_bytes: i64,
    /// True when `body` is not the whole body: a listing's preview, or a refused body of
    /// which only the first [`REFUSED_BODY_SAMPLE_BYTES`] were kept.
    pub body_truncated: bool,
}

/// How much of each body a listing carries: a genuine callback (under 1 KiB) whole, and a
/// page of 1000 at most about 4 MiB of bodies whatever was posted.
pub const LIST_BODY_PREVIEW_BYTES: usize = 4096;
/// How much of a refused body is kept (refused senders are unauthenticated).
pub const REFUSED_BODY_SAMPLE_BYTES: usize = 4096;
/// How many refused callbacks are kept: the newest ones; older ones are dropped as new
/// ones arrive (they are still counted in the metrics).
pub const REFUSED_SAMPLE_ROWS: i64 = 1000;

/// The body with the string value of every `sign` key replaced by `(hidden)`: a (t, sign)
/// pair verifies any callback until `t`, so admin answers do not show it. The rest of the
/// text stays as received.
///
/// A key is compared as JSON reads it, escapes decoded: `"si\u0067n"` is the `sign` the
/// verification reads, so it is hidden too. Text cut short (a listing's preview) hides
/// what is left of a value it cuts.
pub fn hide_sign(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find('"') {
        out.push_str(&rest[..at]);
        let Some(len) = json_string_len(&rest[at..]) else {
            // An unterminated string (cut short): nothing more to hide.
            out.push_str(&rest[at..]);
            return out;
        };
        let (token, after) = rest[at..].split_at(len);
        out.push_str(token);
        rest = after;
        // `"sign"` with every letter escaped is 26 bytes: longer strings are not the key.
        let is_sign =
            token.len() <= 32 && serde_json::from_str::<String>(token).is_ok_and(|k| k == "sign");
        let after_ws = rest.trim_start();
        let Some(after_colon) = after_ws.strip_prefix(':') else {
            continue;
        };
        if !is_sign {
            continue;
        }
        let value = after_colon.trim_start();
        // Whitespace and the colon as received.
        out.push_str(&rest[..rest.len() - value.len()]);
        if !value.starts_with('"') {
            rest = value;
            continue;
        }
        match json_string_len(value) {
            Some(len) => {
                out.push_str("\"(hidden)\"");
                rest = &value[len..];
            }
            None => {
                out.push_str("\"(hidden)");
                return out;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The length in bytes of the JSON string token `text` starts with (its opening `"`
/// included, its closing one too); `None` when it does not end.
fn json_string_len(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i + 1),
            _ => escaped = false,
        }
    }
    None
}

/// A callback row without a message (refused, ignored, unmatched).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCallbackRow<'a> {
    pub source: CallbackSource,
    pub received_at: i64,
    /// The bytes as received (a refused body: its sample).
    pub body: &'a [u8],
    /// Size of the body as received.
    pub body_bytes: usize,
    pub status: CallbackStatus,
    pub reason: Option<&'a str>,
    pub file_key: Option<&'a str>,
}

/// What a verified recording callback maps to.
pub enum RecordingTarget<'a> {
    /// A class and user: the file's 1004 is stored with the callback.
    Matched {
        class_id: &'a str,
        uid: &'a str,
        /// Kept as the row's reason when the 1004 is new (the rule that matched, fields
        /// the callback lacked).
        note: Option<&'a str>,
        /// Builds the 1004 for a drawn `seq`.
        build: &'a (dyn Fn(Seq) -> ReplayMessage + Send + Sync),
    },
    /// No class: kept for an admin, with what the mapping tried.
    Unmatched { reason: &'a str },
}

/// A verified recording callback ("recording file ready") to store.
pub struct RecordingIntake<'a> {
    pub received_at: i64,
    pub body: &'a [u8],
    pub file_key: &'a str,
    pub target: RecordingTarget<'a>,
    /// The file as an event of its recorder's life (CSS event 100), stored with it; its
    /// class and uid are those the file is recorded for.
    pub life: Option<NewRecorderEvent<'a>>,
}

/// A recording callback as stored, with its file's 1004 when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCallback {
    pub record: RecordingCallbackRecord,
    /// The file's 1004 (none for an unmatched callback whose file has none yet).
    pub message: Option<StoredMessage>,
    /// True when this call stored the 1004.
    pub created: bool,
}

/// The dedup key of a recording file's 1004 within its class.
pub fn recording_dedup_key(file_key: &str) -> String {
    format!("1004:{file_key}")
}

// The body is read as bytes (older SQLite rows hold it as text) with its size as received.
// PostgreSQL stores it as `bytea` from the start, so it needs no cast (and has no BLOB).
const SQLITE_CALLBACK_COLUMNS: &str =
    "id, source, received_at, CAST(body AS BLOB) AS body, body_bytes, \
     status, reason, file_key, class_id, uid, message_id";
const PG_CALLBACK_COLUMNS: &str = "id, source, received_at, body, body_bytes, \
     status, reason, file_key, class_id, uid, message_id";
/// The same, with only the first [`LIST_BODY_PREVIEW_BYTES`] of the body (for listings).
const SQLITE_CALLBACK_LIST_COLUMNS: &str = "id, source, received_at, \
     substr(CAST(body AS BLOB), 1, 4096) AS body, body_bytes, status, reason, file_key, \
     class_id, uid, message_id";
const PG_CALLBACK_LIST_COLUMNS: &str = "id, source, received_at, \
     substr(body, 1, 4096) AS body, body_bytes, status, reason, file_key, \
     class_id, uid, message_id";

fn callback_columns(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => SQLITE_CALLBACK_COLUMNS,
        Engine::Postgres => PG_CALLBACK_COLUMNS,
    }
}

fn callback_list_columns(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => SQLITE_CALLBACK_LIST_COLUMNS,
        Engine::Postgres => PG_CALLBACK_LIST_COLUMNS,
    }
}

fn callback_from_row(row: &DbRow) -> Result<RecordingCallbackRecord, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let source: String = row.try_get("source")?;
    let body: Vec<u8> = row.try_get("body")?;
    // Rows from before body_bytes existed: their stored body is the whole body.
    let body_bytes: i64 = row
        .try_get::<Option<i64>, _>("body_bytes")?
        .unwrap_or(i64::try_from(body.len()).unwrap_or(i64::MAX));
    Ok(RecordingCallbackRecord {
        id: row.try_get("id")?,
        source: CallbackSource::parse(&source).ok_or_else(|| {
            sqlx::Error::Decode(format!("unexpected callback source in database: {source}").into())
        })?,
        received_at: row.try_get("received_at")?,
        status: CallbackStatus::parse(&status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unexpected callback status in database: {status}").into())
        })?,
        reason: row.try_get("reason")?,
        file_key: row.try_get("file_key")?,
        class_id: row.try_get("class_id")?,
        uid: row.try_get("uid")?,
        message_id: row.try_get("message_id")?,
        body: hide_sign(&String::from_utf8_lossy(&body)),
        body_bytes,
        body_truncated: i64::try_from(body.len()).unwrap_or(i64::MAX) < body_bytes,
    })
}

pub(crate) struct CallbackRow<'a> {
    pub(crate) source: CallbackSource,
    pub(crate) received_at: i64,
    pub(crate) body: &'a [u8],
    pub(crate) body_bytes: usize,
    pub(crate) status: CallbackStatus,
    pub(crate) reason: Option<&'a str>,
    pub(crate) file_key: Option<&'a str>,
    pub(crate) class_id: Option<&'a str>,
    pub(crate) uid: Option<&'a str>,
    pub(crate) message_id: Option<i64>,
}

pub(crate) async fn insert_callback_tx(
    tx: &mut Transaction<'_, Db>,
    engine: Engine,
    r: &CallbackRow<'_>,
) -> StoreResult<RecordingCallbackRecord> {
    let columns = callback_columns(engine);
    let sql = format!(
        "INSERT INTO recording_callbacks (received_at, body, body_bytes, status, reason, \
         file_key, class_id, uid, message_id, source) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {columns}"
    );
    let row = sqlx::query(&sql)
        .bind(r.received_at)
        .bind(r.body)
        .bind(i64::try_from(r.body_bytes).unwrap_or(i64::MAX))
        .bind(r.status.as_str())
        .bind(r.reason)
        .bind(r.file_key)
        .bind(r.class_id)
        .bind(r.uid)
        .bind(r.message_id)
        .bind(r.source.as_str())
        .fetch_one(&mut **tx)
        .await?;
    Ok(callback_from_row(&row)?)
}

/// The 1004 already recorded for `file_key`, in whichever class.
async fn recorded_file_tx(
    tx: &mut Transaction<'_, Db>,
    file_key: &str,
) -> StoreResult<Option<StoredMessage>> {
    let sql = format!(
        "SELECT {} FROM messages WHERE id = (SELECT message_id FROM recording_callbacks \
         WHERE file_key = $1 AND message_id IS NOT NULL ORDER BY id LIMIT 1)",
        message_columns()
    );
    let row = sqlx::query(&sql)
        .bind(file_key)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.as_ref().map(message_from_row).transpose()?)
}

/// Callback `id` read inside a write (NotFound when there is none).
async fn callback_in_tx(
    tx: &mut Transaction<'_, Db>,
    engine: Engine,
    id: i64,
) -> StoreResult<RecordingCallbackRecord> {
    let sql = format!(
        "SELECT {} FROM recording_callbacks WHERE id = $1",
        callback_columns(engine)
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("callback {id}")))?;
    Ok(callback_from_row(&row)?)
}

async fn group_of_tx(tx: &mut Transaction<'_, Db>, class_id: &str) -> StoreResult<String> {
    let group: Option<String> =
        sqlx::query_scalar("SELECT group_id FROM classes WHERE class_id = $1")
            .bind(class_id)
            .fetch_optional(&mut **tx)
            .await?;
    group.ok_or_else(|| StoreError::NotFound(format!("class {class_id:?}")))
}

/// What recording a file came to: its 1004 (new, or the one it already has), and the
/// callback's status and reason.
pub(crate) struct Settled {
    pub(crate) message: Option<StoredMessage>,
    pub(crate) created: bool,
    pub(crate) status: CallbackStatus,
    pub(crate) reason: Option<String>,
}

/// The 1004 of `file_key`, made for `target` unless the file already has one (in any
/// class): then `duplicate` of it, or `conflict` when the target is another class or user.
pub(crate) async fn settle_file_tx(
    tx: &mut Transaction<'_, Db>,
    file_key: &str,
    target: &RecordingTarget<'_>,
) -> StoreResult<Settled> {
    let mut existing = recorded_file_tx(tx, file_key).await?;
    if existing.is_none() {
        // The cloud's file after the same file was entered by hand (its own key is not
        // the cloud's): the same 1004, not a second one.
        if let RecordingTarget::Matched {
            class_id, build, ..
        } = target
        {
            existing = super::missing::hand_entered_file_tx(tx, class_id, *build).await?;
        }
    }
    let (message, created, status, reason) = match (existing, target) {
        (Some(m), target) => {
            let reason = match target {
                RecordingTarget::Matched { class_id, uid, .. }
                    if m.class_id == *class_id && m.uid == *uid =>
                {
                    format!("same file as message {}", m.id)
                }
                RecordingTarget::Matched { class_id, uid, .. } => format!(
                    "same file as message {} (class {:?}, uid {:?}); this callback maps to class {:?}, uid {:?}",
                    m.id, m.class_id, m.uid, class_id, uid
                ),
                RecordingTarget::Unmatched { reason } => format!(
                    "same file as message {} (class {:?}, uid {:?}); this callback maps to no class: {reason}",
                    m.id, m.class_id, m.uid
                ),
            };
            let status = match target {
                RecordingTarget::Matched { class_id, uid, .. }
                    if m.class_id != *class_id || m.uid != *uid =>
                {
                    CallbackStatus::Conflict
                }
                _ => CallbackStatus::Duplicate,
            };
            (Some(m), false, status, Some(reason))
        }
        (
            None,
            RecordingTarget::Matched {
                class_id,
                uid,
                note,
                build,
            },
        ) => {
            let group_id = group_of_tx(tx, class_id).await?;
            let key = recording_dedup_key(file_key);
            let ins = insert_message_tx(
                tx,
                &NewMessage {
                    class_id,
                    group_id: &group_id,
                    uid,
                    dedup_key: &key,
                    build: *build,
                },
                now_ms(),
            )
            .await?;
            let (status, reason) = if ins.created {
                (CallbackStatus::Accepted, note.map(str::to_owned))
            } else {
                (
                    CallbackStatus::Duplicate,
                    Some(format!("same file as message {}", ins.message.id)),
                )
            };
            (Some(ins.message), ins.created, status, reason)
        }
        (None, RecordingTarget::Unmatched { reason }) => (
            None,
            false,
            CallbackStatus::Unmatched,
            Some((*reason).to_owned()),
        ),
    };
    Ok(Settled {
        message,
        created,
        status,
        reason,
    })
}

/// Adds a class row (`class_id, group_id, room_id, created_at`) to a snapshot; answers its id.
fn add_snapshot_class(snap: &mut ClassSnapshot, row: &DbRow) -> Result<String, sqlx::Error> {
    let class_id: String = row.try_get("class_id")?;
    let group_id: String = row.try_get("group_id")?;
    let room_id: Option<String> = row.try_get("room_id")?;
    let created_at: i64 = row.try_get("created_at")?;
    snap.add_class(class_id.clone(), group_id);
    if let Some(room) = room_id {
        snap.set_room(&class_id, room, created_at);
    }
    Ok(class_id)
}

/// Adds a registered stream row (`class_id, stream_id, uid, created_at`) to a snapshot.
fn add_snapshot_stream(snap: &mut ClassSnapshot, row: &DbRow) -> Result<(), sqlx::Error> {
    let class_id: String = row.try_get("class_id")?;
    let stream_id: String = row.try_get("stream_id")?;
    let uid: String = row.try_get("uid")?;
    let created_at: i64 = row.try_get("created_at")?;
    snap.add_stream(&class_id, stream_id, uid, created_at);
    Ok(())
}

/// What became of a file event, by what became of its callback.
pub(crate) fn outcome_of(status: CallbackStatus) -> RecorderOutcome {
    match status {
        CallbackStatus::Accepted | CallbackStatus::Assigned => RecorderOutcome::Announced,
        CallbackStatus::Duplicate => RecorderOutcome::AlreadyAnnounced,
        CallbackStatus::Conflict => RecorderOutcome::Conflict,
        CallbackStatus::Unmatched => RecorderOutcome::Unmatched,
        CallbackStatus::Recorded | CallbackStatus::Ignored | CallbackStatus::Refused => {
            RecorderOutcome::Kept
        }
    }
}

impl Store {
    /// Keeps a callback that became no message and maps to nothing (refused, ignored).
    pub async fn record_callback(
        &self,
        r: &NewCallbackRow<'_>,
    ) -> StoreResult<RecordingCallbackRecord> {
        let mut tx = self.begin_write().await?;
        let record = insert_callback_tx(
            &mut tx,
            self.engine(),
            &CallbackRow {
                source: r.source,
                received_at: r.received_at,
                body: r.body,
                body_bytes: r.body_bytes,
                status: r.status,
                reason: r.reason,
                file_key: r.file_key,
                class_id: None,
                uid: None,
                message_id: None,
            },
        )
        .await?;
        if r.status == CallbackStatus::Refused {
            // Keep only the newest refused bodies: an unauthenticated sender cannot grow
            // the database without bound (the `status, id` index finds the cut).
            sqlx::query(
                "DELETE FROM recording_callbacks WHERE status = 'refused' AND id <= \
                 (SELECT id FROM recording_callbacks WHERE status = 'refused' \
                 ORDER BY id DESC LIMIT 1 OFFSET $1)",
            )
            .bind(REFUSED_SAMPLE_ROWS)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// Stores a verified recording callback, in one transaction, durable when this
    /// returns. When its file already has a 1004 (in any class, however this callback
    /// maps), nothing new is sent: the row is `duplicate`, pointing at that message and
    /// naming its class and user. Otherwise a matched callback is `accepted` with its new
    /// 1004, and an unmatched one is kept `unmatched` with the mapping's reason.
    pub async fn record_recording(&self, r: &RecordingIntake<'_>) -> StoreResult<RecordedCallback> {
        let mut tx = self.begin_write().await?;
        let settled = settle_file_tx(&mut tx, r.file_key, &r.target).await?;
        let message = settled.message;
        let record = insert_callback_tx(
            &mut tx,
            self.engine(),
            &CallbackRow {
                source: CallbackSource::Css,
                received_at: r.received_at,
                body: r.body,
                body_bytes: r.body.len(),
                status: settled.status,
                reason: settled.reason.as_deref(),
                file_key: Some(r.file_key),
                class_id: message.as_ref().map(|m| m.class_id.as_str()),
                uid: message.as_ref().map(|m| m.uid.as_str()),
                message_id: message.as_ref().map(|m| m.id),
            },
        )
        .await?;
        if let Some(life) = &r.life {
            let mut life = life.clone();
            life.class_id = message.as_ref().map(|m| m.class_id.as_str());
            life.uid = message.as_ref().map(|m| m.uid.as_str()).or(life.uid);
            add_recorder_event_tx(
                &mut tx,
                &life,
                outcome_of(settled.status),
                Some(record.id),
                message.as_ref().map(|m| m.id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(RecordedCallback {
            record,
            message,
            created: settled.created,
        })
    }

    /// Assigns an `unmatched` callback to `class_id` and `uid`: its 1004 is stored (or, when
    /// the file already has one for that class and user, found), the row becomes
    /// `assigned`, and the action is audited, all in one transaction.
    ///
    /// Conflict when the callback is not `unmatched` (any more), or when its file's 1004
    /// exists for another class or user; not found when the callback or class is unknown.
    pub async fn assign_callback(
        &self,
        id: i64,
        class_id: &str,
        uid: &str,
        actor: &Actor,
        build: &(dyn Fn(Seq) -> ReplayMessage + Send + Sync),
    ) -> StoreResult<RecordedCallback> {
        let mut tx = self.begin_write().await?;
        let before = callback_in_tx(&mut tx, self.engine(), id).await?;
        if before.status != CallbackStatus::Unmatched {
            return Err(StoreError::Conflict(format!(
                "callback {id} is {}; only an unmatched callback can be assigned",
                before.status
            )));
        }
        let file_key = before.file_key.clone().ok_or_else(|| {
            StoreError::Conflict(format!("callback {id} has no file key to record"))
        })?;
        let group_id = group_of_tx(&mut tx, class_id).await?;
        let (message, created) = match recorded_file_tx(&mut tx, &file_key).await? {
            Some(m) if m.class_id == class_id && m.uid == uid => (m, false),
            Some(m) => {
                return Err(StoreError::Conflict(format!(
                    "the file of callback {id} ({file_key}) is already recorded as message {} \
                     in class {:?} for uid {:?}",
                    m.id, m.class_id, m.uid
                )))
            }
            None => {
                let key = recording_dedup_key(&file_key);
                let ins = insert_message_tx(
                    &mut tx,
                    &NewMessage {
                        class_id,
                        group_id: &group_id,
                        uid,
                        dedup_key: &key,
                        build,
                    },
                    now_ms(),
                )
                .await?;
                if ins.message.uid != uid {
                    return Err(StoreError::Conflict(format!(
                        "class {class_id:?} already has the 1004 of {file_key} as message {}, for uid {:?}",
                        ins.message.id, ins.message.uid
                    )));
                }
                (ins.message, ins.created)
            }
        };
        let sql = format!(
            "UPDATE recording_callbacks SET status = 'assigned', class_id = $1, uid = $2, \
             message_id = $3 WHERE id = $4 AND status = 'unmatched' RETURNING {}",
            callback_columns(self.engine())
        );
        let row = sqlx::query(&sql)
            .bind(class_id)
            .bind(uid)
            .bind(message.id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let record = callback_from_row(&row)?;
        // Its event in the recorder life now belongs to the class and user, with the 1004.
        sqlx::query(
            "UPDATE recorder_events SET class_id = $1, uid = $2, message_id = $3, \
             status = 'announced' WHERE callback_id = $4",
        )
        .bind(class_id)
        .bind(uid)
        .bind(message.id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit_tx(
            &mut tx,
            actor,
            "assign_callback",
            &format!("callback:{id}"),
            &serde_json::json!({
                "class_id": class_id,
                "uid": uid,
                "file_key": file_key,
                "message_id": message.id,
                "message_created": created,
                "unmatched_reason": before.reason,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(RecordedCallback {
            record,
            message: Some(message),
            created,
        })
    }

    /// Undoes an admin's assignment while its 1004 has not reached the group: the callback
    /// is `unmatched` again (its class, uid and message cleared), the 1004 the assignment
    /// made is deleted with its attempts (one that was there before, a matched callback's,
    /// stays), repeats of the callback that arrived since are unmatched again too, and the
    /// action is audited, all in one transaction. Answers the callback as it is now and the
    /// id of the message deleted, if one was.
    ///
    /// Conflict when the callback is not `assigned`, or its 1004 is `sent` or being sent.
    pub async fn unassign_callback(
        &self,
        id: i64,
        actor: &Actor,
    ) -> StoreResult<(RecordingCallbackRecord, Option<i64>)> {
        let mut tx = self.begin_write().await?;
        let before = callback_in_tx(&mut tx, self.engine(), id).await?;
        if before.status != CallbackStatus::Assigned {
            return Err(StoreError::Conflict(format!(
                "callback {id} is {}; only an assigned callback can be unassigned",
                before.status
            )));
        }
        let message_id = before.message_id.ok_or_else(|| {
            StoreError::Conflict(format!("callback {id} is assigned without a message"))
        })?;
        let others: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, status FROM recording_callbacks WHERE message_id = $1 AND id <> $2",
        )
        .bind(message_id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        // First the callback lets go of its message (which may then be deleted).
        let sql = format!(
            "UPDATE recording_callbacks SET status = 'unmatched', class_id = NULL, uid = NULL, \
             message_id = NULL WHERE id = $1 AND status = 'assigned' RETURNING {}",
            callback_columns(self.engine())
        );
        let row = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await?;
        let record = callback_from_row(&row)?;
        // The 1004 was there before the assignment (a matched callback of the same file,
        // class and user made it): it is not the assignment's to take back.
        let owned = !others.iter().any(|(_, s)| s == "accepted");
        // Its event in the recorder life (and, when the 1004 goes, every event naming it)
        // waits for an assignment again.
        sqlx::query(
            "UPDATE recorder_events SET message_id = NULL, status = 'unmatched' \
             WHERE callback_id = $1 OR ($2 = 1 AND message_id = $3)",
        )
        .bind(id)
        .bind(i64::from(owned))
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
        let mut deleted = None;
        if owned {
            let status: String = sqlx::query_scalar("SELECT status FROM messages WHERE id = $1")
                .bind(message_id)
                .fetch_one(&mut *tx)
                .await?;
            match status.as_str() {
                "pending" | "retrying" | "failed" => {}
                "sent" => {
                    return Err(StoreError::Conflict(format!(
                        "callback {id}'s 1004 (message {message_id}) is already in the group: \
                         a sent message cannot be taken back, so the assignment stays"
                    )))
                }
                _ => {
                    return Err(StoreError::Conflict(format!(
                        "callback {id}'s 1004 (message {message_id}) is being sent right now; \
                         try again in a moment"
                    )))
                }
            }
            // Repeats that arrived since the assignment named its message: unmatched again.
            sqlx::query(
                "UPDATE recording_callbacks SET status = 'unmatched', class_id = NULL, \
                 uid = NULL, message_id = NULL WHERE message_id = $1 AND id <> $2",
            )
            .bind(message_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM attempts WHERE message_id = $1")
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM job_messages WHERE message_id = $1")
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            // Guarded by status: a sender that claimed it meanwhile (another node) wins.
            let gone = sqlx::query(
                "DELETE FROM messages WHERE id = $1 AND status IN ('pending', 'retrying', 'failed')",
            )
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
            if gone.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!(
                    "callback {id}'s 1004 (message {message_id}) is being sent right now; \
                     try again in a moment"
                )));
            }
            deleted = Some(message_id);
        }
        audit_tx(
            &mut tx,
            actor,
            "unassign_callback",
            &format!("callback:{id}"),
            &serde_json::json!({
                "class_id": before.class_id,
                "uid": before.uid,
                "message_id": message_id,
                "message_deleted": deleted.is_some(),
                "repeats_unmatched": if owned { others.len() } else { 0 },
            }),
        )
        .await?;
        tx.commit().await?;
        Ok((record, deleted))
    }

    /// Refused callbacks received at or after `since_ms`, counted by reason (most first).
    /// Read from the stored sample, which keeps the newest [`REFUSED_SAMPLE_ROWS`]: far
    /// more than an alert's threshold.
    pub async fn refused_callbacks_since(&self, since_ms: i64) -> StoreResult<Vec<(String, i64)>> {
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT reason, COUNT(*) FROM recording_callbacks \
             WHERE status = 'refused' AND received_at >= $1 GROUP BY reason",
        )
        .bind(since_ms)
        .fetch_all(self.reader())
        .await?;
        let mut out: Vec<(String, i64)> = rows
            .into_iter()
            .map(|(r, n)| (r.unwrap_or_default(), n))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    /// Whether an alert of `kind` is open (a read: callers clear only when one is).
    pub async fn alert_open(&self, kind: &str) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM alerts WHERE kind = $1 AND cleared_at IS NULL",
        )
        .bind(kind)
        .fetch_one(self.reader())
        .await?;
        Ok(n > 0)
    }

    pub async fn recording_callback(&self, id: i64) -> StoreResult<RecordingCallbackRecord> {
        let sql = format!(
            "SELECT {} FROM recording_callbacks WHERE id = $1",
            callback_columns(self.engine())
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("callback {id}")))?;
        Ok(callback_from_row(&row)?)
    }

    /// The callback message `message_id` was made from (the first that named it), as
    /// [`Store::recording_callback`] gives it.
    pub async fn callback_of_message(
        &self,
        message_id: i64,
    ) -> StoreResult<Option<RecordingCallbackRecord>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM recording_callbacks WHERE message_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(message_id)
        .fetch_optional(self.reader())
        .await?;
        match id {
            Some(id) => Ok(Some(self.recording_callback(id).await?)),
            None => Ok(None),
        }
    }

    /// Callbacks with any of `statuses` (all when empty), newest first; `before` is the
    /// previous page's cursor.
    pub async fn recording_callbacks(
        &self,
        statuses: &[CallbackStatus],
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<RecordingCallbackRecord>> {
        let limit = limit.clamp(1, 1000);
        let mut qb = SqlBuilder::new("SELECT ");
        qb.push(callback_list_columns(self.engine()))
            .push(" FROM recording_callbacks WHERE 1 = 1");
        super::filter::push_any_of(&mut qb, "status", statuses.iter().map(|s| s.as_str()));
        if let Some(b) = before {
            qb.push(" AND id < ").push_bind(b);
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(self.reader()).await?;
        let items = rows
            .iter()
            .map(callback_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, |r| r.id))
    }

    /// How many callbacks are stored per status (every status, zeros included).
    pub async fn callback_status_counts(&self) -> StoreResult<Vec<(CallbackStatus, i64)>> {
        let rows =
            sqlx::query("SELECT status, COUNT(*) AS n FROM recording_callbacks GROUP BY status")
                .fetch_all(self.reader())
                .await?;
        let mut out: Vec<(CallbackStatus, i64)> =
            CallbackStatus::ALL.iter().map(|s| (*s, 0)).collect();
        for row in &rows {
            let s: String = row.try_get("status")?;
            let n: i64 = row.try_get("n")?;
            if let Some(slot) = out.iter_mut().find(|(k, _)| k.as_str() == s) {
                slot.1 = n;
            }
        }
        Ok(out)
    }

    /// The classes whose `group_id` is among `groups`, whose `class_id` or `room_id` is
    /// among `rooms`, or that registered a stream id among `streams`, with their members,
    /// room ids and registered streams: what mapping a callback needs, found by index
    /// instead of loading every class and member.
    pub async fn class_snapshot_for(
        &self,
        groups: &[String],
        rooms: &[String],
        streams: &[String],
    ) -> StoreResult<ClassSnapshot> {
        let mut snap = ClassSnapshot::new();
        if groups.is_empty() && rooms.is_empty() && streams.is_empty() {
            return Ok(snap);
        }
        let mut qb = SqlBuilder::new(
            "SELECT class_id, group_id, room_id, created_at FROM classes WHERE 1 = 0",
        );
        if !groups.is_empty() {
            qb.push(" OR group_id IN ")
                .push_list(groups.iter().map(String::as_str));
        }
        if !rooms.is_empty() {
            qb.push(" OR class_id IN ")
                .push_list(rooms.iter().map(String::as_str));
            qb.push(" OR room_id IN ")
                .push_list(rooms.iter().map(String::as_str));
        }
        if !streams.is_empty() {
            qb.push(" OR class_id IN (SELECT class_id FROM class_streams WHERE stream_id IN ")
                .push_list(streams.iter().map(String::as_str))
                .push(")");
        }
        let classes = qb.build().fetch_all(self.reader()).await?;
        let mut ids = Vec::with_capacity(classes.len());
        for row in &classes {
            ids.push(add_snapshot_class(&mut snap, row)?);
        }
        if ids.is_empty() {
            return Ok(snap);
        }
        let mut qb = SqlBuilder::new("SELECT class_id, uid FROM class_members WHERE 1 = 1");
        super::filter::push_any_of(&mut qb, "class_id", ids.iter().map(String::as_str));
        for row in &qb.build().fetch_all(self.reader()).await? {
            let class_id: String = row.try_get("class_id")?;
            let uid: String = row.try_get("uid")?;
            snap.add_member(&class_id, uid);
        }
        if !streams.is_empty() {
            let mut qb = SqlBuilder::new(
                "SELECT class_id, stream_id, uid, created_at FROM class_streams WHERE 1 = 1",
            );
            super::filter::push_any_of(&mut qb, "stream_id", streams.iter().map(String::as_str));
            for row in &qb.build().fetch_all(self.reader()).await? {
                add_snapshot_stream(&mut snap, row)?;
            }
        }
        Ok(snap)
    }

    /// Every class with its members (teacher included), for mapping a callback.
    pub async fn class_snapshot(&self) -> StoreResult<ClassSnapshot> {
        let mut snap = ClassSnapshot::new();
        let classes = sqlx::query("SELECT class_id, group_id, room_id, created_at FROM classes")
            .fetch_all(self.reader())
            .await?;
        for row in &classes {
            add_snapshot_class(&mut snap, row)?;
        }
        let streams = sqlx::query("SELECT class_id, stream_id, uid, created_at FROM class_streams")
            .fetch_all(self.reader())
            .await?;
        for row in &streams {
            add_snapshot_stream(&mut snap, row)?;
        }
        let members = sqlx::query("SELECT class_id, uid FROM class_members")
            .fetch_all(self.reader())
            .await?;
        for row in &members {
            let class_id: String = row.try_get("class_id")?;
            let uid: String = row.try_get("uid")?;
            snap.add_member(&class_id, uid);
        }
        Ok(snap)
    }
}
