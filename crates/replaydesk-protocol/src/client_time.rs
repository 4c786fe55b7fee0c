//! Arithmetic on client clock readings. Most platforms report the low 32 bits of a
//! millisecond counter, which wraps about every 49.7 days; the seed's iOS code sends the
//! full 64-bit value. Differences are taken modulo 2^32 for the former, plainly for the latter.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How wide a client's clock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ClockWidth {
    /// Low 32 bits of a millisecond counter: arithmetic modulo 2^32.
    Bits32,
    /// A full 64-bit millisecond counter: plain arithmetic.
    Bits64,
}

impl ClockWidth {
    /// A clock is taken as 64-bit as soon as any of its readings does not fit 32 bits.
    /// (A 64-bit clock whose readings all still fit — uptime under 49.7 days — behaves the
    /// same as a 32-bit one for gaps under 24.8 days, which covers a class.)
    pub fn infer(readings: impl IntoIterator<Item = u64>) -> Self {
        if readings.into_iter().any(|r| r > u64::from(u32::MAX)) {
            ClockWidth::Bits64
        } else {
            ClockWidth::Bits32
        }
    }
}

/// `to − from` in milliseconds on a clock of the given width. For 32-bit clocks the
/// result is the shortest signed distance modulo 2^32 (within ±24.8 days).
pub fn client_delta_ms_with(width: ClockWidth, from: u64, to: u64) -> i64 {
    match width {
        ClockWidth::Bits32 => i64::from((to as u32).wrapping_sub(from as u32) as i32),
        ClockWidth::Bits64 => {
            let d = i128::from(to) - i128::from(from);
            i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
        }
    }
}

/// `to − from`, inferring the clock width from the two readings.
pub fn client_delta_ms(from: u64, to: u64) -> i64 {
    client_delta_ms_with(ClockWidth::infer([from, to]), from, to)
}

/// `base + delta_ms` on a clock of the given width (wrapping for 32-bit clocks; saturating
/// at the ends of the 64-bit range).
pub fn client_add_ms(width: ClockWidth, base: u64, delta_ms: i64) -> u64 {
    match width {
        ClockWidth::Bits32 => u64::from((base as u32).wrapping_add(delta_ms as u32)),
        ClockWidth::Bits64 => {
            let r = i128::from(base) + i128::from(delta_ms);
            r.clamp(0, i128::from(u64::MAX)) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wrap_of_a_32_bit_clock() {
        // The report was taken 296 ms before the wrap; the event 200 ms after it.
        let report = u64::from(u32::MAX) - 295;
        let event = 200;
        assert_eq!(client_delta_ms(report, event), 496);
        assert_eq!(client_delta_ms(event, report), -496);
        assert_eq!(client_add_ms(ClockWidth::Bits32, report, 496), event);
        assert_eq!(client_add_ms(ClockWidth::Bits32, event, -496), report);
    }

    #[test]
    fn sixty_four_bit_values_are_plain() {
        let a = 5_000_000_000u64; // beyond 32 bits: the seed's iOS value
        assert_eq!(ClockWidth::infer([a, 10]), ClockWidth::Bits64);
        assert_eq!(client_delta_ms(a, a + 7_000_000_000), 7_000_000_000);
        assert_eq!(client_delta_ms(a + 1, a), -1);
        assert_eq!(client_add_ms(ClockWidth::Bits64, a, -1), a - 1);
        assert_eq!(client_add_ms(ClockWidth::Bits64, 3, -10), 0);
    }

    #[test]
    fn history_fixture_values() {
        // teacher_li's 1003 and 1002 from the room42 fixture: about an hour apart.
        assert_eq!(client_delta_ms(3_408_123_311, 3_411_721_402), 3_598_091);
    }

    proptest! {
        #[test]
        fn delta_then_add_returns_for_32_bit(base in any::<u32>(), d in -(i32::MAX as i64)..=(i32::MAX as i64)) {
            let to = client_add_ms(ClockWidth::Bits32, u64::from(base), d);
            prop_assert!(to <= u64::from(u32::MAX));
            prop_assert_eq!(client_delta_ms_with(ClockWidth::Bits32, u64::from(base), to), d);
        }

        #[test]
        fn delta_then_add_returns_for_64_bit(base in 0u64..(1u64 << 62), d in -(1i64 << 40)..(1i64 << 40)) {
            prop_assume!(i128::from(base) + i128::from(d) >= 0);
            let to = client_add_ms(ClockWidth::Bits64, base, d);
            prop_assert_eq!(client_delta_ms_with(ClockWidth::Bits64, base, to), d);
        }
    }
}
