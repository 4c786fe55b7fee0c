//! A rate budget shared by every node on one PostgreSQL database: the IM service's
//! per-app and per-group frequency limits hold for all nodes together.
//!
//! Why a row per budget (GCRA: each reservation moves the budget's "theoretical arrival
//! time" one interval on, and the caller waits until its slot) rather than advisory locks
//! or a fixed split of the rate between nodes: a reservation is one single-row upsert that
//! holds its row lock for microseconds, so waiting senders never hold a database lock
//! while they sleep (an advisory-lock scheme would have to, or poll); the budget needs no
//! knowledge of how many nodes run (a split would waste a dead node's share and need a
//! membership protocol); and it is exact across nodes, on the database's clock. The cost
//! is one round trip per budget per message (two per send: its group and the app); its
//! time was not measured separately (the node figures in docs/benchmarks.md include it).

use super::{Store, StoreResult};
use sqlx::Row;
use std::time::Duration;

impl Store {
    /// Reserves the next slot of the shared budget `key`, which allows one request per
    /// `interval` with up to `burst` saved up; returns the slot and how long to wait for
    /// it. PostgreSQL only (callers keep SQLite to their in-process buckets).
    pub async fn reserve_shared_slot(
        &self,
        key: &str,
        interval: Duration,
        burst: Duration,
    ) -> StoreResult<SharedSlot> {
        let interval_us = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX);
        let burst_us = i64::try_from(burst.as_micros()).unwrap_or(i64::MAX);
        let row = sqlx::query(
            "INSERT INTO rate_budget (key, tat) \
             VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT + $2) \
             ON CONFLICT (key) DO UPDATE SET tat = GREATEST(rate_budget.tat, \
               (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT - $3) + $2 \
             RETURNING tat - $2 AS slot, \
               (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT AS now_us",
        )
        .bind(key)
        .bind(interval_us)
        .bind(burst_us)
        .fetch_one(self.writer())
        .await?;
        let slot: i64 = row.try_get("slot")?;
        let now_us: i64 = row.try_get("now_us")?;
        Ok(SharedSlot {
            at_us: slot,
            wait: Duration::from_micros(u64::try_from(slot - now_us).unwrap_or(0)),
        })
    }
}

/// A reserved slot of a shared budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedSlot {
    /// When the slot is, unix microseconds on the database server's clock.
    pub at_us: i64,
    /// How long to wait for it from now.
    pub wait: Duration,
}
