//! A message's detail names what it was made from, found by the message (an index each):
//! a 1003's timeline report and a 1004's recording callback. The console used to page
//! through up to 10,000 reports or callbacks (bodies included) to find it, and said "not
//! found among the newest 10,000" past that.

use crate::util;
use crate::util::server::{TestServer, ADMIN};
use base64::Engine as _;
use replaydesk::secret::Secret;
use serde_json::{json, Value};

const CB_KEY: &str = "message-source-callback-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_detail_names_its_report_or_callback() {
    let t = TestServer::start(|c| c.callback_key = Some(Secret::new(CB_KEY))).await;
    let token = t
        .create_class("room42", "replay_room42", "teacher_li", false)
        .await;
    let (s, v) = t
        .report(
            "room42",
            &token,
            &json!({"uid": "teacher_li", "timestamp": 4242}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let timeline = v["message_id"].as_i64().unwrap();
    let d = t.admin_get(&format!("/v1/admin/messages/{timeline}")).await;
    let report = &d["source_report"];
    assert_eq!(report["message_id"], timeline, "{d}");
    assert!(report["body"].as_str().unwrap().contains("4242"), "{d}");
    assert_eq!(d["source_callback"], Value::Null);

    let fixture = format!(
        "{}/tests/fixtures/recording_callback_mp4.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut cb: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let userid = base64::engine::general_purpose::STANDARD.encode("teacher_li");
    cb["stream_param"] = format!("groupid=replay_room42&userid={userid}").into();
    let t_s = util::server::now_ms() / 1000 + 60;
    cb["t"] = t_s.into();
    cb["sign"] = replaydesk::callback::expected_sign(&Secret::new(CB_KEY), &t_s.to_string()).into();
    let (s, v) = t.post("/v1/callbacks/recording", None, &cb).await;
    assert_eq!(s, 200, "{v}");
    let list = t.admin_get("/v1/admin/callbacks?limit=10").await;
    let record = &list["items"][0];
    assert_eq!(record["status"], "accepted", "{list}");
    let recording = record["message_id"].as_i64().unwrap();
    let d = t
        .admin_get(&format!("/v1/admin/messages/{recording}"))
        .await;
    assert_eq!(d["source_callback"]["id"], record["id"], "{d}");
    assert_eq!(d["source_report"], Value::Null);
    let (s, _) = t.get("/v1/admin/messages/999999", Some(ADMIN)).await;
    assert_eq!(s, 404);
}
