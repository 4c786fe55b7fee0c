//! Host mode: the teacher's own machine as a classroom client of its embedded backend.
//! Start sends the class's 1001 and the teacher's 1003 stamped with this machine's native
//! clock; End sends the 1002; and while a class is hosted the clock is watched, so that a
//! sleep, a reboot or a clock jump re-reports the teacher's 1003 at once (docs/protocol.md
//! section 5). The desktop app's host commands are thin adapters over [`Host`].

mod join;
pub mod settings;
mod types;

pub use join::{is_loopback_url, network_addresses, server_url_for};
pub use replaydesk_service::join::{join_qr_svg, join_text};
pub use types::*;

use parking_lot::Mutex;
use replaydesk_clock::{ClockReading, ClockWatch, Discontinuity, LocalClock, DEFAULT_TOLERANCE_MS};
use replaydesk_service::{
    ClassEventReport, CreateClass, CreatedClass, ReplayDesk, ReportMeta, ServiceError,
    ServiceResult, StatusCounts, TimelineReport,
};
use replaydesk_store::{ClassEvent, ClassState, MessageFilter, MessageStatus};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How often the app's clock watch looks at the clock. A sleep is seen at the first check
/// after wake-up.
pub const CLOCK_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
/// Clock events kept for the host view.
const EVENTS_KEPT: usize = 20;

struct State {
    watch: ClockWatch<Arc<dyn LocalClock>>,
    /// The class being hosted (started here and not yet ended).
    hosting: Option<String>,
    events: Vec<ClockEvent>,
}

/// The host: the backend, this machine's clock and where report tokens are kept.
#[derive(Clone)]
pub struct Host {
    desk: ReplayDesk,
    server_url: String,
    state: Arc<Mutex<State>>,
    /// Names the hosted class while there is one, so a relaunch carries on hosting it.
    hosting_file: Option<PathBuf>,
    /// The address the backend listens on, for the addresses students could use.
    listening_on: Option<SocketAddr>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(msg.into())
}

impl Host {
    /// `server_url` is what students' clients are told to report to.
    pub fn new(desk: ReplayDesk, clock: Arc<dyn LocalClock>, server_url: String) -> Self {
        Self {
            desk,
            server_url,
            state: Arc::new(Mutex::new(State {
                watch: ClockWatch::new(clock, DEFAULT_TOLERANCE_MS),
                hosting: None,
                events: Vec::new(),
            })),
            hosting_file: None,
            listening_on: None,
        }
    }

    /// The address the backend is bound to: the join info then offers this machine's
    /// addresses on the network ([`network_addresses`]).
    pub fn listening_on(mut self, addr: SocketAddr) -> Self {
        self.listening_on = Some(addr);
        self
    }

    fn addresses(&self) -> Vec<JoinAddress> {
        self.listening_on.map(network_addresses).unwrap_or_default()
    }

    /// Keeps the hosted class's id in `file` (in the app's data dir) from Start to End, so
    /// that the app started again — after a quit, a crash or a restart of the computer —
    /// carries on hosting it: see [`Host::resume`].
    pub fn remembering_in(mut self, file: PathBuf) -> Self {
        self.hosting_file = Some(file);
        self
    }

    fn remembered(&self) -> Option<String> {
        let file = self.hosting_file.as_ref()?;
        let text = std::fs::read_to_string(file).ok()?;
        Some(text.trim().to_owned()).filter(|id| !id.is_empty())
    }

    /// Best effort: a file that cannot be written costs only the resume after a relaunch.
    fn remember(&self, class_id: &str) {
        if let Some(file) = &self.hosting_file {
            if let Err(e) = std::fs::write(file, class_id) {
                tracing::warn!(file = %file.display(), error = %e, "cannot note the hosted class");
            }
        }
    }

    fn forget(&self, class_id: &str) {
        if let Some(file) = &self.hosting_file {
            if self.remembered().as_deref() == Some(class_id) {
                if let Err(e) = std::fs::remove_file(file) {
                    tracing::warn!(file = %file.display(), error = %e, "cannot clear the hosted class");
                }
            }
        }
    }

    /// At launch: when the class noted by [`Host::remembering_in`] is still started (no
    /// 1002 yet), hosts it again and re-reports the teacher's 1003 at once. The clock
    /// counters may have started over (a restart of the computer) and the old pairs say
    /// nothing about the new base, so a new pair is due whatever happened meanwhile. A
    /// class ended or gone meanwhile is forgotten.
    pub async fn resume(&self) -> Option<ClockEvent> {
        let class_id = self.remembered()?;
        let class = match self.desk.class(&class_id).await {
            Ok(c) if c.state == ClassState::Started => c,
            _ => {
                self.forget(&class_id);
                return None;
            }
        };
        let reading = {
            let mut st = self.lock();
            st.hosting = Some(class_id.clone());
            st.watch.rebase()
        };
        let mut event = ClockEvent {
            at_ms: reading.wall_ms,
            what: "ReplayDesk started again while the class was running".to_owned(),
            class_id: Some(class_id.clone()),
            timeline_message_id: None,
            error: None,
        };
        match self
            .report_teacher_1003(&class_id, &class.teacher_uid, &reading)
            .await
        {
            Ok(id) => event.timeline_message_id = Some(id),
            Err(e) => event.error = Some(e.to_string()),
        }
        tracing::info!(
            class_id,
            re_reported = event.timeline_message_id.is_some(),
            "hosting again after a relaunch"
        );
        let mut st = self.lock();
        st.events.insert(0, event.clone());
        st.events.truncate(EVENTS_KEPT);
        Some(event)
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, State> {
        self.state.lock()
    }

    pub fn desk(&self) -> &ReplayDesk {
        &self.desk
    }

    /// Creates a class taught from this machine (audited as the desktop app's doing).
    pub async fn create_class(&self, req: CreateClass) -> ServiceResult<CreatedClass> {
        self.desk
            .create_class(req, &replaydesk_service::Actor::desktop())
            .await
    }

    /// What a client needs to report to `class_id`; with `uid`, that member's own report
    /// credential too (`ReplayDesk::member_credential`: derived, so asking again gives the
    /// same one; the uid becomes a member of the class).
    pub async fn join(&self, class_id: &str, uid: Option<&str>) -> ServiceResult<JoinInfo> {
        self.desk.class(class_id).await?;
        let credential = match uid.map(str::trim).filter(|u| !u.is_empty()) {
            Some(uid) => Some(self.desk.member_credential(class_id, uid).await?),
            None => None,
        };
        Ok(JoinInfo::new(
            &self.server_url,
            class_id,
            credential.map(|c| (c.uid, c.credential)),
            self.addresses(),
        ))
    }

    /// Sends the class's 1001 and the teacher's 1003, both stamped with one reading of the
    /// native clock (the 1003's `time_line` is this machine's wall clock of that reading:
    /// the server is here, so there is no round trip).
    pub async fn start(&self, class_id: &str) -> ServiceResult<HostStarted> {
        let class = self.desk.class(class_id).await?;
        let reading = self.lock().watch.rebase();
        let start = self
            .desk
            .record_class_event(
                class_id,
                ClassEvent::Start,
                ClassEventReport {
                    uid: class.teacher_uid.clone(),
                    timestamp: stamp(&reading)?,
                },
            )
            .await?;
        let timeline = self
            .report_teacher_1003(class_id, &class.teacher_uid, &reading)
            .await?;
        self.lock().hosting = Some(class_id.to_owned());
        self.remember(class_id);
        tracing::info!(
            class_id,
            monotonic_ms = reading.monotonic_ms,
            "class started from this machine"
        );
        Ok(HostStarted {
            start_message_id: start.message_id,
            timeline_message_id: timeline,
            timestamp: reading.monotonic_ms,
        })
    }

    /// Sends the class's 1002 stamped with the native clock and stops watching for it.
    pub async fn end(&self, class_id: &str) -> ServiceResult<i64> {
        let class = self.desk.class(class_id).await?;
        let reading = self.lock().watch.rebase();
        let end = self
            .desk
            .record_class_event(
                class_id,
                ClassEvent::End,
                ClassEventReport {
                    uid: class.teacher_uid,
                    timestamp: stamp(&reading)?,
                },
            )
            .await?;
        {
            let mut st = self.lock();
            if st.hosting.as_deref() == Some(class_id) {
                st.hosting = None;
            }
        }
        self.forget(class_id);
        Ok(end.message_id)
    }

    async fn report_teacher_1003(
        &self,
        class_id: &str,
        teacher_uid: &str,
        reading: &ClockReading,
    ) -> ServiceResult<i64> {
        let report = TimelineReport {
            uid: teacher_uid.to_owned(),
            timestamp: stamp(reading)?,
            rtt_ms: None,
        };
        let meta = ReportMeta {
            received_at: reading.wall_ms,
            body: serde_json::to_string(&report).unwrap_or_default(),
            // The teacher's clock is read on this machine: no network between.
            kernel_rtt_ms: None,
        };
        Ok(self
            .desk
            .record_timeline(class_id, report, meta)
            .await?
            .message_id)
    }

    /// One look at the clock. When it slept, rebooted or jumped since the last look and a
    /// class is hosted, the teacher's 1003 is re-reported at once with the new reading.
    /// Returns what happened, if anything (also kept for the host view).
    pub async fn check_clock(&self) -> Option<ClockEvent> {
        let (reading, what, hosting) = {
            let mut st = self.lock();
            let (reading, what) = st.watch.check();
            (reading, what, st.hosting.clone())
        };
        if let Some(class_id) = &hosting {
            self.heartbeat(class_id, &reading).await;
        }
        if what == Discontinuity::None {
            return None;
        }
        let mut event = ClockEvent {
            at_ms: reading.wall_ms,
            what: describe(what),
            class_id: hosting.clone(),
            timeline_message_id: None,
            error: None,
        };
        if let Some(class_id) = &hosting {
            let sent = match self.desk.class(class_id).await {
                Ok(class) => {
                    self.report_teacher_1003(class_id, &class.teacher_uid, &reading)
                        .await
                }
                Err(e) => Err(e),
            };
            match sent {
                Ok(id) => event.timeline_message_id = Some(id),
                Err(e) => event.error = Some(e.to_string()),
            }
        }
        tracing::info!(what = %event.what, re_reported = event.timeline_message_id.is_some(), "clock discontinuity");
        let mut st = self.lock();
        st.events.insert(0, event.clone());
        st.events.truncate(EVENTS_KEPT);
        Some(event)
    }

    /// The teacher's heartbeat: the native clock's reading, taken on this machine (no
    /// network between, so no round trip), so that ReplayDesk tracks the teacher's clock
    /// and, should the app vanish, ends the class for silence.
    async fn heartbeat(&self, class_id: &str, reading: &ClockReading) {
        let sent = match (self.desk.class(class_id).await, stamp(reading)) {
            (Ok(class), Ok(timestamp)) => self
                .desk
                .record_heartbeat(
                    class_id,
                    TimelineReport {
                        uid: class.teacher_uid,
                        timestamp,
                        rtt_ms: Some(0.0),
                    },
                    &ReportMeta {
                        received_at: reading.wall_ms,
                        body: String::new(),
                        kernel_rtt_ms: None,
                    },
                )
                .await
                .map(|_| ()),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, class_id, "the teacher's heartbeat was not taken");
        }
    }

    /// What the host view shows for `class_id`: counts, the last delivery error in words,
    /// clock events, and what students' clients need to join.
    pub async fn status(&self, class_id: &str) -> ServiceResult<HostStatus> {
        let summary = self.desk.class_summary(class_id).await?;
        let last_error = self.last_error(class_id).await?;
        let (hosting, clock_events) = {
            let st = self.lock();
            (
                st.hosting.as_deref() == Some(class_id),
                st.events
                    .iter()
                    .filter(|e| e.class_id.as_deref() == Some(class_id))
                    .cloned()
                    .collect(),
            )
        };
        let join = JoinInfo::new(&self.server_url, class_id, None, self.addresses());
        let members = self.desk.class_presence(class_id).await?.members;
        Ok(HostStatus {
            members,
            counts: summary.counts.clone(),
            class: summary.class,
            hosting,
            last_error,
            clock_events,
            join,
        })
    }

    /// The newest delivery problem of the class, in words: paused sending, or the last
    /// error of its newest retrying / failed message.
    async fn last_error(&self, class_id: &str) -> ServiceResult<Option<String>> {
        if self.desk.delivery().is_paused() {
            if let Some(alert) = self.desk.alerts().await?.into_iter().next() {
                return Ok(Some(alert.detail));
            }
        }
        let filter = MessageFilter {
            class_id: Some(class_id.to_owned()),
            statuses: vec![MessageStatus::Retrying, MessageStatus::Failed],
            ..MessageFilter::default()
        };
        let page = self.desk.list_messages(&filter, None, 1).await?;
        Ok(page.items.into_iter().next().map(|m| {
            let what = match m.status {
                MessageStatus::Failed => "failed",
                _ => "will be retried",
            };
            format!(
                "{} message {} (seq {}) {what}: {}",
                m.msg_type.code(),
                m.id,
                m.seq,
                m.last_error.unwrap_or_else(|| "no answer recorded".into())
            )
        }))
    }
}

/// The clock reading as a report timestamp.
fn stamp(reading: &ClockReading) -> ServiceResult<i64> {
    i64::try_from(reading.monotonic_ms)
        .map_err(|_| invalid("the monotonic clock reads beyond 2^63 ms"))
}

/// A discontinuity in words for the host view.
pub fn describe(what: Discontinuity) -> String {
    match what {
        Discontinuity::None => "no change".to_owned(),
        Discontinuity::Reset => {
            "the computer restarted (its clock counters started over)".to_owned()
        }
        Discontinuity::Slept { slept_ms } => {
            format!("the computer slept for about {}", human_ms(slept_ms as i64))
        }
        Discontinuity::WallClockJump { jump_ms } => format!(
            "the wall clock was set {} by {}",
            if jump_ms < 0 { "back" } else { "forward" },
            human_ms(jump_ms.abs())
        ),
    }
}

fn human_ms(ms: i64) -> String {
    if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 120_000 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} min", ms / 60_000)
    }
}

/// Per-status counts as the host view shows them.
pub fn counts_line(c: &StatusCounts) -> String {
    format!(
        "{} sent · {} pending · {} retrying · {} failed",
        c.sent,
        c.pending + c.sending,
        c.retrying,
        c.failed
    )
}

#[cfg(test)]
mod tests;
