//! How both doors turn what they received into the typed requests of [`super::requests`]:
//! the HTTP door gives a query string made into a JSON object (every value a string, a
//! repeated key an array) or the JSON body; the Tauri door gives the IPC argument as
//! sent. Both go through [`decode`], so a bad field is refused with the same words on
//! either door, naming the field first.
//!
//! The field readers in [`lenient`] take a number or a boolean also as text (a query
//! string has nothing else) and treat `null` as absent.

use super::{ServiceError, ServiceResult};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Where a request's fields came from: a query (refusals are 400 `bad_request`) or a body
/// (422 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Query,
    Body,
}

/// What a JSON value is, for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Query string pairs as a JSON object: a key given once is a string, a key given again
/// becomes a list (list fields take that; single-value fields refuse it).
pub fn query_object(pairs: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        let v = Value::String(v.clone());
        match map.get_mut(k) {
            None => {
                map.insert(k.clone(), v);
            }
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, v]);
            }
        }
    }
    Value::Object(map)
}

fn refuse(source: Source, detail: String) -> ServiceError {
    match source {
        Source::Query => ServiceError::BadRequest(detail),
        Source::Body => ServiceError::Invalid(detail),
    }
}

/// The text between the first pair of backticks.
fn quoted(s: &str) -> Option<&str> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some(&s[start..start + len])
}

/// serde's words, reworded to start with the field: `x: missing`, `x: unknown field`.
fn reword(path: &str, msg: &str, source: Source) -> String {
    let at = |field: &str| {
        if path.is_empty() || path == "." {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    if msg.starts_with("missing field") {
        if let Some(f) = quoted(msg) {
            return format!("{}: missing", at(f));
        }
    }
    if msg.starts_with("unknown field") {
        // serde_path_to_error's path already ends with the unknown field.
        if let Some(f) = quoted(msg) {
            let at = |_: &str| {
                if path.is_empty() || path == "." {
                    f.to_owned()
                } else {
                    path.to_owned()
                }
            };
            return match source {
                Source::Query => {
                    let known: Vec<&str> = msg
                        .split_once("expected")
                        .map(|(_, rest)| rest.split('`').skip(1).step_by(2).collect())
                        .unwrap_or_default();
                    format!("{}: unknown query parameter ({})", at(f), known.join(", "))
                }
                Source::Body => format!("{}: unknown field", at(f)),
            };
        }
    }
    if path.is_empty() || path == "." {
        msg.to_owned()
    } else {
        format!("{path}: {msg}")
    }
}

/// `value` (absent or `null`: no fields) as `T`; the refusal names the field at fault.
pub fn decode<T: DeserializeOwned>(value: Option<Value>, source: Source) -> ServiceResult<T> {
    let value = match value.unwrap_or(Value::Null) {
        Value::Null => Value::Object(Map::new()),
        obj @ Value::Object(_) => obj,
        other => {
            let what = match source {
                Source::Query => "query",
                Source::Body => "body",
            };
            return Err(refuse(
                source,
                format!("{what}: must be a JSON object, got {}", kind(&other)),
            ));
        }
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let detail = reword(&path, &e.inner().to_string(), source);
        refuse(source, detail)
    })
}

/// A JSON body's bytes as `T`: not JSON is `malformed_json`-worthy, reported as
/// [`ServiceError::Malformed`].
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> ServiceResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ServiceError::Malformed(
            "the body is empty; a JSON object is expected".into(),
        ));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ServiceError::Malformed(format!("the body is not valid JSON: {e}")))?;
    super::validate::no_duplicate_keys(bytes).map_err(ServiceError::Invalid)?;
    decode(Some(v), Source::Body)
}

/// Field readers for `#[serde(deserialize_with = ...)]`.
pub mod lenient {
    use super::kind;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    fn one<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        match Value::deserialize(d)? {
            Value::Array(_) => Err(D::Error::custom("given more than once; one value expected")),
            v => Ok(v),
        }
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match one(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Err(D::Error::custom(format!(
                "must be a string, got {}",
                kind(&other)
            ))),
        }
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        opt_string(d)?.ok_or_else(|| D::Error::custom("missing"))
    }

    /// A TRTC room id, as text: a string as it is, a whole number as its decimal text
    /// (TRTC sends one room as `42` in some places and `"42"` in others); `null` is none.
    pub fn opt_room<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match one(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            Value::Number(n) if n.is_u64() => Ok(Some(n.to_string())),
            other => Err(D::Error::custom(format!(
                "must be a string or a whole number, got {}",
                match &other {
                    Value::Number(n) => n.to_string(),
                    v => kind(v).to_owned(),
                }
            ))),
        }
    }

    /// As [`opt_room`], telling a field that is absent (`None`, by `#[serde(default)]`)
    /// from one that is `null` (`Some(None)`: clear it).
    pub fn patch_room<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        opt_room(d).map(Some)
    }

    /// The one lenient integer reader (`replaydesk_protocol::lenient_integer`, which the
    /// protocol and callback readers use too), with this door's wording of a refusal.
    fn int_of<E: serde::de::Error>(v: Value) -> Result<Option<i64>, E> {
        if v.is_null() {
            return Ok(None);
        }
        let refused = || match &v {
            Value::Number(n) => E::custom(format!("must be an integer, got {n}")),
            Value::String(s) => E::custom(format!("must be an integer, got {s:?}")),
            other => E::custom(format!("must be an integer, got {}", kind(other))),
        };
        match replaydesk_protocol::lenient_integer(&v) {
            Ok(i) => i64::try_from(i).map(Some).map_err(|_| refused()),
            Err(_) => Err(refused()),
        }
    }

    pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        int_of(one(d)?)
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        opt_int(d)?.ok_or_else(|| D::Error::custom("missing"))
    }

    /// A page size: 1 to [`crate::MAX_PAGE`].
    pub fn opt_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        let max = crate::MAX_PAGE;
        let v = one(d)?;
        let shown = match &v {
            // "0" from a query string and 0 from IPC read alike.
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let out_of_range = || D::Error::custom(format!("must be between 1 and {max}, got {shown}"));
        match int_of::<D::Error>(v).map_err(|_| out_of_range())? {
            None => Ok(None),
            Some(n) if (1..=i64::from(max)).contains(&n) => Ok(Some(n as u32)),
            Some(_) => Err(out_of_range()),
        }
    }

    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match one(d)? {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b)),
            Value::String(s) if matches!(s.trim(), "true" | "1") => Ok(Some(true)),
            Value::String(s) if matches!(s.trim(), "false" | "0") => Ok(Some(false)),
            Value::String(s) => Err(D::Error::custom(format!(
                "must be true or false, got {s:?}"
            ))),
            other => Err(D::Error::custom(format!(
                "must be true or false, got {}",
                kind(&other)
            ))),
        }
    }

    pub fn bool_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(opt_bool(d)?.unwrap_or(false))
    }

    /// A list of names or codes: a JSON list, one value, or a comma list (`failed,sent`);
    /// each value as text, blanks dropped, duplicates kept once.
    pub fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |v: &Value| -> Result<(), D::Error> {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(D::Error::custom(format!(
                        "must be a list of strings, got {} in it",
                        kind(other)
                    )))
                }
            };
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if !out.iter().any(|o| o == part) {
                    out.push(part.to_owned());
                }
            }
            Ok(())
        };
        match Value::deserialize(d)? {
            Value::Null => return Ok(None),
            Value::Array(items) => {
                for i in &items {
                    push(i)?;
                }
            }
            other => push(&other)?,
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Q {
        #[serde(default, deserialize_with = "lenient::opt_list")]
        status: Option<Vec<String>>,
        #[serde(default, deserialize_with = "lenient::opt_int")]
        from: Option<i64>,
        #[serde(default, deserialize_with = "lenient::opt_limit")]
        limit: Option<u32>,
        #[serde(default, deserialize_with = "lenient::opt_bool")]
        retried: Option<bool>,
        #[serde(default, deserialize_with = "lenient::opt_string")]
        uid: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct B {
        #[serde(deserialize_with = "lenient::int")]
        since_ms: i64,
    }

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    fn detail(e: ServiceError) -> String {
        e.to_string()
    }

    #[test]
    fn query_strings_and_ipc_objects_decode_alike() {
        let from_http: Q = decode(
            Some(query_object(&pairs(&[
                ("status", "failed,retrying"),
                ("status", "failed"),
                ("from", "10"),
                ("limit", "5"),
                ("retried", "true"),
                ("uid", "u1"),
            ]))),
            Source::Query,
        )
        .unwrap();
        let from_ipc: Q = decode(
            Some(json!({"status": ["failed", "retrying"], "from": 10, "limit": 5, "retried": true, "uid": "u1"})),
            Source::Query,
        )
        .unwrap();
        for q in [&from_http, &from_ipc] {
            assert_eq!(
                q.status.as_deref(),
                Some(&["failed".to_owned(), "retrying".to_owned()][..])
            );
            assert_eq!(
                (q.from, q.limit, q.retried),
                (Some(10), Some(5), Some(true))
            );
            assert_eq!(q.uid.as_deref(), Some("u1"));
        }
        let empty: Q = decode(None, Source::Query).unwrap();
        assert!(empty.status.is_none() && empty.limit.is_none());
    }

    #[test]
    fn refusals_name_the_field_and_fit_the_source() {
        let q = |p: &[(&str, &str)]| {
            decode::<Q>(Some(query_object(&pairs(p))), Source::Query).unwrap_err()
        };
        for (bad, starts) in [
            (("from", "x"), "from: must be an integer"),
            (("limit", "0"), "limit: must be between 1 and 1000"),
            (("limit", "1001"), "limit: must be between"),
            (("retried", "maybe"), "retried: must be true or false"),
            (
                ("colour", "red"),
                "colour: unknown query parameter (status, from",
            ),
        ] {
            let e = q(&[bad]);
            assert!(matches!(e, ServiceError::BadRequest(_)), "{bad:?}: {e:?}");
            let d = detail(e);
            assert!(d.starts_with(starts), "{bad:?}: {d}");
        }
        let twice = q(&[("uid", "a"), ("uid", "b")]);
        assert!(detail(twice).starts_with("uid: given more than once"));

        let ok: B = decode(Some(json!({"since_ms": "12"})), Source::Body).unwrap();
        assert_eq!(ok.since_ms, 12);
        let b = |v: Value| decode::<B>(Some(v), Source::Body).unwrap_err();
        let e = b(json!({}));
        assert!(matches!(e, ServiceError::Invalid(_)));
        assert_eq!(detail(e), "since_ms: missing");
        assert_eq!(
            detail(b(json!({"since_ms": 1, "x": 2}))),
            "x: unknown field"
        );
        assert_eq!(
            detail(b(json!({"since_ms": true}))),
            "since_ms: must be an integer, got a boolean"
        );
        assert_eq!(
            detail(b(json!([1]))),
            "body: must be a JSON object, got a list"
        );
        assert!(matches!(
            decode_body::<B>(b"{oops"),
            Err(ServiceError::Malformed(_))
        ));
        assert!(matches!(
            decode_body::<B>(b"  "),
            Err(ServiceError::Malformed(_))
        ));
    }
}
