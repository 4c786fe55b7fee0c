//! Fault knobs: injected error codes, HTTP 500s, lost responses and added latency.

use super::codes;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::seq::IndexedRandom as _;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Largest latency the knobs accept, in milliseconds (base plus jitter).
pub const MAX_LATENCY_MS: u64 = 600_000;

/// The fault knobs. Every rate is a probability in `0..=1`, drawn independently per call.
/// They apply to `send_group_msg` only, unless `all_commands` is set.
///
/// Order within one call: the latency is waited first; then `http500_rate` (answered HTTP
/// 500, nothing processed); then, once the UserSig and the per-app limit passed,
/// `fail_rate` (answered with a code drawn uniformly from `fail_codes`, nothing
/// processed); then the call is processed, and `lost_response_rate` breaks its response:
/// the effect (a stored message, a created group) stays, and the connection is dropped
/// without a usable answer (see `lost_response` in this module's source).
///
/// Read and written as JSON by `GET/PUT /control/faults`; a `PUT` replaces the whole set
/// (absent fields take their defaults: no faults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Share of calls answered with an IM error code from `fail_codes`.
    pub fail_rate: f64,
    /// The codes `fail_rate` draws from (non-zero); default `[10002]`.
    pub fail_codes: Vec<i64>,
    /// Share of calls answered with HTTP 500 and an HTML body, unprocessed.
    pub http500_rate: f64,
    /// Share of calls processed whose response is then lost.
    pub lost_response_rate: f64,
    /// Delay added before a call is handled, in milliseconds.
    pub latency_ms: u64,
    /// Up to this many milliseconds more, drawn uniformly per call.
    pub latency_jitter_ms: u64,
    /// Apply the knobs to every command, not only `send_group_msg`.
    pub all_commands: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            fail_rate: 0.0,
            fail_codes: vec![codes::INTERNAL_ERROR],
            http500_rate: 0.0,
            lost_response_rate: 0.0,
            latency_ms: 0,
            latency_jitter_ms: 0,
            all_commands: false,
        }
    }
}

/// Why a [`FaultConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultConfigError {
    #[error("{name} must be a number between 0 and 1, got {value}")]
    RateOutOfRange { name: &'static str, value: String },
    #[error("fail_codes must be non-empty when fail_rate > 0")]
    NoFailCodes,
    #[error("fail_codes must not contain 0 (0 means success)")]
    ZeroFailCode,
    #[error("latency_ms + latency_jitter_ms must be at most {MAX_LATENCY_MS}")]
    LatencyTooLarge,
}

impl FaultConfig {
    /// No faults at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Checks every knob's range.
    pub fn validate(&self) -> Result<(), FaultConfigError> {
        for (name, value) in [
            ("fail_rate", self.fail_rate),
            ("http500_rate", self.http500_rate),
            ("lost_response_rate", self.lost_response_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultConfigError::RateOutOfRange {
                    name,
                    value: value.to_string(),
                });
            }
        }
        if self.fail_rate > 0.0 && self.fail_codes.is_empty() {
            return Err(FaultConfigError::NoFailCodes);
        }
        if self.fail_codes.contains(&codes::OK) {
            return Err(FaultConfigError::ZeroFailCode);
        }
        if self.latency_ms.saturating_add(self.latency_jitter_ms) > MAX_LATENCY_MS {
            return Err(FaultConfigError::LatencyTooLarge);
        }
        Ok(())
    }

    /// Whether the knobs apply to a call (`is_send`: the call is `send_group_msg`).
    pub(crate) fn applies_to(&self, is_send: bool) -> bool {
        self.all_commands || is_send
    }

    /// The delay to add to one call, jitter drawn.
    pub(crate) fn draw_latency(&self) -> Option<Duration> {
        if self.latency_ms == 0 && self.latency_jitter_ms == 0 {
            return None;
        }
        let jitter = if self.latency_jitter_ms > 0 {
            rand::rng().random_range(0..=self.latency_jitter_ms)
        } else {
            0
        };
        Some(Duration::from_millis(
            self.latency_ms.saturating_add(jitter),
        ))
    }

    pub(crate) fn draw_http500(&self) -> bool {
        roll(self.http500_rate)
    }

    pub(crate) fn draw_lost_response(&self) -> bool {
        roll(self.lost_response_rate)
    }

    /// The injected code for this call, if `fail_rate` hits.
    pub(crate) fn draw_failure(&self) -> Option<i64> {
        if !roll(self.fail_rate) {
            return None;
        }
        self.fail_codes.choose(&mut rand::rng()).copied()
    }
}

fn roll(rate: f64) -> bool {
    rate > 0.0 && rand::rng().random::<f64>() < rate
}

/// What an HTTP 500 of the service's gateway looks like: an HTML page, not IM JSON.
pub(crate) fn http500_response() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        "<html><head><title>500 Internal Server Error</title></head>\
         <body><h1>500 Internal Server Error</h1></body></html>\n",
    )
        .into_response()
}

/// A response that is lost on the way. It is built as status 200 with a `Content-Length`
/// for the whole `answer` but a body of only its first half; hyper aborts a body that
/// ends before its declared length by closing the connection. The head and the half body
/// are still in hyper's write buffer when that happens, so in practice the client sees
/// the connection closed with no reply at all (curl: "Empty reply from server"; reqwest:
/// an error from `send()`); should a flush ever come first, it sees a truncated body and
/// an error reading it. Either way no usable answer arrives, while the call's effect stays.
pub(crate) fn lost_response(answer: Vec<u8>) -> Response {
    let declared = answer.len().max(1);
    let sent = Bytes::copy_from_slice(answer.get(..declared / 2).unwrap_or_default());
    // A streamed body has no exact size, so hyper keeps the declared length and notices
    // the short body (a sized body with a wrong header trips a debug assertion instead).
    let body = Body::from_stream(Body::from(sent).into_data_stream());
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(declared)),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(FaultConfig::none().validate().is_ok());
        let bad = FaultConfig {
            fail_rate: 1.5,
            ..FaultConfig::none()
        };
        assert!(matches!(
            bad.validate(),
            Err(FaultConfigError::RateOutOfRange { .. })
        ));
        let nan = FaultConfig {
            http500_rate: f64::NAN,
            ..FaultConfig::none()
        };
        assert!(nan.validate().is_err());
        let no_codes = FaultConfig {
            fail_rate: 0.5,
            fail_codes: vec![],
            ..FaultConfig::none()
        };
        assert_eq!(no_codes.validate(), Err(FaultConfigError::NoFailCodes));
        let zero = FaultConfig {
            fail_codes: vec![0],
            ..FaultConfig::none()
        };
        assert_eq!(zero.validate(), Err(FaultConfigError::ZeroFailCode));
        let slow = FaultConfig {
            latency_ms: MAX_LATENCY_MS,
            latency_jitter_ms: 1,
            ..FaultConfig::none()
        };
        assert_eq!(slow.validate(), Err(FaultConfigError::LatencyTooLarge));
    }

    #[test]
    fn certain_and_impossible_rolls() {
        let always = FaultConfig {
            fail_rate: 1.0,
            fail_codes: vec![10006],
            http500_rate: 1.0,
            lost_response_rate: 1.0,
            ..FaultConfig::none()
        };
        let never = FaultConfig::none();
        for _ in 0..100 {
            assert_eq!(always.draw_failure(), Some(10006));
            assert!(always.draw_http500() && always.draw_lost_response());
            assert_eq!(never.draw_failure(), None);
            assert!(!never.draw_http500() && !never.draw_lost_response());
        }
        assert_eq!(never.draw_latency(), None);
    }

    #[test]
    fn partial_json_is_read_with_defaults() {
        let f: FaultConfig = serde_json::from_str(r#"{"fail_rate":0.25}"#).unwrap();
        assert_eq!(f.fail_rate, 0.25);
        assert_eq!(f.fail_codes, vec![10002]);
        assert!(serde_json::from_str::<FaultConfig>(r#"{"fail_rat":0.25}"#).is_err());
    }
}
