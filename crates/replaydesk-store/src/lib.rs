//! The durable log: classes, messages, the append-only attempts log, raw inputs, jobs,
//! alerts and the audit log — in SQLite (one file, the default) or PostgreSQL (several
//! nodes on one database). See [`Store`] for how one code path serves both.

mod align;
mod archive;
mod audit;
pub mod backup;
mod cache;
mod callbacks;
mod checkpoint;
mod classes;
mod copy;
mod counts;
mod filter;
mod group_commit;
mod heartbeat;
mod history;
mod import;
mod jobs;
mod members;
mod messages;
mod missing;
mod people;
mod rate;
mod recorder;
mod recorder_intake;
mod reports;
mod schema;
mod streams;
mod types;

pub use align::AlignmentRow;
pub use archive::{
    merge_holes, ArchiveCandidate, ArchiveHole, ArchiveOutcome, ArchiveRow, ArchiveRunRow,
    ArchiveRunState, ArchiveState, ArchiveTotals,
};
pub use audit::{Actor, AuditEntry, AuditFilter, Door};
pub use cache::CLASS_TTL;
pub use callbacks::{
    hide_sign, recording_dedup_key, CallbackSource, CallbackStatus, NewCallbackRow,
    RecordedCallback, RecordingCallbackRecord, RecordingIntake, RecordingTarget,
    LIST_BODY_PREVIEW_BYTES, REFUSED_BODY_SAMPLE_BYTES, REFUSED_SAMPLE_ROWS,
};
pub use classes::{ClassAuth, ClassEntry, ClassRecord, ClassState, CredentialState, NewClass};
pub use copy::{copied_columns, COPIED_SEPARATELY};
pub use filter::{MessageFilter, Page};
pub use group_commit::{Closed, GroupCommit};
pub use heartbeat::{
    join_span, Anchor, PresenceSpanRecord, PresenceSummary, ReanchorIntake, ReanchorReason,
    ReanchorRecord,
};
pub use history::{item_is_place, ReconcileRunRow, ReconcileState};
pub use import::{ImportedClass, ReportFacts, IMPORTED_IN_FLIGHT_NOTE};
pub use jobs::{Job, JobKind, JobState};
pub use members::{member_target, AddedMembers, CredentialInfo, Member, MemberRole, RosterMember};
pub use messages::{
    AttemptRecord, ClaimedMessage, Inserted, NewMessage, Transition, RECOVERY_NOTE,
};
pub use missing::{
    covered, missing_detail, missing_recorders, EnteredFile, HandEnteredFile, MissingCheck,
    MissingRecorder, HAND_TASK, MISSING_LOOKBACK_MS, RECORDING_MISSING_ALERT,
};
pub use people::{SessionRow, SetupCode, TokenRow, UserRow};
pub use rate::SharedSlot;
pub use recorder::{
    recorder_lives, NewRecorderEvent, RecorderEvent, RecorderLife, RecorderOutcome, RecorderSource,
    RecorderStage,
};
pub use recorder_intake::{EventFile, RecordedEvent, RecorderIntake};
pub use reports::{
    report_dedup_key, ClassEvent, ClassEventIntake, IntakeItem, RefusedReport, TimelineIntake,
    TimelineReportRecord, REFUSED_REPORTS_KEPT,
};
pub use schema::{check as schema_state, SchemaState};
pub use streams::ClassStream;
pub use types::{Alert, Attempt, AttemptOutcome, MessageStatus, StoredMessage, Trigger};

mod sql;

pub(crate) use sql::{Db, DbRow, SqlBuilder, Tx};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error(
        "the database was migrated by a newer ReplayDesk (schema version {version}; this one, \
         {}, knows up to {known}) and is left as it is: run that newer release, or restore the \
         backup taken before the upgrade",
        env!("CARGO_PKG_VERSION")
    )]
    NewerSchema { version: i64, known: i64 },
    #[error("database file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        note_disk_fault(&e);
        StoreError::Db(e)
    }
}

/// SQLite errors that say the disk or the file refused (or lost) a write, counted for the
/// writer pool (see [`writer_reusable`]).
static DISK_FAULTS: AtomicU64 = AtomicU64::new(0);

fn note_disk_fault(e: &sqlx::Error) {
    let Some(code) = e
        .as_database_error()
        .filter(|d| d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some())
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
    else {
        return;
    };
    // The primary result code (the low byte of an extended one): READONLY, IOERR,
    // CORRUPT, FULL, CANTOPEN.
    if matches!(code & 0xff, 8 | 10 | 11 | 13 | 14) {
        DISK_FAULTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Which database engine a [`Store`] talks to. Only the store looks at it, and only
/// where the two engines' SQL differs; everything above the store sees one `Store`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// One file, one writer: the embedded default (desktop app, small installs, tests).
    Sqlite,
    /// A shared server: several `serve`/`deliver` processes on one database.
    Postgres,
}

impl Engine {
    /// The engine a `db` setting names: a `postgres://` or `postgresql://` URL is
    /// PostgreSQL; anything else (a file path, or `sqlite:...`) is SQLite.
    pub fn of(db: &str) -> Engine {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }
}

/// The `db` setting as it may be shown or logged: a PostgreSQL URL without its
/// `user:password@` and without the value of a `password` or `sslpassword` query parameter
/// (libpq and sqlx both read a password from either place).
pub fn db_for_display(db: &Path) -> String {
    let shown = replaydesk_protocol::secret::without_userinfo(&db.to_string_lossy());
    let hidden =
        |key: &str| key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword");
    let Ok(mut url) = url::Url::parse(&shown) else {
        return shown;
    };
    if url.cannot_be_a_base() || !url.query_pairs().any(|(key, _)| hidden(&key)) {
        return shown;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, value)| {
            let value = if hidden(&key) {
                "***".to_owned()
            } else {
                value.into_owned()
            };
            (key.into_owned(), value)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// How many connections one process keeps to PostgreSQL (`REPLAYDESK_DB_POOL` overrides):
/// intake commits in groups and delivery claims in batches, so a few connections carry a
/// node; the server's `max_connections` (100 by default) must exceed nodes x this.
pub const DEFAULT_PG_POOL: u32 = 10;

/// Handle to the database; cheap to clone.
///
/// The engine abstraction is sqlx's `Any` driver rather than an enum of typed pools: the
/// ~90 queries are written once, with numbered `$1` placeholders (which SQLite accepts as
/// well as PostgreSQL), and only the few statements whose SQL differs ask
/// [`Store::engine`]. The price is `Any`'s narrow type set (integers, floats, text, bytes,
/// bools): the schema stores times as integer milliseconds and flags as 0/1 integers, so
/// nothing here needs more, and PostgreSQL's schema (`migrations_pg/`) uses `BIGINT`
/// for every integer so both engines decode the same Rust types.
#[derive(Clone, Debug)]
pub struct Store {
    engine: Engine,
    writer: AnyPool,
    reader: AnyPool,
    /// Classes and members for the reporting path (see `cache`).
    cache: std::sync::Arc<cache::ClassCache>,
    /// SQLite's WAL checkpoints (see `checkpoint`); stops with the last clone.
    checkpointer: Option<std::sync::Arc<checkpoint::Checkpointer>>,
}

impl Store {
    /// Opens the database `db` names and applies migrations: a `postgres://` URL opens
    /// PostgreSQL; anything else is an SQLite file (created if needed).
    pub async fn open(db: &Path) -> StoreResult<Self> {
        let store = Self::connect(db).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database without applying migrations (`replaydesk migrate` applies them).
    pub async fn connect(db: &Path) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let text = db.to_string_lossy();
        match Engine::of(&text) {
            Engine::Postgres => Self::connect_postgres(&text).await,
            Engine::Sqlite => Self::connect_sqlite(db).await,
        }
    }

    async fn connect_sqlite(db: &Path) -> StoreResult<Self> {
        let text = db.to_string_lossy();
        let base = match text.strip_prefix("sqlite:") {
            Some(_) => SqliteConnectOptions::from_str(&text)?,
            None => SqliteConnectOptions::new().filename(db),
        };
        // Owner-only: the file holds each class's credential key (see `fsmode`).
        let file = base.get_filename();
        if !file.as_os_str().is_empty() && file != Path::new(":memory:") {
            let narrowed =
                replaydesk_fsmode::prepare_sqlite(file).map_err(|source| StoreError::File {
                    path: file.display().to_string(),
                    source,
                })?;
            for f in narrowed {
                tracing::warn!(file = %f.display(), "database file was readable by others: now owner-only");
            }
        }
        let rw_base = base.clone().create_if_missing(true);
        let rw = AnyConnectOptions::from_url(&rw_base.to_url_lossy())?;
        let ro = AnyConnectOptions::from_url(&base.read_only(true).to_url_lossy())?;
        // WAL with `synchronous=FULL` (a "sent" row lost to a power cut would mean a
        // duplicate in the group), a busy timeout, foreign keys. Writes go through one
        // connection — SQLite has one writer anyway, and one connection makes that explicit
        // instead of contended — while reads use a small pool of their own.
        // No test before acquire: a ping is a round trip to the connection's thread for a
        // local file that cannot have gone away (6 % of the server's CPU in the intake
        // profile: CHANGELOG.md, "Speed, first round").
        // WAL checkpoints run on a connection of their own, off the commit path (see
        // `checkpoint`), whenever there is a tokio runtime to run that task on; without one
        // the writer keeps SQLite's automatic checkpoint.
        let own_checkpoints = tokio::runtime::Handle::try_current().is_ok();
        // A 32 MiB page cache on the writer (SQLite's default is 2 MiB): the B-trees'
        // upper levels and the pages intake and delivery touch stay in it as the store
        // grows. The writer's cache stays valid between its own transactions (no other
        // connection writes), unlike a reader's, which SQLite drops after every commit.
        let writer_pragmas = if own_checkpoints {
            format!(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 0; \
                 PRAGMA journal_size_limit = {};",
                checkpoint::WAL_SIZE_LIMIT
            )
        } else {
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;"
                .to_owned()
        };
        let faults_seen = Arc::new(AtomicU64::new(DISK_FAULTS.load(Ordering::Relaxed)));
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            .after_release(move |conn, _| {
                let seen = faults_seen.clone();
                Box::pin(async move { writer_reusable(conn, &seen).await })
            })
            .after_connect(move |conn, _| {
                let pragmas = writer_pragmas.clone();
                Box::pin(async move {
                    conn.execute(pragmas.as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(rw)
            .await?;
        let checkpointer = if own_checkpoints {
            Some(std::sync::Arc::new(
                checkpoint::Checkpointer::start(rw_base, writer.clone()).await?,
            ))
        } else {
            None
        };
        // The writer made the file (and switched it to WAL) before the readers open it.
        let reader = AnyPoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            .after_release(|conn, _| Box::pin(leaves_no_transaction(conn)))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            })
            .connect_with(ro)
            .await?;
        Ok(Self {
            engine: Engine::Sqlite,
            writer,
            reader,
            cache: Default::default(),
            checkpointer,
        })
    }

    async fn connect_postgres(url: &str) -> StoreResult<Self> {
        let size = std::env::var("REPLAYDESK_DB_POOL")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_PG_POOL);
        let options = AnyConnectOptions::from_str(url)?;
        // One connection first, for a clear error at once (refused, wrong password, no
        // such database): the pool would retry until its acquire timeout and then only
        // say that it timed out.
        sqlx::AnyConnection::connect_with(&options)
            .await?
            .close()
            .await?;
        // PostgreSQL takes concurrent writers itself (row locks): one pool serves both.
        let pool = AnyPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(Duration::from_secs(60))
            .after_release(|conn, _| Box::pin(leaves_no_transaction(conn)))
            .connect_with(options)
            .await?;
        Ok(Self {
            engine: Engine::Postgres,
            writer: pool.clone(),
            reader: pool,
            cache: Default::default(),
            checkpointer: None,
        })
    }

    /// Applies the engine's pending migrations (`migrations/` for SQLite,
    /// `migrations_pg/` for PostgreSQL). Safe to run from several processes at once on
    /// PostgreSQL: sqlx takes an advisory lock around it.
    /// A store migrated by a newer release is refused ([`StoreError::NewerSchema`]) before
    /// anything is applied.
    pub async fn migrate(&self) -> StoreResult<()> {
        if let SchemaState::Newer { version, known } = self.schema_state().await? {
            return Err(schema::newer_error(version, known));
        }
        schema::migrator(self.engine).run(&self.writer).await?;
        Ok(())
    }

    /// Where this store's schema stands against this binary's migrations (only reads).
    pub async fn schema_state(&self) -> StoreResult<SchemaState> {
        let mut conn = self.writer.acquire().await?;
        schema::state_on(&mut conn, self.engine).await
    }

    /// Which engine this store talks to.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Starts a write transaction. On SQLite with `BEGIN IMMEDIATE`: it takes the write
    /// lock up front (waiting out the busy timeout), instead of failing at once with
    /// "database is locked" when a transaction that began by reading tries to write after
    /// another connection — or another process, such as a separate `replaydesk deliver` —
    /// wrote. PostgreSQL locks rows, not the database: a plain `BEGIN`.
    pub(crate) async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.engine {
            Engine::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Engine::Postgres => self.writer.begin().await,
        }
    }

    pub(crate) fn reader(&self) -> &AnyPool {
        &self.reader
    }

    pub(crate) fn cache(&self) -> &cache::ClassCache {
        &self.cache
    }

    /// A one-row write (the `health_probe` table): fails when the database or its disk
    /// cannot take writes.
    pub async fn probe_write(&self) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO health_probe (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes both pools, waiting for their connections to finish.
    pub async fn close(&self) {
        // The checkpoint connection first: the last connection to close checkpoints the
        // WAL into the file and deletes it.
        if let Some(c) = &self.checkpointer {
            c.stop().await;
        }
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Whether the SQLite writer connection given back to its pool may be reused: not after a
/// write failed on the disk (see below), nor while it is still inside a transaction
/// ([`leaves_no_transaction`]).
///
/// A connection opened while the write-ahead log could not be opened for writing (a
/// read-only file or file system, a full disk) reads it read-only for as long as it lives:
/// every write on it fails with `SQLITE_READONLY`, long after the cause cleared. So after
/// any such error since the last release (`seen` is this pool's count of them) the
/// connection is closed, and the next write gets a fresh one. While the disk still refuses
/// that one fails too, and is replaced in turn; the first after the cause clears works.
async fn writer_reusable(
    conn: &mut sqlx::AnyConnection,
    seen: &AtomicU64,
) -> Result<bool, sqlx::Error> {
    let faults = DISK_FAULTS.load(Ordering::Relaxed);
    if seen.swap(faults, Ordering::Relaxed) != faults {
        tracing::warn!(
            "a write failed on the disk: the next one opens a fresh database connection"
        );
        return Ok(false);
    }
    leaves_no_transaction(conn).await
}

/// Whether a connection given back to its pool may be reused (the pools' `after_release`):
/// not while it is still inside a transaction.
///
/// A transaction dropped without a commit queues its `ROLLBACK` on the connection. When a
/// write failed on the disk (`SQLITE_FULL`, `SQLITE_IOERR` from a full or read-only disk),
/// SQLite has already rolled the transaction back itself, so that `ROLLBACK` fails ("no
/// transaction is active") and sqlx keeps counting the connection as inside a
/// transaction: every later `BEGIN IMMEDIATE` on it then fails with "attempted to call
/// begin_with at non-zero transaction depth". With one writer connection that stopped
/// every write until a restart, long after the disk had room again. So a connection still
/// inside a transaction once its queued rollback has run is closed, and the pool opens a
/// fresh one (with its pragmas) for the next write.
async fn leaves_no_transaction(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // The queued rollback runs before the ping's round trip answers.
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!(
            "database connection still inside a transaction after its rollback \
             (a failed commit or statement): replacing it"
        );
        return Ok(false);
    }
    Ok(true)
}

/// The wall clock as the store stamps its rows (unix milliseconds).
pub fn now_ms() -> i64 {
    replaydesk_clock::unix_ms_now()
}
