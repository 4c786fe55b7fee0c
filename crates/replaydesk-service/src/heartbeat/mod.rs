//! Heartbeats (`POST /v1/classes/{class_id}/heartbeat`): every member's clock tracked all
//! class long (in memory, `tracker`), a fresh 1003 when the clock jumped, drifted past
//! `heartbeat.reanchor_ms` or never had one, and a class whose members all fell silent for
//! `heartbeat.silence_end` ended with a 1002 stamped by the teacher's clock.
//!
//! A heartbeat costs no write: the tracking state lives in memory and a summary per member
//! is written every [`FLUSH_EVERY`] (shorter when the silence is). Decisions are taken in
//! the store, so that several nodes sharing it take each one once (see
//! `replaydesk_store::heartbeat`).

mod presence;
mod tracker;

pub use presence::{
    ClassPresence, ClockHealth, MemberPresence, PresenceSpan, Reanchor, AWAY_AFTER_MS,
};

use super::end_class::client_clock_at;
use super::reports::{pick_rtt, time_line_for, ReportMeta};
use super::{validate, HeartbeatAccepted, ReplayDesk, ServiceError, ServiceResult, TimelineReport};
use crate::intake::SubmitError;
use replaydesk_align::track::Sample;
use replaydesk_protocol::{Payload, ReplayMessage, Seq, UserValue};
use replaydesk_store::ReanchorReason;
use replaydesk_store::{ClassEventIntake, ClassState, MemberRole, ReanchorIntake};
use std::sync::atomic::Ordering;
use std::time::Duration;
pub(crate) use tracker::Tracker;
use tracker::{Beat, Live, Plan};

/// How often the members' summaries are written (at most; a short silence end writes more
/// often) and silent classes looked for.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Heartbeats per second one credential may send, with [`HEARTBEAT_BURST_SECS`] of them at
/// once: a client heartbeats every few seconds, and the limit is the reports' own, apart.
pub const HEARTBEATS_PER_CREDENTIAL: f64 = 2.0;
/// A member not heard from for this long is forgotten by this node's tracker (its summary
/// stays in the store; a heartbeat after it starts a fresh track).
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
pub const HEARTBEAT_BURST_SECS: f64 = 30.0;
/// A member's summary this recent resumes its track on a node that does not know it
/// (older: the clock may have done anything since, and it is tracked afresh).
pub const RESUME_WITHIN_MS: i64 = 120_000;
/// A silence longer than this ends a member's span of continuous presence: the time the
/// console calls a member away (five heartbeats missed at one every 3 s).
pub const SPAN_GAP_MS: i64 = AWAY_AFTER_MS;

impl ReplayDesk {
    /// Takes one heartbeat of a member: tracked (in memory), answered with the server's
    /// clock. Checked as a timeline report is; 409 once the class has ended. Before the
    /// class starts it counts for presence only.
    pub async fn record_heartbeat(
        &self,
        class_id: &str,
        report: TimelineReport,
        meta: &ReportMeta,
    ) -> ServiceResult<HeartbeatAccepted> {
        let class = self.report_class(class_id).await?;
        if class.state == ClassState::Ended {
            return Err(ServiceError::Conflict(format!(
                "class {class_id:?} has ended: heartbeats are over"
            )));
        }
        self.check_member_uid(class_id, "uid", &report.uid)
            .await
            .map_err(ServiceError::Invalid)?;
        let timestamp = validate::timestamp(report.timestamp).map_err(ServiceError::Invalid)?;
        let rtt = report
            .rtt_ms
            .map(validate::rtt_ms)
            .transpose()
            .map_err(ServiceError::Invalid)?;
        let (rtt, _) = pick_rtt(rtt, meta.kernel_rtt_ms, self.config().behind_proxy);
        let (server_ms, _) = time_line_for(meta.received_at, rtt);
        let sample = Sample {
            client_ms: timestamp,
            server_ms,
            half_rtt_ms: rtt.map(|r| r / 2.0),
        };
        let role = Self::role_of(&class, &report.uid);
        if !self.inner.heartbeats.knows(class_id, &report.uid) {
            self.resume_member(class_id, &report.uid, role, meta.received_at)
                .await;
        }
        self.inner
            .heartbeats
            .counts
            .heartbeats
            .fetch_add(1, Ordering::Relaxed);
        let due = self.inner.heartbeats.observe(
            Beat {
                class_id,
                uid: &report.uid,
                role,
                sample,
                received_at: meta.received_at,
                started: class.state == ClassState::Started,
            },
            self.reanchor_bound(),
        );
        if due {
            let desk = self.clone();
            let (class_id, uid) = (class_id.to_owned(), report.uid);
            tokio::spawn(async move { desk.settle(&class_id, &uid).await });
        }
        Ok(HeartbeatAccepted {
            server_ms: self.server_ms(),
        })
    }

    /// A member this node does not track yet: when its summary in the store is recent (a
    /// restart, or a node taking over, loses seconds of it), its track resumes from it
    /// rather than learning the clock again from scratch.
    async fn resume_member(&self, class_id: &str, uid: &str, role: MemberRole, now: i64) {
        match self.store().member_presence(class_id, uid).await {
            Ok(Some(s)) if now - s.last_seen_at <= RESUME_WITHIN_MS => {
                self.inner.heartbeats.resume(&s, role);
                tracing::debug!(
                    class_id,
                    uid,
                    run = s.clock_run,
                    "heartbeat: the member's track resumed from its summary"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, class_id, uid, "heartbeat: cannot read the member's summary; tracking it afresh");
            }
        }
    }

    fn reanchor_bound(&self) -> f64 {
        self.config().heartbeat.reanchor_ms as f64
    }

    /// A member reported a timeline itself: the tracker reads its last 1003 again.
    pub(crate) fn heartbeat_saw_report(&self, class_id: &str, uid: &str) {
        self.inner.heartbeats.forget_anchor(class_id, uid);
    }

    /// Looks at the member's last 1003 in the store and, when the tracked clock no longer
    /// agrees with it, stores a fresh one with its reason (once, whichever node gets there
    /// first).
    async fn settle(&self, class_id: &str, uid: &str) {
        let tracker = &self.inner.heartbeats;
        let now = replaydesk_store::now_ms();
        let anchor = match self.store().latest_anchor(class_id, uid).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, class_id, uid, "heartbeat: cannot read the member's last 1003");
                tracker.settled(class_id, uid, None, now);
                return;
            }
        };
        let class = match self.report_class(class_id).await {
            Ok(c) if c.state == ClassState::Started => c,
            // Not started (its 1003s wait for the start), or gone.
            _ => return tracker.settled(class_id, uid, None, now),
        };
        let Some(plan) = tracker.plan(class_id, uid, anchor, now, self.reanchor_bound()) else {
            return tracker.settled(class_id, uid, Some(anchor), now);
        };
        // Stored here: the new 1003 is the member's last. Not stored (another node stored
        // one first, or the store failed): read it again next time.
        let stored = self.store_reanchor(&class, uid, &plan).await;
        tracker.settled(class_id, uid, stored.map(Some), now);
    }

    async fn store_reanchor(
        &self,
        class: &replaydesk_store::ClassRecord,
        uid: &str,
        plan: &Plan,
    ) -> Option<replaydesk_store::Anchor> {
        let message = ReplayMessage::new(
            Seq::random(),
            plan.timestamp,
            Payload::Timeline {
                time_line: plan.time_line,
                value: UserValue::new(uid.to_owned()),
            },
        );
        // Through the reports' group commit: a burst of re-anchors (a class of new clients
        // arriving together) shares the reports' transactions instead of queueing one
        // write transaction each in front of them.
        let intake = ReanchorIntake {
            class_id: class.class_id.clone(),
            group_id: class.group_id.clone(),
            role: plan.role,
            message,
            prev: plan.prev,
            reason: plan.reason,
            clock_run: i64::from(plan.run),
            offset_ms: plan.estimate.offset_ms.round() as i64,
            moved_ms: plan.moved_ms.map(|m| m.round() as i64),
            uncertainty_ms: plan.estimate.uncertainty_ms.ceil() as i64,
        };
        match self
            .inner
            .intake
            .submit(replaydesk_store::IntakeItem::Reanchor(intake))
            .await
        {
            Ok(ins) => {
                self.delivery().wake();
                let k = match plan.reason {
                    ReanchorReason::Jump => 0,
                    ReanchorReason::Drift => 1,
                    ReanchorReason::First => 2,
                };
                self.inner.heartbeats.counts.reanchors[k].fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    class_id = %class.class_id,
                    uid,
                    reason = plan.reason.as_str(),
                    message_id = ins.message.id,
                    timestamp = plan.timestamp,
                    time_line = plan.time_line,
                    moved_ms = plan.moved_ms.map(|m| m.round() as i64),
                    drift_ppm = plan.estimate.drift_ppm,
                    uncertainty_ms = plan.estimate.uncertainty_ms,
                    "heartbeat: a fresh 1003 for the member's tracked clock"
                );
                Some(replaydesk_store::Anchor {
                    message_id: ins.message.id,
                    client_ms: i64::try_from(plan.timestamp).ok()?,
                    server_ms: plan.time_line,
                })
            }
            Err(SubmitError::Store(replaydesk_store::StoreError::Conflict(_))) => {
                tracing::debug!(class_id = %class.class_id, uid, "heartbeat: re-anchor taken already (or the class is not started)");
                None
            }
            Err(SubmitError::Closed) => None,
            Err(SubmitError::Store(e)) => {
                tracing::warn!(error = %e, class_id = %class.class_id, uid, "heartbeat: cannot store a re-anchor");
                None
            }
        }
    }

    /// Writes the members' summaries and ends the classes that fell silent; once.
    pub(crate) async fn heartbeat_tick(&self) {
        let now = replaydesk_store::now_ms();
        let rows = self.inner.heartbeats.take_dirty(now);
        if let Err(e) = self.store().upsert_presence(&rows).await {
            tracing::warn!(error = %e, members = rows.len(), "heartbeat: cannot write the presence summary");
            self.inner.heartbeats.mark_dirty(&rows);
        }
        self.inner
            .heartbeats
            .prune(now - i64::try_from(FORGET_AFTER.as_millis()).unwrap_or(i64::MAX));
        let Some(silence) = self.config().heartbeat.silence_end else {
            return;
        };
        let cutoff = now - i64::try_from(silence.as_millis()).unwrap_or(i64::MAX);
        let silent = match self.store().silent_classes(cutoff).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat: cannot look for silent classes");
                return;
            }
        };
        for (class_id, last_seen) in silent {
            if let Err(e) = self.end_silent_class(&class_id, last_seen, cutoff).await {
                tracing::warn!(error = %e, class_id, "heartbeat: cannot end a silent class");
            }
        }
    }

    /// Ends a class nobody heartbeat in for `heartbeat.silence_end`: its 1002 from the
    /// teacher, stamped with the teacher's clock at `last_seen` (the last moment anyone was
    /// seen), by the teacher's tracked clock or else their last timeline pair.
    async fn end_silent_class(
        &self,
        class_id: &str,
        last_seen: i64,
        cutoff: i64,
    ) -> ServiceResult<()> {
        let store = self.store();
        let class = store.class(class_id).await?;
        let teacher = store
            .class_presence(class_id)
            .await?
            .into_iter()
            .find(|p| p.uid == class.teacher_uid);
        let pair = match teacher {
            Some(p) => Some((p.last_client_ms, p.last_server_ms)),
            None => store.latest_pair(class_id, &class.teacher_uid).await?,
        };
        let Some((client_ms, server_ms)) = pair else {
            tracing::warn!(class_id, "heartbeat: a silent class whose teacher's clock is unknown (no heartbeat, no timeline pair) cannot be ended with a 1002 stamped by it");
            return Ok(());
        };
        let timestamp = client_clock_at(client_ms, server_ms, last_seen);
        let timestamp = u64::try_from(timestamp).unwrap_or(0);
        let e = ClassEventIntake {
            class_id: class.class_id.clone(),
            group_id: class.group_id.clone(),
            role: MemberRole::Teacher,
            message: ReplayMessage::new(
                Seq::random(),
                timestamp,
                Payload::ClassEnd(UserValue::new(class.teacher_uid.clone())),
            ),
        };
        if let Some(ins) = store.end_silent_class(&e, cutoff).await? {
            self.delivery().wake();
            self.inner
                .heartbeats
                .counts
                .silence_ends
                .fetch_add(1, Ordering::Relaxed);
            self.inner.heartbeats.forget_class(class_id);
            tracing::info!(
                class_id,
                message_id = ins.message.id,
                teacher_uid = %class.teacher_uid,
                timestamp,
                last_seen,
                "heartbeat: the class fell silent; ended by ReplayDesk (ended_by: silence)"
            );
        }
        Ok(())
    }

    /// The class's members as this node tracks them now.
    pub(crate) fn live_members(&self, class_id: &str) -> Vec<Live> {
        self.inner.heartbeats.live(class_id)
    }

    /// How many members this node tracks.
    pub fn tracked_members(&self) -> usize {
        self.inner.heartbeats.len()
    }

    /// What this node's heartbeats did since start, for `/metrics`.
    pub fn heartbeat_counts(&self) -> HeartbeatCounts {
        let c = &self.inner.heartbeats.counts;
        let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        HeartbeatCounts {
            heartbeats: n(&c.heartbeats),
            reanchors: [
                ("jump", n(&c.reanchors[0])),
                ("drift", n(&c.reanchors[1])),
                ("first", n(&c.reanchors[2])),
            ],
            silence_ends: n(&c.silence_ends),
            members: self.tracked_members(),
        }
    }
}

/// What one node's heartbeats did since start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatCounts {
    pub heartbeats: u64,
    /// 1003s this node stored from tracked clocks, by reason.
    pub reanchors: [(&'static str, u64); 3],
    /// Classes this node ended for silence.
    pub silence_ends: u64,
    /// Members tracked in memory now.
    pub members: usize,
}

/// How often [`heartbeat_loop`] runs for a silence end of `silence`.
pub fn tick_every(silence: Option<Duration>) -> Duration {
    silence.map_or(FLUSH_EVERY, |s| {
        FLUSH_EVERY.min(s / 4).max(Duration::from_millis(50))
    })
}

/// Runs [`ReplayDesk::heartbeat_tick`] until `stop` turns true; a last write at the end.
pub(crate) async fn heartbeat_loop(desk: ReplayDesk, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = tick_every(desk.config().heartbeat.silence_end);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => desk.heartbeat_tick().await,
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    let rows = desk.inner.heartbeats.take_dirty(replaydesk_store::now_ms());
    if let Err(e) = desk.store().upsert_presence(&rows).await {
        tracing::warn!(error = %e, "heartbeat: cannot write the presence summary at shutdown");
    }
}
