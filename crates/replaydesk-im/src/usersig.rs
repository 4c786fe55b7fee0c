//! Version-2 UserSig: the credential the IM REST API takes in its `usersig` query parameter.
//!
//! The algorithm is public (docs/protocol.md section 3, Tencent's `TLSSigAPIv2`): an HMAC-SHA256
//! over a fixed text, wrapped in a small JSON object that is zlib-compressed and encoded in a
//! URL-safe variant of base64. Generation is used by the IM client; verification by the
//! emulator, which must refuse exactly what the real service refuses.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::io::{Read as _, Write as _};

type HmacSha256 = Hmac<Sha256>;

/// The validity the vendor's generator uses when none is given: 180 days.
pub const DEFAULT_EXPIRE_SECS: u64 = 180 * 86_400;

/// A decoded sig larger than this is refused before inflating further (a zip bomb guard;
/// real sigs inflate to a few hundred bytes).
const MAX_INFLATED_BYTES: u64 = 16 * 1024;

/// Why a UserSig was refused, with the IM error code the real service answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSigError {
    /// Not decodable: bad base64, not zlib, not JSON, missing or mistyped fields.
    #[error("UserSig is malformed: {0}")]
    Malformed(String),
    /// `now > TLS.time + TLS.expire`.
    #[error("UserSig expired at unix time {expired_at}")]
    Expired { expired_at: i128 },
    /// The HMAC does not match: signed with another key, or altered.
    #[error("UserSig signature does not verify (wrong secret key or altered sig)")]
    BadSignature,
    /// Made for another identifier than the one that presents it.
    #[error("UserSig was made for identifier {signed:?}, not {presented:?}")]
    IdentifierMismatch { signed: String, presented: String },
    /// Made for another SDKAppID.
    #[error("UserSig was made for sdkappid {signed}, not {presented}")]
    SdkAppIdMismatch { signed: u64, presented: u64 },
}

impl UserSigError {
    /// The `ErrorCode` the IM service answers for this failure.
    pub fn im_error_code(&self) -> u32 {
        match self {
            UserSigError::Expired { .. } => 70001,
            UserSigError::Malformed(_) => 70003,
            UserSigError::BadSignature => 70009,
            UserSigError::IdentifierMismatch { .. } => 70013,
            UserSigError::SdkAppIdMismatch { .. } => 70014,
        }
    }
}

/// The fields a valid sig carried, returned by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUserSig {
    pub identifier: String,
    pub sdkappid: u64,
    /// Unix seconds at which the sig was made.
    pub time: i64,
    /// Seconds of validity from `time`.
    pub expire: u64,
    /// The user buffer, when the sig carried one.
    pub userbuf: Option<Vec<u8>>,
}

impl VerifiedUserSig {
    /// Unix seconds after which the sig is refused.
    pub fn expires_at(&self) -> i128 {
        i128::from(self.time) + i128::from(self.expire)
    }
}

/// The exact text the HMAC covers (docs/protocol.md section 3, step 1).
fn content_to_sign(
    identifier: &str,
    sdkappid: u64,
    time: i64,
    expire: u64,
    userbuf_b64: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(buf) = userbuf_b64 {
        s.push_str("TLS.userbuf:");
        s.push_str(buf);
        s.push('\n');
    }
    s
}

fn mac_for(key: &str, content: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(content.as_bytes());
    mac
}

/// The `TLS.sig` field: standard base64 of the HMAC-SHA256 of the content.
pub fn hmac_field(identifier: &str, sdkappid: u64, time: i64, expire: u64, key: &str) -> String {
    let content = content_to_sign(identifier, sdkappid, time, expire, None);
    STANDARD.encode(mac_for(key, &content).finalize().into_bytes())
}

/// Makes a UserSig for `identifier`, valid from `time` (unix seconds) for `expire` seconds.
pub fn generate(sdkappid: u64, identifier: &str, key: &str, time: i64, expire: u64) -> String {
    generate_with_userbuf(sdkappid, identifier, key, time, expire, None)
}

/// As [`generate`], with the optional user buffer the vendor's API also signs.
pub fn generate_with_userbuf(
    sdkappid: u64,
    identifier: &str,
    key: &str,
    time: i64,
    expire: u64,
    userbuf: Option<&[u8]>,
) -> String {
    let userbuf_b64 = userbuf.map(|b| STANDARD.encode(b));
    let content = content_to_sign(identifier, sdkappid, time, expire, userbuf_b64.as_deref());
    let sig = STANDARD.encode(mac_for(key, &content).finalize().into_bytes());

    let mut doc = serde_json::Map::new();
    doc.insert("TLS.ver".into(), "2.0".into());
    doc.insert("TLS.identifier".into(), identifier.into());
    doc.insert("TLS.sdkappid".into(), sdkappid.into());
    doc.insert("TLS.expire".into(), expire.into());
    doc.insert("TLS.time".into(), time.into());
    if let Some(buf) = userbuf_b64 {
        doc.insert("TLS.userbuf".into(), buf.into());
    }
    doc.insert("TLS.sig".into(), sig.into());
    let json = Value::Object(doc).to_string();

    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    enc.write_all(json.as_bytes()).expect("write to Vec");
    let compressed = enc.finish().expect("finish into Vec");
    to_url_variant(&STANDARD.encode(compressed))
}

fn to_url_variant(b64: &str) -> String {
    b64.chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

fn from_url_variant(sig: &str) -> String {
    sig.chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect()
}

/// Decodes a sig into its JSON document without checking anything else.
fn decode(sig: &str) -> Result<serde_json::Map<String, Value>, UserSigError> {
    let sig = sig.trim();
    if sig.is_empty() {
        return Err(UserSigError::Malformed("empty".into()));
    }
    let compressed = STANDARD
        .decode(from_url_variant(sig))
        .map_err(|e| UserSigError::Malformed(format!("not base64: {e}")))?;
    let mut inflated = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| UserSigError::Malformed(format!("not zlib data: {e}")))?;
    if inflated.len() as u64 > MAX_INFLATED_BYTES {
        return Err(UserSigError::Malformed("inflates too large".into()));
    }
    match serde_json::from_slice::<Value>(&inflated) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(UserSigError::Malformed("not a JSON object".into())),
        Err(e) => Err(UserSigError::Malformed(format!("not JSON: {e}"))),
    }
}

fn str_field<'a>(
    doc: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<&'a str, UserSigError> {
    match doc.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(UserSigError::Malformed(format!("{name} is not a string"))),
        None => Err(UserSigError::Malformed(format!("{name} is missing"))),
    }
}

/// Integer fields: vendor generators write numbers, some write them as strings.
fn int_field(doc: &serde_json::Map<String, Value>, name: &str) -> Result<i128, UserSigError> {
    let bad = || UserSigError::Malformed(format!("{name} is not an integer"));
    match doc.get(name) {
        Some(Value::Number(n)) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .ok_or_else(bad),
        Some(Value::String(s)) => s.trim().parse::<i128>().map_err(|_| bad()),
        Some(_) => Err(bad()),
        None => Err(UserSigError::Malformed(format!("{name} is missing"))),
    }
}

/// Verifies `sig` as the service does for a call made by `identifier` of app `sdkappid`,
/// at unix time `now`. Checks in the service's order: format, app, identifier, expiry, HMAC.
pub fn verify(
    sig: &str,
    sdkappid: u64,
    identifier: &str,
    key: &str,
    now: i64,
) -> Result<VerifiedUserSig, UserSigError> {
    let doc = decode(sig)?;
    let ver = str_field(&doc, "TLS.ver")?;
    if ver != "2.0" {
        return Err(UserSigError::Malformed(format!(
            "unsupported TLS.ver {ver:?}"
        )));
    }
    let signed_identifier = str_field(&doc, "TLS.identifier")?;
    let signed_app = u64::try_from(int_field(&doc, "TLS.sdkappid")?)
        .map_err(|_| UserSigError::Malformed("TLS.sdkappid out of range".into()))?;
    let time = i64::try_from(int_field(&doc, "TLS.time")?)
        .map_err(|_| UserSigError::Malformed("TLS.time out of range".into()))?;
    let expire = u64::try_from(int_field(&doc, "TLS.expire")?)
        .map_err(|_| UserSigError::Malformed("TLS.expire out of range".into()))?;
    let sig_field = str_field(&doc, "TLS.sig")?;
    let userbuf_b64 = match doc.get("TLS.userbuf") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(UserSigError::Malformed(
                "TLS.userbuf is not a string".into(),
            ))
        }
    };
    let claimed = STANDARD
        .decode(sig_field)
        .map_err(|_| UserSigError::Malformed("TLS.sig is not base64".into()))?;

    if signed_app != sdkappid {
        return Err(UserSigError::SdkAppIdMismatch {
            signed: signed_app,
            presented: sdkappid,
        });
    }
    if signed_identifier != identifier {
        return Err(UserSigError::IdentifierMismatch {
            signed: signed_identifier.to_owned(),
            presented: identifier.to_owned(),
        });
    }
    let verified = VerifiedUserSig {
        identifier: signed_identifier.to_owned(),
        sdkappid: signed_app,
        time,
        expire,
        userbuf: userbuf_b64
            .map(|b| STANDARD.decode(b))
            .transpose()
            .map_err(|_| UserSigError::Malformed("TLS.userbuf is not base64".into()))?,
    };
    if i128::from(now) > verified.expires_at() {
        return Err(UserSigError::Expired {
            expired_at: verified.expires_at(),
        });
    }
    let content = content_to_sign(signed_identifier, signed_app, time, expire, userbuf_b64);
    // `verify_slice` compares in constant time.
    mac_for(key, &content)
        .verify_slice(&claimed)
        .map_err(|_| UserSigError::BadSignature)?;
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const APP: u64 = 1_400_000_000;
    const T: i64 = 1_600_000_000;

    #[test]
    fn hmac_check_values_from_protocol_md() {
        assert_eq!(
            hmac_field("xiaojun", APP, T, 15_552_000, KEY),
            "1Z5PngDjGaufeSiPoBuxdHY7EK3JTdAjMP93S4KvV3M="
        );
        assert_eq!(
            hmac_field("administrator", APP, T, 86_400, KEY),
            "los0WU+OsAqKAMeEseEb6GMMPAPQp6knnzQ5XIlQj0U="
        );
    }

    #[test]
    fn generated_sig_carries_check_value_and_round_trips() {
        let sig = generate(APP, "xiaojun", KEY, T, 15_552_000);
        assert!(!sig.contains(['+', '/', '=']), "URL variant only: {sig}");
        let doc = decode(&sig).unwrap();
        assert_eq!(
            doc["TLS.sig"],
            Value::from("1Z5PngDjGaufeSiPoBuxdHY7EK3JTdAjMP93S4KvV3M=")
        );
        assert_eq!(doc["TLS.ver"], Value::from("2.0"));
        let v = verify(&sig, APP, "xiaojun", KEY, T + 10).unwrap();
        assert_eq!(v.identifier, "xiaojun");
        assert_eq!(v.sdkappid, APP);
        assert_eq!(v.expires_at(), i128::from(T) + 15_552_000);
        assert_eq!(v.userbuf, None);
    }

    #[test]
    fn userbuf_is_signed_and_returned() {
        let sig = generate_with_userbuf(APP, "xiaojun", KEY, T, 100, Some(b"abc"));
        let v = verify(&sig, APP, "xiaojun", KEY, T).unwrap();
        assert_eq!(v.userbuf.as_deref(), Some(&b"abc"[..]));
    }

    #[test]
    fn expiry_is_inclusive_then_70001() {
        let sig = generate(APP, "administrator", KEY, T, 86_400);
        assert!(verify(&sig, APP, "administrator", KEY, T + 86_400).is_ok());
        let err = verify(&sig, APP, "administrator", KEY, T + 86_401).unwrap_err();
        assert!(matches!(err, UserSigError::Expired { .. }));
        assert_eq!(err.im_error_code(), 70001);
    }

    #[test]
    fn wrong_key_is_70009() {
        let sig = generate(APP, "administrator", KEY, T, 86_400);
        let err = verify(&sig, APP, "administrator", "another key", T).unwrap_err();
        assert_eq!(err, UserSigError::BadSignature);
        assert_eq!(err.im_error_code(), 70009);
    }

    #[test]
    fn wrong_identifier_is_70013_and_wrong_app_70014() {
        let sig = generate(APP, "administrator", KEY, T, 86_400);
        let err = verify(&sig, APP, "xiaojun", KEY, T).unwrap_err();
        assert_eq!(err.im_error_code(), 70013);
        let err = verify(&sig, APP + 1, "administrator", KEY, T).unwrap_err();
        assert_eq!(err.im_error_code(), 70014);
    }

    #[test]
    fn truncated_and_garbage_sigs_are_malformed() {
        let sig = generate(APP, "administrator", KEY, T, 86_400);
        for cut in [0, 1, 5, sig.len() / 2, sig.len() - 3] {
            let err = verify(&sig[..cut], APP, "administrator", KEY, T).unwrap_err();
            assert_eq!(err.im_error_code(), 70003, "cut at {cut}: {err}");
        }
        for junk in ["%%%", "eJwLSS0u", "not a sig at all"] {
            let err = verify(junk, APP, "administrator", KEY, T).unwrap_err();
            assert_eq!(err.im_error_code(), 70003, "{junk}: {err}");
        }
    }

    #[test]
    fn a_forged_field_breaks_the_signature() {
        // Re-pack a valid document with a longer expiry but the old HMAC.
        let sig = generate(APP, "administrator", KEY, T, 60);
        let mut doc = decode(&sig).unwrap();
        doc.insert("TLS.expire".into(), 999_999_999u64.into());
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(Value::Object(doc).to_string().as_bytes())
            .unwrap();
        let forged = to_url_variant(&STANDARD.encode(enc.finish().unwrap()));
        let err = verify(&forged, APP, "administrator", KEY, T + 1000).unwrap_err();
        assert_eq!(err, UserSigError::BadSignature);
    }

    proptest::proptest! {
        #[test]
        fn any_identifier_round_trips(id in "\\PC{1,40}", expire in 1u64..1_000_000_000, key in "[ -~]{1,64}") {
            let sig = generate(APP, &id, &key, T, expire);
            let v = verify(&sig, APP, &id, &key, T).unwrap();
            proptest::prop_assert_eq!(v.identifier, id);
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,200}") {
            let _ = verify(&s, APP, "administrator", KEY, T);
        }
    }
}
