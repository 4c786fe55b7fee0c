//! Security: who may report for whom, what an outsider can make the server do, and what
//! never leaves it. The server in process over real HTTP with a SQLite file; one case per
//! behaviour, each named for what it proves.
//!
//! One file although long: the cases are the server's security contract, read as one list;
//! each is short, independent and named for what it proves.

use crate::util::server::*;
use serde_json::{json, Value};

async fn credential(t: &TestServer, class_id: &str, uid: &str) -> String {
    let v = t.issue_credential(class_id, uid).await;
    v["credential"].as_str().expect("credential").to_owned()
}

fn tl(uid: &str, ts: i64) -> Value {
    json!({"uid": uid, "timestamp": ts})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_class_gives_the_teacher_a_credential_and_no_class_wide_token() {
    let t = TestServer::start(|_| {}).await;
    let v = t.create_default_class("c1", "teacher_li").await;
    assert!(v["report_token"].is_null(), "{v}");
    assert_eq!(v["legacy_class_token"], false);
    assert_eq!(v["open_enrolment"], false);
    let cred = v["teacher_credential"].as_str().unwrap();
    let (s, body) = t.report("c1", cred, &tl("teacher_li", 1)).await;
    assert_eq!(s, 202, "{body}");
    let (s, body) = t
        .post("/v1/classes/c1/start", Some(cred), &tl("teacher_li", 2))
        .await;
    assert_eq!(s, 202, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_credential_speaks_for_its_own_uid_only() {
    let t = TestServer::start(|_| {}).await;
    let v = t.create_default_class("c1", "teacher_li").await;
    let teacher = v["teacher_credential"].as_str().unwrap().to_owned();
    let student = credential(&t, "c1", "stu_1").await;
    let before = t.message_count().await;
    for (path, body) in [
        ("/v1/classes/c1/timeline", tl("teacher_li", 5)),
        ("/v1/classes/c1/start", tl("teacher_li", 5)),
        ("/v1/classes/c1/end", tl("teacher_li", 5)),
    ] {
        let (s, e) = t.post(path, Some(&student), &body).await;
        assert_eq!(s, 403, "student speaking for the teacher on {path}: {e}");
        assert!(e["detail"].as_str().unwrap().contains("stu_1"), "{e}");
    }
    let (s, e) = t.report("c1", &teacher, &tl("stu_1", 5)).await;
    assert_eq!(s, 403, "teacher credential for a student: {e}");
    assert_eq!(t.message_count().await, before, "nothing stored");
    let (s, e) = t.report("c1", &student, &tl("stu_1", 5)).await;
    assert_eq!(s, 202, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_class_credential_is_forbidden_and_a_forged_one_unauthorized() {
    let t = TestServer::start(|_| {}).await;
    t.create_default_class("c1", "teacher_li").await;
    let v2 = t.create_default_class("c2", "teacher_zhao").await;
    let zhao = v2["teacher_credential"].as_str().unwrap().to_owned();
    let (s, e) = t.report("c1", &zhao, &tl("teacher_zhao", 1)).await;
    assert_eq!(s, 403, "{e}");
    // The same credential with its class part rewritten: the MAC no longer verifies.
    let parts: Vec<&str> = zhao.split('.').collect();
    use base64::Engine as _;
    let c1 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("c1");
    let forged = format!("{}.{}.{}.{}", parts[0], c1, parts[2], parts[3]);
    let (s, e) = t.report("c1", &forged, &tl("teacher_zhao", 1)).await;
    assert_eq!(s, 401, "{e}");
    assert_eq!(t.message_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_credential_gets_401_whether_or_not_the_class_exists() {
    let t = TestServer::start(|_| {}).await;
    t.create_default_class("c1", "teacher_li").await;
    for class in ["c1", "no_such_class"] {
        for token in ["wrong", "rdc1.YzE.dA.AAAA"] {
            let (s, e) = t.report(class, token, &tl("teacher_li", 1)).await;
            assert_eq!(s, 401, "{class} with {token}: {e}");
        }
        let (s, e) = t
            .post(&format!("/v1/classes/{class}/start"), None, &tl("a", 1))
            .await;
        assert_eq!(s, 401, "{class} without a credential: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_class_wide_token_is_a_legacy_option_and_knows_only_members_without_open_enrolment() {
    let t = TestServer::start(|_| {}).await;
    let (s, v) = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id": "old", "group_id": "g_old", "teacher_uid": "teacher_li", "legacy_class_token": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let token = v["report_token"].as_str().expect("legacy token").to_owned();
    // The teacher is a member; a uid the class does not know is refused.
    let (s, e) = t.report("old", &token, &tl("teacher_li", 1)).await;
    assert_eq!(s, 202, "{e}");
    let (s, e) = t.report("old", &token, &tl("stranger", 1)).await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["detail"].as_str().unwrap().contains("open enrolment"),
        "{e}"
    );
    // Enrolled by an admin, it may.
    credential(&t, "old", "stranger").await;
    let (s, e) = t.report("old", &token, &tl("stranger", 1)).await;
    assert_eq!(s, 202, "{e}");
    // With open enrolment, anyone holding the token joins.
    let (s, v) = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id": "open", "group_id": "g_open", "teacher_uid": "t", "legacy_class_token": true, "open_enrolment": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let open = v["report_token"].as_str().unwrap().to_owned();
    let (s, e) = t.report("open", &open, &tl("newcomer", 1)).await;
    assert_eq!(s, 202, "{e}");
    let members = t.admin_get("/v1/admin/classes/open/members").await;
    assert!(members.to_string().contains("newcomer"), "{members}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_route_needs_the_admin_token_and_enrols_the_uid() {
    let t = TestServer::start(|_| {}).await;
    let v = t.create_default_class("c1", "teacher_li").await;
    let teacher = v["teacher_credential"].as_str().unwrap().to_owned();
    let path = "/v1/admin/classes/c1/members/stu_9/credential";
    for token in [None, Some("wrong"), Some(teacher.as_str())] {
        let (s, e) = t.post(path, token, &json!({})).await;
        assert_eq!(s, 401, "{token:?}: {e}");
    }
    let (s, e) = t
        .post(
            "/v1/admin/classes/nope/members/stu_9/credential",
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(s, 404, "{e}");
    let (s, v) = t.post(path, Some(ADMIN), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["uid"], "stu_9");
    assert_eq!(v["role"], "student");
    // Asking again issues a new one, which replaces it (tests/it/roster.rs says more).
    let again = credential(&t, "c1", "stu_9").await;
    assert_ne!(v["credential"].as_str().unwrap(), again);
    let members = t.admin_get("/v1/admin/classes/c1/members").await;
    assert!(members.to_string().contains("stu_9"), "{members}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_hands_out_the_credential_the_admin_route_issued_last() {
    let t = TestServer::start(|_| {}).await;
    t.create_default_class("c1", "teacher_li").await;
    let issued = credential(&t, "c1", "stu_2").await;
    let lib = t.desk.member_credential("c1", "stu_2").await.unwrap();
    assert_eq!(lib.credential, issued);
    assert!(
        !format!("{lib:?}").contains(&lib.credential),
        "Debug hides the credential"
    );
    let (s, e) = t.report("c1", &lib.credential, &tl("stu_2", 3)).await;
    assert_eq!(s, 202, "{e}");
}

// ---- the recording callback: what an unauthenticated sender can do ----

const CB_KEY: &str = "replaydesk-fixture-callback-key";
const CALLBACK: &str = "/v1/callbacks/recording";

fn mp4_fixture() -> Value {
    let path = format!(
        "{}/tests/fixtures/recording_callback_mp4.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sign_for(t: &str) -> String {
    replaydesk::callback::expected_sign(&replaydesk::secret::Secret::new(CB_KEY), t)
}

/// The fixture for class room42, with `t` and a sign over `sign_t`.
fn callback(t: i64, sign_t: i64) -> Value {
    let mut v = mp4_fixture();
    v["t"] = t.into();
    v["sign"] = sign_for(&sign_t.to_string()).into();
    v
}

async fn callback_server() -> TestServer {
    let t = TestServer::start(|c| {
        c.callback_key = Some(replaydesk::secret::Secret::new(CB_KEY));
        c.max_body_bytes = 128 * 1024;
    })
    .await;
    t.create_class("room42", "replay_room42", "teacher_li", true)
        .await;
    t
}

async fn post_callback(t: &TestServer, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let res = t
        .http
        .post(format!("{}{CALLBACK}", t.base))
        .body(body)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn now_s() -> i64 {
    now_ms() / 1000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_signatures_bind_t_and_expire_both_ways() {
    let t = callback_server().await;
    let now = now_s();
    let cases = [
        (
            "replayed after t",
            callback(now - 3600, now - 3600),
            401,
            "expired",
        ),
        (
            "sign for another t",
            callback(now + 600, now + 601),
            401,
            "bad_sign",
        ),
        (
            "t in the year 2100",
            callback(4_102_444_800, 4_102_444_800),
            401,
            "t_too_far_ahead",
        ),
        (
            "t one hour ahead",
            callback(now + 3600, now + 3600),
            401,
            "t_too_far_ahead",
        ),
    ];
    for (what, body, status, reason) in cases {
        let (s, v) = post_callback(&t, body.to_string()).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (status, Some(reason)),
            "{what}: {v}"
        );
    }
    assert_eq!(t.message_count().await, 0, "nothing refused is sent");
    // An upper-case sign is the same hex number: accepted (documented), once.
    let mut upper = callback(now + 600, now + 600);
    upper["sign"] = upper["sign"].as_str().unwrap().to_uppercase().into();
    let (s, v) = post_callback(&t, upper.to_string()).await;
    assert_eq!(s, 200, "upper-case sign: {v}");
    assert_eq!(t.message_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_answers_never_show_a_callback_sign() {
    let t = callback_server().await;
    let now = now_s();
    let good = callback(now + 600, now + 600);
    let sign = good["sign"].as_str().unwrap().to_owned();
    let (s, _) = post_callback(&t, good.to_string()).await;
    assert_eq!(s, 200);
    let refused = callback(now + 600, now + 1);
    let refused_sign = refused["sign"].as_str().unwrap().to_owned();
    post_callback(&t, refused.to_string()).await;
    let list = t.admin_get("/v1/admin/callbacks").await;
    let mut shown = list.to_string();
    for item in list["items"].as_array().unwrap() {
        shown.push_str(
            &t.admin_get(&format!("/v1/admin/callbacks/{}", item["id"]))
                .await
                .to_string(),
        );
    }
    assert!(shown.contains("(hidden)"), "{shown}");
    assert!(
        !shown.contains(&sign) && !shown.contains(&refused_sign),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_video_url_or_ambiguous_stream_param_sends_nothing() {
    let t = callback_server().await;
    let now = now_s();
    let mut js = callback(now + 600, now + 600);
    js["video_url"] = "javascript:alert(document.cookie)".into();
    let (s, v) = post_callback(&t, js.to_string()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_field")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("video_url"), "{v}");
    let mut twice = callback(now + 600, now + 600);
    twice["stream_param"] = format!(
        "{}&groupid=replay_other",
        twice["stream_param"].as_str().unwrap()
    )
    .into();
    let (s, v) = post_callback(&t, twice.to_string()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_field")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("groupid"), "{v}");
    let mut negative = callback(now + 600, now + 600);
    negative["duration"] = (-5).into();
    let (s, _) = post_callback(&t, negative.to_string()).await;
    assert_eq!(s, 422);
    assert_eq!(t.message_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callback_bodies_are_kept_as_a_capped_sample_of_bytes_and_listed_small() {
    let t = callback_server().await;
    // 20 unsigned 64 KiB bodies, not UTF-8.
    let body: Vec<u8> = (0..64 * 1024).map(|i| 0x80 | (i % 64) as u8).collect();
    for _ in 0..20 {
        let (s, v) = post_callback(&t, body.clone()).await;
        assert_eq!(s, 400, "{v}");
    }
    let db = t.dir.path().join("replaydesk.db");
    let conn = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (n, kind, stored, total): (i64, String, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), MIN(typeof(body)), MAX(length(body)), SUM(body_bytes) \
         FROM recording_callbacks WHERE status = 'refused'",
    )
    .fetch_one(&conn)
    .await
    .unwrap();
    assert_eq!(n, 20);
    assert_eq!(kind, "blob", "kept as bytes, not as replacement characters");
    assert_eq!(stored, replaydesk::store::REFUSED_BODY_SAMPLE_BYTES as i64);
    assert_eq!(total, 20 * 64 * 1024, "the size received is recorded");
    let first: Vec<u8> =
        sqlx::query_scalar("SELECT body FROM recording_callbacks WHERE status = 'refused' LIMIT 1")
            .fetch_one(&conn)
            .await
            .unwrap();
    assert_eq!(first, body[..first.len()], "the bytes as received");
    conn.close().await;
    // The listing answers small: at most a 4 KiB preview of each body.
    let res = t
        .http
        .get(format!("{}/v1/admin/callbacks?limit=1000", t.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(
        text.len() < 20 * 16 * 1024,
        "listing is {} bytes",
        text.len()
    );
    let metrics = t.get("/metrics", None).await.1;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("replaydesk_recording_callbacks_refused_total 20"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_refused_callbacks_are_kept() {
    let t = callback_server().await;
    let cap = replaydesk::store::REFUSED_SAMPLE_ROWS;
    for i in 0..cap + 5 {
        let body = format!("not json {i}");
        t.desk
            .receive_recording_callback(body.as_bytes(), now_ms())
            .await
            .unwrap();
    }
    let page = t
        .admin_get("/v1/admin/callbacks?status=refused&limit=1000")
        .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1000);
    assert!(
        page["next_cursor"].is_null(),
        "no more than {cap} kept: {}",
        page["next_cursor"]
    );
    assert_eq!(
        items[0]["body"],
        format!("not json {}", cap + 4),
        "the newest kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_says_when_the_database_cannot_take_writes() {
    let t = TestServer::start(|_| {}).await;
    // Another connection holds the write lock: writes cannot happen.
    let db = t.dir.path().join("replaydesk.db");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *conn)
        .await
        .unwrap();
    let (s, v) = t.get("/healthz", None).await;
    assert_eq!((s, v["status"].as_str()), (503, Some("degraded")), "{v}");
    assert!(
        v["database"]
            .as_str()
            .unwrap()
            .contains("cannot take writes"),
        "{v}"
    );
    sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
    tokio::time::sleep(replaydesk::service::CACHE_FOR).await;
    let (s, v) = t.get("/healthz", None).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ok")), "{v}");
}

// ---- smaller holes: search bounds, lookalike ids, repeated keys, reused files ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_search_text_is_422_not_a_500() {
    let t = TestServer::start(|_| {}).await;
    for q in ["x".repeat(5000), "%25".repeat(2000)] {
        for path in ["/v1/admin/messages", "/v1/admin/classes/none/messages"] {
            let (s, v) = t.get(&format!("{path}?q={q}"), Some(ADMIN)).await;
            assert_eq!(s, 422, "{path}: {v}");
            assert!(v["detail"].as_str().unwrap().starts_with("q:"), "{v}");
        }
    }
    let (s, v) = t
        .post(
            "/v1/admin/resend",
            Some(ADMIN),
            &json!({"text": "%".repeat(25_000), "class_id": "none"}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = t.get("/v1/admin/messages?q=50%25", Some(ADMIN)).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookalike_uids_and_dot_class_ids_are_refused() {
    let t = TestServer::start(|_| {}).await;
    for (class_id, teacher) in [
        (".", "teacher_li"),
        ("..", "teacher_li"),
        ("c1", "teacher\u{202e}il"),
        ("c1", "teacher\u{200b}li"),
        ("c1", "\u{feff}teacher_li"),
        ("c1", "teacher_li "),
    ] {
        let (s, v) = t
            .post(
                "/v1/classes",
                Some(ADMIN),
                &json!({"class_id": class_id, "group_id": "g1", "teacher_uid": teacher}),
            )
            .await;
        assert_eq!(s, 422, "{class_id:?} {teacher:?}: {v}");
    }
    t.create_default_class("c1", "teacher_li").await;
    for uid in ["stu%E2%80%8B1", "stu%E2%80%AE1", "stu1%20"] {
        let (s, v) = t
            .post(
                &format!("/v1/admin/classes/c1/members/{uid}/credential"),
                Some(ADMIN),
                &json!({}),
            )
            .await;
        assert_eq!(s, 422, "{uid}: {v}");
    }
    let members = t.admin_get("/v1/admin/classes/c1/members").await;
    assert_eq!(members.as_array().unwrap().len(), 1, "{members}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_json_keys_are_refused_and_change_nothing() {
    let t = callback_server().await;
    let v = t.create_default_class("c1", "teacher_li").await;
    let cred = v["teacher_credential"].as_str().unwrap().to_owned();
    let raw = |path: &str, token: &str, body: &str| {
        t.http
            .post(format!("{}{path}", t.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    let before = t.message_count().await;
    let res = raw(
        "/v1/classes/c1/timeline",
        &cred,
        r#"{"uid":"teacher_li","timestamp":1,"timestamp":2}"#,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("duplicate key"));
    let res = raw(
        "/v1/classes",
        ADMIN,
        r#"{"class_id":"c2","group_id":"g2","teacher_uid":"a","teacher_uid":"b"}"#,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    let res = raw(
        "/v1/admin/resend",
        ADMIN,
        r#"{"class_id":"c1","class_id":"c2"}"#,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    // A callback with two signs: which one was verified? Neither.
    let now = now_s();
    let good = callback(now + 600, now + 600);
    let text = good.to_string();
    let twice = format!(
        "{},\"sign\":\"00000000000000000000000000000000\"}}",
        &text[..text.len() - 1]
    );
    let (s, v) = post_callback(&t, twice).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_field")),
        "{v}"
    );
    assert_eq!(t.message_count().await, before);
    let (s, _) = t.get("/v1/admin/classes/c2", Some(ADMIN)).await;
    assert_eq!(s, 404, "no class created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_reusing_another_class_file_is_listed_as_a_conflict() {
    let t = callback_server().await;
    t.create_class("room43", "replay_room43", "teacher_zhao", true)
        .await;
    let now = now_s();
    let first = callback(now + 600, now + 600);
    let (s, _) = post_callback(&t, first.to_string()).await;
    assert_eq!(s, 200);
    // The same file_id, claimed for another class's group.
    let mut other = callback(now + 600, now + 600);
    other["stream_param"] = "groupid=replay_room43&userid=dGVhY2hlcl96aGFv".into();
    other["stream_id"] = "1400000001_room43_teacher_zhao_main".into();
    other["channel_id"] = other["stream_id"].clone();
    let (s, v) = post_callback(&t, other.to_string()).await;
    assert_eq!(s, 200, "{v}");
    let conflicts = t.admin_get("/v1/admin/callbacks?status=conflict").await;
    let items = conflicts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{conflicts}");
    assert!(
        items[0]["reason"].as_str().unwrap().contains("room43"),
        "{conflicts}"
    );
    // The same claim again is a plain duplicate.
    let (s, _) = post_callback(&t, first.to_string()).await;
    assert_eq!(s, 200);
    let dups = t.admin_get("/v1/admin/callbacks?status=duplicate").await;
    assert_eq!(dups["items"].as_array().unwrap().len(), 1, "{dups}");
    assert_eq!(t.message_count().await, 1, "one 1004 only");
}

// ---- every admin route, and secrets that never leave ----

/// Every console route of the OpenAPI document (security scheme `token`), with its path parameters filled in
/// (`class_id` with `class_id`, ids with 1, uids with `u1`).
async fn admin_routes(t: &TestServer, class_id: &str) -> Vec<(reqwest::Method, String)> {
    let doc = t.get("/v1/openapi.json", None).await.1;
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            // The console's routes: a person's credential or a token (issue 23: `token`
            // and `session`; `/v1/auth/*` has its own refusals and is not among them).
            if op["security"].to_string().contains("\"token\"") && !path.starts_with("/v1/auth/") {
                let p = path
                    .replace("{class_id}", class_id)
                    .replace("{id}", "1")
                    .replace("{uid}", "u1")
                    .replace("{user}", "n1");
                out.push((method.to_uppercase().parse().unwrap(), p));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_refuses_no_token_a_wrong_one_and_a_report_credential() {
    let t = TestServer::start(|_| {}).await;
    let v = t.create_default_class("c1", "teacher_li").await;
    let cred = v["teacher_credential"].as_str().unwrap().to_owned();
    let legacy = t.create_class("c2", "g2", "teacher_zhao", false).await;
    let mut routes = admin_routes(&t, "c1").await;
    routes.extend(admin_routes(&t, "no_such_class").await);
    assert!(routes.len() >= 40, "{} routes", routes.len());
    let before = t.message_count().await;
    for (method, path) in &routes {
        for token in [
            None,
            Some("wrong"),
            Some(&format!("{ADMIN}x")),
            Some(cred.as_str()),
            Some(legacy.as_str()),
        ] {
            let (s, e) = t.call(method.clone(), path, token, Some(&json!({}))).await;
            assert_eq!(s, 401, "{method} {path} with {token:?}: {e}");
            assert_eq!(e["error"], "unauthorized", "{method} {path}: {e}");
        }
    }
    assert_eq!(t.message_count().await, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_and_markup_strings_are_stored_and_shown_verbatim() {
    let t = TestServer::start(|_| {}).await;
    let evil_uid = "'); DROP TABLE messages; -- <script>alert(1)</script> \" OR 1=1";
    let v = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id": "c1", "group_id": "g1'--<b>x</b>", "teacher_uid": evil_uid}),
        )
        .await;
    assert_eq!(v.0, 201, "{}", v.1);
    let cred = v.1["teacher_credential"].as_str().unwrap().to_owned();
    let (s, e) = t.report("c1", &cred, &tl(evil_uid, 42)).await;
    assert_eq!(s, 202, "{e}");
    let members = t.admin_get("/v1/admin/classes/c1/members").await;
    assert_eq!(members[0]["uid"], evil_uid);
    let class = t.admin_get("/v1/admin/classes/c1").await;
    assert_eq!(class["group_id"], "g1'--<b>x</b>");
    let msgs = t.admin_get("/v1/admin/messages?uid=%27%29%3B%20DROP%20TABLE%20messages%3B%20--%20%3Cscript%3Ealert%281%29%3C%2Fscript%3E%20%22%20OR%201%3D1").await;
    let items = msgs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{msgs}");
    assert_eq!(items[0]["uid"], evil_uid);
    let reports = t.admin_get("/v1/admin/classes/c1/reports").await;
    assert!(reports["items"][0]["body"]
        .as_str()
        .unwrap()
        .contains("DROP TABLE"));
    assert_eq!(
        t.message_count().await,
        1,
        "the messages table is still there"
    );
    // Searching for SQL or LIKE syntax finds the text, nothing else.
    let found = t
        .admin_get("/v1/admin/messages?q=%25%27%20OR%201%3D1")
        .await;
    assert!(found["items"].as_array().unwrap().is_empty(), "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_secret_never_reaches_the_database_or_an_answer() {
    const ADMIN_SECRET: &str = "planted-admin-token-7f3a9c21e5";
    const CB_SECRET: &str = "planted-callback-key-c41d88e0";
    const IM_SECRET: &str = "plantedimsecretkey5b2e77d0aa";
    let mut t = TestServer::start(|c| {
        c.admin_token = Some(replaydesk::secret::Secret::new(ADMIN_SECRET));
        c.callback_key = Some(replaydesk::secret::Secret::new(CB_SECRET));
    })
    .await;
    let mut answers = String::new();
    let (s, v) = t
        .post(
            "/v1/classes",
            Some(ADMIN_SECRET),
            &json!({"class_id": "c1", "group_id": "g1", "teacher_uid": "teacher_li", "legacy_class_token": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // The creation answer shows the legacy token this once; nothing after it may.
    assert!(!v.to_string().contains(ADMIN_SECRET));
    let cred = v["teacher_credential"].as_str().unwrap().to_owned();
    let legacy = v["report_token"].as_str().unwrap().to_owned();
    t.report("c1", &cred, &tl("teacher_li", 1)).await;
    let tt = now_s() + 600;
    let mut cb = mp4_fixture();
    cb["t"] = tt.into();
    cb["sign"] = replaydesk::callback::expected_sign(
        &replaydesk::secret::Secret::new(CB_SECRET),
        &tt.to_string(),
    )
    .into();
    let (s, v) = post_callback(&t, cb.to_string()).await;
    answers.push_str(&format!("{s} {v}"));
    let (_, v) = t
        .call(
            reqwest::Method::PUT,
            "/v1/admin/im/secret-key",
            Some(ADMIN_SECRET),
            Some(&json!({"secret_key": IM_SECRET})),
        )
        .await;
    answers.push_str(&v.to_string());
    for (method, path) in admin_routes(&t, "c1").await {
        if method == reqwest::Method::GET {
            let (_, v) = t.get(&path, Some(ADMIN_SECRET)).await;
            answers.push_str(&v.to_string());
        }
    }
    for p in ["/metrics", "/healthz", "/v1/info", "/v1/openapi.json"] {
        answers.push_str(&t.get(p, None).await.1.to_string());
    }
    // Legacy tokens are stored as hashes: the token itself is a secret too.
    for secret in [ADMIN_SECRET, CB_SECRET, IM_SECRET, legacy.as_str()] {
        assert!(!answers.contains(secret), "{secret} in an answer");
    }
    t.stop().await;
    for entry in std::fs::read_dir(t.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for secret in [ADMIN_SECRET, CB_SECRET, legacy.as_str()] {
                assert!(!text.contains(secret), "{secret} in {}", path.display());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_a_callback_loads_only_the_classes_it_names() {
    use replaydesk::callback::{candidate_keys, ClassDirectory, RecordingCallback};
    let t = callback_server().await;
    for i in 0..5 {
        t.create_class(&format!("other{i}"), &format!("g_other{i}"), "t", false)
            .await;
    }
    let now = now_s();
    let cb =
        RecordingCallback::parse(callback(now + 600, now + 600).to_string().as_bytes()).unwrap();
    let keys = candidate_keys(&cb);
    assert!(!keys.legacy);
    assert_eq!(keys.groups, ["replay_room42"]);
    assert!(keys.rooms.contains(&"room42".to_owned()), "{keys:?}");
    let snap = t
        .store()
        .class_snapshot_for(&keys.groups, &keys.rooms, &keys.streams)
        .await
        .unwrap();
    assert!(snap.class_by_group("replay_room42").is_some());
    assert_eq!(snap.members("room42"), ["teacher_li"]);
    for i in 0..5 {
        assert!(
            snap.class_by_room(&format!("other{i}")).is_none(),
            "other{i} loaded"
        );
    }
    // And the callback still maps through it end to end.
    let (s, v) = post_callback(&t, callback(now + 600, now + 600).to_string()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(t.message_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_over_its_callback_rate_gets_429_before_its_body_is_read_and_nothing_is_stored() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // 1 a second, 10 at once.
    let t = TestServer::start(|c| {
        c.callback_key = Some(replaydesk::secret::Secret::new(CB_KEY));
        c.callback_rate_per_source = 1.0;
    })
    .await;
    for i in 0..10 {
        let (s, v) = post_callback(&t, format!("not json {i}")).await;
        assert_eq!(s, 400, "within the burst, refused on its merits: {v}");
    }
    // The eleventh declares a body it never sends: answered at once, without it.
    let mut s = tokio::net::TcpStream::connect(t.base.trim_start_matches("http://"))
        .await
        .unwrap();
    s.write_all(
        format!("POST {CALLBACK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("answered without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("\"rate_limited\""), "{answer}");
    // A genuine callback from the same source waits its turn too (the cloud retries).
    let now = now_s();
    let (s, v) = post_callback(&t, callback(now + 600, now + 600).to_string()).await;
    assert_eq!(s, 429, "{v}");
    assert_eq!(v["error"], "rate_limited");
    // Nothing of the limited ones was stored; the 429s are counted.
    let page = t.admin_get("/v1/admin/callbacks?limit=1000").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    assert_eq!(t.message_count().await, 0);
    let metrics = t.get("/metrics", None).await.1;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("replaydesk_recording_callbacks_rate_limited_total 2"),
        "{metrics}"
    );
    // After a second the source has one again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let now = now_s();
    let (s, v) = post_callback(&t, callback(now + 600, now + 600).to_string()).await;
    assert_eq!(s, 200, "{v}");
}

/// The sum of `replaydesk_messages{status=...}` and `replaydesk_messages_accepted_total`.
fn scraped(metrics: &str) -> (i64, i64) {
    let value = |line: &str| line.rsplit(' ').next().unwrap().parse::<i64>().unwrap();
    let stored = metrics
        .lines()
        .filter(|l| l.starts_with("replaydesk_messages{status="))
        .map(value)
        .sum();
    let accepted = metrics
        .lines()
        .find(|l| l.starts_with("replaydesk_messages_accepted_total "))
        .map(value)
        .unwrap();
    (stored, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scrapes_read_the_database_figures_at_most_every_few_seconds() {
    let t = TestServer::start(|_| {}).await;
    let cred = t.create_class("c1", "g1", "teacher_li", false).await;
    let metrics = || async { t.get("/metrics", None).await.1.as_str().unwrap().to_owned() };
    // Inconclusive if more than the cache's lifetime passes between the scrapes (a stalled
    // machine): then tried again.
    for attempt in 0..3 {
        let before = metrics().await;
        let scraped_at = std::time::Instant::now();
        let (stored, accepted) = scraped(&before);
        let (s, v) = t
            .report("c1", &cred, &tl("teacher_li", 1000 + attempt))
            .await;
        assert_eq!(s, 202, "{v}");
        let after = metrics().await;
        if scraped_at.elapsed() >= replaydesk::service::CACHE_FOR {
            continue;
        }
        // The in-memory counter moves at once; the database's figures come from the last
        // reading, not a COUNT per scrape.
        assert_eq!(scraped(&after), (stored, accepted + 1), "{after}");
        return;
    }
    panic!("three attempts, each slower than the metrics cache's lifetime");
}
