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

    /// Parses "1s,5s,30s,2m,1h" (units ms, s, m, h).
    pub fn parse(text: &str, jitter: f64) -> Result<Self, String> {
        let mut delays = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (num, unit) = part
                .find(|c: char| !c.is_ascii_digit())
                .map(|i| part.split_at(i))
                .ok_or_else(|| format!("{part:?} has no unit (ms, s, m, h)"))?;
            let n: u64 = num
                .parse()
                .map_err(|_| format!("{part:?} does not start with a number"))?;
            let d = match unit {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n * 60),
                "h" => Duration::from_secs(n * 3600),
                other => return Err(format!("unknown unit {other:?} in {part:?}")),
            };
            delays.push(d);
        }
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

/// `base` varied by up to `share` either way.
pub fn jittered(base: Duration, share: f64) -> Duration {
    if share <= 0.0 {
        return base;
    }
    let f = rand::rng().random_range((1.0 - share)..=(1.0 + share));
    base.mul_f64(f)
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
