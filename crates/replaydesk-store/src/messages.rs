//! Messages and their attempts: accept, claim, record outcomes, recover, resend.
//!
//! One file although long: every statement that moves a message from one status to another
//! is here, so the status machine (and each claim's use of the partial indexes) reads in
//! one place; split, a new transition would be written without seeing the others.

use super::types::{Attempt, AttemptOutcome, MessageStatus, StoredMessage, Trigger};
use super::{now_ms, Engine, Store, StoreError, StoreResult};
use super::{Db, DbRow, SqlBuilder};
use replaydesk_protocol::{check_size, MessageType, ReplayMessage, Seq};
use sqlx::{Row, Transaction};
use std::collections::HashSet;

/// The note written on the attempt row of a message whose lease expired while `sending`
/// (its worker stopped, was killed, or could not record the outcome).
pub const RECOVERY_NOTE: &str =
    "the worker's lease expired while this attempt was in flight (worker stopped or stalled)";

/// A message to accept: everything but its `seq`, which the store draws so that it is
/// unique in the group.
pub struct NewMessage<'a> {
    pub class_id: &'a str,
    pub group_id: &'a str,
    pub uid: &'a str,
    /// The message's logical identity within the class (e.g. `1003:<uid>:<timestamp>`): a
    /// second message with the same key is the same message.
    pub dedup_key: &'a str,
    /// Builds the message for a drawn `seq`.
    pub build: &'a (dyn Fn(Seq) -> ReplayMessage + Send + Sync),
}

/// The result of accepting a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    pub message: StoredMessage,
    /// False when a message with the same logical identity already existed; that one is
    /// returned and nothing new was stored.
    pub created: bool,
}

/// A message the worker has claimed for an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedMessage {
    pub id: i64,
    pub group_id: String,
    /// 1001 / 1002 go ahead of their group's backlog.
    pub msg_type: MessageType,
    pub seq: u64,
    pub random: u32,
    pub data: String,
    pub retry_step: u32,
    pub trigger: Trigger,
    pub ambiguous_since: Option<i64>,
}

/// One attempt as the worker saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub message_id: i64,
    pub trigger: Trigger,
    pub random: u32,
    pub started_at: i64,
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    pub im_error_code: Option<i64>,
    pub im_error_info: Option<String>,
    pub transport_error: Option<String>,
    pub outcome: AttemptOutcome,
}

/// Where an attempt leaves its message.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Sent {
        im_msg_seq: Option<i64>,
        im_msg_time: Option<i64>,
    },
    Retry {
        next_attempt_at: i64,
        /// Whether this failure uses up a step of the retry schedule.
        advance_step: bool,
        /// Set when the attempt's outcome is unknown; kept if already set.
        ambiguous_at: Option<i64>,
        error: String,
    },
    Failed {
        error: String,
    },
}

const MESSAGE_COLUMNS: &str = "id, class_id, group_id, msg_type, uid, seq, random, data, status, \
     attempt_count, next_attempt_at, last_error, im_msg_seq, im_msg_time, created_at, updated_at, sent_at";

pub(crate) fn message_columns() -> &'static str {
    MESSAGE_COLUMNS
}

fn bad_row(what: &str, value: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {what} in database: {value}").into())
}

pub(crate) fn message_from_row(row: &DbRow) -> Result<StoredMessage, sqlx::Error> {
    let code: i64 = row.try_get("msg_type")?;
    let status: String = row.try_get("status")?;
    let seq: i64 = row.try_get("seq")?;
    let random: i64 = row.try_get("random")?;
    Ok(StoredMessage {
        id: row.try_get("id")?,
        class_id: row.try_get("class_id")?,
        group_id: row.try_get("group_id")?,
        msg_type: MessageType::from_code(code).ok_or_else(|| bad_row("msg_type", code))?,
        uid: row.try_get("uid")?,
        seq: u64::try_from(seq).map_err(|_| bad_row("seq", seq))?,
        random: u32::try_from(random).map_err(|_| bad_row("random", random))?,
        data: row.try_get("data")?,
        status: MessageStatus::parse(&status).ok_or_else(|| bad_row("status", &status))?,
        attempt_count: row.try_get("attempt_count")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        im_msg_seq: row.try_get("im_msg_seq")?,
        im_msg_time: row.try_get("im_msg_time")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

fn attempt_from_row(row: &DbRow) -> Result<Attempt, sqlx::Error> {
    let trigger: String = row.try_get("trigger_kind")?;
    let outcome: String = row.try_get("outcome")?;
    let random: i64 = row.try_get("random")?;
    let http: Option<i64> = row.try_get("http_status")?;
    Ok(Attempt {
        id: row.try_get("id")?,
        message_id: row.try_get("message_id")?,
        trigger: Trigger::parse(&trigger).ok_or_else(|| bad_row("trigger", &trigger))?,
        random: u32::try_from(random).map_err(|_| bad_row("random", random))?,
        started_at: row.try_get("started_at")?,
        duration_ms: row.try_get("duration_ms")?,
        http_status: http.and_then(|h| u16::try_from(h).ok()),
        im_error_code: row.try_get("im_error_code")?,
        im_error_info: row.try_get("im_error_info")?,
        transport_error: row.try_get("transport_error")?,
        outcome: AttemptOutcome::parse(&outcome).ok_or_else(|| bad_row("outcome", &outcome))?,
    })
}

/// The advisory lock key reclaiming holds on PostgreSQL (any constant the app owns).
const RECLAIM_LOCK: i64 = 0x5245_504c_4159_0001;

// `INDEXED BY`: SQLite, never `ANALYZE`d, takes `messages_status_updated (status, ...)` for
// `status IN (...)` over the partial `messages_due`, and then reads every waiting message's
// row to check `next_attempt_at` and sorts them all, on every claim (3x the SQLite VM time
// in the drain's profile with a 20,000-message backlog). The hint fails loudly should the
// index ever stop matching. PostgreSQL plans from statistics.
const CLAIM_SQLITE: &str =
    "UPDATE messages SET status = 'sending', lease_owner = $1, lease_until = $2, \
     updated_at = $3 WHERE id IN (SELECT id FROM messages INDEXED BY messages_due \
     WHERE status IN ('pending', 'retrying') AND next_attempt_at <= $4 \
     ORDER BY next_attempt_at, id LIMIT $5) \
     RETURNING id, group_id, msg_type, seq, random, data, retry_step, next_trigger, ambiguous_since";
const CLAIM_POSTGRES: &str =
    "UPDATE messages SET status = 'sending', lease_owner = $1, lease_until = $2, \
     updated_at = $3 WHERE id IN (SELECT id FROM messages \
     WHERE status IN ('pending', 'retrying') AND next_attempt_at <= $4 \
     ORDER BY next_attempt_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) \
     RETURNING id, group_id, msg_type, seq, random, data, retry_step, next_trigger, ambiguous_since";

/// How many times a colliding `seq` is drawn again before giving up (a collision needs
/// thousands of messages in one group; ten in a row means something else is wrong).
const SEQ_DRAWS: usize = 10;

impl Store {
    /// Stores a new message as `pending`, due now, unless a message with the same
    /// `dedup_key` exists in the class. Durable when this returns.
    pub async fn insert_message(&self, new: &NewMessage<'_>) -> StoreResult<Inserted> {
        let mut tx = self.begin_write().await?;
        let inserted = insert_message_tx(&mut tx, new, now_ms()).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Stores many messages in one transaction (one fsync for the whole batch).
    pub async fn insert_messages(&self, batch: &[NewMessage<'_>]) -> StoreResult<Vec<Inserted>> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        let mut out = Vec::with_capacity(batch.len());
        for new in batch {
            out.push(insert_message_tx(&mut tx, new, now).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn message(&self, id: i64) -> StoreResult<StoredMessage> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("message {id}")))?;
        Ok(message_from_row(&row)?)
    }

    pub async fn attempts(&self, message_id: i64) -> StoreResult<Vec<Attempt>> {
        let rows = sqlx::query(
            "SELECT id, message_id, trigger_kind, random, started_at, duration_ms, http_status, \
             im_error_code, im_error_info, transport_error, outcome \
             FROM attempts WHERE message_id = $1 ORDER BY id",
        )
        .bind(message_id)
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .iter()
            .map(attempt_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Every attempt at every message of `class_id`, by message then attempt: one query
    /// for a class's export instead of one per message.
    pub async fn class_attempts(&self, class_id: &str) -> StoreResult<Vec<Attempt>> {
        let rows = sqlx::query(
            "SELECT a.id, a.message_id, a.trigger_kind, a.random, a.started_at, a.duration_ms, \
             a.http_status, a.im_error_code, a.im_error_info, a.transport_error, a.outcome \
             FROM messages m JOIN attempts a ON a.message_id = m.id \
             WHERE m.class_id = $1 ORDER BY a.message_id, a.id",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .iter()
            .map(attempt_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Claims up to `limit` due messages for `owner`: they move to `sending`.
    pub async fn claim_due(
        &self,
        owner: &str,
        limit: u32,
        lease_ms: i64,
    ) -> StoreResult<Vec<ClaimedMessage>> {
        let now = now_ms();
        // SQLite has one writer: the sub-select and the update cannot interleave with
        // another claim. PostgreSQL runs claims from several nodes at once: `FOR UPDATE
        // SKIP LOCKED` has each take rows no other claim holds, instead of waiting for them
        // (and then finding them `sending`) or taking them twice.
        let sql = match self.engine() {
            Engine::Sqlite => CLAIM_SQLITE,
            Engine::Postgres => CLAIM_POSTGRES,
        };
        let rows = sqlx::query(sql)
            .bind(owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(self.writer())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let random: i64 = row.try_get("random")?;
            let step: i64 = row.try_get("retry_step")?;
            let trigger: String = row.try_get("next_trigger")?;
            let code: i64 = row.try_get("msg_type")?;
            out.push(ClaimedMessage {
                id: row.try_get("id")?,
                group_id: row.try_get("group_id")?,
                msg_type: MessageType::from_code(code).ok_or_else(|| bad_row("msg_type", code))?,
                seq: u64::try_from(seq).map_err(|_| bad_row("seq", seq))?,
                random: u32::try_from(random).map_err(|_| bad_row("random", random))?,
                data: row.try_get("data")?,
                retry_step: u32::try_from(step).unwrap_or(u32::MAX),
                trigger: Trigger::parse(&trigger).ok_or_else(|| bad_row("trigger", &trigger))?,
                ambiguous_since: row.try_get("ambiguous_since")?,
            });
        }
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    /// The earliest time a pending or retrying message falls due, if any.
    pub async fn next_due_at(&self) -> StoreResult<Option<i64>> {
        // The partial index by name on SQLite (see `CLAIM_SQLITE`).
        let sql = match self.engine() {
            Engine::Sqlite => {
                "SELECT MIN(next_attempt_at) FROM messages INDEXED BY messages_due \
                 WHERE status IN ('pending', 'retrying')"
            }
            Engine::Postgres => {
                "SELECT MIN(next_attempt_at) FROM messages WHERE status IN ('pending', 'retrying')"
            }
        };
        Ok(sqlx::query_scalar(sql).fetch_one(self.reader()).await?)
    }

    /// Records an attempt and moves its message, in one transaction — but only while the
    /// message is still `sending` under `owner`'s lease. A worker whose lease was reclaimed
    /// (it stalled past it, and another worker took the message over) still gets its
    /// attempt written to the history, but the message is left alone: a late answer must
    /// not overwrite `sent` with `retrying`, nor move a message another worker now holds.
    /// Returns whether the message moved.
    pub async fn finish_attempt(
        &self,
        owner: &str,
        attempt: &AttemptRecord,
        transition: &Transition,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let moved = finish_attempt_tx(&mut tx, owner, attempt, transition).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// [`Store::finish_attempt`] for many attempts in one transaction (one fsync): each
    /// result is whether that attempt's message moved. Should the batch fail as a whole,
    /// each is tried again on its own, so that one bad row does not fail the others.
    pub async fn finish_attempts(
        &self,
        owner: &str,
        batch: &[(&AttemptRecord, &Transition)],
    ) -> Vec<StoreResult<bool>> {
        let all = async {
            let mut tx = self.begin_write().await?;
            let moved = finish_attempts_tx(&mut tx, owner, batch).await?;
            tx.commit().await?;
            StoreResult::Ok(moved)
        };
        match all.await {
            Ok(v) => v.into_iter().map(Ok).collect(),
            Err(e) if batch.len() <= 1 => vec![Err(e)],
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "attempt batch failed; recording one by one");
                let mut out = Vec::with_capacity(batch.len());
                for (a, t) in batch {
                    out.push(self.finish_attempt(owner, a, t).await);
                }
                out
            }
        }
    }

    /// Extends `owner`'s lease on the given messages it is still working on. Returns how
    /// many leases were extended (fewer when some were reclaimed meanwhile).
    pub async fn renew_leases(&self, owner: &str, ids: &[i64], lease_ms: i64) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut done = 0;
        let until = now_ms().saturating_add(lease_ms);
        // Bounded IN lists: SQLite caps bound parameters per statement.
        for chunk in ids.chunks(500) {
            let marks = (3..3 + chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "UPDATE messages SET lease_until = $1 \
                 WHERE status = 'sending' AND lease_owner = $2 AND id IN ({marks})"
            );
            let mut q = sqlx::query(&sql).bind(until).bind(owner);
            for id in chunk {
                q = q.bind(id);
            }
            done += q.execute(self.writer()).await?.rows_affected();
        }
        Ok(done)
    }

    /// Puts a claimed message back without an attempt (sending paused before it was
    /// tried), if `owner` still holds it.
    pub async fn release(
        &self,
        owner: &str,
        message_id: i64,
        next_attempt_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE messages SET status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'retrying' END, \
             next_attempt_at = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2 \
             WHERE id = $3 AND status = 'sending' AND lease_owner = $4",
        )
        .bind(next_attempt_at)
        .bind(now_ms())
        .bind(message_id)
        .bind(owner)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Puts claimed messages back unattempted, each due at its own time (their group is
    /// busy: each waits for its turn in the store, not in a sending slot), if `owner`
    /// still holds them. One transaction. Returns how many moved.
    pub async fn defer(&self, owner: &str, due: &[(i64, i64)]) -> StoreResult<u64> {
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut moved = 0;
        // Bounded statements: SQLite caps bound parameters per statement.
        for chunk in due.chunks(200) {
            let mut n = 2;
            let mut mark = || {
                n += 1;
                format!("${n}")
            };
            let mut cases = String::new();
            let mut ids = Vec::with_capacity(chunk.len());
            for _ in chunk {
                let (id, at) = (mark(), mark());
                cases.push_str(&format!(" WHEN {id} THEN {at}"));
                ids.push(id);
            }
            let sql = format!(
                "UPDATE messages SET status = CASE WHEN attempt_count = 0 THEN 'pending' \
                 ELSE 'retrying' END, next_attempt_at = CASE id{cases} END, \
                 lease_owner = NULL, lease_until = NULL, updated_at = $1 \
                 WHERE status = 'sending' AND lease_owner = $2 AND id IN ({})",
                ids.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(now_ms()).bind(owner);
            for (id, at) in chunk {
                q = q.bind(*id).bind(*at);
            }
            moved += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Takes back messages whose worker's lease expired while they were `sending`: the
    /// worker was killed or stopped, or it stalled (e.g. could not record the outcome).
    /// The attempt may or may not have reached the group, so each gets an `interrupted`
    /// attempt row and is retried, flagged ambiguous from the time it was claimed so the
    /// duplicate-window rule applies. Live leases — another worker on the same database,
    /// mid-attempt — are never touched. Run at start-up and periodically while running.
    /// Returns how many were taken back.
    pub async fn reclaim_expired_leases(&self) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        if self.engine() == Engine::Postgres {
            // Nodes reclaim concurrently on PostgreSQL: one at a time (a transaction-scoped
            // advisory lock; the next one finds nothing left), and the expired rows locked
            // first, so that a late `finish_attempt` either lands before (and the row is no
            // longer expired) or waits until they are taken back (and then moves nothing).
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(RECLAIM_LOCK)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "SELECT id FROM messages WHERE status = 'sending' \
                 AND (lease_until IS NULL OR lease_until <= $1) ORDER BY id FOR UPDATE",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        // A row written before leases were read has none: it counts as expired.
        // `$1` is now in both statements.
        const EXPIRED: &str = "status = 'sending' AND (lease_until IS NULL OR lease_until <= $1)";
        // The partial index of messages in flight by name on SQLite (see `CLAIM_SQLITE`).
        let messages = match self.engine() {
            Engine::Sqlite => "messages INDEXED BY messages_leased",
            Engine::Postgres => "messages",
        };
        sqlx::query(&format!(
            "INSERT INTO attempts (message_id, trigger_kind, random, started_at, duration_ms, \
             transport_error, outcome) \
             SELECT id, 'recovery', random, updated_at, $1 - updated_at, $2, 'interrupted' \
             FROM {messages} WHERE {EXPIRED}"
        ))
        .bind(now)
        .bind(RECOVERY_NOTE)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(&format!(
            "UPDATE {messages} SET status = 'retrying', attempt_count = attempt_count + 1, \
             ambiguous_since = COALESCE(ambiguous_since, updated_at), next_attempt_at = $1, \
             last_error = $2, lease_owner = NULL, lease_until = NULL, updated_at = $3 \
             WHERE {EXPIRED}"
        ))
        .bind(now)
        .bind(RECOVERY_NOTE)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Queues a message for another attempt, asked for by a person (`Manual`) or a job
    /// (`Bulk`). Keeps `seq`. A message already sent gets a new Random, because the
    /// duplicate is then intended and the service's filter would swallow it. Returns false
    /// when the message is in flight or already queued (nothing to do).
    pub async fn requeue(&self, message_id: i64, trigger: Trigger) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let ok = requeue_tx(&mut tx, message_id, trigger, true).await?;
        tx.commit().await?;
        Ok(ok)
    }

    /// A manual resend of one message. A message already `sent` is taken only with
    /// `duplicate` (its copy would reach the group twice); otherwise a conflict, decided
    /// on the status read in the same transaction that would requeue it.
    pub async fn requeue_one(&self, message_id: i64, duplicate: bool) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let ok = requeue_tx(&mut tx, message_id, Trigger::Manual, duplicate).await?;
        tx.commit().await?;
        Ok(ok)
    }
}

pub(crate) async fn requeue_tx(
    tx: &mut Transaction<'_, Db>,
    message_id: i64,
    trigger: Trigger,
    allow_sent: bool,
) -> StoreResult<bool> {
    let row: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT m.status, c.imported_at FROM messages m JOIN classes c ON c.class_id = m.class_id \
         WHERE m.id = $1",
    )
    .bind(message_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (status, imported_at) =
        row.ok_or_else(|| StoreError::NotFound(format!("message {message_id}")))?;
    // An imported class is a record of another ReplayDesk's work: never sent from here.
    if imported_at.is_some() {
        return Ok(false);
    }
    let status = MessageStatus::parse(&status)
        .ok_or_else(|| StoreError::Invalid(format!("status {status}")))?;
    let now = now_ms();
    let next_trigger = match trigger {
        Trigger::Bulk => "bulk",
        _ => "manual",
    };
    let done = match status {
        MessageStatus::Sending => return Ok(false),
        MessageStatus::Sent if !allow_sent => {
            return Err(StoreError::Conflict(format!(
                "message {message_id} is already sent: resending it puts a second copy with the same seq in the group (players may show it twice; the alignment reports duplicate_seq). To do it anyway, send {{\"duplicate\": true}}"
            )))
        }
        MessageStatus::Sent => {
            sqlx::query(
                "UPDATE messages SET status = 'pending', random = $1, retry_step = 0, \
                 next_attempt_at = $2, next_trigger = $3, ambiguous_since = NULL, updated_at = $4 \
                 WHERE id = $5 AND status = 'sent'",
            )
            .bind(i64::from(rand::random::<u32>()))
            .bind(now)
            .bind(next_trigger)
            .bind(now)
            .bind(message_id)
            .execute(&mut **tx)
            .await?
        }
        MessageStatus::Failed | MessageStatus::Retrying | MessageStatus::Pending => {
            sqlx::query(
                "UPDATE messages SET status = CASE WHEN status = 'pending' THEN 'pending' ELSE 'retrying' END, \
                 retry_step = 0, next_attempt_at = $1, next_trigger = $2, updated_at = $3 \
                 WHERE id = $4 AND status IN ('failed', 'retrying', 'pending')",
            )
            .bind(now)
            .bind(next_trigger)
            .bind(now)
            .bind(message_id)
            .execute(&mut **tx)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Appends attempt rows: one multi-row `INSERT` per power-of-two chunk (see
/// [`finish_attempts_tx`] for why few statements matter).
async fn insert_attempts(
    tx: &mut Transaction<'_, Db>,
    attempts: &[&AttemptRecord],
) -> Result<(), sqlx::Error> {
    use super::sql::{pow2_chunks, push_rows};
    let mut at = 0;
    for size in pow2_chunks(attempts.len()) {
        let chunk = &attempts[at..at + size];
        at += size;
        let mut qb = SqlBuilder::for_connection(
            tx,
            "INSERT INTO attempts (message_id, trigger_kind, random, started_at, duration_ms, \
             http_status, im_error_code, im_error_info, transport_error, outcome) VALUES ",
        );
        push_rows(&mut qb, chunk, |b, a| {
            b.push_bind(a.message_id)
                .push(", ")
                .push_bind(a.trigger.as_str())
                .push(", ")
                .push_bind(i64::from(a.random))
                .push(", ")
                .push_bind(a.started_at)
                .push(", ")
                .push_bind(a.duration_ms)
                .push(", ")
                .push_bind(a.http_status.map(i64::from))
                .push(", ")
                .push_bind(a.im_error_code)
                .push(", ")
                .push_bind(a.im_error_info.as_deref())
                .push(", ")
                .push_bind(a.transport_error.as_deref())
                .push(", ")
                .push_bind(a.outcome.as_str());
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) async fn insert_message_tx(
    tx: &mut Transaction<'_, Db>,
    new: &NewMessage<'_>,
    now: i64,
) -> StoreResult<Inserted> {
    // Insert first: for a new message (the common case) that is the only statement. A
    // conflict means either the same logical message exists (dedup key) or the drawn seq
    // is taken in the group; the look-up below tells which.
    let existing_sql =
        format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE class_id = $1 AND dedup_key = $2");
    let insert_sql = format!(
        "INSERT INTO messages (class_id, group_id, msg_type, uid, seq, random, data, dedup_key, \
         status, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11) \
         ON CONFLICT DO NOTHING RETURNING {MESSAGE_COLUMNS}"
    );
    for _ in 0..SEQ_DRAWS {
        let msg = (new.build)(Seq::random());
        let data = msg.to_data();
        check_size(&data).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let row = sqlx::query(&insert_sql)
            .bind(new.class_id)
            .bind(new.group_id)
            .bind(i64::from(msg.message_type().code()))
            .bind(new.uid)
            .bind(msg.seq.get() as i64)
            .bind(i64::from(rand::random::<u32>()))
            .bind(&data)
            .bind(new.dedup_key)
            .bind(now)
            .bind(now)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(row) = row {
            return Ok(Inserted {
                message: message_from_row(&row)?,
                created: true,
            });
        }
        if let Some(row) = sqlx::query(&existing_sql)
            .bind(new.class_id)
            .bind(new.dedup_key)
            .fetch_optional(&mut **tx)
            .await?
        {
            return Ok(Inserted {
                message: message_from_row(&row)?,
                created: false,
            });
        }
    }
    Err(StoreError::Conflict(format!(
        "no free seq found for group {} after {SEQ_DRAWS} draws",
        new.group_id
    )))
}

/// Writes `attempt` and moves its message (only while `owner` holds its lease): see
/// [`Store::finish_attempt`].
/// A batch of outcomes with few statements: sqlx runs each statement on the connection's
/// own thread and wakes the caller after it, and those hand-offs, not SQLite, were half of
/// the writer thread's time in the drain profile (docs/benchmarks.md) when each outcome was two
/// statements. Now every attempt row goes in with one multi-row `INSERT` (per power-of-two
/// chunk) and every `Sent` message moves with one `UPDATE ... FROM (VALUES ...)`; the rarer
/// retries and failures, and a message named twice in a batch, keep one statement each.
/// The result for each item is the same as [`finish_attempt_tx`] one by one would give:
/// whether its message was still `sending` under `owner` and moved.
async fn finish_attempts_tx(
    tx: &mut Transaction<'_, Db>,
    owner: &str,
    batch: &[(&AttemptRecord, &Transition)],
) -> StoreResult<Vec<bool>> {
    use super::sql::{pow2_chunks, push_rows};
    let attempts: Vec<&AttemptRecord> = batch.iter().map(|(a, _)| *a).collect();
    insert_attempts(tx, &attempts).await?;
    let mut moved = vec![false; batch.len()];
    // (index in the batch, message id, MsgSeq, MsgTime) of the sent messages, each id once.
    let mut sent: Vec<(usize, i64, Option<i64>, Option<i64>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut one_by_one = Vec::new();
    for (i, (a, t)) in batch.iter().enumerate() {
        match t {
            Transition::Sent {
                im_msg_seq,
                im_msg_time,
            } if seen.insert(a.message_id) => {
                sent.push((i, a.message_id, *im_msg_seq, *im_msg_time))
            }
            _ => one_by_one.push(i),
        }
    }
    let now = now_ms();
    let mut at = 0;
    for size in pow2_chunks(sent.len()) {
        let chunk = &sent[at..at + size];
        at += size;
        // VALUES' columns are column1, column2, ... on both engines.
        let mut qb = SqlBuilder::for_connection(
            tx,
            "UPDATE messages SET status = 'sent', attempt_count = attempt_count + 1, \
             im_msg_seq = v.column2, im_msg_time = v.column3, sent_at = ",
        );
        qb.push_bind(now)
            .push(", updated_at = ")
            .push_bind(now)
            .push(
                ", next_attempt_at = NULL, ambiguous_since = NULL, last_error = NULL, \
                 lease_owner = NULL, lease_until = NULL, next_trigger = 'scheduled' FROM (VALUES ",
            );
        push_rows(&mut qb, chunk, |b, (_, id, seq, time)| {
            b.push_bind(*id)
                .push(", ")
                .push_bind(*seq)
                .push(", ")
                .push_bind(*time);
        });
        qb.push(") AS v WHERE messages.id = v.column1 AND messages.status = 'sending' AND messages.lease_owner = ")
            .push_bind(owner)
            .push(" RETURNING id");
        let ids: HashSet<i64> = qb
            .build()
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        for (i, id, _, _) in chunk {
            moved[*i] = ids.contains(id);
        }
    }
    for i in one_by_one {
        let (a, t) = batch[i];
        moved[i] = move_after_attempt_tx(tx, owner, a, t).await?;
    }
    Ok(moved)
}

async fn finish_attempt_tx(
    tx: &mut Transaction<'_, Db>,
    owner: &str,
    attempt: &AttemptRecord,
    transition: &Transition,
) -> StoreResult<bool> {
    insert_attempts(tx, &[attempt]).await?;
    move_after_attempt_tx(tx, owner, attempt, transition).await
}

/// Moves the message of `attempt` (already recorded) as `transition` says, if `owner`
/// still holds it; whether it moved.
async fn move_after_attempt_tx(
    tx: &mut Transaction<'_, Db>,
    owner: &str,
    attempt: &AttemptRecord,
    transition: &Transition,
) -> StoreResult<bool> {
    let now = now_ms();
    let q = match transition {
        Transition::Sent {
            im_msg_seq,
            im_msg_time,
        } => sqlx::query(
            "UPDATE messages SET status = 'sent', attempt_count = attempt_count + 1, \
             im_msg_seq = $1, im_msg_time = $2, sent_at = $3, updated_at = $4, next_attempt_at = NULL, \
             ambiguous_since = NULL, last_error = NULL, lease_owner = NULL, lease_until = NULL, \
             next_trigger = 'scheduled' WHERE id = $5 AND status = 'sending' AND lease_owner = $6",
        )
        .bind(im_msg_seq)
        .bind(im_msg_time)
        .bind(now)
        .bind(now)
        .bind(attempt.message_id),
        Transition::Retry {
            next_attempt_at,
            advance_step,
            ambiguous_at,
            error,
        } => sqlx::query(
            "UPDATE messages SET status = 'retrying', attempt_count = attempt_count + 1, \
             retry_step = retry_step + $1, next_attempt_at = $2, \
             ambiguous_since = COALESCE(ambiguous_since, $3), last_error = $4, updated_at = $5, \
             lease_owner = NULL, lease_until = NULL, next_trigger = 'scheduled' \
             WHERE id = $6 AND status = 'sending' AND lease_owner = $7",
        )
        .bind(i64::from(*advance_step))
        .bind(next_attempt_at)
        .bind(ambiguous_at)
        .bind(error)
        .bind(now)
        .bind(attempt.message_id),
        Transition::Failed { error } => sqlx::query(
            "UPDATE messages SET status = 'failed', attempt_count = attempt_count + 1, \
             next_attempt_at = NULL, last_error = $1, updated_at = $2, lease_owner = NULL, \
             lease_until = NULL, next_trigger = 'scheduled' \
             WHERE id = $3 AND status = 'sending' AND lease_owner = $4",
        )
        .bind(error)
        .bind(now)
        .bind(attempt.message_id),
    };
    Ok(q.bind(owner).execute(&mut **tx).await?.rows_affected() == 1)
}
