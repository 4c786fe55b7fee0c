//! The admin bearer token, and who is acting (for the audit log).

use super::error::ApiError;
use super::extract::bearer;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use replaydesk_service::{validate, ReplayDesk};

/// The header naming the person acting; "admin" when absent.
pub const ACTOR_HEADER: &str = "x-replaydesk-actor";
pub const DEFAULT_ACTOR: &str = "admin";

/// A request carrying the admin token; `actor` is who the audit log names.
#[derive(Debug, Clone)]
pub struct Admin {
    pub actor: String,
}

impl FromRequestParts<ReplayDesk> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, desk: &ReplayDesk) -> Result<Self, ApiError> {
        desk.check_admin_token(bearer(&parts.headers))?;
        let actor = match parts.headers.get(ACTOR_HEADER) {
            None => DEFAULT_ACTOR.to_owned(),
            Some(v) => {
                let s = std::str::from_utf8(v.as_bytes())
                    .map_err(|_| ApiError::bad_request("X-ReplayDesk-Actor: must be UTF-8 text"))?;
                let s = s.trim();
                validate::actor(s)
                    .map_err(|e| ApiError::bad_request(format!("X-ReplayDesk-Actor: {e}")))?;
                s.to_owned()
            }
        };
        Ok(Admin { actor })
    }
}
