//! The HTTP side: the IM API entry point (authentication, limits, injected faults, one
//! answer per call), and the routes. The commands are in `messages.rs` (send, history,
//! recall) and `groups.rs` (create, destroy); the control endpoints in `control.rs`.

mod control;
mod groups;
mod messages;

use super::codes::{self, *};
use super::faults::{http500_response, lost_response, FaultConfig};
use super::state::Refused;
use super::{limits, now_unix_s, Emulator, MAX_REQUEST_BYTES};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::Router;
use control::{
    control_error, get_faults, get_retention, get_stats, put_faults, put_retention, put_secret_key,
    reset_stats,
};
use groups::{create_group, destroy_group};
use messages::{group_msg_get_simple, group_msg_recall, send_group_msg};
use replaydesk_im::usersig;
use replaydesk_im::wire::{self, ApiStatus};
use serde::Serialize;
use serde_json::Value;
use std::time::Instant;

/// The IM API, and the control endpoints when `control` is set (the standalone test tool:
/// they take no UserSig, so a server that others rely on must not expose them).
pub(crate) fn router(emulator: Emulator, control: bool) -> Router {
    let routes = Router::new().route("/v4/{*command}", any(im_entry));
    let routes = if control {
        routes
            .route("/control/faults", get(get_faults).put(put_faults))
            .route("/control/stats", get(get_stats))
            .route("/control/reset-stats", post(reset_stats))
            .route("/control/secret-key", put(put_secret_key))
            .route("/control/retention", get(get_retention).put(put_retention))
    } else {
        routes
    };
    routes
        .fallback(unknown_path)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(emulator)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Send,
    History,
    Create,
    Destroy,
    Recall,
    Unknown,
}

impl Command {
    fn from_path(path: &str) -> Self {
        match path.strip_prefix("/v4/") {
            Some(wire::SEND_GROUP_MSG) => Command::Send,
            Some(wire::GROUP_MSG_GET_SIMPLE) => Command::History,
            Some(wire::CREATE_GROUP) => Command::Create,
            Some(wire::DESTROY_GROUP) => Command::Destroy,
            Some(wire::GROUP_MSG_RECALL) => Command::Recall,
            _ => Command::Unknown,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Command::Send => "send_group_msg",
            Command::History => "group_msg_get_simple",
            Command::Create => "create_group",
            Command::Destroy => "destroy_group",
            Command::Recall => "group_msg_recall",
            Command::Unknown => "unknown",
        }
    }
}

/// One IM answer: its `ErrorCode` and its JSON text.
struct Answer {
    code: i64,
    json: Vec<u8>,
}

fn answer<T: Serialize>(code: i64, body: &T) -> Answer {
    match serde_json::to_vec(body) {
        Ok(json) => Answer { code, json },
        Err(_) => Answer {
            code: INTERNAL_ERROR,
            json: br#"{"ActionStatus":"FAIL","ErrorCode":10002,"ErrorInfo":"emulator could not encode its answer"}"#.to_vec(),
        },
    }
}

fn fail(code: i64, info: impl Into<String>) -> Answer {
    answer(code, &ApiStatus::fail(code, info))
}

fn json_response(status: StatusCode, json: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}

/// Caller-supplied text quoted in an `ErrorInfo`, cut to a sane length.
fn quoted(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return format!("{s:?}");
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}...", s.get(..end).unwrap_or_default())
}

/// Every `/v4/...` call.
async fn im_entry(
    State(emu): State<Emulator>,
    method: Method,
    uri: Uri,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let command = Command::from_path(uri.path());
    emu.with_stats(|s| s.count_request(command.name()));
    let faults = emu.faults();
    let faulty = faults.applies_to(command == Command::Send);
    if faulty {
        if let Some(delay) = faults.draw_latency() {
            tokio::time::sleep(delay).await;
        }
        if faults.draw_http500() {
            emu.with_stats(|s| s.http500s += 1);
            tracing::debug!(command = command.name(), "injected HTTP 500");
            return http500_response();
        }
    }
    let answer = process(
        &emu,
        command,
        faulty.then_some(&faults),
        &method,
        query,
        body,
    );
    tracing::debug!(command = command.name(), code = answer.code, "IM call");
    if faulty && faults.draw_lost_response() {
        emu.with_stats(|s| s.lost_responses += 1);
        return lost_response(answer.json);
    }
    emu.with_stats(|s| s.count_answer(answer.code));
    json_response(StatusCode::OK, answer.json)
}

/// Checks and runs one call. Synchronous: no lock is held across an await.
fn process(
    emu: &Emulator,
    command: Command,
    faults: Option<&FaultConfig>,
    method: &Method,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    if method != Method::POST {
        return fail(HTTP_PARSE_ERROR, "only POST is accepted");
    }
    let Ok(Query(params)) = query else {
        return fail(HTTP_PARSE_ERROR, "the query string cannot be read");
    };
    if let Err(refusal) = authenticate(emu, &params) {
        return refusal;
    }
    if !limits::take(&mut emu.shared.app_bucket.lock(), Instant::now()) {
        emu.with_stats(|s| {
            s.app_rate_limited += 1;
            s.frequency_errors += 1;
        });
        return fail(
            APP_FREQUENCY_LIMIT,
            "SDKAppID request frequency exceeds the limit",
        );
    }
    if command == Command::Unknown {
        return fail(UNKNOWN_COMMAND, "unknown service or command: check the URL");
    }
    if let Some(code) = faults.and_then(FaultConfig::draw_failure) {
        emu.with_stats(|s| s.injected_failures += 1);
        return fail(code, format!("injected fault (error {code})"));
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return if command == Command::Send {
                fail(MSG_BODY_TOO_LONG, "request body too long")
            } else {
                fail(INVALID_PARAMETER, "request body too long")
            };
        }
        Err(_) => return fail(HTTP_PARSE_ERROR, "the request body cannot be read"),
    };
    let json: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return fail(JSON_PARSE_ERROR, format!("request body is not JSON: {e}")),
    };
    match command {
        Command::Send => send_group_msg(emu, json),
        Command::History => group_msg_get_simple(emu, json),
        Command::Create => create_group(emu, json),
        Command::Destroy => destroy_group(emu, json),
        Command::Recall => group_msg_recall(emu, json),
        Command::Unknown => fail(UNKNOWN_COMMAND, "unknown service or command"),
    }
}

/// The UserSig and administrator checks of every call.
fn authenticate(emu: &Emulator, params: &[(String, String)]) -> Result<(), Answer> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(sdkappid) = param("sdkappid").and_then(|v| v.trim().parse::<u64>().ok()) else {
        return Err(fail(
            SDKAPPID_REQUIRED,
            "sdkappid is missing or not a number: check the URL",
        ));
    };
    let identifier = param("identifier").unwrap_or_default();
    let sig = param("usersig").unwrap_or_default();
    if sig.trim().is_empty() {
        return Err(fail(USERSIG_MALFORMED, "usersig is missing"));
    }
    let shared = &emu.shared;
    let key = shared.secret_key.lock().clone();
    let verified = usersig::verify(sig, sdkappid, identifier, &key, now_unix_s())
        .map_err(|e| fail(i64::from(e.im_error_code()), e.to_string()))?;
    if sdkappid != shared.sdkappid {
        return Err(fail(
            USERSIG_SDKAPPID_MISMATCH,
            format!("sdkappid {sdkappid} is not served here"),
        ));
    }
    if verified.identifier != shared.admin {
        return Err(fail(
            ADMIN_REQUIRED,
            format!(
                "{} is not an app administrator: the request requires app admin permission",
                quoted(&verified.identifier)
            ),
        ));
    }
    Ok(())
}

fn refused(r: Refused, group_id: &str) -> Answer {
    let id = quoted(group_id);
    match r {
        Refused::NotFound => fail(GROUP_NOT_FOUND, format!("group {id} does not exist")),
        Refused::Dismissed => fail(GROUP_DISMISSED, format!("group {id} was dismissed")),
        Refused::RateLimited => fail(
            GROUP_FREQUENCY_LIMIT,
            format!("message frequency limit of group {id} exceeded"),
        ),
        Refused::NoHistory => fail(
            NO_PERMISSION,
            format!("group {id} is an AVChatRoom, which keeps no history"),
        ),
        Refused::IdTaken => fail(GROUP_ID_TAKEN, format!("group id {id} is already used")),
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> Answer {
    fail(INVALID_PARAMETER, format!("invalid {what} body: {e}"))
}

/// Any path that is neither `/v4/...` nor a control endpoint.
async fn unknown_path(State(emu): State<Emulator>, uri: Uri) -> Response {
    if uri.path().starts_with("/control") {
        return control_error(
            StatusCode::NOT_FOUND,
            "not found",
            "no such control endpoint",
        );
    }
    emu.with_stats(|s| {
        s.count_request(Command::Unknown.name());
        s.count_answer(codes::UNKNOWN_COMMAND);
    });
    let a = fail(UNKNOWN_COMMAND, "unknown service or command: check the URL");
    json_response(StatusCode::NOT_FOUND, a.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_by_path() {
        assert_eq!(
            Command::from_path("/v4/group_open_http_svc/send_group_msg"),
            Command::Send
        );
        assert_eq!(
            Command::from_path("/v4/group_open_http_svc/destroy_group"),
            Command::Destroy
        );
        assert_eq!(
            Command::from_path("/v4/group_open_http_svc/send_group_msg/"),
            Command::Unknown
        );
        assert_eq!(Command::from_path("/v4/"), Command::Unknown);
    }

    #[test]
    fn quoting_cuts_long_text_on_a_char_boundary() {
        assert_eq!(quoted("ab"), "\"ab\"");
        let long = "é".repeat(100);
        let q = quoted(&long);
        assert!(q.ends_with("...") && q.len() < 80);
    }
}
