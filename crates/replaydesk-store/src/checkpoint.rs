//! WAL checkpoints off the commit path (SQLite only).
//!
//! SQLite's automatic checkpoint runs inside the connection whose commit pushed the WAL past
//! 1,000 pages: that commit (and every report or attempt waiting on it, since there is one
//! writer) waits while the checkpoint copies the WAL into the database file and fsyncs it.
//! Under sustained intake that was a latency tail of hundreds of milliseconds (CHANGELOG.md, "Growth,
//! first and second rounds"). So the writer connection runs with `wal_autocheckpoint = 0`, and this task
//! checkpoints on a connection of its own, every [`INTERVAL`]: `PASSIVE` first, which copies
//! what is committed without taking the write lock, so the writer goes on meanwhile.
//!
//! A passive checkpoint alone does not keep the WAL from growing under continuous writes:
//! the writer starts the WAL over from its beginning only when a transaction begins while
//! every frame has been copied, and with commits back to back there is always a newer frame
//! by then. (A `RESTART` checkpoint from another connection must win the write lock from a
//! writer that takes it back at once, and waited seconds for it while the WAL grew to 60 MB.)
//! So once the WAL holds [`RESTART_FRAMES`], one more passive checkpoint runs *on the writer
//! connection*, queued like any write: nothing commits meanwhile, so it copies the few
//! frames committed since the first one, and the writer's next transaction starts the WAL
//! over; `journal_size_limit` (set on the writer) then truncates the file. That is one short
//! pause of the writer every 16 MB of WAL instead of the whole copy inside a commit every
//! 4 MB. Durability does not change: a commit is durable once its WAL frames are synced
//! (`synchronous = FULL`), checkpointed or not.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AnyPool, ConnectOptions, Connection, Row};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the WAL is checkpointed. Short, so that a checkpoint copies little (a few
/// hundred pages under full intake) and the WAL stays small enough to sit in the OS cache.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// WAL frames (pages) from which a checkpoint on the writer connection follows, so that the
/// WAL starts over: 4,096 pages of 4 KiB, 16 MiB (SQLite's automatic checkpoint runs at
/// 1,000).
pub const RESTART_FRAMES: i64 = 4096;

/// What the WAL file is truncated to when the writer starts it over (`journal_size_limit`).
pub const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// The running checkpoint task; it stops when this is dropped (the last clone of the
/// store went away) or when [`Checkpointer::stop`] is called.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: watch::Sender<bool>,
    task: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens the checkpoint connection and starts the task (on the current tokio runtime);
    /// `writer` is the store's writer pool.
    pub(crate) async fn start(
        options: SqliteConnectOptions,
        writer: AnyPool,
    ) -> Result<Self, sqlx::Error> {
        let conn = options
            .pragma("busy_timeout", "10000")
            .pragma("synchronous", "FULL")
            .connect()
            .await?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(conn, writer, stopped));
        Ok(Self {
            stop,
            task: parking_lot::Mutex::new(Some(task)),
        })
    }

    /// Stops the task and waits until its connection is closed.
    pub(crate) async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn run(mut conn: SqliteConnection, writer: AnyPool, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stopped.changed() => break,
        }
        if *stopped.borrow() {
            break;
        }
        match checkpoint(&mut conn).await {
            Ok((log, _)) if log >= RESTART_FRAMES => {
                let on_writer = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&writer)
                    .await;
                if let Err(e) = on_writer {
                    tracing::warn!(error = %e, "WAL checkpoint on the writer failed; will retry");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
        }
    }
    let _ = conn.close().await;
}

/// Runs one passive checkpoint; returns (frames in the WAL, frames copied).
async fn checkpoint(conn: &mut SqliteConnection) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    Ok((row.try_get(1)?, row.try_get(2)?))
}
