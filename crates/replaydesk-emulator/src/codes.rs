//! The `ErrorCode`s the emulator answers, and when. Codes are the real service's public
//! ones; where the service's choice is not documented, the emulator's choice is noted.

/// Success.
pub const OK: i64 = 0;
/// Internal error (only ever injected by a fault knob).
pub const INTERNAL_ERROR: i64 = 10002;
/// Invalid parameter: a JSON body of the wrong shape (missing or mistyped fields, empty
/// `MsgBody`, unknown `MsgType`, unknown group `Type`, bad custom `GroupId`,
/// `ReqMsgNumber` 0) and any other request body that cannot be read (body over the
/// request size cap on a command other than `send_group_msg`).
pub const INVALID_PARAMETER: i64 = 10004;
/// No permission. The emulator answers it for `group_msg_get_simple` on an `AVChatRoom`,
/// which keeps no history (the real service refuses history of live-broadcast groups).
pub const NO_PERMISSION: i64 = 10007;
/// The group does not exist.
pub const GROUP_NOT_FOUND: i64 = 10010;
/// The group was dismissed (`destroy_group`); every later call about it gets this.
pub const GROUP_DISMISSED: i64 = 10015;
/// `create_group` with a custom `GroupId` that is already taken.
pub const GROUP_ID_TAKEN: i64 = 10021;
/// Per-group message frequency limit (`send_group_msg`).
pub const GROUP_FREQUENCY_LIMIT: i64 = 10023;
/// HTTP-level parse error: a method other than POST, or an unreadable query string.
pub const HTTP_PARSE_ERROR: i64 = 60002;
/// The body is not JSON at all (not UTF-8, or not parseable). JSON of the wrong shape is
/// [`INVALID_PARAMETER`].
pub const JSON_PARSE_ERROR: i64 = 60003;
/// Unknown service or command in the URL.
pub const UNKNOWN_COMMAND: i64 = 60009;
/// A valid UserSig of an account that is not the app administrator.
pub const ADMIN_REQUIRED: i64 = 60010;
/// Per-app request frequency limit (all commands).
pub const APP_FREQUENCY_LIMIT: i64 = 60011;
/// `sdkappid` query parameter missing or not an unsigned integer.
pub const SDKAPPID_REQUIRED: i64 = 60012;
/// UserSig expired.
pub const USERSIG_EXPIRED: i64 = 70001;
/// UserSig malformed; also a missing or empty `usersig` query parameter.
pub const USERSIG_MALFORMED: i64 = 70003;
/// UserSig signed with another key (or altered).
pub const USERSIG_BAD_SIGNATURE: i64 = 70009;
/// UserSig made for another identifier than the `identifier` query parameter (a missing
/// `identifier` is compared as the empty string, so it lands here too).
pub const USERSIG_IDENTIFIER_MISMATCH: i64 = 70013;
/// UserSig made for another sdkappid than the query's, or the query's sdkappid is not the
/// one this emulator serves.
pub const USERSIG_SDKAPPID_MISMATCH: i64 = 70014;
/// The message body (`MsgBody` as compact JSON) is over 12 KB; also a request body over the
/// emulator's request size cap on `send_group_msg`.
pub const MSG_BODY_TOO_LONG: i64 = 80002;

/// True for the codes the emulator's rate limiters answer.
pub fn is_frequency_limit(code: i64) -> bool {
    matches!(code, APP_FREQUENCY_LIMIT | GROUP_FREQUENCY_LIMIT)
}
