//! Token buckets for the per-app and per-group frequency limits.

use std::time::Instant;

/// A token bucket refilled at `rate` tokens a second, holding at most one second's worth
/// (so a burst of `rate` requests passes at once, then `rate` a second).
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket for `rate_per_s`; `None` when the limit is off (0).
    pub(crate) fn new(rate_per_s: u32, now: Instant) -> Option<Self> {
        if rate_per_s == 0 {
            return None;
        }
        let rate = f64::from(rate_per_s);
        Some(Self {
            rate,
            capacity: rate.max(1.0),
            tokens: rate.max(1.0),
            last: now,
        })
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Takes a token from an optional bucket: no bucket means no limit.
pub(crate) fn take(bucket: &mut Option<TokenBucket>, now: Instant) -> bool {
    bucket.as_mut().is_none_or(|b| b.try_take(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(5, t0).unwrap();
        for _ in 0..5 {
            assert!(b.try_take(t0));
        }
        assert!(!b.try_take(t0));
        assert!(!b.try_take(t0 + Duration::from_millis(100)));
        assert!(b.try_take(t0 + Duration::from_millis(250)));
        // Refill never exceeds one second's worth.
        let later = t0 + Duration::from_secs(100);
        for _ in 0..5 {
            assert!(b.try_take(later));
        }
        assert!(!b.try_take(later));
    }

    #[test]
    fn zero_is_off() {
        let now = Instant::now();
        assert!(TokenBucket::new(0, now).is_none());
        let mut none = None;
        for _ in 0..10_000 {
            assert!(take(&mut none, now));
        }
    }
}
