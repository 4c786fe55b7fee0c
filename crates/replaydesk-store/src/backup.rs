//! Backing an SQLite store up while `serve` runs, and putting a backup back.
//!
//! The copy is SQLite's `VACUUM INTO` on a read-only connection: it reads one snapshot (a
//! read transaction in WAL mode), so it holds exactly the transactions committed before it
//! began, while the writer goes on committing into the WAL meanwhile. It is written to a
//! temporary file beside the destination, checked (`integrity_check`, the rows each table
//! holds, the schema version), synced, and only then renamed into place, so a backup file
//! that exists is a whole one. Backups hold each class's credential key: owner-only, and
//! with the store's owner when root makes them (so the service user can restore them).
//!
//! PostgreSQL stores are backed up with PostgreSQL's own tools (`pg_dump`, or a base
//! backup with WAL archiving for point-in-time recovery): the operations guide says how.

use super::{schema, Engine, SchemaState, StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a store file holds, as `backup` and `restore` say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSummary {
    /// The newest applied migration (`None`: no migrations table).
    pub schema_version: Option<i64>,
    /// Rows per table, by table name.
    pub tables: Vec<(String, i64)>,
    /// Size of the file in bytes.
    pub bytes: u64,
}

impl StoreSummary {
    pub fn rows(&self, table: &str) -> Option<i64> {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
    }
}

/// Why PostgreSQL is not backed up here, and what to use instead.
pub const POSTGRES_BACKUP_HINT: &str = "backup and restore copy an SQLite store; a PostgreSQL store is backed up with PostgreSQL's own tools: `pg_dump -Fc` (restored with `pg_restore`), or a base backup with WAL archiving for point-in-time recovery (see the operations guide, docs/operations.md)";

/// `<path><suffix>`, e.g. the `-wal` beside a database file.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A temporary name beside `dest` for a file that becomes `dest` once whole.
fn partial_name(dest: &Path) -> PathBuf {
    with_suffix(dest, &format!(".partial-{}", std::process::id()))
}

fn file_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::File {
        path: path.display().to_string(),
        source,
    }
}

fn refuse_postgres(db: &Path) -> StoreResult<()> {
    if Engine::of(&db.to_string_lossy()) == Engine::Postgres {
        return Err(StoreError::Invalid(POSTGRES_BACKUP_HINT.into()));
    }
    Ok(())
}

/// Creates `path` empty and owner-only; fails if it exists.
fn create_new_owner_only(path: &Path) -> std::io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(replaydesk_fsmode::OWNER_ONLY);
    }
    opts.open(path)
}

/// Gives `path` the owner and group of `like` when they differ. Only root may; for anyone
/// else the file is theirs already, and a refusal changes nothing.
pub fn own_like(path: &Path, like: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let want = std::fs::metadata(like)?;
        let have = std::fs::metadata(path)?;
        if (have.uid(), have.gid()) != (want.uid(), want.gid()) {
            match std::os::unix::fs::chown(path, Some(want.uid()), Some(want.gid())) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, like);
    Ok(())
}

/// Syncs `path` and the directory it is in (so a rename into it survives a power cut).
fn sync_file_and_dir(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

async fn open(path: &Path, read_only: bool) -> StoreResult<SqliteConnection> {
    let options = if read_only {
        read_only_options(path)
    } else {
        SqliteConnectOptions::new().filename(path)
    };
    Ok(options
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await?)
}

/// Options that read the SQLite store `path` without writing anything beside it. While a
/// `-wal` file exists (a `serve` has it open, or stopped without checkpointing) the WAL is
/// part of the store and is read through SQLite's shared memory as usual. Without one the
/// main file is the whole store, and it is read as immutable: SQLite would otherwise create
/// a `-wal` and a `-shm` beside it (and leave them) even for a read-only connection.
pub fn read_only_options(path: &Path) -> SqliteConnectOptions {
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    if with_suffix(path, "-wal").exists() {
        options
    } else {
        options.immutable(true)
    }
}

/// Checks the store file `path` (`integrity_check`) and counts what it holds.
async fn summarize(conn: &mut SqliteConnection, path: &Path) -> StoreResult<StoreSummary> {
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await?;
    if problems != ["ok"] {
        return Err(StoreError::Invalid(format!(
            "{} fails SQLite's integrity check: {}",
            path.display(),
            problems.join("; ")
        )));
    }
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT IN ('_sqlx_migrations', 'health_probe') \
         ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {quoted}"))
            .fetch_one(&mut *conn)
            .await?;
        tables.push((name, n));
    }
    let has_migrations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    let schema_version = if has_migrations > 0 {
        sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?
            .try_get::<Option<i64>, _>(0)?
    } else {
        None
    };
    let bytes = std::fs::metadata(path)
        .map_err(|e| file_error(path, e))?
        .len();
    Ok(StoreSummary {
        schema_version,
        tables,
        bytes,
    })
}

/// Copies the SQLite store `db` into the new file `to` (which must not exist) while the
/// store stays in use, checks the copy and says what it holds. Nothing is left at `to`
/// unless the whole checked copy is.
pub async fn backup(db: &Path, to: &Path) -> StoreResult<StoreSummary> {
    refuse_postgres(db)?;
    if !db.is_file() {
        return Err(StoreError::NotFound(format!(
            "database file {}",
            db.display()
        )));
    }
    if to.exists() {
        return Err(StoreError::Conflict(format!(
            "{} exists: a backup never overwrites a file; name a new one",
            to.display()
        )));
    }
    let partial = partial_name(to);
    let result = async {
        create_new_owner_only(&partial).map_err(|e| file_error(&partial, e))?;
        let mut source = open(db, true).await?;
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(partial.to_string_lossy().into_owned())
            .execute(&mut source)
            .await;
        let _ = source.close().await;
        copied?;
        // The copy keeps the store's WAL mode; a backup is one self-contained file.
        let mut copy = open(&partial, false).await?;
        sqlx::query("PRAGMA journal_mode = DELETE")
            .execute(&mut copy)
            .await?;
        let summary = summarize(&mut copy, &partial).await;
        let _ = copy.close().await;
        let summary = summary?;
        own_like(&partial, db).map_err(|e| file_error(&partial, e))?;
        sync_file_and_dir(&partial).map_err(|e| file_error(&partial, e))?;
        std::fs::rename(&partial, to).map_err(|e| file_error(to, e))?;
        sync_file_and_dir(to).map_err(|e| file_error(to, e))?;
        Ok(StoreSummary {
            bytes: std::fs::metadata(to).map_err(|e| file_error(to, e))?.len(),
            ..summary
        })
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
        let _ = std::fs::remove_file(with_suffix(&partial, "-journal"));
    }
    result
}

/// Puts the backup `from` back as the SQLite store `db`, which must not exist (nor its
/// `-wal`, `-shm` or `-journal`): restore never replaces a store, least of all one a
/// `serve` has open. The backup is checked first; one made by a newer release is refused.
/// As root, the restored file gets the owner of the directory it is put in (the service's
/// state directory).
pub async fn restore(from: &Path, db: &Path) -> StoreResult<(StoreSummary, SchemaState)> {
    refuse_postgres(from)?;
    refuse_existing(db)?;
    if !from.is_file() {
        return Err(StoreError::NotFound(format!(
            "backup file {}",
            from.display()
        )));
    }
    let dir = match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let partial = partial_name(db);
    let result = async {
        let mut file = create_new_owner_only(&partial).map_err(|e| file_error(&partial, e))?;
        let mut src = File::open(from).map_err(|e| file_error(from, e))?;
        std::io::copy(&mut src, &mut file).map_err(|e| file_error(&partial, e))?;
        drop(file);
        // Checked as it will be used: the copy, not the backup (which might be changing).
        let mut conn = open(&partial, true).await?;
        let summary = summarize(&mut conn, &partial).await;
        let _ = conn.close().await;
        let summary = summary?;
        let state = schema::check(&partial).await?;
        if let SchemaState::Newer { version, known } = state {
            return Err(schema::newer_error(version, known));
        }
        own_like(&partial, &dir).map_err(|e| file_error(&partial, e))?;
        sync_file_and_dir(&partial).map_err(|e| file_error(&partial, e))?;
        // A store appearing meanwhile is not replaced: hard-link, which fails if it exists.
        std::fs::hard_link(&partial, db).map_err(|e| file_error(db, e))?;
        std::fs::remove_file(&partial).map_err(|e| file_error(&partial, e))?;
        sync_file_and_dir(db).map_err(|e| file_error(db, e))?;
        Ok((summary, state))
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Refuses a restore to `db` when a store (or any of its files) is there already, or `db`
/// names PostgreSQL.
pub fn refuse_existing(db: &Path) -> StoreResult<()> {
    refuse_postgres(db)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = with_suffix(db, suffix);
        if p.exists() {
            return Err(StoreError::Conflict(format!(
                "{} exists: restore only fills an empty place and never replaces a store (it may \
                 be in use by serve). Stop the service, move {} and its -wal and -shm files \
                 aside, then restore",
                p.display(),
                db.display()
            )));
        }
    }
    Ok(())
}
