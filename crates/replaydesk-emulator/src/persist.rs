//! The emulator's groups kept in a SQLite file of their own, when it is given one: sandbox
//! `serve` keeps `<db>.im-emulator.db` beside its database, so that after a restart the
//! groups still hold what was sent (reconcile would otherwise report every sent message
//! missing); the standalone `replaydesk im-emulator` only with `--db FILE`.
//!
//! Changes are journaled under the groups' own lock (a push onto a vector: sending stays as
//! fast as in memory) and written in batches, one transaction every [`FLUSH_EVERY`], by a
//! background task; the last batch is written when the emulator shuts down. A process
//! killed outright loses at most the last interval's changes, which is fine for a stand-in.

use super::Shared;
use parking_lot::Mutex;
use replaydesk_im::wire::HistoryMsg;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How often journaled changes are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// One change to the groups, in the order made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// A group created (a dismissed id taken again starts afresh).
    Created {
        id: String,
        group_type: String,
    },
    Destroyed {
        id: String,
    },
    /// A message stored under its `MsgSeq` (the group's last seq moves with it).
    Stored {
        id: String,
        msg: HistoryMsg,
    },
    /// A seq taken without storing (an `AVChatRoom` message).
    SeqTaken {
        id: String,
        seq: u64,
    },
    Recalled {
        id: String,
        seqs: Vec<u64>,
    },
}

/// A group as kept in the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SavedGroup {
    pub id: String,
    pub group_type: String,
    pub dismissed: bool,
    pub last_seq: u64,
    /// In `MsgSeq` order.
    pub messages: Vec<HistoryMsg>,
}

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("emulator database {path}: {source}")]
    Db { path: String, source: sqlx::Error },
    #[error("emulator database {path}: a stored message does not read: {reason}")]
    Corrupt { path: String, reason: String },
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS emulator_groups (
        id         TEXT PRIMARY KEY,
        group_type TEXT NOT NULL,
        dismissed  INTEGER NOT NULL,
        last_seq   INTEGER NOT NULL
    )",
    // One row per stored message: the history item as the service answers it.
    "CREATE TABLE IF NOT EXISTS emulator_messages (
        group_id TEXT NOT NULL,
        msg_seq  INTEGER NOT NULL,
        item     TEXT NOT NULL,
        PRIMARY KEY (group_id, msg_seq)
    )",
];

/// The open file and its writer task.
#[derive(Debug)]
pub(crate) struct Persisted {
    pool: SqlitePool,
    path: String,
    wake: Arc<Notify>,
    stop: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Opens (creating if needed) the file and reads every group back.
pub(crate) async fn open(path: &Path) -> Result<(SqlitePool, Vec<SavedGroup>), PersistError> {
    let shown = path.display().to_string();
    let db = |source| PersistError::Db {
        path: shown.clone(),
        source,
    };
    // Owner-only, as the store's own file (see `fsmode`).
    replaydesk_fsmode::prepare_sqlite(path).map_err(|e| db(sqlx::Error::Io(e)))?;
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // A stand-in's history: losing the last write to a power cut is acceptable.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .map_err(db)?;
    for stmt in SCHEMA {
        sqlx::query(stmt).execute(&pool).await.map_err(db)?;
    }
    let rows = sqlx::query("SELECT id, group_type, dismissed, last_seq FROM emulator_groups")
        .fetch_all(&pool)
        .await
        .map_err(db)?;
    let mut groups = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get("id").map_err(db)?;
        let items: Vec<String> = sqlx::query_scalar(
            "SELECT item FROM emulator_messages WHERE group_id = ? ORDER BY msg_seq",
        )
        .bind(&id)
        .fetch_all(&pool)
        .await
        .map_err(db)?;
        let messages = items
            .iter()
            .map(|t| serde_json::from_str::<HistoryMsg>(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PersistError::Corrupt {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        groups.push(SavedGroup {
            id,
            group_type: r.try_get("group_type").map_err(db)?,
            dismissed: r.try_get::<i64, _>("dismissed").map_err(db)? != 0,
            last_seq: u64::try_from(r.try_get::<i64, _>("last_seq").map_err(db)?).unwrap_or(0),
            messages,
        });
    }
    Ok((pool, groups))
}

/// Writes one batch of changes in one transaction.
async fn write(pool: &SqlitePool, changes: &[Change]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for c in changes {
        match c {
            Change::Created { id, group_type } => {
                sqlx::query("DELETE FROM emulator_messages WHERE group_id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO emulator_groups (id, group_type, dismissed, last_seq) \
                     VALUES (?, ?, 0, 0) ON CONFLICT (id) DO UPDATE SET \
                     group_type = excluded.group_type, dismissed = 0, last_seq = 0",
                )
                .bind(id)
                .bind(group_type)
                .execute(&mut *tx)
                .await?;
            }
            Change::Destroyed { id } => {
                sqlx::query("DELETE FROM emulator_messages WHERE group_id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE emulator_groups SET dismissed = 1 WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Change::Stored { id, msg } => {
                let item = serde_json::to_string(msg).unwrap_or_default();
                sqlx::query(
                    "INSERT OR REPLACE INTO emulator_messages (group_id, msg_seq, item) VALUES (?, ?, ?)",
                )
                .bind(id)
                .bind(i64::try_from(msg.msg_seq).unwrap_or(i64::MAX))
                .bind(item)
                .execute(&mut *tx)
                .await?;
                set_last_seq(&mut tx, id, msg.msg_seq).await?;
            }
            Change::SeqTaken { id, seq } => set_last_seq(&mut tx, id, *seq).await?,
            Change::Recalled { id, seqs } => {
                for seq in seqs {
                    let item: Option<String> = sqlx::query_scalar(
                        "SELECT item FROM emulator_messages WHERE group_id = ? AND msg_seq = ?",
                    )
                    .bind(id)
                    .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(mut m) =
                        item.and_then(|t| serde_json::from_str::<HistoryMsg>(&t).ok())
                    else {
                        continue;
                    };
                    m.is_place_msg = 1;
                    m.msg_body = Vec::new();
                    m.from_account = String::new();
                    sqlx::query(
                        "UPDATE emulator_messages SET item = ? WHERE group_id = ? AND msg_seq = ?",
                    )
                    .bind(serde_json::to_string(&m).unwrap_or_default())
                    .bind(id)
                    .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
    }
    tx.commit().await
}

async fn set_last_seq(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: &str,
    seq: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE emulator_groups SET last_seq = MAX(last_seq, ?) WHERE id = ?")
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Persisted {
    /// Starts the writer: every [`FLUSH_EVERY`] (or when woken) it takes the journal from
    /// the emulator's groups and writes it. It holds the emulator weakly: once the emulator
    /// is dropped without [`close`](Self::close), the writer ends.
    pub(crate) fn start(pool: SqlitePool, path: &Path, shared: Weak<Shared>) -> Self {
        let wake = Arc::new(Notify::new());
        let stop = Arc::new(Notify::new());
        let (w, s, p) = (wake.clone(), stop.clone(), pool.clone());
        let shown = path.display().to_string();
        let task = tokio::spawn(async move {
            loop {
                let stopping = tokio::select! {
                    _ = s.notified() => true,
                    _ = w.notified() => false,
                    _ = tokio::time::sleep(FLUSH_EVERY) => false,
                };
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let batch = shared.groups.lock().take_changes();
                drop(shared);
                if !batch.is_empty() {
                    if let Err(e) = write(&p, &batch).await {
                        tracing::error!(error = %e, path = shown, changes = batch.len(), "IM emulator: could not save its groups");
                    }
                }
                if stopping {
                    return;
                }
            }
        });
        Self {
            pool,
            path: path.display().to_string(),
            wake,
            stop,
            task: Mutex::new(Some(task)),
        }
    }

    /// Writes what is journaled now (tests; the writer also does it on its own).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Writes the last batch and closes the file.
    pub(crate) async fn close(&self) {
        let task = self.task.lock().take();
        if let Some(t) = task {
            self.stop.notify_one();
            let _ = t.await;
        }
        self.pool.close().await;
        tracing::debug!(path = self.path, "IM emulator groups saved");
    }
}
