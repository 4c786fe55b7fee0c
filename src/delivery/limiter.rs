//! Token buckets that pace requests below the IM service's limits, so that a burst is
//! smoothed instead of bounced off the service's frequency errors.
//!
//! Hand-written rather than `governor` (used for the per-source callback limit): here a
//! sender *reserves* a slot and is told how long to wait, so the attempts queued on one
//! busy group go out in order at exactly the group's rate with one timer each, and a group
//! slot is taken before the app-wide one. `governor`'s `until_ready` makes every waiter
//! poll and race for the next slot (no order, a herd of wake-ups per slot) on its own
//! timer rather than tokio's, which the pacing tests run paused.

use crate::store::{Engine, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket with reservations: a caller takes a token now and is told how long to
/// wait before using it, so waiting callers are served in order at exactly `rate`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// `rate` tokens a second, at most `burst` saved up. A rate of 0 means unlimited.
    pub fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        Self {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token; returns how long to wait before acting on it.
    pub fn reserve(&self) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *s;
        let refilled =
            (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
        let left = refilled - 1.0;
        *s = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / self.rate)
        }
    }

    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The app-wide bucket and one bucket per group.
#[derive(Debug)]
pub struct Limiters {
    app: TokenBucket,
    group_rate: f64,
    group_burst: f64,
    groups: Mutex<HashMap<String, Arc<TokenBucket>>>,
    /// On PostgreSQL, where several nodes send for one app: the budgets every node shares
    /// (see `store::rate`), taken after this process's own buckets.
    shared: Option<Store>,
    app_rate: f64,
}

/// Saved-up tokens as a share of a second's rate. Small, so that the service's own bucket
/// (a second's worth) always has room for requests that arrive bunched by network jitter.
const BURST_SHARE: f64 = 0.25;

impl Limiters {
    /// Rates in requests per second; 0 turns a limit off.
    pub fn new(app_rate: f64, group_rate: f64) -> Self {
        Self {
            app: TokenBucket::new(app_rate, app_rate * BURST_SHARE),
            group_rate,
            group_burst: group_rate * BURST_SHARE,
            groups: Mutex::new(HashMap::new()),
            shared: None,
            app_rate,
        }
    }

    /// The same limits, held across every node on `store`'s database when it is shared
    /// (PostgreSQL); on SQLite, this process's buckets alone.
    pub fn for_store(app_rate: f64, group_rate: f64, store: &Store) -> Self {
        let mut l = Self::new(app_rate, group_rate);
        if store.engine() == Engine::Postgres {
            l.shared = Some(store.clone());
        }
        l
    }

    /// Waits for a slot of the shared budget `key` (nothing to wait for without one, or
    /// with the limit off). A database error is logged and the slot taken: this process's
    /// own bucket has already paced the request, and a database that cannot answer this
    /// cannot record the send either.
    async fn shared_slot(&self, key: &str, rate: f64) {
        let Some(store) = &self.shared else { return };
        if rate <= 0.0 {
            return;
        }
        let interval = Duration::from_secs_f64(1.0 / rate);
        let burst = Duration::from_secs_f64(BURST_SHARE);
        match store.reserve_shared_slot(key, interval, burst).await {
            Ok(slot) if !slot.wait.is_zero() => tokio::time::sleep(slot.wait).await,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, key, "shared rate budget unavailable"),
        }
    }

    fn group(&self, group_id: &str) -> Arc<TokenBucket> {
        let mut g = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        g.entry(group_id.to_owned())
            .or_insert_with(|| Arc::new(TokenBucket::new(self.group_rate, self.group_burst)))
            .clone()
    }

    /// Waits for a message slot in `group_id`, then for an app-wide request slot. The group
    /// first, so that waiting on a busy group does not hold app-wide tokens.
    pub async fn acquire_send(&self, group_id: &str) {
        self.group(group_id).acquire().await;
        if self.shared.is_some() {
            self.shared_slot(&format!("group:{group_id}"), self.group_rate)
                .await;
        }
        self.app.acquire().await;
        self.shared_slot("app", self.app_rate).await;
    }

    /// Waits for an app-wide request slot (history look-ups and other calls).
    pub async fn acquire_call(&self) {
        self.app.acquire().await;
        self.shared_slot("app", self.app_rate).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn reservations_space_requests_at_the_rate() {
        let b = TokenBucket::new(40.0, 10.0);
        let waits: Vec<Duration> = (0..50).map(|_| b.reserve()).collect();
        assert!(waits[..10].iter().all(|w| w.is_zero()));
        // The 11th waits one interval, the 50th forty.
        assert_eq!(waits[10].as_millis(), 25);
        assert_eq!(waits[49].as_millis(), 1000);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(b.reserve().is_zero(), "refilled after idling");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_rate_is_unlimited() {
        let b = TokenBucket::new(0.0, 0.0);
        assert!((0..10_000).all(|_| b.reserve().is_zero()));
    }
}
