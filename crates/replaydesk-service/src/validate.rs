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

/// Longest text search (`q`) accepted, in characters: a LIKE pattern much longer is
/// refused by SQLite as too complex (a 500), and no message is searched for by more.
pub const MAX_TEXT_QUERY_CHARS: usize = 200;

/// Characters that are invisible or reorder text: zero-width spaces and joiners, the BOM,
/// and the bidirectional controls. In an identifier they make two ids look alike (or one
/// look like another), so they are refused.
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061C}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{FEFF}'
    )
}

/// A user id as it may already be stored, or as a cloud's callback sends it: 1 to 128
/// characters, no control, invisible or bidirectional-control characters, no leading or
/// trailing whitespace. What may be kept and shown; a new identifier must also pass
/// [`uid`].
pub fn uid_printable(field: &str, v: &str) -> Result<(), String> {
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
    if v.chars().any(is_invisible_or_bidi) {
        return Err(format!(
            "{field}: contains invisible or bidirectional-control characters (zero-width, BOM, U+202E...)"
        ));
    }
    if v.trim() != v {
        return Err(format!("{field}: starts or ends with whitespace"));
    }
    Ok(())
}

/// A new user id (a report's, a class's teacher, a credential's, an assigned callback's, an
/// imported one): [`uid_printable`], and the identifier rule (docs/http-api.md, "Identifiers"), from
/// Unicode's data (UTS #39 and UAX #15), so that two different ids never look the same:
///
/// 1. in Unicode normalization form NFC (`café` typed with a combining accent is the same
///    text as `café`; ids are compared as sent, so the NFD form would be a second member);
/// 2. every character printable ASCII (space included) or `Identifier_Status=Allowed` in
///    UTS #39's general security profile: this refuses fillers and blanks (U+3164, U+2800),
///    tag characters, fullwidth and other compatibility forms, spaces other than U+0020,
///    symbols and private use;
/// 3. at most UTS #39's moderately restrictive level of script mixing (ASCII spaces and
///    punctuation aside): one script; or Latin with Han, Hiragana, Katakana, Hangul or
///    Bopomofo; or Latin with one other recommended script except Cyrillic and Greek,
///    whose letters look like Latin ones (`tеacher` with a Cyrillic `е` is refused).
///
/// Refused, never rewritten: the id must stay the client's IM account.
pub fn uid(field: &str, v: &str) -> Result<(), String> {
    uid_printable(field, v)?;
    identifier_rule(field, v)
}

/// Rules 1 to 3 of [`uid`] (NFC, identifier characters, no mixed-script look-alikes), for
/// any identifier that is shown to people: a uid, an actor name in the audit log.
pub fn identifier_rule(field: &str, v: &str) -> Result<(), String> {
    use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};
    if !unicode_normalization::is_nfc(v) {
        return Err(format!(
            "{field}: not in Unicode normalization form NFC (identifier rule 1): send the NFC form of the id (e.g. \"é\" as one character, not \"e\" and a combining accent)"
        ));
    }
    if let Some(c) = v
        .chars()
        .find(|&c| !(c == ' ' || c.is_ascii_graphic() || c.identifier_allowed()))
    {
        return Err(format!(
            "{field}: contains U+{:04X}, which Unicode's identifier profile (UTS #39 Identifier_Status) does not allow (identifier rule 2: no invisible, blank, fullwidth or other look-alike forms, no symbols)",
            u32::from(c)
        ));
    }
    // ASCII spaces and punctuation belong to every script (Common): left out here, they
    // would only count as characters the profile does not list.
    let letters: String = v
        .chars()
        .filter(|c| !c.is_ascii() || c.is_ascii_alphanumeric())
        .collect();
    if letters.as_str().detect_restriction_level() > RestrictionLevel::ModeratelyRestrictive {
        return Err(format!(
            "{field}: mixes the scripts {} in a way that makes look-alikes (identifier rule 3, UTS #39 moderately restrictive: one script, or Latin with Han/Japanese/Korean, or Latin with one other script except Cyrillic and Greek)",
            scripts_of(&letters).join(", ")
        ));
    }
    Ok(())
}

/// The scripts of `v`'s characters (Common and Inherited left out), in order of appearance.
fn scripts_of(v: &str) -> Vec<&'static str> {
    use unicode_script::{Script, UnicodeScript};
    let mut out = Vec::new();
    for c in v.chars() {
        let s = c.script();
        if matches!(s, Script::Common | Script::Inherited) {
            continue;
        }
        if !out.contains(&s.full_name()) {
            out.push(s.full_name());
        }
    }
    out
}

/// A message search text (`q`): at most [`MAX_TEXT_QUERY_CHARS`] characters.
pub fn text_query(v: Option<&str>) -> Result<(), String> {
    let n = v.map_or(0, |t| t.chars().count());
    if n > MAX_TEXT_QUERY_CHARS {
        return Err(format!(
            "q: longer than {MAX_TEXT_QUERY_CHARS} characters ({n})"
        ));
    }
    Ok(())
}

/// Lives with the protocol's JSON rules (callbacks refuse repeated keys too); kept here
/// under its old name for the request checks.
pub use replaydesk_protocol::no_duplicate_keys;

/// A class id: 1 to 64 ASCII letters, digits, `_`, `-` or `.`; not `.` or `..` (a path
/// segment that means something else in every URL and file path).
pub fn class_id(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("class_id: must not be empty".into());
    }
    if v == "." || v == ".." {
        return Err(format!("class_id: {v:?} is not allowed"));
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

/// Longest TRTC room id taken, in bytes (TRTC's string room ids are at most 64 bytes).
pub const MAX_ROOM_ID_BYTES: usize = 64;

/// A TRTC room id, as text: 1 to 64 printable ASCII characters, no spaces (TRTC's numeric
/// rooms are 1 to 4294967294; its string rooms letters, digits and a few symbols).
pub fn room_id(v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > MAX_ROOM_ID_BYTES {
        return Err(format!(
            "room_id: must be 1 to {MAX_ROOM_ID_BYTES} characters"
        ));
    }
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("room_id: only printable ASCII without spaces is allowed".into());
    }
    Ok(())
}

/// Longest stream id taken, in bytes.
pub const MAX_STREAM_ID_BYTES: usize = 256;

/// A CSS stream id to register: 1 to 256 printable ASCII characters, no spaces.
pub fn stream_id(v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > MAX_STREAM_ID_BYTES {
        return Err(format!(
            "stream_id: must be 1 to {MAX_STREAM_ID_BYTES} characters"
        ));
    }
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("stream_id: only printable ASCII without spaces is allowed".into());
    }
    Ok(())
}

/// A ReplayGroup id, by the IM service's rules.
pub fn group_id(v: &str) -> Result<(), String> {
    replaydesk_im::wire::validate_group_id(v).map_err(|e| format!("group_id: {e}"))
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

/// An actor name for the audit log: 1 to 64 characters, no control characters, and the
/// identifier rule of [`uid`] (rules 1 to 3).
pub fn actor(v: &str) -> Result<(), String> {
    if v.trim().is_empty() || v.chars().count() > MAX_ACTOR_CHARS {
        return Err(format!("actor: must be 1 to {MAX_ACTOR_CHARS} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err("actor: contains control characters".into());
    }
    // An actor names who did what in the audit log: one that looks like another's name
    // would let an entry pass for someone else's.
    identifier_rule("actor", v)
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

    /// Hole 10: identifiers that look like others, search texts SQLite cannot take, and
    /// JSON whose keys repeat are refused.
    #[test]
    fn lookalike_identifiers_long_searches_and_repeated_keys_are_refused() {
        for bad in [
            "teacher\u{202e}il",
            "teacher\u{200b}li",
            "\u{feff}teacher_li",
            "teacher_li ",
            " teacher_li",
            "a\u{2066}b",
            "a\u{200d}b",
        ] {
            assert!(uid("uid", bad).is_err(), "{bad:?}");
        }
        assert!(uid("uid", "李 老师").is_ok());

        assert!(class_id(".").is_err() && class_id("..").is_err());
        assert!(class_id("...").is_ok() && class_id("a.b").is_ok());
        assert!(text_query(Some(&"%".repeat(25_000))).is_err());
        assert!(text_query(Some(&"x".repeat(200))).is_ok());
        assert!(text_query(None).is_ok());
    }

    /// Issue 27, item 8: ids that render as `teacher`, and NFD text, break the identifier
    /// rule, each naming the rule; a stored or cloud id needs only to be printable.
    #[test]
    fn the_identifier_rule_refuses_invisible_non_nfc_and_mixed_script_lookalikes() {
        for (bad, rule) in [
            ("\u{3164}teacher", "rule 2"),
            ("teacher\u{2800}", "rule 2"),
            ("teacher\u{E0074}", "rule 2"),
            ("ｔｅａｃｈｅｒ", "rule 2"),
            ("teacher\u{00A0}li", "rule 2"),
            ("teacher\u{3000}li", "rule 2"),
            ("t\u{0435}acher", "rule 3"),
            ("\u{03BF}ne_two", "rule 3"),
            ("cafe\u{0301}", "rule 1"),
        ] {
            let e = uid("uid", bad).unwrap_err();
            assert!(e.starts_with("uid:") && e.contains(rule), "{bad:?}: {e}");
        }
        assert!(uid("uid", "t\u{0435}acher")
            .unwrap_err()
            .contains("Latin, Cyrillic"));
        for good in [
            "teacher_li",
            "café",
            "Müller",
            "李 老师",
            "山田たろう",
            "김민수 kim",
            "Иван",
            "Ali-علي",
            "wang.li@school.example",
            "O'Brien",
        ] {
            assert_eq!(uid("uid", good), Ok(()), "{good:?}");
        }
        assert!(uid_printable("uid", "t\u{0435}acher").is_ok());
        assert!(uid_printable("uid", "cafe\u{0301}").is_ok());
        assert!(uid_printable("uid", "a\u{0}b").is_err());
        assert!(actor("Alice Smith").is_ok() && actor("admin-2").is_ok());
        assert!(actor("\u{0430}dmin").unwrap_err().contains("rule 3"));
        assert!(actor("admin\u{200b}").is_err());
        assert!(actor("ａｄｍｉｎ").unwrap_err().contains("rule 2"));
    }
}
