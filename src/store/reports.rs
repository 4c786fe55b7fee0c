//! What classroom clients report: timeline reports (kept raw, accepted or refused) and
//! class start/end, each turned into its protocol message in the same transaction.
//!
//! Many reports can be committed in one transaction ([`Store::record_intake`]): one fsync
//! for a burst instead of one per report, with the same durability for each.

use super::filter::Page;
use super::members::{touch_member_tx, MemberRole};
use super::messages::{insert_message_tx, message_columns, message_from_row, Inserted, NewMessage};
use super::types::MessageStatus;
use super::{now_ms, Store, StoreError, StoreResult};
use super::{Db, DbRow};
use crate::protocol::{Payload, ReplayMessage, UserValue};
use serde::{Deserialize, Serialize};
use sqlx::{Row, Transaction};
use ts_rs::TS;

/// An accepted timeline report: becomes (or, repeated, finds) its 1003.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineIntake {
    pub class_id: String,
    pub group_id: String,
    pub uid: String,
    /// The role `uid` takes if it is new to the class.
    pub role: MemberRole,
    /// The client's `timestamp`, as reported.
    pub timestamp: u64,
    /// Server unix ms paired with `timestamp`.
    pub time_line: i64,
    pub rtt_ms: Option<i64>,
    /// Which round trip `rtt_ms` is: `client`, `kernel` or `none` (see `align::RttSource`).
    pub rtt_source: &'static str,
    /// How far `time_line` may be off (half the round trip), when known.
    pub uncertainty_ms: Option<i64>,
    /// When the report arrived, unix ms.
    pub received_at: i64,
    /// The request body as received.
    pub body: String,
}

/// Which class event a 1001 / 1002 reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassEvent {
    Start,
    End,
}

/// An accepted class start or end: becomes (or, repeated, finds) its 1001 / 1002.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassEventIntake {
    pub class_id: String,
    pub group_id: String,
    pub uid: String,
    pub role: MemberRole,
    pub timestamp: u64,
    pub event: ClassEvent,
}

/// One accepted client report.
#[derive(Debug, Clone, PartialEq)]
pub enum IntakeItem {
    Timeline(TimelineIntake),
    ClassEvent(ClassEventIntake),
}

/// A timeline report refused (after its client proved it may report to the class).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefusedReport {
    pub class_id: Option<String>,
    pub uid: Option<String>,
    pub client_timestamp: Option<i64>,
    pub rtt_ms: Option<i64>,
    pub received_at: i64,
    pub reason: String,
    pub body: String,
}

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

/// The dedup key of a client-reported message: a repeat is the same message.
pub fn report_dedup_key(type_code: u16, uid: &str, timestamp: u64) -> String {
    format!("{type_code}:{uid}:{timestamp}")
}

fn report_from_row(row: &DbRow) -> Result<TimelineReportRecord, sqlx::Error> {
    let accepted: i64 = row.try_get("accepted")?;
    Ok(TimelineReportRecord {
        id: row.try_get("id")?,
        class_id: row.try_get("class_id")?,
        uid: row.try_get("uid")?,
        client_timestamp: row.try_get("client_timestamp")?,
        rtt_ms: row.try_get("rtt_ms")?,
        received_at: row.try_get("received_at")?,
        time_line: row.try_get("time_line")?,
        uncertainty_ms: row.try_get("uncertainty_ms")?,
        message_id: row.try_get("message_id")?,
        accepted: accepted != 0,
        refusal_reason: row.try_get("refusal_reason")?,
        body: row.try_get("body")?,
    })
}

fn to_i64(v: u64, what: &str) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is out of range")))
}

async fn intake_one(
    tx: &mut Transaction<'_, Db>,
    item: &IntakeItem,
    now: i64,
) -> StoreResult<Inserted> {
    match item {
        IntakeItem::Timeline(t) => {
            let key = report_dedup_key(1003, &t.uid, t.timestamp);
            let build = |seq| {
                ReplayMessage::new(
                    seq,
                    t.timestamp,
                    Payload::Timeline {
                        time_line: t.time_line,
                        value: UserValue::new(t.uid.clone()),
                    },
                )
            };
            let inserted = insert_message_tx(
                tx,
                &NewMessage {
                    class_id: &t.class_id,
                    group_id: &t.group_id,
                    uid: &t.uid,
                    dedup_key: &key,
                    build: &build,
                },
                now,
            )
            .await?;
            sqlx::query(
                "INSERT INTO timeline_reports (class_id, uid, client_timestamp, rtt_ms, rtt_source, \
                 received_at, time_line, uncertainty_ms, message_id, accepted, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10)",
            )
            .bind(&t.class_id)
            .bind(&t.uid)
            .bind(to_i64(t.timestamp, "timestamp")?)
            .bind(t.rtt_ms)
            .bind(t.rtt_source)
            .bind(t.received_at)
            .bind(t.time_line)
            .bind(t.uncertainty_ms)
            .bind(inserted.message.id)
            .bind(&t.body)
            .execute(&mut **tx)
            .await?;
            touch_member_tx(tx, &t.class_id, &t.uid, t.role, now).await?;
            Ok(inserted)
        }
        IntakeItem::ClassEvent(e) => {
            // One 1001 and one 1002 per class: the class points at the message that
            // started (ended) it, and a report of the same event — a client retry, with
            // whatever timestamp — answers with that message. A start after the end is
            // refused; only an admin's reopen (audited) allows another pair.
            let row = sqlx::query(
                "SELECT state, start_message_id, end_message_id, reopen_count FROM classes \
                 WHERE class_id = $1",
            )
            .bind(&e.class_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("class {:?}", e.class_id)))?;
            let state: String = row.try_get("state")?;
            let (recorded, code): (Option<i64>, u16) = match e.event {
                ClassEvent::Start => (row.try_get("start_message_id")?, 1001),
                ClassEvent::End => (row.try_get("end_message_id")?, 1002),
            };
            let reopened: i64 = row.try_get("reopen_count")?;
            if e.event == ClassEvent::Start && state == "ended" {
                return Err(StoreError::Conflict(format!(
                    "class {:?} has ended: a class starts once (an admin may reopen it on purpose)",
                    e.class_id
                )));
            }
            if let Some(id) = recorded {
                let sql = format!("SELECT {} FROM messages WHERE id = $1", message_columns());
                let row = sqlx::query(&sql).bind(id).fetch_one(&mut **tx).await?;
                touch_member_tx(tx, &e.class_id, &e.uid, e.role, now).await?;
                return Ok(Inserted {
                    message: message_from_row(&row)?,
                    created: false,
                });
            }
            let mut key = report_dedup_key(code, &e.uid, e.timestamp);
            if reopened > 0 {
                // After a reopen the same uid and timestamp is a new event.
                key.push_str(&format!(":reopen{reopened}"));
            }
            let build = |seq| {
                let value = UserValue::new(e.uid.clone());
                let payload = match e.event {
                    ClassEvent::Start => Payload::ClassStart(value),
                    ClassEvent::End => Payload::ClassEnd(value),
                };
                ReplayMessage::new(seq, e.timestamp, payload)
            };
            let inserted = insert_message_tx(
                tx,
                &NewMessage {
                    class_id: &e.class_id,
                    group_id: &e.group_id,
                    uid: &e.uid,
                    dedup_key: &key,
                    build: &build,
                },
                now,
            )
            .await?;
            let sql = match e.event {
                ClassEvent::Start => {
                    "UPDATE classes SET \
                     state = CASE WHEN state = 'created' THEN 'started' ELSE state END, \
                     started_at = COALESCE(started_at, $1), start_message_id = $2 WHERE class_id = $3"
                }
                ClassEvent::End => {
                    "UPDATE classes SET state = 'ended', ended_at = COALESCE(ended_at, $1), \
                     end_message_id = $2 WHERE class_id = $3"
                }
            };
            sqlx::query(sql)
                .bind(now)
                .bind(inserted.message.id)
                .bind(&e.class_id)
                .execute(&mut **tx)
                .await?;
            touch_member_tx(tx, &e.class_id, &e.uid, e.role, now).await?;
            Ok(inserted)
        }
    }
}

impl Store {
    async fn intake_tx(&self, batch: &[IntakeItem]) -> StoreResult<Vec<Inserted>> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        let mut out = Vec::with_capacity(batch.len());
        for item in batch {
            out.push(intake_one(&mut tx, item, now).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records client reports and their messages, all in one transaction: each is durable
    /// when this returns `Ok` for it. Should the batch fail as a whole, each report is
    /// tried again on its own, so that one bad report does not refuse the others.
    pub async fn record_intake(&self, batch: &[IntakeItem]) -> Vec<StoreResult<Inserted>> {
        match self.intake_tx(batch).await {
            Ok(v) => v.into_iter().map(Ok).collect(),
            Err(e) if batch.len() <= 1 => vec![Err(e)],
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "batch commit failed; committing one by one");
                let mut out = Vec::with_capacity(batch.len());
                for item in batch {
                    out.push(
                        self.intake_tx(std::slice::from_ref(item))
                            .await
                            .and_then(|mut v| {
                                v.pop().ok_or_else(|| {
                                    StoreError::Invalid("empty intake result".into())
                                })
                            }),
                    );
                }
                out
            }
        }
    }

    /// Keeps a refused timeline report, with why it was refused.
    pub async fn record_refused_report(&self, r: &RefusedReport) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO timeline_reports (class_id, uid, client_timestamp, rtt_ms, received_at, \
             accepted, refusal_reason, body) VALUES ($1, $2, $3, $4, $5, 0, $6, $7) RETURNING id",
        )
        .bind(&r.class_id)
        .bind(&r.uid)
        .bind(r.client_timestamp)
        .bind(r.rtt_ms)
        .bind(r.received_at)
        .bind(&r.reason)
        .bind(&r.body)
        .fetch_one(self.writer())
        .await?)
    }

    /// A class's timeline reports, newest first; `before` is the previous page's cursor.
    pub async fn timeline_reports(
        &self,
        class_id: &str,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<TimelineReportRecord>> {
        let limit = limit.clamp(1, 1000);
        let rows = sqlx::query(
            "SELECT id, class_id, uid, client_timestamp, rtt_ms, received_at, time_line, \
             uncertainty_ms, message_id, accepted, refusal_reason, body FROM timeline_reports \
             WHERE class_id = $1 AND ($2 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(class_id)
        .bind(before)
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.reader())
        .await?;
        let items = rows
            .iter()
            .map(report_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, |r| r.id))
    }

    /// Messages per class and status.
    pub async fn class_status_counts(&self) -> StoreResult<Vec<(String, MessageStatus, i64)>> {
        let rows = sqlx::query(
            "SELECT class_id, status, COUNT(*) AS n FROM messages GROUP BY class_id, status",
        )
        .fetch_all(self.reader())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let s: String = row.try_get("status")?;
            out.push((
                row.try_get("class_id")?,
                MessageStatus::parse(&s)
                    .ok_or_else(|| StoreError::Invalid(format!("status {s}")))?,
                row.try_get("n")?,
            ));
        }
        Ok(out)
    }

    /// The class whose report token hashes to `sha256_hex`, if any.
    pub async fn class_for_report_token(&self, sha256_hex: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT class_id FROM classes WHERE report_token_sha256 = $1")
                .bind(sha256_hex)
                .fetch_optional(self.reader())
                .await?,
        )
    }
}
