//! The one helper root of the integration tests. Here: the delivery harness (a real IM
//! emulator on loopback, a real SQLite file in a temporary directory, and the real delivery
//! worker between them). Beside it: [`server`] (the service served in process over real
//! HTTP), [`process`] (the built binary as OS processes), [`engines`] (one test body on
//! each store engine) and [`wait_until`].
#![allow(dead_code)]

use replaydesk::delivery::{Delivery, DeliveryConfig, RetrySchedule, WorkerHandle};
use replaydesk::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use replaydesk::im::client::{ImClient, ImConfig};
use replaydesk::protocol::{classify, HistoryItem, Payload, ReplayMessage, Seq, UserValue};
use replaydesk::secret::Secret;
use replaydesk::store::{
    AttemptOutcome, AttemptRecord, ClassEvent, ClassEventIntake, IntakeItem, MemberRole,
    MessageStatus, NewClass, NewMessage, Store, StoredMessage, TimelineIntake, Trigger,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[macro_use]
pub mod engines;
pub mod people;
#[cfg(unix)]
pub mod process;
pub mod server;
mod wait;
pub use wait::wait_until;

pub const SDKAPPID: u64 = 1_400_000_001;
pub const KEY: &str = "0f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1";

pub async fn start_emulator(tune: impl FnOnce(&mut EmulatorConfig)) -> EmulatorHandle {
    let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
    tune(&mut cfg);
    Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts")
}

pub fn im_config(emu: &EmulatorHandle, key: &str) -> ImConfig {
    let mut c = ImConfig::new(emu.base_url(), SDKAPPID, "administrator", Secret::new(key));
    c.timeout = Duration::from_secs(3);
    c
}

/// Quick retries, so tests with many faults finish in seconds.
pub fn fast_config() -> DeliveryConfig {
    DeliveryConfig {
        schedule: RetrySchedule::parse(
            "20ms,40ms,80ms,100ms,150ms,200ms,200ms,300ms,300ms,400ms,400ms,500ms,500ms,500ms,500ms,500ms",
            0.2,
        )
        .unwrap(),
        slow_down_delay: Duration::from_millis(100),
        poll_interval: Duration::from_millis(100),
        credentials_probe_interval: Duration::from_secs(60),
        ..DeliveryConfig::default()
    }
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub store: Store,
    pub delivery: Delivery,
    pub worker: Option<WorkerHandle>,
}

impl Harness {
    pub async fn start(im: ImConfig, config: DeliveryConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("replaydesk.db");
        Self::start_at(dir, db, im, config).await
    }

    pub async fn start_at(
        dir: tempfile::TempDir,
        db: PathBuf,
        im: ImConfig,
        config: DeliveryConfig,
    ) -> Self {
        let store = Store::open(&db).await.expect("store opens");
        let client = Arc::new(ImClient::new(im).unwrap());
        let delivery = Delivery::new(store.clone(), client, config);
        let worker = Some(delivery.start().await.expect("worker starts"));
        Self {
            dir,
            db,
            store,
            delivery,
            worker,
        }
    }

    pub async fn stop(&mut self) {
        if let Some(w) = self.worker.take() {
            self.delivery.shutdown(w, Duration::from_secs(10)).await;
        }
    }

    /// Stops the worker and closes the database, keeping the directory for a restart.
    pub async fn into_parts(mut self) -> (tempfile::TempDir, PathBuf) {
        self.stop().await;
        self.store.close().await;
        (self.dir, self.db)
    }
}

pub async fn create_class(store: &Store, class_id: &str, group_id: &str) {
    store
        .create_class(&NewClass {
            class_id,
            group_id,
            teacher_uid: "teacher_li",
            report_token_sha256: "00",
            credential_key: "",
            legacy_class_token: false,
            open_enrolment: false,
            room_id: None,
        })
        .await
        .expect("class created");
}

/// Accepts a 1003 for `uid` at client time `ts` in the class.
pub async fn enqueue_timeline(
    store: &Store,
    class_id: &str,
    group_id: &str,
    uid: &str,
    ts: u64,
) -> StoredMessage {
    let key = format!("1003:{uid}:{ts}");
    let uid_owned = uid.to_owned();
    let build = move |seq| {
        ReplayMessage::new(
            seq,
            ts,
            Payload::Timeline {
                time_line: 1_795_339_200_000 + ts as i64,
                value: UserValue::new(uid_owned.clone()),
            },
        )
    };
    store
        .insert_message(&NewMessage {
            class_id,
            group_id,
            uid,
            dedup_key: &key,
            build: &build,
        })
        .await
        .expect("message accepted")
        .message
}

/// A scheduled attempt's record that answered HTTP 200 with `outcome`.
/// The 1001 / 1002 a class event report becomes, as the service builds it.
pub fn class_event(
    class_id: &str,
    group_id: &str,
    uid: &str,
    timestamp: u64,
    event: ClassEvent,
) -> IntakeItem {
    let value = UserValue::new(uid);
    let payload = match event {
        ClassEvent::Start => Payload::ClassStart(value),
        ClassEvent::End => Payload::ClassEnd(value),
    };
    IntakeItem::ClassEvent(ClassEventIntake {
        class_id: class_id.into(),
        group_id: group_id.into(),
        role: MemberRole::Teacher,
        message: ReplayMessage::new(Seq::random(), timestamp, payload),
    })
}

/// An accepted timeline report of a student, with the 1003 the service would build for it.
pub fn timeline_intake(
    class_id: &str,
    group_id: &str,
    uid: &str,
    timestamp: u64,
    time_line: i64,
    received_at: i64,
) -> IntakeItem {
    IntakeItem::Timeline(TimelineIntake {
        class_id: class_id.into(),
        group_id: group_id.into(),
        role: MemberRole::Student,
        message: ReplayMessage::new(
            Seq::random(),
            timestamp,
            Payload::Timeline {
                time_line,
                value: UserValue::new(uid),
            },
        ),
        rtt_ms: Some(40),
        rtt_source: "client",
        uncertainty_ms: Some(20),
        received_at,
        body: format!("{{\"uid\":\"{uid}\",\"timestamp\":{timestamp}}}"),
    })
}

pub fn attempt_of(message_id: i64, random: u32, outcome: AttemptOutcome) -> AttemptRecord {
    AttemptRecord {
        message_id,
        trigger: Trigger::Scheduled,
        random,
        started_at: 1,
        duration_ms: 1,
        http_status: Some(200),
        im_error_code: Some(0),
        im_error_info: None,
        transport_error: None,
        outcome,
    }
}

pub async fn count_status(store: &Store, status: MessageStatus) -> i64 {
    store
        .status_counts(None)
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| *s == status)
        .map(|(_, n)| n)
        .unwrap_or(0)
}

/// The protocol `seq` of each message in a group's history, with how often it occurs.
pub fn seq_occurrences(emu: &EmulatorHandle, group_id: &str) -> HashMap<u64, usize> {
    let mut out = HashMap::new();
    for m in emu.history(group_id) {
        if let HistoryItem::Protocol(p) = classify(&m) {
            *out.entry(p.seq.get()).or_default() += 1;
        }
    }
    out
}

/// An actor for calls made straight into the library (as the bootstrap token's caller
/// named `name` would be).
pub fn by(name: &str) -> replaydesk::store::Actor {
    replaydesk::store::Actor::new(name, replaydesk::store::Door::BootstrapToken)
}
