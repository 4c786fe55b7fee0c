//! The demo's live class (issue 24): members that heartbeat, so that the console's
//! presence, the re-anchoring 1003s and the end for silence have something to show. The
//! teacher and three students heartbeat once a second for a while: `student_wang`'s crystal
//! runs 1,000 ppm slow (tens of ppm over an hour, compressed into the demo's minute),
//! `student_zhao`'s computer reboots silently (its clock starts again near zero and it
//! never re-reports), `student_new` never reports a timeline at all; then everyone
//! vanishes, the teacher without ending the class, and the server ends it after
//! `heartbeat.silence_end`.

use super::Api;
use serde_json::json;
use std::time::{Duration, Instant};

/// Heartbeats per member per second: under the heartbeats' own limit (2 a second).
const EVERY: Duration = Duration::from_secs(1);

pub(super) async fn live_class(api: &Api, stamp: i64, secs: u64) -> Result<String, String> {
    let class_id = format!("demo-{stamp}-live");
    let created = api
        .admin_post(
            "/v1/classes",
            json!({"class_id": class_id, "group_id": format!("demo_group_{stamp}_live"), "teacher_uid": "teacher_li", "create_group": true}),
        )
        .await?;
    let mut members = vec![(
        "teacher_li".to_owned(),
        created["teacher_credential"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )];
    for uid in ["student_wang", "student_zhao", "student_new"] {
        let c = api
            .admin_post(
                &format!("/v1/admin/classes/{class_id}/members/{uid}/credential"),
                json!({}),
            )
            .await?;
        members.push((
            uid.to_owned(),
            c["credential"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let started = Instant::now();
    let reboot_after = Duration::from_secs(secs.min(8) / 2);
    let clock = |uid: &str| -> i64 {
        let ms = started.elapsed().as_millis() as i64;
        match uid {
            "teacher_li" => 8_000_000 + ms,
            "student_wang" => 3_000_000 + ms * 999 / 1000,
            "student_zhao" if started.elapsed() < reboot_after => 6_000_000 + ms,
            "student_zhao" => 2_000 + ms - reboot_after.as_millis() as i64,
            _ => 1_000_000 + ms,
        }
    };
    let (teacher, teacher_cred) = &members[0];
    api.report(
        &class_id,
        "start",
        teacher_cred,
        json!({"uid": teacher, "timestamp": clock(teacher)}),
    )
    .await?;
    for (uid, cred) in members.iter().filter(|(u, _)| u != "student_new") {
        api.report(
            &class_id,
            "timeline",
            cred,
            json!({"uid": uid, "timestamp": clock(uid), "rtt_ms": 1}),
        )
        .await?;
    }
    let until = Instant::now() + Duration::from_secs(secs);
    let mut rtt: Option<f64> = None;
    while Instant::now() < until {
        let t = Instant::now();
        for (uid, cred) in &members {
            let mut body = json!({"uid": uid, "timestamp": clock(uid)});
            if let Some(r) = rtt {
                body["rtt_ms"] = json!(r);
            }
            api.report(&class_id, "heartbeat", cred, body).await?;
        }
        rtt = Some(t.elapsed().as_secs_f64() * 1000.0 / members.len() as f64);
        tokio::time::sleep(EVERY.saturating_sub(t.elapsed())).await;
    }
    Ok(class_id)
}
