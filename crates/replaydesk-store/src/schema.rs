//! Which migrations a store has, compared with the ones this binary carries: whether it is
//! current, needs migrating (an older release made it), or was migrated by a newer release
//! than this one (then nothing here may write to it: `serve` refuses it and
//! `replaydesk migrate --check` says so, leaving it as it is).

use super::{Engine, StoreError, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, Connection, Row};
use std::collections::BTreeSet;
use std::path::Path;

/// The SQLite store's migrations, as built into this binary.
pub(crate) static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations");
/// The PostgreSQL store's migrations, as built into this binary.
pub(crate) static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations_pg");

pub(crate) fn migrator(engine: Engine) -> &'static Migrator {
    match engine {
        Engine::Sqlite => &SQLITE_MIGRATIONS,
        Engine::Postgres => &POSTGRES_MIGRATIONS,
    }
}

/// Where a store's schema stands against this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// Every migration this binary has is applied, and no other.
    Current { version: i64 },
    /// Migrations to apply (an older release made the store, or it is empty).
    Pending {
        /// The newest applied migration (`None`: none, a new store).
        version: Option<i64>,
        /// `(version, description)` of each migration still to apply, in order.
        pending: Vec<(i64, String)>,
    },
    /// Migrations applied that this binary does not know: a newer release migrated it.
    Newer {
        version: i64,
        /// The newest migration this binary knows.
        known: i64,
    },
}

impl SchemaState {
    /// The newest migration this binary carries for `engine`.
    pub fn known_version(engine: Engine) -> i64 {
        migrator(engine)
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    /// One line for an operator.
    pub fn describe(&self) -> String {
        match self {
            SchemaState::Current { version } => {
                format!("current (schema version {version})")
            }
            SchemaState::Pending { version, pending } => {
                let list: Vec<String> = pending
                    .iter()
                    .map(|(v, d)| format!("{v} {d}"))
                    .collect();
                format!(
                    "needs migrating: schema version {}, {} migration(s) pending: {}",
                    version.map_or("none".to_owned(), |v| v.to_string()),
                    pending.len(),
                    list.join(", ")
                )
            }
            SchemaState::Newer { version, known } => format!(
                "newer than this binary: schema version {version}, this ReplayDesk ({}) knows up to {known}",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// The error `serve` (and every command that migrates) gives for a newer store.
pub(crate) fn newer_error(version: i64, known: i64) -> StoreError {
    StoreError::NewerSchema { version, known }
}

/// Reads the applied migrations over `conn` and compares them with this binary's. Only
/// reads: a store without the migrations table is reported as needing every migration.
pub(crate) async fn state_on(conn: &mut AnyConnection, engine: Engine) -> StoreResult<SchemaState> {
    let table_sql = match engine {
        Engine::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Engine::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()"
        }
    };
    let has_table: i64 = sqlx::query_scalar(table_sql).fetch_one(&mut *conn).await?;
    let mut applied: Vec<(i64, Vec<u8>)> = Vec::new();
    if has_table > 0 {
        let dirty: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success")
                .fetch_one(&mut *conn)
                .await?;
        if dirty > 0 {
            return Err(StoreError::Invalid(
                "a migration of this store failed part way (_sqlx_migrations has an unfinished \
                 one): restore the backup taken before the upgrade"
                    .into(),
            ));
        }
        for row in sqlx::query("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?
        {
            applied.push((row.try_get(0)?, row.try_get(1)?));
        }
    }
    compare(migrator(engine), &applied)
}

fn compare(migrator: &Migrator, applied: &[(i64, Vec<u8>)]) -> StoreResult<SchemaState> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    let version = applied.iter().map(|(v, _)| *v).max();
    if applied.iter().any(|(v, _)| !migrator.version_exists(*v)) {
        return Ok(SchemaState::Newer {
            version: version.unwrap_or(0),
            known,
        });
    }
    for (v, checksum) in applied {
        if let Some(m) = migrator.iter().find(|m| m.version == *v) {
            if m.checksum.as_ref() != checksum.as_slice() {
                return Err(StoreError::Invalid(format!(
                    "migration {v} ({}) was applied from a different text than this binary's: \
                     the store was made by a build this one does not descend from",
                    m.description
                )));
            }
        }
    }
    let done: BTreeSet<i64> = applied.iter().map(|(v, _)| *v).collect();
    let pending: Vec<(i64, String)> = migrator
        .iter()
        .filter(|m| !done.contains(&m.version))
        .map(|m| (m.version, m.description.to_string()))
        .collect();
    Ok(match (pending.is_empty(), version) {
        (true, Some(version)) => SchemaState::Current { version },
        _ => SchemaState::Pending { version, pending },
    })
}

/// The schema state of the store `db` names, opened read-only: an SQLite file is neither
/// created nor written (no WAL file is made, its mode is not changed), a PostgreSQL
/// database is only read.
pub async fn check(db: &Path) -> StoreResult<SchemaState> {
    sqlx::any::install_default_drivers();
    let text = db.to_string_lossy();
    let engine = Engine::of(&text);
    let mut conn = match engine {
        Engine::Postgres => AnyConnection::connect(&text).await?,
        Engine::Sqlite => {
            let file = text.strip_prefix("sqlite:").map_or(db, Path::new);
            if !file.is_file() {
                return Err(StoreError::NotFound(format!(
                    "database file {}",
                    file.display()
                )));
            }
            let options = super::backup::read_only_options(file);
            let url = sqlx::ConnectOptions::to_url_lossy(&options);
            let options = <sqlx::any::AnyConnectOptions as sqlx::ConnectOptions>::from_url(&url)?;
            sqlx::ConnectOptions::connect(&options).await?
        }
    };
    let state = state_on(&mut conn, engine).await;
    let _ = conn.close().await;
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(versions: &[i64]) -> Vec<(i64, Vec<u8>)> {
        versions
            .iter()
            .map(|v| {
                let m = SQLITE_MIGRATIONS.iter().find(|m| m.version == *v);
                (*v, m.map(|m| m.checksum.to_vec()).unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn applied_migrations_are_compared_with_the_binarys() {
        let all: Vec<i64> = SQLITE_MIGRATIONS.iter().map(|m| m.version).collect();
        let known = *all.last().unwrap();
        assert_eq!(
            compare(&SQLITE_MIGRATIONS, &applied(&all)).unwrap(),
            SchemaState::Current { version: known }
        );
        let SchemaState::Pending { version, pending } =
            compare(&SQLITE_MIGRATIONS, &applied(&all[..all.len() - 2])).unwrap()
        else {
            panic!("expected pending")
        };
        assert_eq!(version, Some(all[all.len() - 3]));
        assert_eq!(pending.len(), 2);
        assert!(matches!(
            compare(&SQLITE_MIGRATIONS, &[]).unwrap(),
            SchemaState::Pending { version: None, .. }
        ));
        let mut newer = applied(&all);
        newer.push((known + 1, vec![1, 2, 3]));
        assert_eq!(
            compare(&SQLITE_MIGRATIONS, &newer).unwrap(),
            SchemaState::Newer {
                version: known + 1,
                known
            }
        );
        let mut altered = applied(&all);
        altered[0].1 = vec![0; 48];
        assert!(compare(&SQLITE_MIGRATIONS, &altered).is_err());
    }
}
