//! Messages counted per class and status for the console (dashboard, class list, a class's
//! header), read from the `message_counts` table that triggers keep exact
//! (migrations/0014, migrations_pg/0004) instead of counting the messages: the answer
//! costs the same at 5,000,000 stored messages as at 0.

use super::types::MessageStatus;
use super::{Engine, Store, StoreError, StoreResult};
use sqlx::Row;

/// The advisory lock key folding counter changes holds on PostgreSQL (one folder at a
/// time; any constant the app owns, distinct from reclaiming's).
const FOLD_LOCK: i64 = 0x5245_504c_4159_0014;

/// Where the counts are on each engine. PostgreSQL's triggers append changes instead of
/// updating the counter rows (see migrations_pg/0004): the counts are the folded rows plus
/// the changes not folded yet.
fn counts_source(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "message_counts",
        Engine::Postgres => {
            "(SELECT class_id, status, n FROM message_counts \
              UNION ALL SELECT class_id, status, delta AS n FROM message_count_changes) AS c"
        }
    }
}

fn parse_status(s: &str) -> Result<MessageStatus, StoreError> {
    MessageStatus::parse(s).ok_or_else(|| StoreError::Invalid(format!("status {s}")))
}

impl Store {
    /// PostgreSQL: folds the changes the triggers appended into `message_counts`, so that
    /// reading stays a few rows per class. Skipped when another node is folding (its
    /// transaction either committed before our read's snapshot or did not: both sums are
    /// exact). Nothing to do on SQLite, whose triggers update the rows themselves.
    async fn fold_count_changes(&self) -> StoreResult<()> {
        if self.engine() != Engine::Postgres {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(FOLD_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if ours {
            sqlx::query(
                "WITH folded AS (DELETE FROM message_count_changes \
                   RETURNING class_id, status, delta) \
                 INSERT INTO message_counts (class_id, status, n) \
                 SELECT class_id, status, CAST(SUM(delta) AS BIGINT) FROM folded \
                 GROUP BY class_id, status \
                 ON CONFLICT (class_id, status) DO UPDATE SET n = message_counts.n + EXCLUDED.n",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Counts of messages per status, optionally for one class (statuses with none left
    /// out).
    pub async fn status_counts(
        &self,
        class_id: Option<&str>,
    ) -> StoreResult<Vec<(MessageStatus, i64)>> {
        self.fold_count_changes().await?;
        let src = counts_source(self.engine());
        let rows = match class_id {
            Some(c) => {
                sqlx::query(&format!(
                    "SELECT status, CAST(SUM(n) AS BIGINT) AS n FROM {src} \
                     WHERE class_id = $1 GROUP BY status HAVING SUM(n) <> 0"
                ))
                .bind(c)
                .fetch_all(self.reader())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT status, CAST(SUM(n) AS BIGINT) AS n FROM {src} \
                     GROUP BY status HAVING SUM(n) <> 0"
                ))
                .fetch_all(self.reader())
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                let s: String = row.try_get("status")?;
                Ok((parse_status(&s)?, row.try_get("n")?))
            })
            .collect()
    }

    /// Messages per class and status (pairs with none left out).
    pub async fn class_status_counts(&self) -> StoreResult<Vec<(String, MessageStatus, i64)>> {
        self.fold_count_changes().await?;
        let rows = sqlx::query(&format!(
            "SELECT class_id, status, CAST(SUM(n) AS BIGINT) AS n FROM {} \
             GROUP BY class_id, status HAVING SUM(n) <> 0",
            counts_source(self.engine())
        ))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let s: String = row.try_get("status")?;
                Ok((
                    row.try_get("class_id")?,
                    parse_status(&s)?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }
}
