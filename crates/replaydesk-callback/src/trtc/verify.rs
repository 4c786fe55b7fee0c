//! A TRTC callback's `Sign` and `SdkAppId` headers and its freshness.

use crate::parse::CallbackError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use replaydesk_protocol::secret::Secret;
use sha2::Sha256;
use thiserror::Error;

/// Why a TRTC callback was refused. [`TrtcRefusal::reason`] is stored with the refused
/// body and answered to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrtcRefusal {
    /// No TRTC callback key is configured: nothing can be verified, so nothing is taken.
    #[error("no TRTC callback key is configured (trtc_callback_key), so no TRTC callback can be verified")]
    NoCallbackKey,
    /// The `Sign` header is missing, not base64, or not the HMAC of the body.
    #[error("Sign does not match base64(HMAC-SHA256(key, body)){}", if *.missing { " (no Sign header)" } else { "" })]
    BadSign { missing: bool },
    /// The `SdkAppId` header is not this server's IM app.
    #[error("SdkAppId {got:?} is not this server's app {expected}")]
    WrongApp { got: Option<String>, expected: u64 },
    /// `CallbackTs` is too old (a replay) or too far ahead.
    #[error("CallbackTs {callback_ts} is {} (server time {now_ms} ms; taken from {} min before to {} min after)", if *.callback_ts < *.now_ms { "too old" } else { "too far ahead" }, MAX_AGE_MS / 60_000, MAX_AHEAD_MS / 60_000)]
    Stale { callback_ts: i64, now_ms: i64 },
    /// The body verifies but does not read as a TRTC callback.
    #[error(transparent)]
    Malformed(#[from] CallbackError),
}

impl TrtcRefusal {
    /// `no_callback_key`, `bad_sign`, `wrong_app`, `stale`, or the body's own reason
    /// (`not_json`, `missing_field`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            TrtcRefusal::NoCallbackKey => "no_callback_key",
            TrtcRefusal::BadSign { .. } => "bad_sign",
            TrtcRefusal::WrongApp { .. } => "wrong_app",
            TrtcRefusal::Stale { .. } => "stale",
            TrtcRefusal::Malformed(e) => e.reason(),
        }
    }

    /// 401 for the sender's credentials and freshness; 422 for a body that verifies but
    /// does not read.
    pub fn http_status(&self) -> u16 {
        match self {
            TrtcRefusal::Malformed(_) => 422,
            _ => 401,
        }
    }
}

/// How old a `CallbackTs` may be: TRTC retries for about one minute; 15 minutes leaves
/// room for queues and clock differences without letting a captured body be replayed
/// for long.
pub const MAX_AGE_MS: i64 = 15 * 60 * 1000;
/// How far ahead of this server's clock a `CallbackTs` may lie (clock differences).
pub const MAX_AHEAD_MS: i64 = 5 * 60 * 1000;

/// base64(HMAC-SHA256(key, body)): the `Sign` TRTC sends (and `replaydesk callback send`
/// and the demo make).
pub fn sign_body(key: &Secret, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks `Sign` over the body exactly as received (no re-encoding: Tencent signs its
/// pretty-printed bytes), in constant time (`Mac::verify_slice`).
pub fn verify_sign(body: &[u8], sign: Option<&str>, key: &Secret) -> Result<(), TrtcRefusal> {
    if key.is_empty() {
        return Err(TrtcRefusal::NoCallbackKey);
    }
    let Some(sign) = sign.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(TrtcRefusal::BadSign { missing: true });
    };
    let Ok(got) = STANDARD.decode(sign) else {
        return Err(TrtcRefusal::BadSign { missing: false });
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&got)
        .map_err(|_| TrtcRefusal::BadSign { missing: false })
}

/// The `SdkAppId` header must be this server's IM app (TRTC and IM share the app).
pub fn check_app(header: Option<&str>, sdkappid: u64) -> Result<(), TrtcRefusal> {
    match header.map(str::trim) {
        Some(h) if h.parse::<u64>().ok() == Some(sdkappid) => Ok(()),
        got => Err(TrtcRefusal::WrongApp {
            got: got.map(|g| replaydesk_protocol::shortened(g, 40)),
            expected: sdkappid,
        }),
    }
}

/// `CallbackTs` must lie within [`MAX_AGE_MS`] before and [`MAX_AHEAD_MS`] after `now_ms`.
pub fn check_fresh(callback_ts: i64, now_ms: i64) -> Result<(), TrtcRefusal> {
    let age = i128::from(now_ms) - i128::from(callback_ts);
    if age > i128::from(MAX_AGE_MS) || -age > i128::from(MAX_AHEAD_MS) {
        return Err(TrtcRefusal::Stale {
            callback_ts,
            now_ms,
        });
    }
    Ok(())
}
