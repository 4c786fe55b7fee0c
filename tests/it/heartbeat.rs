//! Heartbeats (issue 24): a drifting member re-anchored with its reasons stored, a silent
//! reboot found right away, a member that never reported given its first 1003, bad
//! heartbeats refused as reports are, and a class whose members all vanish ended once —
//! by one of two nodes sharing the store, on each engine.
//!
//! Drift is simulated by stamping heartbeats from a scaled clock; a two-hour class is fed
//! to the service with its arrival times (the library API takes them), so it runs in
//! seconds.

use crate::util::server::*;
use crate::util::*;
use replaydesk::config::Config;
use replaydesk::protocol::MessageType;
use replaydesk::secret::Secret;
use replaydesk::service::{ClassEventReport, ReplayDesk, ReportMeta, TimelineReport};
use replaydesk::store::{ClassEvent, MessageFilter, ReanchorReason, Store};
use serde_json::{json, Value};
use std::time::Duration;

/// A member's clock: `c0` at server time `t0`, running `ppm` slow.
#[derive(Clone, Copy)]
struct Clock {
    c0: u64,
    t0: i64,
    ppm: f64,
}

impl Clock {
    fn at(&self, t: i64) -> u64 {
        self.c0 + ((t - self.t0) as f64 * (1.0 - self.ppm * 1e-6)).round() as u64
    }

    /// The server time at which the clock read `c`.
    fn server_of(&self, c: u64) -> f64 {
        self.t0 as f64 + (c - self.c0) as f64 / (1.0 - self.ppm * 1e-6)
    }
}

/// Deterministic path delays, 5-25 ms each way.
struct Paths(u64);

impl Paths {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        5.0 + (self.0 % 2_000) as f64 / 100.0
    }
}

fn meta(received_at: i64) -> ReportMeta {
    ReportMeta {
        received_at,
        body: String::new(),
        kernel_rtt_ms: None,
    }
}

async fn count_of(store: &Store, class_id: &str, ty: MessageType) -> i64 {
    store
        .count_messages(&MessageFilter {
            class_id: Some(class_id.into()),
            types: vec![ty],
            ..MessageFilter::default()
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_drifting_50_ppm_is_reanchored_with_reasons_and_a_silent_reboot_right_after() {
    let t = TestServer::start(|c| c.heartbeat.silence_end = None).await;
    let desk = &t.desk;
    t.create_default_class("hb", "teacher_li").await;
    let t0 = now_ms();
    desk.record_class_event(
        "hb",
        ClassEvent::Start,
        ClassEventReport {
            uid: "teacher_li".into(),
            timestamp: 1_000,
        },
    )
    .await
    .unwrap();
    let before = Clock {
        c0: 3_000_000,
        t0,
        ppm: 50.0,
    };
    // The member reports its timeline once, on entering, and never again.
    desk.record_timeline(
        "hb",
        TimelineReport {
            uid: "stu_wang".into(),
            timestamp: before.at(t0) as i64,
            rtt_ms: Some(20.0),
        },
        meta(t0 + 10),
    )
    .await
    .unwrap();
    let reboot_at = 1_600; // heartbeats; 80 minutes in
    let mut after = None;
    let mut paths = Paths(0x9e37_79b9_7f4a_7c15);
    for i in 1..2_400 {
        let t = t0 + i * 3_000;
        let clock = if i < reboot_at {
            before
        } else {
            // Rebooted: the clock starts again near zero, and nobody re-reports.
            *after.get_or_insert(Clock {
                c0: 5_000,
                t0: t,
                ppm: 50.0,
            })
        };
        let (up, down) = (paths.next(), paths.next());
        desk.record_heartbeat(
            "hb",
            TimelineReport {
                uid: "stu_wang".into(),
                timestamp: clock.at(t) as i64,
                rtt_ms: Some(up + down),
            },
            &meta(t + up.round() as i64),
        )
        .await
        .unwrap();
        // Lets a re-anchor due be stored before the next heartbeat (as 3 s would).
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = after.unwrap();
    let store = t.store();
    let reanchors = store.reanchors("hb").await.unwrap();
    let drifts = reanchors
        .iter()
        .filter(|r| r.reason == ReanchorReason::Drift)
        .count();
    let jumps: Vec<_> = reanchors
        .iter()
        .filter(|r| r.reason == ReanchorReason::Jump)
        .collect();
    // 80 minutes at 50 ppm move the clock 240 ms: about one re-anchor per 20 ms.
    assert!(
        (8..=20).contains(&drifts),
        "{drifts} drift re-anchors: {reanchors:#?}"
    );
    assert_eq!(jumps.len(), 1, "one jump re-anchor: {reanchors:#?}");
    assert!(reanchors.iter().all(|r| r.uid == "stu_wang"));
    // A chain: each follows the 1003 before it, the first the member's own report.
    for w in reanchors.windows(2) {
        assert_eq!(w[1].prev_message_id, w[0].message_id);
    }
    // Each is an ordinary 1003 in the group's log, placed by the tracked clock.
    let messages = store
        .list_messages(
            &MessageFilter {
                class_id: Some("hb".into()),
                types: vec![MessageType::Timeline],
                ..MessageFilter::default()
            },
            None,
            1000,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(
        messages.len(),
        reanchors.len() + 1,
        "the report and the re-anchors"
    );
    for r in &reanchors {
        let m = messages
            .iter()
            .find(|m| Some(m.id) == r.message_id)
            .expect("its 1003");
        let data: Value = serde_json::from_str(&m.data).unwrap();
        assert_eq!(data["type"], 1003);
        assert!(
            !m.data.contains("reason"),
            "the reason is not in Data: {}",
            m.data
        );
        let ts = data["timestamp"].as_u64().unwrap();
        let time_line = data["time_line"].as_i64().unwrap();
        let clock = if ts < before.c0 { after } else { before };
        let err = (time_line as f64 - clock.server_of(ts)).abs();
        assert!(err <= 15.0, "{r:?}: time_line off by {err} ms");
        if r.reason == ReanchorReason::Jump {
            assert!(
                ts <= after.c0 + 4 * 3_000,
                "the jump is re-anchored within a few heartbeats, at {ts}"
            );
        }
    }
    // The presence view shows the member, its run after the jump, and the re-anchors.
    let p = t.admin_get("/v1/admin/classes/hb/presence").await;
    assert_eq!(p["members"][0]["uid"], "stu_wang");
    assert_eq!(p["members"][0]["clock_run"], 1);
    assert_eq!(p["reanchors"].as_array().unwrap().len(), reanchors.len());
    // Counted for monitoring.
    let (s, metrics) = t.get("/metrics", None).await;
    assert_eq!(s, 200);
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics.contains("replaydesk_heartbeat_reanchors_total{reason=\"jump\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "replaydesk_heartbeat_reanchors_total{{reason=\"drift\"}} {drifts}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("replaydesk_heartbeats_total 2399"),
        "{metrics}"
    );
    // The alignment places the member by the re-anchors (measured pairs).
    let a = t.admin_get("/v1/admin/classes/hb/alignment").await;
    assert!(a.to_string().contains("heartbeat"), "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_never_reported_gets_its_first_1003_and_bad_heartbeats_are_refused_as_reports_are(
) {
    let t = TestServer::start(|_| {}).await;
    let v = t.create_default_class("hb2", "teacher_li").await;
    let teacher = v["teacher_credential"].as_str().unwrap().to_owned();
    let stu = t.issue_credential("hb2", "stu_wang").await["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let hb = |uid: &str, ts: i64| json!({"uid": uid, "timestamp": ts, "rtt_ms": 4});
    // Before the start a heartbeat counts for presence; its 1003 waits.
    let (s, v) = t
        .post(
            "/v1/classes/hb2/heartbeat",
            Some(&stu),
            &hb("stu_wang", 100),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["server_ms"].as_i64().unwrap() >= now_ms() - 5_000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (s, _) = t
        .post(
            "/v1/classes/hb2/heartbeat",
            Some(&stu),
            &hb("stu_wang", 200),
        )
        .await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(t.store().reanchors("hb2").await.unwrap().is_empty());
    let p = t.admin_get("/v1/admin/classes/hb2/presence").await;
    assert_eq!(p["members"][0]["uid"], "stu_wang", "{p}");

    let (s, v) = t
        .post(
            "/v1/classes/hb2/start",
            Some(&teacher),
            &json!({"uid": "teacher_li", "timestamp": 5}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let started = now_ms();
    let mut ts = 300;
    wait_until(Duration::from_secs(20), "the member's first 1003", || {
        ts += 100;
        let (t, stu) = (&t, stu.clone());
        async move {
            let (s, _) = t
                .post(
                    "/v1/classes/hb2/heartbeat",
                    Some(&stu),
                    &json!({"uid": "stu_wang", "timestamp": ts, "rtt_ms": 4}),
                )
                .await;
            assert_eq!(s, 200);
            tokio::time::sleep(Duration::from_millis(100)).await;
            !t.store().reanchors("hb2").await.unwrap().is_empty()
        }
    })
    .await;
    let r = &t.store().reanchors("hb2").await.unwrap()[0];
    assert_eq!(r.reason, ReanchorReason::First);
    assert_eq!(r.prev_message_id, None);
    assert!(r.created_at >= started);
    assert_eq!(count_of(t.store(), "hb2", MessageType::Timeline).await, 1);

    // Refused as a timeline report is: the same status for the same mistake.
    let wrong = format!("{stu}x");
    let cases: Vec<(Option<&str>, Value, &str)> = vec![
        (None, hb("stu_wang", 1), "no credential"),
        (
            Some(wrong.as_str()),
            hb("stu_wang", 1),
            "a wrong credential",
        ),
        (
            Some(stu.as_str()),
            hb("teacher_li", 1),
            "another member's uid",
        ),
        (
            Some(stu.as_str()),
            json!({"uid": "stu_wang"}),
            "no timestamp",
        ),
        (
            Some(stu.as_str()),
            json!({"uid": "stu_wang", "timestamp": -1}),
            "a negative timestamp",
        ),
        (
            Some(stu.as_str()),
            json!({"uid": "stu_wang", "timestamp": 1, "rtt_ms": -3}),
            "a negative rtt",
        ),
        (
            Some(stu.as_str()),
            json!({"uid": "stu_wang", "timestamp": "soon"}),
            "a timestamp that is no number",
        ),
        (Some(stu.as_str()), json!([1, 2]), "not an object"),
    ];
    for (token, body, what) in cases {
        let (hs, hv) = t.post("/v1/classes/hb2/heartbeat", token, &body).await;
        let (rs, rv) = t.post("/v1/classes/hb2/timeline", token, &body).await;
        assert!(hs >= 400, "{what}: {hs} {hv}");
        assert_eq!(hs, rs, "{what}: heartbeat {hv} vs report {rv}");
        assert_eq!(hv["error"], rv["error"], "{what}");
    }
    let (s, v) = t
        .call(
            reqwest::Method::POST,
            "/v1/classes/hb2/heartbeat",
            Some(&stu),
            None,
        )
        .await;
    assert!(s == 400 || s == 415, "{s} {v}");
    // After the end: 409.
    let (s, _) = t
        .post(
            "/v1/classes/hb2/end",
            Some(&teacher),
            &json!({"uid": "teacher_li", "timestamp": 9_000}),
        )
        .await;
    assert_eq!(s, 202);
    let (s, v) = t
        .post(
            "/v1/classes/hb2/heartbeat",
            Some(&stu),
            &hb("stu_wang", 99_999),
        )
        .await;
    assert_eq!(s, 409, "{v}");
}

fn node_config(dir: &std::path::Path, db: &std::path::Path, emu: &str) -> Config {
    let mut c = test_config(dir);
    c.db = db.to_owned();
    c.im.endpoint = Some(emu.to_owned());
    c.im.sdkappid = Some(SDKAPPID);
    c.im.secret_key = Some(Secret::new(KEY));
    c.heartbeat.silence_end = Some(Duration::from_secs(2));
    c
}

async fn node(
    dir: &std::path::Path,
    db: &std::path::Path,
    emu: &str,
) -> (ReplayDesk, replaydesk::server::ServerHandle) {
    let desk = ReplayDesk::start(node_config(dir, db, emu))
        .await
        .expect("node starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = replaydesk::server::spawn(desk.clone(), listener).unwrap();
    (desk, server)
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> (u16, Value) {
    let r = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

on_both_engines! {
    async fn a_class_whose_members_all_vanish_is_ended_once_by_one_of_two_nodes(db) {
        let emu = start_emulator(|_| {}).await;
        let dir = tempfile::tempdir().unwrap();
        let (a, sa) = node(dir.path(), &db, &emu.base_url()).await;
        let (b, sb) = node(dir.path(), &db, &emu.base_url()).await;
        let http = reqwest::Client::new();
        let nodes = [sa.base_url(), sb.base_url()];
        let mut creds = Vec::new();
        for class in ["quiet", "old_clients"] {
            let (s, v) = post(&http, format!("{}/v1/classes", nodes[0]), ADMIN, json!({"class_id": class, "group_id": format!("g_{class}"), "teacher_uid": "teacher_li", "create_group": true})).await;
            assert_eq!(s, 201, "{v}");
            let teacher = v["teacher_credential"].as_str().unwrap().to_owned();
            let (s, v) = post(&http, format!("{}/v1/classes/{class}/start", nodes[1]), &teacher, json!({"uid": "teacher_li", "timestamp": 1_000})).await;
            assert_eq!(s, 202, "{v}");
            creds.push(teacher);
        }
        let (s, v) = post(&http, format!("{}/v1/admin/classes/quiet/members/stu_wang/credential", nodes[0]), ADMIN, json!({})).await;
        assert_eq!(s, 200, "{v}");
        let stu = v["credential"].as_str().unwrap().to_owned();
        // Both members heartbeat, each beat to either node; then everyone vanishes.
        let t0 = now_ms();
        let mut last_teacher = (0, 0);
        for i in 0..12i64 {
            let teacher_clock = 50_000 + (now_ms() - t0);
            let at = &nodes[(i % 2) as usize];
            let (s, v) = post(&http, format!("{at}/v1/classes/quiet/heartbeat"), &creds[0], json!({"uid": "teacher_li", "timestamp": teacher_clock, "rtt_ms": 1})).await;
            assert_eq!(s, 200, "{v}");
            last_teacher = (teacher_clock, now_ms());
            let at = &nodes[((i + 1) % 2) as usize];
            let (s, v) = post(&http, format!("{at}/v1/classes/quiet/heartbeat"), &stu, json!({"uid": "stu_wang", "timestamp": 7_000 + i * 100, "rtt_ms": 1})).await;
            assert_eq!(s, 200, "{v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let store = a.store();
        wait_until(Duration::from_secs(30), "the silent class ended", || async {
            store.class("quiet").await.unwrap().state == replaydesk::store::ClassState::Ended
        })
        .await;
        // Both nodes keep looking for a while: still one 1002.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(count_of(store, "quiet", MessageType::ClassEnd).await, 1);
        let class = store.class("quiet").await.unwrap();
        assert_eq!(class.ended_by.as_deref(), Some("silence"));
        let end = store
            .list_messages(&MessageFilter {
                class_id: Some("quiet".into()),
                types: vec![MessageType::ClassEnd],
                ..MessageFilter::default()
            }, None, 10)
            .await
            .unwrap()
            .items
            .remove(0);
        let data: Value = serde_json::from_str(&end.data).unwrap();
        assert_eq!(data["value"]["uid"], "teacher_li");
        // Stamped with the teacher's clock at the last moment anyone was seen.
        let ts = data["timestamp"].as_i64().unwrap();
        assert!(
            (ts - last_teacher.0).abs() <= 1_000,
            "1002 at {ts}, the teacher's clock last read {}",
            last_teacher.0
        );
        // The API says so; the group gets the one 1002.
        let (s, v) = post(&http, format!("{}/v1/classes/quiet/heartbeat", nodes[1]), &stu, json!({"uid": "stu_wang", "timestamp": 99_999})).await;
        assert_eq!(s, 409, "{v}");
        let r = http.get(format!("{}/v1/admin/classes/quiet", nodes[1])).bearer_auth(ADMIN).send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["ended_by"], "silence", "{v}");
        wait_until(Duration::from_secs(20), "the 1002 in the group", || async {
            history_data(&emu.history("g_quiet")).iter().filter(|d| d.contains("\"type\":1002")).count() == 1
        })
        .await;
        // A class whose clients never heartbeat is never ended this way.
        assert_eq!(
            store.class("old_clients").await.unwrap().state,
            replaydesk::store::ClassState::Started
        );
        // An admin reopens it as before; the silence is forgotten.
        let (s, v) = post(&http, format!("{}/v1/admin/classes/quiet/reopen", nodes[0]), ADMIN, json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["ended_by"], Value::Null, "{v}");
        assert!(store.class_presence("quiet").await.unwrap().is_empty());
        sa.shutdown().await;
        sb.shutdown().await;
        drop((a, b));
    }
}

on_both_engines! {
    /// Two nodes (two pools on one database) take the same decisions at the same moment:
    /// one re-anchor per earlier 1003, one end per class.
    async fn two_nodes_deciding_at_once_store_each_decision_once(db) {
        use replaydesk::protocol::{Payload, ReplayMessage, Seq, UserValue};
        use replaydesk::store::{Anchor, ClassEventIntake, IntakeItem, MemberRole, PresenceSummary, ReanchorIntake, StoreError};
        let one = Store::open(&db).await.unwrap();
        let two = Store::open(&db).await.unwrap();
        create_class(&one, "race", "g_race").await;
        let start = class_event("race", "g_race", "teacher_li", 10, ClassEvent::Start);
        one.record_intake(&[start]).await.into_iter().for_each(|r| { r.unwrap(); });
        let first = one
            .record_intake(&[timeline_intake("race", "g_race", "stu_wang", 5_000, 1_795_339_200_000, 1_795_339_200_020)])
            .await
            .remove(0)
            .unwrap();
        let prev = one.latest_anchor("race", "stu_wang").await.unwrap().unwrap();
        assert_eq!(prev, Anchor { message_id: first.message.id, client_ms: 5_000, server_ms: 1_795_339_200_000 });
        let intake_at = |prev: &Option<Anchor>, ts: u64| ReanchorIntake {
            class_id: "race".into(),
            group_id: "g_race".into(),
            role: MemberRole::Student,
            message: ReplayMessage::new(Seq::random(), ts, Payload::Timeline {
                time_line: 1_795_339_200_000 + ts as i64,
                value: UserValue::new("stu_wang"),
            }),
            prev: *prev,
            reason: ReanchorReason::Drift,
            clock_run: 0,
            offset_ms: 1,
            moved_ms: Some(25),
            uncertainty_ms: 3,
        };
        for round in 0..5u64 {
            // Each node tracked the clock a little differently: its own 1003.
            let intake = |ts: u64| ReanchorIntake {
                class_id: "race".into(),
                group_id: "g_race".into(),
                role: MemberRole::Student,
                message: ReplayMessage::new(Seq::random(), ts, Payload::Timeline {
                    time_line: 1_795_339_200_000 + ts as i64,
                    value: UserValue::new("stu_wang"),
                }),
                prev: Some(prev),
                reason: ReanchorReason::Drift,
                clock_run: 0,
                offset_ms: 1,
                moved_ms: Some(25),
                uncertainty_ms: 3,
            };
            let prev_now = two.latest_anchor("race", "stu_wang").await.unwrap();
            let (a, b) = (intake(6_000 + round * 10), intake(6_001 + round * 10));
            let (a, b) = (
                ReanchorIntake { prev: prev_now, ..a },
                ReanchorIntake { prev: prev_now, ..b },
            );
            let (ra, rb) = tokio::join!(one.record_reanchor(&a), two.record_reanchor(&b));
            let stored = [ra.unwrap(), rb.unwrap()];
            assert_eq!(stored.iter().filter(|s| s.is_some()).count(), 1, "round {round}: {stored:?}");
        }
        // The same race with one node's re-anchor in the reports' group commit, beside a
        // report: the report is stored whichever node takes the re-anchor, and the one not
        // taken is that item's conflict, not the batch's failure.
        let prev_now = two.latest_anchor("race", "stu_wang").await.unwrap();
        let a = ReanchorIntake { prev: prev_now, ..intake_at(&prev_now, 7_000) };
        let b = ReanchorIntake { prev: prev_now, ..intake_at(&prev_now, 7_001) };
        let report = timeline_intake("race", "g_race", "teacher_li", 9_000, 1_795_339_300_000, 1_795_339_300_020);
        let items = [report, IntakeItem::Reanchor(a)];
        let (batch, rb) = tokio::join!(
            one.record_intake(&items),
            two.record_reanchor(&b)
        );
        assert!(batch[0].is_ok(), "{batch:?}");
        match (&batch[1], rb.unwrap()) {
            (Ok(_), None) | (Err(StoreError::Conflict(_)), Some(_)) => {}
            other => panic!("exactly one re-anchor taken: {other:?}"),
        }
        assert_eq!(one.reanchors("race").await.unwrap().len(), 6);
        assert_eq!(count_of(&one, "race", MessageType::Timeline).await, 8);

        // The class falls silent; both nodes end it at once.
        let seen = |uid: &str| PresenceSummary {
            class_id: "race".into(),
            uid: uid.into(),
            last_seen_at: 1_000,
            heartbeats: 3,
            clock_run: 0,
            last_client_ms: 9_000,
            last_server_ms: 900,
            offset_ms: Some(-8_100),
            drift_ppb: Some(0),
            uncertainty_ms: Some(2),
            line_from_ms: None,
            updated_at: 1_000,
            span_started_at: 900,
            closed_spans: Vec::new(),
        };
        two.upsert_presence(&[seen("teacher_li"), seen("stu_wang")]).await.unwrap();
        assert_eq!(one.silent_classes(5_000).await.unwrap(), vec![("race".to_owned(), 1_000)]);
        assert!(one.silent_classes(500).await.unwrap().is_empty(), "seen after the cutoff");
        let end = |ts| ClassEventIntake {
            class_id: "race".into(),
            group_id: "g_race".into(),
            role: MemberRole::Teacher,
            message: ReplayMessage::new(Seq::random(), ts, Payload::ClassEnd(UserValue::new("teacher_li"))),
        };
        let (ea, eb) = (end(9_100), end(9_101));
        let (ra, rb) = tokio::join!(one.end_silent_class(&ea, 5_000), two.end_silent_class(&eb, 5_000));
        let ended = [ra.unwrap(), rb.unwrap()];
        assert_eq!(ended.iter().filter(|s| s.is_some()).count(), 1, "{ended:?}");
        assert_eq!(count_of(&one, "race", MessageType::ClassEnd).await, 1);
        assert_eq!(two.class("race").await.unwrap().ended_by.as_deref(), Some("silence"));
        // Ended: no more re-anchors.
        let late = ReanchorIntake {
            class_id: "race".into(),
            group_id: "g_race".into(),
            role: MemberRole::Student,
            message: ReplayMessage::new(Seq::random(), 99_000, Payload::Timeline {
                time_line: 1,
                value: UserValue::new("stu_wang"),
            }),
            prev: None,
            reason: ReanchorReason::First,
            clock_run: 0,
            offset_ms: 0,
            moved_ms: None,
            uncertainty_ms: 0,
        };
        assert!(one.record_reanchor(&late).await.unwrap().is_none());
        one.close().await;
        two.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_spend_their_own_limit_never_the_reports() {
    let t = TestServer::start(|c| c.limits.reports_per_credential = 0.1).await;
    let v = t.create_default_class("hb3", "teacher_li").await;
    let teacher = v["teacher_credential"].as_str().unwrap().to_owned();
    // Far more heartbeats than the credential's report budget (0.1/s, 3 at once)...
    for i in 0..20 {
        let (s, v) = t
            .post(
                "/v1/classes/hb3/heartbeat",
                Some(&teacher),
                &json!({"uid": "teacher_li", "timestamp": 1_000 + i}),
            )
            .await;
        assert_eq!(s, 200, "heartbeat {i}: {v}");
    }
    // ...and the reports' budget is untouched.
    for i in 0..3 {
        let (s, v) = t
            .report(
                "hb3",
                &teacher,
                &json!({"uid": "teacher_li", "timestamp": 50_000 + i}),
            )
            .await;
        assert_eq!(s, 202, "report {i}: {v}");
    }
    // Heartbeats have a limit of their own: 2 a second, 60 at once.
    let mut limited = None;
    for i in 0..100 {
        let (s, v) = t
            .post(
                "/v1/classes/hb3/heartbeat",
                Some(&teacher),
                &json!({"uid": "teacher_li", "timestamp": 2_000 + i}),
            )
            .await;
        if s == 429 {
            limited = Some(v);
            break;
        }
    }
    let v = limited.expect("the heartbeat limit refuses a flood");
    assert_eq!(v["error"], "rate_limited", "{v}");
}

/// Heartbeats from `t0 + from_s` to `t0 + until_s` (seconds), one every 3 s, by `uid`
/// (a true clock), with their arrival times.
async fn beat_for(
    desk: &ReplayDesk,
    class_id: &str,
    uid: &str,
    t0: i64,
    from_s: i64,
    until_s: i64,
) {
    let mut s = from_s;
    while s <= until_s {
        let t = t0 + s * 1_000;
        desk.record_heartbeat(
            class_id,
            TimelineReport {
                uid: uid.into(),
                timestamp: 2_000_000 + t - t0,
                rtt_ms: Some(10.0),
            },
            &meta(t + 5),
        )
        .await
        .unwrap();
        s += 3;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_members_presence_spans_are_shown_split_by_a_silence_longer_than_away() {
    let t = TestServer::start(|c| c.heartbeat.silence_end = None).await;
    t.create_default_class("spans", "teacher_li").await;
    let t0 = now_ms() - 120_000;
    // The teacher heartbeats throughout; the student for 30 s, is silent for 40 s (over
    // the 15 s that ends a span), then back for 30 s. All before a summary is written:
    // the span the silence ended is kept in memory until it is.
    beat_for(&t.desk, "spans", "stu_wang", t0, 0, 30).await;
    beat_for(&t.desk, "spans", "teacher_li", t0, 0, 51).await;
    beat_for(&t.desk, "spans", "stu_wang", t0, 72, 102).await;
    beat_for(&t.desk, "spans", "teacher_li", t0, 54, 102).await;
    let spans = |p: &Value, uid: &str| -> Vec<(i64, i64)> {
        let m = p["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["uid"] == uid)
            .unwrap_or_else(|| panic!("{uid} in {p}"));
        m["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["from_ms"].as_i64().unwrap() - t0,
                    s["until_ms"].as_i64().unwrap() - t0,
                )
            })
            .collect()
    };
    let want_student = vec![(5, 30_005), (72_005, 102_005)];
    let want_teacher = vec![(5, 102_005)];
    // From this node's memory (before the summary is written) and from the store after.
    let live = t.admin_get("/v1/admin/classes/spans/presence").await;
    assert_eq!(spans(&live, "stu_wang"), want_student, "{live}");
    assert_eq!(spans(&live, "teacher_li"), want_teacher, "{live}");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let stored = t.store().presence_spans("spans", 15_000).await.unwrap();
    let as_pairs = |uid: &str| -> Vec<(i64, i64)> {
        stored[uid]
            .iter()
            .map(|s| (s.started_at - t0, s.ended_at - t0))
            .collect()
    };
    assert_eq!(as_pairs("stu_wang"), want_student);
    assert_eq!(as_pairs("teacher_li"), want_teacher);
    let p = t.admin_get("/v1/admin/classes/spans/presence").await;
    assert_eq!(spans(&p, "stu_wang"), want_student, "{p}");
    assert_eq!(spans(&p, "teacher_li"), want_teacher, "{p}");
}

/// Starts class `class_id` (teacher_li, stu_wang) and stu_wang's one timeline report at
/// `t0`, on the clock `c`.
async fn start_drifting(desk: &ReplayDesk, class_id: &str, c: Clock) {
    desk.record_class_event(
        class_id,
        ClassEvent::Start,
        ClassEventReport {
            uid: "teacher_li".into(),
            timestamp: 1_000,
        },
    )
    .await
    .unwrap();
    desk.record_timeline(
        class_id,
        TimelineReport {
            uid: "stu_wang".into(),
            timestamp: c.at(c.t0) as i64,
            rtt_ms: Some(20.0),
        },
        meta(c.t0 + 10),
    )
    .await
    .unwrap();
}

/// Heartbeats `from..to` of stu_wang (3 s apart from `c.t0`); the first of them after
/// which a drift re-anchor is stored, if any.
async fn beats_until_drift(
    desk: &ReplayDesk,
    class_id: &str,
    c: Clock,
    paths: &mut Paths,
    from: i64,
    to: i64,
) -> Option<i64> {
    for i in from..to {
        let t = c.t0 + i * 3_000;
        let (up, down) = (paths.next(), paths.next());
        desk.record_heartbeat(
            class_id,
            TimelineReport {
                uid: "stu_wang".into(),
                timestamp: c.at(t) as i64,
                rtt_ms: Some(up + down),
            },
            &meta(t + up.round() as i64),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let drift = desk
            .store()
            .reanchors(class_id)
            .await
            .unwrap()
            .iter()
            .any(|r| r.reason == ReanchorReason::Drift);
        if drift {
            return Some(i);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_resumes_each_members_track_and_reanchors_for_drift_when_it_would_have() {
    let clock = |t0| Clock {
        c0: 3_000_000,
        t0,
        ppm: 80.0,
    };
    // The reference: one node throughout.
    let reference = TestServer::start(|c| c.heartbeat.silence_end = None).await;
    reference.create_default_class("ref", "teacher_li").await;
    let c = clock(now_ms());
    start_drifting(&reference.desk, "ref", c).await;
    let mut paths = Paths(0x51_7cc1_b727_220a);
    let want = beats_until_drift(&reference.desk, "ref", c, &mut paths, 1, 400)
        .await
        .expect("a drift re-anchor without a restart");

    // The same member and network on a node restarted (same store) ten heartbeats (30 s)
    // before that: its track resumes from the summary written at shutdown. A track learnt
    // afresh could not tell the drift that soon.
    let restart_at = want - 10;
    assert!(
        restart_at > 40,
        "the track had a line before the restart ({want})"
    );
    let mut first = TestServer::start(|c| c.heartbeat.silence_end = None).await;
    first.create_default_class("rs", "teacher_li").await;
    let c = clock(now_ms());
    start_drifting(&first.desk, "rs", c).await;
    let mut paths = Paths(0x51_7cc1_b727_220a);
    assert_eq!(
        beats_until_drift(&first.desk, "rs", c, &mut paths, 1, restart_at).await,
        None
    );
    first.stop().await;
    first.desk.shutdown().await;
    let mut config = test_config(first.dir.path());
    config.heartbeat.silence_end = None;
    let second = ReplayDesk::start(config).await.expect("restarts");
    assert_eq!(
        second.tracked_members(),
        0,
        "nothing in memory after the restart"
    );
    let got = beats_until_drift(&second, "rs", c, &mut paths, restart_at, 400)
        .await
        .expect("a drift re-anchor after the restart");
    // Within a few heartbeats of the reference (a re-anchor's look at the store runs
    // beside the heartbeats); a track learnt afresh would need a new minute of samples
    // and a line to stand on first.
    assert!(
        (got - want).abs() <= 4,
        "after the restart at {got}, without at {want}"
    );
    let p = second.class_presence("rs").await.unwrap();
    assert_eq!(p.members[0].heartbeats, got, "the count goes on");
    second.shutdown().await;
}
