//! A clock tests drive by hand: advance it, put the machine to sleep, step its wall
//! clock, or reboot it.

use super::{ClockReading, LocalClock};
use std::sync::{Arc, Mutex};

/// A controllable [`LocalClock`]. Clones share one state.
#[derive(Debug, Clone)]
pub struct ManualClock {
    state: Arc<Mutex<ClockReading>>,
}

impl ManualClock {
    pub fn new(start: ClockReading) -> Self {
        Self {
            state: Arc::new(Mutex::new(start)),
        }
    }

    fn update(&self, f: impl FnOnce(&mut ClockReading)) {
        // A poisoned lock only means another test thread panicked; the reading is plain data.
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
    }

    /// Time passes with the machine awake: all three clocks move together.
    pub fn advance(&self, ms: u64) {
        self.update(|s| {
            s.monotonic_ms += ms;
            s.continuous_ms += ms;
            s.wall_ms += ms as i64;
        });
    }

    /// The machine sleeps for `ms`: the monotonic clock stands still, the others move.
    pub fn sleep(&self, ms: u64) {
        self.update(|s| {
            s.continuous_ms += ms;
            s.wall_ms += ms as i64;
        });
    }

    /// The wall clock is stepped by `ms` (NTP or by hand); the counters do not move.
    pub fn step_wall(&self, ms: i64) {
        self.update(|s| s.wall_ms += ms);
    }

    /// The machine reboots after `down_ms`: both counters restart near zero.
    pub fn reboot(&self, down_ms: u64, uptime_after_ms: u64) {
        self.update(|s| {
            s.monotonic_ms = uptime_after_ms;
            s.continuous_ms = uptime_after_ms;
            s.wall_ms += (down_ms + uptime_after_ms) as i64;
        });
    }
}

impl LocalClock for ManualClock {
    fn now(&self) -> ClockReading {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
