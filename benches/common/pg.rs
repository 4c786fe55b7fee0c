//! The PostgreSQL side of the benches: `BENCH_PG` (an admin URL, e.g. the one
//! `scripts/pg_cluster.sh start` prints) runs them on PostgreSQL instead of SQLite, each
//! measured phase on a fresh database of its own (`throwaway_pg.rs`, which the integration
//! tests use too); `BENCH_NODES` is how many nodes share that one database.
//!
//! Also the CPU the PostgreSQL server used (its postmaster and every process under it):
//! on a machine this small the database competes with the nodes and the load generator
//! for the same cores, and the benches say how much it took.

use std::collections::HashMap;

/// `BENCH_PG`: the admin URL, when the run is on PostgreSQL.
pub fn admin_from_env() -> Option<String> {
    std::env::var("BENCH_PG").ok().filter(|v| !v.is_empty())
}

/// `BENCH_NODES` (default 1): how many nodes share the database. More than one needs
/// PostgreSQL (SQLite is one process's file).
pub fn nodes_from_env(postgres: bool) -> usize {
    let nodes = std::env::var("BENCH_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(1);
    assert!(
        nodes == 1 || postgres,
        "BENCH_NODES={nodes} needs BENCH_PG: several nodes share one PostgreSQL database"
    );
    nodes
}

#[path = "throwaway_pg.rs"]
mod throwaway_pg;
use throwaway_pg::connect;
/// A fresh database on the `BENCH_PG` server; dropped (with whatever is still connected
/// to it) when this is.
pub use throwaway_pg::ThrowawayPg as PgDatabase;

/// The server as the tables' engine line names it: its version and whether its commits
/// are durable (`fsync`, `synchronous_commit`), read from the server itself.
pub async fn describe(admin: &str) -> String {
    let mut c = connect(admin).await.expect("connect to BENCH_PG");
    let version = show(&mut c, "server_version").await;
    let fsync = show(&mut c, "fsync").await;
    let sync_commit = show(&mut c, "synchronous_commit").await;
    format!("PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync_commit})")
}

async fn show(c: &mut sqlx::PgConnection, setting: &str) -> String {
    sqlx::query_scalar::<_, String>(&format!("SHOW {setting}"))
        .fetch_one(c)
        .await
        .unwrap_or_else(|e| format!("? ({e})"))
}

/// The PostgreSQL server's processes, for their CPU time (Linux `/proc`; the server is
/// on this machine).
pub struct PgProcesses {
    postmaster: u32,
}

/// CPU seconds per process at one moment.
pub struct CpuSnapshot(HashMap<u32, f64>);

impl PgProcesses {
    /// Finds the postmaster: the parent of this connection's backend.
    pub async fn find(admin: &str) -> Option<Self> {
        let mut c = connect(admin).await.ok()?;
        let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut c)
            .await
            .ok()?;
        let postmaster = parent_of(u32::try_from(backend).ok()?)?;
        Some(Self { postmaster })
    }

    /// CPU seconds of the postmaster and each of its children now.
    pub fn snapshot(&self) -> CpuSnapshot {
        let mut pids = vec![self.postmaster];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            pids.extend(
                entries
                    .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|&pid| parent_of(pid) == Some(self.postmaster)),
            );
        }
        CpuSnapshot(
            pids.into_iter()
                .filter_map(|pid| Some((pid, super::cpu::cpu_secs(pid)?)))
                .collect(),
        )
    }
}

impl CpuSnapshot {
    /// CPU seconds used between `earlier` and this snapshot. A process that ended in
    /// between is not counted (the pools keep their connections, so few do); one that
    /// started in between counts from zero.
    pub fn since(&self, earlier: &CpuSnapshot) -> f64 {
        self.0
            .iter()
            .map(|(pid, now)| now - earlier.0.get(pid).copied().unwrap_or(0.0))
            .sum()
    }
}

/// The parent process id of `pid` (field 4 of `/proc/<pid>/stat`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields after it start past its `)`.
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
