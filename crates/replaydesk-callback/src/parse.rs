//! Reading a recording callback body (docs/protocol.md section 4), leniently: every number may
//! arrive as a JSON number, an integral float or a string; ids may arrive as numbers.

use serde_json::{Map, Value};
use thiserror::Error;

/// Why a callback body could not be read. Field errors name the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CallbackError {
    #[error("callback body is not valid JSON: {0}")]
    NotJson(String),
    #[error("callback body is not a JSON object")]
    NotAnObject,
    #[error("required field `{field}` is missing")]
    MissingField { field: &'static str },
    #[error("field `{field}` is unusable: {reason}")]
    InvalidField { field: &'static str, reason: String },
}

impl CallbackError {
    /// A stable, machine-readable reason: `not_json`, `not_an_object`, `missing_field` or
    /// `invalid_field`.
    pub fn reason(&self) -> &'static str {
        match self {
            CallbackError::NotJson(_) => "not_json",
            CallbackError::NotAnObject => "not_an_object",
            CallbackError::MissingField { .. } => "missing_field",
            CallbackError::InvalidField { .. } => "invalid_field",
        }
    }

    /// The field at fault, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CallbackError::MissingField { field } | CallbackError::InvalidField { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        CallbackError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

/// The `event_type` of "a recording file is ready".
pub const EVENT_RECORDING_READY: i64 = 100;

/// One recording callback as received.
///
/// Optional fields are `None` when absent, `null` or an empty string. Every field of
/// docs/protocol.md section 4 is read; anything else stays in [`RecordingCallback::raw`], which
/// holds the whole body as received (in its order).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingCallback {
    /// 100 = a recording file is ready; other events are acknowledged and ignored.
    pub event_type: Option<i64>,
    /// The account's app id.
    pub appid: Option<u64>,
    pub stream_id: Option<String>,
    /// Equal to `stream_id` in practice; used when `stream_id` is absent.
    pub channel_id: Option<String>,
    /// The push URL's query string, still percent-encoded.
    pub stream_param: Option<String>,
    pub file_id: Option<String>,
    pub record_file_id: Option<String>,
    pub task_id: Option<String>,
    /// Only in older versions of the callback.
    pub video_id: Option<String>,
    /// flv, hls, mp4, aac.
    pub file_format: Option<String>,
    /// Unix seconds.
    pub start_time: Option<i64>,
    /// Unix seconds.
    pub end_time: Option<i64>,
    /// Microseconds within `start_time`.
    pub start_time_usec: Option<i64>,
    /// Microseconds within `end_time`.
    pub end_time_usec: Option<i64>,
    /// Seconds; may differ from `end_time - start_time`.
    pub duration: Option<i64>,
    /// Bytes.
    pub file_size: Option<u64>,
    pub video_url: Option<String>,
    /// First-frame timestamp the recorder received (docs/protocol.md section 5).
    pub media_start_time: Option<i64>,
    /// Unix seconds at which this request expires.
    pub t: i64,
    /// `t` exactly as sent when it came as a string (the sender signed that text), else
    /// its decimal text.
    pub t_text: String,
    /// The sender's `md5(callback_key + t)`, as sent (any hex case).
    pub sign: String,
    /// The whole body as received.
    pub raw: Map<String, Value>,
}

/// A callback body as JSON, refused when it is not JSON or names a key twice: which of two
/// `sign`s (or `EventType`s, `VideoUrl`s) would count? Neither.
pub(crate) fn json_without_duplicate_keys(body: &[u8]) -> Result<Value, CallbackError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| CallbackError::NotJson(e.to_string()))?;
    replaydesk_protocol::no_duplicate_keys(body).map_err(|e| CallbackError::invalid("body", e))?;
    Ok(v)
}

impl RecordingCallback {
    /// Reads a callback body. `sign` and `t` are required; every other field is optional,
    /// but a field that is present must be usable (a number field must hold an integer, a
    /// text field text or a number). Never panics.
    pub fn parse(body: &[u8]) -> Result<Self, CallbackError> {
        Self::from_value(json_without_duplicate_keys(body)?)
    }

    /// As [`RecordingCallback::parse`], from already-parsed JSON.
    pub fn from_value(v: Value) -> Result<Self, CallbackError> {
        let Value::Object(raw) = v else {
            return Err(CallbackError::NotAnObject);
        };
        let o = &raw;
        let sign = match o.get("sign") {
            None | Some(Value::Null) => return Err(CallbackError::MissingField { field: "sign" }),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(CallbackError::invalid("sign", "not text")),
        };
        let (t, t_text) = match o.get("t") {
            None | Some(Value::Null) => return Err(CallbackError::MissingField { field: "t" }),
            Some(v @ Value::String(s)) => (i64_of(v, "t")?, s.clone()),
            Some(v) => {
                let t = i64_of(v, "t")?;
                (t, t.to_string())
            }
        };
        let video_url = opt_text(o, "video_url")?;
        if let Some(url) = &video_url {
            // Shown in players and consoles as a link: `javascript:`, `data:` and the like
            // are refused, not passed on in a 1004.
            let lower = url.trim_start().to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                return Err(CallbackError::invalid(
                    "video_url",
                    "only http:// and https:// URLs are accepted",
                ));
            }
        }
        let stream_param = opt_text(o, "stream_param")?;
        if let Some(q) = &stream_param {
            // The first occurrence would win in the mapping, and could disagree with the
            // stream id: a repeated key is refused rather than guessed.
            let pairs = parse_query(q);
            for key in ["groupid", "userid"] {
                let n = pairs
                    .iter()
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                    .count();
                if n > 1 {
                    return Err(CallbackError::invalid(
                        "stream_param",
                        format!("{key} is given {n} times"),
                    ));
                }
            }
        }
        Ok(RecordingCallback {
            event_type: opt_i64(o, "event_type")?,
            appid: opt_u64(o, "appid")?,
            stream_id: opt_text(o, "stream_id")?,
            channel_id: opt_text(o, "channel_id")?,
            stream_param,
            file_id: opt_text(o, "file_id")?,
            record_file_id: opt_text(o, "record_file_id")?,
            task_id: opt_text(o, "task_id")?,
            video_id: opt_text(o, "video_id")?,
            file_format: opt_text(o, "file_format")?,
            start_time: opt_i64(o, "start_time")?,
            end_time: opt_i64(o, "end_time")?,
            start_time_usec: opt_i64(o, "start_time_usec")?,
            end_time_usec: opt_i64(o, "end_time_usec")?,
            duration: opt_i64(o, "duration")?,
            file_size: opt_u64(o, "file_size")?,
            video_url,
            media_start_time: opt_i64(o, "media_start_time")?,
            t,
            t_text,
            sign,
            raw,
        })
    }

    /// The stream: `stream_id`, else `channel_id`.
    pub fn stream(&self) -> Option<&str> {
        self.stream_id.as_deref().or(self.channel_id.as_deref())
    }

    /// Whether this is a "recording file ready" event (`event_type` 100).
    pub fn is_recording_ready(&self) -> bool {
        self.event_type == Some(EVENT_RECORDING_READY)
    }
}

pub(crate) fn integer(v: &Value, field: &'static str) -> Result<i128, CallbackError> {
    replaydesk_protocol::lenient_integer(v).map_err(|reason| CallbackError::invalid(field, reason))
}

/// Every number of a callback: 0 to 2^53, as timeline timestamps (the largest integer
/// every JSON reader keeps exactly; nothing in a callback is negative).
const MAX_NUMBER: i128 = 1 << 53;

fn bounded(v: &Value, field: &'static str) -> Result<i128, CallbackError> {
    let i = integer(v, field)?;
    if i < 0 {
        return Err(CallbackError::invalid(field, format!("{i} is negative")));
    }
    if i > MAX_NUMBER {
        return Err(CallbackError::invalid(
            field,
            format!("{i} is out of range (at most 2^53)"),
        ));
    }
    Ok(i)
}

pub(crate) fn i64_of(v: &Value, field: &'static str) -> Result<i64, CallbackError> {
    let i = bounded(v, field)?;
    i64::try_from(i).map_err(|_| CallbackError::invalid(field, format!("{i} is out of range")))
}

pub(crate) fn u64_of(v: &Value, field: &'static str) -> Result<u64, CallbackError> {
    let i = bounded(v, field)?;
    u64::try_from(i).map_err(|_| CallbackError::invalid(field, format!("{i} is out of range")))
}

/// Present and meaningful: not absent, not `null`, not an all-blank string.
pub(crate) fn present<'a>(o: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    match o.get(field)? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        v => Some(v),
    }
}

pub(crate) fn opt_i64(
    o: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<i64>, CallbackError> {
    present(o, field).map(|v| i64_of(v, field)).transpose()
}

pub(crate) fn opt_u64(
    o: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<u64>, CallbackError> {
    present(o, field).map(|v| u64_of(v, field)).transpose()
}

/// Text; a number is taken as its decimal text (ids such as `file_id` are numeric).
pub(crate) fn opt_text(
    o: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, CallbackError> {
    match present(o, field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(CallbackError::invalid(field, "not text")),
    }
}

/// A form-encoded query string (`a=1&b=x%3D`) as decoded pairs, in order. A leading `?` is
/// skipped; a pair without `=` has an empty value. Decoding is `form_urlencoded`'s
/// (`application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte, a `%` not followed by
/// two hex digits stays as it is, invalid UTF-8 becomes U+FFFD).
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    let q = q.trim();
    let q = q.strip_prefix('?').unwrap_or(q);
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<RecordingCallback, CallbackError> {
        RecordingCallback::parse(v.to_string().as_bytes())
    }

    /// Hole 7: numbers bounded as timeline timestamps, only web video URLs, no repeated
    /// groupid / userid in stream_param.
    #[test]
    fn callback_fields_are_bounded_and_unambiguous() {
        let refused = |extra: Value| {
            let mut v = json!({"sign": "x", "t": 1});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            parse(v).unwrap_err()
        };
        for (extra, field) in [
            (json!({"duration": -1}), "duration"),
            (json!({"file_size": -5}), "file_size"),
            (
                json!({"start_time": 9_007_199_254_740_993_i64}),
                "start_time",
            ),
            (json!({"t": "9007199254740993"}), "t"),
            (json!({"t": -1}), "t"),
            (json!({"media_start_time": -3}), "media_start_time"),
            (json!({"video_url": "javascript:alert(1)"}), "video_url"),
            (
                json!({"video_url": " data:text/html,<b>x</b>"}),
                "video_url",
            ),
            (json!({"video_url": "file:///etc/passwd"}), "video_url"),
            (
                json!({"stream_param": "groupid=a&userid=dTE&groupid=b"}),
                "stream_param",
            ),
            (
                json!({"stream_param": "UserId=dTE&userid=dTI&groupid=a"}),
                "stream_param",
            ),
            (
                json!({"stream_param": "group%69d=a&groupid=b"}),
                "stream_param",
            ),
        ] {
            let e = refused(extra.clone());
            assert_eq!(e.field(), Some(field), "{extra}: {e}");
        }
        let ok = parse(
            json!({"sign": "x", "t": 9_007_199_254_740_992_i64, "duration": 0,
            "file_size": 0, "video_url": "HTTPS://cdn.example/v.mp4",
            "stream_param": "groupid=a&userid=dTE&txSecret=x"}),
        )
        .unwrap();
        assert_eq!(ok.duration, Some(0));
    }

    #[test]
    fn numbers_as_numbers_floats_or_strings() {
        let a = parse(json!({"sign": "x", "t": 1795343411, "event_type": 100,
            "start_time": 1795339195, "file_size": 734003200, "duration": 3595}))
        .unwrap();
        let b = parse(json!({"sign": "x", "t": "1795343411", "event_type": "100",
            "start_time": "1795339195", "file_size": 734003200.0, "duration": " 3595 "}))
        .unwrap();
        for cb in [&a, &b] {
            assert_eq!(cb.t, 1_795_343_411);
            assert_eq!(cb.event_type, Some(100));
            assert_eq!(cb.start_time, Some(1_795_339_195));
            assert_eq!(cb.file_size, Some(734_003_200));
            assert_eq!(cb.duration, Some(3595));
        }
        assert_eq!(a.t_text, "1795343411");
        assert_eq!(b.t_text, "1795343411");
    }

    #[test]
    fn t_text_is_kept_as_sent() {
        let cb = parse(json!({"sign": "x", "t": " 0017 "})).unwrap();
        assert_eq!(cb.t, 17);
        assert_eq!(cb.t_text, " 0017 ");
        let cb = parse(json!({"sign": "x", "t": 17.0})).unwrap();
        assert_eq!(cb.t_text, "17");
    }

    #[test]
    fn required_fields_are_named() {
        let e = parse(json!({"t": 1})).unwrap_err();
        assert_eq!(e, CallbackError::MissingField { field: "sign" });
        assert_eq!(e.reason(), "missing_field");
        let e = parse(json!({"sign": "x"})).unwrap_err();
        assert_eq!(e, CallbackError::MissingField { field: "t" });
        let e = parse(json!({"sign": "x", "t": null})).unwrap_err();
        assert_eq!(e.field(), Some("t"));
        let e = parse(json!({"sign": 5, "t": 1})).unwrap_err();
        assert_eq!(e.field(), Some("sign"));
        assert_eq!(e.reason(), "invalid_field");
        let e = parse(json!({"sign": "x", "t": ""})).unwrap_err();
        assert_eq!(e.field(), Some("t"));
    }

    #[test]
    fn unusable_numbers_name_the_field() {
        for (field, v) in [
            ("t", json!("soon")),
            ("event_type", json!(true)),
            ("duration", json!(1.5)),
            ("file_size", json!(-1)),
            ("start_time", json!([1])),
            ("end_time", json!("99999999999999999999999")),
            ("appid", json!({})),
            ("media_start_time", json!(1e300)),
        ] {
            let mut o = json!({"sign": "x", "t": 1});
            o[field] = v.clone();
            let e = parse(o).unwrap_err();
            assert_eq!(e.field(), Some(field), "{field} = {v}: {e}");
            assert!(e.to_string().contains(field), "{e}");
        }
        let e = parse(json!({"sign": "x", "t": 1, "video_url": ["a"]})).unwrap_err();
        assert_eq!(e.field(), Some("video_url"));
    }

    #[test]
    fn not_json_and_not_an_object() {
        assert_eq!(
            RecordingCallback::parse(b"{").unwrap_err().reason(),
            "not_json"
        );
        assert_eq!(
            RecordingCallback::parse(b"\xff\xfe").unwrap_err().reason(),
            "not_json"
        );
        assert_eq!(
            RecordingCallback::parse(b"[1]").unwrap_err(),
            CallbackError::NotAnObject
        );
        assert_eq!(
            RecordingCallback::parse(b"\"x\"").unwrap_err().reason(),
            "not_an_object"
        );
    }

    #[test]
    fn blank_and_null_optionals_are_absent_and_ids_may_be_numbers() {
        let cb = parse(
            json!({"sign": "x", "t": 1, "video_id": "", "file_id": 5285890801234567890u64,
            "end_time_usec": "", "duration": null, "stream_id": "  ", "channel_id": "c"}),
        )
        .unwrap();
        assert_eq!(cb.video_id, None);
        assert_eq!(cb.file_id.as_deref(), Some("5285890801234567890"));
        assert_eq!(cb.end_time_usec, None);
        assert_eq!(cb.duration, None);
        assert_eq!(cb.stream(), Some("c"));
    }

    #[test]
    fn unknown_fields_stay_in_raw() {
        let cb =
            parse(json!({"sign": "x", "t": 1, "callback_ext": "{}", "record_bps": 0})).unwrap();
        assert_eq!(cb.raw.get("record_bps"), Some(&json!(0)));
        assert_eq!(
            cb.raw.keys().collect::<Vec<_>>(),
            ["sign", "t", "callback_ext", "record_bps"]
        );
    }
}
