//! The HTTP side: the IM API entry point, the four commands, and the control endpoints.

use super::codes::{self, *};
use super::faults::{http500_response, lost_response, FaultConfig};
use super::state::{NewMessage, Refused, Sent, AV_CHAT_ROOM};
use super::{limits, now_unix_s, Emulator, EmulatorStats, MAX_REQUEST_BYTES};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::{Json, Router};
use replaydesk_im::usersig;
use replaydesk_im::wire::{
    self, ApiStatus, CreateGroupRequest, CreateGroupResponse, DestroyGroupRequest,
    GroupMsgGetSimpleRequest, GroupMsgGetSimpleResponse, SendGroupMsgRequest, SendGroupMsgResponse,
    HISTORY_GROUP_TYPES, HISTORY_PAGE_SIZE,
};
use replaydesk_protocol::{msg_body_size, MsgBodyElem, MAX_MSG_BODY_BYTES};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Instant;

/// The element types the service accepts in a `MsgBody`.
const MSG_TYPES: [&str; 9] = [
    "TIMTextElem",
    "TIMLocationElem",
    "TIMFaceElem",
    "TIMCustomElem",
    "TIMSoundElem",
    "TIMImageElem",
    "TIMFileElem",
    "TIMVideoFileElem",
    "TIMRelayElem",
];

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

/// Checks each element's type and content shape as the service does.
fn check_msg_body(body: &[MsgBodyElem]) -> Result<(), String> {
    if body.is_empty() {
        return Err("MsgBody is empty".into());
    }
    for (i, elem) in body.iter().enumerate() {
        if !MSG_TYPES.contains(&elem.msg_type.as_str()) {
            return Err(format!(
                "MsgBody[{i}]: unknown MsgType {}",
                quoted(&elem.msg_type)
            ));
        }
        let Some(content) = elem.msg_content.as_object() else {
            return Err(format!("MsgBody[{i}]: MsgContent is not an object"));
        };
        match elem.msg_type.as_str() {
            MsgBodyElem::CUSTOM if elem.custom_elem().is_none() => {
                return Err(format!(
                    "MsgBody[{i}]: TIMCustomElem fields must be strings"
                ));
            }
            "TIMTextElem" if !content.get("Text").is_some_and(Value::is_string) => {
                return Err(format!("MsgBody[{i}]: TIMTextElem needs a Text string"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `MsgPriority` as sent (`"High"`, ..., or 0..3) to the number history shows.
fn priority(value: Option<&Value>) -> i64 {
    const NORMAL: i64 = 1;
    match value {
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "high" => 0,
            "low" => 2,
            "lowest" => 3,
            _ => NORMAL,
        },
        Some(Value::Number(n)) => n.as_i64().filter(|p| (0..=3).contains(p)).unwrap_or(NORMAL),
        _ => NORMAL,
    }
}

fn send_group_msg(emu: &Emulator, json: Value) -> Answer {
    let req: SendGroupMsgRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("send_group_msg", e),
    };
    if let Err(e) = check_msg_body(&req.msg_body) {
        return fail(INVALID_PARAMETER, e);
    }
    let size = msg_body_size(&req.msg_body);
    if size > MAX_MSG_BODY_BYTES {
        return fail(
            MSG_BODY_TOO_LONG,
            format!("message body too long: {size} bytes, the limit is {MAX_MSG_BODY_BYTES}"),
        );
    }
    let msg = NewMessage {
        from_account: req
            .from_account
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| emu.shared.admin.clone()),
        random: req.random,
        priority: priority(req.extra.get("MsgPriority")),
        online_only: req.extra.get("OnlineOnlyFlag").and_then(Value::as_i64) == Some(1),
        body: req.msg_body,
    };
    let sent = emu
        .shared
        .groups
        .lock()
        .send(&req.group_id, msg, now_unix_s(), Instant::now());
    let (seq, time) = match sent {
        Ok(Sent::Stored { seq, time }) => {
            emu.with_stats(|s| s.messages_stored += 1);
            (Some(seq), time)
        }
        // The service's answer to a duplicate `Random`: success, with the ORIGINAL
        // message's MsgSeq and MsgTime; nothing new is stored (see the module docs).
        Ok(Sent::Duplicate { seq, time }) => {
            emu.with_stats(|s| s.duplicates_absorbed += 1);
            (Some(seq), time)
        }
        Ok(Sent::NotStored { seq, time }) => (seq, time),
        Err(r) => {
            if r == Refused::RateLimited {
                emu.with_stats(|s: &mut EmulatorStats| {
                    s.group_rate_limited += 1;
                    s.frequency_errors += 1;
                });
            }
            return refused(r, &req.group_id);
        }
    };
    answer(
        OK,
        &SendGroupMsgResponse {
            status: ApiStatus::ok(),
            msg_time: Some(time),
            msg_seq: seq,
        },
    )
}

fn group_msg_get_simple(emu: &Emulator, json: Value) -> Answer {
    let req: GroupMsgGetSimpleRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("group_msg_get_simple", e),
    };
    if req.req_msg_number == 0 {
        return fail(INVALID_PARAMETER, "ReqMsgNumber must be at least 1");
    }
    let number = req.req_msg_number.min(HISTORY_PAGE_SIZE) as usize;
    let page = emu
        .shared
        .groups
        .lock()
        .page(&req.group_id, number, req.req_msg_seq);
    match page {
        Ok(page) => answer(
            OK,
            &GroupMsgGetSimpleResponse {
                status: ApiStatus::ok(),
                group_id: req.group_id,
                is_finished: u8::from(page.finished),
                rsp_msg_list: page.msgs,
            },
        ),
        Err(r) => refused(r, &req.group_id),
    }
}

/// Recalled messages stay as holes; an unknown `MsgSeq` answers `RetCode` 10030.
fn group_msg_recall(emu: &Emulator, json: Value) -> Answer {
    let req: wire::GroupMsgRecallRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("group_msg_recall", e),
    };
    if req.msg_seq_list.is_empty() {
        return fail(INVALID_PARAMETER, "MsgSeqList is empty");
    }
    let seqs: Vec<u64> = req.msg_seq_list.iter().map(|m| m.msg_seq).collect();
    let recalled = emu.shared.groups.lock().recall(&req.group_id, &seqs);
    match recalled {
        Ok(list) => answer(
            OK,
            &wire::GroupMsgRecallResponse {
                status: ApiStatus::ok(),
                recall_ret_list: list
                    .into_iter()
                    .map(|(msg_seq, found)| wire::RecallResult {
                        msg_seq,
                        ret_code: if found { 0 } else { 10030 },
                    })
                    .collect(),
            },
        ),
        Err(r) => refused(r, &req.group_id),
    }
}

fn create_group(emu: &Emulator, json: Value) -> Answer {
    let req: CreateGroupRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("create_group", e),
    };
    let group_type = req.group_type.as_str();
    if group_type != AV_CHAT_ROOM && !HISTORY_GROUP_TYPES.contains(&group_type) {
        return fail(
            INVALID_PARAMETER,
            format!("unknown group Type {}", quoted(group_type)),
        );
    }
    // An empty GroupId is taken as none: the service generates one.
    let custom_id = req.group_id.as_deref().filter(|id| !id.is_empty());
    if let Some(id) = custom_id {
        if let Err(reason) = wire::validate_group_id(id) {
            return fail(INVALID_PARAMETER, format!("invalid GroupId: {reason}"));
        }
    }
    let created = emu
        .shared
        .groups
        .lock()
        .create(custom_id, group_type, Instant::now());
    match created {
        Ok(group_id) => answer(
            OK,
            &CreateGroupResponse {
                status: ApiStatus::ok(),
                group_id,
            },
        ),
        Err(r) => refused(r, custom_id.unwrap_or_default()),
    }
}

fn destroy_group(emu: &Emulator, json: Value) -> Answer {
    let req: DestroyGroupRequest = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => return invalid("destroy_group", e),
    };
    let destroyed = emu.shared.groups.lock().destroy(&req.group_id);
    match destroyed {
        Ok(()) => answer(OK, &ApiStatus::ok()),
        Err(r) => refused(r, &req.group_id),
    }
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

fn control_error(status: StatusCode, error: &str, detail: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": error, "detail": detail.into()})),
    )
        .into_response()
}

async fn get_faults(State(emu): State<Emulator>) -> Json<FaultConfig> {
    Json(emu.faults())
}

/// Replaces the fault knobs with the JSON body (absent fields: no fault). Any content type.
async fn put_faults(State(emu): State<Emulator>, body: Bytes) -> Response {
    let faults: FaultConfig = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, "invalid faults", e.to_string()),
    };
    match emu.set_faults(faults) {
        Ok(()) => Json(emu.faults()).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, "invalid faults", e.to_string()),
    }
}

async fn get_stats(State(emu): State<Emulator>) -> Json<EmulatorStats> {
    Json(emu.stats())
}

/// `PUT /control/secret-key` `{"secret_key": "..."}` → 204: rotates the app's key (never
/// echoed back). A body that is not that shape, or an empty key, is refused with 400 and
/// changes nothing.
async fn put_secret_key(State(emu): State<Emulator>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct KeyBody {
        secret_key: String,
    }
    let key = match serde_json::from_slice::<KeyBody>(&body) {
        Ok(k) => k.secret_key,
        Err(_) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                "invalid secret key",
                "expected {\"secret_key\": \"...\"}",
            )
        }
    };
    match emu.set_secret_key(&key) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, "invalid secret key", e.to_string()),
    }
}

/// Zeroes the counters; answers their values before.
async fn reset_stats(State(emu): State<Emulator>) -> Json<EmulatorStats> {
    Json(emu.reset_stats())
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
    fn priorities() {
        assert_eq!(priority(None), 1);
        assert_eq!(priority(Some(&json!("High"))), 0);
        assert_eq!(priority(Some(&json!("lowest"))), 3);
        assert_eq!(priority(Some(&json!("bogus"))), 1);
        assert_eq!(priority(Some(&json!(2))), 2);
        assert_eq!(priority(Some(&json!(9))), 1);
    }

    #[test]
    fn msg_body_checks() {
        assert!(check_msg_body(&[]).is_err());
        assert!(check_msg_body(&[MsgBodyElem::custom("x")]).is_ok());
        let data_only: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"TIMCustomElem","MsgContent":{"Data":"x"}}"#)
                .unwrap();
        assert!(check_msg_body(&[data_only]).is_ok());
        let bad: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"TIMCustomElem","MsgContent":{"Data":1}}"#).unwrap();
        assert!(check_msg_body(&[bad]).is_err());
        let unknown: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"Nope","MsgContent":{}}"#).unwrap();
        assert!(check_msg_body(&[unknown]).is_err());
        let text: MsgBodyElem =
            serde_json::from_str(r#"{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}"#)
                .unwrap();
        assert!(check_msg_body(&[text]).is_ok());
    }

    #[test]
    fn quoting_cuts_long_text_on_a_char_boundary() {
        assert_eq!(quoted("ab"), "\"ab\"");
        let long = "é".repeat(100);
        let q = quoted(&long);
        assert!(q.ends_with("...") && q.len() < 80);
    }
}
