//! The machine's own clocks, one small `cfg`-gated function pair per platform.

use super::{unix_ms_now, ClockReading, LocalClock};

/// The platform's native clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeClock;

impl LocalClock for NativeClock {
    fn now(&self) -> ClockReading {
        let (monotonic_ms, continuous_ms) = platform::read_ms();
        ClockReading {
            monotonic_ms,
            continuous_ms,
            wall_ms: unix_ms_now(),
        }
    }
}

#[cfg(target_os = "macos")]
mod platform {
    //! Checked against mach2 0.7.0's `mach_time.rs`: `mach_timebase_info(info:
    //! mach_timebase_info_t) -> kern_return_t`, `mach_absolute_time() -> u64`,
    //! `mach_continuous_time() -> u64`, struct `mach_timebase_info { numer: u32, denom: u32 }`.
    use mach2::kern_return::KERN_SUCCESS;
    use mach2::mach_time::{
        mach_absolute_time, mach_continuous_time, mach_timebase_info, mach_timebase_info_data_t,
    };
    use std::sync::OnceLock;

    /// Ticks-to-milliseconds ratio, computed once as the seed does:
    /// `double r = 1.0 * info.numer / (info.denom * NSEC_PER_MSEC);`
    fn ratio() -> f64 {
        static RATIO: OnceLock<f64> = OnceLock::new();
        *RATIO.get_or_init(|| {
            let mut info = mach_timebase_info_data_t::default();
            // SAFETY: `info` is a valid, writable mach_timebase_info for the call.
            let kr = unsafe { mach_timebase_info(&mut info) };
            if kr != KERN_SUCCESS || info.denom == 0 {
                // Documented never to fail; nanosecond ticks are the Intel answer.
                return 1.0 / 1_000_000.0;
            }
            1.0 * f64::from(info.numer) / (f64::from(info.denom) * 1_000_000.0)
        })
    }

    /// `uint64_t time = (mach_absolute_time() * r);` — the same double arithmetic, so the
    /// value equals what the seed's iOS/macOS client reports for the same tick count.
    pub fn read_ms() -> (u64, u64) {
        let r = ratio();
        // SAFETY: both functions take no arguments and only read the kernel's counters.
        let (abs, cont) = unsafe { (mach_absolute_time(), mach_continuous_time()) };
        ((abs as f64 * r) as u64, (cont as f64 * r) as u64)
    }
}

#[cfg(target_os = "linux")]
mod platform {
    fn read(clock: libc::clockid_t) -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec; both clock ids exist on every supported kernel.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        if rc != 0 {
            return 0;
        }
        let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
        secs.saturating_mul(1000).saturating_add(nanos / 1_000_000)
    }

    /// `CLOCK_MONOTONIC` stops in suspend; `CLOCK_BOOTTIME` counts it.
    pub fn read_ms() -> (u64, u64) {
        (read(libc::CLOCK_MONOTONIC), read(libc::CLOCK_BOOTTIME))
    }
}

#[cfg(windows)]
mod platform {
    //! Checked against windows-sys 0.59: `QueryPerformanceCounter(*mut i64) -> BOOL`,
    //! `QueryPerformanceFrequency(*mut i64) -> BOOL` (System::Performance) and
    //! `QueryInterruptTime(*mut u64)` in 100 ns units, sleep included (WindowsProgramming).
    use windows_sys::Win32::System::Performance::{
        QueryPerformanceCounter, QueryPerformanceFrequency,
    };
    use windows_sys::Win32::System::WindowsProgramming::QueryInterruptTime;

    pub fn read_ms() -> (u64, u64) {
        let (mut count, mut freq, mut interrupt) = (0i64, 0i64, 0u64);
        // SAFETY: each pointer is to a valid local of the documented type.
        unsafe {
            QueryPerformanceFrequency(&mut freq);
            QueryPerformanceCounter(&mut count);
            QueryInterruptTime(&mut interrupt);
        }
        let mono = if freq > 0 {
            (i128::from(count) * 1000 / i128::from(freq)) as u64
        } else {
            0
        };
        (mono, interrupt / 10_000)
    }
}

#[cfg(not(any(target_os = "macos", target_os = "linux", windows)))]
mod platform {
    //! Elsewhere: a process-relative monotonic clock with no sleep information.
    use std::sync::OnceLock;
    use std::time::Instant;

    pub fn read_ms() -> (u64, u64) {
        static START: OnceLock<Instant> = OnceLock::new();
        let ms = START.get_or_init(Instant::now).elapsed().as_millis() as u64;
        (ms, ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_clock_moves_forward_with_real_time() {
        let clock = NativeClock;
        let a = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let b = clock.now();
        let mono = b.monotonic_ms - a.monotonic_ms;
        assert!(
            mono >= 25,
            "monotonic advanced {mono} ms over a 30 ms sleep"
        );
        assert!(b.continuous_ms >= a.continuous_ms + mono.saturating_sub(2));
        // The boot-relative clocks are nowhere near unix time.
        assert!(b.monotonic_ms < 1_000_000_000_000);
        // Nothing slept or jumped in between.
        assert_eq!(
            crate::detect_discontinuity(&a, &b, crate::DEFAULT_TOLERANCE_MS),
            crate::Discontinuity::None
        );
    }
}
