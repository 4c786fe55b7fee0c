//! A disk that refuses writes for a moment (issue 27, item 1): every write path fails while
//! it does, and every one works again within seconds of the disk taking writes again,
//! with nothing that was acknowledged lost and nothing sent twice.
//!
//! The fault is real: the SQLite file's write-ahead log is made immutable (`chattr +i`, as
//! an administrator making a file read-only, or a file system remounted read-only), so
//! every commit's write fails in the kernel (`EPERM`, SQLite's `SQLITE_IOERR`) and SQLite
//! rolls the transaction back itself. Before the fix the one writer connection then went
//! back to its pool still counted as inside a transaction, and every later write failed
//! with "attempted to call begin_with at non-zero transaction depth" until a restart.
//!
//! Setting the immutable flag needs root (`CAP_LINUX_IMMUTABLE`) and a file system that
//! has it (ext4, xfs, btrfs; not tmpfs): elsewhere the test says so and does nothing.
#![cfg(target_os = "linux")]

use crate::util::server::*;
use replaydesk::callback::expected_sign;
use replaydesk::emulator::FaultConfig;
use replaydesk::secret::Secret;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CALLBACK_KEY: &str = "replaydesk-fixture-callback-key";
/// How long every write path has to work again once the disk takes writes: "within
/// seconds"; generous for a loaded machine, far below "never".
const RECOVERY: Duration = Duration::from_secs(20);

/// `chattr +i` / `-i` on `file`; false when the flag cannot be set here.
fn immutable(file: &Path, on: bool) -> bool {
    Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(file)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The immutable write-ahead log; cleared when dropped, so a failing test leaves a
/// temporary directory that can be removed.
struct ReadOnlyWal(PathBuf);

impl ReadOnlyWal {
    fn clear(&self) {
        assert!(immutable(&self.0, false), "chattr -i {}", self.0.display());
    }
}

impl Drop for ReadOnlyWal {
    fn drop(&mut self) {
        immutable(&self.0, false);
    }
}

/// The recording callback fixture (matched to class `room42` by its `stream_param`),
/// signed with a fresh `t`.
fn callback() -> Value {
    let path = format!(
        "{}/tests/fixtures/recording_callback_mp4.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let t = now_ms() / 1000 + 600;
    v["t"] = if v["t"].is_string() {
        t.to_string().into()
    } else {
        t.into()
    };
    v["sign"] = expected_sign(&Secret::new(CALLBACK_KEY), &t.to_string()).into();
    v
}

/// Every write path, once, with what it answered.
struct Writes {
    class: (u16, Value),
    report: (u16, Value),
    start: (u16, Value),
    callback: (u16, Value),
    resend: (u16, Value),
    bulk_resend: (u16, Value),
}

impl Writes {
    async fn run(t: &TestServer, token: &str, round: i64, failed: &[i64]) -> Self {
        let class = t
            .post(
                "/v1/classes",
                Some(ADMIN),
                &json!({"class_id": format!("made{round}"), "group_id": format!("made_g{round}"), "teacher_uid": "teacher_li", "create_group": false}),
            )
            .await;
        let report = t
            .report(
                "room42",
                token,
                &json!({"uid": "student_wang", "timestamp": 1000 + round}),
            )
            .await;
        let start = t
            .post(
                "/v1/classes/room42/start",
                Some(token),
                &json!({"uid": "teacher_li", "timestamp": 500}),
            )
            .await;
        let callback = t.post("/v1/callbacks/recording", None, &callback()).await;
        let resend = t
            .post(
                &format!("/v1/admin/messages/{}/resend", failed[0]),
                Some(ADMIN),
                &json!({}),
            )
            .await;
        let bulk_resend = t
            .post(
                "/v1/admin/resend",
                Some(ADMIN),
                &json!({"class_id": "b", "uid": "s1", "statuses": ["failed"], "confirm_count": 1}),
            )
            .await;
        Self {
            class,
            report,
            start,
            callback,
            resend,
            bulk_resend,
        }
    }

    fn each(&self) -> [(&'static str, &(u16, Value)); 6] {
        [
            ("class creation", &self.class),
            ("timeline report", &self.report),
            ("class start", &self.start),
            ("recording callback", &self.callback),
            ("resend", &self.resend),
            ("bulk resend job", &self.bulk_resend),
        ]
    }
}

async fn health(t: &TestServer) -> (u16, Value) {
    t.get("/healthz", None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_path_works_again_within_seconds_of_the_disk_taking_writes() {
    let mut t = TestServer::start(|c| c.callback_key = Some(Secret::new(CALLBACK_KEY))).await;
    let wal = t.dir.path().join("replaydesk.db-wal");
    if !immutable(&wal, true) || !immutable(&wal, false) {
        eprintln!(
            "SKIPPED: cannot set the immutable flag on {} (needs root and ext4/xfs/btrfs)",
            wal.display()
        );
        t.stop().await;
        return;
    }
    let emu = t.desk.sandbox_emulator().expect("sandbox").clone();
    let token = t
        .create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    // A class whose reports are refused for good (10007), to be resent later.
    let btoken = t.create_class("b", "gb", "teacher_zhao", false).await;
    emu.set_faults(FaultConfig {
        fail_rate: 1.0,
        fail_codes: vec![10007],
        ..FaultConfig::none()
    })
    .unwrap();
    let mut failed = Vec::new();
    for i in 0..2 {
        let (s, v) = t
            .report(
                "b",
                &btoken,
                &json!({"uid": format!("s{i}"), "timestamp": i}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        failed.push(v["message_id"].as_i64().unwrap());
    }
    let store = t.store().clone();
    wait_until(Duration::from_secs(15), "b's reports failed", || {
        let (store, failed) = (store.clone(), failed.clone());
        async move {
            let mut all = true;
            for id in failed {
                all &= store.message(id).await.unwrap().status
                    == replaydesk::store::MessageStatus::Failed;
            }
            all
        }
    })
    .await;
    emu.set_faults(FaultConfig::none()).unwrap();
    let mut acknowledged: Vec<i64> = Vec::new();
    let (s, v) = t
        .report(
            "room42",
            &token,
            &json!({"uid": "teacher_li", "timestamp": 1}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    acknowledged.push(v["message_id"].as_i64().unwrap());
    wait_until(Duration::from_secs(15), "the first report sent", || {
        let emu = emu.clone();
        async move { history_data(&emu.history("replay_room42")).len() == 1 }
    })
    .await;
    assert_eq!(health(&t).await.0, 200);

    // A send in flight when the disk stops taking writes: its outcome must be recorded
    // once the disk is back, and the message not sent a second time.
    emu.set_faults(FaultConfig {
        latency_ms: 1500,
        ..FaultConfig::none()
    })
    .unwrap();
    let (s, v) = t
        .report(
            "room42",
            &token,
            &json!({"uid": "teacher_li", "timestamp": 2}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let in_flight = v["message_id"].as_i64().unwrap();
    acknowledged.push(in_flight);
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert!(immutable(&wal, true), "chattr +i");
    let fault = ReadOnlyWal(wal.clone());
    let during = Writes::run(&t, &token, 1, &failed).await;
    for (what, (status, body)) in during.each() {
        assert!(
            *status >= 500,
            "{what} while the disk refuses writes: {status} {body}"
        );
    }
    // The health probe says so (its answer is cached for a few seconds).
    wait_until(Duration::from_secs(15), "/healthz degraded", || async {
        health(&t).await.0 == 503
    })
    .await;
    // The send in flight has finished meanwhile, its outcome not recorded.
    wait_until(Duration::from_secs(15), "the send in flight done", || {
        let emu = emu.clone();
        async move { history_data(&emu.history("replay_room42")).len() == 2 }
    })
    .await;
    emu.set_faults(FaultConfig::none()).unwrap();
    fault.clear();
    let cleared = Instant::now();

    // A client retries its report until it is taken.
    let mut timestamp = 10;
    loop {
        let (s, v) = t
            .report(
                "room42",
                &token,
                &json!({"uid": "teacher_li", "timestamp": timestamp}),
            )
            .await;
        if s == 202 {
            acknowledged.push(v["message_id"].as_i64().unwrap());
            break;
        }
        assert!(
            cleared.elapsed() < RECOVERY,
            "reports still refused {:?} after the disk takes writes again: {s} {v}",
            cleared.elapsed()
        );
        timestamp += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Then every other path works at once.
    let after = Writes::run(&t, &token, 2, &failed).await;
    let took = cleared.elapsed();
    eprintln!("every write path worked again {took:?} after the disk took writes again");
    let expected = [201, 202, 202, 200, 202, 202];
    for ((what, (status, body)), want) in after.each().into_iter().zip(expected) {
        assert_eq!(
            *status, want,
            "{what} {took:?} after the disk takes writes again: {body}"
        );
    }
    assert_eq!(after.callback.1, json!({"code": 0}));
    acknowledged.push(after.report.1["message_id"].as_i64().unwrap());
    acknowledged.push(after.start.1["message_id"].as_i64().unwrap());
    wait_until(RECOVERY, "/healthz ok again", || async {
        health(&t).await.0 == 200
    })
    .await;
    let (_, h) = health(&t).await;
    assert_eq!(h["status"], "ok", "{h}");

    // Nothing acknowledged is lost: each is sent, once, in its group; the resent ones too.
    for id in acknowledged.iter().chain(&failed) {
        wait_until(RECOVERY, &format!("message {id} sent"), || {
            let store = store.clone();
            let id = *id;
            async move {
                store.message(id).await.unwrap().status == replaydesk::store::MessageStatus::Sent
            }
        })
        .await;
    }
    let group = history_data(&emu.history("replay_room42"));
    for id in &acknowledged {
        let seq = store.message(*id).await.unwrap().seq;
        let copies = group
            .iter()
            .filter(|d| d.contains(&format!("\"seq\":{seq},")))
            .count();
        assert_eq!(
            copies, 1,
            "message {id} (seq {seq}) once in the group: {group:?}"
        );
    }
    // The callback's 1004 is there too, once.
    let recordings = group.iter().filter(|d| d.contains("\"type\":1004")).count();
    assert_eq!(recordings, 1, "{group:?}");
    t.stop().await;
}

/// Archiving under the same fault: a pass whose pages cannot be stored stops (what it
/// stored stays), "archive now" is refused while the disk refuses writes, and once it takes
/// writes again a new pass goes on from the last page stored: every message archived once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_works_again_within_seconds_of_the_disk_taking_writes() {
    use replaydesk::emulator::{Emulator, EmulatorConfig};
    use replaydesk::im::client::{ImClient, ImConfig};
    use replaydesk::im::wire::SendGroupMsgRequest;
    use replaydesk::protocol::MsgBodyElem;
    const SDKAPPID: u64 = 1_400_000_027;
    const KEY: &str = "write-faults-archive-key";
    let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
    cfg.app_rate = 0;
    cfg.group_rate = 0;
    let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = emu.base_url();
    let mut t = TestServer::start(move |c| {
        c.im.endpoint = Some(base);
        c.im.sdkappid = Some(SDKAPPID);
        c.im.secret_key = Some(Secret::new(KEY));
    })
    .await;
    let wal = t.dir.path().join("replaydesk.db-wal");
    if !immutable(&wal, true) || !immutable(&wal, false) {
        eprintln!(
            "SKIPPED: cannot set the immutable flag on {}",
            wal.display()
        );
        t.stop().await;
        return;
    }
    t.create_class("df", "replay_df", "teacher_li", true).await;
    let client = ImClient::new(ImConfig::new(
        emu.base_url(),
        SDKAPPID,
        "administrator".to_string(),
        Secret::new(KEY),
    ))
    .unwrap();
    for i in 0..200u32 {
        let data = json!({"data": "[]", "seq": i, "timestamp": 1000 + i}).to_string();
        client
            .send_group_msg(&SendGroupMsgRequest {
                group_id: "replay_df".into(),
                random: 50_000 + i,
                from_account: Some("student_wang".into()),
                msg_body: vec![MsgBodyElem {
                    msg_type: "TIMCustomElem".into(),
                    msg_content: json!({"Data": data, "Desc": "", "Ext": "TXWhiteBoardExt", "Sound": ""}),
                }],
                extra: Default::default(),
            })
            .await
            .unwrap();
    }
    emu.set_faults(FaultConfig {
        latency_ms: 200,
        all_commands: true,
        ..FaultConfig::none()
    })
    .unwrap();
    let (s, v) = t
        .post("/v1/admin/classes/df/archive", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(s, 202, "{v}");
    let job = v["job_id"].as_i64().unwrap();
    let store = t.store().clone();
    wait_until(Duration::from_secs(20), "two pages stored", || {
        let store = store.clone();
        async move { store.archive_run(job).await.unwrap().unwrap().pages >= 2 }
    })
    .await;
    assert!(immutable(&wal, true), "chattr +i");
    let fault = ReadOnlyWal(wal.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (s, v) = t
        .post("/v1/admin/classes/df/archive", Some(ADMIN), &json!({}))
        .await;
    assert!(
        s >= 500 || v["job_id"] == job,
        "archive now while the disk refuses writes: {s} {v}"
    );
    emu.set_faults(FaultConfig::none()).unwrap();
    fault.clear();
    let cleared = Instant::now();
    // The stopped pass records its end once the disk takes writes; "archive now" then
    // starts a new one.
    let next = loop {
        let (s, v) = t
            .post("/v1/admin/classes/df/archive", Some(ADMIN), &json!({}))
            .await;
        if s == 202 && v["job_id"] != job {
            break v["job_id"].as_i64().unwrap();
        }
        assert!(cleared.elapsed() < RECOVERY, "archive now still {s} {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    wait_until(RECOVERY, "the new pass finished", || {
        let store = store.clone();
        async move {
            store.archive_run(next).await.unwrap().unwrap().state
                != replaydesk::store::ArchiveRunState::Running
        }
    })
    .await;
    let first = store.archive_run(job).await.unwrap().unwrap();
    assert!(first.error.is_some(), "{first:?}");
    let a = t.admin_get("/v1/admin/classes/df/archive").await;
    assert_eq!(
        (
            a["state"].as_str(),
            a["archived"].as_i64(),
            a["last_seq"].as_i64()
        ),
        (Some("complete"), Some(200), Some(200)),
        "{a}"
    );
    let seqs: Vec<i64> = store
        .group_history("df")
        .await
        .unwrap()
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    t.stop().await;
}
