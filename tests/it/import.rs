//! Import of a class bundle into another ReplayDesk: real servers (sandbox IM emulator,
//! SQLite files) over loopback, and the `replaydesk import` command.

use crate::util::server::*;
use replaydesk::store::{MessageFilter, MessageStatus};
use serde_json::{json, Value};
use std::time::Duration;

/// A class with two users (one reporting its round trip, one not), a start and an end,
/// all sent to the sandbox group, and its group history fetched by reconcile.
async fn source_class(t: &TestServer) {
    let token = t
        .create_class("room5", "replay_room5", "teacher_li", true)
        .await;
    for body in [
        json!({"uid": "teacher_li", "timestamp": 7_000_000u64, "rtt_ms": 60}),
        json!({"uid": "student_wu", "timestamp": 4_000_000u64}),
    ] {
        let (s, v) = t.report("room5", &token, &body).await;
        assert_eq!(s, 202, "{v}");
    }
    for (path, ts) in [("start", 7_000_010u64), ("end", 7_000_900)] {
        let (s, v) = t
            .post(
                &format!("/v1/classes/room5/{path}"),
                Some(&token),
                &json!({"uid": "teacher_li", "timestamp": ts}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    let store = t.store().clone();
    wait_until(Duration::from_secs(10), "four messages sent", || {
        let store = store.clone();
        async move {
            let f = MessageFilter {
                statuses: vec![MessageStatus::Sent],
                ..Default::default()
            };
            store.count_messages(&f).await.unwrap() == 4
        }
    })
    .await;
    let (s, v) = t
        .post(
            "/v1/admin/classes/room5/reconcile",
            Some(ADMIN),
            &json!({"pages_per_second": 0}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    for _ in 0..200 {
        let r = t.admin_get("/v1/admin/classes/room5/reconcile").await;
        if r["state"] == "finished" {
            return;
        }
        assert_ne!(r["state"], "failed", "{r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("reconcile did not finish");
}

async fn export(t: &TestServer, class: &str) -> Value {
    t.admin_get(&format!("/v1/admin/classes/{class}/export"))
        .await
}

async fn import_text(t: &TestServer, text: &str) -> (u16, Value) {
    let res = t
        .http
        .post(format!("{}/v1/admin/import", t.base))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// What a database holds, to show that a refused import changed nothing.
async fn contents(t: &TestServer) -> (Value, i64, Value) {
    let classes = t.admin_get("/v1/admin/classes").await;
    let audit = t.admin_get("/v1/admin/audit?limit=200").await;
    (classes, t.message_count().await, audit["items"].clone())
}

// The bundle comes from a SQLite store and goes into a fresh store of each engine.
on_both_engines! {
    async fn a_bundle_imported_into_a_fresh_database_aligns_identically(db) {
        let mut src = TestServer::start(|_| {}).await;
        source_class(&src).await;
        let bundle = export(&src, "room5").await;
        assert_eq!(bundle["history"].as_array().unwrap().len(), 4, "{bundle}");
        assert_eq!(bundle["reports"].as_array().unwrap().len(), 2);
        let source_alignment = src.admin_get("/v1/admin/classes/room5/alignment").await;
        assert_eq!(source_alignment["source"], "history");
        assert_eq!(
            source_alignment["users"][0]["segments"][0]["rtt_source"], "kernel",
            "{source_alignment}"
        );

        let mut dst = TestServer::start(|c| c.db = db.clone()).await;
        let (s, v) = import_text(&dst, &bundle.to_string()).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["class_id"], "room5");
        assert!(v["imported_at"].is_i64(), "{v}");
        assert_eq!(v["counts"]["sent"], 4, "{v}");
        let class = dst.admin_get("/v1/admin/classes/room5").await;
        assert!(
            class["imported_at"].is_i64(),
            "the class says it is imported: {class}"
        );
        let listed = dst.admin_get("/v1/admin/classes").await;
        assert!(listed[0]["imported_at"].is_i64(), "{listed}");
        let src_class = src.admin_get("/v1/admin/classes/room5").await;
        assert_eq!(src_class["imported_at"], Value::Null);

        let imported_alignment = dst.admin_get("/v1/admin/classes/room5/alignment").await;
        assert_eq!(imported_alignment, source_alignment);
        // The messages, attempts and reports read back as exported (the same ids: a fresh
        // database keeps them).
        let again = export(&dst, "room5").await;
        for part in [
            "members",
            "messages",
            "attempts",
            "reports",
            "history",
            "alignment",
        ] {
            assert_eq!(
                again[part], bundle[part],
                "{part} differs after the round trip"
            );
        }
        let audit = dst.admin_get("/v1/admin/audit").await;
        assert_eq!(audit["items"][0]["action"], "import_class");
        src.stop().await;
        dst.stop().await;
    }
}

on_both_engines! {
    /// An imported class is a record: messages still on their way at the source are never
    /// sent from here, and resend, bulk resend, recovery, reconcile, reopen, credentials and
    /// reports are all refused (into each engine).
    async fn an_imported_class_is_never_delivered_resent_or_reconciled(db) {
        let mut src = TestServer::start(|_| {}).await;
        source_class(&src).await;
        let mut bundle = export(&src, "room5").await;
        src.stop().await;
        // As if exported while delivery was still going on.
        let now = now_ms();
        for (m, status) in bundle["messages"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(["pending", "sending", "retrying", "sent"])
        {
            m["status"] = json!(status);
            if status != "sent" {
                m["next_attempt_at"] = json!(now);
            }
        }
        let mut dst = TestServer::start(|c| c.db = db.clone()).await;
        let (s, v) = import_text(&dst, &bundle.to_string()).await;
        assert_eq!(s, 201, "{v}");
        dst.desk.delivery().wake();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let emu = dst.desk.sandbox_emulator().expect("sandbox");
        assert_eq!(
            emu.history("replay_room5").len(),
            0,
            "nothing of an imported class reaches the group"
        );
        let msgs = dst
            .admin_get("/v1/admin/classes/room5/messages?limit=10")
            .await;
        let items = msgs["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        for m in items {
            let st = m["status"].as_str().unwrap();
            assert!(st == "sent" || st == "failed", "{m}");
            assert_eq!(m["attempt_count"], 1, "no attempt made here: {m}");
            if st == "failed" {
                let note = m["last_error"].as_str().unwrap();
                assert!(note.starts_with("imported: was still on its way"), "{m}");
            }
        }
        let id = items[0]["id"].as_i64().unwrap();
        let refused = [
            (format!("/v1/admin/messages/{id}/resend"), json!({})),
            ("/v1/admin/classes/room5/reconcile".to_owned(), json!({})),
            ("/v1/admin/classes/room5/reopen".to_owned(), json!({})),
            ("/v1/admin/classes/room5/create-group".to_owned(), json!({})),
            (
                "/v1/admin/recover".to_owned(),
                json!({"since_ms": 0, "class_id": "room5"}),
            ),
        ];
        for (path, body) in &refused {
            let (s, e) = dst.post(path, Some(ADMIN), body).await;
            assert_eq!(s, 409, "POST {path}: {e}");
            assert!(
                e["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("read-only record"),
                "POST {path}: {e}"
            );
        }
        let (s, e) = dst
            .post(
                "/v1/admin/classes/room5/members/teacher_li/credential",
                Some(ADMIN),
                &json!({}),
            )
            .await;
        assert_eq!(s, 409, "credential: {e}");
        // A bulk resend over every class does not count (or take) the imported messages.
        let (s, p) = dst
            .post(
                "/v1/admin/resend/preview",
                Some(ADMIN),
                &json!({"all_classes": true}),
            )
            .await;
        assert_eq!((s, p["count"].as_i64()), (200, Some(0)), "{p}");
        let (s, j) = dst
            .post("/v1/admin/recover", Some(ADMIN), &json!({"since_ms": 0}))
            .await;
        assert_eq!(s, 202, "{j}");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(emu.history("replay_room5").len(), 0);
        // Nobody can report into it: the class takes no credential.
        let (s, e) = dst
            .report(
                "room5",
                "anything",
                &json!({"uid": "teacher_li", "timestamp": 1u64}),
            )
            .await;
        assert_eq!(s, 401, "{e}");
        dst.stop().await;
    }
}

on_both_engines! {
    async fn bad_bundles_are_refused_clearly_and_change_nothing(db) {
        let mut src = TestServer::start(|_| {}).await;
        source_class(&src).await;
        let bundle = export(&src, "room5").await;
        src.stop().await;
        let mut dst = TestServer::start(|c| c.db = db.clone()).await;
        dst.create_class("room5", "replay_other", "teacher_li", false)
            .await;
        dst.create_class("room6", "replay_room5", "teacher_li", false)
            .await;
        let before = contents(&dst).await;

        let text = bundle.to_string();
        let mut wrong_version = bundle.clone();
        wrong_version["format"] = json!("replaydesk-class-bundle/2");
        let mut fresh_id = bundle.clone();
        fresh_id["class"]["class_id"] = json!("room_new");
        for m in fresh_id["messages"].as_array_mut().unwrap() {
            m["class_id"] = json!("room_new");
        }
        for m in fresh_id["members"].as_array_mut().unwrap() {
            m["class_id"] = json!("room_new");
        }
        let mut dangling = fresh_id.clone();
        dangling["class"]["group_id"] = json!("replay_new");
        for m in dangling["messages"].as_array_mut().unwrap() {
            m["group_id"] = json!("replay_new");
        }
        dangling["attempts"][0]["message_id"] = json!(999_999);
        let mut bad_status = dangling.clone();
        bad_status["attempts"][0]["message_id"] = bundle["attempts"][0]["message_id"].clone();
        bad_status["messages"][2]["status"] = json!("delivered");

        let cases: Vec<(&str, String, u16, &str)> = vec![
            (
                "wrong version",
                wrong_version.to_string(),
                422,
                "this ReplayDesk reads \"replaydesk-class-bundle/1\" only",
            ),
            (
                "truncated",
                text[..text.len() / 2].to_owned(),
                400,
                "not valid JSON",
            ),
            (
                "not a bundle",
                "[1, 2]".to_owned(),
                422,
                "must be a JSON object",
            ),
            (
                "class id exists",
                text.clone(),
                409,
                "class \"room5\" already exists",
            ),
            (
                "group belongs to another class",
                fresh_id.to_string(),
                409,
                "group \"replay_room5\" already belongs to class \"room6\"",
            ),
            (
                "attempt of no message",
                dangling.to_string(),
                422,
                "attempts[0].message_id: 999999 is not a message of the bundle",
            ),
            (
                "unknown status",
                bad_status.to_string(),
                422,
                "messages[2].status",
            ),
        ];
        for (what, body, status, says) in cases {
            let (s, e) = import_text(&dst, &body).await;
            assert_eq!(s, status, "{what}: {e}");
            let detail = e["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains(says),
                "{what}: {detail:?} should say {says:?}"
            );
            assert_eq!(contents(&dst).await, before, "{what} changed something");
        }
        dst.stop().await;
    }
}

/// `replaydesk export` then `replaydesk import` into a database that does not exist yet:
/// `replaydesk align --json` of both reads the same; a second import is refused.
#[tokio::test]
async fn the_import_command_round_trips_with_export_and_align() {
    let mut src = TestServer::start(|_| {}).await;
    source_class(&src).await;
    let src_db = src.dir.path().join("replaydesk.db");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("room5.json");
    let dst_db = dir.path().join("inspect.db");
    let bin = env!("CARGO_BIN_EXE_replaydesk");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .env_remove("REPLAYDESK_DB")
            .output()
            .unwrap()
    };
    let out = run(&[
        "export",
        "--class",
        "room5",
        "--db",
        src_db.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "import",
        file.to_str().unwrap(),
        "--db",
        dst_db.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported class room5"));
    let align = |db: &std::path::Path| {
        let out = run(&[
            "align",
            "--class",
            "room5",
            "--json",
            "--db",
            db.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(align(&dst_db), align(&src_db));
    let out = run(&[
        "import",
        file.to_str().unwrap(),
        "--db",
        dst_db.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already exists"), "{err}");
    std::fs::write(
        &file,
        b"{\"format\": \"replaydesk-class-bundle/1\", \"class\":",
    )
    .unwrap();
    let out = run(&[
        "import",
        file.to_str().unwrap(),
        "--db",
        dst_db.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not valid JSON"), "{err}");
    src.stop().await;
}
