//! The console's sign-in routes (`/v1/auth/*`): exchanging a setup code for a password,
//! signing in (a server-side session in the `replaydesk_session` cookie), signing out,
//! and saying who is signed in. HTTP only: the desktop app has no sign-in.
//!
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//! page sends it), `Path=/`, `Secure` when the request came over TLS (directly or
//! through a trusted proxy's `X-Forwarded-Proto`), and lives as long as the session may.

use super::auth::{cookie, Caller};
use super::conn_limit::ClientOrigin;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use replaydesk_service::people::{
    ChangePasswordRequest, Me, SetupRequest, SignInRequest, CSRF_HEADER, SESSION_COOKIE,
};
use replaydesk_service::{ReplayDesk, ServiceError};

/// Sign-in and setup take `application/json` only: a cross-site HTML form can send
/// `text/plain` that reads as JSON (the rest of the API takes it, for `fetch`), and would
/// then sign a victim's browser in to the attacker's account; a form cannot send
/// `application/json` without the browser asking this server first (CORS preflight).
fn json_only(headers: &HeaderMap) -> ApiResult<()> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if mime.as_deref() == Some("application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "sign-in, setup and password changes take Content-Type: application/json only",
    ))
}

fn source(origin: &Option<Extension<ClientOrigin>>) -> Option<std::net::IpAddr> {
    origin.as_ref().map(|o| o.ip)
}

fn https(origin: &Option<Extension<ClientOrigin>>) -> bool {
    origin.as_ref().is_some_and(|o| o.https)
}

/// The `Set-Cookie` value that sets (or, with `None`, clears) the session cookie.
pub fn session_cookie(value: Option<(&str, u64)>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some((id, max_age)) => format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// `POST /v1/auth/setup`: a one-time setup code (from `replaydesk user add` or
/// `reset-password`, or an admin in the console) exchanged for the person's password
/// (at least 10 characters). The code works once and expires; a wrong name, code or an
/// expired code is 401 alike. The person's sessions end. Then sign in.
#[utoipa::path(post, path = "/v1/auth/setup", tag = "auth", request_body = SetupRequest,
    responses(
        (status = 204, description = "the password is set"),
        (status = "4XX", description = "refused: `{error, detail}` (401 wrong name or code; 422 a password too short; 429 too many failures from this address)", body = ErrorBody)
    ))]
pub async fn setup(
    State(desk): State<ReplayDesk>,
    origin: Option<Extension<ClientOrigin>>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    json_only(&headers)?;
    let req: SetupRequest = replaydesk_service::decode::decode_body(&body)?;
    desk.set_up_password(req, source(&origin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/auth/sign-in` `{"name","password"}` → who signed in, with the `csrf_token`
/// every state-changing request must carry in `X-ReplayDesk-CSRF`; the session is in the
/// `replaydesk_session` cookie. A wrong name or password is 401 alike; after five wrong
/// passwords in a row an account waits longer before each try (429 with `Retry-After`),
/// and so does a source address after many failures.
#[utoipa::path(post, path = "/v1/auth/sign-in", tag = "auth", request_body = SignInRequest,
    responses(
        (status = 200, description = "signed in (the session in the `replaydesk_session` cookie)", body = Me),
        (status = "4XX", description = "refused: `{error, detail}` (401 wrong name or password; 429 too many failures)", body = ErrorBody)
    ))]
pub async fn sign_in(
    State(desk): State<ReplayDesk>,
    origin: Option<Extension<ClientOrigin>>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    json_only(&headers)?;
    let req: SignInRequest = replaydesk_service::decode::decode_body(&body)?;
    let signed = desk.sign_in(req, source(&origin)).await?;
    let set = session_cookie(
        Some((signed.session.expose(), signed.max_age_secs)),
        https(&origin),
    );
    let mut res = Json(signed.me).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&set).map_err(|e| ApiError::internal(format!("cookie: {e}")))?,
    );
    Ok(res)
}

/// `POST /v1/auth/sign-out`: ends the session (on every node) and clears the cookie. With
/// the cookie it needs the `X-ReplayDesk-CSRF` header, as every state-changing request.
#[utoipa::path(post, path = "/v1/auth/sign-out", tag = "auth",
    security(("session" = [])),
    responses(
        (status = 204, description = "signed out"),
        (status = "4XX", description = "refused: `{error, detail}` (403 without the CSRF header)", body = ErrorBody)
    ))]
pub async fn sign_out(
    State(desk): State<ReplayDesk>,
    origin: Option<Extension<ClientOrigin>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(session) = cookie(&headers, SESSION_COOKIE) {
        require_csrf(&desk, session, &headers)?;
        desk.sign_out(session).await?;
    }
    session_ended(&origin)
}

/// Refuses a state-changing request made with `session` whose `X-ReplayDesk-CSRF` header
/// is missing or not the session's (a cross-site page cannot read it to send it).
fn require_csrf(desk: &ReplayDesk, session: &str, headers: &HeaderMap) -> ApiResult<()> {
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if desk.csrf_matches(session, presented) {
        return Ok(());
    }
    Err(ServiceError::Forbidden("missing or wrong X-ReplayDesk-CSRF header".into()).into())
}

/// 204 with the session cookie cleared: the session is over.
fn session_ended(origin: &Option<Extension<ClientOrigin>>) -> ApiResult<Response> {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let clear = session_cookie(None, https(origin));
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear).map_err(|e| ApiError::internal(format!("cookie: {e}")))?,
    );
    Ok(res)
}

/// `POST /v1/auth/password` `{"current","new"}`: the signed-in person changes their own
/// password (session only, with the `X-ReplayDesk-CSRF` header). A wrong current password
/// is 403 (the session itself is good) and counts as a wrong sign-in. Every session of the person ends, this one too,
/// and the cookie is cleared: sign in again with the new password.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    security(("session" = [])),
    responses(
        (status = 204, description = "changed; every session of the person ended"),
        (status = "4XX", description = "refused: `{error, detail}` (401 not signed in; 403 without the CSRF header or with a wrong current password; 422 a new password too short; 429 too many failures)", body = ErrorBody)
    ))]
pub async fn change_password(
    State(desk): State<ReplayDesk>,
    origin: Option<Extension<ClientOrigin>>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let Some(session) = cookie(&headers, SESSION_COOKIE) else {
        return Err(ServiceError::Unauthorized(
            "a password is changed by the person signed in (a session), not with a token".into(),
        )
        .into());
    };
    require_csrf(&desk, session, &headers)?;
    json_only(&headers)?;
    let req: ChangePasswordRequest = replaydesk_service::decode::decode_body(&body)?;
    desk.change_password(session, req, source(&origin)).await?;
    session_ended(&origin)
}

/// `GET /v1/auth/me`: who the request's credential speaks for: their name, role and
/// door, and with a session its `csrf_token` and end. 401 when no credential is good.
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth",
    security(("token" = []), ("session" = [])),
    responses(
        (status = 200, description = "who is signed in", body = Me),
        (status = "4XX", description = "refused: `{error, detail}` (401 not signed in)", body = ErrorBody)
    ))]
pub async fn me(State(desk): State<ReplayDesk>, headers: HeaderMap) -> ApiResult<Json<Me>> {
    if super::extract::bearer(&headers).is_none() {
        if let Some(session) = cookie(&headers, SESSION_COOKIE) {
            let (_, me) = desk.session_principal(session).await?;
            return Ok(Json(me));
        }
    }
    // A bearer token (or nothing: 401), read as every console route reads it.
    let mut parts = axum::http::Request::new(()).into_parts().0;
    parts.headers = headers;
    let caller = <Caller as axum::extract::FromRequestParts<ReplayDesk>>::from_request_parts(
        &mut parts, &desk,
    )
    .await?;
    Ok(Json(desk.me_of(&caller.principal)))
}
