//! `replaydesk serve` over real HTTP: the server in process on 127.0.0.1:0, a SQLite file in
//! a temporary directory, the IM emulator (sandbox, or one of the test's own).
//!
//! One file although long: the cases share one harness (`util::server`) and each is one
//! short behaviour of the served API; other areas have their own modules.

use crate::util::server::*;
use replaydesk::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use replaydesk::protocol::{Payload, ReplayMessage};
use replaydesk::secret::Secret;
use serde_json::{json, Value};
use std::time::Duration;

const SDKAPPID: u64 = 1_400_000_002;
const KEY: &str = "5f3c8e1d5b7a92c4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1";

async fn own_emulator() -> EmulatorHandle {
    let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
    cfg.group_rate = 0;
    Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn point_at(c: &mut replaydesk::config::Config, emu: &EmulatorHandle) {
    c.im.endpoint = Some(emu.base_url());
    c.im.sdkappid = Some(SDKAPPID);
    c.im.secret_key = Some(Secret::new(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_report_with_rtt_is_half_the_round_trip_early_and_lands_as_stored() {
    let mut t = TestServer::start(|_| {}).await;
    let token = t
        .create_class("room42", "replay_room42", "teacher_li", true)
        .await;

    let before = now_ms();
    let (s, v) = t
        .report(
            "room42",
            &token,
            &json!({"uid": "teacher_li", "timestamp": 3_408_123_311u64, "rtt_ms": 80}),
        )
        .await;
    let after = now_ms();
    assert_eq!(s, 202, "{v}");
    let time_line = v["time_line"].as_i64().unwrap();
    assert!(
        (before - 40 - 2..=after - 40 + 2).contains(&time_line),
        "time_line {time_line} not within [{}, {}]",
        before - 42,
        after - 38
    );
    let id = v["message_id"].as_i64().unwrap();
    let seq = v["seq"].as_u64().unwrap();

    // The stored 1003 says exactly that.
    let stored = t.store().message(id).await.unwrap();
    assert_eq!(stored.seq, seq);
    let m = ReplayMessage::parse(&stored.data).unwrap();
    assert_eq!(m.timestamp, 3_408_123_311);
    assert!(
        matches!(&m.payload, Payload::Timeline { time_line: tl, value } if *tl == time_line && value.uid == "teacher_li")
    );
    assert_eq!(
        stored.data,
        format!(
            r#"{{"type":1003,"seq":{seq},"timestamp":3408123311,"time_line":{time_line},"value":{{"uid":"teacher_li"}}}}"#
        )
    );

    // A repeat is the same message, with the same time_line.
    let (s2, v2) = t
        .report(
            "room42",
            &token,
            &json!({"uid": "teacher_li", "timestamp": 3_408_123_311u64, "rtt_ms": 10}),
        )
        .await;
    assert_eq!(s2, 202);
    assert_eq!(v2, v, "repeat answers with the same message");

    // Without a round trip, the arrival time itself.
    let before = now_ms();
    let (s3, v3) = t
        .report(
            "room42",
            &token,
            &json!({"uid": "student_wang", "timestamp": 17}),
        )
        .await;
    let after = now_ms();
    assert_eq!(s3, 202, "{v3}");
    let tl3 = v3["time_line"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&tl3),
        "{tl3} not in [{before}, {after}]"
    );

    let emu = t.desk.sandbox_emulator().expect("sandbox").clone();
    wait_until(Duration::from_secs(10), "both 1003s in the group", || {
        let emu = emu.clone();
        async move { history_data(&emu.history("replay_room42")).len() >= 2 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let in_group = history_data(&emu.history("replay_room42"));
    let stored3 = t
        .store()
        .message(v3["message_id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(
        in_group,
        vec![stored.data.clone(), stored3.data],
        "exactly the stored Data, once each"
    );

    // Both reports of the first message are kept raw, with their round trips.
    let (s, reports) = t.get("/v1/admin/classes/room42/reports", Some(ADMIN)).await;
    assert_eq!(s, 200);
    let items = reports["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let first = items.iter().find(|r| r["rtt_ms"] == 80).unwrap();
    assert_eq!(first["accepted"], true);
    assert_eq!(first["uncertainty_ms"], 40);
    assert_eq!(first["message_id"], id);
    assert_eq!(first["time_line"], time_line);
    assert!(first["body"].as_str().unwrap().contains("3408123311"));

    // Members learnt from reports.
    let members = t.admin_get("/v1/admin/classes/room42/members").await;
    let roles: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["uid"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("teacher_li".into(), "teacher".into()),
            ("student_wang".into(), "student".into())
        ]
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_end_make_1001_and_1002_and_move_the_class() {
    let mut t = TestServer::start(|_| {}).await;
    let token = t.create_class("c1", "g1", "teacher_li", false).await;
    let class = t.admin_get("/v1/admin/classes/c1").await;
    assert_eq!(class["state"], "created");

    let (s, started) = t
        .post(
            "/v1/classes/c1/start",
            Some(&token),
            &json!({"uid": "teacher_li", "timestamp": 1000}),
        )
        .await;
    assert_eq!(s, 202, "{started}");
    let (s, again) = t
        .post(
            "/v1/classes/c1/start",
            Some(&token),
            &json!({"uid": "teacher_li", "timestamp": 1000}),
        )
        .await;
    assert_eq!(s, 202);
    assert_eq!(again, started, "a repeated start is the same message");
    let class = t.admin_get("/v1/admin/classes/c1").await;
    assert_eq!(class["state"], "started");
    assert!(class["started_at"].is_i64());

    let (s, ended) = t
        .post(
            "/v1/classes/c1/end",
            Some(&token),
            &json!({"uid": "teacher_li", "timestamp": 900_000}),
        )
        .await;
    assert_eq!(s, 202, "{ended}");
    let class = t.admin_get("/v1/admin/classes/c1").await;
    assert_eq!(class["state"], "ended");
    assert!(class["ended_at"].is_i64());

    let emu = t.desk.sandbox_emulator().unwrap().clone();
    wait_until(
        Duration::from_secs(10),
        "1001 and 1002 in the group",
        || {
            let emu = emu.clone();
            async move { history_data(&emu.history("g1")).len() == 2 }
        },
    )
    .await;
    let data = history_data(&emu.history("g1"));
    assert_eq!(
        data,
        [
            format!(
                r#"{{"type":1001,"seq":{},"timestamp":1000,"value":{{"uid":"teacher_li"}}}}"#,
                started["seq"]
            ),
            format!(
                r#"{{"type":1002,"seq":{},"timestamp":900000,"value":{{"uid":"teacher_li"}}}}"#,
                ended["seq"]
            ),
        ]
    );
    // The group holds them as soon as the IM answered; the store records "sent" just after.
    wait_until(Duration::from_secs(10), "both recorded as sent", || async {
        t.admin_get("/v1/admin/classes").await[0]["counts"]["sent"] == 2
    })
    .await;
    let counts = t.admin_get("/v1/admin/classes").await;
    assert_eq!(counts[0]["counts"]["total"], 2);
    t.stop().await;
}

/// A server on its own emulator with class `a` (group `ga` made through IM; 5 reports,
/// sent) and class `b` (group `gb` does not exist: 3 reports, failed for good with 10010
/// until the group is made).
struct TwoClasses {
    emu: EmulatorHandle,
    t: TestServer,
}

async fn two_classes() -> TwoClasses {
    let emu = own_emulator().await;
    let t = TestServer::start(|c| point_at(c, &emu)).await;
    assert_eq!(t.admin_get("/v1/info").await["sandbox"], false);
    let ta = t.create_class("a", "ga", "teacher_li", true).await;
    let tb = t.create_class("b", "gb", "teacher_zhao", false).await;
    for i in 0..5 {
        let (s, v) = t
            .report(
                "a",
                &ta,
                &json!({"uid": format!("u{i}"), "timestamp": 100 + i}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    for i in 0..3 {
        let (s, v) = t
            .report(
                "b",
                &tb,
                &json!({"uid": format!("s{i}"), "timestamp": 200 + i}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    let store = t.store().clone();
    wait_until(Duration::from_secs(10), "a sent, b failed", || {
        let store = store.clone();
        async move {
            let c = store.class_status_counts().await.unwrap();
            c.contains(&("a".into(), replaydesk::store::MessageStatus::Sent, 5))
                && c.contains(&("b".into(), replaydesk::store::MessageStatus::Failed, 3))
        }
    })
    .await;
    TwoClasses { emu, t }
}

fn items(v: &Value) -> usize {
    v["items"].as_array().unwrap().len()
}

async fn finished_job(t: &TestServer, id: i64) -> Value {
    wait_until(Duration::from_secs(15), "job finished", || async move {
        t.admin_get(&format!("/v1/admin/jobs/{id}")).await["state"] == "finished"
    })
    .await;
    t.admin_get(&format!("/v1/admin/jobs/{id}")).await
}

async fn audit_entries(t: &TestServer) -> Vec<(String, String, String)> {
    t.admin_get("/v1/admin/audit?limit=100").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["target"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_listings_page_newest_first_without_repeats() {
    let TwoClasses { mut t, .. } = two_classes().await;
    let mut ids = Vec::new();
    let mut cursor: Option<i64> = None;
    let mut pages = 0;
    loop {
        let q = match cursor {
            Some(c) => format!("/v1/admin/classes/a/messages?limit=2&cursor={c}"),
            None => "/v1/admin/classes/a/messages?limit=2".into(),
        };
        let page = t.admin_get(&q).await;
        pages += 1;
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_i64() {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 5);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats: {ids:?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_filters_by_status_type_uid_text_retried_time_and_class_each_select_what_they_name()
{
    let TwoClasses { mut t, .. } = two_classes().await;
    let future = now_ms() + 60_000;
    let cases = [
        (
            "failed in b",
            "/v1/admin/classes/b/messages?status=failed".to_owned(),
            3,
        ),
        (
            "statuses listed, repeated or comma-separated",
            "/v1/admin/classes/b/messages?status=sent,pending&status=retrying".into(),
            0,
        ),
        (
            "types by number or name",
            "/v1/admin/classes/a/messages?type=1003&type=class_end".into(),
            5,
        ),
        (
            "a type with none",
            "/v1/admin/classes/a/messages?type=1001".into(),
            0,
        ),
        ("one uid", "/v1/admin/classes/a/messages?uid=u1".into(), 1),
        (
            "text in the data",
            "/v1/admin/classes/a/messages?q=%22u3%22".into(),
            1,
        ),
        (
            "never retried",
            "/v1/admin/classes/a/messages?retried=false".into(),
            5,
        ),
        (
            "retried",
            "/v1/admin/classes/a/messages?retried=true".into(),
            0,
        ),
        (
            "from the future",
            format!("/v1/admin/classes/a/messages?from={future}"),
            0,
        ),
        (
            "up to the future",
            format!("/v1/admin/classes/a/messages?to={future}"),
            5,
        ),
        (
            "across classes",
            "/v1/admin/messages?status=failed".into(),
            3,
        ),
        (
            "across classes, one class",
            "/v1/admin/messages?status=failed&class=a".into(),
            0,
        ),
    ];
    let mut failures = Vec::new();
    for (name, path, want) in &cases {
        let got = items(&t.admin_get(path).await);
        if got != *want {
            failures.push(format!("{name}: {path} listed {got}, expected {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_shows_its_im_code_and_a_resend_by_a_named_actor_sends_it_once_audited() {
    let TwoClasses { emu, mut t, .. } = two_classes().await;
    let failed = t
        .admin_get("/v1/admin/classes/b/messages?status=failed")
        .await;
    let fid = failed["items"][0]["id"].as_i64().unwrap();
    let detail = t.admin_get(&format!("/v1/admin/messages/{fid}")).await;
    assert_eq!(detail["message"]["status"], "failed");
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["outcome"], "permanent");
    assert_eq!(attempts[0]["im_error_code"], 10010);

    emu.create_group_direct("gb").unwrap();
    let res = t
        .http
        .post(format!("{}/v1/admin/messages/{fid}/resend", t.base))
        .bearer_auth(ADMIN)
        .header("X-ReplayDesk-Actor", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["queued"], true);
    let store = t.store().clone();
    wait_until(Duration::from_secs(10), "resent message sent", || {
        let store = store.clone();
        async move { store.message(fid).await.unwrap().status == replaydesk::store::MessageStatus::Sent }
    })
    .await;
    let seq = store.message(fid).await.unwrap().seq;
    let in_group = history_data(&emu.history("gb"));
    assert_eq!(in_group.len(), 1, "only the one resent: {in_group:?}");
    assert!(in_group[0].contains(&format!("\"seq\":{seq},")));
    let entries = audit_entries(&t).await;
    assert!(
        entries.contains(&("alice".into(), "resend".into(), format!("message:{fid}"))),
        "{entries:?}"
    );
    t.stop().await;
}

/// Ids of a paged listing, every page followed with `limit` per page.
async fn paged_ids(t: &TestServer, path: &str, limit: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let url = match cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let page = t.admin_get(&url).await;
        let items = page["items"].as_array().expect("a page");
        assert!(items.len() <= limit as usize, "{page}");
        ids.extend(items.iter().map(|m| m["id"].as_i64().unwrap()));
        match page["next_cursor"].as_i64() {
            Some(c) => cursor = Some(c),
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_resend_job_lists_exactly_the_messages_it_took_newest_first_and_an_unknown_job_is_404(
) {
    let TwoClasses { emu, mut t, .. } = two_classes().await;
    let failed = paged_ids(&t, "/v1/admin/classes/b/messages", 100).await;
    assert_eq!(failed.len(), 3);
    emu.create_group_direct("gb").unwrap();
    let (s, job) = t
        .post(
            "/v1/admin/resend",
            Some(ADMIN),
            &json!({"class_id": "b", "statuses": ["failed"], "confirm_count": 3}),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    let job_id = job["id"].as_i64().unwrap();
    finished_job(&t, job_id).await;

    // Two to a page, so the cursor is followed: b's three, none of a's, newest first.
    let path = format!("/v1/admin/jobs/{job_id}/messages");
    assert_eq!(paged_ids(&t, &path, 2).await, failed);
    let page = t.admin_get(&path).await;
    let items = page["items"].as_array().unwrap();
    assert!(page["next_cursor"].is_null(), "{page}");
    for m in items {
        assert_eq!(
            (m["class_id"].as_str(), m["status"].as_str()),
            (Some("b"), Some("sent")),
            "{m}"
        );
    }

    let (s, v) = t.get("/v1/admin/jobs/987654/messages", Some(ADMIN)).await;
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")), "{v}");
    let (s, v) = t.get(&format!("{path}?limit=0"), Some(ADMIN)).await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = t.get(&path, None).await;
    assert_eq!(s, 401);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_resend_of_failed_messages_is_one_counted_job_that_sends_each_once() {
    let TwoClasses { emu, mut t, .. } = two_classes().await;
    emu.create_group_direct("gb").unwrap();
    let (s, job) = t
        .post(
            "/v1/admin/resend",
            Some(ADMIN),
            &json!({"class_id": "b", "statuses": ["failed"], "confirm_count": 3}),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    assert_eq!(job["kind"], "bulk_resend");
    assert_eq!(job["total"], 3);
    let job_id = job["id"].as_i64().unwrap();
    let job = finished_job(&t, job_id).await;
    assert_eq!(
        (job["done"].as_i64(), job["failed"].as_i64()),
        (Some(3), Some(0)),
        "{job}"
    );
    let seqs: Vec<u64> = t.admin_get("/v1/admin/classes/b/messages").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    let in_group = history_data(&emu.history("gb"));
    assert_eq!(in_group.len(), 3);
    for s in seqs {
        assert_eq!(
            in_group
                .iter()
                .filter(|d| d.contains(&format!("\"seq\":{s},")))
                .count(),
            1,
            "seq {s} once"
        );
    }
    assert_eq!(
        t.admin_get("/v1/admin/jobs")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let entries = audit_entries(&t).await;
    assert!(
        entries.contains(&(
            "admin".into(),
            "bulk_resend".into(),
            format!("job:{job_id}")
        )),
        "{entries:?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_failed_since_a_time_resends_only_what_failed_after_it() {
    let TwoClasses { emu, mut t, .. } = two_classes().await;
    // b's three failed before t0; c's two after.
    let t0 = now_ms();
    let tc = t.create_class("c", "gc", "teacher_c", false).await;
    for i in 0..2 {
        t.report("c", &tc, &json!({"uid": "teacher_c", "timestamp": 300 + i}))
            .await;
    }
    let store = t.store().clone();
    wait_until(Duration::from_secs(10), "c failed", || {
        let store = store.clone();
        async move {
            store.class_status_counts().await.unwrap().contains(&(
                "c".into(),
                replaydesk::store::MessageStatus::Failed,
                2,
            ))
        }
    })
    .await;
    emu.create_group_direct("gb").unwrap();
    emu.create_group_direct("gc").unwrap();
    let (s, job) = t
        .post(
            "/v1/admin/recover",
            Some(ADMIN),
            &json!({"since_ms": t0, "class_id": "c"}),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    assert_eq!(job["kind"], "recover_failed");
    let rid = job["id"].as_i64().unwrap();
    finished_job(&t, rid).await;
    assert_eq!(history_data(&emu.history("gc")).len(), 2);
    assert_eq!(history_data(&emu.history("gb")).len(), 0, "b is not c");
    let entries = audit_entries(&t).await;
    assert!(
        entries.contains(&(
            "admin".into(),
            "recover_failed".into(),
            format!("job:{rid}")
        )),
        "{entries:?}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_im_key_is_audited_without_the_key_and_the_audit_log_pages() {
    let TwoClasses { mut t, .. } = two_classes().await;
    let res = t
        .http
        .put(format!("{}/v1/admin/im/secret-key", t.base))
        .bearer_auth(ADMIN)
        .json(&json!({"secret_key": KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // No credentials alert (class b's missing group raises its own group_missing alert).
    let alerts = t.admin_get("/v1/admin/alerts").await;
    let kinds: Vec<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"im_credentials"), "{alerts}");
    let entries = audit_entries(&t).await;
    for want in [
        (
            "admin".to_string(),
            "create_class".to_string(),
            "class:a".to_string(),
        ),
        ("admin".into(), "create_class".into(), "class:b".into()),
        ("admin".into(), "update_im_secret_key".into(), "im".into()),
    ] {
        assert!(entries.contains(&want), "audit lacks {want:?}: {entries:?}");
    }
    let audit = t.admin_get("/v1/admin/audit?limit=100").await;
    assert!(
        !audit.to_string().contains(KEY),
        "the key is not in the audit log"
    );
    let first = t.admin_get("/v1/admin/audit?limit=2").await;
    assert_eq!(items(&first), 2);
    let next = first["next_cursor"].as_i64().expect("more pages");
    let second = t
        .admin_get(&format!("/v1/admin/audit?limit=2&cursor={next}"))
        .await;
    assert!(second["items"][0]["id"].as_i64().unwrap() < next);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_on_an_existing_group_is_created_without_making_it() {
    let emu = own_emulator().await;
    let mut t = TestServer::start(|c| point_at(c, &emu)).await;
    emu.create_group_direct("gd").unwrap();
    let (s, v) = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id":"d","group_id":"gd","teacher_uid":"t","create_group":true}),
        )
        .await;
    assert_eq!(
        (s, &v["group_created"]),
        (201, &json!(false)),
        "an existing group is fine: {v}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_class_list_and_metrics_count_messages_by_delivery_status() {
    let TwoClasses { mut t, .. } = two_classes().await;
    let classes = t.admin_get("/v1/admin/classes").await;
    let by_id = |id: &str| {
        classes
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["class_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("a")["counts"]["sent"], 5);
    assert_eq!(by_id("a")["members"], 6);
    assert_eq!(by_id("b")["counts"]["failed"], 3);
    assert_eq!(by_id("b")["counts"]["sent"], 0);
    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "replaydesk_messages{status=\"sent\"} 5",
        "replaydesk_messages{status=\"failed\"} 3",
        "replaydesk_messages_accepted_total 8",
        "replaydesk_delivery_attempts_total{outcome=\"permanent\"} 3",
        "replaydesk_delivery_attempt_duration_ms_bucket{le=\"+Inf\"}",
    ] {
        assert!(metrics.contains(want), "lacks {want}:\n{metrics}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_time_health_openapi_and_the_console() {
    let mut t = TestServer::start(|_| {}).await;
    let ui = t.dir.path().join("ui");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>ReplayDesk</title>",
    )
    .unwrap();
    std::fs::write(ui.join("assets/app.js"), "console.log(1)").unwrap();
    t.stop().await;
    let dir = t.dir;
    // Same database, now with the console's files.
    let desk = {
        let mut c = test_config(dir.path());
        c.ui_dir = dir.path().join("ui");
        replaydesk::service::ReplayDesk::start(c).await.unwrap()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = replaydesk::server::spawn(desk, listener).unwrap();
    let base = server.base_url();
    let http = reqwest::Client::new();

    let info: Value = http
        .get(format!("{base}/v1/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        info,
        json!({"version": env!("CARGO_PKG_VERSION"), "sandbox": true, "im_endpoint": null})
    );
    let before = now_ms();
    let time: Value = http
        .get(format!("{base}/v1/time"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let after = now_ms();
    let server_ms = time["server_ms"].as_i64().unwrap();
    assert!((before..=after).contains(&server_ms));
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let openapi: Value = http
        .get(format!("{base}/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    let routes = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/info",
        "/v1/time",
        "/v1/openapi.json",
        "/v1/classes",
        "/v1/classes/{class_id}/timeline",
        "/v1/classes/{class_id}/start",
        "/v1/classes/{class_id}/end",
        "/v1/classes/{class_id}/heartbeat",
        "/v1/callbacks/recording",
        "/v1/callbacks/trtc",
        "/v1/admin/classes",
        "/v1/admin/classes/{class_id}",
        "/v1/admin/classes/{class_id}/members",
        "/v1/admin/classes/{class_id}/streams",
        "/v1/admin/classes/{class_id}/streams/{stream_id}",
        "/v1/admin/classes/{class_id}/recorder-events",
        "/v1/admin/classes/{class_id}/members/{uid}/credential",
        "/v1/admin/classes/{class_id}/members/{uid}/revoke",
        "/v1/admin/classes/{class_id}/credentials",
        "/v1/admin/classes/{class_id}/end",
        "/v1/admin/classes/{class_id}/reports",
        "/v1/admin/classes/{class_id}/reopen",
        "/v1/admin/classes/{class_id}/create-group",
        "/v1/admin/classes/{class_id}/messages",
        "/v1/admin/classes/{class_id}/alignment",
        "/v1/admin/classes/{class_id}/presence",
        "/v1/admin/classes/{class_id}/export",
        "/v1/admin/classes/{class_id}/recordings",
        "/v1/admin/import",
        "/v1/admin/classes/{class_id}/reconcile",
        "/v1/admin/classes/{class_id}/archive",
        "/v1/admin/classes/{class_id}/archive/jobs/{id}",
        "/im-archive/v4/group_open_http_svc/group_msg_get_simple",
        "/v1/admin/messages",
        "/v1/admin/messages/{id}",
        "/v1/admin/messages/{id}/resend",
        "/v1/admin/resend",
        "/v1/admin/resend/preview",
        "/v1/admin/recover",
        "/v1/admin/recover/preview",
        "/v1/admin/jobs",
        "/v1/admin/jobs/{id}",
        "/v1/admin/jobs/{id}/messages",
        "/v1/admin/audit",
        "/v1/admin/alerts",
        "/v1/admin/im/secret-key",
        "/v1/admin/sandbox/faults",
        "/v1/admin/callbacks",
        "/v1/admin/callbacks/{id}",
        "/v1/admin/callbacks/{id}/assign",
        "/v1/admin/callbacks/{id}/unassign",
        "/v1/admin/users",
        "/v1/admin/users/{user}/role",
        "/v1/admin/users/{user}/disable",
        "/v1/admin/users/{user}/reset-password",
        "/v1/admin/tokens",
        "/v1/admin/tokens/{id}/revoke",
        "/v1/auth/setup",
        "/v1/auth/sign-in",
        "/v1/auth/sign-out",
        "/v1/auth/me",
        "/v1/auth/password",
    ];
    assert_eq!(openapi["paths"].as_object().unwrap().len(), routes.len());
    for r in routes {
        assert!(openapi["paths"][r].is_object(), "{r} described");
    }
    let refs = openapi.to_string();
    for name in refs
        .split("#/components/schemas/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
    {
        assert!(
            openapi["components"]["schemas"][name].is_object(),
            "schema {name} defined"
        );
    }

    for (path, want) in [
        ("/", "<!doctype html>"),
        ("/classes/room42", "<!doctype html>"),
        ("/assets/app.js", "console.log"),
    ] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.text().await.unwrap().starts_with(want), "{path}");
    }
    let res = http.get(format!("{base}/v1/none")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
    let res = http
        .post(format!("{base}/v1/callbacks/recording"))
        .body("{}")
        .send()
        .await
        .unwrap();
    // Wired (tests/it/server_callbacks.rs): a body without `sign` is refused, and kept.
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "missing_field");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_concurrent_reports_each_answered_once_durable() {
    let mut t = TestServer::start(|c| c.delivery.group_rate = 0.0).await;
    let token = t
        .create_class("burst", "g_burst", "teacher_li", false)
        .await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (http, base, token) = (t.http.clone(), t.base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..25 {
                let res = http
                    .post(format!("{base}/v1/classes/burst/timeline"))
                    .bearer_auth(&token)
                    .json(&json!({"uid": format!("w{w}"), "timestamp": i, "rtt_ms": 2}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 202);
                let v: Value = res.json().await.unwrap();
                out.push(v["message_id"].as_i64().unwrap());
            }
            out
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 200, "200 distinct messages");
    let m = t.desk.metrics().await.unwrap();
    assert_eq!(m.accepted_total, 200);
    assert!((1..=200).contains(&m.intake_commits_total));
    eprintln!("200 reports in {} commits", m.intake_commits_total);
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    wait_until(Duration::from_secs(20), "200 in the group", || {
        let emu = emu.clone();
        async move { history_data(&emu.history("g_burst")).len() == 200 }
    })
    .await;
    t.stop().await;
}
