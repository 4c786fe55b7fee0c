//! Alignment, reconcile and export through the HTTP admin API, against a real server
//! (sandbox IM emulator, SQLite file) over loopback.

use crate::util::server::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn class_alignment_from_the_log_names_pairs_rtt_source_and_event_times() {
    let mut t = TestServer::start(|_| {}).await;
    let token = t
        .create_class("room7", "replay_room7", "teacher_li", true)
        .await;
    let c0: u64 = 5_000_000;
    let (s, v) = t
        .report(
            "room7",
            &token,
            &json!({"uid": "teacher_li", "timestamp": c0, "rtt_ms": 80}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let time_line = v["time_line"].as_i64().unwrap();
    for (path, ts) in [("start", c0 + 5), ("end", c0 + 10)] {
        let (s, v) = t
            .post(
                &format!("/v1/classes/room7/{path}"),
                Some(&token),
                &json!({"uid": "teacher_li", "timestamp": ts}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    let store = t.store().clone();
    wait_until(Duration::from_secs(10), "three messages sent", || {
        let store = store.clone();
        async move {
            let f = replaydesk::store::MessageFilter {
                statuses: vec![replaydesk::store::MessageStatus::Sent],
                ..Default::default()
            };
            store.count_messages(&f).await.unwrap() == 3
        }
    })
    .await;

    let a = t.admin_get("/v1/admin/classes/room7/alignment").await;
    assert_eq!(a["source"], "log");
    assert_eq!(a["class_id"], "room7");
    assert_eq!(a["group_id"], "replay_room7");
    let seg = &a["users"][0]["segments"][0];
    assert_eq!(a["users"][0]["uid"], "teacher_li");
    assert_eq!(seg["server_ms"], time_line);
    assert_eq!(seg["offset_ms"], time_line - c0 as i64);
    assert_eq!(seg["precision"], "measured");
    assert_eq!(seg["rtt_source"], "client");
    assert_eq!(seg["uncertainty_ms"], 40);
    assert_eq!(a["events"][0]["event"]["kind"], "class_start");
    assert_eq!(a["events"][0]["server_ms"], time_line + 5);
    assert_eq!(a["events"][1]["server_ms"], time_line + 10);
    assert_eq!(a["diagnostics"], json!([]), "a clean class has no findings");

    let (s, e) = t.get("/v1/admin/classes/nope/alignment", Some(ADMIN)).await;
    assert_eq!((s, e["error"].as_str()), (404, Some("not_found")));
    let (s, _) = t.get("/v1/admin/classes/room7/alignment", None).await;
    assert_eq!(s, 401);
    t.stop().await;
}

/// A report without `rtt_ms` over a direct connection is corrected by the kernel's RTT of
/// that connection (source `kernel`); behind a proxy it keeps its receipt time (`none`).
#[tokio::test]
async fn reports_without_rtt_take_the_kernels_unless_behind_a_proxy() {
    for (behind_proxy, source, precision) in
        [(false, "kernel", "measured"), (true, "none", "time_line")]
    {
        let mut t = TestServer::start(|c| c.behind_proxy = behind_proxy).await;
        let token = t
            .create_class("room8", "replay_room8", "teacher_li", true)
            .await;
        let (s, v) = t
            .report(
                "room8",
                &token,
                &json!({"uid": "teacher_li", "timestamp": 9_000_000u64}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        let a = t.admin_get("/v1/admin/classes/room8/alignment").await;
        let seg = &a["users"][0]["segments"][0];
        assert_eq!(
            seg["rtt_source"], source,
            "behind_proxy={behind_proxy}: {seg}"
        );
        assert_eq!(
            seg["precision"], precision,
            "behind_proxy={behind_proxy}: {seg}"
        );
        if behind_proxy {
            assert_eq!(seg["uncertainty_ms"], json!(null));
        } else {
            // Loopback: well under a ms, rounded up.
            let u = seg["uncertainty_ms"].as_i64().unwrap();
            assert!((0..=5).contains(&u), "{seg}");
        }
        t.stop().await;
    }
}

/// The export bundle holds the class, its messages with attempts and the alignment, and
/// none of the secrets: admin token, report credential, its derivation key.
#[tokio::test]
async fn export_bundle_holds_the_class_and_no_secrets() {
    let mut t = TestServer::start(|_| {}).await;
    let token = t
        .create_class("room9", "replay_room9", "teacher_li", true)
        .await;
    let (s, v) = t
        .report(
            "room9",
            &token,
            &json!({"uid": "teacher_li", "timestamp": 1_000u64, "rtt_ms": 10}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let store = t.store().clone();
    wait_until(Duration::from_secs(10), "the 1003 sent", || {
        let store = store.clone();
        async move {
            let f = replaydesk::store::MessageFilter {
                statuses: vec![replaydesk::store::MessageStatus::Sent],
                ..Default::default()
            };
            store.count_messages(&f).await.unwrap() == 1
        }
    })
    .await;
    let res = t
        .http
        .get(format!("{}/v1/admin/classes/room9/export", t.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let text = res.text().await.unwrap();
    let b: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(b["format"], "replaydesk-class-bundle/1");
    assert_eq!(b["class"]["class_id"], "room9");
    assert_eq!(b["messages"].as_array().unwrap().len(), 1);
    assert_eq!(b["messages"][0]["status"], "sent");
    assert_eq!(b["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(b["attempts"][0]["outcome"], "sent");
    assert_eq!(b["members"][0]["uid"], "teacher_li");
    assert_eq!(b["alignment"]["users"][0]["uid"], "teacher_li");
    assert_eq!(b["history"], json!([]));
    let auth = t.store().class_auth("room9").await.unwrap().unwrap();
    for (what, secret) in [
        ("admin token", ADMIN.to_owned()),
        ("teacher credential", token.clone()),
        ("credential key", auth.credential_key.clone()),
    ] {
        assert!(!secret.is_empty());
        assert!(!text.contains(&secret), "the {what} is in the bundle");
    }
    assert!(!text.contains("credential_key") && !text.contains("report_token"));
    let (s, e) = t.get("/v1/admin/classes/nope/export", Some(ADMIN)).await;
    assert_eq!((s, e["error"].as_str()), (404, Some("not_found")));
    t.stop().await;
}

mod reconcile {
    use super::*;
    use replaydesk::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
    use replaydesk::im::client::{ImClient, ImConfig};
    use replaydesk::im::wire::SendGroupMsgRequest;
    use replaydesk::protocol::{MsgBodyElem, Payload, ReplayMessage, Seq, UserValue};
    use replaydesk::secret::Secret;
    use replaydesk::store::{MessageFilter, MessageStatus, NewMessage};
    use serde_json::Value;

    const SDKAPPID: u64 = 1_400_000_009;
    const KEY: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

    async fn own_emulator() -> EmulatorHandle {
        let mut cfg = EmulatorConfig::new(SDKAPPID, KEY);
        cfg.group_rate = 0;
        cfg.app_rate = 0;
        Emulator::start(cfg, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    }

    async fn wait_finished(t: &TestServer, class: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..600 {
            last = t
                .admin_get(&format!("/v1/admin/classes/{class}/reconcile"))
                .await;
            if last["state"] != "running" {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("reconcile did not finish: {last}");
    }

    /// 2,000 messages sent by ReplayDesk; behind its back 3 are recalled and another
    /// server adds 2. Reconcile reports exactly those, and alignment then reads the history.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reconcile_of_2000_messages_finds_the_recalled_and_the_foreign() {
        let emu = own_emulator().await;
        let mut t = TestServer::start(|c| {
            c.im.endpoint = Some(emu.base_url());
            c.im.sdkappid = Some(SDKAPPID);
            c.im.secret_key = Some(Secret::new(KEY));
            c.delivery.app_rate = 0.0;
            c.delivery.group_rate = 0.0;
            c.delivery.concurrency = 16;
        })
        .await;
        t.create_class("big", "replay_big", "teacher_li", true)
            .await;
        let keys: Vec<String> = (0..2000).map(|i| format!("test:{i}")).collect();
        let builders: Vec<Box<dyn Fn(Seq) -> ReplayMessage + Send + Sync>> = (0..2000u64)
            .map(|i| {
                Box::new(move |seq| {
                    ReplayMessage::new(
                        seq,
                        1_000_000 + i,
                        Payload::Timeline {
                            time_line: 1_795_339_200_000 + i as i64,
                            value: UserValue::new(format!("u{}", i % 50)),
                        },
                    )
                }) as Box<dyn Fn(Seq) -> ReplayMessage + Send + Sync>
            })
            .collect();
        let batch: Vec<NewMessage> = keys
            .iter()
            .zip(&builders)
            .map(|(k, b)| NewMessage {
                class_id: "big",
                group_id: "replay_big",
                uid: "u",
                dedup_key: k,
                build: b.as_ref(),
            })
            .collect();
        t.store().insert_messages(&batch).await.unwrap();
        t.desk.delivery().wake();
        let store = t.store().clone();
        wait_until(Duration::from_secs(120), "2000 sent", || {
            let store = store.clone();
            async move {
                let f = MessageFilter {
                    statuses: vec![MessageStatus::Sent],
                    ..Default::default()
                };
                store.count_messages(&f).await.unwrap() == 2000
            }
        })
        .await;

        // Behind ReplayDesk's back: 3 recalled, 2 written by another server.
        let history = emu.emulator().history("replay_big");
        assert_eq!(history.len(), 2000);
        let recalled = [
            history[10].msg_seq,
            history[999].msg_seq,
            history[1500].msg_seq,
        ];
        assert_eq!(emu.emulator().recall_direct("replay_big", &recalled), 3);
        let other = ImClient::new(ImConfig::new(
            emu.base_url(),
            SDKAPPID,
            "administrator".to_string(),
            Secret::new(KEY),
        ))
        .unwrap();
        let mut foreign_seqs = Vec::new();
        for (k, seq) in [777_001u64, 777_002].into_iter().enumerate() {
            let data = ReplayMessage::new(
                Seq::from_raw(seq),
                5 + k as u64,
                Payload::Timeline {
                    time_line: 1_795_339_299_000,
                    value: UserValue::new("intruder"),
                },
            )
            .to_data();
            let ans = other
                .send_group_msg(&SendGroupMsgRequest {
                    group_id: "replay_big".into(),
                    random: 4242 + k as u32,
                    from_account: Some("other_server".into()),
                    msg_body: vec![MsgBodyElem::custom(data)],
                    extra: Default::default(),
                })
                .await
                .unwrap();
            foreign_seqs.push(ans.body.msg_seq.unwrap());
        }

        let (s, run) = t
            .post(
                "/v1/admin/classes/big/reconcile",
                Some(ADMIN),
                &json!({"pages_per_second": 0}),
            )
            .await;
        assert_eq!(s, 202, "{run}");
        let run = wait_finished(&t, "big").await;
        assert_eq!(run["state"], "finished", "{run}");
        assert_eq!(run["pages"], 101, "2002 messages, 20 a page");
        let rep = &run["report"];
        assert_eq!(rep["history_messages"], 2002);
        assert_eq!(rep["log_messages"], 2000);
        assert_eq!(rep["matched"], 1997);
        let missing: Vec<u64> = rep["missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["im_msg_seq"].as_u64().unwrap())
            .collect();
        assert_eq!(missing, recalled);
        assert!(rep["missing"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["now_a_hole"] == true));
        let foreign: Vec<u64> = rep["foreign"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message"]["im_msg_seq"].as_u64().unwrap())
            .collect();
        assert_eq!(foreign, foreign_seqs);
        assert_eq!(rep["foreign"][0]["from_account"], "other_server");
        // Runs of consecutive MsgSeqs; these recalled messages are apart.
        let holes: Vec<u64> = rep["holes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                assert_eq!(h["first"], h["last"], "{h}");
                h["first"].as_u64().unwrap()
            })
            .collect();
        assert_eq!(holes, recalled);
        assert_eq!(rep["duplicate_seqs"], json!([]));
        assert_eq!(rep["data_differs"], json!([]));

        // Alignment now reads the stored history.
        let a = t.admin_get("/v1/admin/classes/big/alignment").await;
        assert_eq!(a["source"], "history");
        assert_eq!(a["holes"].as_array().unwrap().len(), 3);
        t.stop().await;
    }

    /// A message whose Data in the group differs from the log, a seq carried twice, and
    /// the run's audit and 404 for an unknown class.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reconcile_reports_changed_data_and_duplicate_seqs() {
        let mut t = TestServer::start(|_| {}).await;
        let token = t
            .create_class("small", "replay_small", "teacher_li", true)
            .await;
        let (s, v) = t
            .report(
                "small",
                &token,
                &json!({"uid": "teacher_li", "timestamp": 1000}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        let seq = v["seq"].as_u64().unwrap();
        let store = t.store().clone();
        wait_until(Duration::from_secs(10), "sent", || {
            let store = store.clone();
            async move {
                let f = MessageFilter {
                    statuses: vec![MessageStatus::Sent],
                    ..Default::default()
                };
                store.count_messages(&f).await.unwrap() == 1
            }
        })
        .await;
        // Another writer sends the same seq with other Data, twice.
        let emu = t.desk.sandbox_emulator().unwrap().clone();
        let im = t.desk.delivery().im().clone();
        for k in 0..2u32 {
            let data = ReplayMessage::new(
                Seq::from_raw(seq),
                9_999,
                Payload::Timeline {
                    time_line: 1,
                    value: UserValue::new("teacher_li"),
                },
            )
            .to_data();
            im.send_group_msg(&SendGroupMsgRequest {
                group_id: "replay_small".into(),
                random: 90_000 + k,
                from_account: None,
                msg_body: vec![MsgBodyElem::custom(data)],
                extra: Default::default(),
            })
            .await
            .unwrap();
        }
        assert_eq!(emu.history("replay_small").len(), 3);
        let (s, _) = t
            .post("/v1/admin/classes/small/reconcile", Some(ADMIN), &json!({}))
            .await;
        assert_eq!(s, 202);
        let run = wait_finished(&t, "small").await;
        let rep = &run["report"];
        assert_eq!(rep["matched"], 1, "{rep}");
        assert_eq!(rep["duplicate_seqs"][0]["seq"], seq);
        assert_eq!(
            rep["duplicate_seqs"][0]["im_msg_seqs"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            rep["foreign"],
            json!([]),
            "same seq: not another writer's message"
        );

        let (s, e) = t
            .post(
                "/v1/admin/classes/small/reconcile",
                Some(ADMIN),
                &json!({"pages_per_second": -1}),
            )
            .await;
        assert_eq!(
            (s, e["error"].as_str()),
            (422, Some("invalid_request")),
            "{e}"
        );
        let (s, e) = t
            .post(
                "/v1/admin/classes/small/reconcile",
                Some(ADMIN),
                &json!({"bogus": 1}),
            )
            .await;
        assert_eq!(s, 422, "{e}");
        let (s, _) = t
            .post("/v1/admin/classes/nope/reconcile", Some(ADMIN), &json!({}))
            .await;
        assert_eq!(s, 404);
        let audit = t.admin_get("/v1/admin/audit").await;
        assert!(audit.to_string().contains("reconcile"), "{audit}");
        t.stop().await;
    }
}
