//! The console's people (issue 23): users with a role, their server-side sessions and
//! their API tokens. Kept in the store so that every node sharing it honours them: a
//! session made on one node is found by the next, a revocation is seen by all.
//!
//! Nothing secret is kept in clear: a password is its Argon2id PHC string (made by the
//! service), a setup code, a session id and an API token their SHA-256. The rows' `Debug`
//! leaves even those out.

use super::audit::{audit_tx, Actor};
use super::{now_ms, Store, StoreError, StoreResult};
use sqlx::Row;

/// A user as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    /// `admin`, `support` or `viewer`.
    pub role: String,
    /// The Argon2id PHC string; `None` until the person set a password.
    pub password_hash: Option<String>,
    pub setup_code_sha256: Option<String>,
    pub setup_code_expires_at: Option<i64>,
    pub created_at: i64,
    pub password_changed_at: Option<i64>,
    pub disabled_at: Option<i64>,
    pub failed_sign_ins: i64,
    pub last_failed_at: Option<i64>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("has_password", &self.password_hash.is_some())
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

const USER_COLUMNS: &str = "u.id, u.name, u.role, u.password_hash, u.setup_code_sha256, \
     u.setup_code_expires_at, u.created_at, u.password_changed_at, u.disabled_at, \
     u.failed_sign_ins, u.last_failed_at";

fn user_row(row: &super::DbRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        password_hash: row.try_get("password_hash")?,
        setup_code_sha256: row.try_get("setup_code_sha256")?,
        setup_code_expires_at: row.try_get("setup_code_expires_at")?,
        created_at: row.try_get("created_at")?,
        password_changed_at: row.try_get("password_changed_at")?,
        disabled_at: row.try_get("disabled_at")?,
        failed_sign_ins: row.try_get("failed_sign_ins")?,
        last_failed_at: row.try_get("last_failed_at")?,
    })
}

/// A session as stored (its id only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute end.
    pub expires_at: i64,
}

/// An API token as stored (the token only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    /// The person's name (joined).
    pub user_name: String,
    pub name: String,
    pub role: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const TOKEN_COLUMNS: &str = "t.id, t.user_id, u.name AS user_name, t.name, t.role, \
     t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

fn token_row(row: &super::DbRow) -> Result<TokenRow, sqlx::Error> {
    Ok(TokenRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        user_name: row.try_get("user_name")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// A one-time setup code, hashed, and when it stops working.
#[derive(Debug, Clone, Copy)]
pub struct SetupCode<'a> {
    pub sha256: &'a str,
    pub expires_at: i64,
}

impl Store {
    /// Adds a user with no password and a setup code. 409 when the name is taken.
    pub async fn add_user(
        &self,
        name: &str,
        role: &str,
        code: SetupCode<'_>,
        actor: &Actor,
    ) -> StoreResult<UserRow> {
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "user {name:?} exists already"
            )));
        }
        sqlx::query(
            "INSERT INTO users (name, role, setup_code_sha256, setup_code_expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(name)
        .bind(role)
        .bind(code.sha256)
        .bind(code.expires_at)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit_tx(
            &mut tx,
            actor,
            "user_add",
            &format!("user:{name}"),
            &serde_json::json!({ "role": role }),
        )
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
        let user = user_row(&row)?;
        tx.commit().await?;
        Ok(user)
    }

    /// Every user, by name.
    pub async fn users(&self) -> StoreResult<Vec<UserRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"
        ))
        .fetch_all(self.writer())
        .await?;
        Ok(rows.iter().map(user_row).collect::<Result<_, _>>()?)
    }

    /// The user named `name`. Read on the writer: a password just set must be seen.
    pub async fn user(&self, name: &str) -> StoreResult<Option<UserRow>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(self.writer())
        .await?;
        Ok(row.as_ref().map(user_row).transpose()?)
    }

    async fn user_or_404(&self, name: &str) -> StoreResult<UserRow> {
        self.user(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {name:?}")))
    }

    /// Gives the user another role (their tokens never act above it: see the service).
    pub async fn set_user_role(
        &self,
        name: &str,
        role: &str,
        actor: &Actor,
    ) -> StoreResult<UserRow> {
        let before = self.user_or_404(name).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role)
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
        audit_tx(
            &mut tx,
            actor,
            "user_set_role",
            &format!("user:{name}"),
            &serde_json::json!({ "from": before.role, "to": role }),
        )
        .await?;
        tx.commit().await?;
        self.user_or_404(name).await
    }

    /// Disables the user: no sign-in, every session ended, every token refused.
    pub async fn disable_user(&self, name: &str, actor: &Actor) -> StoreResult<UserRow> {
        let user = self.user_or_404(name).await?;
        if user.disabled_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "user {name:?} is disabled already"
            )));
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        audit_tx(
            &mut tx,
            actor,
            "user_disable",
            &format!("user:{name}"),
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.user_or_404(name).await
    }

    /// A new setup code for the user: the password stops working, every session ends, and
    /// the person sets a new password with the code. A disabled user is enabled again (an
    /// admin resetting them means them to come back).
    pub async fn reset_user_password(
        &self,
        name: &str,
        code: SetupCode<'_>,
        actor: &Actor,
    ) -> StoreResult<UserRow> {
        let user = self.user_or_404(name).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET password_hash = NULL, setup_code_sha256 = $1, \
             setup_code_expires_at = $2, disabled_at = NULL, failed_sign_ins = 0, \
             last_failed_at = NULL, password_changed_at = $3 WHERE id = $4",
        )
        .bind(code.sha256)
        .bind(code.expires_at)
        .bind(now_ms())
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        audit_tx(
            &mut tx,
            actor,
            "user_reset_password",
            &format!("user:{name}"),
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.user_or_404(name).await
    }

    /// Sets the user's password hash, spends the setup code, ends every session.
    pub async fn set_user_password(&self, user_id: i64, hash: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, password_changed_at = $2, \
             setup_code_sha256 = NULL, setup_code_expires_at = NULL, failed_sign_ins = 0, \
             last_failed_at = NULL WHERE id = $3",
        )
        .bind(hash)
        .bind(now_ms())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts a wrong password against the user (the throttle per account).
    pub async fn note_failed_sign_in(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET failed_sign_ins = failed_sign_ins + 1, last_failed_at = $1 \
             WHERE id = $2",
        )
        .bind(now_ms())
        .bind(user_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// A good password: the count of wrong ones starts again.
    pub async fn clear_failed_sign_ins(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET failed_sign_ins = 0, last_failed_at = NULL \
             WHERE id = $1 AND failed_sign_ins <> 0",
        )
        .bind(user_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Stores a new session (its id hashed).
    pub async fn add_session(
        &self,
        id_sha256: &str,
        user_id: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (id_sha256, user_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_sha256)
        .bind(user_id)
        .bind(now)
        .bind(now)
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The session and its user. Read on the writer's pool: a session ended on another
    /// node must be refused here at once, and SQLite readers may lag a commit behind.
    pub async fn session(&self, id_sha256: &str) -> StoreResult<Option<(SessionRow, UserRow)>> {
        let row = sqlx::query(&format!(
            "SELECT s.user_id, s.created_at AS s_created_at, s.last_seen_at, s.expires_at, \
             {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_sha256 = $1"
        ))
        .bind(id_sha256)
        .fetch_optional(self.writer())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let session = SessionRow {
            user_id: row.try_get("user_id")?,
            created_at: row.try_get("s_created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok(Some((session, user_row(&row)?)))
    }

    /// Marks the session used now (its idle time starts again).
    pub async fn touch_session(&self, id_sha256: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_sha256 = $2")
            .bind(now_ms())
            .bind(id_sha256)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Ends a session; also drops sessions past their end (housekeeping on the way).
    pub async fn end_session(&self, id_sha256: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1 OR expires_at < $2")
            .bind(id_sha256)
            .bind(now_ms())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Stores a new API token (hashed). 409 when the person has a token of that name.
    pub async fn add_token(
        &self,
        user: &UserRow,
        name: &str,
        role: &str,
        token_sha256: &str,
        expires_at: Option<i64>,
        actor: &Actor,
    ) -> StoreResult<TokenRow> {
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM api_tokens WHERE user_id = $1 AND name = $2")
                .bind(user.id)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "user {:?} has a token named {name:?} already",
                user.name
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, role, token_sha256, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user.id)
        .bind(name)
        .bind(role)
        .bind(token_sha256)
        .bind(now_ms())
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        audit_tx(
            &mut tx,
            actor,
            "token_create",
            &format!("token:{id}"),
            &serde_json::json!({ "user": user.name, "name": name, "role": role, "expires_at": expires_at }),
        )
        .await?;
        tx.commit().await?;
        self.token(id).await
    }

    /// One token (never the token itself).
    pub async fn token(&self, id: i64) -> StoreResult<TokenRow> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.writer())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
        Ok(token_row(&row)?)
    }

    /// Every token, newest first; `user` narrows to one person's.
    pub async fn tokens(&self, user: Option<&str>) -> StoreResult<Vec<TokenRow>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id {} \
             ORDER BY t.id DESC",
            if user.is_some() {
                "WHERE u.name = $1"
            } else {
                ""
            }
        );
        let mut q = sqlx::query(&sql);
        if let Some(u) = user {
            q = q.bind(u);
        }
        let rows = q.fetch_all(self.writer()).await?;
        Ok(rows.iter().map(token_row).collect::<Result<_, _>>()?)
    }

    /// The token whose hash is `token_sha256`, with its person (on the writer's pool, as
    /// sessions: a revocation on another node counts at once).
    pub async fn token_by_hash(
        &self,
        token_sha256: &str,
    ) -> StoreResult<Option<(TokenRow, UserRow)>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS}, u.id AS u_id, u.role AS u_role, u.password_hash, \
             u.setup_code_sha256, u.setup_code_expires_at, u.created_at AS u_created_at, \
             u.password_changed_at, u.disabled_at, u.failed_sign_ins, u.last_failed_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = $1"
        ))
        .bind(token_sha256)
        .fetch_optional(self.writer())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token = token_row(&row)?;
        let user = UserRow {
            id: row.try_get("u_id")?,
            name: row.try_get("user_name")?,
            role: row.try_get("u_role")?,
            password_hash: row.try_get("password_hash")?,
            setup_code_sha256: row.try_get("setup_code_sha256")?,
            setup_code_expires_at: row.try_get("setup_code_expires_at")?,
            created_at: row.try_get("u_created_at")?,
            password_changed_at: row.try_get("password_changed_at")?,
            disabled_at: row.try_get("disabled_at")?,
            failed_sign_ins: row.try_get("failed_sign_ins")?,
            last_failed_at: row.try_get("last_failed_at")?,
        };
        Ok(Some((token, user)))
    }

    /// Notes that the token was used now (at most once a minute per token: see the service).
    pub async fn touch_token(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Revokes a token: refused from now on, on every node. 409 when revoked already.
    pub async fn revoke_token(&self, id: i64, actor: &Actor) -> StoreResult<TokenRow> {
        let token = self.token(id).await?;
        if token.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "token {id} is revoked already"
            )));
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit_tx(
            &mut tx,
            actor,
            "token_revoke",
            &format!("token:{id}"),
            &serde_json::json!({ "user": token.user_name, "name": token.name }),
        )
        .await?;
        tx.commit().await?;
        self.token(id).await
    }
}
