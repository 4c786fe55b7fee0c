//! The identifier rule (docs/http-api.md, "Identifiers"), over real HTTP against a real `serve` (in
//! process, sandbox mode, SQLite): uids that render as another (fillers, blanks, tag
//! characters, fullwidth letters, a Cyrillic letter among Latin ones, non-breaking spaces)
//! and uids not in NFC are refused with 422 naming the rule, at every door that takes a new
//! uid, and change nothing; a member stored before the rule keeps working; a cloud
//! callback's uid is kept as sent and, matching no member, waits unmatched in the inbox.

use crate::util;
use crate::util::server::{TestServer, ADMIN};
use base64::Engine as _;
use replaydesk::secret::Secret;
use serde_json::{json, Value};

const CB_KEY: &str = "identifier-test-callback-key";

/// Uids that look like `teacher` (or like another uid) on a screen.
fn lookalikes() -> Vec<(&'static str, String)> {
    vec![
        ("Hangul filler", "\u{3164}teacher".into()),
        ("Braille blank", "teacher\u{2800}".into()),
        ("tag characters", "teacher\u{E0074}\u{E0065}".into()),
        ("fullwidth letters", "ｔｅａｃｈｅｒ".into()),
        ("a Cyrillic е", "t\u{0435}acher".into()),
        ("a non-breaking space", "teacher\u{00A0}li".into()),
        ("NFD", "cafe\u{0301}".into()),
    ]
}

fn names_the_rule(v: &Value) -> bool {
    let d = v["detail"].as_str().unwrap_or_default();
    d.contains("identifier rule") && (d.contains("UTS #39") || d.contains("NFC"))
}

async fn members(t: &TestServer, class_id: &str) -> Vec<String> {
    let v = t
        .admin_get(&format!("/v1/admin/classes/{class_id}/members"))
        .await;
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["uid"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookalike_and_non_nfc_uids_are_refused_at_every_door_and_change_nothing() {
    let t = TestServer::start(|_| {}).await;
    let token = t.create_class("c1", "g_c1", "teacher", false).await;
    let messages_before = t.message_count().await;
    for (what, uid) in lookalikes() {
        // A new class's teacher.
        let (s, v) = t
            .post(
                "/v1/classes",
                Some(ADMIN),
                &json!({"class_id": "c2", "group_id": "g_c2", "teacher_uid": uid}),
            )
            .await;
        assert_eq!(s, 422, "teacher_uid with {what}: {v}");
        assert!(names_the_rule(&v), "{what}: {v}");
        // A timeline report, a class start.
        let (s, v) = t
            .report("c1", &token, &json!({"uid": uid, "timestamp": 1000}))
            .await;
        assert_eq!(s, 422, "report with {what}: {v}");
        assert!(names_the_rule(&v), "{what}: {v}");
        let (s, v) = t
            .post(
                "/v1/classes/c1/start",
                Some(&token),
                &json!({"uid": uid, "timestamp": 1000}),
            )
            .await;
        assert_eq!(s, 422, "start with {what}: {v}");
        // A member credential (the uid in the path, percent-encoded).
        let path: String = url_path_segment(&uid);
        let (s, v) = t
            .post(
                &format!("/v1/admin/classes/c1/members/{path}/credential"),
                Some(ADMIN),
                &json!({}),
            )
            .await;
        assert_eq!(s, 422, "credential with {what}: {v}");
        assert!(names_the_rule(&v), "{what}: {v}");
    }
    let (s, v) = t.get("/v1/admin/classes/c2", Some(ADMIN)).await;
    assert_eq!(s, 404, "no class was made: {v}");
    assert_eq!(members(&t, "c1").await, ["teacher"]);
    assert_eq!(t.message_count().await, messages_before, "no message");

    // The NFC form is a uid like any other; its NFD twin is not a second member.
    let (s, v) = t
        .report("c1", &token, &json!({"uid": "café", "timestamp": 1000}))
        .await;
    assert_eq!(s, 202, "{v}");
    let (s, _) = t
        .report(
            "c1",
            &token,
            &json!({"uid": "cafe\u{0301}", "timestamp": 1001}),
        )
        .await;
    assert_eq!(s, 422);
    // Ids in one script, or Latin with Han/Japanese/Korean, are taken.
    for uid in [
        "李 老师",
        "Müller",
        "山田たろう",
        "김민수",
        "Ivan_2",
        "Иван",
        "Ali-علي",
        "wang.li@school",
    ] {
        let (s, v) = t
            .report("c1", &token, &json!({"uid": uid, "timestamp": 1000}))
            .await;
        assert_eq!(s, 202, "{uid}: {v}");
    }
    assert_eq!(members(&t, "c1").await.len(), 10);
}

/// Percent-encodes one path segment (every byte outside unreserved ASCII).
fn url_path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Data already stored is left as it is: a member enrolled before the rule (here straight
/// into the store) keeps reporting, and gets its credential again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_stored_before_the_rule_keeps_working() {
    let t = TestServer::start(|_| {}).await;
    let token = t.create_class("c1", "g_c1", "teacher_li", false).await;
    let old = "t\u{0435}acher";
    t.store().enrol_member("c1", old).await.unwrap();
    let (s, v) = t
        .report("c1", &token, &json!({"uid": old, "timestamp": 1000}))
        .await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = t
        .post(
            &format!(
                "/v1/admin/classes/c1/members/{}/credential",
                url_path_segment(old)
            ),
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // Its look-alike that is not stored is still refused.
    let (s, v) = t
        .report(
            "c1",
            &token,
            &json!({"uid": "t\u{0435}acher_li", "timestamp": 1000}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
}

/// A cloud's callback names a user the class does not have, by a look-alike id: the
/// callback is acknowledged and kept as sent, unmatched in the inbox for an admin, and
/// no 1004 is made for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_uid_that_fails_the_rule_waits_unmatched_as_sent() {
    let t = TestServer::start(|c| c.callback_key = Some(Secret::new(CB_KEY))).await;
    t.create_class("room42", "replay_room42", "teacher_li", false)
        .await;
    let lookalike = "t\u{0435}acher_li";
    let fixture = format!(
        "{}/tests/fixtures/recording_callback_mp4.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut cb: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let userid = base64::engine::general_purpose::STANDARD.encode(lookalike);
    cb["stream_param"] = format!("groupid=replay_room42&userid={userid}").into();
    cb["stream_id"] = "1400000001_room42_x_main".into();
    let now_s = util::server::now_ms() / 1000;
    cb["t"] = (now_s + 60).into();
    cb["sign"] =
        replaydesk::callback::expected_sign(&Secret::new(CB_KEY), &(now_s + 60).to_string()).into();
    let before = t.message_count().await;
    let (s, v) = t.post("/v1/callbacks/recording", None, &cb).await;
    assert_eq!(s, 200, "acknowledged: {v}");
    let list = t
        .admin_get("/v1/admin/callbacks?status=unmatched&limit=10")
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let reason = items[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("identifier rule"), "{reason}");
    let body: Value = serde_json::from_str(items[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["stream_param"], cb["stream_param"], "kept as sent");
    assert_eq!(t.message_count().await, before, "no 1004");
}

/// The audit log's actor (`X-ReplayDesk-Actor`) is shown as who did what: a name that looks
/// like another's is refused (400, as any bad header), naming the rule, and nothing is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookalike_actor_name_is_refused() {
    let t = TestServer::start(|_| {}).await;
    for actor in ["\u{0430}dmin", "ａｄｍｉｎ", "admin\u{3164}"] {
        let res = t
            .http
            .post(format!("{}/v1/classes", t.base))
            .bearer_auth(ADMIN)
            .header(
                "X-ReplayDesk-Actor",
                reqwest::header::HeaderValue::from_bytes(actor.as_bytes()).unwrap(),
            )
            .json(&json!({"class_id": "c9", "group_id": "g_c9", "teacher_uid": "teacher_li"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{actor:?}");
        let v: Value = res.json().await.unwrap();
        assert!(names_the_rule(&v), "{actor:?}: {v}");
    }
    let (s, _) = t.get("/v1/admin/classes/c9", Some(ADMIN)).await;
    assert_eq!(s, 404, "nothing was done");
}
