//! Background jobs (bulk resend, recover failed). A job is durable: its filter, its cursor
//! and the messages it took on are rows, so it goes on after a restart, and its progress
//! is read from the statuses of its messages.

use super::audit::audit_tx;
use super::audit::Actor;
use super::filter::{MessageFilter, Page, NOT_IMPORTED};
use super::messages::{message_columns, message_from_row, requeue_tx};
use super::types::{text_enum, StoredMessage, Trigger};
use super::{now_ms, Engine, Store, StoreError, StoreResult};
use super::{DbRow, SqlBuilder};
use serde::{Deserialize, Serialize};
use sqlx::Row;

text_enum! {
    JobKind {
        BulkResend => "bulk_resend",
        RecoverFailed => "recover_failed",
    }
}

text_enum! {
    JobState {
        /// Still choosing its messages (resumable from its cursor).
        Enqueuing => "enqueuing",
        /// All its messages are queued; waiting for them to be sent or to fail.
        Running => "running",
        /// Every message it took on is sent or failed.
        Finished => "finished",
    }
}

/// A job and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub filter: MessageFilter,
    pub actor: String,
    pub state: JobState,
    /// Messages matching the filter when the job started (or taken on so far, if more).
    pub total: i64,
    /// Taken-on messages now sent.
    pub done: i64,
    /// Taken-on messages now failed.
    pub failed: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

const JOB_QUERY: &str = "SELECT j.id, j.kind, j.filter, j.actor, j.state, j.total_expected, \
     j.created_at, j.updated_at, j.finished_at, \
     (SELECT COUNT(*) FROM job_messages jm WHERE jm.job_id = j.id) AS taken, \
     (SELECT COUNT(*) FROM job_messages jm JOIN messages m ON m.id = jm.message_id \
       WHERE jm.job_id = j.id AND m.status = 'sent') AS done, \
     (SELECT COUNT(*) FROM job_messages jm JOIN messages m ON m.id = jm.message_id \
       WHERE jm.job_id = j.id AND m.status = 'failed') AS failed \
     FROM jobs j";

fn job_from_row(row: &DbRow) -> StoreResult<Job> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let filter: String = row.try_get("filter")?;
    let expected: i64 = row.try_get("total_expected")?;
    let taken: i64 = row.try_get("taken")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: JobKind::parse(&kind)
            .ok_or_else(|| StoreError::Invalid(format!("job kind {kind}")))?,
        filter: serde_json::from_str(&filter)
            .map_err(|e| StoreError::Invalid(format!("job filter: {e}")))?,
        actor: row.try_get("actor")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Invalid(format!("job state {state}")))?,
        total: expected.max(taken),
        done: row.try_get("done")?,
        failed: row.try_get("failed")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

impl Store {
    /// Creates a job over the messages matching `filter`, and its audit entry.
    pub async fn create_job(
        &self,
        kind: JobKind,
        filter: &MessageFilter,
        actor: &Actor,
    ) -> StoreResult<Job> {
        let expected = self.count_messages(filter).await?;
        let filter_json =
            serde_json::to_string(filter).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (kind, filter, actor, state, total_expected, created_at, updated_at) \
             VALUES ($1, $2, $3, 'enqueuing', $4, $5, $6) RETURNING id",
        )
        .bind(kind.as_str())
        .bind(&filter_json)
        .bind(&actor.name)
        .bind(expected)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit_tx(
            &mut tx,
            actor,
            kind.as_str(),
            &format!("job:{id}"),
            &serde_json::json!({ "filter": filter, "matching": expected }),
        )
        .await?;
        tx.commit().await?;
        self.job(id).await
    }

    pub async fn job(&self, id: i64) -> StoreResult<Job> {
        let sql = format!("{JOB_QUERY} WHERE j.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
        job_from_row(&row)
    }

    pub async fn jobs(&self, limit: u32) -> StoreResult<Vec<Job>> {
        let sql = format!("{JOB_QUERY} ORDER BY j.id DESC LIMIT $1");
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// The messages job `id` took on, newest first, `limit` per page; `before` is the
    /// previous page's `next_cursor`. Walks the job's links in the key's order
    /// (job_messages' primary key is (job_id, message_id)) and reads each message by its
    /// id, so a page costs the same in a job of any size. An unknown job is `NotFound`.
    pub async fn job_messages(
        &self,
        id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<StoredMessage>> {
        // Without the progress counts of `job()`: they read all the job's links.
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("job {id}")));
        }
        let limit = limit.clamp(1, 1000);
        let mut qb = SqlBuilder::new("SELECT ");
        qb.push(message_columns())
            .push(" FROM job_messages jm JOIN messages ON messages.id = jm.message_id WHERE jm.job_id = ")
            .push_bind(id);
        if let Some(b) = before {
            qb.push(" AND jm.message_id < ").push_bind(b);
        }
        qb.push(" ORDER BY jm.message_id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(self.reader()).await?;
        let items = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, |m| m.id))
    }

    /// Ids of jobs not finished yet (to resume after a restart).
    pub async fn unfinished_jobs(&self) -> StoreResult<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM jobs WHERE state != 'finished' ORDER BY id")
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// Takes on the next `batch` matching messages of an enqueuing job, queueing each for
    /// a `bulk` attempt, in one transaction with the cursor. Returns how many it took; zero
    /// means the job has chosen all its messages and is now `running`.
    pub async fn job_enqueue_batch(&self, job_id: i64, batch: u32) -> StoreResult<usize> {
        // Only what choosing needs; the progress counts of `job()` would cost a scan of
        // the job's messages on every batch. Read inside the write transaction, and on
        // PostgreSQL with the job's row locked: every node resumes unfinished jobs at
        // start, and two nodes taking the same batch from the same cursor would queue a
        // message that was meanwhile sent for a second, unintended resend.
        let mut tx = self.begin_write().await?;
        let lock = match self.engine() {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE",
        };
        let row = sqlx::query(&format!(
            "SELECT filter, state, cursor FROM jobs WHERE id = $1{lock}"
        ))
        .bind(job_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {job_id}")))?;
        let state: String = row.try_get("state")?;
        if state != JobState::Enqueuing.as_str() {
            return Ok(0);
        }
        let cursor: i64 = row.try_get("cursor")?;
        let filter_json: String = row.try_get("filter")?;
        let filter: MessageFilter = serde_json::from_str(&filter_json)
            .map_err(|e| StoreError::Invalid(format!("job filter: {e}")))?;
        let mut qb = SqlBuilder::new("SELECT id FROM messages WHERE id > ");
        qb.push_bind(cursor);
        filter.push_conditions(&mut qb);
        // Imported classes are records, never resent (see `Store::import_class`).
        qb.push(NOT_IMPORTED);
        qb.push(" ORDER BY id LIMIT ").push_bind(i64::from(batch));
        let ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
        let now = now_ms();
        for id in &ids {
            sqlx::query("INSERT INTO job_messages (job_id, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(job_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // In flight or already queued: it will finish on its own; still counted.
            requeue_tx(&mut tx, *id, Trigger::Bulk, true).await?;
        }
        match ids.last() {
            Some(last) => {
                sqlx::query("UPDATE jobs SET cursor = $1, updated_at = $2 WHERE id = $3")
                    .bind(last)
                    .bind(now)
                    .bind(job_id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("UPDATE jobs SET state = 'running', updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(job_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Marks a running job finished once none of its messages is still on its way.
    /// Returns true when the job is finished.
    pub async fn job_check_finished(&self, job_id: i64) -> StoreResult<bool> {
        let now = now_ms();
        let r = sqlx::query(
            "UPDATE jobs SET state = 'finished', finished_at = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'running' AND NOT EXISTS ( \
               SELECT 1 FROM job_messages jm JOIN messages m ON m.id = jm.message_id \
               WHERE jm.job_id = jobs.id AND m.status IN ('pending', 'sending', 'retrying'))",
        )
        .bind(now)
        .bind(now)
        .bind(job_id)
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 1 {
            return Ok(true);
        }
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(self.reader())
            .await?;
        match state {
            Some(s) => Ok(s == JobState::Finished.as_str()),
            None => Err(StoreError::NotFound(format!("job {job_id}"))),
        }
    }
}
