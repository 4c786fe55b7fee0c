//! A planted secret never reaches the log: `replaydesk serve` as a real process with every
//! secret set (admin token, callback key, IM key, then a new IM key through the admin API),
//! logging at debug (trace for ReplayDesk itself), driven through class creation, credentials,
//! reports delivered to the IM emulator, a signed callback and shutdown; and the config
//! errors a secret's line or variable can cause. The log and every error are searched for
//! each secret, and for the bearer credentials handed out.
#![cfg(unix)]

use crate::util::process::{sigterm_and_wait, ServeCommand, Served, BIN};
use replaydesk::emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SDKAPPID: u64 = 1_400_000_009;
const ADMIN_SECRET: &str = "planted-admin-token-91c4e07b2a";
const CB_SECRET: &str = "planted-callback-key-5d7e22f1";
const IM_SECRET: &str = "plantedimkey0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4";
const IM_SECRET_NEW: &str = "plantednewimkey1f2e3d4c5b6a79880a1b2c3d4e5f6a7b8";

/// Every secret set, logging at debug (trace for ReplayDesk), every line kept.
fn serve(dir: &Path, im: &str) -> Served {
    let db = dir.join("replaydesk.db");
    ServeCommand::new(dir, &db)
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN_SECRET)
        .env("REPLAYDESK_CALLBACK_KEY", CB_SECRET)
        .env("REPLAYDESK_IM_ENDPOINT", im)
        .env("REPLAYDESK_IM_SDKAPPID", SDKAPPID.to_string())
        .env("REPLAYDESK_IM_SECRET_KEY", IM_SECRET)
        .env("RUST_LOG", "debug,replaydesk=trace")
        .keep_log()
        .spawn()
}

/// `replaydesk serve` that must fail at configuration: its whole output.
fn config_error(dir: &Path, file: Option<&str>, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(BIN);
    // No --listen: it would override REPLAYDESK_LISTEN.
    cmd.args(["serve", "--db"])
        .arg(dir.join("config-error.db"))
        .current_dir(dir)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(text) = file {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{file:?} {env:?} was accepted: serve is running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{file:?} {env:?} was accepted");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_secret_never_reaches_the_log_or_a_config_error() {
    let mut cfg = EmulatorConfig::new(SDKAPPID, IM_SECRET);
    cfg.group_rate = 0;
    let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &emu.base_url());
    let http = reqwest::Client::new();
    let base = served.base.clone();

    let v: Value = http
        .post(format!("{base}/v1/classes"))
        .bearer_auth(ADMIN_SECRET)
        .json(&json!({"class_id": "c1", "group_id": "g1", "teacher_uid": "teacher_li", "create_group": true, "legacy_class_token": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let teacher = v["teacher_credential"]
        .as_str()
        .expect("created")
        .to_owned();
    let legacy = v["report_token"].as_str().unwrap().to_owned();
    let student: Value = http
        .post(format!(
            "{base}/v1/admin/classes/c1/members/student_wang/credential"
        ))
        .bearer_auth(ADMIN_SECRET)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let student = student["credential"].as_str().unwrap().to_owned();
    for (cred, uid, path) in [
        (&teacher, "teacher_li", "start"),
        (&teacher, "teacher_li", "timeline"),
        (&student, "student_wang", "timeline"),
        (&legacy, "teacher_li", "timeline"),
    ] {
        let res = http
            .post(format!("{base}/v1/classes/c1/{path}"))
            .bearer_auth(cred)
            .json(&json!({"uid": uid, "timestamp": 1_000 + path.len()}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "{uid} {path}");
    }
    // Refused attempts: wrong tokens that look like the real ones.
    for wrong in [format!("{ADMIN_SECRET}x"), format!("{teacher}x")] {
        let res = http
            .get(format!("{base}/v1/admin/classes"))
            .bearer_auth(&wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    // Secrets in a query string: the console's sign-in link (`/?token=`), and the same
    // mistake on API paths. Each request is logged (its span at debug), its query not.
    for path in [
        format!("/?token={ADMIN_SECRET}"),
        format!("/v1/admin/classes?token={ADMIN_SECRET}&limit=5"),
        format!("/v1/classes/c1/timeline?credential={teacher}"),
    ] {
        // The console's page (when its files are there) or a refusal: either way answered.
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
    }
    // A signed callback (its sign is md5 of the key and t, not the key).
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let mut cb: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/recording_callback_mp4.json"
        ))
        .unwrap(),
    )
    .unwrap();
    cb["t"] = t.into();
    cb["sign"] = replaydesk::callback::expected_sign(
        &replaydesk::secret::Secret::new(CB_SECRET),
        &t.to_string(),
    )
    .into();
    let res = http
        .post(format!("{base}/v1/callbacks/recording"))
        .body(cb.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A new IM key through the admin API, then the messages delivered with it.
    let res = http
        .put(format!("{base}/v1/admin/im/secret-key"))
        .bearer_auth(ADMIN_SECRET)
        .json(&json!({"secret_key": IM_SECRET_NEW}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let start = Instant::now();
    while emu.history("g1").len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "messages not delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::task::block_in_place(|| sigterm_and_wait(&mut served.child, Duration::from_secs(60)));
    std::thread::sleep(Duration::from_millis(200));
    let log = served.log_text();
    assert!(
        log.lines().count() > 20,
        "the log says something at this level:\n{log}"
    );
    assert!(
        log.contains("/v1/classes/c1/timeline"),
        "requests are logged"
    );
    for secret in [
        ADMIN_SECRET,
        CB_SECRET,
        IM_SECRET,
        IM_SECRET_NEW,
        &teacher,
        &student,
        &legacy,
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    assert!(
        log.contains("/v1/admin/classes?token=***&limit=***"),
        "a query is logged with its names, not its values"
    );

    // Config errors on a secret's line, or a secret in the wrong variable.
    type Case<'a> = (Option<String>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            Some(format!("[im]\nsecret_key = \"{IM_SECRET}\nsdkappid = 1\n")),
            vec![],
        ),
        (Some(format!("callback_key = {CB_SECRET}\n")), vec![]),
        (Some(format!("admin_tokn = \"{ADMIN_SECRET}\"\n")), vec![]),
        (
            Some(format!("[im]\nendpoint = \"https://u:{IM_SECRET}@x\"\n")),
            vec![],
        ),
        (None, vec![("REPLAYDESK_IM_SDKAPPID", IM_SECRET)]),
        (None, vec![("REPLAYDESK_LISTEN", ADMIN_SECRET)]),
        (None, vec![("REPLAYDESK_ADMIN_TOKEN", "short secret!")]),
    ];
    for (file, env) in cases {
        let out = config_error(dir.path(), file.as_deref(), &env);
        for secret in [ADMIN_SECRET, CB_SECRET, IM_SECRET, "short secret!"] {
            assert!(
                !out.contains(secret),
                "{file:?} {env:?}: {secret} in\n{out}"
            );
        }
        assert!(!out.trim().is_empty(), "{file:?} {env:?}: says nothing");
    }
}
