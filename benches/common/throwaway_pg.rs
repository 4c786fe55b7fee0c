//! A throwaway PostgreSQL database: created fresh on an admin URL (a test cluster from
//! `scripts/pg_cluster.sh`), dropped with whatever is still connected to it when the value
//! is. The benches (`BENCH_PG`) and the integration tests (`REPLAYDESK_TEST_PG`) both use
//! this one file (`tests/it/util/engines.rs` includes it).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A database of its own on the server an admin URL names.
pub struct ThrowawayPg {
    admin: String,
    name: String,
}

impl ThrowawayPg {
    /// Creates `rd_<tag>_<pid>_<n>` (the tag lowercased, anything but letters and digits
    /// made `_`). Panics, naming `context`, when the server cannot be reached or refuses.
    pub async fn create(admin: &str, tag: &str, context: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let tag: String = tag
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        let name = format!(
            "rd_{tag}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = connect(admin)
            .await
            .unwrap_or_else(|e| panic!("{context}: cannot reach the PostgreSQL server ({e})"));
        sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("{context}: cannot create database {name}: {e}"));
        Self {
            admin: admin.to_owned(),
            name,
        }
    }

    /// What `Store::open` and `--db` take: the admin URL with this database's name.
    pub fn url(&self) -> PathBuf {
        PathBuf::from(database_url(&self.admin, &self.name))
    }
}

impl Drop for ThrowawayPg {
    fn drop(&mut self) {
        // From a thread of its own: this may be dropped inside a tokio runtime.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut c) = connect(&admin).await {
                    let dropped = sqlx::Executor::execute(
                        &mut c,
                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                    )
                    .await;
                    if let Err(e) = dropped {
                        eprintln!("could not drop the throwaway database {name}: {e}");
                    }
                }
            });
        })
        .join();
    }
}

/// A connection to `url` (the admin URL, or a database's).
pub async fn connect(url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await
}

/// The admin URL with its database name replaced by `name`.
fn database_url(admin: &str, name: &str) -> String {
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
