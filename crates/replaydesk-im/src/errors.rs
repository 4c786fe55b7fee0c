//! What a sender should do with each IM answer (the table in docs/protocol.md section 2; the
//! classification is ReplayDesk's).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How an IM answer is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorClass {
    /// Delivered.
    Ok,
    /// Transient (internal error, HTTP 5xx, timeout, connection): retry with back-off.
    Retry,
    /// A frequency limit: slow down and retry later.
    SlowDown,
    /// The request itself is wrong (bad parameter, no permission, group missing, muted,
    /// refused by the app's callback): retrying cannot help; fix, then resend by hand.
    Permanent,
    /// The UserSig expired: make a new one and retry at once.
    RenewUserSig,
    /// The credentials are wrong (malformed sig, wrong key, user or app): stop sending for
    /// the app and alert; nothing is dropped.
    Credentials,
}

/// Classifies an IM `ErrorCode`. Unknown non-zero codes are retried: the retry schedule
/// bounds the cost, and a transient fault taken for permanent would need a person.
pub fn classify_code(code: i64) -> ErrorClass {
    match code {
        0 => ErrorClass::Ok,
        10002 => ErrorClass::Retry,
        10006 | 10023 | 60007 | 60011 => ErrorClass::SlowDown,
        10004 | 10007 | 10010 | 10015 | 10016 | 10017 | 80002 => ErrorClass::Permanent,
        70001 => ErrorClass::RenewUserSig,
        // 60010: the identifier is not an app administrator.
        60010 | 70003 | 70009 | 70013 | 70014 => ErrorClass::Credentials,
        _ => ErrorClass::Retry,
    }
}

/// True for the codes that mean the group does not exist (offer to create it).
pub fn is_group_missing(code: i64) -> bool {
    matches!(code, 10010 | 10015)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_protocol_md() {
        let cases = [
            (0, ErrorClass::Ok),
            (10002, ErrorClass::Retry),
            (10006, ErrorClass::SlowDown),
            (10023, ErrorClass::SlowDown),
            (60007, ErrorClass::SlowDown),
            (60011, ErrorClass::SlowDown),
            (10004, ErrorClass::Permanent),
            (10007, ErrorClass::Permanent),
            (10010, ErrorClass::Permanent),
            (10015, ErrorClass::Permanent),
            (10016, ErrorClass::Permanent),
            (10017, ErrorClass::Permanent),
            (80002, ErrorClass::Permanent),
            (70001, ErrorClass::RenewUserSig),
            (70003, ErrorClass::Credentials),
            (70009, ErrorClass::Credentials),
            (70013, ErrorClass::Credentials),
            (70014, ErrorClass::Credentials),
            (60010, ErrorClass::Credentials),
            (99999, ErrorClass::Retry),
        ];
        for (code, class) in cases {
            assert_eq!(classify_code(code), class, "code {code}");
        }
        assert!(is_group_missing(10010) && is_group_missing(10015) && !is_group_missing(10004));
    }
}
