//! The commands, called the way the webview calls them (Tauri IPC), over the mock runtime:
//! no window, no display; the backend is a real one (SQLite file in a temp dir, sandbox IM
//! emulator, delivery worker), started as the app starts it.

use replaydesk_clock::NativeClock;
use replaydesk_desktop_lib::backend::DesktopPaths;
use replaydesk_desktop_lib::build_app;
use replaydesk_host::Host;
use replaydesk_service::config::Config;
use replaydesk_service::secret_store::SecretStore;
use replaydesk_service::ReplayDesk;
use serde_json::{json, Value};
use std::sync::Arc;
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};

use crate::util;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};

struct Fixture {
    dir: tempfile::TempDir,
    app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let desk = self.app.state::<ReplayDesk>().inner().clone();
        tauri::async_runtime::block_on(desk.shutdown());
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let secrets = SecretStore::file(dir.path().join("config").join("secrets.toml"));
    let paths = DesktopPaths {
        config_file: dir.path().join("config").join("replaydesk.toml"),
        data_dir: dir.path().join("data"),
        secrets,
    };
    let config = Config::load_desktop(&paths.config_file, &paths.data_dir, paths.secrets.clone())
        .expect("an empty configuration loads");
    std::fs::create_dir_all(&paths.data_dir).unwrap();
    let desk = tauri::async_runtime::block_on(ReplayDesk::start(config)).expect("backend starts");
    let host = Host::new(
        desk.clone(),
        Arc::new(NativeClock),
        "http://127.0.0.1:8080".into(),
    )
    .listening_on("127.0.0.1:8080".parse().unwrap());
    let app = build_app(mock_builder())
        .manage(desk)
        .manage(host)
        .manage(paths)
        .build(mock_context(noop_assets()))
        .expect("the app builds");
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("the main window builds");
    Fixture { dir, app, webview }
}

fn invoke(f: &Fixture, cmd: &str, args: Value) -> Result<Value, Value> {
    util::invoke(&f.webview, cmd, args)
}

#[test]
fn app_info_reports_the_embedded_backends_mode() {
    let f = fixture();
    let info = invoke(&f, "app_info", json!({})).expect("app_info answers");
    assert_eq!(
        info,
        json!({ "version": env!("CARGO_PKG_VERSION"), "sandbox": true, "im_endpoint": null })
    );
    assert_eq!(info["version"], replaydesk_service::app::VERSION);
    // Only registered commands are reachable.
    assert!(invoke(&f, "no_such_command", json!({})).is_err());
}

#[test]
fn host_creates_starts_and_ends_a_class_and_its_messages_reach_sent() {
    let f = fixture();
    let created = invoke(
        &f,
        "host_create_class",
        json!({ "body": { "class_id": "c-ipc", "group_id": "g-ipc", "teacher_uid": "teacher_li" } }),
    )
    .expect("class created");
    assert_eq!(created["class_id"], "c-ipc");
    assert!(created["teacher_credential"].is_string());

    let listed = invoke(&f, "host_list_classes", json!({})).unwrap();
    assert_eq!(listed[0]["class_id"], "c-ipc");

    let started = invoke(&f, "host_start_class", json!({ "classId": "c-ipc" })).unwrap();
    assert!(started["timestamp"].as_u64().unwrap() > 0);

    let mut status = Value::Null;
    for _ in 0..100 {
        status = invoke(&f, "host_status", json!({ "classId": "c-ipc" })).unwrap();
        if status["counts"]["sent"] == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(status["counts"]["sent"], 2, "{status}");
    assert_eq!(status["hosting"], true);
    assert_eq!(status["class"]["state"], "started");
    assert_eq!(status["last_error"], Value::Null);
    assert_eq!(status["join"]["server_url"], "http://127.0.0.1:8080");
    assert!(status["join"]["qr_svg"].as_str().unwrap().contains("<svg"));
    // Loopback: the join info says students cannot use it, and offers this machine's
    // network addresses (none of them loopback) at the same port.
    assert_eq!(status["join"]["reachable"], false, "{status}");
    let warning = status["join"]["warning"].as_str().unwrap();
    assert!(
        warning.contains("cannot reach http://127.0.0.1:8080"),
        "{warning}"
    );
    for a in status["join"]["addresses"].as_array().unwrap() {
        let url = a["url"].as_str().unwrap();
        assert!(url.ends_with(":8080") && !url.contains("127.0.0.1"), "{a}");
    }
    let join = invoke(
        &f,
        "host_join_info",
        json!({ "classId": "c-ipc", "uid": "stu_1" }),
    )
    .unwrap();
    assert_eq!(join["uid"], "stu_1");
    assert!(join["credential"].as_str().unwrap().len() >= 32, "{join}");
    assert!(join["text"].as_str().unwrap().contains("class_id: c-ipc"));

    invoke(&f, "host_end_class", json!({ "classId": "c-ipc" })).unwrap();
    let status = invoke(&f, "host_status", json!({ "classId": "c-ipc" })).unwrap();
    assert_eq!(status["hosting"], false);
    assert_eq!(status["counts"]["total"], 3);

    // Errors are the HTTP API's error bodies.
    let err = invoke(&f, "host_start_class", json!({ "classId": "nope" })).unwrap_err();
    assert_eq!(err["error"], "not_found", "{err}");
    assert!(err["detail"].as_str().unwrap().contains("nope"));
    let err = invoke(
        &f,
        "host_create_class",
        json!({ "body": { "class_id": "c-ipc", "group_id": "g-2", "teacher_uid": "t" } }),
    )
    .unwrap_err();
    assert_eq!(err["error"], "conflict", "{err}");
}

#[test]
fn a_secret_planted_through_settings_appears_in_no_answer_the_database_or_the_log() {
    const PLANTED: &str = "PLANTED-secret-8c1f2e";
    const PLANTED_CB: &str = "PLANTED-callback-77aa";
    let f = fixture();
    let saved = invoke(
        &f,
        "save_settings",
        json!({ "body": {
            "im_endpoint": "https://adminapisgp.im.qcloud.com",
            "sdkappid": 1400000001u64,
            "im_admin": "administrator",
            "secret_key": PLANTED,
            "callback_key": PLANTED_CB,
            "listen": "127.0.0.1:8123",
        } }),
    )
    .expect("settings saved");
    assert_eq!(saved["secret_key_set"], true);
    assert_eq!(saved["callback_key_set"], true);
    assert_eq!(saved["im_endpoint"], "https://adminapisgp.im.qcloud.com");
    assert!(saved["regional_hosts"].as_array().unwrap().len() >= 5);

    // Bad input: a clear error, and nothing changes.
    let err = invoke(
        &f,
        "save_settings",
        json!({ "body": { "listen": "everywhere" } }),
    )
    .unwrap_err();
    assert_eq!(err["error"], "invalid_request", "{err}");
    assert!(err["detail"].as_str().unwrap().starts_with("listen:"));
    let after = invoke(&f, "get_settings", json!({})).unwrap();
    assert_eq!(after["listen"], "127.0.0.1:8123");
    // What runs now is said apart from what the file holds.
    assert_eq!(after["listening_on"], "127.0.0.1:8080");

    // Every command's answer, the settings file, the database and the logs: no secret.
    let mut answers = vec![saved, after, err];
    answers.push(invoke(&f, "app_info", json!({})).unwrap());
    answers.push(invoke(&f, "host_list_classes", json!({})).unwrap());
    invoke(
        &f,
        "host_create_class",
        json!({ "body": { "class_id": "c-s", "group_id": "g-s", "teacher_uid": "t" } }),
    )
    .map(|v| answers.push(v))
    .unwrap();
    answers.push(invoke(&f, "host_start_class", json!({ "classId": "c-s" })).unwrap());
    answers.push(invoke(&f, "host_status", json!({ "classId": "c-s" })).unwrap());
    answers.push(invoke(&f, "host_end_class", json!({ "classId": "c-s" })).unwrap());
    for a in &answers {
        let text = a.to_string();
        assert!(
            !text.contains(PLANTED) && !text.contains(PLANTED_CB),
            "{text}"
        );
    }
    let mut files = vec![f.dir.path().join("config").join("replaydesk.toml")];
    for entry in std::fs::read_dir(f.dir.path().join("data")).unwrap() {
        files.push(entry.unwrap().path()); // replaydesk.db, -wal, -shm
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for secret in [PLANTED, PLANTED_CB] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the secret",
                file.display()
            );
        }
    }
    // Where it is kept: the 0600 file (no keychain in tests).
    let kept = std::fs::read_to_string(f.dir.path().join("config").join("secrets.toml")).unwrap();
    assert!(kept.contains(PLANTED));
}

/// While the backend starts, a command waits for it and then answers as usual; once the
/// start has failed, a command is refused with the reason. (The app manages `Started`
/// before its window exists and the desk once the backend is up: `backend::start`.)
#[test]
fn a_command_waits_for_the_backend_and_hears_why_it_could_not_start() {
    use replaydesk_desktop_lib::backend::{starting, Startup};
    let (tell, started) = starting();
    let app = build_app(mock_builder())
        .manage(started)
        .build(mock_context(noop_assets()))
        .expect("the app builds");
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("the main window builds");
    let asking = {
        let webview = webview.clone();
        std::thread::spawn(move || util::invoke(&webview, "app_info", json!({})))
    };
    // Not answered while the backend is starting (there is no desk to answer with yet).
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!asking.is_finished(), "answered before the backend was up");
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: dir.path().join("replaydesk.db"),
        ..Default::default()
    };
    let desk = tauri::async_runtime::block_on(ReplayDesk::start(config)).expect("backend starts");
    app.manage(desk.clone());
    tell.send_replace(Startup::Ready);
    let info = asking
        .join()
        .unwrap()
        .expect("app_info answers once the backend is up");
    assert_eq!(info["version"], json!(env!("CARGO_PKG_VERSION")));
    tauri::async_runtime::block_on(desk.shutdown());

    let (tell, started) = starting();
    let app = build_app(mock_builder())
        .manage(started)
        .build(mock_context(noop_assets()))
        .expect("the app builds");
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("the main window builds");
    tell.send_replace(Startup::Failed("cannot listen on 127.0.0.1:8080".into()));
    let refused = util::invoke(&webview, "app_info", json!({})).expect_err("refused");
    assert_eq!(refused["error"], json!("unavailable"), "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("cannot listen on 127.0.0.1:8080"),
        "{refused}"
    );
}
