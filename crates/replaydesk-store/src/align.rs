//! What alignment reads from the log: a class's messages in order, each 1003 with the
//! round-trip facts of the report it came from.

use super::{Store, StoreResult};
use sqlx::Row;

/// One logged message as alignment needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignmentRow {
    pub id: i64,
    pub data: String,
    pub sent: bool,
    pub im_msg_seq: Option<i64>,
    pub created_at: i64,
    /// From the timeline report (1003 only).
    pub rtt_ms: Option<i64>,
    /// `client`, `kernel` or `none`; None for reports older than the column.
    pub rtt_source: Option<String>,
    pub uncertainty_ms: Option<i64>,
}

impl Store {
    /// Every message of `class_id`, oldest first, with its report's RTT facts.
    pub async fn alignment_rows(&self, class_id: &str) -> StoreResult<Vec<AlignmentRow>> {
        let rows = sqlx::query(
            "SELECT m.id, m.data, m.status, m.im_msg_seq, m.created_at, r.rtt_ms, r.rtt_source, r.uncertainty_ms \
             FROM messages m LEFT JOIN timeline_reports r ON r.message_id = m.id AND r.accepted = 1 \
             WHERE m.class_id = $1 ORDER BY m.id",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        let mut out: Vec<AlignmentRow> = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            // A repeated report points at the same message: keep the first report's facts.
            if out.last().is_some_and(|r| r.id == id) {
                continue;
            }
            out.push(AlignmentRow {
                id,
                data: row.try_get("data")?,
                sent: row.try_get::<String, _>("status")? == "sent",
                im_msg_seq: row.try_get("im_msg_seq")?,
                created_at: row.try_get("created_at")?,
                rtt_ms: row.try_get("rtt_ms")?,
                rtt_source: row.try_get("rtt_source")?,
                uncertainty_ms: row.try_get("uncertainty_ms")?,
            });
        }
        Ok(out)
    }
}
