//! A class imported from another ReplayDesk's bundle, written in one transaction: the
//! class (marked imported), its members, messages, attempts, timeline reports' round-trip
//! facts and group history. Either all of it is stored or nothing is.
//!
//! An imported class is a record, not work: its report credentials cannot be derived (a
//! fresh random key, no report token), messages that were still on their way at the source
//! are stored `failed` with a note, so no claim, lease recovery or retry schedule ever
//! picks them up, and [`requeue`](Store::requeue) refuses them.

use super::classes::ClassRecord;
use super::members::Member;
use super::types::{Attempt, MessageStatus, StoredMessage};
use super::{now_ms, Db, Engine, SqlBuilder, Store, StoreError, StoreResult};
use std::collections::HashMap;

/// A timeline report without its body (the raw request is not exported): what a bundle
/// carries so that the alignment of an imported class has the source's round-trip facts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReportFacts {
    pub uid: Option<String>,
    pub client_timestamp: Option<i64>,
    pub rtt_ms: Option<i64>,
    /// `client`, `kernel` or `none`; null for reports older than the source's column.
    pub rtt_source: Option<String>,
    pub received_at: i64,
    pub time_line: Option<i64>,
    pub uncertainty_ms: Option<i64>,
    /// The message the report became (its id in the bundle).
    pub message_id: Option<i64>,
    pub accepted: bool,
    pub refusal_reason: Option<String>,
}

/// Everything an import writes (checked by the service before).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedClass<'a> {
    pub class: &'a ClassRecord,
    pub members: &'a [Member],
    pub messages: &'a [StoredMessage],
    pub attempts: &'a [Attempt],
    pub reports: &'a [ReportFacts],
    /// (MsgSeq, item JSON) of the group's history.
    pub history: &'a [(u64, String)],
}

/// What a message still on its way at the source is stored as.
pub const IMPORTED_IN_FLIGHT_NOTE: &str =
    "imported: was still on its way at the source; an imported class is never delivered from here";

impl Store {
    /// A class's timeline reports without their bodies, oldest first (for its bundle).
    pub async fn report_facts(&self, class_id: &str) -> StoreResult<Vec<ReportFacts>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT uid, client_timestamp, rtt_ms, rtt_source, received_at, time_line, \
             uncertainty_ms, message_id, accepted, refusal_reason FROM timeline_reports \
             WHERE class_id = $1 ORDER BY id",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReportFacts {
                    uid: r.try_get("uid")?,
                    client_timestamp: r.try_get("client_timestamp")?,
                    rtt_ms: r.try_get("rtt_ms")?,
                    rtt_source: r.try_get("rtt_source")?,
                    received_at: r.try_get("received_at")?,
                    time_line: r.try_get("time_line")?,
                    uncertainty_ms: r.try_get("uncertainty_ms")?,
                    message_id: r.try_get("message_id")?,
                    accepted: r.try_get::<i64, _>("accepted")? != 0,
                    refusal_reason: r.try_get("refusal_reason")?,
                })
            })
            .collect()
    }

    /// Stores an imported class. A class id or group id already present is a conflict, and
    /// nothing is stored. Message and attempt ids are kept when none of them is taken here
    /// (a fresh database: links and the alignment read as at the source), otherwise they
    /// are renumbered together.
    pub async fn import_class(&self, imp: &ImportedClass<'_>) -> StoreResult<ClassRecord> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let c = imp.class;
        let taken: Option<String> = sqlx::query_scalar(
            "SELECT class_id FROM classes WHERE class_id = $1 OR group_id = $2 LIMIT 1",
        )
        .bind(&c.class_id)
        .bind(&c.group_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(t) = taken {
            return Err(StoreError::Conflict(if t == c.class_id {
                format!(
                    "class {:?} already exists here; nothing was imported",
                    c.class_id
                )
            } else {
                format!(
                    "group {:?} already belongs to class {t:?} here; nothing was imported",
                    c.group_id
                )
            }));
        }
        // A key nobody knows: no report credential of the class can be derived here.
        let key = hex::encode(rand::random::<[u8; 32]>());
        sqlx::query(
            "INSERT INTO classes (class_id, group_id, teacher_uid, report_token_sha256, state, \
             created_at, started_at, ended_at, credential_key, legacy_class_token, \
             open_enrolment, reopen_count, imported_at, ended_by) \
             VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, 0, 0, $9, $10, $11)",
        )
        .bind(&c.class_id)
        .bind(&c.group_id)
        .bind(&c.teacher_uid)
        .bind(c.state.as_str())
        .bind(c.created_at)
        .bind(c.started_at)
        .bind(c.ended_at)
        .bind(&key)
        .bind(i64::from(c.reopen_count))
        .bind(now)
        .bind(&c.ended_by)
        .execute(&mut *tx)
        .await?;
        for m in imp.members {
            sqlx::query(
                "INSERT INTO class_members (class_id, uid, role, first_seen_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&c.class_id)
            .bind(&m.uid)
            .bind(m.role.as_str())
            .bind(m.first_seen_at)
            .bind(m.last_seen_at)
            .execute(&mut *tx)
            .await?;
        }
        let keep_ids = !any_id_taken(&mut tx, "messages", imp.messages.iter().map(|m| m.id))
            .await?
            && !any_id_taken(&mut tx, "attempts", imp.attempts.iter().map(|a| a.id)).await?;
        let mut ids: HashMap<i64, i64> = HashMap::with_capacity(imp.messages.len());
        for m in imp.messages {
            let (status, note) = match m.status {
                MessageStatus::Sent | MessageStatus::Failed => (m.status, m.last_error.clone()),
                // Never left in a state the outbox would pick up.
                _ => (
                    MessageStatus::Failed,
                    Some(format!(
                        "{IMPORTED_IN_FLIGHT_NOTE} (was {})",
                        m.status.as_str()
                    )),
                ),
            };
            let id: i64 = sqlx::query_scalar(&format!(
                "INSERT INTO messages (id, class_id, group_id, msg_type, uid, seq, random, data, \
                 dedup_key, status, attempt_count, next_attempt_at, last_error, im_msg_seq, \
                 im_msg_time, created_at, updated_at, sent_at) \
                 VALUES ({}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, $14, $15, $16, $17) RETURNING id",
                id_or_next(self.engine(), "messages")
            ))
            .bind(keep_ids.then_some(m.id))
            .bind(&c.class_id)
            .bind(&c.group_id)
            .bind(i64::from(m.msg_type.code()))
            .bind(&m.uid)
            .bind(i64::try_from(m.seq).unwrap_or(i64::MAX))
            .bind(i64::from(m.random))
            .bind(&m.data)
            .bind(format!("imported:{}", m.id))
            .bind(status.as_str())
            .bind(m.attempt_count)
            .bind(note)
            .bind(m.im_msg_seq)
            .bind(m.im_msg_time)
            .bind(m.created_at)
            .bind(m.updated_at)
            .bind(m.sent_at)
            .fetch_one(&mut *tx)
            .await?;
            ids.insert(m.id, id);
        }
        let local = |bundle_id: i64| {
            ids.get(&bundle_id).copied().ok_or_else(|| {
                StoreError::Invalid(format!("message {bundle_id} is not in the bundle"))
            })
        };
        for a in imp.attempts {
            sqlx::query(&format!(
                "INSERT INTO attempts (id, message_id, trigger_kind, random, started_at, \
                 duration_ms, http_status, im_error_code, im_error_info, transport_error, outcome) \
                 VALUES ({}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                id_or_next(self.engine(), "attempts")
            ))
            .bind(keep_ids.then_some(a.id))
            .bind(local(a.message_id)?)
            .bind(a.trigger.as_str())
            .bind(i64::from(a.random))
            .bind(a.started_at)
            .bind(a.duration_ms)
            .bind(a.http_status.map(i64::from))
            .bind(a.im_error_code)
            .bind(&a.im_error_info)
            .bind(&a.transport_error)
            .bind(a.outcome.as_str())
            .execute(&mut *tx)
            .await?;
        }
        for r in imp.reports {
            sqlx::query(
                "INSERT INTO timeline_reports (class_id, uid, client_timestamp, rtt_ms, rtt_source, \
                 received_at, time_line, uncertainty_ms, message_id, accepted, refusal_reason, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&c.class_id)
            .bind(&r.uid)
            .bind(r.client_timestamp)
            .bind(r.rtt_ms)
            .bind(&r.rtt_source)
            .bind(r.received_at)
            .bind(r.time_line)
            .bind(r.uncertainty_ms)
            .bind(r.message_id.map(local).transpose()?)
            .bind(i64::from(r.accepted))
            .bind(&r.refusal_reason)
            // The request body is not exported; say so where it would be.
            .bind("(imported: the request body is not part of a bundle)")
            .execute(&mut *tx)
            .await?;
        }
        for (seq, item) in imp.history {
            let (text, z) = super::history::pack(item);
            sqlx::query(
                "INSERT INTO group_history (class_id, im_msg_seq, item, fetched_at, is_place, item_z) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&c.class_id)
            .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
            .bind(text)
            .bind(now)
            .bind(i64::from(super::history::item_is_place(item)))
            .bind(z)
            .execute(&mut *tx)
            .await?;
        }
        if keep_ids && self.engine() == Engine::Postgres {
            // Ids written by hand do not move PostgreSQL's identity sequences: move them
            // past the imported rows, or the next new message would collide with one.
            for table in ["messages", "attempts"] {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.class(&c.class_id).await
    }
}

/// The id to insert: the bound `$1`, or when it is NULL a new one. SQLite draws a new
/// rowid for a NULL id itself; PostgreSQL refuses NULL in an identity column.
fn id_or_next(engine: Engine, table: &str) -> String {
    match engine {
        Engine::Sqlite => "$1".to_owned(),
        Engine::Postgres => {
            format!("COALESCE($1, nextval(pg_get_serial_sequence('{table}', 'id')))")
        }
    }
}

/// Whether any of `ids` is a row of `table` already.
async fn any_id_taken(
    tx: &mut sqlx::Transaction<'_, Db>,
    table: &str,
    ids: impl Iterator<Item = i64>,
) -> StoreResult<bool> {
    let ids: Vec<i64> = ids.collect();
    // In chunks: SQLite allows a bounded number of bound parameters per statement.
    for chunk in ids.chunks(500) {
        let mut qb = SqlBuilder::new("SELECT 1 FROM ");
        qb.push(table)
            .push(" WHERE id IN ")
            .push_list(chunk.iter().copied())
            .push(" LIMIT 1");
        if qb.build().fetch_optional(&mut **tx).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}
