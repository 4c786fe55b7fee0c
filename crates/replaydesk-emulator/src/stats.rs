//! What the emulator answered: counts for assertions in tests and for `GET /control/stats`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counters since start or the last reset.
///
/// `per_error_code` counts the IM answers that reached the client (code 0 included);
/// lost responses and HTTP 500s are counted only in their own fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatorStats {
    /// Requests received on the IM API (`/v4/...` and unknown paths), all outcomes.
    pub requests: u64,
    /// Requests per command name (`send_group_msg`, ..., `unknown`).
    pub per_command: BTreeMap<String, u64>,
    /// Answers per `ErrorCode`.
    pub per_error_code: BTreeMap<i64, u64>,
    /// Frequency-limit answers of the rate limiters (`app_rate_limited + group_rate_limited`);
    /// injected fault codes are not counted here, even 10006.
    pub frequency_errors: u64,
    /// 60011 answers of the per-app limiter.
    pub app_rate_limited: u64,
    /// 10023 answers of the per-group limiter.
    pub group_rate_limited: u64,
    /// `send_group_msg` calls answered as a duplicate of an earlier `Random`.
    pub duplicates_absorbed: u64,
    /// Messages stored in a group's history.
    pub messages_stored: u64,
    /// Answers replaced by an error code from `fail_codes` (fault knob `fail_rate`).
    pub injected_failures: u64,
    /// Calls processed whose response was then broken on purpose (`lost_response_rate`).
    pub lost_responses: u64,
    /// HTTP 500 answers (`http500_rate`).
    pub http500s: u64,
}

impl EmulatorStats {
    pub(crate) fn count_request(&mut self, command: &str) {
        self.requests += 1;
        *self.per_command.entry(command.to_owned()).or_default() += 1;
    }

    pub(crate) fn count_answer(&mut self, code: i64) {
        *self.per_error_code.entry(code).or_default() += 1;
    }

    /// The number of answers that carried `code`.
    pub fn answers_with(&self, code: i64) -> u64 {
        self.per_error_code.get(&code).copied().unwrap_or(0)
    }
}
