//! Running one test body against each store engine: a fresh SQLite file, and a fresh
//! database on the PostgreSQL server `REPLAYDESK_TEST_PG` names (a throwaway cluster:
//! `scripts/pg_cluster.sh`, which `scripts/test.sh` starts in CI).
//!
//! Without `REPLAYDESK_TEST_PG` the PostgreSQL run says why it is skipped and passes —
//! unless `CI=true`, where a missing server fails the test: CI never skips these.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a test's database lives; dropped, it removes it.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin: String, name: String },
}

impl TestDb {
    /// What `Store::open` takes: the file's path, or the database's URL.
    pub fn db(&self) -> PathBuf {
        match self {
            TestDb::Sqlite(dir) => dir.path().join("s.db"),
            TestDb::Postgres { admin, name } => PathBuf::from(database_url(admin, name)),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin, name } = self {
            // Best effort, from a thread of its own: Drop may run inside the test's runtime.
            let (admin, name) = (admin.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = connect_admin(&admin).await {
                        let _ = sqlx::Executor::execute(
                            &mut c,
                            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                        )
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn sqlite() -> TestDb {
    TestDb::Sqlite(tempfile::tempdir().unwrap())
}

/// A fresh, empty PostgreSQL database for `test`, or `None` (with the reason printed) when
/// no server is configured outside CI.
pub async fn postgres(test: &str) -> Option<TestDb> {
    let admin = match std::env::var("REPLAYDESK_TEST_PG") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "{test}: REPLAYDESK_TEST_PG is not set, and CI=true: the PostgreSQL runs \
                     must not be skipped in CI (scripts/test.sh starts a cluster with \
                     scripts/pg_cluster.sh)"
                );
            }
            // Straight to stderr, not `eprintln!`: the test harness would swallow that for a
            // test that passes, and a skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (PostgreSQL) {test}: REPLAYDESK_TEST_PG is not set. Start a throwaway \
                 server with `eval \"$(scripts/pg_cluster.sh start /tmp/rd-pg 55432)\"` to run it."
            );
            return None;
        }
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "rd_{}_{}_{}",
        test.chars()
            .map(|c| if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            })
            .take(30)
            .collect::<String>(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut c = connect_admin(&admin)
        .await
        .unwrap_or_else(|e| panic!("{test}: cannot reach REPLAYDESK_TEST_PG ({e})"));
    sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("{test}: cannot create database {name}: {e}"));
    Some(TestDb::Postgres { admin, name })
}

async fn connect_admin(admin: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    use sqlx::Connection;
    sqlx::PgConnection::connect(admin).await
}

/// The admin URL with its database name replaced by `name`.
pub fn database_url(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Defines `mod $name { sqlite, postgres }`: the body runs once per engine with `$db`, the
/// `PathBuf` to open (`Store::open(&$db)`), in scope. In scope in every test module
/// (`#[macro_use]` on `util` and on this module).
macro_rules! on_both_engines {
    ($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let test_db = $crate::util::engines::sqlite();
                let $db = test_db.db();
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let Some(test_db) =
                    $crate::util::engines::postgres(module_path!()).await
                else {
                    return;
                };
                let $db = test_db.db();
                $body
            }
        }
    };
}
