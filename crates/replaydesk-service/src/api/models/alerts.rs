//! Alerts the console shows until they are cleared.

use super::*;

/// A condition the console shows until it is cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Alert {
    #[ts(type = "number")]
    pub id: i64,
    /// `im_credentials` (sending paused), `group_missing` (a class's IM group does not
    /// exist; fixed by `POST /v1/admin/classes/{class_id}/create-group`), ...
    pub kind: String,
    /// The class the alert is about, if it is about one.
    pub class_id: Option<String>,
    pub detail: String,
    #[ts(type = "number")]
    pub raised_at: i64,
    #[ts(type = "number | null")]
    pub cleared_at: Option<i64>,
}

impl From<store::Alert> for Alert {
    fn from(r: store::Alert) -> Self {
        let store::Alert {
            id,
            kind,
            class_id,
            detail,
            raised_at,
            cleared_at,
        } = r;
        Self {
            id,
            kind,
            class_id,
            detail,
            raised_at,
            cleared_at,
        }
    }
}
