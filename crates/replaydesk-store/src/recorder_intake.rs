//! A verified recorder event's intake (issue 22): a TRTC event or a CSS status event
//! stored with its callback row, its events in the recorder life and any 1004 its files
//! make, in one transaction (`Store::record_recorder_event`).

use super::callbacks::{
    insert_callback_tx, outcome_of, settle_file_tx, CallbackRow, CallbackSource, CallbackStatus,
    RecordingCallbackRecord, RecordingTarget,
};
use super::recorder::{add_recorder_event_tx, recorder_event_by_key_tx};
use super::types::StoredMessage;
use super::{now_ms, Db, NewRecorderEvent, RecorderEvent, RecorderOutcome, Store, StoreResult};
use sqlx::Transaction;

/// What a verified recorder event means for a 1004.
pub enum EventFile<'a> {
    /// No file to announce (a recorder started, a slice, an error), or one without a
    /// playable URL (`outcome` says which): kept in the recorder life, nothing sent.
    Keep {
        outcome: RecorderOutcome,
        /// The callback row's reason (how it was mapped, or why nothing is announced).
        note: Option<&'a str>,
    },
    /// A file ready to play: its 1004 is made (or found, by `file_key`) as for
    /// [`RecordingIntake`].
    Announce {
        file_key: &'a str,
        target: RecordingTarget<'a>,
    },
}

/// A verified recorder event (TRTC 301-312, CSS 332) to store with its callback.
pub struct RecorderIntake<'a> {
    pub source: CallbackSource,
    pub received_at: i64,
    pub body: &'a [u8],
    /// The event; its `class_id` and `uid` are where it maps (for a file, the target's).
    pub event: NewRecorderEvent<'a>,
    pub file: EventFile<'a>,
    /// The other files of the same callback (a TRTC 310 lists every file of its task),
    /// each an event of its own; the callback row tells of the first.
    pub more: Vec<(NewRecorderEvent<'a>, EventFile<'a>)>,
}

/// A recorder event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub callback: RecordingCallbackRecord,
    /// The life row this callback added; `None` for a repeat.
    pub event: Option<RecorderEvent>,
    /// The event stored first, when this one repeats it.
    pub repeat_of: Option<RecorderEvent>,
    /// The file's 1004, when the event's file has one.
    pub message: Option<StoredMessage>,
    /// True when this call stored the 1004.
    pub created: bool,
    /// The life rows of [`RecorderIntake::more`] that were new, and how many 1004s they
    /// made.
    pub more_events: Vec<RecorderEvent>,
    pub more_created: usize,
}

/// One event of a recorder intake, once looked at inside the write.
enum Item<'a> {
    Repeat(RecorderEvent),
    New {
        event: NewRecorderEvent<'a>,
        status: CallbackStatus,
        reason: Option<String>,
        message: Option<StoredMessage>,
        created: bool,
        outcome: RecorderOutcome,
    },
}

/// Looks one event up (a repeat?) and settles its file.
async fn settle_item_tx<'a>(
    tx: &mut Transaction<'_, Db>,
    event: &NewRecorderEvent<'a>,
    file: &EventFile<'a>,
) -> StoreResult<Item<'a>> {
    if let Some(first) = recorder_event_by_key_tx(tx, event.dedup_key).await? {
        return Ok(Item::Repeat(first));
    }
    let mut event = event.clone();
    let (status, reason, message, created, outcome) = match file {
        EventFile::Keep { outcome, note } => (
            CallbackStatus::Recorded,
            note.map(str::to_owned),
            None,
            false,
            *outcome,
        ),
        EventFile::Announce { file_key, target } => {
            event.file_key = Some(file_key);
            let settled = settle_file_tx(tx, file_key, target).await?;
            (
                settled.status,
                settled.reason,
                settled.message,
                settled.created,
                outcome_of(settled.status),
            )
        }
    };
    Ok(Item::New {
        event,
        status,
        reason,
        message,
        created,
        outcome,
    })
}

impl Store {
    /// Stores a verified recorder event (TRTC, or a CSS status event) with its callback,
    /// in one transaction, durable when this returns: the callback row, the event in the
    /// recorder life, and, for a file ready to play, its 1004 (made once per file, as
    /// [`Store::record_recording`] does). A repeat of an event already stored (same
    /// `dedup_key`) keeps its callback as `duplicate`, naming the first one's 1004, and
    /// adds nothing else.
    pub async fn record_recorder_event(
        &self,
        r: &RecorderIntake<'_>,
    ) -> StoreResult<RecordedEvent> {
        let mut tx = self.begin_write().await?;
        let first = settle_item_tx(&mut tx, &r.event, &r.file).await?;
        let mut more = Vec::with_capacity(r.more.len());
        for (event, file) in &r.more {
            more.push(settle_item_tx(&mut tx, event, file).await?);
        }
        // The callback row tells of the first event: a repeat is `duplicate` of it.
        let (status, reason, file_key, class_id, uid, message_id) = match &first {
            Item::Repeat(e) => (
                CallbackStatus::Duplicate,
                Some(match e.callback_id {
                    Some(id) => format!("same event as callback {id}"),
                    None => format!("same event as recorder event {}", e.id),
                }),
                e.file_key.clone(),
                e.class_id.clone(),
                e.uid.clone(),
                e.message_id,
            ),
            Item::New {
                event,
                status,
                reason,
                message,
                ..
            } => (
                *status,
                reason.clone(),
                event.file_key.map(str::to_owned),
                message
                    .as_ref()
                    .map(|m| m.class_id.clone())
                    .or(event.class_id.map(str::to_owned)),
                message
                    .as_ref()
                    .map(|m| m.uid.clone())
                    .or(event.uid.map(str::to_owned)),
                message.as_ref().map(|m| m.id),
            ),
        };
        let callback = insert_callback_tx(
            &mut tx,
            self.engine(),
            &CallbackRow {
                source: r.source,
                received_at: r.received_at,
                body: r.body,
                body_bytes: r.body.len(),
                status,
                reason: reason.as_deref(),
                file_key: file_key.as_deref(),
                class_id: class_id.as_deref(),
                uid: uid.as_deref(),
                message_id,
            },
        )
        .await?;
        let mut out = RecordedEvent {
            callback,
            event: None,
            repeat_of: None,
            message: None,
            created: false,
            more_events: Vec::new(),
            more_created: 0,
        };
        for (i, item) in std::iter::once(first).chain(more).enumerate() {
            match item {
                Item::Repeat(e) if i == 0 => out.repeat_of = Some(e),
                Item::Repeat(_) => {}
                Item::New {
                    mut event,
                    message,
                    created,
                    outcome,
                    ..
                } => {
                    // A file for a uid the class does not know yet: the uid is enrolled
                    // as a student (a recording may come before its user reported).
                    if let (true, Some(m)) = (created, &message) {
                        super::members::enrol_student_tx(&mut tx, &m.class_id, &m.uid, now_ms())
                            .await?;
                    }
                    // The event belongs where its file is recorded.
                    event.class_id = message
                        .as_ref()
                        .map(|m| m.class_id.as_str())
                        .or(event.class_id);
                    event.uid = message.as_ref().map(|m| m.uid.as_str()).or(event.uid);
                    let added = add_recorder_event_tx(
                        &mut tx,
                        &event,
                        outcome,
                        Some(out.callback.id),
                        message.as_ref().map(|m| m.id),
                    )
                    .await?;
                    if i == 0 {
                        out.event = added;
                        out.message = message.clone();
                        out.created = created;
                    } else {
                        out.more_events.extend(added);
                        out.more_created += usize::from(created);
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }
}
