//! The alignment commands over Tauri IPC (mock runtime, no window) on a real ReplayDesk
//! (SQLite file, sandbox IM emulator), each compared with its HTTP twin on loopback.

use serde_json::{json, Value};

use crate::util::Rig;

#[test]
fn class_alignment_command_answers_as_its_http_twin() {
    let rig = Rig::start();
    let (s, v) = rig.http(
        reqwest::Method::POST,
        "/v1/classes",
        Some(json!({"class_id": "c1", "group_id": "g1", "teacher_uid": "t"})),
    );
    assert_eq!(s, 201, "{v}");
    let by_ipc = rig
        .invoke("class_alignment", json!({"classId": "c1"}))
        .expect("class_alignment answers");
    let (s, by_http) = rig.http(reqwest::Method::GET, "/v1/admin/classes/c1/alignment", None);
    assert_eq!(s, 200);
    assert_eq!(by_ipc, by_http);
    assert_eq!(by_ipc["class_id"], "c1");
    // An empty class is missing its start and end.
    let codes: Vec<&str> = by_ipc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["class_start_missing", "class_end_missing"]);

    // Reconcile: start over IPC, read the run over both doors.
    let run = rig
        .invoke(
            "reconcile_class",
            json!({"classId": "c1", "body": {"pages_per_second": 0}}),
        )
        .expect("reconcile_class answers");
    assert_eq!(run["class_id"], "c1");
    let mut latest = Value::Null;
    for _ in 0..100 {
        latest = rig
            .invoke("class_reconcile", json!({"classId": "c1"}))
            .unwrap();
        if latest["state"] == "finished" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(latest["state"], "finished", "{latest}");
    let (_, by_http) = rig.http(reqwest::Method::GET, "/v1/admin/classes/c1/reconcile", None);
    assert_eq!(latest, by_http);
    let bad = rig
        .invoke(
            "reconcile_class",
            json!({"classId": "c1", "body": {"pages_per_second": "x"}}),
        )
        .unwrap_err();
    let (s, bad_http) = rig.http(
        reqwest::Method::POST,
        "/v1/admin/classes/c1/reconcile",
        Some(json!({"pages_per_second": "x"})),
    );
    assert_eq!(s, 422);
    assert_eq!(bad, bad_http);

    let err = rig
        .invoke("class_alignment", json!({"classId": "nope"}))
        .unwrap_err();
    let (s, http_err) = rig.http(
        reqwest::Method::GET,
        "/v1/admin/classes/nope/alignment",
        None,
    );
    assert_eq!(s, 404);
    assert_eq!(err, http_err);

    // Export: the same bundle through both doors (but for when it was made).
    let mut by_ipc = rig
        .invoke("export_class", json!({"classId": "c1"}))
        .expect("export_class answers");
    let (s, mut by_http) = rig.http(reqwest::Method::GET, "/v1/admin/classes/c1/export", None);
    assert_eq!(s, 200);
    assert_eq!(by_ipc["format"], "replaydesk-class-bundle/1");
    by_ipc["exported_at"] = Value::Null;
    by_http["exported_at"] = Value::Null;
    assert_eq!(by_ipc, by_http);
}
