//! Bulk jobs and the message filter they were started with.

use super::*;

/// Which messages: every field narrows; empty lists and `None` do not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(default)]
#[ts(export)]
pub struct MessageFilter {
    pub class_id: Option<String>,
    /// Any of these classes.
    pub class_ids: Vec<String>,
    /// Any of these statuses.
    pub statuses: Vec<MessageStatus>,
    /// Any of these types.
    pub types: Vec<MessageType>,
    pub uid: Option<String>,
    /// Created at or after (unix ms).
    #[ts(type = "number | null")]
    pub created_from: Option<i64>,
    /// Created before (unix ms).
    #[ts(type = "number | null")]
    pub created_to: Option<i64>,
    /// Last changed at or after (unix ms): with `statuses = [failed]`, "failed since".
    #[ts(type = "number | null")]
    pub updated_from: Option<i64>,
    /// Only messages that took more than one attempt (true) or exactly one or none (false).
    pub retried: Option<bool>,
    /// Substring of the `Data` text.
    pub text: Option<String>,
}

impl From<store::MessageFilter> for MessageFilter {
    fn from(r: store::MessageFilter) -> Self {
        let store::MessageFilter {
            class_id,
            class_ids,
            statuses,
            types,
            uid,
            created_from,
            created_to,
            updated_from,
            retried,
            text,
        } = r;
        Self {
            class_id,
            class_ids,
            statuses: statuses.into_iter().map(Into::into).collect(),
            types,
            uid,
            created_from,
            created_to,
            updated_from,
            retried,
            text,
        }
    }
}

/// A job and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Job {
    #[ts(type = "number")]
    pub id: i64,
    pub kind: JobKind,
    pub filter: MessageFilter,
    pub actor: String,
    pub state: JobState,
    /// Messages matching the filter when the job started (or taken on so far, if more).
    #[ts(type = "number")]
    pub total: i64,
    /// Taken-on messages now sent.
    #[ts(type = "number")]
    pub done: i64,
    /// Taken-on messages now failed.
    #[ts(type = "number")]
    pub failed: i64,
    #[ts(type = "number")]
    pub created_at: i64,
    #[ts(type = "number")]
    pub updated_at: i64,
    #[ts(type = "number | null")]
    pub finished_at: Option<i64>,
}

impl From<store::Job> for Job {
    fn from(r: store::Job) -> Self {
        let store::Job {
            id,
            kind,
            filter,
            actor,
            state,
            total,
            done,
            failed,
            created_at,
            updated_at,
            finished_at,
        } = r;
        Self {
            id,
            kind: kind.into(),
            filter: filter.into(),
            actor,
            state: state.into(),
            total,
            done,
            failed,
            created_at,
            updated_at,
            finished_at,
        }
    }
}
