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

impl ReplayDesk {
    /// Answers one `group_msg_get_simple` call from the archive.
    pub async fn im_archive_history(&self, query: &ImArchiveQuery, body: &[u8]) -> ImArchiveAnswer {
        if let Err(a) = self.im_archive_authenticate(query) {
            return a;
        }
        let json: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return fail(JSON_PARSE_ERROR, format!("request body is not JSON: {e}")),
        };
        let req: GroupMsgGetSimpleRequest = match serde_json::from_value(json) {
            Ok(r) => r,
            Err(e) => {
                return fail(
                    INVALID_PARAMETER,
                    format!("invalid group_msg_get_simple body: {e}"),
                )
            }
        };
        if req.req_msg_number == 0 {
            return fail(INVALID_PARAMETER, "ReqMsgNumber must be at least 1");
        }
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
