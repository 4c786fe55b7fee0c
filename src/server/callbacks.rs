//! The streaming cloud's recording callback (`POST /v1/callbacks/recording`, no token: the
//! body's `sign` authenticates it), and the admin's view of every callback received
//! (`/v1/admin/callbacks`), with assignment of those that matched no class.
//!
//! Answers to the cloud: `200 {"code":0}` once the callback is durably recorded (accepted,
//! duplicate, ignored or unmatched); a refusal is JSON `{"error": <reason>, "detail"}`:
//! 400 `not_json`; 422 `not_an_object`, `missing_field` (a missing or empty `sign` or
//! `t` included), `invalid_field`; 401 `bad_sign`, `expired`, `no_callback_key`; 413 for a
//! body over `max_body_bytes` (not stored); 500 when it could not be recorded and 503 while
//! stopping (the cloud retries on anything but 200).

use super::auth::Admin;
use super::error::{ApiError, ApiResult};
use super::extract::{query_pairs, BodyLimit, Fields, PathParam, ReceivedAt};
use crate::callback::Refusal;
use crate::service::{AssignCallback, AssignedCallback, ReplayDesk, DEFAULT_PAGE, MAX_PAGE};
use crate::store::{CallbackStatus, Page, RecordingCallbackRecord};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

/// The HTTP status a refusal is answered with.
pub fn refusal_status(r: &Refusal) -> StatusCode {
    match r.reason() {
        "not_json" => StatusCode::BAD_REQUEST,
        "bad_sign" | "expired" | "no_callback_key" => StatusCode::UNAUTHORIZED,
        // not_an_object, missing_field, invalid_field
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// `POST /v1/callbacks/recording` → 200 `{"code":0}` once recorded, or a refusal.
pub async fn recording(
    State(desk): State<ReplayDesk>,
    ReceivedAt(received_at): ReceivedAt,
    Extension(BodyLimit(limit)): Extension<BodyLimit>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // Any content type: the body is kept as received whatever it claims to be.
    let body = match body {
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

fn parse_status(v: &str) -> ApiResult<Option<CallbackStatus>> {
    let v = v.trim();
    if v == "all" {
        return Ok(None);
    }
    CallbackStatus::parse(v).map(Some).ok_or_else(|| {
        let all: Vec<&str> = CallbackStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::bad_request(format!(
            "status: unknown callback status {v:?} (all, {})",
            all.join(", ")
        ))
    })
}

/// The listing's query: `status` (repeatable or a comma list; `all` or absent: every
/// status), `cursor`, `limit`.
pub fn parse_callback_query(
    pairs: &[(String, String)],
) -> ApiResult<(Vec<CallbackStatus>, Option<i64>, u32)> {
    let mut statuses = Vec::new();
    let mut all = false;
    let mut cursor = None;
    let mut limit = DEFAULT_PAGE;
    let (mut seen_cursor, mut seen_limit) = (false, false);
    for (k, v) in pairs {
        match k.as_str() {
            "status" => {
                for s in v.split(',').filter(|s| !s.trim().is_empty()) {
                    match parse_status(s)? {
                        Some(s) if !statuses.contains(&s) => statuses.push(s),
                        Some(_) => {}
                        None => all = true,
                    }
                }
            }
            "cursor" if !seen_cursor => {
                seen_cursor = true;
                cursor = Some(v.trim().parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("cursor: must be an integer, got {v:?}"))
                })?);
            }
            "limit" if !seen_limit => {
                seen_limit = true;
                limit = match v.trim().parse::<u32>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "limit: must be between 1 and {MAX_PAGE}, got {v:?}"
                        )))
                    }
                };
            }
            "cursor" | "limit" => {
                return Err(ApiError::bad_request(format!("{k}: given more than once")))
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "{other}: unknown query parameter (status, cursor, limit)"
                )))
            }
        }
    }
    if all {
        statuses.clear();
    }
    Ok((statuses, cursor, limit))
}

/// `GET /v1/admin/callbacks?status&cursor&limit` → `{items, next_cursor}`, newest first.
pub async fn list(
    State(desk): State<ReplayDesk>,
    _: Admin,
    uri: Uri,
) -> ApiResult<Json<Page<RecordingCallbackRecord>>> {
    let (statuses, cursor, limit) = parse_callback_query(&query_pairs(&uri)?)?;
    Ok(Json(
        desk.recording_callbacks(&statuses, cursor, limit).await?,
    ))
}

/// `GET /v1/admin/callbacks/{id}` → the callback as stored.
pub async fn one(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<RecordingCallbackRecord>> {
    Ok(Json(desk.recording_callback(id).await?))
}

/// `POST /v1/admin/callbacks/{id}/assign` `{"class_id","uid"}` → 200
/// `{callback, message, message_created}`. Audited.
pub async fn assign(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(id): PathParam<i64>,
    super::extract::Body(body): super::extract::Body,
) -> ApiResult<Json<AssignedCallback>> {
    let mut f = Fields::parse(&body)?;
    let req = AssignCallback {
        class_id: f.str("class_id")?,
        uid: f.str("uid")?,
    };
    f.deny_unknown()?;
    Ok(Json(desk.assign_callback(id, req, &admin.actor).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn callback_query() {
        let (s, c, l) = parse_callback_query(&pairs(&[
            ("status", "refused,unmatched"),
            ("status", "refused"),
            ("cursor", "9"),
            ("limit", "5"),
        ]))
        .unwrap();
        assert_eq!(s, [CallbackStatus::Refused, CallbackStatus::Unmatched]);
        assert_eq!((c, l), (Some(9), 5));
        let (s, c, l) = parse_callback_query(&pairs(&[("status", "all")])).unwrap();
        assert!(s.is_empty());
        assert_eq!((c, l), (None, DEFAULT_PAGE));
        for bad in [
            ("status", "lost"),
            ("limit", "0"),
            ("cursor", "x"),
            ("class", "c"),
        ] {
            let e = parse_callback_query(&pairs(&[bad])).unwrap_err();
            assert!(e.detail.starts_with(bad.0), "{bad:?}: {}", e.detail);
        }
        assert!(parse_callback_query(&pairs(&[("limit", "1"), ("limit", "2")])).is_err());
    }

    #[test]
    fn refusal_statuses() {
        use crate::callback::CallbackError;
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
