//! The clouds' recording callbacks, no token: the streaming cloud's
//! (`POST /v1/callbacks/recording`, the body's `sign` authenticates it) and TRTC cloud
//! recording's (`POST /v1/callbacks/trtc`, the `Sign` header over the raw body). Both share
//! the per-source rate limit and the body limit. The admin's view of the callbacks
//! received is in the operation table (`service::api`).
//!
//! Answers to the cloud: `200 {"code":0}` once the callback is durably recorded (accepted,
//! duplicate, ignored or unmatched); a refusal is JSON `{"error": <reason>, "detail"}`:
//! 400 `not_json`; 422 `not_an_object`, `missing_field` (a missing or empty `sign` or
//! `t` included), `invalid_field`; 401 `bad_sign`, `expired`, `no_callback_key`; 413 for a
//! body over `max_body_bytes` (not stored); 429 `rate_limited` (with `Retry-After`) for a
//! source over `callback_rate_per_source`, before its body is read (not stored); 500 when it could not be recorded and 503 while
//! stopping (the cloud retries on anything but 200).

use super::error::{ApiError, ErrorBody};
use super::extract::{BodyLimit, ReceivedAt};
use super::source_limit::SourceLimiter;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use replaydesk_callback::Refusal;
use replaydesk_service::ReplayDesk;
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
    let body = match limited_body(&desk, limit, &sources, peer, req).await {
        Ok(body) => body,
        Err(res) => return *res,
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

/// The body of a callback request, once its source is within its rate (checked before
/// the body is read: a source over its rate costs no more than this) and the body within
/// `max_body_bytes`; else the answer to give.
async fn limited_body(
    desk: &ReplayDesk,
    limit: usize,
    sources: &SourceLimiter,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    req: Request,
) -> Result<Bytes, Box<Response>> {
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
            return Err(Box::new(res));
        }
    }
    // Any content type: the body is kept as received whatever it claims to be.
    match Bytes::from_request(req, &()).await {
        Ok(b) => Ok(b),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(Box::new(ApiError::payload_too_large(limit).into_response()))
        }
        Err(e) => Err(Box::new(
            ApiError::bad_request(format!("could not read the body: {}", e.body_text()))
                .into_response(),
        )),
    }
}

/// `POST /v1/callbacks/trtc` → 200 `{"code":0}` once recorded, or a refusal: 401
/// `bad_sign` (a missing, garbled or wrong `Sign`), `wrong_app` (`SdkAppId` is not this
/// server's IM app), `stale` (`CallbackTs` over 15 minutes old or over 5 ahead),
/// `no_callback_key` (none configured); 422 for a body that verifies but does not read;
/// 413, 429 as for the streaming cloud's; 500 when it could not be recorded (counted:
/// `replaydesk_trtc_callbacks_failed_total`) and 503 while stopping.
#[utoipa::path(post, path = "/v1/callbacks/trtc", tag = "callbacks", request_body(content = String, description = "TRTC cloud recording's callback JSON, kept as received; the `Sign` header (base64 HMAC-SHA256 of these exact bytes under trtc_callback_key) authenticates it", content_type = "application/json"), params(("Sign" = String, Header, description = "base64(HMAC-SHA256(trtc_callback_key, raw body))"), ("SdkAppId" = String, Header, description = "the TRTC/IM app id; must be this server's im.sdkappid")), responses((status = 200, description = "recorded: `{\"code\":0}`"), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn trtc(
    State(desk): State<ReplayDesk>,
    ReceivedAt(received_at): ReceivedAt,
    Extension(BodyLimit(limit)): Extension<BodyLimit>,
    Extension(sources): Extension<SourceLimiter>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    req: Request,
) -> Response {
    // Owned before any await: a borrow of the request would make the future not `Send`.
    let (sign, sdkappid) = {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        (header("Sign"), header("SdkAppId"))
    };
    let body = match limited_body(&desk, limit, &sources, peer, req).await {
        Ok(body) => body,
        Err(res) => return *res,
    };
    match desk
        .receive_trtc_callback(&body, sign.as_deref(), sdkappid.as_deref(), received_at)
        .await
    {
        Ok(receipt) => match &receipt.refusal {
            None => (StatusCode::OK, Json(json!({ "code": 0 }))).into_response(),
            Some(r) => (
                StatusCode::from_u16(r.http_status()).unwrap_or(StatusCode::UNAUTHORIZED),
                Json(json!({ "error": r.reason(), "detail": r.to_string() })),
            )
                .into_response(),
        },
        Err(e) => ApiError::from(e).into_response(),
    }
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
