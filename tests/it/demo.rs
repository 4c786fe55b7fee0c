//! `replaydesk demo` against a real `serve` (in process, sandbox emulator, SQLite in a temp
//! dir), over real HTTP: it leaves something in every console view, only in an empty
//! console with `--if-empty`, and never on a real IM service unless asked.

use crate::util::server::{wait_until, TestServer, ADMIN};
use replaydesk::demo::{demo, DemoArgs, DemoOutcome};
use replaydesk::emulator::{Emulator, EmulatorConfig};
use replaydesk::secret::Secret;
use serde_json::Value;
use std::time::Duration;

const CALLBACK_KEY: &str = "demo-test-callback-key-0123";
const TRTC_KEY: &str = "demoTestTrtcKey0123";

fn args(t: &TestServer, if_empty: bool) -> DemoArgs {
    DemoArgs {
        url: t.base.clone(),
        token: ADMIN.into(),
        callback_key: Some(CALLBACK_KEY.into()),
        trtc_callback_key: Some(TRTC_KEY.into()),
        if_empty,
        real_im: false,
        heartbeat_secs: 0,
    }
}

fn class_counts(classes: &Value, id: &str) -> Value {
    classes
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class_id"] == id)
        .unwrap_or_else(|| panic!("class {id} listed: {classes}"))["counts"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fills_classes_reports_callbacks_alignment_and_failures() {
    let mut t = TestServer::start(|c| {
        c.callback_key = Some(Secret::new(CALLBACK_KEY));
        c.trtc_callback_key = Some(Secret::new(TRTC_KEY));
    })
    .await;
    let DemoOutcome::Made(d) = demo(&args(&t, true)).await.expect("demo runs") else {
        panic!("an empty server gets demo data");
    };

    // Timeline reports: 3 clients x 4 rounds accepted, one refused with its reason; the
    // teacher's 32-bit clock wrapped during the demo.
    let reports = t
        .admin_get(&format!(
            "/v1/admin/classes/{}/reports?limit=100",
            d.class_id
        ))
        .await;
    let items = reports["items"].as_array().unwrap();
    let accepted = items.iter().filter(|r| r["accepted"] == true).count();
    let refused: Vec<_> = items.iter().filter(|r| r["accepted"] == false).collect();
    assert_eq!(accepted, 12, "{reports}");
    assert_eq!(refused.len(), 1, "{reports}");
    assert!(
        refused[0]["refusal_reason"]
            .as_str()
            .is_some_and(|r| r.contains("rtt")),
        "{reports}"
    );
    let teacher: Vec<i64> = items
        .iter()
        .filter(|r| r["uid"] == "teacher_li" && r["accepted"] == true)
        .map(|r| r["client_timestamp"].as_i64().unwrap())
        .collect();
    assert!(
        teacher.iter().any(|&c| c > (1 << 32) - 2_000),
        "{teacher:?}"
    );
    assert!(teacher.iter().any(|&c| c < 10_000), "wrapped: {teacher:?}");

    // Callbacks: two matched, one waiting to be assigned, one refused for its sign.
    let cbs = t.admin_get("/v1/admin/callbacks?limit=100").await;
    let mut statuses: Vec<&str> = cbs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"] == "css")
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        ["accepted", "accepted", "refused", "unmatched"],
        "{cbs}"
    );

    // The TRTC class: 301, two 307, two 311, all answered 200; two 1004s (main and aux)
    // and its recorder's life.
    assert_eq!(d.trtc.statuses, [200; 5], "{:?}", d.trtc);
    let trtc_cbs: Vec<&str> = cbs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"] == "trtc")
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        trtc_cbs.iter().filter(|s| **s == "accepted").count(),
        2,
        "{cbs}"
    );
    assert_eq!(
        trtc_cbs.iter().filter(|s| **s == "recorded").count(),
        3,
        "{cbs}"
    );
    let life = t
        .admin_get(&format!(
            "/v1/admin/classes/{}/recorder-events",
            d.trtc.class_id
        ))
        .await;
    assert_eq!(life.as_array().unwrap().len(), 5, "{life}");
    let trtc_class = t
        .admin_get(&format!("/v1/admin/classes/{}", d.trtc.class_id))
        .await;
    assert_eq!(trtc_class["room_id"], d.trtc.room_id);
    let mut media: Vec<&str> = life
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stage"] == "ready")
        .map(|e| e["media"].as_str().unwrap())
        .collect();
    media.sort();
    assert_eq!(media, ["aux", "main"], "{life}");

    // Messages: the class's (1001, 1003s, 1004s, 1002) are sent; the group-less class's fail.
    wait_until(Duration::from_secs(20), "demo messages settle", || async {
        let classes = t.admin_get("/v1/admin/classes").await;
        let good = class_counts(&classes, &d.class_id);
        let bad = class_counts(&classes, &d.broken_class_id);
        good["sent"] == good["total"] && bad["failed"] == bad["total"]
    })
    .await;
    let classes = t.admin_get("/v1/admin/classes").await;
    let good = class_counts(&classes, &d.class_id);
    assert_eq!(good["total"], 1 + 12 + 2 + 1, "{classes}");
    assert_eq!(class_counts(&classes, &d.broken_class_id)["total"], 3);
    // One class's own page counts only its messages (the same as the list's).
    for id in [&d.class_id, &d.broken_class_id] {
        let one = t.admin_get(&format!("/v1/admin/classes/{id}")).await;
        assert_eq!(one["counts"], class_counts(&classes, id), "{one}");
    }
    // The outage is over: the sandbox IM is healthy again, and the demo's switch is audited.
    let emu = t.desk.sandbox_emulator().expect("sandbox");
    let knobs = emu.faults();
    assert_eq!(
        (
            knobs.fail_rate,
            knobs.http500_rate,
            knobs.lost_response_rate,
            knobs.latency_ms
        ),
        (0.0, 0.0, 0.0, 0),
        "{knobs:?}"
    );
    let audit = t.admin_get("/v1/admin/audit?limit=100").await.to_string();
    assert_eq!(audit.matches("set_sandbox_faults").count(), 2, "{audit}");

    // The alignment view has lanes for the three clients and both recordings.
    let align = t
        .admin_get(&format!("/v1/admin/classes/{}/alignment", d.class_id))
        .await;
    let text = align.to_string();
    for needle in [
        "teacher_li",
        "student_wang",
        "student_zhao",
        "-teacher",
        "-student",
    ] {
        assert!(text.contains(needle), "{needle} in alignment: {align}");
    }
    // The rebooted student's clock reads about 35 s: as small as a stream offset, but the
    // evidence places its video by that clock, inside the class, and says why.
    let zhao = align["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["uid"] == "student_zhao")
        .expect("student_zhao's video");
    let (start, end) = (
        align["class_start_ms"].as_i64().unwrap(),
        align["class_end_ms"].as_i64().unwrap(),
    );
    let at = zhao["start_ms"].as_i64().unwrap();
    assert_eq!(zhao["chosen"], "client_clock", "{zhao}");
    assert_eq!(zhao["reason"], "evidence", "{zhao}");
    assert!(
        start - 5_000 <= at && at <= end,
        "{at} not in {start}..{end}: {zhao}"
    );
    assert!(
        zhao["reason_text"]
            .as_str()
            .unwrap()
            .contains("after the class ended"),
        "{zhao}"
    );
    assert!(
        !text.contains("recording_outside_class"),
        "no video outside the class: {align}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_if_empty_leaves_a_server_with_classes_alone() {
    let mut t = TestServer::start(|c| c.callback_key = Some(Secret::new(CALLBACK_KEY))).await;
    t.create_class("room1", "replay_room1", "teacher_a", true)
        .await;
    let before = t.message_count().await;
    let out = demo(&args(&t, true)).await.expect("demo answers");
    assert_eq!(out, DemoOutcome::Skipped { classes: 1 });
    assert_eq!(
        t.admin_get("/v1/admin/classes")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(t.message_count().await, before);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_refuses_a_server_on_a_real_im_service_and_changes_nothing() {
    let mut cfg = EmulatorConfig::new(1_400_000_003, "7f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0");
    cfg.group_rate = 0;
    let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut t = TestServer::start(|c| {
        c.im.endpoint = Some(emu.base_url());
        c.im.sdkappid = Some(1_400_000_003);
        c.im.secret_key = Some(Secret::new("7f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0"));
    })
    .await;
    let err = demo(&args(&t, false)).await.expect_err("refused");
    assert!(err.contains("--real-im"), "{err}");
    // There are no fault knobs to set on a real IM service.
    let (s, v) = t
        .call(
            reqwest::Method::PUT,
            "/v1/admin/sandbox/faults",
            Some(ADMIN),
            Some(&serde_json::json!({"fail_rate": 1.0, "fail_codes": [10007]})),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (409, Some("conflict")), "{v}");
    assert!(t
        .admin_get("/v1/admin/classes")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_faults_out_of_range_are_refused_and_change_nothing() {
    let mut t = TestServer::start(|_| {}).await;
    let put = |body: Value| {
        let t = &t;
        async move {
            t.call(
                reqwest::Method::PUT,
                "/v1/admin/sandbox/faults",
                Some(ADMIN),
                Some(&body),
            )
            .await
        }
    };
    let (s, v) = put(serde_json::json!({"fail_rate": 0.5, "fail_codes": [10002]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["fail_rate"], 0.5);
    assert_eq!(v["latency_ms"], 0, "absent knobs are off: {v}");
    for bad in [
        serde_json::json!({"fail_rate": 2.0, "fail_codes": [10002]}),
        serde_json::json!({"fail_rate": 1.0, "fail_codes": []}),
        serde_json::json!({"fail_rate": 1.0, "fail_codes": [0]}),
        serde_json::json!({"fail_rate": 1.0, "fail_codes": [10002], "surprise": 1}),
    ] {
        let (s, v) = put(bad.clone()).await;
        assert_eq!(s, 422, "{bad}: {v}");
    }
    let emu = t.desk.sandbox_emulator().unwrap();
    assert_eq!(
        emu.faults().fail_rate,
        0.5,
        "the refused sets changed nothing"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_live_class_shows_presence_a_silent_reboot_a_member_never_reported_and_ends_for_silence(
) {
    let t = TestServer::start(|c| {
        c.heartbeat.silence_end = Some(Duration::from_secs(3));
    })
    .await;
    let mut a = args(&t, false);
    a.heartbeat_secs = 8;
    let DemoOutcome::Made(d) = demo(&a).await.expect("demo runs") else {
        panic!("demo data made");
    };
    let live = d.live_class_id.expect("a live class");
    let p = t
        .admin_get(&format!("/v1/admin/classes/{live}/presence"))
        .await;
    let uids: Vec<&str> = p["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uids,
        ["student_new", "student_wang", "student_zhao", "teacher_li"],
        "{p}"
    );
    let reasons: Vec<(&str, &str)> = p["reanchors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["uid"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert!(reasons.contains(&("student_zhao", "jump")), "{p}");
    assert!(reasons.contains(&("student_new", "first")), "{p}");
    wait_until(
        Duration::from_secs(20),
        "the live class ended for silence",
        || async {
            t.admin_get(&format!("/v1/admin/classes/{live}")).await["ended_by"] == "silence"
        },
    )
    .await;
}
