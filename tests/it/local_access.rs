//! What another local user or process can reach of a running server (issue 27, items 6
//! and 10), with the real `replaydesk` binary:
//! - the store's files (database, WAL, SHM), the sandbox emulator's, and the files CLI
//!   commands write are owner-only, and a store left readable by others is narrowed when
//!   it is opened again;
//! - the sandbox emulator inside `serve` answers the IM API on loopback but has no
//!   control endpoints (no UserSig there: any local process could rotate its key or
//!   inject faults); its faults are the admin API's.
#![cfg(unix)]

use crate::util::process::{sigterm_and_wait, with_umask, ServeCommand, Served, BIN};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ADMIN: &str = "local-access-admin-token-7d1e";

/// The usual umask, which leaves new files readable by everyone unless the program asks
/// otherwise; given to each child, so that the test does not rest on the test process's.
const USUAL_UMASK: libc::mode_t = 0o022;

fn serve(dir: &Path) -> Served {
    ServeCommand::new(dir, &dir.join("replaydesk.db"))
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN)
        .umask(USUAL_UMASK)
        .keep_log()
        .spawn()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The store's files and the sandbox emulator's, as they exist after a run.
fn store_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for db in ["replaydesk.db", "replaydesk.db.im-emulator.db"] {
        for suffix in ["", "-wal", "-shm"] {
            files.push(dir.join(format!("{db}{suffix}")));
        }
    }
    files
}

fn assert_owner_only(files: &[PathBuf], when: &str) {
    for f in files {
        assert_eq!(
            mode(f) & 0o077,
            0,
            "{} is {:o} {when}: readable by others",
            f.display(),
            mode(f)
        );
    }
}

/// A class with a delivered report, so that every file has been written.
async fn class_with_a_report(base: &str) {
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/v1/classes"))
        .bearer_auth(ADMIN)
        .json(&json!({"class_id": "c1", "group_id": "g1", "teacher_uid": "teacher_li", "create_group": true, "legacy_class_token": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = res.json::<Value>().await.unwrap()["report_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = http
        .post(format!("{base}/v1/classes/c1/timeline"))
        .bearer_auth(&token)
        .json(&json!({"uid": "teacher_li", "timestamp": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    for _ in 0..200 {
        let page: Value = http
            .get(format!("{base}/v1/admin/classes/c1/messages?status=sent"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !page["items"].as_array().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the report was not sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_the_sandbox_and_cli_outputs_are_owner_only_and_old_files_narrowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path());
    class_with_a_report(&served.base).await;
    let files = store_files(dir.path());
    assert_owner_only(&files, "as created by serve");
    tokio::task::block_in_place(|| sigterm_and_wait(&mut served.child, Duration::from_secs(60)));

    // Files left readable by everyone (an older version, a copy): narrowed at start.
    let db = dir.path().join("replaydesk.db");
    let emulator_db = dir.path().join("replaydesk.db.im-emulator.db");
    for f in [&db, &emulator_db] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut served = serve(dir.path());
    assert_owner_only(&[db.clone(), emulator_db.clone()], "after a restart");
    assert!(
        served.log_text().contains("now owner-only"),
        "the narrowing is logged"
    );
    // The WAL and SHM went with the last connection at the stop; SQLite made them again.
    assert_owner_only(&files, "after a restart");
    tokio::task::block_in_place(|| sigterm_and_wait(&mut served.child, Duration::from_secs(60)));

    // Files the CLI writes: an export, and a store copied to a new file.
    let out = dir.path().join("c1.json");
    let copy = dir.path().join("copy.db");
    for args in [
        vec![
            "export",
            "--class",
            "c1",
            "--db",
            db.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        vec![
            "migrate-store",
            "--from",
            db.to_str().unwrap(),
            "--to",
            copy.to_str().unwrap(),
        ],
        vec![
            "migrate",
            "--db",
            dir.path().join("new.db").to_str().unwrap(),
        ],
    ] {
        let o = with_umask(Command::new(BIN).args(&args), USUAL_UMASK)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"c1\""));
    assert_owner_only(
        &[out, copy, dir.path().join("new.db")],
        "as a CLI command wrote it",
    );
}

/// The sandbox emulator's address, from serve's log.
fn emulator_base(served: &Served) -> String {
    for line in served.log_text().lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            if v["fields"]["message"] == "IM emulator listening" {
                return format!("http://{}", v["fields"]["addr"].as_str().unwrap());
            }
        }
    }
    panic!("no 'IM emulator listening' line:\n{}", served.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_inside_serve_has_no_open_control_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path());
    let emu = emulator_base(&served);
    let http = reqwest::Client::new();
    let faults = json!({"fail_rate": 1.0, "fail_codes": [10007]});
    let calls = [
        http.get(format!("{emu}/control/faults")),
        http.put(format!("{emu}/control/faults")).json(&faults),
        http.get(format!("{emu}/control/stats")),
        http.post(format!("{emu}/control/reset-stats")),
        http.put(format!("{emu}/control/secret-key"))
            .json(&json!({"secret_key": "attacker-chosen-key"})),
    ];
    for call in calls {
        let res = call.send().await.unwrap();
        assert_eq!(res.status(), 404, "{:?}", res.url().path());
    }
    // The IM API itself is there, behind its UserSig.
    let res = http
        .post(format!(
            "{emu}/v4/group_open_http_svc/send_group_msg?sdkappid=1&identifier=administrator&usersig=forged&random=1&contenttype=json"
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["ActionStatus"], "FAIL", "{v}");
    // Reports still go through, unfaulted.
    class_with_a_report(&served.base).await;
    // The sandbox's faults are set through the admin API.
    let res = http
        .put(format!("{}/v1/admin/sandbox/faults", served.base))
        .bearer_auth(ADMIN)
        .json(&json!({"fail_rate": 0.0, "fail_codes": [10002], "http500_rate": 0.0, "lost_response_rate": 0.0, "latency_ms": 0, "latency_jitter_ms": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    tokio::task::block_in_place(|| sigterm_and_wait(&mut served.child, Duration::from_secs(60)));
}
