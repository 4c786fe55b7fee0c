//! What the unauthenticated `/healthz`, `/readyz` and `/metrics` cost: each is answered from a cache
//! refreshed at most every few seconds, so scraping them as often as anyone likes does not
//! run a write or a COUNT/GROUP BY each time.

use super::{MetricsSnapshot, ReplayDesk, ServiceResult, StatusCounts};
use replaydesk_store::CallbackStatus;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex as AsyncMutex;

/// How long a health probe or the metrics' database figures are reused.
pub const CACHE_FOR: Duration = Duration::from_secs(5);

/// How long the health probe waits for the database's write lock.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

fn unhealthy(e: String) -> Health {
    tracing::error!(error = %e, "health: the database cannot take writes");
    Health {
        status: "degraded",
        database: format!("cannot take writes: {e}"),
    }
}

/// Whether the database takes writes, as `/healthz` tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// `ok`, or `degraded` when the database (or its disk) cannot take writes.
    pub status: &'static str,
    pub database: String,
}

impl Health {
    pub fn ok(&self) -> bool {
        self.status == "ok"
    }
}

#[derive(Clone)]
struct DbFigures {
    statuses: StatusCounts,
    open_alerts: usize,
    /// The kinds of the open alerts (one entry per alert).
    open_alert_kinds: Vec<String>,
    callbacks: Vec<(CallbackStatus, i64)>,
}

/// The caches, and counters kept outside the database.
#[derive(Default)]
pub(crate) struct Watch {
    health: AsyncMutex<Option<(Instant, Health)>>,
    figures: AsyncMutex<Option<(Instant, DbFigures)>>,
    schema: AsyncMutex<Option<(Instant, String)>>,
    /// Recording callbacks refused since start (the store keeps only a sample of them).
    pub(crate) callbacks_refused: AtomicU64,
    /// TRTC callbacks answered 5xx since start: TRTC retries for about a minute only, so
    /// each may be a recording that never comes back.
    pub(crate) trtc_failed: AtomicU64,
}

/// Whether this node should be given traffic, as `/readyz` tells it: its store is migrated
/// to this binary's schema, its writer takes writes, and it is not stopping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// `current`, or what is wrong with the schema (another node migrated further).
    pub schema: String,
    /// As `/healthz`'s `database`.
    pub database: String,
    /// True from the moment a stop was asked for (SIGTERM): a load balancer takes this
    /// node out while it finishes the requests in flight.
    pub stopping: bool,
}

impl ReplayDesk {
    /// Whether to send this node traffic (see [`Readiness`]); the write probe is
    /// [`ReplayDesk::health`]'s, cached as it is.
    pub async fn readiness(&self) -> Readiness {
        let stopping = self.is_stopping();
        if stopping {
            return Readiness {
                ready: false,
                schema: "not checked: stopping".into(),
                database: "not checked: stopping".into(),
                stopping,
            };
        }
        let health = self.health().await;
        let schema = self.schema_summary().await;
        Readiness {
            ready: health.ok() && schema == "current",
            schema,
            database: health.database,
            stopping,
        }
    }

    /// `current` when the store's migrations are exactly this binary's (checked at most
    /// every [`CACHE_FOR`]: on PostgreSQL another node may migrate it further).
    async fn schema_summary(&self) -> String {
        let mut cached = self.inner.watch.schema.lock().await;
        if let Some((at, s)) = cached.as_ref() {
            if at.elapsed() < CACHE_FOR {
                return s.clone();
            }
        }
        let s = match self.inner.store.schema_state().await {
            Ok(replaydesk_store::SchemaState::Current { .. }) => "current".to_owned(),
            Ok(other) => other.describe(),
            Err(e) => format!("cannot read the schema version: {e}"),
        };
        *cached = Some((Instant::now(), s.clone()));
        s
    }

    /// Whether the database can take writes: a one-row write, at most every
    /// [`CACHE_FOR`]; a full disk, a read-only file or a broken database shows here.
    pub async fn health(&self) -> Health {
        let mut cached = self.inner.watch.health.lock().await;
        if let Some((at, h)) = cached.as_ref() {
            if at.elapsed() < CACHE_FOR {
                return h.clone();
            }
        }
        // Not the store's busy timeout: a health check answers within a couple of seconds.
        let probe = tokio::time::timeout(PROBE_TIMEOUT, self.inner.store.probe_write()).await;
        let h = match probe.map_err(|_| format!("no write within {PROBE_TIMEOUT:?}")) {
            Ok(Ok(())) => Health {
                status: "ok",
                database: "takes writes".into(),
            },
            Ok(Err(e)) => unhealthy(e.to_string()),
            Err(e) => unhealthy(e),
        };
        *cached = Some((Instant::now(), h.clone()));
        h
    }

    /// Counters for `/metrics`; the database's figures are at most [`CACHE_FOR`] old.
    pub async fn metrics(&self) -> ServiceResult<MetricsSnapshot> {
        let figures = {
            let mut cached = self.inner.watch.figures.lock().await;
            match cached.as_ref() {
                Some((at, f)) if at.elapsed() < CACHE_FOR => f.clone(),
                _ => {
                    let store = &self.inner.store;
                    let open = store.open_alerts().await?;
                    let f = DbFigures {
                        statuses: StatusCounts::from_pairs(store.status_counts(None).await?),
                        open_alerts: open.len(),
                        open_alert_kinds: open.into_iter().map(|a| a.kind).collect(),
                        callbacks: store.callback_status_counts().await?,
                    };
                    *cached = Some((Instant::now(), f.clone()));
                    f
                }
            }
        };
        let c = &self.inner.counters;
        Ok(MetricsSnapshot {
            statuses: figures.statuses,
            accepted_total: c.accepted.load(Ordering::Relaxed),
            duplicate_total: c.duplicates.load(Ordering::Relaxed),
            refused_total: self.inner.refused.load(Ordering::Relaxed),
            intake_commits_total: c.batches.load(Ordering::Relaxed),
            delivery: self.inner.delivery.stats(),
            delivery_paused: self.inner.delivery.is_paused(),
            open_alerts: figures.open_alerts,
            open_alert_kinds: figures.open_alert_kinds,
            callbacks: figures.callbacks,
            callbacks_refused_total: self.inner.watch.callbacks_refused.load(Ordering::Relaxed),
            trtc_callbacks_failed_total: self.inner.watch.trtc_failed.load(Ordering::Relaxed),
        })
    }
}
