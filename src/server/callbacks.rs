//! The streaming cloud's recording callback (`POST /v1/callbacks/recording`, no token: the
//! body's `sign` authenticates it), and the admin's view of every callback received
//! (`/v1/admin/callbacks`), with assignment of those that matched no class.
//!
//! Answers to the cloud: `200 {"code":0}` once the callback is durably recorded (accepted,
//! duplicate, ignored or unmatched); a refusal is JSON `{"error": <reason>, "detail"}`:
//! 400 `not_json`; 422 `not_an_object`, `missing_field` (a missing or empty `sign` or
//! `t` included), `invalid_field`; 401 `bad_sign`, `expired`, `no_callback_key`; 413 for a
//! body over `max_body_bytes` (not stored); 429 `rate_limited` (with `Retry-After`) for a
//! source over `callback_rate_per_source`, before its body is read (not stored); 500 when it could not be recorded and 503 while
//! stopping (the cloud retries on anything but 200).

use super::auth::Admin;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{BodyLimit, JsonOf, PathParam, QueryOf, ReceivedAt};
use super::source_limit::SourceLimiter;
use crate::service::requests::CallbackQuery;
use crate::service::{AssignCallback, AssignedCallback, ReplayDesk, UnassignedCallback};
use crate::store::{Page, RecordingCallbackRecord};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use replaydesk_callback::Refusal;
use serde_json::json;
use std::net::SocketAddr;

/// The HTTP status a refusal is answered with.
pub fn refusal_status(r: &Refusal) -> StatusCode {
    match r.reason() {
        "not_json" => StatusCode::BAD_REQUEST,
        "bad_sign" | "expired" | "t_too_far_ahead" | "no_callback_key" => StatusCode::UNAUTHORIZED,
        // not_an_object, missing_field, invalid_field
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// `POST /v1/callbacks/recording` → 200 `{"code":0}` once recorded, or a refusal.
#[utoipa::path(post, path = "/v1/callbacks/recording", tag = "callbacks", request_body(content = String, description = "the streaming cloud's callback JSON, kept as received; its `sign` authenticates it", content_type = "application/json"), responses((status = 200, description = "recorded: `{\"code\":0}`"), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn recording(
    State(desk): State<ReplayDesk>,
    ReceivedAt(received_at): ReceivedAt,
    Extension(BodyLimit(limit)): Extension<BodyLimit>,
    Extension(sources): Extension<SourceLimiter>,
    // Absent when the router is called without the accept loop (then nothing to key on).
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    req: Request,
) -> Response {
    // Before the body is read: a source over its rate costs us no more than this.
    if let Some(Extension(ConnectInfo(peer))) = peer {
        // Behind a trusted proxy, the client it forwarded is the source.
        let source = super::conn_limit::client_ip(
            peer.ip(),
            req.headers(),
            &desk.config().http.trusted_proxies,
        );
        if let Err(wait) = sources.check(source) {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut res = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many callbacks from this source; retry in {secs} s"),
            )
            .into_response();
            res.headers_mut().insert(RETRY_AFTER, secs.into());
            return res;
        }
    }
    // Any content type: the body is kept as received whatever it claims to be.
    let body = match Bytes::from_request(req, &()).await {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::payload_too_large(limit).into_response()
        }
        Err(e) => {
            return ApiError::bad_request(format!("could not read the body: {}", e.body_text()))
                .into_response()
        }
    };
    match desk.receive_recording_callback(&body, received_at).await {
        Ok(receipt) => match &receipt.refusal {
            None => (StatusCode::OK, Json(json!({ "code": 0 }))).into_response(),
            Some(r) => (
                refusal_status(r),
                Json(json!({ "error": r.reason(), "detail": r.message() })),
            )
                .into_response(),
        },
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /v1/admin/callbacks?status&cursor&limit` → `{items, next_cursor}`, newest first.
#[utoipa::path(get, path = "/v1/admin/callbacks", tag = "admin", security(("admin" = [])), operation_id = "list_callbacks", params(CallbackQuery), responses((status = 200, body = Page<RecordingCallbackRecord>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn list(
    State(desk): State<ReplayDesk>,
    _: Admin,
    QueryOf(query): QueryOf<CallbackQuery>,
) -> ApiResult<Json<Page<RecordingCallbackRecord>>> {
    Ok(Json(desk.console().list_callbacks(query).await?))
}

/// `GET /v1/admin/callbacks/{id}` → the callback as stored.
#[utoipa::path(get, path = "/v1/admin/callbacks/{id}", tag = "admin", security(("admin" = [])), operation_id = "get_callback", params(("id" = i64, Path)), responses((status = 200, body = RecordingCallbackRecord), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn one(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<RecordingCallbackRecord>> {
    Ok(Json(desk.console().get_callback(id).await?))
}

/// `POST /v1/admin/callbacks/{id}/assign` `{"class_id","uid"}` → 200
/// `{callback, message, message_created}`. Audited.
#[utoipa::path(post, path = "/v1/admin/callbacks/{id}/assign", tag = "admin", security(("admin" = [])), operation_id = "assign_callback", params(("id" = i64, Path)), request_body = AssignCallback, responses((status = 200, body = AssignedCallback), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn assign(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(id): PathParam<i64>,
    JsonOf(body): JsonOf<AssignCallback>,
) -> ApiResult<Json<AssignedCallback>> {
    let assigned = desk
        .console()
        .assign_callback(id, body, &admin.actor)
        .await?;
    Ok(Json(assigned))
}

/// `POST /v1/admin/callbacks/{id}/unassign` → 200 `{callback, message_deleted}`: an
/// assignment undone while its 1004 is not sent (409 once it is). Audited.
#[utoipa::path(post, path = "/v1/admin/callbacks/{id}/unassign", tag = "admin", security(("admin" = [])), operation_id = "unassign_callback", params(("id" = i64, Path)), responses((status = 200, body = UnassignedCallback), (status = 409, description = "not assigned, or its 1004 is already sent (or being sent): nothing changed", body = ErrorBody), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn unassign(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<UnassignedCallback>> {
    Ok(Json(
        desk.console().unassign_callback(id, &admin.actor).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_statuses() {
        use replaydesk_callback::CallbackError;
        assert_eq!(refusal_status(&Refusal::BadSign), StatusCode::UNAUTHORIZED);
        assert_eq!(
            refusal_status(&Refusal::NoCallbackKey),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            refusal_status(&CallbackError::NotJson("x".into()).into()),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            refusal_status(&CallbackError::MissingField { field: "sign" }.into()),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
