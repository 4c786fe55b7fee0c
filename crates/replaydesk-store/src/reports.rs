//! What classroom clients report: timeline reports (kept raw, accepted or refused) and
//! class start/end, each kept with the protocol message the service made of it, in the
//! same transaction. The service decides the message; the store keeps it, and only redraws
//! its `seq` should the group already hold that one.
//!
//! Many reports can be committed in one transaction ([`Store::record_intake`]): one fsync
//! for a burst instead of one per report, with the same durability for each.

use super::filter::Page;
use super::members::{touch_member_tx, MemberRole};
use super::messages::{insert_message_tx, message_columns, message_from_row, Inserted, NewMessage};
use super::sql::{padded_columns, pow2_chunks, push_padded_values, push_rows};
use super::types::{MessageStatus, StoredMessage};
use super::SqlBuilder;
use super::{now_ms, Engine, Store, StoreError, StoreResult};
use super::{Db, DbRow};
use replaydesk_protocol::{MessageType, Payload, ReplayMessage};
use serde::{Deserialize, Serialize};
use sqlx::{Row, Transaction};
use std::collections::{HashMap, HashSet};

/// An accepted timeline report: becomes (or, repeated, finds) its 1003.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineIntake {
    pub class_id: String,
    pub group_id: String,
    /// The role the report's uid takes if it is new to the class.
    pub role: MemberRole,
    /// The report's 1003 as the service built it (`seq` drawn, size checked): its uid,
    /// `timestamp` (the client's, as reported) and `time_line` are the report's. Its `seq`
    /// is kept unless the group already holds it.
    pub message: ReplayMessage,
    pub rtt_ms: Option<i64>,
    /// Which round trip `rtt_ms` is: `client`, `kernel` or `none` (see `align::RttSource`).
    pub rtt_source: &'static str,
    /// How far `time_line` may be off (half the round trip), when known.
    pub uncertainty_ms: Option<i64>,
    /// When the report arrived, unix ms.
    pub received_at: i64,
    /// The request body as received.
    pub body: String,
}

impl TimelineIntake {
    /// The report's uid and `time_line`, or why the message is not a 1003.
    fn timeline(&self) -> StoreResult<(&str, i64)> {
        match &self.message.payload {
            Payload::Timeline { time_line, value } => Ok((value.uid.as_str(), *time_line)),
            other => Err(StoreError::Invalid(format!(
                "a timeline report carries a 1003, not a {}",
                other.message_type().code()
            ))),
        }
    }
}

/// Which class event a 1001 / 1002 reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassEvent {
    Start,
    End,
}

/// An accepted class start or end: becomes (or, repeated, finds) its 1001 / 1002.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassEventIntake {
    pub class_id: String,
    pub group_id: String,
    pub role: MemberRole,
    /// The 1001 or 1002 as the service built it; which one says which event it is. The
    /// store draws its `seq` (the one kept is free in the group).
    pub message: ReplayMessage,
}

impl ClassEventIntake {
    /// The event the message reports, or why it reports none.
    fn event(&self) -> StoreResult<ClassEvent> {
        match self.message.message_type() {
            MessageType::ClassStart => Ok(ClassEvent::Start),
            MessageType::ClassEnd => Ok(ClassEvent::End),
            other => Err(StoreError::Invalid(format!(
                "a class event carries a 1001 or 1002, not a {}",
                other.code()
            ))),
        }
    }
}

/// One accepted client report.
#[derive(Debug, Clone, PartialEq)]
pub enum IntakeItem {
    Timeline(TimelineIntake),
    ClassEvent(ClassEventIntake),
    /// A 1003 ReplayDesk made from a member's tracked clock. Not taken (another node
    /// stored it first, or the class is not started): `StoreError::Conflict`.
    Reanchor(super::heartbeat::ReanchorIntake),
}

/// How many refused timeline reports are kept per class (the newest).
pub const REFUSED_REPORTS_KEPT: i64 = 1000;

/// A timeline report refused (after its client proved it may report to the class).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefusedReport {
    pub class_id: Option<String>,
    pub uid: Option<String>,
    pub client_timestamp: Option<i64>,
    pub rtt_ms: Option<i64>,
    pub received_at: i64,
    pub reason: String,
    pub body: String,
}

/// A timeline report as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineReportRecord {
    pub id: i64,
    pub class_id: Option<String>,
    pub uid: Option<String>,
    pub client_timestamp: Option<i64>,
    pub rtt_ms: Option<i64>,
    pub received_at: i64,
    pub time_line: Option<i64>,
    pub uncertainty_ms: Option<i64>,
    pub message_id: Option<i64>,
    pub accepted: bool,
    pub refusal_reason: Option<String>,
    /// The body exactly as received.
    pub body: String,
}

/// The dedup key of a client-reported message: a repeat is the same message.
pub fn report_dedup_key(type_code: u16, uid: &str, timestamp: u64) -> String {
    format!("{type_code}:{uid}:{timestamp}")
}

fn report_from_row(row: &DbRow) -> Result<TimelineReportRecord, sqlx::Error> {
    let accepted: i64 = row.try_get("accepted")?;
    Ok(TimelineReportRecord {
        id: row.try_get("id")?,
        class_id: row.try_get("class_id")?,
        uid: row.try_get("uid")?,
        client_timestamp: row.try_get("client_timestamp")?,
        rtt_ms: row.try_get("rtt_ms")?,
        received_at: row.try_get("received_at")?,
        time_line: row.try_get("time_line")?,
        uncertainty_ms: row.try_get("uncertainty_ms")?,
        message_id: row.try_get("message_id")?,
        accepted: accepted != 0,
        refusal_reason: row.try_get("refusal_reason")?,
        body: row.try_get("body")?,
    })
}

fn to_i64(v: u64, what: &str) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is out of range")))
}

/// A timeline report's message, serialised once.
struct Drafted<'a> {
    t: &'a TimelineIntake,
    uid: &'a str,
    time_line: i64,
    key: String,
    msg_type: i64,
    seq: i64,
    random: i64,
    data: String,
}

/// The timeline reports of a batch with a few multi-row statements: every new message in
/// one `INSERT`, every raw report in one, every reporting member in one upsert. A report
/// whose message could not be inserted that way (a repeat, or a `seq` already taken in the
/// group) goes through [`insert_message_tx`] on its own.
///
/// On SQLite each of the three is one statement for the whole batch, padded to a power of
/// two (`push_padded_values`), and the messages' insert returns no rows: every statement
/// and every returned row is a round trip to the connection's own thread (sqlx), which was
/// a large share of the single writer's time. On PostgreSQL (no such hand-off, but no
/// untyped `VALUES` either) each is one statement per power-of-two chunk, returning the
/// new messages.
async fn timelines_tx(
    tx: &mut Transaction<'_, Db>,
    engine: Engine,
    items: &[(usize, &TimelineIntake)],
    now: i64,
    out: &mut [Option<Inserted>],
) -> StoreResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut drafts = Vec::with_capacity(items.len());
    for (_, t) in items {
        let (uid, time_line) = t.timeline()?;
        let msg = &t.message;
        drafts.push(Drafted {
            t,
            uid,
            time_line,
            key: report_dedup_key(1003, uid, msg.timestamp),
            msg_type: i64::from(msg.message_type().code()),
            seq: msg.seq.get() as i64,
            random: i64::from(rand::random::<u32>()),
            data: msg.to_data(),
        });
    }
    // 1. The messages, matched back to their report by (class, dedup key), which is unique.
    let mut created = match engine {
        Engine::Sqlite => insert_messages_padded(tx, &drafts, now).await?,
        Engine::Postgres => insert_messages_chunked(tx, &drafts, now).await?,
    };
    let mut message_ids = Vec::with_capacity(drafts.len());
    for ((slot, t), d) in items.iter().zip(&drafts) {
        let inserted = match created.remove(&(t.class_id.clone(), d.key.clone())) {
            Some(message) => Inserted {
                message,
                created: true,
            },
            None => {
                // A repeat (of an earlier report, or of one earlier in this batch) or a
                // seq collision: the one-by-one path tells which, drawing another seq.
                let build = |seq| ReplayMessage {
                    seq,
                    ..t.message.clone()
                };
                insert_message_tx(
                    tx,
                    &NewMessage {
                        class_id: &t.class_id,
                        group_id: &t.group_id,
                        uid: d.uid,
                        dedup_key: &d.key,
                        build: &build,
                    },
                    now,
                )
                .await?
            }
        };
        message_ids.push(inserted.message.id);
        out[*slot] = Some(inserted);
    }
    // 2. The raw reports.
    let mut rows = Vec::with_capacity(items.len());
    for (d, id) in drafts.iter().zip(&message_ids) {
        rows.push((d, to_i64(d.t.message.timestamp, "timestamp")?, *id));
    }
    const REPORT_COLUMNS: &str = "INSERT INTO timeline_reports (class_id, uid, client_timestamp, \
         rtt_ms, rtt_source, received_at, time_line, uncertainty_ms, message_id, body, accepted) ";
    fn report_row<'a>(b: &mut SqlBuilder<'a>, (d, ts, id): &'a (&'a Drafted<'a>, i64, i64)) {
        let t = d.t;
        b.push_bind(t.class_id.as_str())
            .push(", ")
            .push_bind(d.uid)
            .push(", ")
            .push_bind(*ts)
            .push(", ")
            .push_bind(t.rtt_ms)
            .push(", ")
            .push_bind(t.rtt_source)
            .push(", ")
            .push_bind(t.received_at)
            .push(", ")
            .push_bind(d.time_line)
            .push(", ")
            .push_bind(t.uncertainty_ms)
            .push(", ")
            .push_bind(*id)
            .push(", ")
            .push_bind(t.body.as_str());
    }
    match engine {
        Engine::Sqlite => {
            let mut qb = SqlBuilder::positional(REPORT_COLUMNS);
            qb.push("SELECT ")
                .push(&padded_columns(10))
                .push(", 1 FROM ");
            push_padded_values(&mut qb, &rows, 10, |b, r| report_row(b, r));
            qb.push(" WHERE v.column1 IS NOT NULL");
            qb.build().execute(&mut **tx).await?;
        }
        Engine::Postgres => {
            let mut at = 0;
            for size in pow2_chunks(rows.len()) {
                let chunk = &rows[at..at + size];
                at += size;
                let mut qb = SqlBuilder::new(REPORT_COLUMNS);
                qb.push("VALUES ");
                push_rows(&mut qb, chunk, |b, r| {
                    report_row(b, r);
                    b.push(", 1");
                });
                qb.build().execute(&mut **tx).await?;
            }
        }
    }
    // 3. The members: each (class, uid) once per batch (PostgreSQL refuses an upsert that
    // touches a row twice). As `touch_member_tx`: a known member keeps its role and moves
    // `last_seen_at`.
    let mut seen = HashSet::with_capacity(items.len());
    let mut members: Vec<&Drafted> = drafts
        .iter()
        .filter(|d| seen.insert((d.t.class_id.as_str(), d.uid)))
        .collect();
    // In key order: on PostgreSQL each node's batch locks its member rows in the order it
    // lists them, and two nodes listing the same members in different orders deadlocked
    // (each waited for a row the other held, until PostgreSQL aborted one batch).
    members.sort_unstable_by(|a, b| {
        (a.t.class_id.as_str(), a.uid).cmp(&(b.t.class_id.as_str(), b.uid))
    });
    const MEMBER_COLUMNS: &str =
        "INSERT INTO class_members (class_id, uid, role, first_seen_at, last_seen_at) ";
    const MEMBER_UPSERT: &str = " ON CONFLICT (class_id, uid) DO UPDATE SET \
         last_seen_at = CASE WHEN excluded.last_seen_at > class_members.last_seen_at \
         THEN excluded.last_seen_at ELSE class_members.last_seen_at END";
    fn member_row<'a>(b: &mut SqlBuilder<'a>, d: &'a &'a Drafted<'a>) {
        b.push_bind(d.t.class_id.as_str())
            .push(", ")
            .push_bind(d.uid)
            .push(", ")
            .push_bind(d.t.role.as_str());
    }
    match engine {
        Engine::Sqlite => {
            let mut qb = SqlBuilder::positional(MEMBER_COLUMNS);
            qb.push("SELECT ").push(&padded_columns(3)).push(", ");
            qb.push_bind(now).push(", ").push_bind(now).push(" FROM ");
            push_padded_values(&mut qb, &members, 3, |b, d| member_row(b, d));
            // The WHERE also tells SQLite's parser that ON CONFLICT is the upsert's.
            qb.push(" WHERE v.column1 IS NOT NULL").push(MEMBER_UPSERT);
            qb.build().execute(&mut **tx).await?;
        }
        Engine::Postgres => {
            let mut at = 0;
            for size in pow2_chunks(members.len()) {
                let chunk = &members[at..at + size];
                at += size;
                let mut qb = SqlBuilder::new(MEMBER_COLUMNS);
                qb.push("VALUES ");
                push_rows(&mut qb, chunk, |b, d| {
                    member_row(b, d);
                    b.push(", ").push_bind(now).push(", ").push_bind(now);
                });
                qb.push(MEMBER_UPSERT);
                qb.build().execute(&mut **tx).await?;
            }
        }
    }
    Ok(())
}

/// A report's new message as one row of [`MESSAGE_INSERT`]'s first eight columns.
fn message_row<'a>(b: &mut SqlBuilder<'a>, d: &'a Drafted<'a>) {
    b.push_bind(d.t.class_id.as_str())
        .push(", ")
        .push_bind(d.t.group_id.as_str())
        .push(", ")
        .push_bind(d.msg_type)
        .push(", ")
        .push_bind(d.uid)
        .push(", ")
        .push_bind(d.seq)
        .push(", ")
        .push_bind(d.random)
        .push(", ")
        .push_bind(d.data.as_str())
        .push(", ")
        .push_bind(d.key.as_str());
}

/// The columns a report's new message is inserted with (the rest take their defaults).
const MESSAGE_INSERT: &str = "INSERT INTO messages (class_id, group_id, msg_type, uid, seq, \
     random, data, dedup_key, status, next_attempt_at, created_at, updated_at) ";

/// The new messages keyed by (class, dedup key), as the database holds them right after
/// this insert.
type Created = HashMap<(String, String), StoredMessage>;

/// SQLite: one padded `INSERT ... SELECT`, which returns no rows. Its rows are given ids
/// one after another in `VALUES` order (one writer; `AUTOINCREMENT` takes the next id for
/// each), so when every row went in, the last id and the count name each row's id and the
/// messages are what was inserted. When some were skipped (a repeat, a seq taken), the
/// ones that went in are read back: the ids above the highest one before the insert.
async fn insert_messages_padded(
    tx: &mut Transaction<'_, Db>,
    drafts: &[Drafted<'_>],
    now: i64,
) -> StoreResult<Created> {
    // Before the insert, the highest id so far; after it, how many went in and the last
    // one's id: all in the same round trip (sqlx's `Any` result leaves the last id out).
    // `changes()` counts this insert's own rows, not its triggers'.
    let mut qb = SqlBuilder::positional("SELECT COALESCE(MAX(id), 0) FROM messages; ");
    qb.push(MESSAGE_INSERT);
    qb.push("SELECT ")
        .push(&padded_columns(8))
        .push(", 'pending', ");
    qb.push_bind(now)
        .push(", ")
        .push_bind(now)
        .push(", ")
        .push_bind(now)
        .push(" FROM ");
    push_padded_values(&mut qb, drafts, 8, message_row);
    // The WHERE also tells SQLite's parser that ON CONFLICT is the upsert's.
    qb.push(" WHERE v.column1 IS NOT NULL ON CONFLICT DO NOTHING;")
        .push(" SELECT changes(), last_insert_rowid()");
    // `fetch_all`, not `fetch_one`: sqlx stops a one-row fetch after the first statement.
    let rows = qb.build().fetch_all(&mut **tx).await?;
    let [before, after] = rows.as_slice() else {
        return Err(StoreError::Invalid(format!(
            "the messages' insert answered {} rows, not 2",
            rows.len()
        )));
    };
    let before: i64 = before.try_get(0)?;
    let inserted: i64 = after.try_get(0)?;
    let last: i64 = after.try_get(1)?;
    let mut created = Created::with_capacity(drafts.len());
    if inserted == 0 {
        return Ok(created);
    }
    if inserted == drafts.len() as i64 {
        // Every row took the next id in turn.
        for (d, id) in drafts.iter().zip(last - inserted + 1..) {
            created.insert(
                (d.t.class_id.clone(), d.key.clone()),
                new_message(d, id, now)?,
            );
        }
        return Ok(created);
    }
    // Some were skipped (and may have used up an id each): the ones that went in are the
    // ids above the highest before, up to the last.
    let sql = format!(
        "SELECT {}, dedup_key FROM messages WHERE id > $1 AND id <= $2",
        message_columns()
    );
    for row in sqlx::query(&sql)
        .bind(before)
        .bind(last)
        .fetch_all(&mut **tx)
        .await?
    {
        let m = message_from_row(&row)?;
        let key: String = row.try_get("dedup_key")?;
        created.insert((m.class_id.clone(), key), m);
    }
    Ok(created)
}

/// A report's message as `insert_messages_padded` wrote it (the columns' defaults for the
/// rest: no attempt yet).
fn new_message(d: &Drafted<'_>, id: i64, now: i64) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        id,
        class_id: d.t.class_id.clone(),
        group_id: d.t.group_id.clone(),
        msg_type: d.t.message.message_type(),
        uid: d.uid.to_owned(),
        seq: u64::try_from(d.seq)
            .map_err(|_| StoreError::Invalid(format!("seq {} out of range", d.seq)))?,
        random: u32::try_from(d.random)
            .map_err(|_| StoreError::Invalid(format!("random {} out of range", d.random)))?,
        data: d.data.clone(),
        status: MessageStatus::Pending,
        attempt_count: 0,
        next_attempt_at: Some(now),
        last_error: None,
        im_msg_seq: None,
        im_msg_time: None,
        created_at: now,
        updated_at: now,
        sent_at: None,
    })
}

/// PostgreSQL: one `INSERT ... RETURNING` per power-of-two chunk. Rows skipped by ON
/// CONFLICT are not returned.
async fn insert_messages_chunked(
    tx: &mut Transaction<'_, Db>,
    drafts: &[Drafted<'_>],
    now: i64,
) -> StoreResult<Created> {
    let mut created = Created::with_capacity(drafts.len());
    let mut at = 0;
    for size in pow2_chunks(drafts.len()) {
        let chunk = &drafts[at..at + size];
        at += size;
        let mut qb = SqlBuilder::new(MESSAGE_INSERT);
        qb.push("VALUES ");
        push_rows(&mut qb, chunk, |b, d| {
            message_row(b, d);
            b.push(", 'pending', ")
                .push_bind(now)
                .push(", ")
                .push_bind(now)
                .push(", ")
                .push_bind(now);
        });
        qb.push(" ON CONFLICT DO NOTHING RETURNING ");
        qb.push(message_columns()).push(", dedup_key");
        for row in qb.build().fetch_all(&mut **tx).await? {
            let m = message_from_row(&row)?;
            let key: String = row.try_get("dedup_key")?;
            created.insert((m.class_id.clone(), key), m);
        }
    }
    Ok(created)
}

/// A class start or end: becomes (or, repeated, finds) its 1001 / 1002.
pub(crate) async fn class_event_tx(
    tx: &mut Transaction<'_, Db>,
    e: &ClassEventIntake,
    now: i64,
) -> StoreResult<Inserted> {
    // One 1001 and one 1002 per class: the class points at the message that
    // started (ended) it, and a report of the same event — a client retry, with
    // whatever timestamp — answers with that message. A start after the end is
    // refused; only an admin's reopen (audited) allows another pair.
    let row = sqlx::query(
        "SELECT state, start_message_id, end_message_id, reopen_count FROM classes \
         WHERE class_id = $1",
    )
    .bind(&e.class_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("class {:?}", e.class_id)))?;
    let state: String = row.try_get("state")?;
    let event = e.event()?;
    let uid = e.message.payload.uid();
    let (recorded, code): (Option<i64>, u16) = match event {
        ClassEvent::Start => (row.try_get("start_message_id")?, 1001),
        ClassEvent::End => (row.try_get("end_message_id")?, 1002),
    };
    let reopened: i64 = row.try_get("reopen_count")?;
    if event == ClassEvent::Start && state == "ended" {
        return Err(StoreError::Conflict(format!(
            "class {:?} has ended: a class starts once (an admin may reopen it on purpose)",
            e.class_id
        )));
    }
    if let Some(id) = recorded {
        let sql = format!("SELECT {} FROM messages WHERE id = $1", message_columns());
        let row = sqlx::query(&sql).bind(id).fetch_one(&mut **tx).await?;
        touch_member_tx(tx, &e.class_id, uid, e.role, now).await?;
        return Ok(Inserted {
            message: message_from_row(&row)?,
            created: false,
        });
    }
    let mut key = report_dedup_key(code, uid, e.message.timestamp);
    if reopened > 0 {
        // After a reopen the same uid and timestamp is a new event.
        key.push_str(&format!(":reopen{reopened}"));
    }
    let build = |seq| ReplayMessage {
        seq,
        ..e.message.clone()
    };
    let inserted = insert_message_tx(
        tx,
        &NewMessage {
            class_id: &e.class_id,
            group_id: &e.group_id,
            uid,
            dedup_key: &key,
            build: &build,
        },
        now,
    )
    .await?;
    let sql = match event {
        ClassEvent::Start => {
            "UPDATE classes SET \
             state = CASE WHEN state = 'created' THEN 'started' ELSE state END, \
             started_at = COALESCE(started_at, $1), start_message_id = $2 WHERE class_id = $3"
        }
        ClassEvent::End => {
            "UPDATE classes SET state = 'ended', ended_at = COALESCE(ended_at, $1), \
             end_message_id = $2 WHERE class_id = $3"
        }
    };
    sqlx::query(sql)
        .bind(now)
        .bind(inserted.message.id)
        .bind(&e.class_id)
        .execute(&mut **tx)
        .await?;
    touch_member_tx(tx, &e.class_id, uid, e.role, now).await?;
    Ok(inserted)
}

impl Store {
    /// The batch in one transaction; per item, what it became (a re-anchor not taken is
    /// an item's `Conflict`, not the batch's failure).
    async fn intake_tx(&self, batch: &[IntakeItem]) -> StoreResult<Vec<StoreResult<Inserted>>> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        let mut out: Vec<Option<Inserted>> = vec![None; batch.len()];
        let timelines: Vec<(usize, &TimelineIntake)> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item {
                IntakeItem::Timeline(t) => Some((i, t)),
                IntakeItem::ClassEvent(_) | IntakeItem::Reanchor(_) => None,
            })
            .collect();
        timelines_tx(&mut tx, self.engine(), &timelines, now, &mut out).await?;
        let mut class_changed = false;
        let mut not_taken = vec![false; batch.len()];
        let mut reanchored = Vec::new();
        for (i, item) in batch.iter().enumerate() {
            match item {
                IntakeItem::ClassEvent(e) => {
                    out[i] = Some(class_event_tx(&mut tx, e, now).await?);
                    class_changed = true;
                }
                IntakeItem::Reanchor(r) => {
                    out[i] = super::heartbeat::reanchor_tx(&mut tx, r, now).await?;
                    not_taken[i] = out[i].is_none();
                    if let Some(ins) = &out[i] {
                        reanchored.push((r.class_id.clone(), ins.message.uid.clone()));
                    }
                }
                IntakeItem::Timeline(_) => {}
            }
        }
        tx.commit().await?;
        self.cache()
            .remember_members(reanchored.iter().map(|(c, u)| (c.as_str(), u.as_str())));
        if class_changed {
            self.cache().invalidate();
        }
        self.cache().remember_members(
            timelines
                .iter()
                .filter_map(|(_, t)| Some((t.class_id.as_str(), t.timeline().ok()?.0))),
        );
        Ok(out
            .into_iter()
            .zip(not_taken)
            .map(|(o, not_taken)| match o {
                Some(ins) => Ok(ins),
                None if not_taken => Err(StoreError::Conflict(
                    "re-anchor taken already (or the class is not started)".into(),
                )),
                None => Err(StoreError::Invalid(
                    "a report of the batch was not recorded".into(),
                )),
            })
            .collect())
    }

    /// Records client reports and their messages, all in one transaction: each is durable
    /// when this returns `Ok` for it. Should the batch fail as a whole, each report is
    /// tried again on its own, so that one bad report does not refuse the others.
    pub async fn record_intake(&self, batch: &[IntakeItem]) -> Vec<StoreResult<Inserted>> {
        match self.intake_tx(batch).await {
            Ok(v) => v,
            Err(e) if batch.len() <= 1 => vec![Err(e)],
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "batch commit failed; committing one by one");
                let mut out = Vec::with_capacity(batch.len());
                for item in batch {
                    out.push(
                        self.intake_tx(std::slice::from_ref(item))
                            .await
                            .and_then(|mut v| {
                                v.pop().unwrap_or_else(|| {
                                    Err(StoreError::Invalid("empty intake result".into()))
                                })
                            }),
                    );
                }
                out
            }
        }
    }

    /// Keeps a refused timeline report, with why it was refused; of a class's refused
    /// reports only the newest [`REFUSED_REPORTS_KEPT`] stay.
    pub async fn record_refused_report(&self, r: &RefusedReport) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let id = sqlx::query_scalar(
            "INSERT INTO timeline_reports (class_id, uid, client_timestamp, rtt_ms, received_at, \
             accepted, refusal_reason, body) VALUES ($1, $2, $3, $4, $5, 0, $6, $7) RETURNING id",
        )
        .bind(&r.class_id)
        .bind(&r.uid)
        .bind(r.client_timestamp)
        .bind(r.rtt_ms)
        .bind(r.received_at)
        .bind(&r.reason)
        .bind(&r.body)
        .fetch_one(&mut *tx)
        .await?;
        // A member whose client keeps sending what is refused cannot grow the store without
        // bound (the partial index `timeline_reports_refused` finds the cut).
        // By name on SQLite, which, never `ANALYZE`d, may take `timeline_reports_class`.
        let refused = match self.engine() {
            super::Engine::Sqlite => "timeline_reports INDEXED BY timeline_reports_refused",
            super::Engine::Postgres => "timeline_reports",
        };
        sqlx::query(&format!(
            "DELETE FROM timeline_reports WHERE class_id = $1 AND accepted = 0 AND id <= \
             (SELECT id FROM {refused} WHERE class_id = $1 AND accepted = 0 \
             ORDER BY id DESC LIMIT 1 OFFSET $2)"
        ))
        .bind(&r.class_id)
        .bind(REFUSED_REPORTS_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A class's timeline reports, newest first; `before` is the previous page's cursor.
    pub async fn timeline_reports(
        &self,
        class_id: &str,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<TimelineReportRecord>> {
        let limit = limit.clamp(1, 1000);
        let rows = sqlx::query(
            "SELECT id, class_id, uid, client_timestamp, rtt_ms, received_at, time_line, \
             uncertainty_ms, message_id, accepted, refusal_reason, body FROM timeline_reports \
             WHERE class_id = $1 AND ($2 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(class_id)
        .bind(before)
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.reader())
        .await?;
        let items = rows
            .iter()
            .map(report_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, |r| r.id))
    }

    /// The report message `message_id` was made from: the first, when a repeat named the
    /// same message.
    pub async fn report_of_message(
        &self,
        message_id: i64,
    ) -> StoreResult<Option<TimelineReportRecord>> {
        let row = sqlx::query(
            "SELECT id, class_id, uid, client_timestamp, rtt_ms, received_at, time_line, \
             uncertainty_ms, message_id, accepted, refusal_reason, body FROM timeline_reports \
             WHERE message_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(message_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(report_from_row).transpose()?)
    }

    /// The class whose report token hashes to `sha256_hex`, if any.
    pub async fn class_for_report_token(&self, sha256_hex: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT class_id FROM classes WHERE report_token_sha256 = $1")
                .bind(sha256_hex)
                .fetch_optional(self.reader())
                .await?,
        )
    }
}
