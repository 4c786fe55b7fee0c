//! Security: who may report for whom, what an outsider can make the server do, and what
//! never leaves it. The server in process over real HTTP with a SQLite file; one case per
//! behaviour, each named for what it proves.

#[path = "server/util.rs"]
#[allow(unused_imports)]
mod util;

use serde_json::{json, Value};
use util::*;

/// Creates a class with the defaults (per-member credentials only, no open enrolment);
/// returns the answer.
async fn create_default_class(t: &TestServer, class_id: &str, teacher: &str) -> Value {
    let (s, v) = t
        .post(
            "/v1/classes",
            Some(ADMIN),
            &json!({"class_id": class_id, "group_id": format!("g_{class_id}"), "teacher_uid": teacher}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v
}

async fn credential(t: &TestServer, class_id: &str, uid: &str) -> String {
    let (s, v) = t
        .post(
            &format!("/v1/admin/classes/{class_id}/members/{uid}/credential"),
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["credential"].as_str().expect("credential").to_owned()
}

fn tl(uid: &str, ts: i64) -> Value {
    json!({"uid": uid, "timestamp": ts})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_class_gives_the_teacher_a_credential_and_no_class_wide_token() {
    let t = TestServer::start(|_| {}).await;
    let v = create_default_class(&t, "c1", "teacher_li").await;
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
    let v = create_default_class(&t, "c1", "teacher_li").await;
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
    create_default_class(&t, "c1", "teacher_li").await;
    let v2 = create_default_class(&t, "c2", "teacher_zhao").await;
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
    create_default_class(&t, "c1", "teacher_li").await;
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
    let v = create_default_class(&t, "c1", "teacher_li").await;
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
    // The same credential every time (derived, not stored).
    let again = credential(&t, "c1", "stu_9").await;
    assert_eq!(v["credential"].as_str().unwrap(), again);
    // The teacher's, asked again, is the one given at creation.
    assert_eq!(credential(&t, "c1", "teacher_li").await, teacher);
    let members = t.admin_get("/v1/admin/classes/c1/members").await;
    assert!(members.to_string().contains("stu_9"), "{members}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_hands_out_the_same_credential_as_the_admin_route() {
    let t = TestServer::start(|_| {}).await;
    create_default_class(&t, "c1", "teacher_li").await;
    let lib = t.desk.member_credential("c1", "stu_2").await.unwrap();
    assert_eq!(lib.credential, credential(&t, "c1", "stu_2").await);
    assert!(
        !format!("{lib:?}").contains(&lib.credential),
        "Debug hides the credential"
    );
    let (s, e) = t.report("c1", &lib.credential, &tl("stu_2", 3)).await;
    assert_eq!(s, 202, "{e}");
}
