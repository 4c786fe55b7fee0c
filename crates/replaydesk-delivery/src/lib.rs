//! The outbox worker: takes due messages from the store, sends them to their ReplayGroup,
//! records every attempt, and moves each message to `sent`, back to `retrying`, or to
//! `failed`. Nothing acknowledged is lost (the store holds it until it is sent) and nothing
//! is shown twice in a group (same `seq`; same `Random` on automatic retries, so the
//! service's duplicate filter absorbs a retry whose first try landed; and a history
//! look-up before resending an attempt whose outcome is unknown and older than that filter).

mod limiter;
mod recorder;
mod schedule;
mod stats;
mod worker;

pub use limiter::{Limiters, TokenBucket};
pub use schedule::{after, jittered, parse_duration, RetrySchedule, MAX_DELAY};
pub use stats::{DeliveryStats, StatsSnapshot};

use replaydesk_im::client::ImClient;
use replaydesk_protocol::secret::Secret;
use replaydesk_store::Actor;
use replaydesk_store::{Job, JobKind, MessageFilter, MessageStatus, Store, StoreError};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;

/// The alert kind raised when the IM service refuses the credentials.
pub const CREDENTIALS_ALERT: &str = "im_credentials";
/// The alert kind raised, per class, when IM answers that the class's group does not exist
/// (10010) or was dismissed (10015): the console offers to create the group.
pub const GROUP_MISSING_ALERT: &str = "group_missing";

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub schedule: RetrySchedule,
    /// Wait after a frequency-limit answer (jittered); does not use up the schedule.
    pub slow_down_delay: Duration,
    /// Requests per second for the whole app (0 = no limit). The service allows 200.
    pub app_rate: f64,
    /// Messages per second per group (0 = no limit). The service allows about 40.
    pub group_rate: f64,
    /// Attempts in flight at once. 64 by default: slots do not raise the request rate (the
    /// token buckets above pace every attempt, whatever the number in flight), they let the
    /// worker keep requests going while earlier outcomes are being committed; the drain
    /// bench reached the 5,000 msg/s goal with 64 and fell short with 32 (docs/benchmarks.md).
    pub concurrency: usize,
    /// The service's duplicate filter window for `Random` (about 5 minutes).
    pub duplicate_window: Duration,
    /// Safety margin: an unknown outcome older than `duplicate_window - margin` is looked up
    /// in the group's history before the message is sent again.
    pub duplicate_margin: Duration,
    /// While credentials are refused, one message is tried this often to see if they work.
    pub credentials_probe_interval: Duration,
    /// Longest idle sleep between looks at the store.
    pub poll_interval: Duration,
    /// Names this node in the leases it takes; each running worker adds a unique suffix,
    /// so two processes with the same `node_id` on one database never share a lease.
    pub node_id: String,
    /// How long a claim is held without being renewed. A running worker renews the leases
    /// of the attempts it is working on every third of this; a lease that runs out (the
    /// worker was killed, or stalled) is taken back by whichever worker looks next, at
    /// start-up or while running. So this is also the longest a message in flight in a
    /// killed worker waits before it is retried.
    pub lease: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            slow_down_delay: Duration::from_secs(2),
            app_rate: 200.0,
            group_rate: 40.0,
            concurrency: 64,
            duplicate_window: Duration::from_secs(300),
            duplicate_margin: Duration::from_secs(30),
            credentials_probe_interval: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            node_id: "node-1".into(),
            lease: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    /// This worker's name in the leases it takes: `node_id`, process id and a random part.
    pub(crate) owner: String,
    /// Messages this worker has claimed and not yet finished: the leases it renews.
    pub(crate) in_flight: parking_lot::Mutex<std::collections::HashSet<i64>>,
    /// Groups this worker raised a `group_missing` alert for: a message sent to one of
    /// them (the group was made some other way) clears the alert.
    pub(crate) missing_groups: parking_lot::Mutex<std::collections::HashSet<String>>,
    /// Jobs this worker is driving. Another worker's unfinished job (it stopped, or was
    /// killed, mid-job) is adopted when it is not among them.
    pub(crate) driving: parking_lot::Mutex<std::collections::HashSet<i64>>,
    pub(crate) im: Arc<ImClient>,
    pub(crate) config: DeliveryConfig,
    pub(crate) limiters: Limiters,
    pub(crate) wake: Notify,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) paused: AtomicBool,
    /// Unix ms of the next credentials probe while paused.
    pub(crate) next_probe_at: AtomicI64,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) stats: DeliveryStats,
    /// Group commit of attempt outcomes.
    pub(crate) recorder: recorder::Recorder,
}

/// The delivery service: a handle to the running worker and the operations the console
/// offers on messages. Cheap to clone.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("paused", &self.is_paused())
            .finish()
    }
}

/// The running worker's tasks, to wait for on shutdown.
pub struct WorkerHandle {
    dispatcher: JoinHandle<()>,
    leases: JoinHandle<()>,
}

/// The messages "recover failed since `since_ms`" takes: failed ones updated since then.
pub fn recover_filter(since_ms: i64, class_id: Option<String>) -> MessageFilter {
    MessageFilter {
        class_id,
        statuses: vec![MessageStatus::Failed],
        updated_from: Some(since_ms),
        ..MessageFilter::default()
    }
}

impl Delivery {
    pub fn new(store: Store, im: Arc<ImClient>, config: DeliveryConfig) -> Self {
        let (shutdown, _) = watch::channel(false);
        let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Self {
            inner: Arc::new(Inner {
                owner: format!(
                    "{}:{}:{:08x}",
                    config.node_id,
                    std::process::id(),
                    rand::random::<u32>()
                ),
                in_flight: Default::default(),
                missing_groups: Default::default(),
                driving: Default::default(),
                limiters: Limiters::for_store(config.app_rate, config.group_rate, &store),
                store,
                im,
                config,
                wake: Notify::new(),
                permits,
                paused: AtomicBool::new(false),
                next_probe_at: AtomicI64::new(0),
                shutdown,
                stats: DeliveryStats::default(),
                recorder: Default::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn im(&self) -> &Arc<ImClient> {
        &self.inner.im
    }

    /// Waits for an app-wide request slot in the limiter sending uses (and, on
    /// PostgreSQL, the budget every node shares), so that other IM calls (the archive's
    /// history reads) and sending together stay under the app's limit.
    pub async fn acquire_call(&self) {
        self.inner.limiters.acquire_call().await;
    }

    /// Waits (up to `at_most`) until sending leaves an app-wide slot free, then takes one
    /// as [`Delivery::acquire_call`] does: background reads use the capacity sending does
    /// not, and still move at least once per `at_most` behind a long backlog.
    pub async fn acquire_idle_call(&self, at_most: Duration) {
        let give_up = tokio::time::Instant::now() + at_most;
        while !self.inner.limiters.app_idle() && tokio::time::Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.inner.limiters.acquire_call().await;
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// This worker's name in the leases it takes.
    pub fn lease_owner(&self) -> &str {
        &self.inner.owner
    }

    /// Takes back messages whose lease expired (a worker stopped while they were in
    /// flight), resumes unfinished jobs, and starts the worker. Messages another live
    /// worker holds on the same database are left to it.
    pub async fn start(&self) -> Result<WorkerHandle, DeliveryError> {
        let recovered = self.inner.store.reclaim_expired_leases().await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "messages were in flight when a worker stopped; retrying them"
            );
        }
        // A credentials alert left open by the last run: start paused, probing at once.
        let open = self.inner.store.open_alerts().await?;
        if open.iter().any(|a| a.kind == CREDENTIALS_ALERT) {
            self.inner.paused.store(true, Ordering::SeqCst);
            self.inner.next_probe_at.store(0, Ordering::SeqCst);
        }
        for job in self.inner.store.unfinished_jobs().await? {
            tracing::info!(job, "resuming job");
            self.spawn_job(job);
        }
        let dispatcher = tokio::spawn(worker::dispatch(self.inner.clone()));
        let leases = tokio::spawn(worker::keep_leases(self.inner.clone()));
        Ok(WorkerHandle { dispatcher, leases })
    }

    /// Tells the worker that a message was accepted and may be due now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Stops taking new work and waits (up to `grace`) for attempts in flight to be recorded.
    /// Messages not yet attempted stay in the store for the next run.
    pub async fn shutdown(&self, handle: WorkerHandle, grace: Duration) {
        self.inner.shutdown.send_replace(true);
        self.inner.wake.notify_one();
        let _ = tokio::time::timeout(grace, handle.dispatcher).await;
        let all = u32::try_from(self.inner.config.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(grace, self.inner.permits.acquire_many(all)).await;
        // An attempt gives its slot back once its call to IM is over, before its outcome is
        // committed: wait for those commits too (each forgets its message once recorded).
        let _ = tokio::time::timeout(grace, async {
            while !self.inner.in_flight.lock().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        handle.leases.abort();
    }

    /// True while sending is paused because the IM service refused the credentials.
    pub fn is_paused(&self) -> bool {
        self.inner.paused.load(Ordering::SeqCst)
    }

    /// Replaces the IM secret key (an admin fixed it) and resumes sending at once.
    pub async fn update_secret_key(&self, key: Secret, actor: &Actor) -> Result<(), DeliveryError> {
        if key.is_empty() {
            return Err(DeliveryError::Invalid("the secret key is empty".into()));
        }
        self.inner.im.set_secret_key(key);
        self.inner
            .store
            .audit(actor, "update_im_secret_key", "im", &serde_json::json!({}))
            .await?;
        // Probe now: the alert clears when a message goes through.
        self.inner.next_probe_at.store(0, Ordering::SeqCst);
        self.inner.paused.store(false, Ordering::SeqCst);
        self.inner.store.clear_alerts(CREDENTIALS_ALERT).await?;
        self.wake();
        Ok(())
    }

    /// Resends one message by hand: same `seq`; a new `Random` if it had been sent (the
    /// duplicate is then intended). Returns false if it is in flight right now.
    pub async fn resend(
        &self,
        message_id: i64,
        duplicate: bool,
        actor: &Actor,
    ) -> Result<bool, DeliveryError> {
        let before = self.inner.store.message(message_id).await?;
        let queued = self.inner.store.requeue_one(message_id, duplicate).await?;
        self.inner
            .store
            .audit(
                actor,
                "resend",
                &format!("message:{message_id}"),
                &serde_json::json!({
                    "previous_status": before.status,
                    "queued": queued,
                    "new_random": before.status == MessageStatus::Sent,
                }),
            )
            .await?;
        self.wake();
        Ok(queued)
    }

    /// Resends every message matching `filter`, as a background job.
    pub async fn bulk_resend(
        &self,
        filter: MessageFilter,
        actor: &Actor,
    ) -> Result<Job, DeliveryError> {
        let job = self
            .inner
            .store
            .create_job(JobKind::BulkResend, &filter, actor)
            .await?;
        self.spawn_job(job.id);
        Ok(job)
    }

    /// Queues again every message that failed at or after `since_ms` (optionally in one
    /// class), as a background job.
    pub async fn recover_failed_since(
        &self,
        since_ms: i64,
        class_id: Option<String>,
        actor: &Actor,
    ) -> Result<Job, DeliveryError> {
        let filter = recover_filter(since_ms, class_id);
        let job = self
            .inner
            .store
            .create_job(JobKind::RecoverFailed, &filter, actor)
            .await?;
        self.spawn_job(job.id);
        Ok(job)
    }

    fn spawn_job(&self, job_id: i64) {
        let newly = self.inner.driving.lock().insert(job_id);
        if !newly {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            if let Err(e) = me.run_job(job_id).await {
                tracing::error!(job_id, error = %e, "job stopped; it resumes at the next start");
            }
            me.inner.driving.lock().remove(&job_id);
        });
    }

    /// Takes on unfinished jobs this worker is not driving: another worker on the same
    /// database stopped or was killed mid-job. Two workers driving one job is safe (each
    /// batch is taken under the job's row lock, from its cursor), only redundant.
    pub(crate) async fn adopt_jobs(&self) -> Result<(), DeliveryError> {
        for job in self.inner.store.unfinished_jobs().await? {
            let driving = self.inner.driving.lock().contains(&job);
            if !driving {
                tracing::info!(job, "adopting an unfinished job");
                self.spawn_job(job);
            }
        }
        Ok(())
    }

    async fn run_job(&self, job_id: i64) -> Result<(), DeliveryError> {
        let mut shutdown = self.inner.shutdown.subscribe();
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let taken = self.inner.store.job_enqueue_batch(job_id, 200).await?;
            self.wake();
            if taken == 0 {
                break;
            }
        }
        loop {
            if self.inner.store.job_check_finished(job_id).await? {
                tracing::info!(job_id, "job finished");
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }
}
