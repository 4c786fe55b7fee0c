//! The archive answering `group_msg_get_simple` as the IM does, so that replay tooling
//! that pages a group through the IM can be pointed at ReplayDesk by changing its host:
//! the same query parameters (`sdkappid`, `identifier`, `usersig`), a UserSig of the
//! configured IM administrator verified as the IM verifies it, the same request and paging
//! (newest first, at most 20, `ReqMsgSeq` = the newest wanted, `IsFinished`), the items as
//! the IM returned them, and its errors: HTTP 200 with `ActionStatus` `FAIL` and its
//! `ErrorCode` (70001/70003/70009/70013/70014 for the UserSig, 60010 for another identifier,
//! 10004 for a bad request, 10010 for a group the archive does not hold).

use super::super::ReplayDesk;
use replaydesk_im::usersig;
use replaydesk_im::wire::{GroupMsgGetSimpleRequest, HISTORY_PAGE_SIZE};
use serde_json::{json, Value};

/// The IM query parameters of a call (any others are ignored, as the IM does).
#[derive(Debug, Clone, Default)]
pub struct ImArchiveQuery {
    pub sdkappid: Option<String>,
    pub identifier: Option<String>,
    pub usersig: Option<String>,
}

impl ImArchiveQuery {
    /// Reads the parameters from a query string's pairs (the first of each name).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut q = Self::default();
        for (k, v) in pairs {
            let slot = match k {
                "sdkappid" => &mut q.sdkappid,
                "identifier" => &mut q.identifier,
                "usersig" => &mut q.usersig,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(v.to_owned());
            }
        }
        q
    }
}

/// An answer in the IM's format: always sent with HTTP 200.
#[derive(Debug, Clone, PartialEq)]
pub struct ImArchiveAnswer {
    pub error_code: i64,
    pub body: Value,
}

fn fail(code: i64, info: impl Into<String>) -> ImArchiveAnswer {
    ImArchiveAnswer {
        error_code: code,
        body: json!({"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info.into()}),
    }
}

/// The IM's codes used here.
const SDKAPPID_REQUIRED: i64 = 60_012;
const ADMIN_REQUIRED: i64 = 60_010;
const USERSIG_MALFORMED: i64 = 70_003;
const USERSIG_SDKAPPID_MISMATCH: i64 = 70_014;
const INVALID_PARAMETER: i64 = 10_004;
const JSON_PARSE_ERROR: i64 = 60_003;
const GROUP_NOT_FOUND: i64 = 10_010;
const INTERNAL_ERROR: i64 = 10_002;

/// Reads a `group_msg_get_simple` body as the IM does: JSON (else 60003), an object with a
/// string `GroupId`, an integer `ReqMsgNumber` of at least 1 and, when present and not
/// null, an integer `ReqMsgSeq` of at least 0 (else 10004).
pub fn parse_request(body: &[u8]) -> Result<GroupMsgGetSimpleRequest, ImArchiveAnswer> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| fail(JSON_PARSE_ERROR, format!("request body is not JSON: {e}")))?;
    let req: GroupMsgGetSimpleRequest = serde_json::from_value(json).map_err(|e| {
        fail(
            INVALID_PARAMETER,
            format!("invalid group_msg_get_simple body: {e}"),
        )
    })?;
    if req.req_msg_number == 0 {
        return Err(fail(INVALID_PARAMETER, "ReqMsgNumber must be at least 1"));
    }
    Ok(req)
}

impl ReplayDesk {
    /// Answers one `group_msg_get_simple` call from the archive.
    pub async fn im_archive_history(&self, query: &ImArchiveQuery, body: &[u8]) -> ImArchiveAnswer {
        if let Err(a) = self.im_archive_authenticate(query) {
            return a;
        }
        let req = match parse_request(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let class = match self.store().class_by_group(&req.group_id).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return fail(
                    GROUP_NOT_FOUND,
                    format!("group {:?} is not held by this archive", req.group_id),
                )
            }
            Err(e) => return fail(INTERNAL_ERROR, format!("archive unavailable: {e}")),
        };
        let number = req.req_msg_number.min(HISTORY_PAGE_SIZE);
        let newest = req
            .req_msg_seq
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        let (rows, finished) = match self
            .store()
            .history_page(&class.class_id, newest, number)
            .await
        {
            Ok(p) => p,
            Err(e) => return fail(INTERNAL_ERROR, format!("archive unavailable: {e}")),
        };
        let list: Vec<Value> = rows
            .iter()
            .filter_map(|(_, item)| serde_json::from_str(item).ok())
            .collect();
        ImArchiveAnswer {
            error_code: 0,
            body: json!({
                "ActionStatus": "OK",
                "ErrorCode": 0,
                "ErrorInfo": "",
                "GroupId": req.group_id,
                "IsFinished": u8::from(finished),
                "RspMsgList": list,
            }),
        }
    }

    /// The IM's checks, in its order: `sdkappid`, the UserSig (format, app, identifier,
    /// expiry, signature), the administrator.
    fn im_archive_authenticate(&self, q: &ImArchiveQuery) -> Result<(), ImArchiveAnswer> {
        let im = self.delivery().im().config();
        let Some(sdkappid) = q
            .sdkappid
            .as_deref()
            .and_then(|v| v.trim().parse::<u64>().ok())
        else {
            return Err(fail(
                SDKAPPID_REQUIRED,
                "sdkappid is missing or not a number: check the URL",
            ));
        };
        let identifier = q.identifier.as_deref().unwrap_or_default();
        let sig = q.usersig.as_deref().unwrap_or_default();
        if sig.trim().is_empty() {
            return Err(fail(USERSIG_MALFORMED, "usersig is missing"));
        }
        let now = replaydesk_clock::unix_ms_now().div_euclid(1000);
        let verified = usersig::verify(sig, sdkappid, identifier, im.secret_key.expose(), now)
            .map_err(|e| fail(i64::from(e.im_error_code()), e.to_string()))?;
        if sdkappid != im.sdkappid {
            return Err(fail(
                USERSIG_SDKAPPID_MISMATCH,
                format!("sdkappid {sdkappid} is not served here"),
            ));
        }
        if verified.identifier != im.admin {
            return Err(fail(
                ADMIN_REQUIRED,
                "the identifier is not the app administrator: the request requires app admin permission",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("GroupId".to_owned()),
                        Just("ReqMsgNumber".to_owned()),
                        Just("ReqMsgSeq".to_owned()),
                        ".{0,6}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any bytes are read or refused with the IM's 60003/10004, never a panic; what is
        /// read has a ReqMsgNumber of at least 1 and reads back the same when written again.
        #[test]
        fn any_body_is_read_or_refused_with_the_ims_codes(body in prop::collection::vec(any::<u8>(), 0..64)) {
            check(&body);
        }

        /// Objects with the IM's field names, of any types.
        #[test]
        fn any_json_object_is_read_or_refused_with_the_ims_codes(v in any_json()) {
            check(v.to_string().as_bytes());
        }

        /// Well-typed bodies are read as they are.
        #[test]
        fn well_typed_bodies_are_read(group in ".{0,12}", n in 1u32.., seq in proptest::option::of(any::<u64>())) {
            let mut v = json!({"GroupId": group, "ReqMsgNumber": n});
            if let Some(s) = seq {
                v["ReqMsgSeq"] = json!(s);
            }
            let r = parse_request(v.to_string().as_bytes()).unwrap();
            prop_assert_eq!((r.group_id, r.req_msg_number, r.req_msg_seq), (group, n, seq));
        }
    }

    fn check(body: &[u8]) {
        match parse_request(body) {
            Ok(r) => {
                assert!(r.req_msg_number >= 1);
                let again = parse_request(&serde_json::to_vec(&r).unwrap()).unwrap();
                assert_eq!(again, r);
            }
            Err(a) => {
                assert!(
                    [JSON_PARSE_ERROR, INVALID_PARAMETER].contains(&a.error_code),
                    "{a:?}"
                );
                assert_eq!(a.body["ActionStatus"], "FAIL");
                assert_eq!(a.body["ErrorCode"], a.error_code);
            }
        }
    }

    #[test]
    fn wrong_types_and_values_are_the_ims_10004() {
        for body in [
            r#"{"GroupId": 1, "ReqMsgNumber": 20}"#,
            r#"{"GroupId": "g", "ReqMsgNumber": "20"}"#,
            r#"{"GroupId": "g", "ReqMsgNumber": 0}"#,
            r#"{"GroupId": "g", "ReqMsgNumber": -1}"#,
            r#"{"GroupId": "g", "ReqMsgNumber": 20, "ReqMsgSeq": -5}"#,
            r#"{"GroupId": "g", "ReqMsgNumber": 20, "ReqMsgSeq": 1.5}"#,
            r#"{"ReqMsgNumber": 20}"#,
            r#"[]"#,
        ] {
            assert_eq!(
                parse_request(body.as_bytes()).unwrap_err().error_code,
                INVALID_PARAMETER,
                "{body}"
            );
        }
        assert_eq!(
            parse_request(b"{").unwrap_err().error_code,
            JSON_PARSE_ERROR
        );
        let r =
            parse_request(br#"{"GroupId": "g", "ReqMsgNumber": 20, "ReqMsgSeq": null}"#).unwrap();
        assert_eq!(r.req_msg_seq, None);
    }

    #[test]
    fn the_first_of_each_parameter_counts_and_others_are_ignored() {
        let q = ImArchiveQuery::from_pairs([
            ("sdkappid", "1"),
            ("sdkappid", "2"),
            ("random", "9"),
            ("usersig", "s"),
        ]);
        assert_eq!(q.sdkappid.as_deref(), Some("1"));
        assert_eq!(q.usersig.as_deref(), Some("s"));
        assert!(q.identifier.is_none());
    }
}
