//! Token buckets that pace requests below the IM service's limits, so that a burst is
//! smoothed instead of bounced off the service's frequency errors.
//!
//! Hand-written rather than `governor` (used for the per-source callback limit): here a
//! sender *reserves* a slot and is told how long to wait, so the attempts queued on one
//! busy group go out in order at exactly the group's rate with one timer each, and a group
//! slot is taken before the app-wide one. `governor`'s `until_ready` makes every waiter
//! poll and race for the next slot (no order, a herd of wake-ups per slot) on its own
//! timer rather than tokio's, which the pacing tests run paused.
//!
//! **Fairness across groups.** Messages are claimed oldest first across all groups, and a
//! claimed message used to wait for its group's slot in memory, holding a sending slot: a
//! group with a backlog of thousands filled every slot, and another group's next message
//! waited for the whole backlog (456 s behind 20,000 reports). Now each claimed message is
//! [`Limiters::plan`]ned: it goes when its group's slot lies within [`HORIZON`]; otherwise it
//! is deferred — put back in the store, due when its turn in the group comes (its group's
//! deferred messages queue behind one another, in claim order, at the group's rate). So a
//! busy group's backlog waits in the store, not in sending slots, and another group's
//! message is claimed and sent at once. A class start or end (1001/1002) is never deferred:
//! it takes the group's next slot, ahead of the backlog.

use parking_lot::Mutex;
use replaydesk_store::{Engine, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How far ahead a group's slots are given to claimed messages waiting in memory. A
/// message whose slot lies further is deferred in the store. A quarter second: a group
/// holds about as many waiting messages as its burst, whatever its backlog.
pub const HORIZON: Duration = Duration::from_millis(250);

/// What to do with a claimed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Send it once this has passed (its group slot is reserved).
    Go(Duration),
    /// Put it back in the store, due after this: its group is busy until then.
    Defer(Duration),
}

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
        let mut s = self.state.lock();
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

    /// How long a reservation made now would wait (nothing is taken).
    pub fn peek(&self) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let s = self.state.lock();
        let (tokens, last) = *s;
        let refilled = (tokens + Instant::now().duration_since(last).as_secs_f64() * self.rate)
            .min(self.burst);
        let left = refilled - 1.0;
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
    /// Per group, when its last deferred message is due: the end of its queue in the store.
    tails: Mutex<HashMap<String, Instant>>,
    /// Messages this worker deferred, with when each is due: claimed again, they take their
    /// turn instead of queueing behind the group's tail once more.
    deferred: Mutex<HashMap<i64, Instant>>,
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
            tails: Mutex::new(HashMap::new()),
            deferred: Mutex::new(HashMap::new()),
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
        let mut g = self.groups.lock();
        g.entry(group_id.to_owned())
            .or_insert_with(|| Arc::new(TokenBucket::new(self.group_rate, self.group_burst)))
            .clone()
    }

    /// Decides when a claimed message of `group_id` goes (see the module): a class start or
    /// end (`lifecycle`) takes the group's next slot; another message takes it when it lies
    /// within [`HORIZON`] and no deferred message of the group is still waiting for its
    /// turn, else it is deferred behind them. A message this worker deferred, claimed
    /// again, takes its turn. With no group rate, everything goes at once.
    pub fn plan(&self, group_id: &str, message_id: i64, lifecycle: bool) -> Plan {
        if self.group_rate <= 0.0 {
            return Plan::Go(Duration::ZERO);
        }
        let bucket = self.group(group_id);
        let now = Instant::now();
        let resumed = {
            let mut d = self.deferred.lock();
            if d.len() > 65_536 {
                // Deferred messages another worker took: forgotten once long past due.
                d.retain(|_, due| *due + Duration::from_secs(60) > now);
            }
            d.remove(&message_id).is_some()
        };
        if lifecycle {
            return Plan::Go(bucket.reserve());
        }
        let mut tails = self.tails.lock();
        let tail = tails.get(group_id).copied().filter(|t| *t > now);
        let wait = bucket.peek();
        if (resumed || tail.is_none()) && wait <= HORIZON {
            return Plan::Go(bucket.reserve());
        }
        let due = if resumed {
            // Its slot went to a class start or end meanwhile: the next one.
            now + wait
        } else {
            let interval = Duration::from_secs_f64(1.0 / self.group_rate);
            let due = tail.map_or(now + wait, |t| (t + interval).max(now + wait));
            if tails.len() > 4096 {
                tails.retain(|_, t| *t > now);
            }
            tails.insert(group_id.to_owned(), due);
            due
        };
        self.deferred.lock().insert(message_id, due);
        Plan::Defer(due - now)
    }

    /// Forgets that `message_id` was deferred (it could not be put back in the store and
    /// goes now instead).
    pub fn undefer(&self, message_id: i64) {
        self.deferred.lock().remove(&message_id);
    }

    /// Takes `group_id`'s next slot now, whatever its queue (a deferral that could not be
    /// written: the message goes in memory as before).
    pub fn reserve_now(&self, group_id: &str) -> Duration {
        self.group(group_id).reserve()
    }

    /// Waits out `group_wait` (the group slot [`Limiters::plan`] reserved), then for an
    /// app-wide request slot. The group first, so that waiting on a busy group does not
    /// hold app-wide tokens.
    pub async fn acquire_send(&self, group_id: &str, group_wait: Duration) {
        if !group_wait.is_zero() {
            tokio::time::sleep(group_wait).await;
        }
        if self.shared.is_some() {
            self.shared_slot(&format!("group:{group_id}"), self.group_rate)
                .await;
        }
        self.app.acquire().await;
        self.shared_slot("app", self.app_rate).await;
    }

    /// True when an app-wide slot is free now (no sender is waiting on the app's rate):
    /// work that must not slow delivery down (archiving) goes only then.
    pub fn app_idle(&self) -> bool {
        self.app.peek().is_zero()
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

    #[tokio::test(start_paused = true)]
    async fn a_busy_groups_backlog_is_deferred_in_order_and_others_go_at_once() {
        let l = Limiters::new(0.0, 40.0);
        let mut due = Vec::new();
        for id in 0..100 {
            match l.plan("busy", id, false) {
                Plan::Go(w) => assert!(w <= HORIZON, "{id}: {w:?}"),
                Plan::Defer(d) => due.push((id, d)),
            }
        }
        // About a quarter second's worth goes (the burst and the horizon); the rest wait in
        // the store, each one slot after the one before.
        assert!(due.len() >= 75 && due.len() <= 85, "{}", due.len());
        for pair in due.windows(2) {
            assert_eq!(pair[1].1 - pair[0].1, Duration::from_millis(25), "{pair:?}");
        }
        assert_eq!(l.plan("quiet", 1000, false), Plan::Go(Duration::ZERO));
        // A new message of the busy group queues behind its deferred ones...
        let Plan::Defer(d) = l.plan("busy", 1001, false) else {
            panic!("a new message jumped the queue")
        };
        assert_eq!(d, due.last().unwrap().1 + Duration::from_millis(25));
        // ...but its end takes the next slot.
        let Plan::Go(w) = l.plan("busy", 1002, true) else {
            panic!("an end was deferred")
        };
        assert!(w <= HORIZON + Duration::from_millis(25), "{w:?}");
        // Claimed again when due, a deferred message goes.
        let (first, d) = due[0];
        tokio::time::advance(d).await;
        assert!(matches!(l.plan("busy", first, false), Plan::Go(_)));
    }
}
