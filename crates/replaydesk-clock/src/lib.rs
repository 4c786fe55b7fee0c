//! Local clocks: the native monotonic counter a classroom client reports as its timeline
//! `timestamp`, paired with a reading that keeps counting while the machine sleeps, so a
//! sleep, a reboot or a wall-clock step between two readings can be detected.
//!
//! Platform sources (docs/protocol.md section 5):
//! - macOS: `mach_absolute_time` scaled by `mach_timebase_info` exactly as the seed's
//!   Objective-C does (stops in sleep) and `mach_continuous_time` (does not);
//! - Linux: `CLOCK_MONOTONIC` (stops in suspend) and `CLOCK_BOOTTIME` (does not);
//! - Windows: `QueryPerformanceCounter` and `QueryInterruptTime`.

mod detect;
mod manual;
mod native;
mod watch;

pub use detect::{detect_discontinuity, Discontinuity, DEFAULT_TOLERANCE_MS};
pub use manual::ManualClock;
pub use native::NativeClock;
pub use watch::ClockWatch;

use serde::{Deserialize, Serialize};

/// One reading of a [`LocalClock`], all three sources taken together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReading {
    /// Milliseconds of the platform's monotonic counter: what a client reports as its
    /// `timestamp`. Stops while the machine sleeps; restarts from zero at boot.
    pub monotonic_ms: u64,
    /// Milliseconds of a counter that continues through sleep (zero at boot).
    pub continuous_ms: u64,
    /// The wall clock, unix milliseconds; may be stepped by NTP or by hand.
    pub wall_ms: i64,
}

/// A source of [`ClockReading`]s: the machine's own clocks, or a [`ManualClock`] in tests.
pub trait LocalClock: Send + Sync {
    fn now(&self) -> ClockReading;
}

/// The current wall clock in unix milliseconds.
pub fn unix_ms_now() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        // A clock set before 1970: report it as negative rather than failing.
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

impl<T: LocalClock + ?Sized> LocalClock for std::sync::Arc<T> {
    fn now(&self) -> ClockReading {
        (**self).now()
    }
}
