//! What the people operations take and answer. A secret (a setup code, an API token) is
//! in an answer once, when it is made, and never in a `Debug`.

use crate::api::Role;
use crate::decode::lenient;
use replaydesk_store::{TokenRow, UserRow};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A console user as the API shows them (never a password, hash or code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    #[ts(type = "number")]
    pub created_at: i64,
    /// Whether the person has set a password.
    pub password_set: bool,
    /// When the setup code given out last stops working, while it is unspent.
    #[ts(type = "number | null")]
    pub setup_code_expires_at: Option<i64>,
    #[ts(type = "number | null")]
    pub password_changed_at: Option<i64>,
    #[ts(type = "number | null")]
    pub disabled_at: Option<i64>,
}

impl TryFrom<UserRow> for UserInfo {
    type Error = crate::ServiceError;

    fn try_from(r: UserRow) -> Result<Self, Self::Error> {
        let UserRow {
            id: _,
            name,
            role,
            password_hash,
            setup_code_sha256,
            setup_code_expires_at,
            created_at,
            password_changed_at,
            disabled_at,
            failed_sign_ins: _,
            last_failed_at: _,
        } = r;
        Ok(Self {
            role: Role::parse(&role).ok_or_else(|| {
                crate::ServiceError::Internal(format!("user {name:?}: unknown role {role:?}"))
            })?,
            name,
            created_at,
            password_set: password_hash.is_some(),
            setup_code_expires_at: setup_code_sha256.and(setup_code_expires_at),
            password_changed_at,
            disabled_at,
        })
    }
}

/// A user just added or reset, with the one-time setup code they set their password
/// with (this answer is the only place it appears).
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct UserWithSetupCode {
    pub user: UserInfo,
    pub setup_code: String,
}

impl std::fmt::Debug for UserWithSetupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserWithSetupCode")
            .field("user", &self.user)
            .field("setup_code", &"<redacted>")
            .finish()
    }
}

/// An API token as the API shows it (never the token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TokenInfo {
    #[ts(type = "number")]
    pub id: i64,
    /// The person it acts for.
    pub user: String,
    pub name: String,
    /// What it may do (never above its person's role at the time of use).
    pub role: Role,
    #[ts(type = "number")]
    pub created_at: i64,
    #[ts(type = "number | null")]
    pub expires_at: Option<i64>,
    #[ts(type = "number | null")]
    pub last_used_at: Option<i64>,
    #[ts(type = "number | null")]
    pub revoked_at: Option<i64>,
}

impl TryFrom<TokenRow> for TokenInfo {
    type Error = crate::ServiceError;

    fn try_from(r: TokenRow) -> Result<Self, Self::Error> {
        let TokenRow {
            id,
            user_id: _,
            user_name,
            name,
            role,
            created_at,
            expires_at,
            last_used_at,
            revoked_at,
        } = r;
        Ok(Self {
            id,
            role: Role::parse(&role).ok_or_else(|| {
                crate::ServiceError::Internal(format!("token {id}: unknown role {role:?}"))
            })?,
            user: user_name,
            name,
            created_at,
            expires_at,
            last_used_at,
            revoked_at,
        })
    }
}

/// A token just made: its description and the token itself (shown this once).
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct CreatedToken {
    pub info: TokenInfo,
    pub token: String,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("info", &self.info)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// `POST /v1/admin/users`: `{"name","role"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct AddUser {
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    pub role: Role,
}

/// `PUT /v1/admin/users/{user}/role`: `{"role"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct SetRole {
    pub role: Role,
}

/// `POST /v1/admin/tokens`: `{"user","name","role"?,"expires"?}`; `role` defaults to the
/// person's, `expires` is a duration such as `30d` (none: it never expires).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct CreateToken {
    #[serde(deserialize_with = "lenient::string")]
    pub user: String,
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub expires: Option<String>,
}

/// `GET /v1/admin/tokens?user=`: every token, or one person's.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[ts(export)]
pub struct TokensQuery {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[ts(optional)]
    pub user: Option<String>,
}

/// `POST /v1/auth/setup`: the setup code exchanged for a password.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct SetupRequest {
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(deserialize_with = "lenient::string")]
    pub code: String,
    #[serde(deserialize_with = "lenient::string")]
    pub password: String,
}

/// `POST /v1/auth/sign-in`.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct SignInRequest {
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(deserialize_with = "lenient::string")]
    pub password: String,
}

/// `POST /v1/auth/password`: a signed-in person changes their own password.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ChangePasswordRequest {
    /// The password they signed in with.
    #[serde(deserialize_with = "lenient::string")]
    pub current: String,
    /// The new one (at least 10 characters, not the current one).
    #[serde(deserialize_with = "lenient::string")]
    pub new: String,
}

macro_rules! redacted_debug {
    ($t:ident, $($shown:ident),*) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($shown), &self.$shown))*
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(SetupRequest, name);
redacted_debug!(SignInRequest, name);
redacted_debug!(ChangePasswordRequest,);

/// Who is acting (`GET /v1/auth/me`, and the answer to a sign-in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Me {
    pub name: String,
    pub role: Role,
    /// `console` (signed in), `api_token`, `bootstrap_token` or `desktop`.
    pub door: String,
    /// With a session: the value every state-changing request must carry in
    /// `X-ReplayDesk-CSRF`. Not a credential alone (it only goes with the cookie).
    pub csrf_token: Option<String>,
    /// With a session: when it ends at the latest (unix ms).
    #[ts(type = "number | null")]
    pub session_expires_at: Option<i64>,
}
