//! Lenient number and text reading: ReplayGroups in the wild hold integers written as
//! floats (`1795339200123.0`, `1.795339200123e12`, by PHP) and as strings (`"91224013"`).

use super::ProtocolError;
use serde_json::{Map, Value};

/// The largest integer every f64 between it and zero represents exactly.
const F64_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

fn integral_from_f64(f: f64) -> Result<i128, String> {
    if !f.is_finite() {
        return Err("not a finite number".into());
    }
    if f.fract() != 0.0 {
        return Err(format!("{f} is not a whole number"));
    }
    if f.abs() > F64_EXACT {
        return Err(format!("{f} is too large to be read exactly"));
    }
    Ok(f as i128)
}

/// `s` cut to its first `max` characters, with `…` after a cut: a value quoted in an
/// error or a reason stays readable when a sender puts a novel in it.
pub fn shortened(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// Reads an integer from a JSON number (integer or integral float) or a string holding
/// one; the error says why the value is unusable. Shared by every lenient reader (protocol
/// messages, recording callbacks), each of which names the field in its own error type.
pub fn lenient_integer(v: &Value) -> Result<i128, String> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Ok(i128::from(u))
            } else {
                integral_from_f64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Err("empty string".into());
            }
            if let Ok(i) = t.parse::<i128>() {
                return Ok(i);
            }
            match t.parse::<f64>() {
                Ok(f) => integral_from_f64(f),
                Err(_) => Err(format!("{:?} is not a number", shortened(t, 40))),
            }
        }
        Value::Null => Err("null".into()),
        Value::Bool(_) => Err("a boolean, not a number".into()),
        Value::Array(_) => Err("an array, not a number".into()),
        Value::Object(_) => Err("an object, not a number".into()),
    }
}

pub(crate) fn integer(v: &Value, field: &str) -> Result<i128, ProtocolError> {
    lenient_integer(v).map_err(|reason| ProtocolError::invalid(field, reason))
}

pub(crate) fn i64_in(v: &Value, field: &str) -> Result<i64, ProtocolError> {
    let i = integer(v, field)?;
    i64::try_from(i).map_err(|_| ProtocolError::invalid(field, format!("{i} is out of range")))
}

pub(crate) fn u64_in(v: &Value, field: &str) -> Result<u64, ProtocolError> {
    let i = integer(v, field)?;
    if i < 0 {
        return Err(ProtocolError::invalid(field, format!("{i} is negative")));
    }
    u64::try_from(i).map_err(|_| ProtocolError::invalid(field, format!("{i} is out of range")))
}

/// Reads text; a number is accepted as its decimal text (some systems use numeric uids).
pub(crate) fn text(v: &Value, field: &str) -> Result<String, ProtocolError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Err(ProtocolError::invalid(field, "null")),
        _ => Err(ProtocolError::invalid(field, "not text")),
    }
}

/// Takes a required field out of `obj` (so what remains is the unknown fields). A shifting
/// remove, so the unknown fields keep their order when the message is written again.
pub(crate) fn take(
    obj: &mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Value, ProtocolError> {
    obj.shift_remove(key)
        .ok_or_else(|| ProtocolError::missing(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shortened_cuts_at_characters_not_bytes() {
        assert_eq!(shortened("abc", 3), "abc");
        assert_eq!(shortened("abcd", 3), "abc…");
        assert_eq!(shortened("ééééé", 2), "éé…");
        assert_eq!(shortened("", 0), "");
    }

    #[test]
    fn numbers_in_every_observed_form() {
        for v in [
            json!(1795339200123u64),
            json!(1795339200123.0),
            json!(1.795339200123e12),
            json!("1795339200123"),
            json!(" 1795339200123 "),
            json!("1795339200123.0"),
            json!("1.795339200123e12"),
        ] {
            assert_eq!(i64_in(&v, "time_line").unwrap(), 1_795_339_200_123, "{v}");
        }
    }

    #[test]
    fn unusable_numbers_name_the_field() {
        for v in [
            json!(1.5),
            json!("12abc"),
            json!(""),
            json!(null),
            json!(true),
            json!([1]),
            json!({}),
            json!(1e300),
        ] {
            let err = i64_in(&v, "value.file_size").unwrap_err();
            assert!(err.to_string().contains("value.file_size"), "{v}: {err}");
        }
        assert!(u64_in(&json!(-1), "seq").is_err());
        let long = "9".repeat(30) + &"x".repeat(30);
        let err = i64_in(&json!(long), "seq").unwrap_err().to_string();
        assert!(err.contains(&format!("{}…", &long[..40])), "{err}");
        assert!(i64_in(&json!("99999999999999999999"), "seq").is_err());
    }
}
