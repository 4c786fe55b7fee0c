//! The audit log of administrative actions, and alerts.

use super::types::Alert;
use super::Db;
use super::{now_ms, Store, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::{Row, Transaction};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    /// The person (a console user, the bootstrap token's `X-ReplayDesk-Actor`, `desktop`).
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    /// How they came in: [`Door::as_str`]; `""` for entries from before doors were kept.
    pub door: String,
    /// The API token's name when one was used, else `""`.
    pub token_name: String,
}

/// The way into ReplayDesk an action came through (kept with each audit entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// A person signed in to the console (session cookie).
    Console,
    /// A person's API token.
    ApiToken,
    /// The bootstrap `admin_token`.
    BootstrapToken,
    /// The desktop app, on the teacher's own machine (no sign-in).
    Desktop,
    /// The `replaydesk` command line on the server.
    Cli,
}

impl Door {
    pub fn as_str(self) -> &'static str {
        match self {
            Door::Console => "console",
            Door::ApiToken => "api_token",
            Door::BootstrapToken => "bootstrap_token",
            Door::Desktop => "desktop",
            Door::Cli => "cli",
        }
    }
}

/// Who acts, for the audit log: the person (or the name the bootstrap token gave), the
/// door, and the API token's name when one was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub door: Door,
    pub token_name: Option<String>,
}

/// `alice (console)`, `alice (api_token ci)`: for log lines.
impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.token_name {
            Some(t) => write!(f, "{} ({} {t})", self.name, self.door.as_str()),
            None => write!(f, "{} ({})", self.name, self.door.as_str()),
        }
    }
}

impl Actor {
    pub fn new(name: impl Into<String>, door: Door) -> Self {
        Self {
            name: name.into(),
            door,
            token_name: None,
        }
    }

    /// The desktop app's teacher (named `desktop`, as before doors were kept).
    pub fn desktop() -> Self {
        Self::new("desktop", Door::Desktop)
    }
}

pub(crate) async fn audit_tx(
    tx: &mut Transaction<'_, Db>,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, detail, door, token_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_ms())
    .bind(&actor.name)
    .bind(action)
    .bind(target)
    .bind(detail.to_string())
    .bind(actor.door.as_str())
    .bind(actor.token_name.as_deref().unwrap_or(""))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Which audit entries to list (each condition only when given).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter<'a> {
    pub action: Option<&'a str>,
    /// Targets starting with this.
    pub target: Option<&'a str>,
    /// The person, exactly.
    pub actor: Option<&'a str>,
}

impl Store {
    pub async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        detail: &serde_json::Value,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        audit_tx(&mut tx, actor, action, target, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Newest first; `before` is the id to page back from.
    pub async fn audit_log(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        self.audit_log_filtered(before, limit, AuditFilter::default())
            .await
    }

    /// Newest first, only `action` (exactly), `actor` (exactly) and targets starting with
    /// `target`.
    pub async fn audit_log_filtered(
        &self,
        before: Option<i64>,
        limit: u32,
        filter: AuditFilter<'_>,
    ) -> StoreResult<Vec<AuditEntry>> {
        let AuditFilter {
            action,
            target,
            actor,
        } = filter;
        // Only the conditions asked for, so that the planner sees `action = $n` (and walks
        // `audit_log_action` newest first) rather than an `IS NULL OR` it cannot index. A
        // target prefix by `substr`, not LIKE: `_` and `%` are common in ids, and LIKE's
        // case rules differ between SQLite and PostgreSQL; it is checked on the entries the
        // walk reads.
        let mut conds = Vec::new();
        let mut n = 0;
        let mut param = || {
            n += 1;
            format!("${n}")
        };
        if before.is_some() {
            conds.push(format!("id < {}", param()));
        }
        if action.is_some() {
            conds.push(format!("action = {}", param()));
        }
        if actor.is_some() {
            conds.push(format!("actor = {}", param()));
        }
        if target.is_some() {
            let (a, b) = (param(), param());
            conds.push(format!("substr(target, 1, length({a})) = {b}"));
        }
        let sql = format!(
            "SELECT id, at, actor, action, target, detail, door, token_name FROM audit_log {} \
             ORDER BY id DESC LIMIT {}",
            if conds.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conds.join(" AND "))
            },
            param()
        );
        let mut query = sqlx::query(&sql);
        if let Some(b) = before {
            query = query.bind(b);
        }
        if let Some(a) = action {
            query = query.bind(a);
        }
        if let Some(a) = actor {
            query = query.bind(a);
        }
        if let Some(t) = target {
            query = query.bind(t).bind(t);
        }
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let detail: String = row.try_get("detail")?;
            out.push(AuditEntry {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                door: row.try_get("door")?,
                token_name: row.try_get("token_name")?,
            });
        }
        Ok(out)
    }

    /// Raises an alert of `kind` unless one is already open.
    pub async fn raise_alert(&self, kind: &str, detail: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO alerts (kind, detail, raised_at) SELECT $1, $2, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE kind = $4 AND cleared_at IS NULL)",
        )
        .bind(kind)
        .bind(detail)
        .bind(now_ms())
        .bind(kind)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    pub async fn clear_alerts(&self, kind: &str) -> StoreResult<u64> {
        let r =
            sqlx::query("UPDATE alerts SET cleared_at = $1 WHERE kind = $2 AND cleared_at IS NULL")
                .bind(now_ms())
                .bind(kind)
                .execute(self.writer())
                .await?;
        Ok(r.rows_affected())
    }

    /// Raises an alert of `kind` about one class unless one is open for that class.
    pub async fn raise_class_alert(
        &self,
        kind: &str,
        class_id: &str,
        detail: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO alerts (kind, class_id, detail, raised_at) SELECT $1, $2, $3, $4 \
             WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE kind = $5 AND class_id = $6 AND cleared_at IS NULL)",
        )
        .bind(kind)
        .bind(class_id)
        .bind(detail)
        .bind(now_ms())
        .bind(kind)
        .bind(class_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Clears the open alerts of `kind` about one class; returns the time the earliest
    /// was raised (None if none was open).
    pub async fn clear_class_alerts(&self, kind: &str, class_id: &str) -> StoreResult<Option<i64>> {
        let mut tx = self.writer().begin().await?;
        let raised: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(raised_at) FROM alerts WHERE kind = $1 AND class_id = $2 AND cleared_at IS NULL",
        )
        .bind(kind)
        .bind(class_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE alerts SET cleared_at = $1 WHERE kind = $2 AND class_id = $3 AND cleared_at IS NULL",
        )
        .bind(now_ms())
        .bind(kind)
        .bind(class_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(raised)
    }

    pub async fn open_alerts(&self) -> StoreResult<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT id, kind, class_id, detail, raised_at, cleared_at FROM alerts WHERE cleared_at IS NULL ORDER BY id",
        )
        .fetch_all(self.reader())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(Alert {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                class_id: row.try_get("class_id")?,
                detail: row.try_get("detail")?,
                raised_at: row.try_get("raised_at")?,
                cleared_at: row.try_get("cleared_at")?,
            });
        }
        Ok(out)
    }
}
