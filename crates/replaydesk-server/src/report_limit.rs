//! How many reports one credential and one class may send (`[limits]`): without a bound
//! one member's client decided how much work, storage and delivery backlog everyone else
//! waited behind. Each credential (a member credential; the legacy class-wide token per
//! uid it speaks for) and each class gets a GCRA bucket (`governor`, as the callback
//! limit): a rate per second with [`REPORT_BURST_SECS`] seconds' worth at once. A report
//! over either is answered 429 `rate_limited` with `Retry-After`, stored nowhere, and
//! counted by which limit refused it.
//!
//! The class limit takes timeline reports only: a class's start and end are one message
//! each, and a flood of reports must not keep the teacher from ending the class. The
//! credential is checked first, so a flooding member spends its own bucket, not the class's.

use super::error::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use replaydesk_service::config::{ReportLimits, REPORT_BURST_SECS};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Full buckets are dropped once per this many checks.
const PRUNE_EVERY: u64 = 4096;

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

fn keyed(per_sec: f64, burst_secs: f64) -> Option<Arc<Keyed>> {
    if !(per_sec.is_finite() && per_sec > 0.0) {
        return None;
    }
    let period = Duration::from_secs_f64(1.0 / per_sec);
    let burst = (per_sec * burst_secs)
        .ceil()
        .clamp(1.0, f64::from(u32::MAX)) as u32;
    let quota =
        Quota::with_period(period)?.allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
    Some(Arc::new(RateLimiter::keyed(quota)))
}

/// The report limits of one server (cheap to clone: shared state).
#[derive(Clone, Default)]
pub struct ReportLimiter {
    per_credential: Option<Arc<Keyed>>,
    per_class: Option<Arc<Keyed>>,
    checks: Arc<AtomicU64>,
    limited_credential: Arc<AtomicU64>,
    limited_class: Arc<AtomicU64>,
}

impl std::fmt::Debug for ReportLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportLimiter")
            .field("per_credential", &self.per_credential.is_some())
            .field("per_class", &self.per_class.is_some())
            .finish()
    }
}

/// Which limit refused a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Credential,
    Class,
}

impl ReportLimiter {
    pub fn new(limits: &ReportLimits) -> Self {
        Self {
            per_credential: keyed(limits.reports_per_credential, REPORT_BURST_SECS),
            per_class: keyed(limits.reports_per_class, REPORT_BURST_SECS),
            ..Self::default()
        }
    }

    /// A per-credential limit alone, of `per_sec` with `burst_secs` of them at once.
    pub fn with_burst(per_sec: f64, burst_secs: f64) -> Self {
        Self {
            per_credential: keyed(per_sec, burst_secs),
            ..Self::default()
        }
    }

    /// Takes one report of `uid` in `class_id` (also from the class's bucket when
    /// `counts_for_class`): `Err((scope, wait))` when a bucket is empty.
    pub fn take(
        &self,
        class_id: &str,
        uid: &str,
        counts_for_class: bool,
    ) -> Result<(), (Scope, Duration)> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            for l in [&self.per_credential, &self.per_class]
                .into_iter()
                .flatten()
            {
                l.retain_recent();
            }
        }
        let now = || DefaultClock::default().now();
        if let Some(l) = &self.per_credential {
            // The NUL cannot occur in a class id or a valid uid: the pair is unambiguous.
            if let Err(not_until) = l.check_key(&format!("{class_id}\0{uid}")) {
                self.limited_credential.fetch_add(1, Ordering::Relaxed);
                return Err((Scope::Credential, not_until.wait_time_from(now())));
            }
        }
        if counts_for_class {
            if let Some(l) = &self.per_class {
                if let Err(not_until) = l.check_key(&class_id.to_owned()) {
                    self.limited_class.fetch_add(1, Ordering::Relaxed);
                    return Err((Scope::Class, not_until.wait_time_from(now())));
                }
            }
        }
        Ok(())
    }

    /// [`ReportLimiter::take`] as the HTTP answer: 429 `rate_limited` with `Retry-After`.
    pub fn admit(&self, class_id: &str, uid: &str, counts_for_class: bool) -> Result<(), ApiError> {
        self.take(class_id, uid, counts_for_class)
            .map_err(|(scope, wait)| {
                let (what, key) = match scope {
                    Scope::Credential => ("this credential", "limits.reports_per_credential"),
                    Scope::Class => ("this class", "limits.reports_per_class"),
                };
                ApiError::rate_limited(format!("too many reports from {what} ({key})"), wait)
            })
    }

    /// Reports refused since start, by the limit that refused them.
    pub fn limited_total(&self, scope: Scope) -> u64 {
        match scope {
            Scope::Credential => self.limited_credential.load(Ordering::Relaxed),
            Scope::Class => self.limited_class.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_gets_its_burst_and_others_keep_theirs() {
        let l = ReportLimiter::new(&ReportLimits {
            reports_per_credential: 1.0,
            reports_per_class: 0.0,
        });
        for _ in 0..30 {
            assert!(l.take("c1", "stu", true).is_ok());
        }
        let (scope, wait) = l.take("c1", "stu", true).unwrap_err();
        assert_eq!(scope, Scope::Credential);
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(l.take("c1", "teacher", true).is_ok(), "another member");
        assert!(
            l.take("c2", "stu", true).is_ok(),
            "the same uid in another class"
        );
        assert_eq!(l.limited_total(Scope::Credential), 1);
    }

    #[test]
    fn the_class_limit_takes_timeline_reports_only() {
        let l = ReportLimiter::new(&ReportLimits {
            reports_per_credential: 0.0,
            reports_per_class: 0.1,
        });
        for i in 0..3 {
            assert!(l.take("c1", &format!("s{i}"), true).is_ok());
        }
        assert_eq!(l.take("c1", "s9", true).unwrap_err().0, Scope::Class);
        assert!(l.take("c1", "teacher", false).is_ok(), "an end still goes");
        assert!(l.take("c2", "s9", true).is_ok(), "another class");
        assert!(ReportLimiter::new(&ReportLimits::none())
            .take("c", "u", true)
            .is_ok());
    }
}
