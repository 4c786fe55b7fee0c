//! The console's people (issue 23): users with a role (`admin`, `support`, `viewer`),
//! their one-time setup codes, API tokens, sign-in and sessions, and who a request
//! speaks for ([`Principal`]). Managed from the CLI (`replaydesk user ...`, `replaydesk
//! token create`) and by admins through the operations `/v1/admin/users` and
//! `/v1/admin/tokens`; both call the functions here.
//!
//! `password.rs` hashes, `sessions.rs` signs in and out and authenticates, `throttle.rs`
//! slows down guessing, `types.rs` holds what the API takes and answers.

pub mod password;
mod sessions;
pub(crate) mod throttle;
pub mod types;

pub use sessions::{SignedIn, CSRF_HEADER, SESSION_COOKIE};
pub(crate) use throttle::Throttle;
pub use throttle::{ACCOUNT_FREE_FAILURES, SOURCE_FAILURES_PER_WINDOW};
pub use types::*;

use crate::api::Role;
use crate::{ReplayDesk, ServiceError, ServiceResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use replaydesk_store::{Actor, SetupCode, Store, UserRow};
use std::time::Duration;

/// How long a setup code works (it works once).
pub const SETUP_CODE_VALID: Duration = Duration::from_secs(72 * 3600);
/// What an API token starts with (so that it is told from the bootstrap token, a session
/// id or a member credential at a glance, and found by secret scanners).
pub const API_TOKEN_PREFIX: &str = "rdt1_";
/// What a setup code starts with.
pub const SETUP_CODE_PREFIX: &str = "rds1_";
/// Longest user and token names.
pub const MAX_NAME_CHARS: usize = 64;

/// Who a request speaks for and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub actor: Actor,
    pub role: Role,
}

impl Principal {
    /// The desktop app's teacher on their own machine: no sign-in, every role.
    pub fn desktop() -> Self {
        Self {
            actor: Actor::desktop(),
            role: Role::Admin,
        }
    }

    /// 403 unless this principal's role allows `needed`.
    pub fn require(&self, needed: Role) -> ServiceResult<()> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "{} ({}) may not do this: it needs the {} role",
                self.actor.name,
                self.role.as_str(),
                needed.as_str()
            )))
        }
    }
}

/// A random secret: `prefix` and 32 random bytes in base64url.
pub(crate) fn random_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A user or token name: 1 to 64 ASCII letters, digits and `._@-`, starting with a letter
/// or digit. Narrower than the identifier rule on purpose: a name is typed at a sign-in
/// prompt and named in the audit log, and must never look like another.
pub fn check_name(field: &str, name: &str) -> ServiceResult<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-');
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::Invalid(format!(
            "{field}: must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if !name.chars().all(ok_char) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(ServiceError::Invalid(format!(
            "{field}: only ASCII letters, digits and . _ @ - (starting with a letter or digit)"
        )));
    }
    Ok(())
}

/// A token's lifetime as typed (`30d`, `12h`, `90m`): at least a minute, at most ten years.
pub fn parse_expiry(text: &str) -> ServiceResult<Duration> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        ServiceError::Invalid(format!("expires: not a duration such as 30d or 12h ({e})"))
    })?;
    if d < Duration::from_secs(60) || d > Duration::from_secs(10 * 365 * 86_400) {
        return Err(ServiceError::Invalid(
            "expires: between a minute and ten years".into(),
        ));
    }
    Ok(d)
}

fn new_setup_code() -> (String, String, i64) {
    let code = random_secret(SETUP_CODE_PREFIX);
    let sha = crate::token_sha256(&code);
    let expires = replaydesk_clock::unix_ms_now() + SETUP_CODE_VALID.as_millis() as i64;
    (code, sha, expires)
}

/// Managing people and tokens over a store: what the admin operations and the CLI's
/// `user` and `token` commands call (the CLI opens the store alone, without a server).
#[derive(Clone, Copy)]
pub struct People<'a> {
    store: &'a Store,
}

impl ReplayDesk {
    /// Managing people and tokens (the admin operations).
    pub fn people(&self) -> People<'_> {
        People {
            store: &self.inner.store,
        }
    }
}

impl<'a> People<'a> {
    pub fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Adds a user with a role and no password → the user and a one-time setup code.
    /// Audited (`user_add`).
    pub async fn add_user(&self, req: AddUser, actor: &Actor) -> ServiceResult<UserWithSetupCode> {
        check_name("name", &req.name)?;
        let (code, sha, expires_at) = new_setup_code();
        let row = self
            .store
            .add_user(
                &req.name,
                req.role.as_str(),
                SetupCode {
                    sha256: &sha,
                    expires_at,
                },
                actor,
            )
            .await?;
        Ok(UserWithSetupCode {
            user: row.try_into()?,
            setup_code: code,
        })
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> ServiceResult<Vec<UserInfo>> {
        self.store
            .users()
            .await?
            .into_iter()
            .map(UserInfo::try_from)
            .collect()
    }

    /// Gives a user another role. Audited (`user_set_role`).
    pub async fn set_user_role(
        &self,
        name: &str,
        req: SetRole,
        actor: &Actor,
    ) -> ServiceResult<UserInfo> {
        self.store
            .set_user_role(name, req.role.as_str(), actor)
            .await?
            .try_into()
    }

    /// Disables a user: no sign-in, sessions ended, tokens refused. Audited
    /// (`user_disable`).
    pub async fn disable_user(&self, name: &str, actor: &Actor) -> ServiceResult<UserInfo> {
        self.store.disable_user(name, actor).await?.try_into()
    }

    /// Ends the user's password and sessions and gives a new setup code. Audited
    /// (`user_reset_password`).
    pub async fn reset_user_password(
        &self,
        name: &str,
        actor: &Actor,
    ) -> ServiceResult<UserWithSetupCode> {
        let (code, sha, expires_at) = new_setup_code();
        let row = self
            .store
            .reset_user_password(
                name,
                SetupCode {
                    sha256: &sha,
                    expires_at,
                },
                actor,
            )
            .await?;
        Ok(UserWithSetupCode {
            user: row.try_into()?,
            setup_code: code,
        })
    }

    async fn user_row(&self, name: &str) -> ServiceResult<UserRow> {
        self.store
            .user(name)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {name:?} not found")))
    }

    /// Makes an API token for a person → its description and the token (shown once).
    /// Its role defaults to the person's and may not be above it. Audited
    /// (`token_create`).
    pub async fn create_token(
        &self,
        req: CreateToken,
        actor: &Actor,
    ) -> ServiceResult<CreatedToken> {
        check_name("name", &req.name)?;
        let expires_at = match req.expires.as_deref().filter(|e| !e.trim().is_empty()) {
            None => None,
            Some(text) => {
                Some(replaydesk_clock::unix_ms_now() + parse_expiry(text)?.as_millis() as i64)
            }
        };
        let user = self.user_row(&req.user).await?;
        if user.disabled_at.is_some() {
            return Err(ServiceError::Conflict(format!(
                "user {:?} is disabled",
                user.name
            )));
        }
        let person = Role::parse(&user.role)
            .ok_or_else(|| ServiceError::Internal(format!("unknown role {:?}", user.role)))?;
        let role = req.role.unwrap_or(person);
        if !person.allows(role) {
            return Err(ServiceError::Invalid(format!(
                "role: {} is above {}'s role ({})",
                role.as_str(),
                user.name,
                person.as_str()
            )));
        }
        let token = random_secret(API_TOKEN_PREFIX);
        let row = self
            .store
            .add_token(
                &user,
                &req.name,
                role.as_str(),
                &crate::token_sha256(&token),
                expires_at,
                actor,
            )
            .await?;
        Ok(CreatedToken {
            info: row.try_into()?,
            token,
        })
    }

    /// Every API token (or one person's), newest first; never a token itself.
    pub async fn list_tokens(&self, query: TokensQuery) -> ServiceResult<Vec<TokenInfo>> {
        let user = query.user.filter(|u| !u.is_empty());
        self.store
            .tokens(user.as_deref())
            .await?
            .into_iter()
            .map(TokenInfo::try_from)
            .collect()
    }

    /// Revokes a token on every node. Audited (`token_revoke`).
    pub async fn revoke_token(&self, id: i64, actor: &Actor) -> ServiceResult<TokenInfo> {
        self.store.revoke_token(id, actor).await?.try_into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_narrow() {
        assert!(check_name("name", "alice").is_ok());
        assert!(check_name("name", "a.b-c_d@school").is_ok());
        for bad in ["", " alice", "-alice", "al ice", "аlice", &"a".repeat(65)] {
            assert!(check_name("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn expiries_read_as_durations() {
        assert_eq!(
            parse_expiry("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert!(parse_expiry("1s").is_err());
        assert!(parse_expiry("soon").is_err());
    }

    #[test]
    fn secrets_carry_their_prefix_and_differ() {
        let a = random_secret(API_TOKEN_PREFIX);
        let b = random_secret(API_TOKEN_PREFIX);
        assert!(a.starts_with(API_TOKEN_PREFIX) && a.len() > 40);
        assert_ne!(a, b);
    }
}
