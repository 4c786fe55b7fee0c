//! How many recording callbacks one source may send: the callback route has no token (its
//! `sign` is checked only after the body is read and parsed), so without a bound anyone who
//! can reach it decides how much work and how many writes we do. Each source address gets a
//! GCRA bucket (`governor`): `callback_rate_per_source` per second, a burst of ten seconds'
//! worth; a callback over it is answered 429 before its body is read, stored nowhere, and
//! counted.
//!
//! A source is an IPv4 address or an IPv6 /64 (one host usually holds a whole /64, so
//! per-address buckets would be free to multiply). The buckets are kept in memory; full
//! ones are dropped every [`PRUNE_EVERY`] checks so that many one-off sources do not pile up.

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Buckets are pruned (those back at full burst dropped) once per this many checks.
pub const PRUNE_EVERY: u64 = 1024;

type Keyed = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// The per-source limit on `POST /v1/callbacks/recording` (cheap to clone: shared state).
#[derive(Clone, Default)]
pub struct SourceLimiter {
    buckets: Option<Arc<Keyed>>,
    checks: Arc<AtomicU64>,
    limited: Arc<AtomicU64>,
}

impl std::fmt::Debug for SourceLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceLimiter")
            .field("enabled", &self.buckets.is_some())
            .field("limited", &self.limited_total())
            .finish()
    }
}

impl SourceLimiter {
    /// `per_sec` callbacks per second per source, with ten seconds' worth at once; `0` (or
    /// anything not positive) means no limit.
    pub fn new(per_sec: f64) -> Self {
        let buckets = (per_sec.is_finite() && per_sec > 0.0)
            .then(|| {
                let period = Duration::from_secs_f64(1.0 / per_sec);
                let burst = (per_sec * 10.0).ceil().clamp(1.0, f64::from(u32::MAX)) as u32;
                Quota::with_period(period)
                    .map(|q| q.allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN)))
            })
            .flatten()
            .map(|q| Arc::new(RateLimiter::keyed(q)));
        Self {
            buckets,
            ..Self::default()
        }
    }

    /// Takes one callback from `ip`'s bucket; `Err(wait)` when it is empty, with how long
    /// until one is allowed again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            buckets.retain_recent();
        }
        match buckets.check_key(&source_of(ip)) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                self.limited.fetch_add(1, Ordering::Relaxed);
                Err(not_until.wait_time_from(DefaultClock::default().now()))
            }
        }
    }

    /// Callbacks answered 429 since start.
    pub fn limited_total(&self) -> u64 {
        self.limited.load(Ordering::Relaxed)
    }

    /// Sources holding a bucket now (those not back at full burst, at most).
    pub fn sources(&self) -> usize {
        self.buckets.as_ref().map_or(0, |b| b.len())
    }
}

/// The key a source address is counted under: IPv4 as is (an IPv4-mapped IPv6 address
/// too), IPv6 by its /64.
pub(crate) fn source_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_burst_then_is_refused_while_others_are_not() {
        let l = SourceLimiter::new(1.0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..10 {
            assert_eq!(l.check(a), Ok(()));
        }
        let wait = l.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert_eq!(l.check(b), Ok(()), "another source has its own bucket");
        assert_eq!(l.limited_total(), 1);
    }

    #[test]
    fn addresses_in_one_ipv6_64_share_a_bucket() {
        let l = SourceLimiter::new(0.1);
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(l.check(first), Ok(()));
        assert!(l.check(same_64).is_err());
        assert_eq!(l.check(other_64), Ok(()));
        // An IPv4-mapped address is its IPv4 source.
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(l.check(v4), Ok(()));
        assert!(l.check(mapped).is_err());
    }

    #[test]
    fn zero_means_no_limit() {
        let l = SourceLimiter::new(0.0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..10_000 {
            assert_eq!(l.check(a), Ok(()));
        }
        assert_eq!(l.sources(), 0);
    }
}
