//! The library API: one [`ReplayDesk`] owns the store, the delivery worker and the
//! configuration, and offers every operation the console and the HTTP API need. The HTTP
//! handlers (and the Tauri commands) are thin adapters over it.

mod callbacks;
mod intake;
mod types;
pub mod validate;

pub use callbacks::{AssignCallback, AssignedCallback, CallbackReceipt};
pub use intake::MAX_BATCH;
pub use types::*;

use crate::app::AppInfo;
use crate::clock::unix_ms_now;
use crate::config::{random_token, Config, ConfigError};
use crate::delivery::{Delivery, DeliveryError, WorkerHandle};
use crate::emulator::{Emulator, EmulatorConfig, EmulatorError, EmulatorHandle};
use crate::im::client::{ImClient, ImConfig, ImError};
use crate::protocol::{Payload, ReplayMessage};
use crate::secret::Secret;
use crate::store::{
    Alert, AuditEntry, ClassEvent, ClassEventIntake, ClassRecord, IntakeItem, Job, Member,
    MemberRole, MessageFilter, NewClass, Page, RefusedReport, Store, StoreError, StoredMessage,
    TimelineIntake, TimelineReportRecord,
};
use intake::{Intake, IntakeCounters, SubmitError};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// IM's answer when a custom `GroupId` is taken: for class creation, the group exists.
const GROUP_ID_TAKEN: i64 = 10021;
/// The group type ReplayGroups are created with (keeps history).
const GROUP_TYPE: &str = "Public";
/// Longest group name the IM service takes, in bytes.
const GROUP_NAME_BYTES: usize = 30;
/// Default and largest page sizes of listings.
pub const DEFAULT_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1000;

/// Why an operation was refused or failed; each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input: the message starts with the field at fault.
    #[error("{0}")]
    Invalid(String),
    /// No credentials, or wrong ones.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials for something else (e.g. another class's report token).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The IM service refused or could not be reached.
    #[error("IM call failed: {0}")]
    Im(#[from] ImError),
    /// Stopping, or not able to take work now.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ServiceError::NotFound(format!("{what} not found")),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            StoreError::Invalid(m) => ServiceError::Invalid(m),
            other => {
                tracing::error!(error = %other, "database error");
                ServiceError::Internal("database error".into())
            }
        }
    }
}

impl From<DeliveryError> for ServiceError {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::Store(s) => s.into(),
            DeliveryError::Invalid(m) => ServiceError::Invalid(m),
        }
    }
}

/// What can stop [`ReplayDesk::start`].
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot start the sandbox IM emulator: {0}")]
    Emulator(#[from] EmulatorError),
    #[error("cannot make the IM client: {0}")]
    Im(#[from] ImError),
    #[error("cannot start the delivery worker: {0}")]
    Delivery(#[from] DeliveryError),
}

/// Where a report came from and when it arrived.
#[derive(Debug, Clone, Default)]
pub struct ReportMeta {
    /// When the report arrived, unix ms (taken as early as possible).
    pub received_at: i64,
    /// The request body as received, kept with the report.
    pub body: String,
}

/// SHA-256 of a token, lower-case hex (what the store keeps).
pub fn token_sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The server time paired with a report that arrived at `received_at` after a measured
/// round trip of `rtt_ms`: half the round trip earlier (the one-way delay, if the path is
/// symmetric), rounded to the ms; and how far off it may be (half the round trip,
/// rounded up).
pub fn time_line_for(received_at: i64, rtt_ms: Option<f64>) -> (i64, Option<i64>) {
    match rtt_ms {
        Some(rtt) => {
            let half = rtt / 2.0;
            // `rtt` is checked to lie in 0..=60000: these casts cannot overflow.
            (received_at - half.round() as i64, Some(half.ceil() as i64))
        }
        None => (received_at, None),
    }
}

struct Inner {
    config: Config,
    admin_token: Secret,
    info: AppInfo,
    store: Store,
    delivery: Delivery,
    worker: Mutex<Option<WorkerHandle>>,
    intake: Intake,
    counters: Arc<IntakeCounters>,
    refused: AtomicU64,
    emulator: Option<Emulator>,
    emulator_handle: Mutex<Option<EmulatorHandle>>,
    stopped: AtomicBool,
}

/// The backend: every operation once. Cheap to clone.
#[derive(Clone)]
pub struct ReplayDesk {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ReplayDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayDesk")
            .field("info", &self.inner.info)
            .field("db", &self.inner.config.db)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ReplayDesk {
    /// Opens the store and starts the delivery worker. With no IM endpoint configured it
    /// starts the IM emulator in process on 127.0.0.1 (sandbox mode) and sends there. An
    /// unset admin token is generated (read it with [`ReplayDesk::admin_token`]).
    pub async fn start(mut config: Config) -> Result<Self, StartError> {
        config.ensure_admin_token();
        let admin_token = config
            .admin_token
            .clone()
            .unwrap_or_else(|| Secret::new(random_token()));
        let delivery_config = config.delivery.to_delivery_config()?;
        let (im_config, emulator_handle) = match &config.im.endpoint {
            Some(endpoint) => {
                let sdkappid = config.im.sdkappid.ok_or_else(|| ConfigError::Invalid {
                    key: "im.sdkappid".into(),
                    message: "is required when im.endpoint is set".into(),
                })?;
                let key = config
                    .im
                    .secret_key
                    .clone()
                    .ok_or_else(|| ConfigError::Invalid {
                        key: "im.secret_key".into(),
                        message: "is required when im.endpoint is set".into(),
                    })?;
                (
                    ImConfig::new(endpoint.clone(), sdkappid, config.im.admin.clone(), key),
                    None,
                )
            }
            None => {
                let emu_config = EmulatorConfig::sandbox();
                let (sdkappid, admin, key) = (
                    emu_config.sdkappid,
                    emu_config.admin.clone(),
                    Secret::new(emu_config.secret_key.clone()),
                );
                let handle =
                    Emulator::start(emu_config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                        .await?;
                (
                    ImConfig::new(handle.base_url(), sdkappid, admin, key),
                    Some(handle),
                )
            }
        };
        let store = Store::open(&config.db).await?;
        let emulator = emulator_handle.as_ref().map(|h| h.emulator().clone());
        if let Some(emu) = &emulator {
            // The sandbox's groups live in memory: bring back those of the known classes.
            for class in store.classes().await? {
                let _ = emu.create_group_direct(&class.group_id);
            }
            tracing::warn!(
                "SANDBOX MODE: no IM endpoint configured; messages go to the built-in IM emulator (in memory)"
            );
            if config.im.sdkappid.is_some() || config.im.secret_key.is_some() {
                tracing::warn!("im.sdkappid / im.secret_key are ignored: im.endpoint is not set");
            }
        }
        let im = Arc::new(ImClient::new(im_config)?);
        let delivery = Delivery::new(store.clone(), im, delivery_config);
        let worker = delivery.start().await?;
        let counters = Arc::new(IntakeCounters::default());
        let intake = Intake::start(store.clone(), delivery.clone(), counters.clone());
        let info = AppInfo::new(config.im.endpoint.as_deref());
        Ok(Self {
            inner: Arc::new(Inner {
                admin_token,
                info,
                store,
                delivery,
                worker: Mutex::new(Some(worker)),
                intake,
                counters,
                refused: AtomicU64::new(0),
                emulator,
                emulator_handle: Mutex::new(emulator_handle),
                stopped: AtomicBool::new(false),
                config,
            }),
        })
    }

    /// Takes no more reports, commits and answers those queued, lets IM calls in flight
    /// finish (up to `shutdown_grace_secs`), then closes the database and the sandbox
    /// emulator. Messages not yet sent stay in the store for the next start.
    pub async fn shutdown(&self) {
        if self.inner.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.intake.close().await;
        let worker = lock(&self.inner.worker).take();
        if let Some(w) = worker {
            self.inner
                .delivery
                .shutdown(w, self.inner.config.shutdown_grace())
                .await;
        }
        self.inner.store.close().await;
        let emu = lock(&self.inner.emulator_handle).take();
        if let Some(h) = emu {
            let _ = h.shutdown().await;
        }
    }

    // ---- facts ----

    pub fn info(&self) -> AppInfo {
        self.inner.info.clone()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The admin bearer token (configured or generated at start).
    pub fn admin_token(&self) -> &Secret {
        &self.inner.admin_token
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn delivery(&self) -> &Delivery {
        &self.inner.delivery
    }

    /// The in-process IM emulator in sandbox mode.
    pub fn sandbox_emulator(&self) -> Option<&Emulator> {
        self.inner.emulator.as_ref()
    }

    /// The server's wall clock, unix ms.
    pub fn server_ms(&self) -> i64 {
        unix_ms_now()
    }

    // ---- credentials ----

    /// Checks an admin bearer token (constant time).
    pub fn check_admin_token(&self, presented: Option<&str>) -> ServiceResult<()> {
        let Some(p) = presented else {
            return Err(ServiceError::Unauthorized(
                "admin token required (Authorization: Bearer <token>)".into(),
            ));
        };
        let ok: bool = p
            .as_bytes()
            .ct_eq(self.inner.admin_token.expose().as_bytes())
            .into();
        if ok {
            Ok(())
        } else {
            Err(ServiceError::Unauthorized("wrong admin token".into()))
        }
    }

    /// Checks a report token for `class_id`: the class (404 if unknown) when it is the
    /// class's token; 401 when missing or unknown; 403 when it is another class's token.
    pub async fn authorize_report(
        &self,
        class_id: &str,
        presented: Option<&str>,
    ) -> ServiceResult<ClassRecord> {
        let Some(p) = presented else {
            return Err(ServiceError::Unauthorized(
                "report token required (Authorization: Bearer <token>)".into(),
            ));
        };
        let class = self.class(class_id).await?;
        let presented_hash = token_sha256(p);
        let expected = self
            .inner
            .store
            .report_token_sha256(class_id)
            .await?
            .unwrap_or_default();
        if bool::from(presented_hash.as_bytes().ct_eq(expected.as_bytes())) {
            return Ok(class);
        }
        match self
            .inner
            .store
            .class_for_report_token(&presented_hash)
            .await?
        {
            Some(_) => Err(ServiceError::Forbidden(format!(
                "this report token belongs to another class, not {class_id:?}"
            ))),
            None => Err(ServiceError::Unauthorized("wrong report token".into())),
        }
    }

    // ---- classes ----

    /// Creates a class (and its group in IM when asked; one that exists is fine) and
    /// returns its report token, shown this once.
    pub async fn create_class(&self, req: CreateClass, actor: &str) -> ServiceResult<CreatedClass> {
        validate::class_id(&req.class_id).map_err(ServiceError::Invalid)?;
        validate::group_id(&req.group_id).map_err(ServiceError::Invalid)?;
        validate::uid("teacher_uid", &req.teacher_uid).map_err(ServiceError::Invalid)?;
        validate::actor(actor).map_err(ServiceError::Invalid)?;
        let store = &self.inner.store;
        match store.class(&req.class_id).await {
            Ok(_) => {
                return Err(ServiceError::Conflict(format!(
                    "class {:?} already exists",
                    req.class_id
                )))
            }
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(other) = store.class_by_group(&req.group_id).await? {
            return Err(ServiceError::Conflict(format!(
                "group {:?} is already the ReplayGroup of class {:?}",
                req.group_id, other.class_id
            )));
        }
        let mut group_created = false;
        if let Some(emu) = &self.inner.emulator {
            // Sandbox: the group must exist for messages to land, asked or not.
            group_created = emu.create_group_direct(&req.group_id).is_ok();
        } else if req.create_group {
            let mut name = req.class_id.clone();
            name.truncate(GROUP_NAME_BYTES); // ASCII: any byte is a char boundary
            match self
                .inner
                .delivery
                .im()
                .create_group(&req.group_id, &name, GROUP_TYPE)
                .await
            {
                Ok(_) => group_created = true,
                Err(ImError::Api { code, .. }) if code == GROUP_ID_TAKEN => {}
                Err(e) => return Err(ServiceError::Im(e)),
            }
        }
        let token = random_token();
        let class = store
            .create_class(&NewClass {
                class_id: &req.class_id,
                group_id: &req.group_id,
                teacher_uid: &req.teacher_uid,
                report_token_sha256: &token_sha256(&token),
            })
            .await?;
        store
            .audit(
                actor,
                "create_class",
                &format!("class:{}", class.class_id),
                &serde_json::json!({
                    "group_id": class.group_id,
                    "teacher_uid": class.teacher_uid,
                    "create_group": req.create_group,
                    "group_created": group_created,
                }),
            )
            .await?;
        tracing::info!(class_id = %class.class_id, group_id = %class.group_id, group_created, "class created");
        Ok(CreatedClass {
            class,
            report_token: token,
            group_created,
        })
    }

    pub async fn class(&self, class_id: &str) -> ServiceResult<ClassRecord> {
        Ok(self.inner.store.class(class_id).await?)
    }

    /// Every class with its messages counted per status and its number of members.
    pub async fn list_classes(&self) -> ServiceResult<Vec<ClassSummary>> {
        let store = &self.inner.store;
        let classes = store.classes().await?;
        let counts = store.class_status_counts().await?;
        let members = store.member_counts().await?;
        Ok(classes
            .into_iter()
            .map(|class| {
                let c = StatusCounts::from_pairs(
                    counts
                        .iter()
                        .filter(|(id, _, _)| *id == class.class_id)
                        .map(|(_, s, n)| (*s, *n)),
                );
                let m = members
                    .iter()
                    .find(|(id, _)| *id == class.class_id)
                    .map_or(0, |(_, n)| *n);
                ClassSummary {
                    class,
                    counts: c,
                    members: m,
                }
            })
            .collect())
    }

    /// One class with its counts.
    pub async fn class_summary(&self, class_id: &str) -> ServiceResult<ClassSummary> {
        let class = self.class(class_id).await?;
        let counts =
            StatusCounts::from_pairs(self.inner.store.status_counts(Some(class_id)).await?);
        let members = self.inner.store.members(class_id).await?.len() as i64;
        Ok(ClassSummary {
            class,
            counts,
            members,
        })
    }

    /// The members of a class, learnt from its reports.
    pub async fn members(&self, class_id: &str) -> ServiceResult<Vec<Member>> {
        self.class(class_id).await?;
        Ok(self.inner.store.members(class_id).await?)
    }

    /// A class's timeline reports as received (accepted and refused), newest first.
    pub async fn timeline_reports(
        &self,
        class_id: &str,
        cursor: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<TimelineReportRecord>> {
        self.class(class_id).await?;
        Ok(self
            .inner
            .store
            .timeline_reports(class_id, cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    // ---- reports ----

    fn role_of(class: &ClassRecord, uid: &str) -> MemberRole {
        if class.teacher_uid == uid {
            MemberRole::Teacher
        } else {
            MemberRole::Student
        }
    }

    async fn submit(&self, item: IntakeItem) -> ServiceResult<crate::store::Inserted> {
        if self.inner.stopped.load(Ordering::SeqCst) {
            return Err(ServiceError::Unavailable("the server is stopping".into()));
        }
        match self.inner.intake.submit(item).await {
            Ok(ins) => Ok(ins),
            Err(SubmitError::Closed) => {
                Err(ServiceError::Unavailable("the server is stopping".into()))
            }
            Err(SubmitError::Store(e)) => Err(e.into()),
        }
    }

    /// Keeps a refused timeline report (its client proved it may report to the class).
    pub async fn record_refused_timeline(
        &self,
        class_id: &str,
        uid: Option<&str>,
        timestamp: Option<i64>,
        rtt_ms: Option<f64>,
        reason: &str,
        meta: &ReportMeta,
    ) {
        self.inner.refused.fetch_add(1, Ordering::Relaxed);
        let r = RefusedReport {
            class_id: Some(class_id.to_owned()),
            // Kept only when printable and short enough to show.
            uid: uid
                .filter(|u| validate::uid("uid", u).is_ok())
                .map(str::to_owned),
            client_timestamp: timestamp,
            rtt_ms: rtt_ms
                .filter(|r| r.is_finite() && r.abs() < 1e15)
                .map(|r| r.round() as i64),
            received_at: meta.received_at,
            reason: reason.to_owned(),
            body: meta.body.clone(),
        };
        if let Err(e) = self.inner.store.record_refused_report(&r).await {
            tracing::warn!(error = %e, "could not keep a refused timeline report");
        }
    }

    /// Records a timeline report and its 1003 (time_line = arrival − rtt/2 when the round
    /// trip is given) in one transaction; answers once it is durable. A repeat (same uid
    /// and timestamp) is the same message. Invalid reports are kept as refused.
    pub async fn record_timeline(
        &self,
        class_id: &str,
        report: TimelineReport,
        meta: ReportMeta,
    ) -> ServiceResult<TimelineAccepted> {
        let class = self.class(class_id).await?;
        let checked = validate::uid("uid", &report.uid)
            .and_then(|()| validate::timestamp(report.timestamp))
            .and_then(|ts| {
                report
                    .rtt_ms
                    .map(validate::rtt_ms)
                    .transpose()
                    .map(|r| (ts, r))
            });
        let (timestamp, rtt) = match checked {
            Ok(v) => v,
            Err(reason) => {
                self.record_refused_timeline(
                    class_id,
                    Some(&report.uid),
                    Some(report.timestamp),
                    report.rtt_ms,
                    &reason,
                    &meta,
                )
                .await;
                return Err(ServiceError::Invalid(reason));
            }
        };
        let (time_line, uncertainty_ms) = time_line_for(meta.received_at, rtt);
        let item = IntakeItem::Timeline(TimelineIntake {
            role: Self::role_of(&class, &report.uid),
            class_id: class.class_id,
            group_id: class.group_id,
            uid: report.uid,
            timestamp,
            time_line,
            rtt_ms: rtt.map(|r| r.round() as i64),
            uncertainty_ms,
            received_at: meta.received_at,
            body: meta.body,
        });
        let ins = self.submit(item).await?;
        // A repeat answers with the time_line of the message already stored.
        let time_line = match ReplayMessage::parse(&ins.message.data).map(|m| m.payload) {
            Ok(Payload::Timeline { time_line, .. }) => time_line,
            _ => time_line,
        };
        Ok(TimelineAccepted {
            message_id: ins.message.id,
            seq: ins.message.seq,
            time_line,
        })
    }

    /// Records a class start (1001) or end (1002) and updates the class's state, in one
    /// transaction; a repeat (same uid and timestamp) is the same message.
    pub async fn record_class_event(
        &self,
        class_id: &str,
        event: ClassEvent,
        report: ClassEventReport,
    ) -> ServiceResult<ClassEventAccepted> {
        let class = self.class(class_id).await?;
        validate::uid("uid", &report.uid).map_err(ServiceError::Invalid)?;
        let timestamp = validate::timestamp(report.timestamp).map_err(ServiceError::Invalid)?;
        let item = IntakeItem::ClassEvent(ClassEventIntake {
            role: Self::role_of(&class, &report.uid),
            class_id: class.class_id,
            group_id: class.group_id,
            uid: report.uid,
            timestamp,
            event,
        });
        let ins = self.submit(item).await?;
        Ok(ClassEventAccepted {
            message_id: ins.message.id,
            seq: ins.message.seq,
        })
    }

    // ---- messages ----

    /// Messages matching `filter`, newest first; `cursor` is the previous page's
    /// `next_cursor`. A filter on an unknown class is 404.
    pub async fn list_messages(
        &self,
        filter: &MessageFilter,
        cursor: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<StoredMessage>> {
        if let Some(c) = &filter.class_id {
            self.class(c).await?;
        }
        Ok(self
            .inner
            .store
            .list_messages(filter, cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    pub async fn count_messages(&self, filter: &MessageFilter) -> ServiceResult<i64> {
        Ok(self.inner.store.count_messages(filter).await?)
    }

    /// One message with all its attempts.
    pub async fn message(&self, id: i64) -> ServiceResult<MessageDetail> {
        let message = self.inner.store.message(id).await?;
        let attempts = self.inner.store.attempts(id).await?;
        Ok(MessageDetail { message, attempts })
    }

    /// Resends one message (same `seq`; a new `Random` if it had been sent). Audited.
    pub async fn resend(&self, id: i64, actor: &str) -> ServiceResult<ResendOutcome> {
        validate::actor(actor).map_err(ServiceError::Invalid)?;
        let queued = self.inner.delivery.resend(id, actor).await?;
        let message = self.inner.store.message(id).await?;
        Ok(ResendOutcome { queued, message })
    }

    /// Resends every message matching `filter` as a background job. Audited.
    pub async fn bulk_resend(&self, filter: MessageFilter, actor: &str) -> ServiceResult<Job> {
        validate::actor(actor).map_err(ServiceError::Invalid)?;
        if let Some(c) = &filter.class_id {
            self.class(c).await?;
        }
        Ok(self.inner.delivery.bulk_resend(filter, actor).await?)
    }

    /// Queues again every message that failed at or after `since_ms` (optionally in one
    /// class), as a background job. Audited.
    pub async fn recover_failed_since(
        &self,
        since_ms: i64,
        class_id: Option<String>,
        actor: &str,
    ) -> ServiceResult<Job> {
        validate::actor(actor).map_err(ServiceError::Invalid)?;
        if since_ms < 0 {
            return Err(ServiceError::Invalid(format!(
                "since_ms: must not be negative, got {since_ms}"
            )));
        }
        if let Some(c) = &class_id {
            self.class(c).await?;
        }
        Ok(self
            .inner
            .delivery
            .recover_failed_since(since_ms, class_id, actor)
            .await?)
    }

    pub async fn job(&self, id: i64) -> ServiceResult<Job> {
        Ok(self.inner.store.job(id).await?)
    }

    /// The newest jobs first.
    pub async fn jobs(&self, limit: u32) -> ServiceResult<Vec<Job>> {
        Ok(self.inner.store.jobs(limit.clamp(1, MAX_PAGE)).await?)
    }

    /// The audit log, newest first; `cursor` is the previous page's `next_cursor`.
    pub async fn audit_log(
        &self,
        cursor: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<AuditEntry>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let items = self.inner.store.audit_log(cursor, limit + 1).await?;
        Ok(Page::from_overfetch(items, limit, |e| e.id))
    }

    /// Conditions the console shows until they clear (e.g. refused IM credentials).
    pub async fn alerts(&self) -> ServiceResult<Vec<Alert>> {
        Ok(self.inner.store.open_alerts().await?)
    }

    /// Replaces the IM secret key (a wrong one paused sending) and resumes. Audited.
    pub async fn update_secret_key(&self, key: Secret, actor: &str) -> ServiceResult<()> {
        validate::actor(actor).map_err(ServiceError::Invalid)?;
        validate::secret_key(key.expose()).map_err(ServiceError::Invalid)?;
        Ok(self.inner.delivery.update_secret_key(key, actor).await?)
    }

    /// Counters for `/metrics`.
    pub async fn metrics(&self) -> ServiceResult<MetricsSnapshot> {
        let statuses = StatusCounts::from_pairs(self.inner.store.status_counts(None).await?);
        let open_alerts = self.inner.store.open_alerts().await?.len();
        let c = &self.inner.counters;
        Ok(MetricsSnapshot {
            statuses,
            accepted_total: c.accepted.load(Ordering::Relaxed),
            duplicate_total: c.duplicates.load(Ordering::Relaxed),
            refused_total: self.inner.refused.load(Ordering::Relaxed),
            intake_commits_total: c.batches.load(Ordering::Relaxed),
            delivery: self.inner.delivery.stats(),
            delivery_paused: self.inner.delivery.is_paused(),
            open_alerts,
            callbacks: self.inner.store.callback_status_counts().await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_line_is_half_the_round_trip_earlier() {
        assert_eq!(time_line_for(1000, None), (1000, None));
        assert_eq!(time_line_for(1000, Some(0.0)), (1000, Some(0)));
        assert_eq!(time_line_for(1000, Some(100.0)), (950, Some(50)));
        assert_eq!(time_line_for(1000, Some(5.0)), (997, Some(3)));
        assert_eq!(time_line_for(1000, Some(60_000.0)), (-29_000, Some(30_000)));
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
