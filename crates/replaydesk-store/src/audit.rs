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
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

pub(crate) async fn audit_tx(
    tx: &mut Transaction<'_, Db>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn audit(
        &self,
        actor: &str,
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
        self.audit_log_filtered(before, limit, None, None).await
    }

    /// Newest first, only `action` (exactly) and targets starting with `target`.
    pub async fn audit_log_filtered(
        &self,
        before: Option<i64>,
        limit: u32,
        action: Option<&str>,
        target: Option<&str>,
    ) -> StoreResult<Vec<AuditEntry>> {
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
        if target.is_some() {
            let (a, b) = (param(), param());
            conds.push(format!("substr(target, 1, length({a})) = {b}"));
        }
        let sql = format!(
            "SELECT id, at, actor, action, target, detail FROM audit_log {} \
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
