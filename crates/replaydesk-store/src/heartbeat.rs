//! Heartbeats' durable traces (issue 24): each member's presence summary (written by
//! every node every second or so, never once per heartbeat), the 1003s ReplayDesk sent
//! from a tracked clock with their reason, and a silent class's end. The once-only rules
//! live here, in the database, so that several nodes sharing it decide each thing once:
//! one re-anchor per earlier 1003 of a member (a unique index), one end per class (a
//! conditional update of the class, in the transaction that stores the 1002).

use super::members::{touch_member_tx, MemberRole};
use super::messages::{insert_message_tx, Inserted, NewMessage};
use super::reports::{class_event_tx, report_dedup_key, ClassEventIntake};
use super::sql::{pow2_chunks, push_rows};
use super::{now_ms, SqlBuilder, Store, StoreError, StoreResult};
use replaydesk_protocol::{Payload, ReplayMessage};
use sqlx::Row;

/// One member's presence and clock, as last written by a node.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceSummary {
    pub class_id: String,
    pub uid: String,
    /// When a heartbeat of the member last arrived, unix ms.
    pub last_seen_at: i64,
    /// Heartbeats the writing node took from the member.
    pub heartbeats: i64,
    /// The clock's run: one more after each jump.
    pub clock_run: i64,
    /// The newest heartbeat's client reading and the server time estimated for it.
    pub last_client_ms: i64,
    pub last_server_ms: i64,
    /// Server minus client, ms; the drift, parts per billion; how far the offset may be
    /// off, ms. `None` while the clock has no estimate.
    pub offset_ms: Option<i64>,
    pub drift_ppb: Option<i64>,
    pub uncertainty_ms: Option<i64>,
    /// Server time of the oldest sample the line rests on.
    pub line_from_ms: Option<i64>,
    pub updated_at: i64,
    /// When the member's current span of continuous presence began (as this node saw
    /// it), unix ms. Not a column of the summary: it keys the span in `presence_spans`.
    pub span_started_at: i64,
    /// Spans of the member that ended (a silence) since its last summary was written.
    pub closed_spans: Vec<PresenceSpanRecord>,
}

/// One span of a member's continuous presence, unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceSpanRecord {
    pub started_at: i64,
    pub ended_at: i64,
}

/// The member's newest timeline pair: the 1003 a re-anchor follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub message_id: i64,
    pub client_ms: i64,
    pub server_ms: i64,
}

/// Why ReplayDesk sent a 1003 for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReanchorReason {
    /// The member's clock jumped (reboot, sleep, wrap) since its last 1003.
    Jump,
    /// The tracked offset moved more than `heartbeat.reanchor_ms` from the last 1003's.
    Drift,
    /// The member never reported a timeline: its first good heartbeat.
    First,
}

impl ReanchorReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jump => "jump",
            Self::Drift => "drift",
            Self::First => "first",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jump" => Some(Self::Jump),
            "drift" => Some(Self::Drift),
            "first" => Some(Self::First),
            _ => None,
        }
    }
}

/// A re-anchoring 1003 to store: its message (uid, the member's clock reading at one
/// heartbeat, the tracked server time for it) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ReanchorIntake {
    pub class_id: String,
    pub group_id: String,
    pub role: MemberRole,
    pub message: ReplayMessage,
    /// The 1003 it follows (`None`: the member had none).
    pub prev: Option<Anchor>,
    pub reason: ReanchorReason,
    pub clock_run: i64,
    pub offset_ms: i64,
    /// How far the tracked offset had moved from the previous 1003's.
    pub moved_ms: Option<i64>,
    pub uncertainty_ms: i64,
}

/// A stored re-anchor.
#[derive(Debug, Clone, PartialEq)]
pub struct ReanchorRecord {
    pub id: i64,
    pub class_id: String,
    pub uid: String,
    pub prev_message_id: Option<i64>,
    pub reason: ReanchorReason,
    pub clock_run: i64,
    pub message_id: Option<i64>,
    pub offset_ms: i64,
    pub moved_ms: Option<i64>,
    pub uncertainty_ms: i64,
    pub created_at: i64,
}

fn presence_from_row(r: &super::DbRow) -> Result<PresenceSummary, sqlx::Error> {
    Ok(PresenceSummary {
        class_id: r.try_get("class_id")?,
        uid: r.try_get("uid")?,
        last_seen_at: r.try_get("last_seen_at")?,
        heartbeats: r.try_get("heartbeats")?,
        clock_run: r.try_get("clock_run")?,
        last_client_ms: r.try_get("last_client_ms")?,
        last_server_ms: r.try_get("last_server_ms")?,
        offset_ms: r.try_get("offset_ms")?,
        drift_ppb: r.try_get("drift_ppb")?,
        uncertainty_ms: r.try_get("uncertainty_ms")?,
        line_from_ms: r.try_get("line_from_ms")?,
        updated_at: r.try_get("updated_at")?,
        // The summary row holds no span: its newest one is the member's current span.
        span_started_at: r.try_get("last_seen_at")?,
        closed_spans: Vec::new(),
    })
}

const PRESENCE_COLUMNS: &str = "class_id, uid, last_seen_at, heartbeats, clock_run, \
     last_client_ms, last_server_ms, offset_ms, drift_ppb, uncertainty_ms, line_from_ms, \
     updated_at";

/// Adds `span` (starting no earlier than the last of `spans`) to `spans`, joined to the
/// last when they overlap or are less than `gap_ms` apart.
pub fn join_span(spans: &mut Vec<PresenceSpanRecord>, span: PresenceSpanRecord, gap_ms: i64) {
    match spans.last_mut() {
        Some(last) if span.started_at <= last.ended_at.saturating_add(gap_ms) => {
            last.ended_at = last.ended_at.max(span.ended_at);
        }
        _ => spans.push(span),
    }
}

impl Store {
    /// Writes the members' summaries in one transaction. A row keeps the newest summary:
    /// one older than what another node wrote is skipped.
    pub async fn upsert_presence(&self, rows: &[PresenceSummary]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let mut at = 0;
        for size in pow2_chunks(rows.len()) {
            let chunk = &rows[at..at + size];
            at += size;
            let mut qb = SqlBuilder::new(format!(
                "INSERT INTO member_presence ({PRESENCE_COLUMNS}) VALUES "
            ));
            push_rows(&mut qb, chunk, |b, p| {
                b.push_bind(p.class_id.as_str())
                    .push(", ")
                    .push_bind(p.uid.as_str())
                    .push(", ")
                    .push_bind(p.last_seen_at)
                    .push(", ")
                    .push_bind(p.heartbeats)
                    .push(", ")
                    .push_bind(p.clock_run)
                    .push(", ")
                    .push_bind(p.last_client_ms)
                    .push(", ")
                    .push_bind(p.last_server_ms)
                    .push(", ")
                    .push_bind(p.offset_ms)
                    .push(", ")
                    .push_bind(p.drift_ppb)
                    .push(", ")
                    .push_bind(p.uncertainty_ms)
                    .push(", ")
                    .push_bind(p.line_from_ms)
                    .push(", ")
                    .push_bind(p.updated_at);
            });
            qb.push(
                " ON CONFLICT (class_id, uid) DO UPDATE SET last_seen_at = excluded.last_seen_at, \
                 heartbeats = excluded.heartbeats, clock_run = excluded.clock_run, \
                 last_client_ms = excluded.last_client_ms, last_server_ms = excluded.last_server_ms, \
                 offset_ms = excluded.offset_ms, drift_ppb = excluded.drift_ppb, \
                 uncertainty_ms = excluded.uncertainty_ms, line_from_ms = excluded.line_from_ms, \
                 updated_at = excluded.updated_at \
                 WHERE excluded.last_seen_at >= member_presence.last_seen_at",
            );
            qb.build().execute(&mut *tx).await?;
        }
        let spans: Vec<(&PresenceSummary, PresenceSpanRecord)> = rows
            .iter()
            .flat_map(|p| {
                let current = PresenceSpanRecord {
                    started_at: p.span_started_at.min(p.last_seen_at),
                    ended_at: p.last_seen_at,
                };
                p.closed_spans
                    .iter()
                    .copied()
                    .chain(std::iter::once(current))
                    .map(move |s| (p, s))
            })
            .collect();
        let mut at = 0;
        for size in pow2_chunks(spans.len()) {
            let chunk = &spans[at..at + size];
            at += size;
            let mut qb = SqlBuilder::new(
                "INSERT INTO presence_spans (class_id, uid, started_at, ended_at) VALUES ",
            );
            push_rows(&mut qb, chunk, |b, (p, s)| {
                b.push_bind(p.class_id.as_str())
                    .push(", ")
                    .push_bind(p.uid.as_str())
                    .push(", ")
                    .push_bind(s.started_at)
                    .push(", ")
                    .push_bind(s.ended_at);
            });
            qb.push(
                " ON CONFLICT (class_id, uid, started_at) DO UPDATE SET ended_at = CASE \
                 WHEN excluded.ended_at > presence_spans.ended_at THEN excluded.ended_at \
                 ELSE presence_spans.ended_at END",
            );
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The class's spans of presence by uid, oldest first; spans less than `join_gap_ms`
    /// apart are joined (two nodes each wrote the part they saw).
    pub async fn presence_spans(
        &self,
        class_id: &str,
        join_gap_ms: i64,
    ) -> StoreResult<std::collections::BTreeMap<String, Vec<PresenceSpanRecord>>> {
        let rows = sqlx::query(
            "SELECT uid, started_at, ended_at FROM presence_spans WHERE class_id = $1 \
             ORDER BY uid, started_at",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        let mut out: std::collections::BTreeMap<String, Vec<PresenceSpanRecord>> =
            std::collections::BTreeMap::new();
        for r in &rows {
            let uid: String = r.try_get("uid")?;
            let span = PresenceSpanRecord {
                started_at: r.try_get("started_at")?,
                ended_at: r.try_get("ended_at")?,
            };
            join_span(out.entry(uid).or_default(), span, join_gap_ms);
        }
        Ok(out)
    }

    /// One member's summary, if it ever heartbeat.
    pub async fn member_presence(
        &self,
        class_id: &str,
        uid: &str,
    ) -> StoreResult<Option<PresenceSummary>> {
        let sql = format!(
            "SELECT {PRESENCE_COLUMNS} FROM member_presence WHERE class_id = $1 AND uid = $2"
        );
        let row = sqlx::query(&sql)
            .bind(class_id)
            .bind(uid)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(presence_from_row).transpose()?)
    }

    /// Every member of the class that heartbeat, by uid.
    pub async fn class_presence(&self, class_id: &str) -> StoreResult<Vec<PresenceSummary>> {
        let sql = format!(
            "SELECT {PRESENCE_COLUMNS} FROM member_presence WHERE class_id = $1 ORDER BY uid"
        );
        let rows = sqlx::query(&sql)
            .bind(class_id)
            .fetch_all(self.reader())
            .await?;
        Ok(rows
            .iter()
            .map(presence_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// The member's newest accepted timeline pair (its own report or a re-anchor).
    pub async fn latest_anchor(&self, class_id: &str, uid: &str) -> StoreResult<Option<Anchor>> {
        let row = sqlx::query(
            "SELECT message_id, client_timestamp, time_line FROM timeline_reports \
             WHERE class_id = $1 AND uid = $2 AND accepted = 1 AND client_timestamp IS NOT NULL \
             AND time_line IS NOT NULL AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(class_id)
        .bind(uid)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| -> StoreResult<Anchor> {
            Ok(Anchor {
                message_id: r.try_get("message_id")?,
                client_ms: r.try_get("client_timestamp")?,
                server_ms: r.try_get("time_line")?,
            })
        })
        .transpose()
    }

    /// Stores a re-anchoring 1003 (its message, its report row with the tracked time, its
    /// reason) unless one already follows the same earlier 1003 of the member, or the class
    /// is not started: `None` then, and nothing changed.
    pub async fn record_reanchor(&self, r: &ReanchorIntake) -> StoreResult<Option<Inserted>> {
        let mut tx = self.begin_write().await?;
        let inserted = reanchor_tx(&mut tx, r, now_ms()).await?;
        tx.commit().await?;
        if let Some(ins) = &inserted {
            self.cache().remember_members(std::iter::once((
                r.class_id.as_str(),
                ins.message.uid.as_str(),
            )));
        }
        Ok(inserted)
    }

    /// The class's re-anchors, oldest first.
    pub async fn reanchors(&self, class_id: &str) -> StoreResult<Vec<ReanchorRecord>> {
        let rows = sqlx::query(
            "SELECT id, class_id, uid, prev_message_id, reason, clock_run, message_id, offset_ms, \
             moved_ms, uncertainty_ms, created_at FROM heartbeat_reanchors WHERE class_id = $1 ORDER BY id",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let reason: String = r.try_get("reason")?;
            let prev: i64 = r.try_get("prev_message_id")?;
            out.push(ReanchorRecord {
                id: r.try_get("id")?,
                class_id: r.try_get("class_id")?,
                uid: r.try_get("uid")?,
                prev_message_id: (prev != 0).then_some(prev),
                reason: ReanchorReason::parse(&reason)
                    .ok_or_else(|| StoreError::Invalid(format!("re-anchor reason {reason:?}")))?,
                clock_run: r.try_get("clock_run")?,
                message_id: r.try_get("message_id")?,
                offset_ms: r.try_get("offset_ms")?,
                moved_ms: r.try_get("moved_ms")?,
                uncertainty_ms: r.try_get("uncertainty_ms")?,
                created_at: r.try_get("created_at")?,
            });
        }
        Ok(out)
    }

    /// Started classes whose members heartbeat and none of whom was seen after `cutoff`,
    /// each with the last moment anyone was seen.
    pub async fn silent_classes(&self, cutoff: i64) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT p.class_id, MAX(p.last_seen_at) AS last_seen FROM member_presence p \
             JOIN classes c ON c.class_id = p.class_id \
             WHERE c.state = 'started' AND c.imported_at IS NULL \
             GROUP BY p.class_id HAVING MAX(p.last_seen_at) <= $1",
        )
        .bind(cutoff)
        .fetch_all(self.reader())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push((r.try_get("class_id")?, r.try_get("last_seen")?));
        }
        Ok(out)
    }

    /// Ends a class that fell silent with its 1002, once: only while it is started, has
    /// not ended, had heartbeats and none after `cutoff`. `None` when that no longer holds
    /// (another node ended it, someone came back, the teacher ended it): nothing changed.
    pub async fn end_silent_class(
        &self,
        e: &ClassEventIntake,
        cutoff: i64,
    ) -> StoreResult<Option<Inserted>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE classes SET ended_by = 'silence' WHERE class_id = $1 AND state = 'started' \
             AND end_message_id IS NULL \
             AND EXISTS (SELECT 1 FROM member_presence p WHERE p.class_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM member_presence p WHERE p.class_id = $1 AND p.last_seen_at > $2)",
        )
        .bind(&e.class_id)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        let inserted = class_event_tx(&mut tx, e, now).await?;
        tx.commit().await?;
        self.cache().invalidate();
        Ok(Some(inserted))
    }
}

/// A re-anchor in the caller's write transaction (`Store::record_reanchor`, or the reports'
/// group commit): `None` when it is not taken (another node stored it first, or the class
/// is not started).
pub(crate) async fn reanchor_tx(
    tx: &mut sqlx::Transaction<'static, super::Db>,
    r: &ReanchorIntake,
    now: i64,
) -> StoreResult<Option<Inserted>> {
    let (uid, time_line) = match &r.message.payload {
        Payload::Timeline { time_line, value } => (value.uid.as_str(), *time_line),
        _ => return Err(StoreError::Invalid("a re-anchor carries a 1003".into())),
    };
    let timestamp = i64::try_from(r.message.timestamp)
        .map_err(|_| StoreError::Invalid("timestamp out of range".into()))?;
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM classes WHERE class_id = $1")
        .bind(&r.class_id)
        .fetch_optional(&mut **tx)
        .await?;
    if state.as_deref() != Some("started") {
        return Ok(None);
    }
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO heartbeat_reanchors (class_id, uid, prev_message_id, reason, clock_run, \
         offset_ms, moved_ms, uncertainty_ms, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&r.class_id)
    .bind(uid)
    .bind(r.prev.map_or(0, |a| a.message_id))
    .bind(r.reason.as_str())
    .bind(r.clock_run)
    .bind(r.offset_ms)
    .bind(r.moved_ms)
    .bind(r.uncertainty_ms)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let key = report_dedup_key(1003, uid, r.message.timestamp);
    let build = |seq| ReplayMessage {
        seq,
        ..r.message.clone()
    };
    let inserted = insert_message_tx(
        tx,
        &NewMessage {
            class_id: &r.class_id,
            group_id: &r.group_id,
            uid,
            dedup_key: &key,
            build: &build,
        },
        now,
    )
    .await?;
    let body = serde_json::json!({
        "heartbeat": r.reason.as_str(),
        "uid": uid,
        "timestamp": timestamp,
        "clock_run": r.clock_run,
    })
    .to_string();
    sqlx::query(
        "INSERT INTO timeline_reports (class_id, uid, client_timestamp, rtt_ms, rtt_source, \
         received_at, time_line, uncertainty_ms, message_id, accepted, body) \
         VALUES ($1, $2, $3, NULL, 'heartbeat', $4, $5, $6, $7, 1, $8)",
    )
    .bind(&r.class_id)
    .bind(uid)
    .bind(timestamp)
    .bind(now)
    .bind(time_line)
    .bind(r.uncertainty_ms)
    .bind(inserted.message.id)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE heartbeat_reanchors SET message_id = $1 WHERE id = $2")
        .bind(inserted.message.id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    touch_member_tx(tx, &r.class_id, uid, r.role, now).await?;
    Ok(Some(inserted))
}
