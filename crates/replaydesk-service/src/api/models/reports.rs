//! Timeline reports as received, and a class's report facts.

use super::*;

/// A timeline report as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TimelineReportRecord {
    #[ts(type = "number")]
    pub id: i64,
    pub class_id: Option<String>,
    pub uid: Option<String>,
    #[ts(type = "number | null")]
    pub client_timestamp: Option<i64>,
    #[ts(type = "number | null")]
    pub rtt_ms: Option<i64>,
    #[ts(type = "number")]
    pub received_at: i64,
    #[ts(type = "number | null")]
    pub time_line: Option<i64>,
    #[ts(type = "number | null")]
    pub uncertainty_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    pub accepted: bool,
    pub refusal_reason: Option<String>,
    /// The body exactly as received.
    pub body: String,
}

impl From<store::TimelineReportRecord> for TimelineReportRecord {
    fn from(r: store::TimelineReportRecord) -> Self {
        let store::TimelineReportRecord {
            id,
            class_id,
            uid,
            client_timestamp,
            rtt_ms,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
            body,
        } = r;
        Self {
            id,
            class_id,
            uid,
            client_timestamp,
            rtt_ms,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
            body,
        }
    }
}

/// A timeline report without its body (the raw request is not exported): what a bundle
/// carries so that the alignment of an imported class has the source's round-trip facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ReportFacts {
    pub uid: Option<String>,
    #[ts(type = "number | null")]
    pub client_timestamp: Option<i64>,
    #[ts(type = "number | null")]
    pub rtt_ms: Option<i64>,
    /// `client`, `kernel` or `none`; null for reports older than the source's column.
    pub rtt_source: Option<String>,
    #[ts(type = "number")]
    pub received_at: i64,
    #[ts(type = "number | null")]
    pub time_line: Option<i64>,
    #[ts(type = "number | null")]
    pub uncertainty_ms: Option<i64>,
    /// The message the report became (its id in the bundle).
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    pub accepted: bool,
    pub refusal_reason: Option<String>,
}

impl From<store::ReportFacts> for ReportFacts {
    fn from(r: store::ReportFacts) -> Self {
        let store::ReportFacts {
            uid,
            client_timestamp,
            rtt_ms,
            rtt_source,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
        } = r;
        Self {
            uid,
            client_timestamp,
            rtt_ms,
            rtt_source,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
        }
    }
}

/// Back into a row: a bundle's report facts, to import.
impl From<ReportFacts> for store::ReportFacts {
    fn from(r: ReportFacts) -> Self {
        let ReportFacts {
            uid,
            client_timestamp,
            rtt_ms,
            rtt_source,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
        } = r;
        Self {
            uid,
            client_timestamp,
            rtt_ms,
            rtt_source,
            received_at,
            time_line,
            uncertainty_ms,
            message_id,
            accepted,
            refusal_reason,
        }
    }
}
