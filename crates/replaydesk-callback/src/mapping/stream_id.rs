//! Reading the parts of a stream id and of a push URL's query string: the room and user of
//! `<sdkappid>_<room>_<user>_main|aux`, the legacy `<bizid>_<md5>` and its hash, the
//! `groupid`/`userid` parameters and the base64 `userid`.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use md5::{Digest, Md5};

/// `<sdkappid>_<rest>_main|aux` → `rest`.
pub(super) fn room_and_user(stream: &str) -> Option<&str> {
    let body = stream
        .strip_suffix("_main")
        .or_else(|| stream.strip_suffix("_aux"))?;
    let (appid, rest) = body.split_once('_')?;
    if appid.is_empty() || !appid.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
        return None;
    }
    Some(rest)
}

/// The stream kind a stream id's suffix names: `main` (camera) or `aux` (screen share),
/// as TRTC names the streams it relays (`<sdkappid>_<room>_<user>_main|aux`).
pub fn stream_media(stream: &str) -> Option<&'static str> {
    room_and_user(stream)?;
    if stream.ends_with("_main") {
        Some("main")
    } else {
        Some("aux")
    }
}

/// Every (room, user) a `<sdkappid>_<room>_<user>_main|aux` stream id can be read as (room
/// and user ids may hold `_` themselves), in order; empty for another form.
pub fn stream_room_and_user(stream: &str) -> Vec<(&str, &str)> {
    let Some(rest) = room_and_user(stream) else {
        return Vec::new();
    };
    rest.match_indices('_')
        .map(|(i, _)| (&rest[..i], &rest[i + 1..]))
        .filter(|(r, u)| !r.is_empty() && !u.is_empty())
        .collect()
}

/// `<bizid>_<32 hex>` → (bizid, lower-case hash).
pub(super) fn legacy_parts(stream: &str) -> Option<(&str, String)> {
    let (bizid, hash) = stream.split_once('_')?;
    if bizid.is_empty()
        || !bizid.bytes().all(|b| b.is_ascii_digit())
        || hash.len() != 32
        || !hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    Some((bizid, hash.to_ascii_lowercase()))
}

/// Lower-case hex `md5(<room>_<uid>_<suffix>)`, the legacy stream id's hash.
pub fn legacy_hash(room_id: &str, uid: &str, suffix: &str) -> String {
    let mut h = Md5::new();
    h.update(room_id.as_bytes());
    h.update(b"_");
    h.update(uid.as_bytes());
    h.update(b"_");
    h.update(suffix.as_bytes());
    hex::encode(h.finalize())
}

/// The first value of `name` (ASCII case-insensitive), when it is not blank.
pub(super) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
pub(super) const B64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const B64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// The user id a `userid` parameter (already form-decoded) carries: base64 of it, as the
/// reference server writes it. `None` when it is not base64 of usable text.
pub fn decode_userid(userid: &str) -> Option<String> {
    // A raw `+` in the query string was decoded as a space; base64 has no spaces.
    let s = userid.trim().replace(' ', "+");
    if s.is_empty() {
        return None;
    }
    let bytes = B64_STANDARD
        .decode(&s)
        .or_else(|_| B64_URL_SAFE.decode(&s))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.is_empty() || text.chars().any(char::is_control) {
        return None;
    }
    Some(text)
}

/// Rule 1's choice of user id (see the module documentation).
pub(super) fn uid_from_userid(userid: &str, members: &[String]) -> Option<String> {
    let decoded = decode_userid(userid);
    let is_member = |u: &str| members.iter().any(|m| m == u);
    match decoded {
        Some(d) if is_member(&d) => Some(d),
        _ if is_member(userid) => Some(userid.to_owned()),
        d => d,
    }
}
