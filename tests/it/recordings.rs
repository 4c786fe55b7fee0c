//! Recordings that never arrive, files entered by hand, and the alignment's sources
//! (issue 22, items 3 and 4), over real HTTP against `ReplayDesk` on a SQLite file, and
//! the check's idempotence with several nodes on each engine.
//!
//! The recorder life is written through the store's intake (`record_recorder_event`,
//! `record_recording`), as the TRTC and CSS callback routes write it.

use crate::util::create_class;
use crate::util::server::{now_ms, wait_until, TestServer, ADMIN};
use replaydesk::protocol::{Payload, RecordingValue, ReplayMessage, Seq};
use replaydesk::store::{
    CallbackSource, EventFile, NewRecorderEvent, RecorderIntake, RecorderOutcome, RecorderSource,
    RecorderStage, RecordingIntake, RecordingTarget, Store, RECORDING_MISSING_ALERT,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// A TRTC task-wide event (301 started, 302 stopped): it names the task's own user, not
/// a member, and no stream kind.
fn task_event<'a>(
    class_id: &'a str,
    task: &'a str,
    event_type: i64,
    stage: RecorderStage,
    at: i64,
    key: &'a str,
) -> NewRecorderEvent<'a> {
    NewRecorderEvent {
        source: RecorderSource::Trtc,
        task_id: task,
        class_id: Some(class_id),
        uid: Some("recorder_bot"),
        room_id: Some("42"),
        stream_id: None,
        media: None,
        event_type,
        event_name: if event_type == 301 {
            "recorder_started"
        } else {
            "recorder_stopped"
        },
        stage,
        event_at: Some(at),
        file_key: None,
        file_start_ms: None,
        file_end_ms: None,
        detail: None,
        dedup_key: key,
        received_at: at,
    }
}

async fn keep(store: &Store, e: NewRecorderEvent<'_>) {
    store
        .record_recorder_event(&RecorderIntake {
            source: CallbackSource::Trtc,
            received_at: e.received_at,
            body: b"{\"EventGroupId\":3}",
            event: e,
            file: EventFile::Keep {
                outcome: RecorderOutcome::Kept,
                note: None,
            },
            more: Vec::new(),
        })
        .await
        .unwrap();
}

fn recording_1004(
    uid: &'static str,
    video: &'static str,
    start: i64,
    media: &'static str,
) -> impl Fn(Seq) -> ReplayMessage + Send + Sync {
    move |seq| {
        ReplayMessage::new(
            seq,
            1,
            Payload::Recording(RecordingValue {
                uid: uid.into(),
                start_time: start,
                end_time: start + 600,
                media_start_time: 0,
                file_size: 0,
                duration: 600,
                video_id: video.into(),
                video_url: format!("https://vod.example.invalid/{video}.mp4"),
                extra: [("type".to_owned(), json!(media))].into_iter().collect(),
            }),
        )
    }
}

async fn open_missing(t: &TestServer, class_id: &str) -> Vec<Value> {
    let alerts = t.admin_get("/v1/admin/alerts").await;
    alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == RECORDING_MISSING_ALERT && a["class_id"] == class_id)
        .cloned()
        .collect()
}

/// What a refused request must leave as it was.
async fn state(t: &TestServer, class_id: &str) -> (i64, usize, usize, usize, usize) {
    let events = t.store().recorder_events(class_id).await.unwrap().len();
    let audit = t.admin_get("/v1/admin/audit").await;
    let members = t
        .admin_get(&format!("/v1/admin/classes/{class_id}/members"))
        .await;
    (
        t.message_count().await,
        events,
        open_missing(t, class_id).await.len(),
        audit["items"].as_array().map_or(0, Vec::len),
        members.as_array().map_or(0, Vec::len),
    )
}

#[tokio::test]
async fn a_recorder_with_no_file_raises_the_alert_and_a_file_entered_by_hand_clears_it() {
    let t = TestServer::start(|c| {
        c.recordings.missing_after = Duration::from_secs(1);
    })
    .await;
    t.create_default_class("c1", "teacher_li").await;
    let store = t.store();
    let now = now_ms();
    // A TRTC task started ten minutes ago and stopped two seconds ago: no file came.
    keep(
        store,
        task_event(
            "c1",
            "task-77",
            301,
            RecorderStage::Started,
            now - 600_000,
            "k301",
        ),
    )
    .await;
    keep(
        store,
        task_event(
            "c1",
            "task-77",
            302,
            RecorderStage::Stopped,
            now - 2_000,
            "k302",
        ),
    )
    .await;

    wait_until(
        Duration::from_secs(10),
        "the recording_missing alert",
        || async { !open_missing(&t, "c1").await.is_empty() },
    )
    .await;
    let alerts = open_missing(&t, "c1").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let detail = alerts[0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("recording of recorder_bot started "),
        "{detail}"
    );
    assert!(
        detail.contains(", no file (task task-77, trtc)"),
        "{detail}"
    );
    // Checking again (as another node would) adds nothing.
    let again = store
        .check_missing_recordings(now_ms(), 1000)
        .await
        .unwrap();
    assert_eq!(again.raised, 0);
    assert_eq!(open_missing(&t, "c1").await.len(), 1);

    let view = t.admin_get("/v1/admin/classes/c1/recordings").await;
    assert_eq!(view["missing_after_ms"], 1000);
    let recorders = view["recorders"].as_array().unwrap();
    assert_eq!(recorders.len(), 1, "{view}");
    assert_eq!(recorders[0]["task_id"], "task-77");
    assert_eq!(recorders[0]["missing"]["due"], true);
    assert_eq!(recorders[0]["missing"]["alert_id"], alerts[0]["id"]);
    assert_eq!(recorders[0]["events"].as_array().unwrap().len(), 2);

    // Bad input: a clear 4xx each, and nothing changes.
    let path = "/v1/admin/classes/c1/recordings";
    let good = json!({"uid": "stu1", "video_id": "5285890799", "video_url": "https://vod.example.invalid/stu1.mp4",
                      "start_time": (now - 600_000) / 1000, "end_time": (now - 2_000) / 1000,
                      "file_size": 1234, "type": "main", "task_id": "task-77"});
    let before = state(&t, "c1").await;
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (body, status, says) in [
        (without("video_url"), 422, "video_url"),
        (
            with("start_time", json!(now - 600_000)),
            422,
            "milliseconds",
        ),
        (with("video_url", json!("javascript:alert(1)")), 422, "http"),
        (with("type", json!("camera")), 422, "\"main\""),
        (
            with("end_time", json!((now - 700_000) / 1000)),
            422,
            "before start_time",
        ),
        (with("uid", json!("")), 422, "uid"),
        (with("colour", json!("red")), 422, "colour"),
    ] {
        let (s, v) = t.post(path, Some(ADMIN), &body).await;
        assert_eq!(s, status, "{body}: {v}");
        assert!(
            v["detail"].as_str().unwrap_or("").contains(says),
            "{body}: {v}"
        );
    }
    let (s, _) = t.post(path, None, &good).await;
    assert_eq!(s, 401);
    let (s, v) = t
        .post("/v1/admin/classes/nope/recordings", Some(ADMIN), &good)
        .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(
        state(&t, "c1").await,
        before,
        "refused entries change nothing"
    );

    // The file by hand: the same 1004 a callback's file makes, audited, the alert cleared.
    let (s, entered) = t.post(path, Some(ADMIN), &good).await;
    assert_eq!(s, 201, "{entered}");
    assert_eq!(entered["cleared_alerts"], 1);
    assert_eq!(entered["event"]["source"], "manual");
    assert_eq!(entered["event"]["stage"], "ready");
    assert_eq!(entered["event"]["task_id"], "task-77");
    let data: Value = serde_json::from_str(entered["message"]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["type"], 1004);
    assert_eq!(
        data["value"],
        json!({"uid": "stu1", "start_time": (now - 600_000) / 1000, "end_time": (now - 2_000) / 1000,
               "media_start_time": 0, "file_size": 1234, "duration": (now - 2_000) / 1000 - (now - 600_000) / 1000,
               "video_id": "5285890799", "video_url": "https://vod.example.invalid/stu1.mp4", "type": "main"})
    );
    assert!(open_missing(&t, "c1").await.is_empty());
    // stu1 was not a member: enrolled as a student, as a callback's file would.
    let roster = t.admin_get("/v1/admin/classes/c1/members").await;
    assert!(
        roster
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["uid"] == "stu1" && m["role"] == "student"),
        "{roster}"
    );
    let audit = t.admin_get("/v1/admin/audit?action=enter_recording").await;
    assert_eq!(audit["items"][0]["target"], "class:c1", "{audit}");
    // The check does not raise it again: the task has its file.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(open_missing(&t, "c1").await.is_empty());
    let view = t.admin_get("/v1/admin/classes/c1/recordings").await;
    let recorders = view["recorders"].as_array().unwrap();
    assert!(recorders.iter().all(|r| r["missing"].is_null()), "{view}");
    let hand = recorders.iter().find(|r| r["source"] == "manual").unwrap();
    let mid = hand["ready"][0]["message_id"].as_i64().unwrap();
    assert_eq!(view["messages"][mid.to_string()]["id"], mid);

    // One file never yields two 1004s: the same video again is refused, nothing added.
    let before = state(&t, "c1").await;
    let (s, v) = t
        .post(path, Some(ADMIN), &with("task_id", json!("other")))
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("video_id"), "{v}");
    let (s, v) = t
        .post(path, Some(ADMIN), &with("video_id", json!("another-id")))
        .await;
    assert_eq!(s, 409, "same video_url: {v}");
    assert_eq!(state(&t, "c1").await, before);

    // The cloud's own callback for that file, arriving late: the same file, no second 1004.
    let late = recording_1004("stu1", "5285890799", (now - 600_000) / 1000, "main");
    let mut e = task_event("c1", "task-77", 311, RecorderStage::Ready, now, "k311-late");
    e.uid = Some("stu1");
    e.media = Some("main");
    let before = t.message_count().await;
    let recorded = store
        .record_recorder_event(&RecorderIntake {
            source: CallbackSource::Trtc,
            received_at: now_ms(),
            body: b"{\"EventType\":311}",
            event: e,
            file: EventFile::Announce {
                file_key: "trtc:task-77/stu1_main.mp4",
                target: RecordingTarget::Matched {
                    class_id: "c1",
                    uid: "stu1",
                    note: None,
                    build: &late,
                },
            },
            more: Vec::new(),
        })
        .await
        .unwrap();
    assert!(!recorded.created);
    assert_eq!(
        recorded.message.unwrap().id,
        entered["message"]["id"].as_i64().unwrap()
    );
    assert_eq!(
        recorded.event.unwrap().status,
        RecorderOutcome::AlreadyAnnounced
    );
    assert_eq!(t.message_count().await, before);

    // The 1004 is delivered like any other.
    let id = entered["message"]["id"].as_i64().unwrap();
    wait_until(
        Duration::from_secs(10),
        "the hand-entered 1004 sent",
        || async {
            t.admin_get(&format!("/v1/admin/messages/{id}")).await["message"]["status"] == "sent"
        },
    )
    .await;
}

#[tokio::test]
async fn the_alignment_says_which_source_placed_each_recording_and_shows_main_and_aux_apart() {
    let t = TestServer::start(|_| {}).await;
    t.create_default_class("c2", "teacher_li").await;
    let store = t.store();
    let start = now_ms() / 1000 - 3600;
    // A TRTC file (aux) through the recorder intake, with media_start_time 0.
    let trtc = recording_1004("teacher_li", "trtc-aux", start, "aux");
    let mut e = NewRecorderEvent {
        media: Some("aux"),
        uid: Some("teacher_li"),
        event_name: "vod_commit",
        file_key: Some("trtc:task-9/teacher_li_aux.mp4"),
        ..task_event(
            "c2",
            "task-9",
            311,
            RecorderStage::Ready,
            start * 1000,
            "k311",
        )
    };
    e.file_start_ms = Some(start * 1000);
    store
        .record_recorder_event(&RecorderIntake {
            source: CallbackSource::Trtc,
            received_at: now_ms(),
            body: b"{\"EventType\":311}",
            event: e,
            file: EventFile::Announce {
                file_key: "trtc:task-9/teacher_li_aux.mp4",
                target: RecordingTarget::Matched {
                    class_id: "c2",
                    uid: "teacher_li",
                    note: None,
                    build: &trtc,
                },
            },
            more: Vec::new(),
        })
        .await
        .unwrap();
    // A legacy CSS file (main) through the callback intake.
    let css = recording_1004("teacher_li", "css-main", start + 5, "main");
    store
        .record_recording(&RecordingIntake {
            received_at: now_ms(),
            body: b"{\"event_type\":100}",
            file_key: "file_id:css-main",
            target: RecordingTarget::Matched {
                class_id: "c2",
                uid: "teacher_li",
                note: None,
                build: &css,
            },
            life: None,
        })
        .await
        .unwrap();
    // A file entered by hand (main) for a student.
    let (s, v) = t
        .post(
            "/v1/admin/classes/c2/recordings",
            Some(ADMIN),
            &json!({"uid": "stu1", "video_id": "hand-1", "video_url": "https://vod.example.invalid/hand-1.mp4",
                    "start_time": start + 10, "end_time": start + 610, "type": "main"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    let (s, a) = t
        .call(
            Method::GET,
            "/v1/admin/classes/c2/alignment",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200, "{a}");
    let recs = a["recordings"].as_array().unwrap();
    let by = |video: &str| {
        recs.iter()
            .find(|r| r["video_id"] == video)
            .unwrap()
            .clone()
    };
    let (trtc, css, hand) = (by("trtc-aux"), by("css-main"), by("hand-1"));
    assert_eq!(
        (trtc["source"].clone(), trtc["media"].clone()),
        (json!("trtc"), json!("aux"))
    );
    assert_eq!(
        (css["source"].clone(), css["media"].clone()),
        (json!("css"), json!("main"))
    );
    assert_eq!(
        (hand["source"].clone(), hand["media"].clone()),
        (json!("manual"), json!("main"))
    );
    // TRTC and by hand: placed by their wall-clock start; the CSS file by a reading.
    assert_eq!(trtc["chosen"], "wall_clock");
    assert_eq!(trtc["reason"], "wall_clock");
    assert_eq!(trtc["start_ms"], start * 1000);
    assert!(
        trtc["reason_text"].as_str().unwrap().contains("TRTC"),
        "{trtc}"
    );
    assert_eq!(hand["chosen"], "wall_clock");
    assert_eq!(hand["start_ms"], (start + 10) * 1000);
    assert_ne!(css["chosen"], "wall_clock");
    // No "recording without a pair" for a video placed by the wall clock.
    let diags = a["diagnostics"].as_array().unwrap();
    assert!(
        !diags.iter().any(|d| d["code"] == "recording_without_pair"
            && d["message"].as_str().unwrap_or("").contains("trtc-aux")),
        "{diags:?}"
    );
    // A user's camera and screen share run side by side: they do not overlap.
    assert!(
        !diags.iter().any(|d| d["code"] == "recordings_overlap"),
        "{diags:?}"
    );
}

on_both_engines! {
    async fn several_nodes_checking_at_once_raise_one_alert_per_recorder(db) {
        let a = Store::open(&db).await.unwrap();
        let b = Store::open(&db).await.unwrap();
        create_class(&a, "c1", "g1").await;
        let now = now_ms();
        keep(&a, task_event("c1", "t1", 301, RecorderStage::Started, now - 60_000, "a301")).await;
        keep(&a, task_event("c1", "t1", 302, RecorderStage::Stopped, now - 50_000, "a302")).await;
        keep(&a, task_event("c1", "t2", 301, RecorderStage::Started, now - 40_000, "b301")).await;
        // t2 has not stopped and the class has not ended: not due.
        let mut checks = tokio::task::JoinSet::new();
        for i in 0..6 {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            checks.spawn(async move { s.check_missing_recordings(now, 10_000).await.unwrap() });
        }
        let done = checks.join_all().await;
        assert_eq!(done.iter().map(|c| c.raised).sum::<u64>(), 1, "{done:?}");
        let open: Vec<_> = a
            .open_alerts()
            .await
            .unwrap()
            .into_iter()
            .filter(|x| x.kind == RECORDING_MISSING_ALERT)
            .collect();
        assert_eq!(open.len(), 1, "{open:?}");
        assert!(open[0].detail.contains("task t1"), "{}", open[0].detail);
        let missing = a.class_missing_recorders("c1", now, 10_000).await.unwrap();
        assert_eq!(missing.len(), 2);
        assert!(missing.iter().any(|m| m.task_id == "t2" && !m.due && m.waiting_since.is_none()));

        // A late file from the cloud for t1 clears its alert at the next check.
        let late = recording_1004("stu1", "late", now / 1000 - 50, "main");
        let mut e = task_event("c1", "t1", 311, RecorderStage::Ready, now - 1_000, "a311");
        e.media = Some("main");
        e.uid = Some("stu1");
        b.record_recorder_event(&RecorderIntake {
            source: CallbackSource::Trtc,
            received_at: now,
            body: b"{}",
            event: e,
            file: EventFile::Announce {
                file_key: "trtc:t1/late.mp4",
                target: RecordingTarget::Matched { class_id: "c1", uid: "stu1", note: None, build: &late },
            },
            more: Vec::new(),
        })
        .await
        .unwrap();
        let c = b.check_missing_recordings(now + 1, 10_000).await.unwrap();
        assert_eq!((c.raised, c.cleared), (0, 1));
        assert!(a.open_alerts().await.unwrap().iter().all(|x| x.kind != RECORDING_MISSING_ALERT));
    }
}
