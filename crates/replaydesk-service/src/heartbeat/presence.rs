//! Who is in a class now: each member that heartbeat, when it was last seen and how its
//! clock is doing, and the 1003s ReplayDesk sent for it (with why). Made from the store's
//! summaries (every node's) and, fresher, this node's own tracker.

use super::tracker::Live;
use crate::{ReplayDesk, ServiceResult};
use replaydesk_store::{join_span, PresenceSpanRecord, PresenceSummary, ReanchorRecord};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A clock's health, as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ClockHealth {
    /// Tracked, to within `heartbeat.reanchor_ms`.
    Good,
    /// Tracked, but not yet to within `heartbeat.reanchor_ms` (few samples, long round
    /// trips).
    Uncertain,
    /// The clock jumped since the member joined (reboot, sleep, wrap); tracked again.
    Jumped,
    /// No heartbeat for a while (more than [`AWAY_AFTER_MS`]).
    Away,
}

/// A member not heard from for this long is `away`.
pub const AWAY_AFTER_MS: i64 = 15_000;

/// One member's presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct MemberPresence {
    pub uid: String,
    /// When its last heartbeat arrived, unix ms.
    #[ts(type = "number")]
    pub last_seen_at: i64,
    /// Heartbeats taken (by the node that saw it last).
    #[ts(type = "number")]
    pub heartbeats: i64,
    /// The clock's run: one more after each jump.
    #[ts(type = "number")]
    pub clock_run: i64,
    /// Server minus client, ms.
    #[ts(type = "number | null")]
    pub offset_ms: Option<i64>,
    /// How fast the offset moves, parts per million.
    pub drift_ppm: Option<f64>,
    /// How far the offset may be off, ms.
    #[ts(type = "number | null")]
    pub uncertainty_ms: Option<i64>,
    pub health: ClockHealth,
    /// Its spans of continuous presence, oldest first: a silence longer than
    /// [`AWAY_AFTER_MS`] ends one.
    pub spans: Vec<PresenceSpan>,
}

/// A stretch of time a member heartbeat without a silence longer than [`AWAY_AFTER_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PresenceSpan {
    /// Its first heartbeat's arrival, unix ms.
    #[ts(type = "number")]
    pub from_ms: i64,
    /// Its last heartbeat's arrival, unix ms.
    #[ts(type = "number")]
    pub until_ms: i64,
}

/// A 1003 ReplayDesk sent for a member from its tracked clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Reanchor {
    pub uid: String,
    /// `jump`, `drift` or `first`.
    pub reason: String,
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    /// The 1003 it followed (`null`: the member had none).
    #[ts(type = "number | null")]
    pub prev_message_id: Option<i64>,
    #[ts(type = "number")]
    pub clock_run: i64,
    #[ts(type = "number")]
    pub offset_ms: i64,
    /// How far the tracked offset had moved from the previous 1003's, ms.
    #[ts(type = "number | null")]
    pub moved_ms: Option<i64>,
    #[ts(type = "number")]
    pub uncertainty_ms: i64,
    #[ts(type = "number")]
    pub created_at: i64,
}

/// Who is in the class now, and what ReplayDesk did about their clocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassPresence {
    pub class_id: String,
    /// The server's clock when this was made, unix ms.
    #[ts(type = "number")]
    pub now_ms: i64,
    /// `heartbeat.silence_end` in ms (`null`: never).
    #[ts(type = "number | null")]
    pub silence_end_ms: Option<i64>,
    /// `silence` when ReplayDesk ended the class.
    pub ended_by: Option<String>,
    pub members: Vec<MemberPresence>,
    pub reanchors: Vec<Reanchor>,
}

fn health(now: i64, last_seen: i64, run: i64, uncertainty: Option<i64>, bound: i64) -> ClockHealth {
    if now - last_seen > AWAY_AFTER_MS {
        ClockHealth::Away
    } else if run > 0 {
        ClockHealth::Jumped
    } else if uncertainty.is_some_and(|u| u <= bound) {
        ClockHealth::Good
    } else {
        ClockHealth::Uncertain
    }
}

fn from_summary(
    p: PresenceSummary,
) -> (String, i64, i64, i64, Option<i64>, Option<f64>, Option<i64>) {
    (
        p.uid,
        p.last_seen_at,
        p.heartbeats,
        p.clock_run,
        p.offset_ms,
        p.drift_ppb.map(|d| d as f64 / 1000.0),
        p.uncertainty_ms,
    )
}

fn from_live(l: Live) -> (String, i64, i64, i64, Option<i64>, Option<f64>, Option<i64>) {
    (
        l.uid,
        l.last_seen,
        i64::try_from(l.heartbeats).unwrap_or(i64::MAX),
        i64::from(l.run),
        l.estimate.map(|e| e.offset_ms.round() as i64),
        l.estimate.map(|e| (e.drift_ppm * 1000.0).round() / 1000.0),
        l.estimate.map(|e| e.uncertainty_ms.ceil() as i64),
    )
}

impl From<ReanchorRecord> for Reanchor {
    fn from(r: ReanchorRecord) -> Self {
        let ReanchorRecord {
            id: _,
            class_id: _,
            uid,
            prev_message_id,
            reason,
            clock_run,
            message_id,
            offset_ms,
            moved_ms,
            uncertainty_ms,
            created_at,
        } = r;
        Self {
            uid,
            reason: reason.as_str().to_owned(),
            message_id,
            prev_message_id,
            clock_run,
            offset_ms,
            moved_ms,
            uncertainty_ms,
            created_at,
        }
    }
}

impl ReplayDesk {
    /// Who is in the class now (each member that heartbeat: last seen, clock health) and
    /// the 1003s ReplayDesk sent from tracked clocks, with why.
    pub async fn class_presence(&self, class_id: &str) -> ServiceResult<ClassPresence> {
        let class = self.class(class_id).await?;
        let store = self.store();
        let mut rows: std::collections::BTreeMap<String, _> = store
            .class_presence(class_id)
            .await?
            .into_iter()
            .map(from_summary)
            .map(|r| (r.0.clone(), r))
            .collect();
        let mut spans = store.presence_spans(class_id, super::SPAN_GAP_MS).await?;
        let live = self.live_members(class_id);
        for l in &live {
            let mine = spans.entry(l.uid.clone()).or_default();
            let current = PresenceSpanRecord {
                started_at: l.span_start,
                ended_at: l.last_seen,
            };
            for s in l.closed_spans.iter().copied().chain([current]) {
                // Stored spans written by this node end where its own begin: joined.
                let at = mine.partition_point(|m| m.started_at <= s.started_at);
                let mut tail = mine.split_off(at);
                join_span(mine, s, super::SPAN_GAP_MS);
                for t in tail.drain(..) {
                    join_span(mine, t, super::SPAN_GAP_MS);
                }
            }
        }
        for l in live.into_iter().map(from_live) {
            let newer = rows.get(&l.0).is_none_or(|r| l.1 >= r.1);
            if newer {
                rows.insert(l.0.clone(), l);
            }
        }
        let now = replaydesk_store::now_ms();
        let bound = i64::try_from(self.config().heartbeat.reanchor_ms).unwrap_or(i64::MAX);
        let members = rows
            .into_values()
            .map(
                |(
                    uid,
                    last_seen_at,
                    heartbeats,
                    clock_run,
                    offset_ms,
                    drift_ppm,
                    uncertainty_ms,
                )| {
                    MemberPresence {
                        health: health(now, last_seen_at, clock_run, uncertainty_ms, bound),
                        spans: spans
                            .remove(&uid)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|s| PresenceSpan {
                                from_ms: s.started_at,
                                until_ms: s.ended_at,
                            })
                            .collect(),
                        uid,
                        last_seen_at,
                        heartbeats,
                        clock_run,
                        offset_ms,
                        drift_ppm,
                        uncertainty_ms,
                    }
                },
            )
            .collect();
        Ok(ClassPresence {
            class_id: class.class_id,
            now_ms: now,
            silence_end_ms: self
                .config()
                .heartbeat
                .silence_end
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            ended_by: class.ended_by,
            members,
            reanchors: store
                .reanchors(class_id)
                .await?
                .into_iter()
                .map(Reanchor::from)
                .collect(),
        })
    }
}
