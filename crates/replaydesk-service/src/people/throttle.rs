//! Slowing down password guessing: per account and per source address.
//!
//! Per account: the first [`ACCOUNT_FREE_FAILURES`] wrong passwords in a row cost nothing;
//! each one after that doubles the wait before the next try is even checked (2 s, 4 s,
//! ... up to 15 minutes), so ten wrong passwords cost the next try 32 s. The count lives
//! on the user's row, so every node sharing the store applies it. A name that is no user
//! gets the same treatment from a count kept in memory, so the throttle does not tell
//! which names exist.
//!
//! Per source (an IPv6 /64 counts as one): [`SOURCE_FAILURES_PER_WINDOW`] failed sign-ins
//! or setups per ten minutes, then nothing is checked until the window ends. Kept in
//! memory per node: a source spreading its guesses over several nodes still meets each
//! account's own throttle.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;

/// Wrong passwords in a row an account may have before tries are slowed.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// The longest wait an account's throttle imposes (seconds).
pub const ACCOUNT_MAX_WAIT_SECS: u64 = 15 * 60;
/// Failed sign-ins one source may make per window.
pub const SOURCE_FAILURES_PER_WINDOW: u32 = 30;
/// The source window (ms).
const SOURCE_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Entries kept in memory before the oldest are dropped (a flood of made-up names or
/// addresses cannot grow the map without bound).
const MAX_ENTRIES: usize = 10_000;

/// How long an account with `failures` wrong passwords in a row, the last at
/// `last_failed_at`, must wait at `now` (whole seconds, at least 1), if at all.
pub fn account_wait(failures: i64, last_failed_at: Option<i64>, now: i64) -> Option<u64> {
    if failures < ACCOUNT_FREE_FAILURES {
        return None;
    }
    let last = last_failed_at?;
    let exp = u32::try_from(failures - ACCOUNT_FREE_FAILURES + 1).unwrap_or(u32::MAX);
    let wait_secs = 2u64.saturating_pow(exp).min(ACCOUNT_MAX_WAIT_SECS);
    let until = last.saturating_add(wait_secs as i64 * 1000);
    (now < until).then(|| ((until - now) as u64).div_ceil(1000).max(1))
}

/// The address a throttle counts: IPv4 as it is, IPv6 by its /64.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut seg = v6.segments();
            seg[4..].fill(0);
            IpAddr::V6(seg.into())
        }
    }
}

#[derive(Default)]
pub(crate) struct Throttle {
    /// Per source: failures in the current window and when it started.
    sources: Mutex<HashMap<IpAddr, (u32, i64)>>,
    /// Per name that is no user: failures in a row and the last one's time.
    unknown_names: Mutex<HashMap<String, (i64, i64)>>,
}

impl Throttle {
    /// Seconds `source` must wait before trying again, if it must.
    pub fn source_wait(&self, source: Option<IpAddr>, now: i64) -> Option<u64> {
        let key = source_key(source?);
        let map = self.sources.lock();
        let (n, start) = *map.get(&key)?;
        let end = start + SOURCE_WINDOW_MS;
        (n >= SOURCE_FAILURES_PER_WINDOW && now < end)
            .then(|| ((end - now) as u64).div_ceil(1000).max(1))
    }

    pub fn note_source_failure(&self, source: Option<IpAddr>, now: i64) {
        let Some(ip) = source else { return };
        let mut map = self.sources.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, start)| now < *start + SOURCE_WINDOW_MS);
        }
        let e = map.entry(source_key(ip)).or_insert((0, now));
        if now >= e.1 + SOURCE_WINDOW_MS {
            *e = (0, now);
        }
        e.0 += 1;
    }

    /// The wait for a name that is no user, as [`account_wait`] would give an account.
    pub fn unknown_name_wait(&self, name: &str, now: i64) -> Option<u64> {
        let map = self.unknown_names.lock();
        let (n, last) = *map.get(name)?;
        account_wait(n, Some(last), now)
    }

    pub fn note_unknown_name_failure(&self, name: &str, now: i64) {
        let mut map = self.unknown_names.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        let e = map.entry(name.to_owned()).or_insert((0, now));
        *e = (e.0 + 1, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_waits_more_with_each_failure_past_five() {
        assert_eq!(account_wait(4, Some(0), 0), None);
        assert_eq!(account_wait(5, Some(0), 0), Some(2));
        assert_eq!(account_wait(10, Some(0), 0), Some(64));
        assert_eq!(account_wait(10, Some(0), 64_000), None);
        assert_eq!(account_wait(40, Some(0), 0), Some(ACCOUNT_MAX_WAIT_SECS));
    }

    #[test]
    fn a_source_is_stopped_for_the_rest_of_its_window() {
        let t = Throttle::default();
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8::ffff".parse().unwrap();
        for _ in 0..SOURCE_FAILURES_PER_WINDOW {
            assert_eq!(t.source_wait(Some(ip), 0), None);
            t.note_source_failure(Some(ip), 0);
        }
        assert_eq!(t.source_wait(Some(neighbour), 1000), Some(599), "same /64");
        assert_eq!(t.source_wait(Some(ip), SOURCE_WINDOW_MS), None);
    }
}
