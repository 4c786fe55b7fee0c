//! Watching one clock over time: each [`ClockWatch::check`] compares a fresh reading with
//! the previous one and says whether the monotonic timeline stayed continuous. The host
//! re-reports the teacher's 1003 whenever it did not.

use super::{detect_discontinuity, ClockReading, Discontinuity, LocalClock};

/// A clock and its last reading.
#[derive(Debug)]
pub struct ClockWatch<C> {
    clock: C,
    last: ClockReading,
    tolerance_ms: u64,
}

impl<C: LocalClock> ClockWatch<C> {
    /// Starts watching `clock` from its reading now; gaps up to `tolerance_ms` between the
    /// clocks are reading jitter.
    pub fn new(clock: C, tolerance_ms: u64) -> Self {
        let last = clock.now();
        Self {
            clock,
            last,
            tolerance_ms,
        }
    }

    /// Reads the clock, compares with the previous reading and keeps the new one. A
    /// discontinuity is reported once: the next check compares against this reading.
    pub fn check(&mut self) -> (ClockReading, Discontinuity) {
        let now = self.clock.now();
        let what = detect_discontinuity(&self.last, &now, self.tolerance_ms);
        self.last = now;
        (now, what)
    }

    /// The last reading taken.
    pub fn last(&self) -> ClockReading {
        self.last
    }

    /// Takes a reading and makes it the new baseline (e.g. after a 1003 was sent with it).
    pub fn rebase(&mut self) -> ClockReading {
        self.last = self.clock.now();
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, DEFAULT_TOLERANCE_MS};

    fn watch() -> (ManualClock, ClockWatch<ManualClock>) {
        let clock = ManualClock::new(ClockReading {
            monotonic_ms: 1_000_000,
            continuous_ms: 1_200_000,
            wall_ms: 1_795_339_200_000,
        });
        (clock.clone(), ClockWatch::new(clock, DEFAULT_TOLERANCE_MS))
    }

    #[test]
    fn steady_time_reports_nothing_at_every_check() {
        let (clock, mut w) = watch();
        for _ in 0..5 {
            clock.advance(2_000);
            assert_eq!(w.check().1, Discontinuity::None);
        }
        assert_eq!(w.last().monotonic_ms, 1_010_000);
    }

    #[test]
    fn a_sleep_is_reported_once_then_time_is_steady_again() {
        let (clock, mut w) = watch();
        clock.advance(2_000);
        clock.sleep(600_000);
        let (reading, what) = w.check();
        assert_eq!(what, Discontinuity::Slept { slept_ms: 600_000 });
        assert_eq!(reading.monotonic_ms, 1_002_000);
        clock.advance(2_000);
        assert_eq!(w.check().1, Discontinuity::None);
    }

    #[test]
    fn wall_jump_and_reboot_are_reported() {
        let (clock, mut w) = watch();
        clock.step_wall(-30_000);
        assert_eq!(
            w.check().1,
            Discontinuity::WallClockJump { jump_ms: -30_000 }
        );
        clock.reboot(10_000, 20_000);
        assert_eq!(w.check().1, Discontinuity::Reset);
    }
}
