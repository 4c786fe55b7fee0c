//! The ReplayGroup archive (issue 25), over real HTTP against the IM emulator: a class's
//! whole group (ReplayDesk's messages and the clients' whiteboard signalling, file messages
//! included) archived, expired in the IM, and read back through `/im-archive/...` by IM
//! REST clients exactly as the IM served it; a restart in the middle of a pass; holes; the
//! deadline alert under a short retention.

use crate::util::server::*;
use replaydesk::emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultConfig, Retention};
use replaydesk::im::client::{ImClient, ImConfig};
use replaydesk::im::usersig;
use replaydesk::im::wire::SendGroupMsgRequest;
use replaydesk::protocol::MsgBodyElem;
use replaydesk::secret::Secret;
use serde_json::{json, Value};
use std::time::Duration;

const SDKAPPID: u64 = 1_400_000_025;
const KEY: &str = "25a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f";

async fn emulator(faults: FaultConfig) -> EmulatorHandle {
    let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
    cfg.group_rate = 0;
    cfg.app_rate = 0;
    cfg.faults = faults;
    Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn server_on(emu: &EmulatorHandle, dir: Option<tempfile::TempDir>) -> TestServer {
    server_on_db(emu, dir, None).await
}

/// As [`server_on`], on the database `db` names (a PostgreSQL URL) when given.
async fn server_on_db(
    emu: &EmulatorHandle,
    dir: Option<tempfile::TempDir>,
    db: Option<std::path::PathBuf>,
) -> TestServer {
    let base = emu.base_url();
    let tune = move |c: &mut replaydesk::config::Config| {
        c.im.endpoint = Some(base);
        c.im.sdkappid = Some(SDKAPPID);
        c.im.secret_key = Some(Secret::new(KEY));
        if let Some(db) = db {
            c.db = db;
        }
    };
    match dir {
        Some(d) => TestServer::start_in(d, tune).await,
        None => TestServer::start(tune).await,
    }
}

fn im_client(endpoint: String) -> ImClient {
    ImClient::new(ImConfig::new(
        endpoint,
        SDKAPPID,
        "administrator".to_string(),
        Secret::new(KEY),
    ))
    .unwrap()
}

/// The `i`-th whiteboard message of `from` (its clock at `client0`): a custom element with
/// `Ext` = `TXWhiteBoardExt`; every fifth also carries the large payload as a file element.
fn whiteboard(group: &str, from: &str, client0: u64, i: u64) -> SendGroupMsgRequest {
    let data = json!({"data": format!("[{{\"type\":\"draw\",\"points\":[[{i},{i}]]}}]"), "seq": i, "timestamp": client0 + 100 + i * 7}).to_string();
    let mut body = vec![MsgBodyElem {
        msg_type: "TIMCustomElem".into(),
        msg_content: json!({"Data": data, "Desc": "", "Ext": "TXWhiteBoardExt", "Sound": ""}),
    }];
    if i % 5 == 0 {
        body.push(MsgBodyElem {
            msg_type: "TIMFileElem".into(),
            msg_content: json!({"Url": format!("https://cos.example.invalid/wb/{from}/{i}.json"), "FileSize": 20_480 + i, "FileName": format!("wb_{i}.json"), "Download_Flag": 2}),
        });
    }
    SendGroupMsgRequest {
        group_id: group.into(),
        random: u32::try_from(i).unwrap() * 2 + u32::from(from == "student_wang") + 1_000,
        from_account: Some(from.into()),
        msg_body: body,
        extra: Default::default(),
    }
}

async fn write_whiteboard(emu: &EmulatorHandle, group: &str, per_client: u64) {
    let client = im_client(emu.base_url());
    for i in 0..per_client {
        for (from, c0) in [("teacher_li", 5_000_000), ("student_wang", 9_000_000)] {
            client
                .send_group_msg(&whiteboard(group, from, c0, i))
                .await
                .unwrap();
        }
    }
}

/// Every page of `group` read backwards from the newest through `POST {base}/v4/...`,
/// each answer's JSON as served.
async fn raw_pages(http: &reqwest::Client, base: &str, group: &str) -> Vec<Value> {
    let sig = usersig::generate(SDKAPPID, "administrator", KEY, now_ms() / 1000, 3600);
    let url = format!(
        "{base}/v4/group_open_http_svc/group_msg_get_simple?sdkappid={SDKAPPID}&identifier=administrator&usersig={sig}&random=7&contenttype=json"
    );
    let mut pages = Vec::new();
    let mut next: Option<u64> = None;
    loop {
        let mut req = json!({"GroupId": group, "ReqMsgNumber": 20});
        if let Some(n) = next {
            req["ReqMsgSeq"] = json!(n);
        }
        let res = http.post(&url).json(&req).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let page: Value = res.json().await.unwrap();
        assert_eq!(page["ErrorCode"], 0, "{page}");
        let oldest = page["RspMsgList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["MsgSeq"].as_u64().unwrap())
            .min();
        let finished = page["IsFinished"] == 1;
        pages.push(page);
        match oldest {
            Some(o) if !finished && o > 1 => next = Some(o - 1),
            _ => return pages,
        }
    }
}

async fn wait_job(t: &TestServer, class: &str, job: i64) -> Value {
    let mut last = Value::Null;
    for _ in 0..1200 {
        last = t
            .admin_get(&format!("/v1/admin/classes/{class}/archive/jobs/{job}"))
            .await;
        if last["state"] != "running" {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("archive job did not finish: {last}");
}

async fn archive_now(t: &TestServer, class: &str) -> i64 {
    let (s, v) = t
        .post(
            &format!("/v1/admin/classes/{class}/archive"),
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    v["job_id"].as_i64().unwrap()
}

async fn wait_sent(t: &TestServer, n: i64) {
    let store = t.store().clone();
    wait_until(Duration::from_secs(30), "messages sent", || {
        let store = store.clone();
        async move {
            let f = replaydesk::store::MessageFilter {
                statuses: vec![replaydesk::store::MessageStatus::Sent],
                ..Default::default()
            };
            store.count_messages(&f).await.unwrap() == n
        }
    })
    .await;
}

/// Our 1001/1002/1003s and 400 whiteboard messages from two clients (80 of them file
/// messages) archived; the IM then forgets them all, and the group read through
/// `/im-archive` is what the IM served, page for page, and the alignment still places
/// every whiteboard event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_class_survives_the_ims_retention_page_for_page() {
    whole_class_survives(None).await;
}

/// The same on PostgreSQL (the store's other engine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_class_survives_the_ims_retention_on_postgres() {
    let Some(db) = crate::util::engines::postgres("archive_whole_class").await else {
        return;
    };
    whole_class_survives(Some(db.db())).await;
}

async fn whole_class_survives(db: Option<std::path::PathBuf>) {
    let emu = emulator(FaultConfig::none()).await;
    let mut t = server_on_db(&emu, None, db).await;
    let token = t
        .create_class("wb1", "replay_wb1", "teacher_li", true)
        .await;
    for (uid, ts) in [("teacher_li", 5_000_000u64), ("student_wang", 9_000_000)] {
        let (s, v) = t
            .report(
                "wb1",
                &token,
                &json!({"uid": uid, "timestamp": ts, "rtt_ms": 40}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    let (s, v) = t
        .post(
            "/v1/classes/wb1/start",
            Some(&token),
            &json!({"uid": "teacher_li", "timestamp": 5_000_050}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    wait_sent(&t, 3).await;
    write_whiteboard(&emu, "replay_wb1", 200).await;
    let (s, v) = t
        .post(
            "/v1/classes/wb1/end",
            Some(&token),
            &json!({"uid": "teacher_li", "timestamp": 5_009_000}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    wait_sent(&t, 4).await;
    let total = emu.history("replay_wb1").len();
    assert_eq!(total, 404);

    // Before: nothing archived, the class pending with a deadline.
    let a = t.admin_get("/v1/admin/classes/wb1/archive").await;
    assert_eq!(
        (a["state"].as_str(), a["archived"].as_i64()),
        (Some("pending"), Some(0))
    );
    assert!(a["deadline_ms"].as_i64().is_some(), "{a}");

    let job = archive_now(&t, "wb1").await;
    let j = wait_job(&t, "wb1", job).await;
    assert_eq!(j["state"], "finished", "{j}");
    let a = t.admin_get("/v1/admin/classes/wb1/archive").await;
    assert_eq!(a["state"], "complete", "{a}");
    assert_eq!(a["archived"], 404);
    assert_eq!(a["holes"], json!([]));
    assert_eq!(a["last_seq"], 404);
    assert_eq!(
        a["kinds"],
        json!({"ours": 4, "whiteboard": 400, "other": 0})
    );

    let from_im = raw_pages(&t.http, &emu.base_url(), "replay_wb1").await;
    assert_eq!(from_im.len(), 21, "404 messages, 20 a page");

    // The IM forgets every message.
    emu.emulator().set_retention(Retention {
        max_age_secs: Some(0),
        max_messages: None,
    });
    let expired = raw_pages(&t.http, &emu.base_url(), "replay_wb1").await;
    assert!(expired
        .iter()
        .flat_map(|p| p["RspMsgList"].as_array().unwrap())
        .all(|m| m["IsPlaceMsg"] == 1 && m["MsgBody"] == json!([])));

    // The archive answers as the IM did, page for page: same fields, types, paging and
    // IsFinished.
    let archive_base = format!("{}/im-archive", t.base);
    let from_archive = raw_pages(&t.http, &archive_base, "replay_wb1").await;
    assert_eq!(from_archive, from_im);

    // An ordinary IM REST client (ReplayDesk's own, pointed at the archive's host) reads
    // the original message for message.
    let client = im_client(archive_base.clone());
    let mut read = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .group_msg_get_simple("replay_wb1", next)
            .await
            .unwrap()
            .body;
        let oldest = page.rsp_msg_list.last().map(|m| m.msg_seq);
        read.extend(page.rsp_msg_list);
        if page.is_finished == 1 {
            break;
        }
        next = oldest.map(|o| o - 1);
    }
    read.reverse();
    let mut original = emu.history("replay_wb1");
    assert_eq!(read.len(), original.len());
    for (got, want) in read.iter_mut().zip(original.iter_mut()) {
        assert_eq!(got, want);
    }
    assert_eq!(
        read.iter().filter(|m| m.msg_body.len() == 2).count(),
        80,
        "the file messages keep both elements"
    );

    // Its errors are the IM's, with HTTP 200.
    let url = |sig: &str, sdkappid: u64| {
        format!("{archive_base}/v4/group_open_http_svc/group_msg_get_simple?sdkappid={sdkappid}&identifier=administrator&usersig={sig}&random=1&contenttype=json")
    };
    let good = usersig::generate(SDKAPPID, "administrator", KEY, now_ms() / 1000, 600);
    let wrong_key = usersig::generate(
        SDKAPPID,
        "administrator",
        "another-key",
        now_ms() / 1000,
        600,
    );
    let student = usersig::generate(SDKAPPID, "student_wang", KEY, now_ms() / 1000, 600);
    let body = json!({"GroupId": "replay_wb1", "ReqMsgNumber": 20});
    for (u, body, code) in [
        (url("not-a-sig", SDKAPPID), body.clone(), 70003),
        (url(&wrong_key, SDKAPPID), body.clone(), 70009),
        (
            format!("{archive_base}/v4/group_open_http_svc/group_msg_get_simple?sdkappid={SDKAPPID}&identifier=student_wang&usersig={student}"),
            body.clone(),
            60010,
        ),
        (url(&good, SDKAPPID), json!({"GroupId": "replay_nope", "ReqMsgNumber": 20}), 10010),
        (url(&good, SDKAPPID), json!({"GroupId": 5}), 10004),
    ] {
        let res = t.http.post(&u).json(&body).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let v: Value = res.json().await.unwrap();
        assert_eq!((v["ActionStatus"].as_str(), v["ErrorCode"].as_i64()), (Some("FAIL"), Some(code)), "{v}");
    }

    // Another command under /im-archive: the IM's "unknown command", not the console.
    let res = t
        .http
        .post(format!(
            "{archive_base}/v4/group_open_http_svc/send_group_msg"
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["ErrorCode"], 60009, "{v}");

    // The emulator's retention over its control endpoint: read, changed, refused.
    let control = format!("{}/control/retention", emu.base_url());
    let v: Value = t
        .http
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"max_age_secs": 0, "max_messages": null}));
    let res = t
        .http
        .put(&control)
        .body(r#"{"max_messages": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v, json!({"max_age_secs": null, "max_messages": 5}));
    let res = t
        .http
        .put(&control)
        .body(r#"{"max_age": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        400,
        "an unknown field changes nothing"
    );
    let pages = raw_pages(&t.http, &emu.base_url(), "replay_wb1").await;
    let kept: usize = pages
        .iter()
        .flat_map(|p| p["RspMsgList"].as_array().unwrap())
        .filter(|m| m["IsPlaceMsg"] == 0)
        .count();
    assert_eq!(kept, 5, "the group's newest 5 kept");
    let res = t
        .http
        .put(&control)
        .body(r#"{"max_age_secs": 0}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    // Alignment reads the archive: every whiteboard event placed on the server axis.
    let al = t.admin_get("/v1/admin/classes/wb1/alignment").await;
    assert_eq!(al["source"], "history");
    let wb: Vec<&Value> = al["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["kind"] == "whiteboard")
        .collect();
    assert_eq!(wb.len(), 400);
    assert!(
        wb.iter().all(|e| e["server_ms"].is_i64()),
        "every event placed"
    );

    // Reconcile now meets an IM that forgot everything: the archive keeps the bodies.
    let (s, v) = t
        .post(
            "/v1/admin/classes/wb1/reconcile",
            Some(ADMIN),
            &json!({"pages_per_second": 0}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let store = t.store().clone();
    wait_until(Duration::from_secs(30), "reconcile finished", || {
        let store = store.clone();
        async move {
            store
                .latest_reconcile("wb1")
                .await
                .unwrap()
                .is_some_and(|r| r.state != replaydesk::store::ReconcileState::Running)
        }
    })
    .await;
    let r = t.admin_get("/v1/admin/classes/wb1/reconcile").await;
    assert_eq!(r["report"]["matched"], 4, "{r}");
    assert_eq!(r["report"]["holes"], json!([]), "{r}");
    assert_eq!(
        r["report"]["from_archive"], 404,
        "the run says it read from the archive: {r}"
    );
    let a = t.admin_get("/v1/admin/classes/wb1/archive").await;
    assert_eq!(a["archived"], 404);

    // A second pass finds nothing new and duplicates nothing.
    let job = archive_now(&t, "wb1").await;
    wait_job(&t, "wb1", job).await;
    let a = t.admin_get("/v1/admin/classes/wb1/archive").await;
    assert_eq!(
        (a["archived"].as_i64(), a["last_seq"].as_i64()),
        (Some(404), Some(404))
    );

    let (_, metrics) = t.get("/metrics", None).await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("replaydesk_archive_messages 404"),
        "{metrics}"
    );
    assert!(metrics.contains("replaydesk_archive_classes{state=\"complete\"} 1"));
    t.stop().await;
}

/// ReplayDesk stops in the middle of a pass (each IM call slowed down); started again on
/// the same database, the next pass goes on from the last page stored: nothing lost,
/// nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_a_pass_loses_and_duplicates_nothing() {
    let emu = emulator(FaultConfig::none()).await;
    let mut t = server_on(&emu, None).await;
    t.create_class("wb2", "replay_wb2", "teacher_li", true)
        .await;
    write_whiteboard(&emu, "replay_wb2", 150).await;
    emu.set_faults(FaultConfig {
        latency_ms: 150,
        all_commands: true,
        ..FaultConfig::none()
    })
    .unwrap();
    let job = archive_now(&t, "wb2").await;
    let store = t.store().clone();
    wait_until(Duration::from_secs(30), "three pages stored", || {
        let store = store.clone();
        async move { store.archive_run(job).await.unwrap().unwrap().pages >= 3 }
    })
    .await;
    t.stop().await;
    let dir = std::mem::replace(&mut t.dir, tempfile::tempdir().unwrap());
    emu.set_faults(FaultConfig::none()).unwrap();

    let mut t = server_on(&emu, Some(dir)).await;
    let before = t.admin_get("/v1/admin/classes/wb2/archive").await;
    let stopped = before["job"].clone();
    assert_eq!(stopped["state"], "failed", "{before}");
    assert!(stopped["error"].as_str().unwrap().contains("interrupted"));
    let held = before["last_seq"].as_i64().unwrap();
    assert!((40..300).contains(&held), "{before}");
    assert_eq!(
        before["archived"].as_i64(),
        Some(held),
        "exactly the pages stored"
    );

    let job = archive_now(&t, "wb2").await;
    let j = wait_job(&t, "wb2", job).await;
    assert_eq!(j["state"], "finished", "{j}");
    let a = t.admin_get("/v1/admin/classes/wb2/archive").await;
    assert_eq!(a["state"], "complete", "{a}");
    assert_eq!(
        (a["archived"].as_i64(), a["last_seq"].as_i64()),
        (Some(300), Some(300))
    );
    // The second pass read only what the first had not stored.
    assert!(j["fetched"].as_i64().unwrap() <= 300 - held + 20, "{j}");
    let rows = t.store().group_history("wb2").await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=300).collect::<Vec<_>>());
    let original = emu.history("replay_wb2");
    for ((_, item), want) in rows.iter().zip(&original) {
        let got: replaydesk::im::wire::HistoryMsg = serde_json::from_str(item).unwrap();
        assert_eq!(&got, want);
    }
    t.stop().await;
}

/// Messages the IM already dropped (its per-group cap) before the first pass are holes:
/// recorded with their reason, the class partial, the archive serving them as the IM did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_the_im_already_dropped_are_holes() {
    let emu = emulator(FaultConfig::none()).await;
    let mut t = server_on(&emu, None).await;
    t.create_class("wb3", "replay_wb3", "teacher_li", true)
        .await;
    write_whiteboard(&emu, "replay_wb3", 25).await;
    emu.emulator().set_retention(Retention {
        max_age_secs: None,
        max_messages: Some(30),
    });
    let job = archive_now(&t, "wb3").await;
    wait_job(&t, "wb3", job).await;
    let a = t.admin_get("/v1/admin/classes/wb3/archive").await;
    assert_eq!(a["state"], "partial", "{a}");
    assert_eq!(a["archived"], 30);
    assert_eq!(a["last_seq"], 50);
    assert_eq!(a["holes"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(
        (
            a["holes"][0]["from_seq"].as_i64(),
            a["holes"][0]["to_seq"].as_i64()
        ),
        (Some(1), Some(20))
    );
    assert!(a["holes"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("IsPlaceMsg"));
    let from_im = raw_pages(&t.http, &emu.base_url(), "replay_wb3").await;
    let from_archive = raw_pages(&t.http, &format!("{}/im-archive", t.base), "replay_wb3").await;
    assert_eq!(from_archive, from_im);

    // The classes list says it and filters by it.
    t.create_class("wb3b", "replay_wb3b", "teacher_li", true)
        .await;
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["class_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = t.admin_get("/v1/admin/classes").await;
    let wb3 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class_id"] == "wb3")
        .unwrap();
    assert_eq!(wb3["archive_state"], "partial");
    assert!(wb3["archive_deadline_ms"].is_i64());
    assert_eq!(
        ids(&t.admin_get("/v1/admin/classes?archive_state=partial").await),
        vec!["wb3"]
    );
    assert_eq!(
        ids(&t.admin_get("/v1/admin/classes?archive_state=pending").await),
        vec!["wb3b"]
    );
    let far = now_ms() + 30 * 86_400_000;
    assert_eq!(
        ids(&t
            .admin_get(&format!("/v1/admin/classes?deadline_before={far}"))
            .await)
        .len(),
        2
    );
    assert_eq!(
        ids(&t.admin_get("/v1/admin/classes?deadline_before=1").await),
        Vec::<String>::new()
    );
    let (s, v) = t
        .get("/v1/admin/classes?archive_state=lost", Some(ADMIN))
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("archive_state"),
        "{v}"
    );

    // The bundle carries the archive; another ReplayDesk imports it read-only and serves
    // the same pages under its own IM administrator's UserSig.
    let bundle = t.admin_get("/v1/admin/classes/wb3/export").await;
    assert_eq!(
        bundle["archive"]["state"], "partial",
        "{}",
        bundle["archive"]
    );
    assert_eq!(bundle["history"].as_array().unwrap().len(), 50);
    let mut other = TestServer::start(|_| {}).await;
    let (s, v) = other.post("/v1/admin/import", Some(ADMIN), &bundle).await;
    assert_eq!(s, 201, "{v}");
    let a2 = other.admin_get("/v1/admin/classes/wb3/archive").await;
    assert_eq!(
        (
            &a2["state"],
            &a2["archived"],
            &a2["holes"],
            &a2["last_seq"],
            &a2["imported"]
        ),
        (
            &a["state"],
            &a["archived"],
            &a["holes"],
            &a["last_seq"],
            &json!(true)
        ),
        "{a2}"
    );
    assert_eq!(a2["deadline_ms"], Value::Null);
    let (s, v) = other
        .post("/v1/admin/classes/wb3/archive", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(s, 409, "read-only: {v}");
    let sandbox = other.desk.sandbox_emulator().unwrap();
    let sig = sandbox.admin_usersig(600);
    let url = format!(
        "{}/im-archive/v4/group_open_http_svc/group_msg_get_simple?sdkappid={}&identifier={}&usersig={sig}&random=1&contenttype=json",
        other.base,
        sandbox.sdkappid(),
        sandbox.admin()
    );
    let mut served = Vec::new();
    let mut next: Option<u64> = None;
    loop {
        let mut req = json!({"GroupId": "replay_wb3", "ReqMsgNumber": 20});
        if let Some(n) = next {
            req["ReqMsgSeq"] = json!(n);
        }
        let page: Value = other
            .http
            .post(&url)
            .json(&req)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["ErrorCode"], 0, "{page}");
        let oldest = page["RspMsgList"]
            .as_array()
            .unwrap()
            .last()
            .map(|m| m["MsgSeq"].as_u64().unwrap());
        let done = page["IsFinished"] == 1;
        served.push(page);
        match oldest {
            Some(o) if !done => next = Some(o - 1),
            _ => break,
        }
    }
    assert_eq!(served, from_im);
    other.stop().await;
    t.stop().await;
}

/// With a short retention the deadline alert is raised for a class whose messages are not
/// archived, and cleared once its last pass after the end has run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_alert_fires_under_a_short_retention_and_clears_after_the_last_pass() {
    let emu = emulator(FaultConfig::none()).await;
    let base = emu.base_url();
    let mut t = TestServer::start(move |c| {
        c.im.endpoint = Some(base);
        c.im.sdkappid = Some(SDKAPPID);
        c.im.secret_key = Some(Secret::new(KEY));
        c.im.retention = Duration::from_secs(4);
        c.archive_every = Duration::from_millis(300);
    })
    .await;
    let token = t
        .create_class("wb4", "replay_wb4", "teacher_li", true)
        .await;
    let open = |t: &TestServer| {
        let store = t.store().clone();
        async move {
            store
                .open_alerts()
                .await
                .unwrap()
                .into_iter()
                .filter(|a| a.kind == "archive_deadline" && a.class_id.as_deref() == Some("wb4"))
                .count()
        }
    };
    wait_until(Duration::from_secs(10), "deadline alert raised", || {
        open(&t).await_count(1)
    })
    .await;
    for path in ["start", "end"] {
        let (s, v) = t
            .post(
                &format!("/v1/classes/wb4/{path}"),
                Some(&token),
                &json!({"uid": "teacher_li", "timestamp": 1000}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    write_whiteboard(&emu, "replay_wb4", 5).await;
    // The passes after the end (at once, then the late one at half the retention) run by
    // themselves; after the last, nothing is outstanding.
    wait_until(Duration::from_secs(20), "deadline alert cleared", || {
        open(&t).await_count(0)
    })
    .await;
    let a = t.admin_get("/v1/admin/classes/wb4/archive").await;
    assert_eq!(a["state"], "complete", "{a}");
    assert_eq!(a["deadline_ms"], Value::Null, "{a}");
    assert_eq!(a["archived"], 12, "{a}");
    assert_eq!(a["job"]["cause"], "late", "{a}");
    // Past the retention, the alignment says its messages came from the archive.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let al = t.admin_get("/v1/admin/classes/wb4/alignment").await;
    let d = al["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "read_from_archive")
        .unwrap_or_else(|| panic!("{}", al["diagnostics"]));
    assert!(
        d["message"].as_str().unwrap().starts_with("12 message(s)"),
        "{d}"
    );
    t.stop().await;
}

trait AwaitCount {
    async fn await_count(self, n: usize) -> bool;
}

impl<F: std::future::Future<Output = usize>> AwaitCount for F {
    async fn await_count(self, n: usize) -> bool {
        self.await == n
    }
}

/// Delivery and archiving at once against the IM's real limits (200 requests/s per app,
/// 40 messages/s per group, in the emulator and in ReplayDesk): 1,000 messages over five
/// groups drained while each class is archived again and again; every message sent once,
/// every class's archive complete with all of them, and not one frequency error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_and_archiving_together_keep_the_ims_limits() {
    limits_hold(None).await;
}

/// The same on PostgreSQL, where every IM call also takes a slot of the budget the nodes
/// share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_and_archiving_together_keep_the_ims_limits_on_postgres() {
    let Some(db) = crate::util::engines::postgres("archive_limits").await else {
        return;
    };
    limits_hold(Some(db.db())).await;
}

async fn limits_hold(db: Option<std::path::PathBuf>) {
    use replaydesk::protocol::{Payload, ReplayMessage, Seq, UserValue};
    use replaydesk::store::NewMessage;
    let emu = Emulator::start(
        EmulatorConfig::new(SDKAPPID, KEY),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut t = server_on_db(&emu, None, db).await;
    let classes: Vec<String> = (0..5).map(|i| format!("lim{i}")).collect();
    for c in &classes {
        t.create_class(c, &format!("replay_{c}"), "teacher_li", true)
            .await;
    }
    let keys: Vec<String> = (0..1000).map(|i| format!("lim:{i}")).collect();
    let build = |i: u64| {
        move |seq| {
            ReplayMessage::new(
                seq,
                1_000 + i,
                Payload::Timeline {
                    time_line: 1_795_339_200_000 + i as i64,
                    value: UserValue::new("teacher_li"),
                },
            )
        }
    };
    let builders: Vec<Box<dyn Fn(Seq) -> ReplayMessage + Send + Sync>> = (0..1000u64)
        .map(|i| Box::new(build(i)) as Box<dyn Fn(Seq) -> ReplayMessage + Send + Sync>)
        .collect();
    let groups: Vec<String> = classes.iter().map(|c| format!("replay_{c}")).collect();
    let batch: Vec<NewMessage> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| NewMessage {
            class_id: &classes[i % 5],
            group_id: &groups[i % 5],
            uid: "teacher_li",
            dedup_key: k,
            build: builders[i].as_ref(),
        })
        .collect();
    emu.reset_stats();
    t.store().insert_messages(&batch).await.unwrap();
    t.desk.delivery().wake();
    let store = t.store().clone();
    let sent = || {
        let store = store.clone();
        async move {
            let f = replaydesk::store::MessageFilter {
                statuses: vec![replaydesk::store::MessageStatus::Sent],
                ..Default::default()
            };
            store.count_messages(&f).await.unwrap()
        }
    };
    let mut passes = 0;
    while sent().await < 1000 {
        for c in &classes {
            archive_now(&t, c).await;
            passes += 1;
        }
        // Every 200 ms: a pass is nearly always storing a page when its next "archive
        // now" comes, and its heartbeat falls due in the middle of a page now and then. A
        // heartbeat that suspended the pass mid-page once held SQLite's one writer
        // connection away from everyone, and an "archive now" went unanswered for the
        // client's 20 s (one run in three, alone); this is the test that showed it.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for c in &classes {
        // The pass answered may be one still running from before the last sends: wait
        // for it, then one that surely starts after them.
        let running = archive_now(&t, c).await;
        wait_job(&t, c, running).await;
        let job = archive_now(&t, c).await;
        let j = wait_job(&t, c, job).await;
        assert_eq!(j["state"], "finished", "{j}");
        let a = t.admin_get(&format!("/v1/admin/classes/{c}/archive")).await;
        assert_eq!(
            (a["state"].as_str(), a["archived"].as_i64()),
            (Some("complete"), Some(200)),
            "{a}"
        );
    }
    assert!(passes >= 5);
    let stats = emu.stats();
    let stats = serde_json::to_value(&stats).unwrap();
    assert_eq!(stats["frequency_errors"], 0, "{stats}");
    assert_eq!(stats["duplicates_absorbed"], 0, "{stats}");
    t.stop().await;
}

/// A real `replaydesk serve` killed with SIGKILL in the middle of a pass (no chance to end
/// it), then started again on the same database: the archive holds exactly the pages
/// stored before the kill, the killed pass is taken back as interrupted once it shows no
/// sign of life, and the next pass goes on from the last page stored; the group read back
/// through `/im-archive` is the IM's, message for message, nothing lost, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_in_the_middle_of_a_pass_loses_and_duplicates_nothing() {
    use crate::util::process::{sigkill_and_wait, ServeCommand, Served};
    const TOKEN: &str = "archive-sigkill-admin-token-0123";
    let emu = emulator(FaultConfig::none()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    let serve = |listen: &str| -> Served {
        let cmd = ServeCommand::new(dir.path(), &db)
            .listen(listen)
            .env("REPLAYDESK_ADMIN_TOKEN", TOKEN)
            .env("REPLAYDESK_IM_ENDPOINT", emu.base_url())
            .env("REPLAYDESK_IM_SDKAPPID", SDKAPPID.to_string())
            .env("REPLAYDESK_IM_SECRET_KEY", KEY)
            .env("RUST_LOG", "warn,replaydesk_server=info");
        // The killed one's port may be held a moment.
        let mut last = String::new();
        for _ in 0..40 {
            match cmd.try_spawn() {
                Ok(s) => return s,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("serve does not start: {last}");
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let get = |base: String, path: &'static str| {
        let http = http.clone();
        async move {
            let res = http
                .get(format!("{base}{path}"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let archive_now = |base: String| {
        let http = http.clone();
        async move {
            let res = http
                .post(format!("{base}/v1/admin/classes/wk/archive"))
                .bearer_auth(TOKEN)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 202);
            res.json::<Value>().await.unwrap()["job_id"]
                .as_i64()
                .unwrap()
        }
    };

    let mut first = serve("127.0.0.1:0");
    let res = http
        .post(format!("{}/v1/classes", first.base))
        .bearer_auth(TOKEN)
        .json(
            &json!({"class_id": "wk", "group_id": "replay_wk", "teacher_uid": "teacher_li",
                      "create_group": true, "legacy_class_token": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201, "{}", res.text().await.unwrap());
    write_whiteboard(&emu, "replay_wk", 150).await;
    emu.set_faults(FaultConfig {
        latency_ms: 150,
        all_commands: true,
        ..FaultConfig::none()
    })
    .unwrap();
    let killed_job = archive_now(first.base.clone()).await;
    let mut pages = 0;
    for _ in 0..600 {
        let a = get(first.base.clone(), "/v1/admin/classes/wk/archive").await;
        pages = a["job"]["pages"].as_i64().unwrap_or(0);
        if pages >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(pages >= 3, "the pass did not get going");
    let status = sigkill_and_wait(&mut first.child);
    assert!(!status.success(), "killed, not exited: {status}");
    let addr = first.addr().to_owned();
    drop(first);
    emu.set_faults(FaultConfig::none()).unwrap();

    let second = serve(&addr);
    let before = get(second.base.clone(), "/v1/admin/classes/wk/archive").await;
    let held = before["last_seq"].as_i64().unwrap();
    assert!((40..300).contains(&held), "{before}");
    assert_eq!(held % 20, 0, "last_seq is a page's end: {before}");
    assert_eq!(
        before["archived"].as_i64(),
        Some(held),
        "exactly the pages stored: {before}"
    );
    assert_eq!(before["job"]["job_id"], killed_job, "{before}");
    assert_eq!(
        before["job"]["state"], "running",
        "nobody ended it: {before}"
    );

    // Until the killed pass shows no sign of life for long enough, "archive now" answers it;
    // then a new pass starts and the killed one is marked interrupted.
    let mut job = killed_job;
    for _ in 0..120 {
        job = archive_now(second.base.clone()).await;
        if job != killed_job {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_ne!(job, killed_job, "the killed pass was never taken back");
    let mut j = Value::Null;
    for _ in 0..1200 {
        let res = http
            .get(format!(
                "{}/v1/admin/classes/wk/archive/jobs/{job}",
                second.base
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        j = res.json().await.unwrap();
        if j["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(j["state"], "finished", "{j}");
    // Only what the killed pass had not stored was read again (and the newest page).
    assert!(j["fetched"].as_i64().unwrap() <= 300 - held + 20, "{j}");
    let res = http
        .get(format!(
            "{}/v1/admin/classes/wk/archive/jobs/{killed_job}",
            second.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let k: Value = res.json().await.unwrap();
    assert_eq!(k["state"], "failed", "{k}");
    assert!(k["error"].as_str().unwrap().contains("interrupted"), "{k}");
    let a = get(second.base.clone(), "/v1/admin/classes/wk/archive").await;
    assert_eq!(a["state"], "complete", "{a}");
    assert_eq!(
        (a["archived"].as_i64(), a["last_seq"].as_i64()),
        (Some(300), Some(300)),
        "{a}"
    );

    // The IM forgets them; the archive serves them back as the IM did, once each.
    let from_im = raw_pages(&http, &emu.base_url(), "replay_wk").await;
    emu.emulator().set_retention(Retention {
        max_age_secs: Some(0),
        max_messages: None,
    });
    let from_archive = raw_pages(&http, &format!("{}/im-archive", second.base), "replay_wk").await;
    assert_eq!(from_archive, from_im);
    let seqs: Vec<u64> = from_archive
        .iter()
        .flat_map(|p| p["RspMsgList"].as_array().unwrap().clone())
        .map(|m| m["MsgSeq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=300).rev().collect::<Vec<_>>());
}
