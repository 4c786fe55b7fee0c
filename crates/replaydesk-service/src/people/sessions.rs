//! Setting a first password, signing in and out, and who a credential speaks for: a
//! session id (the console's cookie), a person's API token, or the bootstrap admin token.
//!
//! A session is a random id in the cookie; the store keeps only its SHA-256 with the
//! person, its absolute end and when it was last used (idle end). Its CSRF token is
//! derived from the id (SHA-256 under its own context), so it needs no storage, cannot be
//! turned back into the id, and changes with every session.

use super::password;
use super::throttle::account_wait;
use super::{random_secret, ChangePasswordRequest, Me, Principal, SetupRequest, SignInRequest};
use crate::api::Role;
use crate::{token_sha256, ReplayDesk, ServiceError, ServiceResult};
use replaydesk_protocol::secret::Secret;
use replaydesk_store::{Actor, Door, UserRow};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "replaydesk_session";
/// The header every state-changing request made with the cookie carries.
pub const CSRF_HEADER: &str = "x-replaydesk-csrf";
/// What a session id starts with.
const SESSION_PREFIX: &str = "rss1_";
/// A session's or token's last use is written at most this often (ms): a busy console
/// would otherwise write on every request.
const TOUCH_EVERY_MS: i64 = 60_000;
/// One refusal for every wrong sign-in, whichever part was wrong.
const WRONG_SIGN_IN: &str = "wrong name or password";

/// A sign-in that worked: the session id for the cookie (never logged), who it is, and
/// how long the cookie may live.
pub struct SignedIn {
    pub session: Secret,
    pub me: Me,
    pub max_age_secs: u64,
}

fn rate_limited(secs: u64) -> ServiceError {
    ServiceError::RateLimited {
        detail: "too many failed sign-ins".into(),
        retry_after_secs: secs,
    }
}

fn role_of(user: &UserRow) -> ServiceResult<Role> {
    Role::parse(&user.role)
        .ok_or_else(|| ServiceError::Internal(format!("user {:?}: unknown role", user.name)))
}

impl ReplayDesk {
    /// The CSRF token of a session (what sign-in and `me` give, and the header must say).
    pub fn csrf_token(&self, session: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"replaydesk csrf v1\0");
        h.update(session.as_bytes());
        hex::encode(h.finalize())
    }

    /// Whether `presented` is the session's CSRF token (constant time).
    pub fn csrf_matches(&self, session: &str, presented: Option<&str>) -> bool {
        let Some(p) = presented else { return false };
        p.as_bytes()
            .ct_eq(self.csrf_token(session).as_bytes())
            .into()
    }

    /// Exchanges a one-time setup code for the person's password. The code works once and
    /// until it expires; a wrong one is refused like a wrong password (and counts against
    /// the source). Every session of the person ends.
    pub async fn set_up_password(
        &self,
        req: SetupRequest,
        source: Option<IpAddr>,
    ) -> ServiceResult<()> {
        let now = replaydesk_clock::unix_ms_now();
        if let Some(secs) = self.inner.throttle.source_wait(source, now) {
            return Err(rate_limited(secs));
        }
        password::check_new(&req.password)?;
        let wrong = || ServiceError::Unauthorized("wrong name or setup code, or it expired".into());
        let user = self.inner.store.user(&req.name).await?;
        let presented = token_sha256(&req.code);
        let ok = user.as_ref().is_some_and(|u| {
            let same: bool = u
                .setup_code_sha256
                .as_deref()
                .unwrap_or("")
                .as_bytes()
                .ct_eq(presented.as_bytes())
                .into();
            same && u.setup_code_sha256.is_some()
                && u.setup_code_expires_at.is_some_and(|e| now < e)
                && u.disabled_at.is_none()
        });
        let Some(user) = user.filter(|_| ok) else {
            self.inner.throttle.note_source_failure(source, now);
            return Err(wrong());
        };
        let hash = password::hash(&req.password)?;
        self.inner.store.set_user_password(user.id, &hash).await?;
        self.inner
            .store
            .audit(
                &Actor::new(&user.name, Door::Console),
                "password_set",
                &format!("user:{}", user.name),
                &serde_json::json!({}),
            )
            .await?;
        Ok(())
    }

    /// Signs a person in → a new session. Every refusal of a name or password says the
    /// same thing; past the throttle, tries are refused (429) before any check.
    pub async fn sign_in(
        &self,
        req: SignInRequest,
        source: Option<IpAddr>,
    ) -> ServiceResult<SignedIn> {
        let now = replaydesk_clock::unix_ms_now();
        let throttle = &self.inner.throttle;
        if let Some(secs) = throttle.source_wait(source, now) {
            return Err(rate_limited(secs));
        }
        let user = self.inner.store.user(&req.name).await?;
        let wait = match &user {
            Some(u) => account_wait(u.failed_sign_ins, u.last_failed_at, now),
            None => throttle.unknown_name_wait(&req.name, now),
        };
        if let Some(secs) = wait {
            return Err(rate_limited(secs));
        }
        // The hash is checked whether or not the name is a user with a password, so that
        // the answer takes as long either way.
        let stored = user
            .as_ref()
            .and_then(|u| u.password_hash.as_deref())
            .unwrap_or(password::dummy_hash())
            .to_owned();
        let given = req.password.clone();
        let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored))
            .await
            .map_err(|e| ServiceError::Internal(format!("password check: {e}")))?;
        let user = match user {
            Some(u) if matches && u.password_hash.is_some() && u.disabled_at.is_none() => u,
            Some(u) => {
                throttle.note_source_failure(source, now);
                if !matches {
                    self.inner.store.note_failed_sign_in(u.id).await?;
                }
                tracing::info!(user = %u.name, source = ?source, "sign-in refused");
                return Err(ServiceError::Unauthorized(WRONG_SIGN_IN.into()));
            }
            None => {
                throttle.note_source_failure(source, now);
                throttle.note_unknown_name_failure(&req.name, now);
                tracing::info!(source = ?source, "sign-in refused: no such person");
                return Err(ServiceError::Unauthorized(WRONG_SIGN_IN.into()));
            }
        };
        tracing::info!(user = %user.name, source = ?source, "signed in");
        self.inner.store.clear_failed_sign_ins(user.id).await?;
        let settings = &self.inner.config.sessions;
        let session = random_secret(SESSION_PREFIX);
        let expires_at = now + settings.max.as_millis() as i64;
        self.inner
            .store
            .add_session(&token_sha256(&session), user.id, expires_at)
            .await?;
        let me = Me {
            name: user.name.clone(),
            role: role_of(&user)?,
            door: Door::Console.as_str().into(),
            csrf_token: Some(self.csrf_token(&session)),
            session_expires_at: Some(expires_at),
        };
        Ok(SignedIn {
            session: Secret::new(session),
            me,
            max_age_secs: settings.max.as_secs(),
        })
    }

    /// A signed-in person changes their own password, proving the current one. A wrong
    /// current password counts against the account as a wrong sign-in does (and is
    /// refused the same way once throttled). Every session of the person ends, this one
    /// too: they sign in again with the new password.
    pub async fn change_password(
        &self,
        session: &str,
        req: ChangePasswordRequest,
        source: Option<IpAddr>,
    ) -> ServiceResult<()> {
        let (principal, _) = self.session_principal(session).await?;
        let now = replaydesk_clock::unix_ms_now();
        if let Some(secs) = self.inner.throttle.source_wait(source, now) {
            return Err(rate_limited(secs));
        }
        let user = self
            .inner
            .store
            .user(&principal.actor.name)
            .await?
            .ok_or_else(|| ServiceError::Unauthorized("not signed in".into()))?;
        if let Some(secs) = account_wait(user.failed_sign_ins, user.last_failed_at, now) {
            return Err(rate_limited(secs));
        }
        password::check_new(&req.new)?;
        if req.new == req.current {
            return Err(ServiceError::Invalid(
                "new: the new password is the current one".into(),
            ));
        }
        let stored = user
            .password_hash
            .clone()
            .unwrap_or_else(|| password::dummy_hash().to_owned());
        let given = req.current.clone();
        let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored))
            .await
            .map_err(|e| ServiceError::Internal(format!("password check: {e}")))?;
        if !matches {
            self.inner.throttle.note_source_failure(source, now);
            self.inner.store.note_failed_sign_in(user.id).await?;
            tracing::info!(user = %user.name, source = ?source, "password change refused");
            // 403, not 401: the session is good (a 401 would sign the console out).
            return Err(ServiceError::Forbidden("current: wrong password".into()));
        }
        let hash = password::hash(&req.new)?;
        self.inner.store.set_user_password(user.id, &hash).await?;
        self.inner
            .store
            .audit(
                &principal.actor,
                "password_changed",
                &format!("user:{}", user.name),
                &serde_json::json!({}),
            )
            .await?;
        tracing::info!(user = %user.name, "password changed; sessions ended");
        Ok(())
    }

    /// Ends the session (it is refused on every node from now on).
    pub async fn sign_out(&self, session: &str) -> ServiceResult<()> {
        Ok(self.inner.store.end_session(&token_sha256(session)).await?)
    }

    /// Who the session speaks for, and their `me`; 401 when it is unknown, ended, idle
    /// too long or past its end, or its person is disabled.
    pub async fn session_principal(&self, session: &str) -> ServiceResult<(Principal, Me)> {
        let refused = || {
            ServiceError::Unauthorized("not signed in, or the session ended: sign in again".into())
        };
        if !session.starts_with(SESSION_PREFIX) {
            return Err(refused());
        }
        let sha = token_sha256(session);
        let Some((row, user)) = self.inner.store.session(&sha).await? else {
            return Err(refused());
        };
        let now = replaydesk_clock::unix_ms_now();
        let idle = self.inner.config.sessions.idle.as_millis() as i64;
        if now >= row.expires_at || now - row.last_seen_at >= idle || user.disabled_at.is_some() {
            self.inner.store.end_session(&sha).await?;
            return Err(refused());
        }
        // Written at most once a minute, and often enough that a busy session never looks
        // idle (a quarter of the idle limit when that is short).
        if now - row.last_seen_at >= TOUCH_EVERY_MS.min(idle / 4) {
            self.inner.store.touch_session(&sha).await?;
        }
        let role = role_of(&user)?;
        let me = Me {
            name: user.name.clone(),
            role,
            door: Door::Console.as_str().into(),
            csrf_token: Some(self.csrf_token(session)),
            session_expires_at: Some(row.expires_at),
        };
        Ok((
            Principal {
                actor: Actor::new(user.name, Door::Console),
                role,
            },
            me,
        ))
    }

    /// Who a bearer token speaks for: the bootstrap admin token (while
    /// `admin_token_enabled`; named `admin` — the HTTP door may rename it from
    /// `X-ReplayDesk-Actor`) or a person's API token (its role, never above the person's
    /// role now). 401 otherwise.
    pub async fn bearer_principal(&self, token: &str) -> ServiceResult<Principal> {
        let bootstrap: bool = token
            .as_bytes()
            .ct_eq(self.inner.admin_token.expose().as_bytes())
            .into();
        if bootstrap {
            if !self.inner.config.admin_token_enabled {
                return Err(ServiceError::Unauthorized(
                    "the bootstrap admin token is switched off (admin_token_enabled = false): use a person's API token or sign in".into(),
                ));
            }
            return Ok(Principal {
                actor: Actor::new("admin", Door::BootstrapToken),
                role: Role::Admin,
            });
        }
        let wrong = || ServiceError::Unauthorized("wrong token".into());
        if !token.starts_with(super::API_TOKEN_PREFIX) {
            return Err(wrong());
        }
        let Some((row, user)) = self.inner.store.token_by_hash(&token_sha256(token)).await? else {
            return Err(wrong());
        };
        let now = replaydesk_clock::unix_ms_now();
        if row.revoked_at.is_some() {
            return Err(ServiceError::Unauthorized(
                "this API token was revoked".into(),
            ));
        }
        if row.expires_at.is_some_and(|e| now >= e) {
            return Err(ServiceError::Unauthorized("this API token expired".into()));
        }
        if user.disabled_at.is_some() {
            return Err(ServiceError::Unauthorized(
                "this API token's person is disabled".into(),
            ));
        }
        let token_role = Role::parse(&row.role)
            .ok_or_else(|| ServiceError::Internal(format!("token {}: unknown role", row.id)))?;
        let role = token_role.min(role_of(&user)?);
        if row.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY_MS) {
            self.inner.store.touch_token(row.id).await?;
        }
        Ok(Principal {
            actor: Actor {
                name: user.name,
                door: Door::ApiToken,
                token_name: Some(row.name),
            },
            role,
        })
    }

    /// `me` for a bearer principal (no session: no CSRF token).
    pub fn me_of(&self, p: &Principal) -> Me {
        Me {
            name: p.actor.name.clone(),
            role: p.role,
            door: p.actor.door.as_str().into(),
            csrf_token: None,
            session_expires_at: None,
        }
    }
}
