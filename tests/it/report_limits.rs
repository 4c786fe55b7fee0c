//! What one member can make the server do and keep (issue 27, holes 2 and 3): reports per
//! credential and per class are rate limited (429 with `Retry-After`, counted, nothing
//! stored), and a report's body is bounded, its unknown fields not kept, and of its
//! refused reports a class keeps a bounded sample. A real server on 127.0.0.1 over a real
//! SQLite file, with the sandbox emulator.

use crate::util::server::*;
use serde_json::{json, Value};

/// A class with per-member credentials; returns the teacher's credential.
async fn class_with_credentials(t: &TestServer, class_id: &str) -> String {
    let (s, v) = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id": class_id, "group_id": format!("replay_{class_id}"), "teacher_uid": "teacher", "create_group": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["teacher_credential"].as_str().unwrap().to_owned()
}

async fn student_credential(t: &TestServer, class_id: &str, uid: &str) -> String {
    let v = t.issue_credential(class_id, uid).await;
    v["credential"].as_str().unwrap().to_owned()
}

async fn metric(t: &TestServer, line_start: &str) -> Option<u64> {
    let text = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .ok()?;
    let text = text.text().await.ok()?;
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
}

async fn reports_of(t: &TestServer, class_id: &str) -> Vec<Value> {
    let v = t
        .admin_get(&format!("/v1/admin/classes/{class_id}/reports?limit=1000"))
        .await;
    v["items"].as_array().unwrap().clone()
}

/// One credential flooding its class (20,000 reports in 19 s in the attack) is refused past
/// its burst, with the defaults; the other members and classes are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_credential_is_limited_by_default_and_nobody_else_is() {
    let t = TestServer::start(|_| {}).await;
    let teacher = class_with_credentials(&t, "c1").await;
    let other_class = class_with_credentials(&t, "c2").await;
    let student = student_credential(&t, "c1", "stu").await;
    let mut refused = None;
    for i in 0..100 {
        let res = t
            .http
            .post(format!("{}/v1/classes/c1/timeline", t.base))
            .bearer_auth(&teacher)
            .json(&json!({"uid": "teacher", "timestamp": 1000 + i}))
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            let retry = res.headers().get("retry-after").cloned();
            let body: Value = res.json().await.unwrap();
            refused = Some((i, retry, body));
            break;
        }
        assert_eq!(res.status(), 202, "report {i}");
    }
    let (at, retry, body) = refused.expect("a flood of one credential is refused");
    assert!(
        at >= 10,
        "a client's burst goes through first (refused at {at})"
    );
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("reports_per_credential"),
        "{body}"
    );
    let retry: u64 = retry
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    // Nothing was kept of the refused report.
    let kept = reports_of(&t, "c1").await;
    assert_eq!(kept.len(), at as usize, "only the reports taken are kept");
    // Another member of the class, and another class, report as usual.
    let (s, v) = t
        .report("c1", &student, &json!({"uid": "stu", "timestamp": 1}))
        .await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = t
        .report(
            "c2",
            &other_class,
            &json!({"uid": "teacher", "timestamp": 1}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    // Counted.
    assert_eq!(
        metric(
            &t,
            "replaydesk_reports_rate_limited_total{limit=\"credential\"}"
        )
        .await,
        Some(1)
    );
}

/// A class as a whole over its rate is refused, but its teacher can still end it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_over_its_rate_is_refused_but_can_still_end() {
    let t = TestServer::start(|c| {
        c.limits.reports_per_credential = 0.0;
        c.limits.reports_per_class = 0.1; // a burst of 3
    })
    .await;
    let teacher = class_with_credentials(&t, "c1").await;
    let other_class = class_with_credentials(&t, "c2").await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let cred = student_credential(&t, "c1", &format!("s{i}")).await;
        let (s, _) = t
            .report(
                "c1",
                &cred,
                &json!({"uid": format!("s{i}"), "timestamp": 1}),
            )
            .await;
        statuses.push(s);
    }
    assert_eq!(statuses, vec![202, 202, 202, 429, 429]);
    let (s, v) = t
        .post(
            "/v1/classes/c1/end",
            Some(&teacher),
            &json!({"uid": "teacher", "timestamp": 9}),
        )
        .await;
    assert_eq!(s, 202, "the end is not the class's report to spend: {v}");
    let (s, v) = t
        .report(
            "c2",
            &other_class,
            &json!({"uid": "teacher", "timestamp": 1}),
        )
        .await;
    assert_eq!(s, 202, "another class has its own bucket: {v}");
    assert_eq!(
        metric(&t, "replaydesk_reports_rate_limited_total{limit=\"class\"}").await,
        Some(2)
    );
}

/// 300 padded reports added 18 MB: a report is at most 4 KiB, and what is kept of it is
/// its own fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_bounded_and_its_unknown_fields_are_not_kept() {
    let t = TestServer::start(|_| {}).await;
    let teacher = class_with_credentials(&t, "c1").await;
    // Unknown fields: taken, ignored, not kept.
    let padded = json!({"uid": "teacher", "timestamp": 7, "rtt_ms": 12, "pad": "x".repeat(3000), "client": {"v": 2}});
    let (s, v) = t.report("c1", &teacher, &padded).await;
    assert_eq!(s, 202, "{v}");
    let kept = reports_of(&t, "c1").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0]["body"], r#"{"uid":"teacher","timestamp":7,"rtt_ms":12}"#,
        "the report's own fields, not the padding"
    );
    // Over 4 KiB: refused, nothing kept.
    let big = json!({"uid": "teacher", "timestamp": 8, "pad": "x".repeat(5000)});
    let (s, v) = t.report("c1", &teacher, &big).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(v["error"], "payload_too_large");
    assert_eq!(reports_of(&t, "c1").await.len(), 1, "nothing more kept");
    // A refused report keeps a sample of its body, and says so.
    let bad = format!(
        r#"{{"uid":"teacher","timestamp":"soon","pad":"{}"}}"#,
        "z".repeat(3000)
    );
    let res = t
        .http
        .post(format!("{}/v1/classes/c1/timeline", t.base))
        .bearer_auth(&teacher)
        .header("content-type", "application/json")
        .body(bad.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let kept = reports_of(&t, "c1").await;
    let refused = &kept[0];
    assert_eq!(refused["accepted"], false);
    let body = refused["body"].as_str().unwrap();
    assert_eq!(body.len(), 1024, "a sample");
    assert!(bad.starts_with(body));
    assert!(
        refused["refusal_reason"]
            .as_str()
            .unwrap()
            .contains(&format!("body of {} bytes", bad.len())),
        "{refused}"
    );
}

/// Of a class's refused reports the newest thousand are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_keeps_only_its_newest_refused_reports() {
    let t = TestServer::start(|_| {}).await;
    class_with_credentials(&t, "c1").await;
    class_with_credentials(&t, "c2").await;
    let meta = replaydesk::service::ReportMeta {
        received_at: now_ms(),
        body: "{}".into(),
        kernel_rtt_ms: None,
    };
    t.desk
        .record_refused_timeline("c2", Some("teacher"), None, None, "other class", &meta)
        .await;
    for i in 0..1005 {
        t.desk
            .record_refused_timeline("c1", Some("teacher"), Some(i), None, "bad", &meta)
            .await;
    }
    let mut kept = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let path = match cursor {
            Some(c) => format!("/v1/admin/classes/c1/reports?limit=1000&cursor={c}"),
            None => "/v1/admin/classes/c1/reports?limit=1000".to_owned(),
        };
        let v = t.admin_get(&path).await;
        kept.extend(v["items"].as_array().unwrap().iter().cloned());
        match v["next_cursor"].as_i64() {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(kept.len(), 1000);
    assert_eq!(kept[0]["client_timestamp"], 1004, "the newest");
    assert_eq!(kept[999]["client_timestamp"], 5, "the oldest kept");
    assert_eq!(
        reports_of(&t, "c2").await.len(),
        1,
        "another class's are its own"
    );
}
