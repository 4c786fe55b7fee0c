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
        } = r;
        Self {
            id,
            at,
            actor,
            action,
            target,
            detail,
        }
    }
}
