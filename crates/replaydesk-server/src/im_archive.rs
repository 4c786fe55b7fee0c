//! `POST /im-archive/v4/group_open_http_svc/group_msg_get_simple`: the archive answering in
//! the IM's own wire format, authenticated by a UserSig of the configured IM administrator
//! (not by the console's credentials). Every answer is HTTP 200 with the IM's
//! `ActionStatus` / `ErrorCode` / `ErrorInfo`, errors included: the one exception to the
//! API's `{error, detail}` format, so that an IM REST client reads it unchanged.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use replaydesk_service::archive::ImArchiveQuery;
use replaydesk_service::ReplayDesk;
use serde_json::json;

fn im_json(body: &serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

/// Any other path under `/im-archive`: the archive serves `group_msg_get_simple` only, and
/// says so as the IM says it of a command it does not know (60009, HTTP 404).
pub fn unknown_command() -> Response {
    let body = json!({"ActionStatus": "FAIL", "ErrorCode": 60009, "ErrorInfo": "the archive serves group_open_http_svc/group_msg_get_simple only"});
    (
        StatusCode::NOT_FOUND,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

/// Reads a group's archived history as the IM's `group_msg_get_simple` does.
#[utoipa::path(
    post,
    path = "/im-archive/v4/group_open_http_svc/group_msg_get_simple",
    tag = "archive",
    params(
        ("sdkappid" = u64, Query, description = "the IM app id ReplayDesk is configured with"),
        ("identifier" = String, Query, description = "the configured IM administrator"),
        ("usersig" = String, Query, description = "that administrator's UserSig, verified as the IM verifies it"),
        ("random" = Option<u32>, Query, description = "ignored, as by the IM"),
        ("contenttype" = Option<String>, Query, description = "ignored, as by the IM"),
    ),
    request_body(content = String, description = "`{\"GroupId\", \"ReqMsgNumber\" (at most 20 served), \"ReqMsgSeq\"?}` (the newest MsgSeq wanted; absent for the newest)", content_type = "application/json"),
    responses((status = 200, description = "the IM's answer, errors included: `{ActionStatus, ErrorCode, ErrorInfo, GroupId, IsFinished, RspMsgList: [{From_Account, IsPlaceMsg, MsgBody, MsgPriority, MsgRandom, MsgSeq, MsgTimeStamp}]}` newest first, each item as the IM returned it; `ErrorCode` 70001/70003/70009/70013/70014 for the UserSig, 60010 for another identifier, 60012 without sdkappid, 10004 for a bad body, 10010 for a group the archive does not hold"))
)]
pub async fn group_msg_get_simple(
    State(desk): State<ReplayDesk>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(Query(pairs)) = query else {
        return im_json(
            &json!({"ActionStatus": "FAIL", "ErrorCode": 60002, "ErrorInfo": "the query string cannot be read"}),
        );
    };
    let Ok(body) = body else {
        return im_json(
            &json!({"ActionStatus": "FAIL", "ErrorCode": 10004, "ErrorInfo": "the request body cannot be read"}),
        );
    };
    let q = ImArchiveQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let answer = desk.im_archive_history(&q, &body).await;
    im_json(&answer.body)
}
