//! The audit log's entries.

use super::*;

/// One entry of the audit log: who did what to which target, and its details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AuditEntry {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[ts(type = "unknown")]
    pub detail: serde_json::Value,
    /// How the person came in: `console`, `api_token`, `bootstrap_token`, `desktop`,
    /// `cli`; `""` for entries from before doors were kept.
    pub door: String,
    /// The API token's name when one was used, else `""`.
    pub token_name: String,
}

impl From<store::AuditEntry> for AuditEntry {
    fn from(r: store::AuditEntry) -> Self {
        let store::AuditEntry {
            id,
            at,
            actor,
            action,
            target,
            detail,
            door,
            token_name,
        } = r;
        Self {
            id,
            at,
            actor,
            action,
            target,
            detail,
            door,
            token_name,
        }
    }
}
