//! Telling, from two readings of one clock, whether the monotonic timeline stayed
//! continuous between them. A client must report a new 1003 pair when it did not.

use super::ClockReading;
use serde::{Deserialize, Serialize};

/// Differences below this are reading jitter (readings are not taken atomically).
pub const DEFAULT_TOLERANCE_MS: u64 = 50;

/// What happened between two readings, the most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discontinuity {
    /// The monotonic counter is continuous with the other clocks.
    None,
    /// A counter went backwards: the machine rebooted (or the readings are swapped).
    Reset,
    /// The machine slept for about `slept_ms`: the monotonic counter missed that time.
    Slept { slept_ms: u64 },
    /// The counters agree but the wall clock was stepped by `jump_ms` (positive = forward).
    WallClockJump { jump_ms: i64 },
}

/// Compares `earlier` and `later` readings; gaps up to `tolerance_ms` are ignored.
pub fn detect_discontinuity(
    earlier: &ClockReading,
    later: &ClockReading,
    tolerance_ms: u64,
) -> Discontinuity {
    if later.monotonic_ms < earlier.monotonic_ms || later.continuous_ms < earlier.continuous_ms {
        return Discontinuity::Reset;
    }
    let mono = later.monotonic_ms - earlier.monotonic_ms;
    let cont = later.continuous_ms - earlier.continuous_ms;
    // The through-sleep clock counts everything the monotonic one does, plus sleep.
    if cont > mono && cont - mono > tolerance_ms {
        return Discontinuity::Slept {
            slept_ms: cont - mono,
        };
    }
    let wall = i128::from(later.wall_ms) - i128::from(earlier.wall_ms);
    let jump = wall - i128::from(cont);
    if jump.unsigned_abs() > u128::from(tolerance_ms) {
        return Discontinuity::WallClockJump {
            jump_ms: i64::try_from(jump).unwrap_or(if jump < 0 { i64::MIN } else { i64::MAX }),
        };
    }
    Discontinuity::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocalClock, ManualClock};

    fn clock() -> ManualClock {
        ManualClock::new(ClockReading {
            monotonic_ms: 3_408_000_000,
            continuous_ms: 3_500_000_000,
            wall_ms: 1_795_339_200_000,
        })
    }

    #[test]
    fn plain_passage_of_time_is_continuous() {
        let c = clock();
        let a = c.now();
        c.advance(60_000);
        assert_eq!(
            detect_discontinuity(&a, &c.now(), DEFAULT_TOLERANCE_MS),
            Discontinuity::None
        );
    }

    #[test]
    fn sleep_is_reported_with_its_length() {
        let c = clock();
        let a = c.now();
        c.advance(1_000);
        c.sleep(7_200_000);
        c.advance(500);
        assert_eq!(
            detect_discontinuity(&a, &c.now(), DEFAULT_TOLERANCE_MS),
            Discontinuity::Slept {
                slept_ms: 7_200_000
            }
        );
    }

    #[test]
    fn short_sleep_under_tolerance_is_ignored() {
        let c = clock();
        let a = c.now();
        c.sleep(DEFAULT_TOLERANCE_MS);
        assert_eq!(
            detect_discontinuity(&a, &c.now(), DEFAULT_TOLERANCE_MS),
            Discontinuity::None
        );
    }

    #[test]
    fn reboot_is_a_reset() {
        let c = clock();
        let a = c.now();
        c.reboot(30_000, 45_000);
        assert_eq!(
            detect_discontinuity(&a, &c.now(), DEFAULT_TOLERANCE_MS),
            Discontinuity::Reset
        );
    }

    #[test]
    fn wall_clock_step_both_ways() {
        let c = clock();
        let a = c.now();
        c.advance(10);
        c.step_wall(-5_000);
        assert_eq!(
            detect_discontinuity(&a, &c.now(), DEFAULT_TOLERANCE_MS),
            Discontinuity::WallClockJump { jump_ms: -5_000 }
        );
        let b = c.now();
        c.step_wall(90_000);
        assert_eq!(
            detect_discontinuity(&b, &c.now(), DEFAULT_TOLERANCE_MS),
            Discontinuity::WallClockJump { jump_ms: 90_000 }
        );
    }
}
