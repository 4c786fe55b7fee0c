//! Running one test body against each store engine: a fresh SQLite file, and a fresh
//! database on the PostgreSQL server `REPLAYDESK_TEST_PG` names (a throwaway cluster:
//! `scripts/pg_cluster.sh`, which `scripts/test.sh` starts in CI).
//!
//! Without `REPLAYDESK_TEST_PG` the PostgreSQL run says why it is skipped and passes —
//! unless `CI=true`, where a missing server fails the test: CI never skips these.

use std::path::PathBuf;

#[path = "../../../benches/common/throwaway_pg.rs"]
mod throwaway_pg;
use throwaway_pg::ThrowawayPg;

/// Where a test's database lives; dropped, it removes it.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres(ThrowawayPg),
}

impl TestDb {
    /// What `Store::open` takes: the file's path, or the database's URL.
    pub fn db(&self) -> PathBuf {
        match self {
            TestDb::Sqlite(dir) => dir.path().join("s.db"),
            TestDb::Postgres(db) => db.url(),
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
    Some(TestDb::Postgres(
        ThrowawayPg::create(&admin, test, test).await,
    ))
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
