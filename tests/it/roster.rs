//! A class's roster and its members' credentials over real HTTP, on each engine (a real
//! SQLite file, a real PostgreSQL database): the roster registered before anyone reports,
//! a credential issued and issued again (the old one refused), revoked (refused until
//! issued again), the join sheet, what the audit log keeps of it, and that a credential is
//! never shown again after it was issued.

use crate::util::server::*;
use serde_json::{json, Value};

fn tl(uid: &str, ts: i64) -> Value {
    json!({"uid": uid, "timestamp": ts})
}

async fn audit(t: &TestServer, query: &str) -> Vec<Value> {
    let v = t.admin_get(&format!("/v1/admin/audit?{query}")).await;
    v["items"].as_array().unwrap().clone()
}

fn uids(members: &Value) -> Vec<&str> {
    members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["uid"].as_str().unwrap())
        .collect()
}

on_both_engines! {
    async fn a_roster_is_registered_before_anyone_reports_and_bad_input_changes_nothing(db) {
        let t = TestServer::start(|c| c.db = db.clone()).await;
        t.create_default_class("c1", "teacher_li").await;
        let path = "/v1/admin/classes/c1/members";

        // Refused, and nothing is added: no token, a bad uid anywhere in the list, an
        // empty list, too many, not JSON, an unknown field, an unknown class.
        let (s, e) = t.post(path, None, &json!({"uids": ["stu_1"]})).await;
        assert_eq!(s, 401, "{e}");
        for (body, why) in [
            (json!({"uids": ["stu_1", "stu\u{202e}2"]}), "uids[1]"),
            (json!({"uids": ["stu_1", " stu_2"]}), "uids[1]"),
            (json!({"uids": []}), "uids"),
            (json!({"uids": (0..1001).map(|i| format!("s{i}")).collect::<Vec<_>>()}), "uids"),
            (json!({"uids": "stu_1"}), "uids"),
            (json!({"uids": ["stu_1"], "role": "teacher"}), "role"),
        ] {
            let (s, e) = t.post(path, Some(ADMIN), &body).await;
            assert_eq!(s, 422, "{body}: {e}");
            assert!(e["detail"].as_str().unwrap().contains(why), "{why}: {e}");
        }
        let (s, e) = t
            .post("/v1/admin/classes/nope/members", Some(ADMIN), &json!({"uids": ["a"]}))
            .await;
        assert_eq!(s, 404, "{e}");
        assert_eq!(uids(&t.admin_get(path).await), ["teacher_li"]);
        assert!(audit(&t, "action=add_members").await.is_empty());

        // The roster: new uids become students, members already there stay as they are.
        let (s, v) = t
            .post(path, Some(ADMIN), &json!({"uids": ["stu_1", "stu_2", "stu_1", "teacher_li"]}))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["added"], json!(["stu_1", "stu_2"]));
        assert_eq!(v["existing"], json!(["teacher_li"]));
        let members = t.admin_get(path).await;
        assert_eq!(uids(&members), ["teacher_li", "stu_1", "stu_2"], "{members}");
        assert_eq!(members[0]["role"], "teacher");
        assert_eq!(members[1]["role"], "student");
        assert_eq!(members[1]["credential"], json!({"generation": 0, "issued_at": null, "revoked_at": null}));
        let entries = audit(&t, "action=add_members").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["target"], "class:c1");
        assert_eq!(entries[0]["detail"]["added"], 2);
        assert_eq!(entries[0]["detail"]["uids"], json!(["stu_1", "stu_2"]));

        // Registered members report with credentials issued to them; the class takes no one else.
        let cred = t.issue_credential("c1", "stu_2").await;
        let (s, e) = t.report("c1", cred["credential"].as_str().unwrap(), &tl("stu_2", 5)).await;
        assert_eq!(s, 202, "{e}");
        // Adding again adds nothing and audits nothing.
        let (s, v) = t.post(path, Some(ADMIN), &json!({"uids": ["stu_2"]})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["added"], json!([]));
        assert_eq!(audit(&t, "action=add_members").await.len(), 1);
    }
}

on_both_engines! {
    async fn issuing_again_revokes_the_old_credential_and_revoking_refuses_it(db) {
        let t = TestServer::start(|c| c.db = db.clone()).await;
        let created = t.create_default_class("c1", "teacher_li").await;
        let teacher_at_creation = created["teacher_credential"].as_str().unwrap().to_owned();
        // The credential from before issuing existed (generation 0) keeps working.
        let (s, e) = t.report("c1", &teacher_at_creation, &tl("teacher_li", 1)).await;
        assert_eq!(s, 202, "{e}");

        let first = t.issue_credential("c1", "stu_1").await;
        assert_eq!(first["generation"], 1);
        let first = first["credential"].as_str().unwrap().to_owned();
        let (s, e) = t.report("c1", &first, &tl("stu_1", 10)).await;
        assert_eq!(s, 202, "{e}");

        // Issued again: the first is refused from now on, the second works.
        let second = t.issue_credential("c1", "stu_1").await;
        assert_eq!(second["generation"], 2);
        let second = second["credential"].as_str().unwrap().to_owned();
        assert_ne!(first, second);
        let (s, e) = t.report("c1", &first, &tl("stu_1", 11)).await;
        assert_eq!(s, 401, "{e}");
        assert!(e["detail"].as_str().unwrap().contains("replaced by a newer one"), "{e}");
        let (s, e) = t.report("c1", &second, &tl("stu_1", 12)).await;
        assert_eq!(s, 202, "{e}");

        // Revoked: refused; revoking again is a conflict; a non-member is not found.
        let revoke = "/v1/admin/classes/c1/members/stu_1/revoke";
        let (s, v) = t.post(revoke, None, &json!({})).await;
        assert_eq!(s, 401, "{v}");
        let (s, v) = t.post(revoke, Some(ADMIN), &json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["uid"], "stu_1");
        assert!(v["credential"]["revoked_at"].as_i64().is_some(), "{v}");
        let (s, e) = t.report("c1", &second, &tl("stu_1", 13)).await;
        assert_eq!(s, 401, "{e}");
        assert!(e["detail"].as_str().unwrap().contains("revoked"), "{e}");
        let (s, e) = t.post(revoke, Some(ADMIN), &json!({})).await;
        assert_eq!(s, 409, "{e}");
        let (s, e) = t
            .post("/v1/admin/classes/c1/members/nobody/revoke", Some(ADMIN), &json!({}))
            .await;
        assert_eq!(s, 404, "{e}");
        // The host app's credential of a revoked member is refused too, not handed out.
        assert!(t.desk.member_credential("c1", "stu_1").await.is_err());

        // Issued once more after the revocation: the new one works, the older ones never again.
        let third = t.issue_credential("c1", "stu_1").await;
        assert_eq!(third["generation"], 3);
        let third = third["credential"].as_str().unwrap().to_owned();
        let (s, e) = t.report("c1", &third, &tl("stu_1", 14)).await;
        assert_eq!(s, 202, "{e}");
        for old in [&first, &second] {
            let (s, e) = t.report("c1", old, &tl("stu_1", 15)).await;
            assert_eq!(s, 401, "{e}");
        }
        // The host app hands out the current one.
        let host = t.desk.member_credential("c1", "stu_1").await.unwrap();
        assert_eq!(host.credential, third);

        // Issuing the teacher a credential replaces the one given at creation.
        t.issue_credential("c1", "teacher_li").await;
        let (s, e) = t.report("c1", &teacher_at_creation, &tl("teacher_li", 2)).await;
        assert_eq!(s, 401, "{e}");

        // Audited, with the generations; never the credential.
        let issued = audit(&t, "action=issue_credential&target=member:c1:stu_1").await;
        let gens: Vec<i64> = issued.iter().map(|e| e["detail"]["generation"].as_i64().unwrap()).collect();
        assert_eq!(gens, [3, 2, 1], "{issued:?}");
        let revoked = audit(&t, "action=revoke_credential").await;
        assert_eq!(revoked.len(), 1, "{revoked:?}");
        assert_eq!(revoked[0]["target"], "member:c1:stu_1");
        assert_eq!(revoked[0]["actor"], "admin");
        // Listings never show a credential again.
        let everything = [
            t.admin_get("/v1/admin/classes/c1/members").await,
            t.admin_get("/v1/admin/audit").await,
            t.admin_get("/v1/admin/classes/c1").await,
            t.admin_get("/v1/admin/classes/c1/export").await,
        ];
        for v in &everything {
            let text = v.to_string();
            for c in [&first, &second, &third, &teacher_at_creation] {
                assert!(!text.contains(c.as_str()), "a credential listed: {text}");
            }
        }
        let members = &everything[0];
        let stu = members.as_array().unwrap().iter().find(|m| m["uid"] == "stu_1").unwrap();
        assert_eq!(stu["credential"]["generation"], 3);
        assert_eq!(stu["credential"]["revoked_at"], Value::Null);
    }
}

on_both_engines! {
    async fn the_join_sheet_issues_every_students_credential_with_its_qr_code(db) {
        let t = TestServer::start(|c| c.db = db.clone()).await;
        t.create_default_class("c1", "teacher_li").await;
        let (s, v) = t
            .post("/v1/admin/classes/c1/members", Some(ADMIN), &json!({"uids": ["stu_1", "stu_2", "stu_3"]}))
            .await;
        assert_eq!(s, 200, "{v}");
        let before = t.issue_credential("c1", "stu_1").await["credential"].as_str().unwrap().to_owned();
        let path = "/v1/admin/classes/c1/credentials";

        // Refused before anything is issued: a bad URL, a bad uid among good ones.
        for body in [
            json!({"server_url": "ftp://x"}),
            json!({"server_url": "http://a b"}),
            json!({"uids": ["stu_2", "bad\u{200b}"]}),
            json!({"uids": []}),
        ] {
            let (s, e) = t.post(path, Some(ADMIN), &body).await;
            assert_eq!(s, 422, "{body}: {e}");
        }
        let (s, e) = t.report("c1", &before, &tl("stu_1", 1)).await;
        assert_eq!(s, 202, "nothing was issued: {e}");

        let (s, sheet) = t
            .post(path, Some(ADMIN), &json!({"server_url": "http://10.0.0.5:8080"}))
            .await;
        assert_eq!(s, 200, "{sheet}");
        let cards = sheet["cards"].as_array().unwrap();
        let names: Vec<&str> = cards.iter().map(|c| c["uid"].as_str().unwrap()).collect();
        assert_eq!(names, ["stu_1", "stu_2", "stu_3"], "the students, not the teacher");
        for (i, card) in cards.iter().enumerate() {
            let uid = card["uid"].as_str().unwrap();
            let cred = card["credential"].as_str().unwrap();
            assert_eq!(
                card["text"],
                format!("server_url: http://10.0.0.5:8080\nclass_id: c1\nuid: {uid}\ncredential: {cred}\n")
            );
            let svg = card["qr_svg"].as_str().unwrap();
            assert!(svg.contains("<svg") && !svg.contains("<script"), "{svg}");
            let (s, e) = t.report("c1", cred, &tl(uid, 100 + i as i64)).await;
            assert_eq!(s, 202, "{uid}: {e}");
        }
        // The sheet replaced stu_1's earlier credential.
        let (s, e) = t.report("c1", &before, &tl("stu_1", 2)).await;
        assert_eq!(s, 401, "{e}");
        assert_eq!(audit(&t, "action=issue_credential").await.len(), 4);

        // One member's card alone.
        let (s, one) = t.post(path, Some(ADMIN), &json!({"uids": ["stu_2"]})).await;
        assert_eq!(s, 200, "{one}");
        assert_eq!(one["cards"].as_array().unwrap().len(), 1);
        assert_eq!(one["cards"][0]["generation"], 2);
    }
}

on_both_engines! {
    async fn the_audit_log_filters_by_action_and_by_the_start_of_the_target(db) {
        let t = TestServer::start(|c| c.db = db.clone()).await;
        t.create_default_class("c1", "teacher_li").await;
        t.create_default_class("c10", "teacher_wu").await;
        t.issue_credential("c1", "stu_1").await;
        t.issue_credential("c10", "stu_1").await;
        t.issue_credential("c1", "a_b").await;

        let all = audit(&t, "").await;
        assert_eq!(all.len(), 5, "{all:?}");
        let created = audit(&t, "action=create_class").await;
        assert_eq!(created.len(), 2);
        // A prefix: `member:c1:` is c1's members, not c10's.
        let c1 = audit(&t, "target=member:c1:").await;
        let targets: Vec<&str> = c1.iter().map(|e| e["target"].as_str().unwrap()).collect();
        assert_eq!(targets, ["member:c1:a_b", "member:c1:stu_1"]);
        // `_` and `%` are characters, not patterns.
        assert_eq!(audit(&t, "target=member:c1:a%25").await.len(), 0);
        assert_eq!(audit(&t, "target=member:c1:a_").await.len(), 1);
        assert_eq!(audit(&t, "target=member:c_:").await.len(), 0);
        assert_eq!(audit(&t, "action=create_class&target=class:c10").await.len(), 1);
        assert_eq!(audit(&t, "action=nothing_like_it").await.len(), 0);
        // Pages back with the filter kept.
        let (s, page) = t
            .get("/v1/admin/audit?action=issue_credential&limit=2", Some(ADMIN))
            .await;
        assert_eq!(s, 200, "{page}");
        let next = page["next_cursor"].as_i64().expect("a next page");
        let rest = audit(&t, &format!("action=issue_credential&cursor={next}")).await;
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0]["target"], "member:c1:stu_1");
        // Limits, stated.
        let long = "x".repeat(201);
        let (s, e) = t.get(&format!("/v1/admin/audit?target={long}"), Some(ADMIN)).await;
        assert_eq!(s, 422, "{e}");
        assert!(e["detail"].as_str().unwrap().contains("200"), "{e}");
        let (s, e) = t.get(&format!("/v1/admin/audit?action={}", "y".repeat(65)), Some(ADMIN)).await;
        assert_eq!(s, 422, "{e}");
        // Filtering by person (issue 23) is a filter like the others; a parameter the
        // route does not take is still refused.
        let (s, e) = t.get("/v1/admin/audit?actor=me", Some(ADMIN)).await;
        assert_eq!(s, 200, "{e}");
        assert_eq!(e["items"], json!([]), "no one named me acted");
        let (s, e) = t.get("/v1/admin/audit?who=me", Some(ADMIN)).await;
        assert_eq!(s, 400, "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_ends_a_started_class_with_the_teachers_clock_and_says_why_not_otherwise() {
    let t = TestServer::start(|_| {}).await;
    let v = t.create_default_class("c1", "teacher_li").await;
    let teacher = v["teacher_credential"].as_str().unwrap().to_owned();
    let end = "/v1/admin/classes/c1/end";
    // Not started: nothing to end.
    let (s, e) = t.post(end, Some(ADMIN), &json!({})).await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["detail"].as_str().unwrap().contains("has not started"),
        "{e}"
    );
    let (s, e) = t
        .post(
            "/v1/classes/c1/start",
            Some(&teacher),
            &tl("teacher_li", 4_000),
        )
        .await;
    assert_eq!(s, 202, "{e}");
    // Started, but the teacher never reported a pair: refused, the class goes on.
    let (s, e) = t.post(end, Some(ADMIN), &json!({})).await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("never reported a timeline pair"),
        "{e}"
    );
    assert_eq!(
        t.admin_get("/v1/admin/classes/c1").await["state"],
        "started"
    );

    let (s, e) = t.report("c1", &teacher, &tl("teacher_li", 5_000)).await;
    assert_eq!(s, 202, "{e}");
    let pair_at = e["time_line"].as_i64().unwrap();
    let (s, e) = t.post(end, None, &json!({})).await;
    assert_eq!(s, 401, "{e}");
    let before = now_ms();
    let (s, v) = t.post(end, Some(ADMIN), &json!({})).await;
    let after = now_ms();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "ended");
    // The 1002 speaks for the teacher, on the teacher's clock as the pair maps it.
    let page = t
        .admin_get("/v1/admin/classes/c1/messages?type=class_end")
        .await;
    let msg = &page["items"][0];
    assert_eq!(msg["uid"], "teacher_li", "{page}");
    let data: Value = serde_json::from_str(msg["data"].as_str().unwrap()).unwrap();
    let ts = data["timestamp"].as_i64().unwrap();
    assert!(
        (5_000 + before - pair_at..=5_000 + after - pair_at).contains(&ts),
        "{ts} vs pair at {pair_at}"
    );
    let audited = audit(&t, "action=end_class").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["target"], "class:c1");
    assert_eq!(audited[0]["detail"]["message_id"], msg["id"]);
    // Once.
    let (s, e) = t.post(end, Some(ADMIN), &json!({})).await;
    assert_eq!(s, 409, "{e}");
    let (s, e) = t
        .post("/v1/admin/classes/nope/end", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(s, 404, "{e}");
}
