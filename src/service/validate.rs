//! Input rules shared by every door. Each error starts with the field it is about.

/// Longest uid accepted, in characters.
pub const MAX_UID_CHARS: usize = 128;
/// Largest client timestamp accepted: 2^53, the largest integer every JSON reader keeps
/// exactly.
pub const MAX_TIMESTAMP: i64 = 1 << 53;
/// Largest round trip accepted, ms: a minute is already no clock estimate at all.
pub const MAX_RTT_MS: f64 = 60_000.0;
/// Longest class id, in characters (it is part of URLs).
pub const MAX_CLASS_ID_CHARS: usize = 64;
/// Longest IM secret key accepted.
pub const MAX_SECRET_KEY_CHARS: usize = 256;
/// Longest actor name (`X-ReplayDesk-Actor`).
pub const MAX_ACTOR_CHARS: usize = 64;

/// A user id: 1 to 128 characters, no control characters, not only spaces.
pub fn uid(field: &str, v: &str) -> Result<(), String> {
    let n = v.chars().count();
    if v.trim().is_empty() {
        return Err(format!("{field}: must not be empty"));
    }
    if n > MAX_UID_CHARS {
        return Err(format!(
            "{field}: longer than {MAX_UID_CHARS} characters ({n})"
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{field}: contains control characters"));
    }
    Ok(())
}

/// A class id: 1 to 64 ASCII letters, digits, `_`, `-` or `.`.
pub fn class_id(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("class_id: must not be empty".into());
    }
    if v.len() > MAX_CLASS_ID_CHARS {
        return Err(format!(
            "class_id: longer than {MAX_CLASS_ID_CHARS} characters"
        ));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err("class_id: only ASCII letters, digits, '_', '-' and '.' are allowed".into());
    }
    Ok(())
}

/// A ReplayGroup id, by the IM service's rules.
pub fn group_id(v: &str) -> Result<(), String> {
    crate::im::wire::validate_group_id(v).map_err(|e| format!("group_id: {e}"))
}

/// A client timestamp: 0 to 2^53.
pub fn timestamp(v: i64) -> Result<u64, String> {
    if !(0..=MAX_TIMESTAMP).contains(&v) {
        return Err(format!(
            "timestamp: must be between 0 and 2^53 ({MAX_TIMESTAMP}), got {v}"
        ));
    }
    Ok(v.unsigned_abs())
}

/// A measured round trip: 0 to 60000 ms.
pub fn rtt_ms(v: f64) -> Result<f64, String> {
    if !v.is_finite() || !(0.0..=MAX_RTT_MS).contains(&v) {
        return Err(format!("rtt_ms: must be between 0 and 60000, got {v}"));
    }
    Ok(v)
}

/// An actor name for the audit log.
pub fn actor(v: &str) -> Result<(), String> {
    if v.trim().is_empty() || v.chars().count() > MAX_ACTOR_CHARS {
        return Err(format!("actor: must be 1 to {MAX_ACTOR_CHARS} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err("actor: contains control characters".into());
    }
    Ok(())
}

/// A new IM secret key.
pub fn secret_key(v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        return Err("secret_key: must not be empty".into());
    }
    if v.chars().count() > MAX_SECRET_KEY_CHARS {
        return Err(format!(
            "secret_key: longer than {MAX_SECRET_KEY_CHARS} characters"
        ));
    }
    if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("secret_key: contains whitespace or control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(uid("uid", "teacher_li").is_ok());
        assert!(uid("uid", &"é".repeat(128)).is_ok());
        assert!(uid("uid", &"a".repeat(129))
            .unwrap_err()
            .starts_with("uid:"));
        assert!(uid("uid", "").is_err());
        assert!(uid("uid", "   ").is_err());
        assert!(uid("uid", "a\u{0}b").is_err());
        assert!(uid("uid", "a\nb").is_err());
        assert!(class_id("room-42.a_b").is_ok());
        assert!(class_id("a/b").is_err());
        assert!(class_id("").is_err());
        assert_eq!(timestamp(0), Ok(0));
        assert_eq!(timestamp(1 << 53), Ok(1 << 53));
        assert!(timestamp((1 << 53) + 1).is_err());
        assert!(timestamp(-1).is_err());
        assert!(rtt_ms(0.0).is_ok() && rtt_ms(60_000.0).is_ok());
        assert!(rtt_ms(-0.5).is_err() && rtt_ms(60_000.5).is_err());
        assert!(actor("alice").is_ok() && actor("").is_err() && actor("a\tb").is_err());
        assert!(secret_key("abc").is_ok() && secret_key("a b").is_err());
    }
}
