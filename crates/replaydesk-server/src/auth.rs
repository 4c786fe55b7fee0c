//! Who is calling a console route: a person's API token or the bootstrap admin token
//! (`Authorization: Bearer`), or a person signed in to the console (the session cookie,
//! with the CSRF header on every state-changing request). The service decides what each
//! credential is worth ([`ReplayDesk::bearer_principal`],
//! [`ReplayDesk::session_principal`]); this reads them off the request.

use super::error::ApiError;
use super::extract::bearer;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use replaydesk_service::people::{CSRF_HEADER, SESSION_COOKIE};
use replaydesk_service::{validate, Door, Principal, ReplayDesk, ServiceError};

/// The header naming the person acting with the bootstrap token; "admin" when absent.
/// A person's own credential names them, and this header is then ignored.
pub const ACTOR_HEADER: &str = "x-replaydesk-actor";
pub const DEFAULT_ACTOR: &str = "admin";

/// The value of the cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Whether a request of `method` changes state (and so needs the CSRF header when it
/// comes with the cookie).
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A console request's caller: who they are and what they may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
}

impl FromRequestParts<ReplayDesk> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, desk: &ReplayDesk) -> Result<Self, ApiError> {
        if let Some(token) = bearer(&parts.headers) {
            let mut principal = desk.bearer_principal(token).await?;
            if principal.actor.door == Door::BootstrapToken {
                principal.actor.name = bootstrap_actor(&parts.headers)?;
            }
            return Ok(Caller { principal });
        }
        if let Some(session) = cookie(&parts.headers, SESSION_COOKIE) {
            let (principal, _) = desk.session_principal(session).await?;
            if changes_state(&parts.method) {
                let presented = parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim);
                if !desk.csrf_matches(session, presented) {
                    return Err(ServiceError::Forbidden(
                        "missing or wrong X-ReplayDesk-CSRF header: a request made with the session cookie that changes anything must carry the token sign-in gave"
                            .into(),
                    )
                    .into());
                }
            }
            return Ok(Caller { principal });
        }
        Err(ServiceError::Unauthorized(
            "sign in, or give a token (Authorization: Bearer <token>)".into(),
        )
        .into())
    }
}

/// The name the bootstrap token's caller gives in `X-ReplayDesk-Actor` (default `admin`).
fn bootstrap_actor(headers: &HeaderMap) -> Result<String, ApiError> {
    match headers.get(ACTOR_HEADER) {
        None => Ok(DEFAULT_ACTOR.to_owned()),
        Some(v) => {
            let s = std::str::from_utf8(v.as_bytes())
                .map_err(|_| ApiError::bad_request("X-ReplayDesk-Actor: must be UTF-8 text"))?;
            let s = s.trim();
            validate::actor(s)
                .map_err(|e| ApiError::bad_request(format!("X-ReplayDesk-Actor: {e}")))?;
            Ok(s.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; replaydesk_session=rss1_x ; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("rss1_x"));
        assert_eq!(cookie(&h, "c"), None);
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("replaydesk_session="),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
    }

    #[test]
    fn reads_change_nothing() {
        assert!(!changes_state(&Method::GET));
        assert!(changes_state(&Method::POST));
        assert!(changes_state(&Method::PUT));
        assert!(changes_state(&Method::DELETE));
    }
}
