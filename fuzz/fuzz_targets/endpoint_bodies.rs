//! Every endpoint's request as its handler decodes and validates it, without a server: the
//! classroom clients' bodies (timeline report, class start/end: the handlers' own field
//! reader `Fields` and the service's `validate` checks, in their order), the admin bodies
//! (`decode_body` into `CreateClass`, `ResendFilter`, `RecoverRequest`,
//! `SecretKeyRequest`, `AssignCallback`, as `JsonOf` does, plus the checks the service
//! applies first), and the admin query strings (`query_pairs` + `query_object` + `decode`,
//! as `QueryOf` does).
//!
//! The archive's `/im-archive` door too: its `group_msg_get_simple` body as the IM reads it
//! (`parse_im_archive_request`), its query parameters (axum's `Query`, then
//! `ImArchiveQuery::from_pairs`), and the standalone emulator's `PUT /control/retention`
//! body.
//!
//! The first byte picks the request, the rest is the body (or the query string).
//!
//! Properties beyond "does not panic": an accepted request written back as JSON is
//! accepted again as the same value; both doors agree (the Tauri door's `decode` of the
//! same JSON accepts exactly what the HTTP door's `decode_body` accepts, when the JSON has
//! no repeated key); a secret key body's `Debug` does not show the key.
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use libfuzzer_sys::fuzz_target;
use replaydesk::emulator::Retention;
use replaydesk::server::extract::{query_pairs, Fields};
use replaydesk::service::archive::{parse_im_archive_request, ImArchiveQuery};
use replaydesk::service::decode::{decode, decode_body, query_object, Source};
use replaydesk::service::requests::{
    CallbackQuery, ClassQuery, JobsQuery, MessageQuery, PageQuery, RecoverRequest, ResendFilter,
    SecretKeyRequest,
};
use replaydesk::service::{
    time_line_for, validate, AssignCallback, ClassEventReport, CreateClass, TimelineReport,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// `parse_timeline` in `server::reports`, then `record_timeline`'s checks.
fn timeline(body: &[u8]) -> Option<TimelineReport> {
    let mut f = Fields::parse(body).ok()?;
    let report = TimelineReport {
        uid: f.str("uid").ok()?,
        timestamp: f.int("timestamp").ok()?,
        rtt_ms: f.opt_number("rtt_ms").ok()?,
    };
    validate::uid("uid", &report.uid).ok()?;
    validate::timestamp(report.timestamp).ok()?;
    let rtt = report.rtt_ms.map(validate::rtt_ms).transpose().ok()?;
    let (time_line, error) = time_line_for(1_795_339_200_000, rtt);
    if let (Some(rtt), Some(error)) = (rtt, error) {
        assert!(
            error >= 0 && (error as f64) >= rtt / 2.0,
            "error bound below rtt/2"
        );
        assert!(
            (1_795_339_200_000 - time_line) as f64 <= rtt,
            "time_line beyond the rtt"
        );
    }
    Some(report)
}

/// `class_event` in `server::reports`, then `record_class_event`'s checks.
fn class_event(body: &[u8]) -> Option<ClassEventReport> {
    let mut f = Fields::parse(body).ok()?;
    let report = ClassEventReport {
        uid: f.str("uid").ok()?,
        timestamp: f.int("timestamp").ok()?,
    };
    validate::uid("uid", &report.uid).ok()?;
    validate::timestamp(report.timestamp).ok()?;
    Some(report)
}

/// Accepted again, as the same value, once written back as JSON.
fn stable<T: Serialize + PartialEq + Debug>(v: &T, reparse: impl Fn(&[u8]) -> Option<T>) {
    let json = serde_json::to_vec(v).expect("serializes");
    let again = reparse(&json)
        .unwrap_or_else(|| panic!("written back, refused: {}", String::from_utf8_lossy(&json)));
    assert_eq!(&again, v, "written back, read differently");
}

/// `JsonOf<T>`: the HTTP door. Checks the properties of an accepted body.
fn admin_body<T>(body: &[u8], check: impl Fn(&T) -> bool) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let http = decode_body::<T>(body);
    // The Tauri door gets the same JSON as an IPC argument (no bytes, so no repeated keys).
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if validate::no_duplicate_keys(body).is_ok() {
            let tauri = decode::<T>(Some(v), Source::Body);
            assert_eq!(
                http.as_ref().ok(),
                tauri.as_ref().ok(),
                "the doors disagree: http {http:?}, tauri {tauri:?}"
            );
        }
    }
    let v = http.ok().filter(|v| check(v))?;
    stable(&v, |b| decode_body::<T>(b).ok());
    Some(v)
}

/// `QueryOf<T>`: the query string as the HTTP door reads it; written back as the JSON
/// object the Tauri door takes, it is the same query.
fn query<T>(q: &[u8], check: impl Fn(&T) -> bool)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let Ok(q) = std::str::from_utf8(q) else {
        return;
    };
    let Ok(uri) = format!("/v1/admin/x?{q}").parse::<Uri>() else {
        return;
    };
    let Ok(pairs) = query_pairs(&uri) else {
        return;
    };
    let Ok(v) = decode::<T>(Some(query_object(&pairs)), Source::Query) else {
        return;
    };
    if !check(&v) {
        return;
    }
    let json = serde_json::to_value(&v).expect("serializes");
    let again = decode::<T>(Some(json.clone()), Source::Query)
        .unwrap_or_else(|e| panic!("written back, refused: {json}: {e:?}"));
    assert_eq!(again, v);
}

fn text_query(q: &Option<String>) -> bool {
    validate::text_query(q.as_deref()).is_ok()
}

/// `/im-archive`'s body: read (a ReqMsgNumber of at least 1, the same when written back)
/// or refused with the IM's 60003 (not JSON) or 10004, in its format.
fn im_archive_body(body: &[u8]) {
    match parse_im_archive_request(body) {
        Ok(r) => {
            assert!(r.req_msg_number >= 1);
            let again = parse_im_archive_request(&serde_json::to_vec(&r).expect("serializes"))
                .expect("written back, refused");
            assert_eq!(again, r);
        }
        Err(a) => {
            assert!(matches!(a.error_code, 60_003 | 10_004), "{a:?}");
            assert_eq!(a.body["ActionStatus"], "FAIL");
            assert_eq!(a.body["ErrorCode"], a.error_code);
        }
    }
}

/// `/im-archive`'s query string as its handler reads it: each parameter is the first pair
/// of its name, others ignored.
fn im_archive_query(q: &[u8]) {
    let Ok(q) = std::str::from_utf8(q) else {
        return;
    };
    let Ok(uri) = format!("/im-archive/v4/x?{q}").parse::<Uri>() else {
        return;
    };
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&uri) else {
        return;
    };
    let got = ImArchiveQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(got.sdkappid, first("sdkappid"));
    assert_eq!(got.identifier, first("identifier"));
    assert_eq!(got.usersig, first("usersig"));
}

/// The emulator's `PUT /control/retention` body, as its handler reads it: read (and the
/// same when written back) or refused.
fn retention_body(body: &[u8]) {
    if let Ok(r) = serde_json::from_slice::<Retention>(body) {
        let again: Retention = serde_json::from_slice(&serde_json::to_vec(&r).expect("serializes"))
            .expect("written back, refused");
        assert_eq!(again, r);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 15 {
        0 => {
            if let Some(r) = timeline(body) {
                stable(&r, timeline);
            }
        }
        1 => {
            if let Some(r) = class_event(body) {
                stable(&r, class_event);
            }
        }
        2 => {
            admin_body::<CreateClass>(body, |c| {
                validate::class_id(&c.class_id).is_ok()
                    && validate::group_id(&c.group_id).is_ok()
                    && validate::uid("teacher_uid", &c.teacher_uid).is_ok()
            });
        }
        3 => {
            admin_body::<ResendFilter>(body, |_| true);
        }
        4 => {
            admin_body::<RecoverRequest>(body, |_| true);
        }
        5 => {
            if let Some(req) = admin_body::<SecretKeyRequest>(body, |r| {
                validate::secret_key(&r.secret_key).is_ok()
            }) {
                let shown = format!("{req:?}");
                if req.secret_key.chars().count() >= 4
                    && !"SecretKeyRequest { secret_key: \"<redacted>\" }".contains(&req.secret_key)
                {
                    assert!(
                        !shown.contains(&req.secret_key),
                        "the key is in Debug: {shown}"
                    );
                }
            }
        }
        6 => {
            admin_body::<AssignCallback>(body, |a| validate::uid("uid", &a.uid).is_ok());
        }
        7 => query::<MessageQuery>(body, |q| text_query(&q.q)),
        8 => query::<CallbackQuery>(body, |_| true),
        9 => query::<PageQuery>(body, |_| true),
        10 => query::<JobsQuery>(body, |_| true),
        11 => query::<ClassQuery>(body, |q| text_query(&q.q)),
        12 => im_archive_body(body),
        13 => im_archive_query(body),
        _ => retention_body(body),
    }
});
