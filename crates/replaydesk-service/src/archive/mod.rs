//! The ReplayGroup archive: every class's whole group history kept in the store
//! (`group_history`, the one copy reconcile also writes), read in passes after the class
//! ends, again later for late writers, and every `archive.every` during a class; its state,
//! holes and deadline; served back in the IM's own wire format (`serve.rs`).

mod pass;
mod serve;
mod watch;

pub use pass::{HOLE_MISSING, HOLE_PAGE_FAILED, HOLE_PLACEHOLDER};
pub use serve::{parse_request as parse_im_archive_request, ImArchiveAnswer, ImArchiveQuery};
pub(crate) use watch::watch;
pub use watch::{ARCHIVE_DEADLINE_ALERT, ARCHIVE_LARGE_GROUP_ALERT, LARGE_GROUP_MESSAGES};

use super::{ReplayDesk, ServiceError, ServiceResult};
use crate::api::models;
use parking_lot::Mutex;
use pass::{Pass, PassEnd};
use replaydesk_align::{read_history_item, EntryBody};
use replaydesk_store::{Actor, ArchiveOutcome, ArchiveRunRow, ArchiveState};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;
use ts_rs::TS;

/// A pass this long after the class's end is its last (for late writers), or sooner when
/// the IM keeps messages for less than twice that: a late message must be read before it
/// expires.
pub const LATE_PASS_AFTER: Duration = Duration::from_secs(3600);

/// When the late pass is due after a class's end, under the IM's `retention`.
pub(crate) fn late_pass_after(retention: Duration) -> Duration {
    LATE_PASS_AFTER.min(retention / 2)
}
/// Tries to record a pass's end, half a second apart.
const END_TRIES: u32 = 120;
/// A running pass says it is alive this often, even while a page waits on the IM's limits.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A running pass not updated for this long (several missed heartbeats) belongs to a
/// process that stopped: another pass may start, and the watcher marks it interrupted.
pub(crate) const STALE_RUN: Duration = Duration::from_secs(30);

/// One run of `MsgSeq`s the archive holds no message for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ArchiveHoleView {
    #[ts(type = "number")]
    pub from_seq: i64,
    #[ts(type = "number")]
    pub to_seq: i64,
    pub reason: String,
}

/// The archived messages by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ArchiveKinds {
    /// Protocol messages (1001–1004).
    #[ts(type = "number")]
    pub ours: i64,
    /// The classroom clients' whiteboard signalling (`Ext` = `TXWhiteBoardExt`).
    #[ts(type = "number")]
    pub whiteboard: i64,
    #[ts(type = "number")]
    pub other: i64,
}

/// One archiving pass (the job "archive now" answers), with its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ArchiveJob {
    #[ts(type = "number")]
    pub job_id: i64,
    pub class_id: String,
    /// `running`, `finished` or `failed`.
    pub state: String,
    /// What started it: `now` (an admin), `live`, `ended` or `late`.
    pub cause: String,
    #[ts(type = "number")]
    pub pages: i64,
    #[ts(type = "number")]
    pub fetched: i64,
    pub error: Option<String>,
    pub actor: String,
    #[ts(type = "number")]
    pub started_at: i64,
    #[ts(type = "number")]
    pub updated_at: i64,
    #[ts(type = "number | null")]
    pub finished_at: Option<i64>,
}

impl From<ArchiveRunRow> for ArchiveJob {
    fn from(r: ArchiveRunRow) -> Self {
        let ArchiveRunRow {
            id,
            class_id,
            state,
            cause,
            pages,
            fetched,
            error,
            actor,
            started_at,
            updated_at,
            finished_at,
        } = r;
        Self {
            job_id: id,
            class_id,
            state: state.as_str().to_owned(),
            cause,
            pages,
            fetched,
            error,
            actor,
            started_at,
            updated_at,
            finished_at,
        }
    }
}

/// A class's archive (`GET /v1/admin/classes/{class_id}/archive`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassArchive {
    pub state: models::ArchiveState,
    /// Messages held (holes left out).
    #[ts(type = "number")]
    pub archived: i64,
    pub holes: Vec<ArchiveHoleView>,
    /// Every `MsgSeq` up to this one has been read (as a message or a hole).
    #[ts(type = "number")]
    pub last_seq: i64,
    /// When the oldest message not yet archived expires in the IM (unix ms); null when
    /// nothing is outstanding.
    #[ts(type = "number | null")]
    pub deadline_ms: Option<i64>,
    pub kinds: ArchiveKinds,
    /// Why the last pass failed.
    pub error: Option<String>,
    #[ts(type = "number | null")]
    pub last_run_at: Option<i64>,
    /// The latest pass.
    pub job: Option<ArchiveJob>,
    /// A read-only copy (the class came from a bundle).
    pub imported: bool,
}

/// What `POST /v1/admin/classes/{class_id}/archive` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ArchiveStarted {
    #[ts(type = "number")]
    pub job_id: i64,
}

/// Classes being archived by this process (keyed by database too, for tests that run
/// several desks): a second request while one runs answers the running pass.
static RUNNING: Mutex<Option<HashSet<(PathBuf, String)>>> = Mutex::new(None);

fn claim(key: &(PathBuf, String)) -> bool {
    RUNNING
        .lock()
        .get_or_insert_with(HashSet::new)
        .insert(key.clone())
}

fn release(key: &(PathBuf, String)) {
    if let Some(set) = RUNNING.lock().as_mut() {
        set.remove(key);
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Counts the held messages by kind.
fn kinds(rows: &[(i64, String)]) -> ArchiveKinds {
    let mut k = ArchiveKinds::default();
    for (_, item) in rows {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(item) else {
            k.other += 1;
            continue;
        };
        match read_history_item(&v).map(|e| e.body) {
            Ok(EntryBody::Protocol { .. }) => k.ours += 1,
            Ok(EntryBody::Whiteboard { .. }) => k.whiteboard += 1,
            Ok(EntryBody::Hole) => {}
            _ => k.other += 1,
        }
    }
    k
}

/// What `/metrics` shows of the archive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveMetrics {
    /// Messages held over every class (holes left out).
    pub messages: i64,
    /// Classes per archive state, every state listed.
    pub by_state: Vec<(&'static str, i64)>,
    /// The nearest deadline of a class with messages outstanding (unix ms).
    pub nearest_deadline_ms: Option<i64>,
}

impl ReplayDesk {
    /// The archive's figures for `/metrics`.
    pub async fn archive_metrics(&self) -> ServiceResult<ArchiveMetrics> {
        let t = self.store().archive_totals().await?;
        let by_state = ArchiveState::ALL
            .iter()
            .map(|s| {
                let n = t
                    .by_state
                    .iter()
                    .find(|(k, _)| k == s)
                    .map_or(0, |(_, n)| *n);
                (s.as_str(), n)
            })
            .collect();
        Ok(ArchiveMetrics {
            messages: t.messages,
            by_state,
            nearest_deadline_ms: t
                .earliest_unarchived
                .map(|s| s.saturating_add(self.retention_ms())),
        })
    }

    /// A class's archive state and deadline from its state row (if any).
    pub(crate) fn archive_of(
        &self,
        class: &replaydesk_store::ClassRecord,
        row: Option<(ArchiveState, Option<i64>)>,
    ) -> (models::ArchiveState, Option<i64>) {
        let (state, since) = match row {
            Some((s, since)) => (s, since),
            None if class.imported_at.is_some() => (ArchiveState::Pending, None),
            None => (ArchiveState::Pending, Some(class.created_at)),
        };
        (
            state.into(),
            since.map(|s| s.saturating_add(self.retention_ms())),
        )
    }

    fn retention_ms(&self) -> i64 {
        ms(self.config().im.retention)
    }

    /// The class's archive: state, holes, last seq read, deadline, messages by kind.
    pub async fn class_archive(&self, class_id: &str) -> ServiceResult<ClassArchive> {
        let class = self.class(class_id).await?;
        let store = self.store();
        let row = store.archive_state(class_id).await?;
        let holes = store.archive_holes(class_id).await?;
        let history = store.group_history(class_id).await?;
        let job = store.latest_archive_run(class_id).await?.map(Into::into);
        let since = match &row {
            Some(r) => r.unarchived_since,
            None if class.imported_at.is_some() => None,
            None => Some(class.created_at),
        };
        let kinds = kinds(&history);
        Ok(ClassArchive {
            state: row
                .as_ref()
                .map_or(ArchiveState::Pending, |r| r.state)
                .into(),
            archived: kinds.ours + kinds.whiteboard + kinds.other,
            holes: holes
                .into_iter()
                .map(|h| ArchiveHoleView {
                    from_seq: h.from_seq,
                    to_seq: h.to_seq,
                    reason: h.reason,
                })
                .collect(),
            last_seq: row.as_ref().map_or(0, |r| r.last_seq),
            deadline_ms: since.map(|s| s.saturating_add(self.retention_ms())),
            kinds,
            error: row.as_ref().and_then(|r| r.error.clone()),
            last_run_at: row.as_ref().and_then(|r| r.last_run_at),
            job,
            imported: class.imported_at.is_some(),
        })
    }

    /// One archiving pass (job) by id.
    pub async fn archive_job(&self, class_id: &str, job_id: i64) -> ServiceResult<ArchiveJob> {
        self.class(class_id).await?;
        match self.store().archive_run(job_id).await? {
            Some(r) if r.class_id == class_id => Ok(r.into()),
            _ => Err(ServiceError::NotFound(format!(
                "archive job {job_id} of class {class_id:?} not found"
            ))),
        }
    }

    /// "Archive now": starts a pass in the background (or answers the one running).
    pub async fn archive_now(
        &self,
        class_id: &str,
        actor: &Actor,
    ) -> ServiceResult<ArchiveStarted> {
        let class = self.class(class_id).await?;
        crate::import::refuse_if_imported(&class, "archiving from the IM group")?;
        let job_id = self
            .start_archive_pass(
                &class.class_id,
                &class.group_id,
                class.ended_at,
                "now",
                actor,
            )
            .await?;
        self.store()
            .audit(
                actor,
                "archive",
                class_id,
                &serde_json::json!({"job": job_id}),
            )
            .await?;
        Ok(ArchiveStarted { job_id })
    }

    /// Starts a pass unless one runs (here or, recently updated, on another node), and
    /// answers its job id.
    pub(crate) async fn start_archive_pass(
        &self,
        class_id: &str,
        group_id: &str,
        ended_at: Option<i64>,
        cause: &str,
        actor: &Actor,
    ) -> ServiceResult<i64> {
        let store = self.store().clone();
        let alive_since = replaydesk_clock::unix_ms_now() - ms(STALE_RUN);
        let key = (self.config().db.clone(), class_id.to_owned());
        if !claim(&key) {
            if let Some(r) = store.running_archive_run(class_id, alive_since).await? {
                return Ok(r.id);
            }
            if let Some(r) = store.latest_archive_run(class_id).await? {
                return Ok(r.id);
            }
            // Claimed here a moment ago, its run not yet written.
            return Err(ServiceError::Conflict(format!(
                "an archive pass of class {class_id:?} is starting: ask again in a moment"
            )));
        }
        let started = async {
            // A pass whose process died (SIGKILL) says so before another one starts.
            store.interrupt_stale_archive_runs(alive_since).await?;
            if let Some(r) = store.running_archive_run(class_id, alive_since).await? {
                return Ok::<_, ServiceError>((r, None));
            }
            let row = store.archive_state(class_id).await?;
            let created = self.class(class_id).await?.created_at;
            let run = store
                .start_archive_run(class_id, cause, actor, created)
                .await?;
            Ok((run, Some(row)))
        }
        .await;
        let (run, prior) = match started {
            Ok((run, Some(prior))) => (run, prior),
            Ok((run, None)) => {
                release(&key);
                return Ok(run.id);
            }
            Err(e) => {
                release(&key);
                return Err(e);
            }
        };
        let job_id = run.id;
        let desk = self.clone();
        let (class_id, group_id) = (class_id.to_owned(), group_id.to_owned());
        let passes = self.inner.archive_passes.clone();
        let mut passes = passes.lock();
        // Finished passes are dropped from the set as new ones start.
        while passes.try_join_next().is_some() {}
        passes.spawn(async move {
            let last_seq = prior.as_ref().map_or(0, |r| r.last_seq.max(0) as u64);
            let started_at = run.started_at;
            let pass = Pass {
                store: desk.store(),
                delivery: desk.delivery(),
                run_id: job_id,
                class_id: &class_id,
                group_id: &group_id,
                stopping: &|| desk.is_stopping(),
                intake_busy: &|| desk.inner.intake.busy(),
            };
            // The heartbeat runs beside the pass, both polled together, never one while the
            // other waits: a heartbeat awaited in a `select!` arm would suspend the pass,
            // and a pass suspended in the middle of storing a page holds SQLite's one writer
            // connection, which the heartbeat then waits for: every write (intake too) stood
            // still until the pool's acquire timeout.
            let beats = async {
                let mut beat = tokio::time::interval(HEARTBEAT);
                beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    beat.tick().await;
                    // A missed beat only lets another node take the class over sooner,
                    // which is safe: pages are idempotent and last_seq never moves back.
                    if let Err(e) = desk.store().touch_archive_run(job_id).await {
                        tracing::debug!(error = %e, job_id, "archive pass heartbeat");
                    }
                }
            };
            let end = tokio::select! {
                biased;
                end = pass.run(last_seq) => end,
                never = beats => never,
            };
            let outcome = desk
                .pass_outcome(&class_id, prior.as_ref(), ended_at, started_at, &end)
                .await;
            // A disk that refuses writes for a while: keep trying (each failed commit is
            // rolled back), so that the pass does not stay "running" for the next one.
            for attempt in 0..END_TRIES {
                match desk.store().end_archive_run(job_id, &class_id, &outcome).await {
                    Ok(()) => break,
                    Err(e) if attempt + 1 == END_TRIES || desk.is_stopping() => {
                        tracing::warn!(error = %e, job_id, "could not record the end of an archive pass");
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
            if let PassEnd::Done { top } = end {
                watch::check_large_group(desk.store(), &class_id, top).await;
            }
            release(&(desk.config().db.clone(), class_id.clone()));
        });
        Ok(job_id)
    }

    async fn pass_outcome(
        &self,
        class_id: &str,
        prior: Option<&replaydesk_store::ArchiveRow>,
        ended_at: Option<i64>,
        started_at: i64,
        end: &PassEnd,
    ) -> ArchiveOutcome {
        let prior_since = prior.and_then(|r| r.unarchived_since);
        match end {
            PassEnd::Interrupted => ArchiveOutcome {
                state: prior.map_or(ArchiveState::Pending, |r| r.state),
                error: Some(
                    "interrupted: ReplayDesk stopped; the next pass goes on from last_seq".into(),
                ),
                unarchived_since: prior_since.or(Some(started_at)),
                final_pass: false,
            },
            PassEnd::Failed(reason) => ArchiveOutcome {
                state: ArchiveState::Failed,
                error: Some(reason.clone()),
                unarchived_since: prior_since.or(Some(started_at)),
                final_pass: false,
            },
            PassEnd::Done { .. } => {
                let holes = self
                    .store()
                    .archive_holes(class_id)
                    .await
                    .map(|h| !h.is_empty())
                    .unwrap_or(false);
                let final_pass = ended_at.is_some_and(|e| {
                    started_at >= e.saturating_add(ms(late_pass_after(self.config().im.retention)))
                });
                ArchiveOutcome {
                    state: if holes {
                        ArchiveState::Partial
                    } else {
                        ArchiveState::Complete
                    },
                    error: None,
                    // Whatever came after this pass began is outstanding until the next;
                    // after the late pass nothing more is expected.
                    unarchived_since: (!final_pass).then_some(started_at),
                    final_pass,
                }
            }
        }
    }
}
