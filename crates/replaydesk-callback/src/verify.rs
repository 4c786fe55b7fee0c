//! The callback's signature and expiry (docs/protocol.md section 4).

use super::parse::{CallbackError, RecordingCallback};
use md5::{Digest, Md5};
use replaydesk_protocol::secret::Secret;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Why a callback was refused. [`Refusal::reason`] is a stable machine-readable string the
/// server stores with the refused body; `Display` is the message for a human.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The body could not be read (not JSON, not an object, `sign`/`t` missing, a field
    /// unusable); the reason is the error's own (`not_json`, `missing_field`, ...).
    #[error(transparent)]
    Malformed(#[from] CallbackError),
    /// `sign` is present but empty.
    #[error("required field `{field}` is missing")]
    MissingField { field: &'static str },
    /// No callback key is configured: with an empty key anyone could sign, so nothing is
    /// accepted.
    #[error("no callback key is configured, so no callback can be verified")]
    NoCallbackKey,
    /// `sign` is not `md5(callback_key + t)`.
    #[error("sign does not match md5(callback key + t)")]
    BadSign,
    /// The request's own expiry `t` (plus the allowance for clock skew) has passed.
    #[error("callback expired at t={t} (+{skew_allowance_s} s allowance); server time is {now}")]
    Expired {
        t: i64,
        now: i64,
        skew_allowance_s: i64,
    },
    /// `t` lies further ahead than any genuine callback's: the cloud sends about 10 minutes
    /// ahead, and a (t, sign) pair for a far `t` would verify any body for that long.
    #[error("t={t} is more than {max_ahead_s} s (+{skew_allowance_s} s allowance) after server time {now}")]
    TooFarAhead {
        t: i64,
        now: i64,
        max_ahead_s: i64,
        skew_allowance_s: i64,
    },
}

/// How far ahead of the server's clock `t` may lie: the cloud sets it about 10 minutes
/// after sending; 15 minutes leaves room for its clock running ahead.
pub const MAX_T_AHEAD_S: i64 = 900;

impl Refusal {
    /// `not_json`, `not_an_object`, `missing_field`, `invalid_field`, `no_callback_key`,
    /// `bad_sign` or `expired`.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Malformed(e) => e.reason(),
            Refusal::MissingField { .. } => "missing_field",
            Refusal::NoCallbackKey => "no_callback_key",
            Refusal::BadSign => "bad_sign",
            Refusal::Expired { .. } => "expired",
            Refusal::TooFarAhead { .. } => "t_too_far_ahead",
        }
    }

    /// The human message (same as `Display`).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// The sign the vendor computes: lower-case hex of `md5(callback_key + t_text)`.
pub fn expected_sign(callback_key: &Secret, t_text: &str) -> String {
    let mut h = Md5::new();
    h.update(callback_key.expose().as_bytes());
    h.update(t_text.as_bytes());
    hex::encode(h.finalize())
}

/// Checks a callback's `sign` and expiry.
///
/// - `sign` must equal lower-case hex `md5(callback_key + t)`; the received sign is
///   compared in constant time after lower-casing, so any hex case is accepted. `t` is
///   signed as the sender wrote it: its text when it came as a string, its decimal text
///   when it came as a number (both are tried when they differ, e.g. `"0017"` and `17`).
/// - The callback is refused as expired when `now_unix_s > t + skew_allowance_s`, and as
///   too far ahead when `t > now_unix_s + MAX_T_AHEAD_S + skew_allowance_s`.
///
/// The sign is checked before the expiry, so a forged request is reported as `bad_sign`.
///
/// **What the sign does not cover.** This is the vendor's scheme: the sign covers only the
/// key and `t`, not the body. Anyone who captures one signed callback can change every
/// other field (stream, file, URL, times) and it still verifies until `t` passes. The
/// expiry bounds that window; deduplicating by `file_key` and keeping every raw body for
/// audit are the remaining defences.
pub fn verify(
    cb: &RecordingCallback,
    callback_key: &Secret,
    now_unix_s: i64,
    skew_allowance_s: i64,
) -> Result<(), Refusal> {
    if callback_key.is_empty() {
        return Err(Refusal::NoCallbackKey);
    }
    let got = cb.sign.trim().to_ascii_lowercase();
    if got.is_empty() {
        return Err(Refusal::MissingField { field: "sign" });
    }
    let canonical = cb.t.to_string();
    let mut ok = sign_matches(&got, &expected_sign(callback_key, &cb.t_text));
    if cb.t_text != canonical {
        ok |= sign_matches(&got, &expected_sign(callback_key, &canonical));
    }
    if !ok {
        return Err(Refusal::BadSign);
    }
    if i128::from(now_unix_s) > i128::from(cb.t) + i128::from(skew_allowance_s) {
        return Err(Refusal::Expired {
            t: cb.t,
            now: now_unix_s,
            skew_allowance_s,
        });
    }
    if i128::from(cb.t)
        > i128::from(now_unix_s) + i128::from(MAX_T_AHEAD_S) + i128::from(skew_allowance_s)
    {
        return Err(Refusal::TooFarAhead {
            t: cb.t,
            now: now_unix_s,
            max_ahead_s: MAX_T_AHEAD_S,
            skew_allowance_s,
        });
    }
    Ok(())
}

fn sign_matches(got_lower: &str, expected: &str) -> bool {
    // Lengths are public (always 32 for a real sign); `ct_eq` on slices of different
    // lengths is simply false.
    bool::from(got_lower.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "replaydesk-fixture-callback-key";

    fn cb(t: serde_json::Value, sign: &str) -> RecordingCallback {
        RecordingCallback::from_value(json!({"t": t, "sign": sign})).unwrap()
    }

    #[test]
    fn fixture_sign_values() {
        let key = Secret::new(KEY);
        assert_eq!(
            expected_sign(&key, "1795343411"),
            "37d59c3d103eaf4327aeeaca9853c7ab"
        );
        assert_eq!(
            expected_sign(&key, "1795343999"),
            "8ffe900ede1a7207b54df30446b3149f"
        );
    }

    #[test]
    fn sign_case_and_t_forms() {
        let key = Secret::new(KEY);
        let s = expected_sign(&key, "1000");
        assert_eq!(verify(&cb(json!(1000), &s), &key, 1000, 0), Ok(()));
        assert_eq!(verify(&cb(json!("1000"), &s), &key, 1000, 0), Ok(()));
        assert_eq!(
            verify(&cb(json!(1000), &s.to_uppercase()), &key, 1000, 0),
            Ok(())
        );
        assert_eq!(verify(&cb(json!(1000.0), &s), &key, 1000, 0), Ok(()));
        // Signed over the text as sent, or its canonical decimal.
        let padded = expected_sign(&key, "01000");
        assert_eq!(verify(&cb(json!("01000"), &padded), &key, 1000, 0), Ok(()));
        assert_eq!(verify(&cb(json!("01000"), &s), &key, 1000, 0), Ok(()));
    }

    #[test]
    fn refusals_and_their_reasons() {
        let key = Secret::new(KEY);
        let s = expected_sign(&key, "1000");
        let r = verify(&cb(json!(1000), &s), &key, 1001, 0).unwrap_err();
        assert_eq!(r.reason(), "expired");
        assert!(r.message().contains("t=1000"), "{r}");
        assert_eq!(verify(&cb(json!(1000), &s), &key, 1060, 60), Ok(()));
        assert_eq!(
            verify(&cb(json!(1000), &s), &key, 1061, 60)
                .unwrap_err()
                .reason(),
            "expired"
        );
        let r = verify(&cb(json!(1001), &s), &key, 0, 0).unwrap_err();
        assert_eq!(r, Refusal::BadSign);
        assert_eq!(r.reason(), "bad_sign");
        // A bad sign on an expired request is a bad sign.
        assert_eq!(
            verify(&cb(json!(1), "00"), &key, 5000, 0).unwrap_err(),
            Refusal::BadSign
        );
        assert_eq!(
            verify(&cb(json!(1000), "  "), &key, 0, 0)
                .unwrap_err()
                .reason(),
            "missing_field"
        );
        assert_eq!(
            verify(
                &cb(json!(1000), &expected_sign(&Secret::new(""), "1000")),
                &Secret::new(""),
                0,
                0
            )
            .unwrap_err()
            .reason(),
            "no_callback_key"
        );
        let r: Refusal = RecordingCallback::parse(b"{\"t\":1}").unwrap_err().into();
        assert_eq!(r.reason(), "missing_field");
        assert!(r.message().contains("sign"));
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        // Parsing bounds `t` to 0..2^53; verify itself must not overflow on any i64.
        let key = Secret::new(KEY);
        let with_t = |t: i64| {
            let mut c = cb(json!(1), &expected_sign(&key, &t.to_string()));
            c.t = t;
            c.t_text = t.to_string();
            c
        };
        assert_eq!(verify(&with_t(i64::MAX), &key, i64::MAX, i64::MAX), Ok(()));
        assert!(verify(&with_t(i64::MIN), &key, i64::MAX, i64::MIN).is_err());
        assert!(verify(&with_t(i64::MAX), &key, i64::MIN, i64::MAX).is_err());
    }

    /// Hole 7: a (t, sign) pair for a far future `t` is refused; the cloud's own ~10 min
    /// ahead passes.
    #[test]
    fn t_beyond_the_window_is_refused() {
        let key = Secret::new(KEY);
        let now = 1_795_343_000;
        let at = |t: i64| cb(json!(t), &expected_sign(&key, &t.to_string()));
        assert_eq!(verify(&at(now + 600), &key, now, 0), Ok(()));
        assert_eq!(verify(&at(now + MAX_T_AHEAD_S), &key, now, 0), Ok(()));
        let year_2100 = 4_102_444_800;
        let r = verify(&at(year_2100), &key, now, 300).unwrap_err();
        assert_eq!(r.reason(), "t_too_far_ahead");
        assert_eq!(
            verify(&at(now + MAX_T_AHEAD_S + 1), &key, now, 0)
                .unwrap_err()
                .reason(),
            "t_too_far_ahead"
        );
    }

    #[test]
    fn the_key_never_shows_in_a_refusal() {
        let key = Secret::new(KEY);
        for r in [
            verify(&cb(json!(1), "bad"), &key, 0, 0).unwrap_err(),
            verify(&cb(json!(1), &expected_sign(&key, "1")), &key, 9, 0).unwrap_err(),
        ] {
            assert!(!format!("{r} {r:?}").contains(KEY));
        }
    }
}
