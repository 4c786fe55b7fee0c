//! The durable log in SQLite: classes, messages, the append-only attempts log, raw
//! inputs, jobs, alerts and the audit log.
//!
//! SQLite is opened in WAL mode with `synchronous=FULL` (a "sent" row lost to a power cut
//! would mean a duplicate in the group), a busy timeout and foreign keys. Writes go through
//! one connection — SQLite has one writer anyway, and one connection makes that explicit
//! instead of contended — while reads use a small pool of their own.

mod align;
mod audit;
mod callbacks;
mod classes;
mod filter;
mod history;
mod import;
mod jobs;
mod members;
mod messages;
mod reports;
mod types;

pub use align::AlignmentRow;
pub use audit::AuditEntry;
pub use callbacks::{
    hide_sign, recording_dedup_key, CallbackStatus, NewCallbackRow, RecordedCallback,
    RecordingCallbackRecord, RecordingIntake, RecordingTarget, LIST_BODY_PREVIEW_BYTES,
    REFUSED_BODY_SAMPLE_BYTES, REFUSED_SAMPLE_ROWS,
};
pub use classes::{ClassAuth, ClassRecord, ClassState, NewClass};
pub use filter::{MessageFilter, Page};
pub use history::{ReconcileRunRow, ReconcileState};
pub use import::{ImportedClass, ReportFacts, IMPORTED_IN_FLIGHT_NOTE};
pub use jobs::{Job, JobKind, JobState};
pub use members::{Member, MemberRole};
pub use messages::{
    AttemptRecord, ClaimedMessage, Inserted, NewMessage, Transition, RECOVERY_NOTE,
};
pub use reports::{
    report_dedup_key, ClassEvent, ClassEventIntake, IntakeItem, RefusedReport, TimelineIntake,
    TimelineReportRecord,
};
pub use types::{Alert, Attempt, AttemptOutcome, MessageStatus, StoredMessage, Trigger};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database file at `path` and applies migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(base.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE`: it takes the write lock up front
    /// (waiting out the busy timeout), instead of failing at once with "database is locked"
    /// when a transaction that began by reading tries to write after another connection —
    /// or another process, such as a separate `replaydesk deliver` — wrote.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Closes both pools, waiting for their connections to finish.
    /// A one-row write (the `health_probe` table): fails when the database or its disk
    /// cannot take writes.
    pub async fn probe_write(&self) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO health_probe (id, checked_at) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

pub(crate) fn now_ms() -> i64 {
    crate::clock::unix_ms_now()
}
