//! The retry schedule: how long to wait before each retry of a transient failure.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
    /// Each delay is varied by up to this share either way, so retries of many messages
    /// failed together do not return together.
    jitter: f64,
}

impl Default for RetrySchedule {
    /// About a day of retries: quick at first, then hourly-ish.
    fn default() -> Self {
        let secs = [
            1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 43_200,
        ];
        Self::new(secs.iter().map(|s| Duration::from_secs(*s)).collect(), 0.2)
    }
}

impl RetrySchedule {
    pub fn new(delays: Vec<Duration>, jitter: f64) -> Self {
        Self {
            delays,
            jitter: jitter.clamp(0.0, 1.0),
        }
    }

    /// Parses "1s,5s,30s,2m,1h" (each part as [`parse_duration`] reads it).
    pub fn parse(text: &str, jitter: f64) -> Result<Self, String> {
        let delays = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(parse_duration)
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() {
            return Err("the retry schedule is empty".into());
        }
        Ok(Self::new(delays, jitter))
    }

    /// Retries allowed after the first attempt.
    pub fn len(&self) -> usize {
        self.delays.len()
    }

    pub fn is_empty(&self) -> bool {
        self.delays.is_empty()
    }

    /// The jittered delay before retry number `step` (0-based), or `None` when the
    /// schedule is used up.
    pub fn delay(&self, step: u32) -> Option<Duration> {
        let base = *self.delays.get(step as usize)?;
        Some(jittered(base, self.jitter))
    }
}

/// The longest delay accepted anywhere a duration is configured: a year. Longer is a typo,
/// and keeping every delay far below `i64::MAX` milliseconds means `now + delay` cannot
/// overflow.
pub const MAX_DELAY: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses one duration such as "50ms", "5s", "2m", "1h" or "1h 30m" (humantime's units;
/// checked: a number too large for its unit, or a result over [`MAX_DELAY`], is an error,
/// not a wrap-around). Errors quote `part`: it is a delay, never a secret.
pub fn parse_duration(part: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(part).map_err(|e| format!("{part:?}: {e}"))?;
    if d > MAX_DELAY {
        return Err(format!(
            "{part:?} is longer than the longest delay allowed (a year)"
        ));
    }
    Ok(d)
}

/// `when_ms` (Unix ms) plus `delay`, saturating instead of overflowing.
pub fn after(when_ms: i64, delay: Duration) -> i64 {
    when_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
}

/// `base` varied by up to `share` either way.
pub fn jittered(base: Duration, share: f64) -> Duration {
    if share <= 0.0 {
        return base;
    }
    let f = rand::rng().random_range((1.0 - share)..=(1.0 + share));
    // Checked: `mul_f64` panics on overflow, and a caller may pass any duration.
    Duration::try_from_secs_f64(base.as_secs_f64() * f).unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_exhaust() {
        let s = RetrySchedule::parse("50ms, 1s,2m,1h", 0.0).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s.delay(0), Some(Duration::from_millis(50)));
        assert_eq!(s.delay(2), Some(Duration::from_secs(120)));
        assert_eq!(s.delay(4), None);
        for bad in ["", "5", "5x", "s", "1s,,2q"] {
            assert!(RetrySchedule::parse(bad, 0.0).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_refuses_delays_that_overflow_instead_of_wrapping() {
        // 2^64 / 3600 hours would wrap `n * 3600` in unchecked maths (a panic in debug, a
        // tiny delay in release); a year and a day is over the cap.
        for bad in [
            "5124095576030431h",
            "18446744073709551615m",
            "18446744073709551616s",
            "8785h",
        ] {
            let err = RetrySchedule::parse(bad, 0.0).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert_eq!(
            RetrySchedule::parse("8784h", 0.0).unwrap().delay(0),
            Some(MAX_DELAY)
        );
    }

    #[test]
    fn after_saturates_instead_of_overflowing() {
        assert_eq!(after(i64::MAX - 5, Duration::from_secs(1)), i64::MAX);
        assert_eq!(after(1000, Duration::from_millis(20)), 1020);
    }

    #[test]
    fn jitter_stays_in_bounds() {
        let s = RetrySchedule::new(vec![Duration::from_secs(10)], 0.2);
        for _ in 0..1000 {
            let d = s.delay(0).unwrap();
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
                "{d:?}"
            );
        }
    }
}
