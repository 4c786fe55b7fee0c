//! The admin commands over Tauri IPC (mock runtime: no window, no display) on a real
//! ReplayDesk: a SQLite file in a temporary directory and the sandbox IM emulator. The
//! same desk also serves HTTP on loopback, so each answer is compared with its HTTP twin.

use replaydesk_emulator::FaultConfig;
use replaydesk_store::{ClassEvent, MessageStatus};
use serde_json::{json, Value};

use crate::util::Rig;

/// A rig whose failed sends retry within milliseconds, so the tests need not wait.
fn rig() -> Rig {
    Rig::start_with(|config| config.delivery.retry_schedule = Some("30ms,60ms".into()))
}

fn statuses(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn admin_commands_do_what_their_http_twins_do() {
    let rig = rig();

    // Create a class (with its IM group) through the command.
    let created = rig.ok(
        "create_class",
        json!({"body": {"class_id": "c1", "group_id": "g1", "teacher_uid": "t1", "create_group": true}}),
    );
    assert_eq!(created["class_id"], "c1");
    assert!(created["teacher_credential"].as_str().unwrap().len() >= 16);
    let student = rig.ok("member_credential", json!({"classId": "c1", "uid": "s1"}));
    assert_eq!(student["uid"], "s1");

    // Two class events reported through the library; the worker sends them.
    let desk = rig.desk.clone();
    tauri::async_runtime::block_on(async {
        for (event, ts) in [(ClassEvent::Start, 1000), (ClassEvent::End, 9000)] {
            let report = replaydesk_service::ClassEventReport {
                uid: "t1".into(),
                timestamp: ts,
            };
            desk.record_class_event("c1", event, report).await.unwrap();
        }
    });
    rig.wait_for("both messages sent", || {
        let page = rig.ok(
            "class_messages",
            json!({"classId": "c1", "query": {"status": ["sent"]}}),
        );
        page["items"].as_array().unwrap().len() == 2
    });

    // Listings: the same JSON through both doors.
    for (cmd, args, path) in [
        ("list_classes", json!({}), "/v1/admin/classes"),
        (
            "list_classes",
            json!({"query": {"q": "C1"}}),
            "/v1/admin/classes?q=C1",
        ),
        (
            "get_class",
            json!({"classId": "c1"}),
            "/v1/admin/classes/c1",
        ),
        (
            "class_members",
            json!({"classId": "c1"}),
            "/v1/admin/classes/c1/members",
        ),
        (
            "class_reports",
            json!({"classId": "c1", "query": {"limit": 5}}),
            "/v1/admin/classes/c1/reports?limit=5",
        ),
        (
            "class_messages",
            json!({"classId": "c1", "query": {"type": ["class_end", 1001], "limit": 1}}),
            "/v1/admin/classes/c1/messages?type=class_end&type=1001&limit=1",
        ),
        (
            "list_messages",
            json!({"query": {"class": "c1", "retried": false}}),
            "/v1/admin/messages?class=c1&retried=false",
        ),
        ("list_alerts", json!({}), "/v1/admin/alerts"),
        (
            "list_callbacks",
            json!({"query": {"status": "all"}}),
            "/v1/admin/callbacks?status=all",
        ),
    ] {
        let (status, over_http) = rig.http_get(path);
        assert_eq!(status, 200, "{path}: {over_http}");
        assert_eq!(rig.ok(cmd, args), over_http, "{cmd} vs GET {path}");
    }
    let q = rig.ok("list_classes", json!({"query": {"q": "nothing-like-it"}}));
    assert_eq!(q, json!([]));

    // One message with its attempts, then a manual resend.
    let page = rig.ok(
        "list_messages",
        json!({"query": {"class": "c1", "type": "1001"}}),
    );
    let id = page["items"][0]["id"].as_i64().unwrap();
    let detail = rig.ok("get_message", json!({"id": id}));
    assert_eq!(detail["message"]["status"], "sent");
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(detail, rig.http_get(&format!("/v1/admin/messages/{id}")).1);
    // A sent message is resent only when the caller says it wants a second copy in the
    // group, through this door as over HTTP.
    let refused = rig
        .invoke("resend_message", json!({"id": id}))
        .expect_err("a sent message resent without duplicate: true");
    assert_eq!(refused["error"], "conflict", "{refused}");
    let resent = rig.ok(
        "resend_message",
        json!({"id": id, "body": {"duplicate": true}}),
    );
    assert_eq!(resent["queued"], true);
    rig.wait_for("the resend to be sent", || {
        let d = rig.ok("get_message", json!({"id": id}));
        d["attempts"].as_array().unwrap().len() == 2 && d["message"]["status"] == "sent"
    });

    // IM refuses everything (the sandbox's fault knobs, set by their command): the end
    // message is resent in bulk and fails for good.
    let emu = rig.desk.sandbox_emulator().expect("sandbox mode").clone();
    let knobs = rig.ok(
        "set_sandbox_faults",
        json!({"body": {"fail_rate": 1.0, "fail_codes": [10004]}}),
    );
    assert_eq!(
        (knobs["fail_rate"].as_f64(), knobs["latency_ms"].as_u64()),
        (Some(1.0), Some(0))
    );
    assert_eq!(
        emu.faults(),
        FaultConfig {
            fail_rate: 1.0,
            fail_codes: vec![10004],
            ..FaultConfig::none()
        }
    );
    let job = rig.ok(
        "bulk_resend",
        json!({"body": {"class_id": "c1", "types": ["class_end"], "include_sent": true, "confirm_count": 1}}),
    );
    let job_id = job["id"].as_i64().unwrap();
    rig.wait_for("the bulk job to finish", || {
        rig.ok("get_job", json!({"id": job_id}))["state"] != "running"
    });
    rig.wait_for("the end message to fail", || {
        let p = rig.ok(
            "class_messages",
            json!({"classId": "c1", "query": {"status": "failed"}}),
        );
        statuses(&p) == ["failed"]
    });
    let jobs = rig.ok("list_jobs", json!({"query": {"limit": 10}}));
    assert_eq!(jobs[0]["id"], job_id);
    // The job's messages: the one end message it took, the same through both doors.
    let taken = rig.ok("job_messages", json!({"id": job_id, "query": {}}));
    assert_eq!(taken["items"].as_array().map(Vec::len), Some(1), "{taken}");
    assert_eq!(
        taken,
        rig.http_get(&format!("/v1/admin/jobs/{job_id}/messages")).1
    );
    assert_eq!(jobs, rig.http_get("/v1/admin/jobs?limit=10").1);

    // IM healthy again: recover everything failed since the start of time.
    rig.ok("set_sandbox_faults", json!({"body": {}}));
    assert_eq!(emu.faults().fail_rate, 0.0);
    let rec = rig.ok(
        "recover",
        json!({"body": {"since_ms": 0, "class_id": "c1"}}),
    );
    assert!(rec["id"].as_i64().unwrap() > job_id);
    rig.wait_for("the failed message to be sent", || {
        let p = rig.ok(
            "class_messages",
            json!({"classId": "c1", "query": {"status": ["failed", "retrying", "pending"]}}),
        );
        p["items"].as_array().unwrap().is_empty()
    });
    let failed = rig.desk.clone();
    let n_failed = tauri::async_runtime::block_on(async move {
        let f = replaydesk_store::MessageFilter {
            statuses: vec![MessageStatus::Failed],
            ..Default::default()
        };
        failed.count_messages(&f).await.unwrap()
    });
    assert_eq!(n_failed, 0);

    // Every action is audited as done from the desktop.
    let audit = rig.ok("list_audit", json!({"query": {"limit": 50}}));
    let actors: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(actors.len() >= 4, "{audit}");
    assert!(actors.iter().all(|a| *a == "desktop"), "{actors:?}");
    // ... through the desktop app's own door (issue 23: the door is kept with the person).
    let doors: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["door"].as_str().unwrap())
        .collect();
    assert!(doors.iter().all(|d| *d == "desktop"), "{doors:?}");
    assert_eq!(audit, rig.http_get("/v1/admin/audit?limit=50").1);

    // A new secret key is taken (sandbox: the emulator's own, so sending goes on).
    let key = replaydesk_emulator::EmulatorConfig::sandbox().secret_key;
    assert_eq!(
        rig.ok("set_secret_key", json!({"body": {"secret_key": key}})),
        Value::Null
    );
}

#[test]
fn admin_command_errors_read_like_the_http_error_body() {
    let rig = rig();
    // (command, args, HTTP twin's (path, status)) for refusals of every kind.
    let cases = [
        (
            "get_class",
            json!({"classId": "nope"}),
            "/v1/admin/classes/nope",
            404,
        ),
        (
            "get_message",
            json!({"id": 424242}),
            "/v1/admin/messages/424242",
            404,
        ),
        ("get_job", json!({"id": 77}), "/v1/admin/jobs/77", 404),
        (
            "job_messages",
            json!({"id": 77, "query": {}}),
            "/v1/admin/jobs/77/messages",
            404,
        ),
        (
            "get_callback",
            json!({"id": 5}),
            "/v1/admin/callbacks/5",
            404,
        ),
        (
            "class_messages",
            json!({"classId": "zz", "query": {}}),
            "/v1/admin/classes/zz/messages",
            404,
        ),
        (
            "list_messages",
            json!({"query": {"status": ["lost"]}}),
            "/v1/admin/messages?status=lost",
            400,
        ),
        (
            "list_messages",
            json!({"query": {"limit": 0}}),
            "/v1/admin/messages?limit=0",
            400,
        ),
        (
            "list_messages",
            json!({"query": {"colour": "red"}}),
            "/v1/admin/messages?colour=red",
            400,
        ),
        (
            "list_audit",
            json!({"query": {"cursor": "x"}}),
            "/v1/admin/audit?cursor=x",
            400,
        ),
        (
            "list_callbacks",
            json!({"query": {"status": "gone"}}),
            "/v1/admin/callbacks?status=gone",
            400,
        ),
    ];
    for (cmd, args, path, http_status) in cases {
        let err = rig
            .invoke(cmd, args)
            .expect_err(&format!("{cmd} must be refused"));
        let (status, body) = rig.http_get(path);
        assert_eq!(status, http_status, "{path}: {body}");
        assert_eq!(err, body, "{cmd} vs GET {path}");
        assert_eq!(err.as_object().unwrap().len(), 2, "{err}");
    }

    // Bodies: the refusal names the field, and nothing changes.
    for (cmd, args, error, detail) in [
        (
            "bulk_resend",
            json!({"body": {}}),
            "invalid_request",
            "class_id: a bulk resend names its classes",
        ),
        (
            "bulk_resend",
            json!({"body": {"statuss": ["failed"]}}),
            "invalid_request",
            "statuss: unknown field",
        ),
        (
            "bulk_resend",
            json!({"body": {"statuses": ["gone"]}}),
            "invalid_request",
            "statuses: unknown status",
        ),
        (
            "recover",
            json!({"body": {}}),
            "invalid_request",
            "since_ms: missing",
        ),
        (
            "recover",
            json!({"body": {"since_ms": -1}}),
            "invalid_request",
            "since_ms: must not be negative",
        ),
        (
            "create_class",
            json!({"body": {"class_id": "c", "group_id": "g"}}),
            "invalid_request",
            "teacher_uid: missing",
        ),
        (
            "create_class",
            json!({"body": {"class_id": "c", "group_id": "g", "teacher_uid": "t", "colour": 1}}),
            "invalid_request",
            "colour: unknown field",
        ),
        (
            "create_class",
            json!({"body": "c1"}),
            "invalid_request",
            "body: must be a JSON object",
        ),
        (
            "set_secret_key",
            json!({"body": {"secret_key": ""}}),
            "invalid_request",
            "secret_key: must not be empty",
        ),
        (
            "assign_callback",
            json!({"id": 1, "body": {"class_id": "c"}}),
            "invalid_request",
            "uid: missing",
        ),
        (
            "resend_message",
            json!({"id": 999}),
            "not_found",
            "message 999",
        ),
    ] {
        let err = rig.invoke(cmd, args).expect_err(cmd);
        assert_eq!(err["error"], error, "{cmd}: {err}");
        let d = err["detail"].as_str().unwrap();
        assert!(d.contains(detail), "{cmd}: {d}");
    }
    assert_eq!(rig.ok("list_classes", json!({})), json!([]));
    assert_eq!(rig.ok("list_jobs", json!({})), json!([]));
}
