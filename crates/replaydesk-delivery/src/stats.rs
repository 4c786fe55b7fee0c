//! Counters for `/metrics`: attempts by outcome and attempt latency.

use replaydesk_store::AttemptOutcome;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (ms) of the attempt-latency histogram buckets.
pub const LATENCY_BUCKETS_MS: [u64; 10] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10_000];

#[derive(Debug, Default)]
pub struct DeliveryStats {
    by_outcome: [AtomicU64; 8],
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
    deferred: AtomicU64,
}

fn outcome_index(o: AttemptOutcome) -> usize {
    AttemptOutcome::ALL
        .iter()
        .position(|x| *x == o)
        .unwrap_or(0)
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSnapshot {
    pub attempts_by_outcome: Vec<(AttemptOutcome, u64)>,
    /// Cumulative counts per bucket of `LATENCY_BUCKETS_MS`.
    pub latency_buckets: Vec<(u64, u64)>,
    pub latency_count: u64,
    pub latency_sum_ms: u64,
    /// Claimed messages put back in the store to wait for their busy group's turn.
    pub deferred_total: u64,
}

impl DeliveryStats {
    pub fn record(&self, outcome: AttemptOutcome, duration_ms: u64) {
        self.by_outcome[outcome_index(outcome)].fetch_add(1, Ordering::Relaxed);
        for (i, le) in LATENCY_BUCKETS_MS.iter().enumerate() {
            if duration_ms <= *le {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms
            .fetch_add(duration_ms, Ordering::Relaxed);
    }

    /// `n` claimed messages were deferred (their group was busy).
    pub fn deferred(&self, n: u64) {
        self.deferred.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            attempts_by_outcome: AttemptOutcome::ALL
                .iter()
                .map(|o| {
                    (
                        *o,
                        self.by_outcome[outcome_index(*o)].load(Ordering::Relaxed),
                    )
                })
                .collect(),
            latency_buckets: LATENCY_BUCKETS_MS
                .iter()
                .enumerate()
                .map(|(i, le)| (*le, self.latency_buckets[i].load(Ordering::Relaxed)))
                .collect(),
            latency_count: self.latency_count.load(Ordering::Relaxed),
            latency_sum_ms: self.latency_sum_ms.load(Ordering::Relaxed),
            deferred_total: self.deferred.load(Ordering::Relaxed),
        }
    }
}
