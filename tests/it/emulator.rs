//! The IM emulator over real HTTP: every error code it answers, the duplicate filter,
//! sequence numbers and history paging, the frequency limits, each fault knob, the control
//! endpoints, the `replaydesk im-emulator` binary, and a fuzz test of arbitrary requests.
//!
//! One file although long: the cases are the emulator's contract, one short independent case
//! per answer or knob over the same started emulator, read as one list.

use crate::util;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use replaydesk::emulator::{codes, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig};
use replaydesk::im::usersig;
use replaydesk::im::wire::{
    GroupMsgGetSimpleResponse, SendGroupMsgResponse, CREATE_GROUP, DESTROY_GROUP,
    GROUP_MSG_GET_SIMPLE, SEND_GROUP_MSG,
};
use replaydesk::protocol::{msg_body_size, MsgBodyElem, MAX_MSG_BODY_BYTES};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const APP: u64 = 1_400_000_000;
const KEY: &str = "emulator-test-key-6f1d2b9c0e7a4f3b8d5c1e2a9b7f6d4c";
const ADMIN: &str = "administrator";

fn now() -> i64 {
    replaydesk::clock::unix_ms_now().div_euclid(1000)
}

fn admin_sig() -> String {
    usersig::generate(APP, ADMIN, KEY, now(), 86_400)
}

async fn start(tune: impl FnOnce(&mut EmulatorConfig)) -> EmulatorHandle {
    let mut config = EmulatorConfig::new(APP, KEY);
    tune(&mut config);
    Emulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts")
}

/// A plain IM REST client over reqwest, with control over every query parameter.
#[derive(Clone)]
struct Im {
    http: reqwest::Client,
    base: String,
    sig: String,
}

impl Im {
    fn new(emu: &EmulatorHandle) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: emu.base_url(),
            sig: admin_sig(),
        }
    }

    fn url(&self, command: &str) -> String {
        format!("{}/v4/{command}", self.base)
    }

    /// A call with the given query pairs; HTTP 200 and a JSON answer are asserted.
    async fn call_with(&self, command: &str, query: &[(&str, &str)], body: &Value) -> Value {
        let resp = self
            .http
            .post(self.url(command))
            .query(query)
            .json(body)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "IM answers are HTTP 200");
        let v: Value = resp.json().await.expect("JSON answer");
        check_envelope(&v);
        v
    }

    async fn call(&self, command: &str, body: &Value) -> Value {
        let app = APP.to_string();
        let query = [
            ("sdkappid", app.as_str()),
            ("identifier", ADMIN),
            ("usersig", self.sig.as_str()),
            ("random", "12345"),
            ("contenttype", "json"),
        ];
        self.call_with(command, &query, body).await
    }

    async fn create(&self, group: &str) -> Value {
        self.call(
            CREATE_GROUP,
            &json!({"Owner_Account": ADMIN, "Type": "Public", "GroupId": group, "Name": "class"}),
        )
        .await
    }

    async fn send(&self, group: &str, random: u32, data: &str) -> Value {
        self.call(SEND_GROUP_MSG, &send_body(group, random, data))
            .await
    }

    async fn page(&self, group: &str, number: u32, newest: Option<u64>) -> Value {
        let mut body = json!({"GroupId": group, "ReqMsgNumber": number});
        if let Some(seq) = newest {
            body["ReqMsgSeq"] = json!(seq);
        }
        self.call(GROUP_MSG_GET_SIMPLE, &body).await
    }
}

fn send_body(group: &str, random: u32, data: &str) -> Value {
    json!({
        "GroupId": group,
        "Random": random,
        "From_Account": ADMIN,
        "MsgBody": [MsgBodyElem::custom(data)],
    })
}

/// Every IM answer: `ActionStatus`, integer `ErrorCode`, string `ErrorInfo`, consistent.
fn check_envelope(v: &Value) {
    let status = v["ActionStatus"].as_str().expect("ActionStatus");
    let code = v["ErrorCode"].as_i64().expect("ErrorCode");
    assert!(v["ErrorInfo"].is_string(), "ErrorInfo: {v}");
    assert_eq!(status == "OK", code == 0, "{v}");
    assert!(status == "OK" || status == "FAIL", "{v}");
}

fn code(v: &Value) -> i64 {
    v["ErrorCode"].as_i64().expect("ErrorCode")
}

fn seq(v: &Value) -> u64 {
    v["MsgSeq"]
        .as_u64()
        .unwrap_or_else(|| panic!("MsgSeq in {v}"))
}

#[tokio::test]
async fn usersig_and_admin_checks_answer_the_service_codes() {
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    let body = json!({"Type": "Public", "GroupId": "g", "Name": "n"});
    let app = APP.to_string();
    let other_app = (APP + 1).to_string();
    let t = now();
    let expired = usersig::generate(APP, ADMIN, KEY, t - 10_000, 60);
    let bad_key = usersig::generate(APP, ADMIN, "another key", t, 86_400);
    let for_bob = usersig::generate(APP, "bob", KEY, t, 86_400);
    let for_other_app = usersig::generate(APP + 1, ADMIN, KEY, t, 86_400);
    let good = admin_sig();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, i64);
    let cases: Vec<Case> = vec![
        (
            "expired",
            vec![
                ("sdkappid", &app),
                ("identifier", ADMIN),
                ("usersig", &expired),
            ],
            codes::USERSIG_EXPIRED,
        ),
        (
            "malformed",
            vec![
                ("sdkappid", &app),
                ("identifier", ADMIN),
                ("usersig", "not-a-sig"),
            ],
            codes::USERSIG_MALFORMED,
        ),
        (
            "missing usersig",
            vec![("sdkappid", &app), ("identifier", ADMIN)],
            codes::USERSIG_MALFORMED,
        ),
        (
            "wrong key",
            vec![
                ("sdkappid", &app),
                ("identifier", ADMIN),
                ("usersig", &bad_key),
            ],
            codes::USERSIG_BAD_SIGNATURE,
        ),
        (
            "sig of another identifier",
            vec![
                ("sdkappid", &app),
                ("identifier", ADMIN),
                ("usersig", &for_bob),
            ],
            codes::USERSIG_IDENTIFIER_MISMATCH,
        ),
        (
            "missing identifier",
            vec![("sdkappid", &app), ("usersig", &good)],
            codes::USERSIG_IDENTIFIER_MISMATCH,
        ),
        (
            "sig of another app",
            vec![
                ("sdkappid", &app),
                ("identifier", ADMIN),
                ("usersig", &for_other_app),
            ],
            codes::USERSIG_SDKAPPID_MISMATCH,
        ),
        (
            "an app this emulator does not serve",
            vec![
                ("sdkappid", &other_app),
                ("identifier", ADMIN),
                ("usersig", &for_other_app),
            ],
            codes::USERSIG_SDKAPPID_MISMATCH,
        ),
        (
            "missing sdkappid",
            vec![("identifier", ADMIN), ("usersig", &good)],
            codes::SDKAPPID_REQUIRED,
        ),
        (
            "non-numeric sdkappid",
            vec![
                ("sdkappid", "14x"),
                ("identifier", ADMIN),
                ("usersig", &good),
            ],
            codes::SDKAPPID_REQUIRED,
        ),
        (
            "valid sig of a non-admin",
            vec![
                ("sdkappid", &app),
                ("identifier", "bob"),
                ("usersig", &for_bob),
            ],
            codes::ADMIN_REQUIRED,
        ),
    ];
    for (name, query, want) in cases {
        let v = im.call_with(CREATE_GROUP, &query, &body).await;
        assert_eq!(code(&v), want, "{name}: {v}");
        assert_eq!(v["ActionStatus"], "FAIL", "{name}");
    }
    // Nothing was created by the refused calls.
    assert_eq!(code(&im.create("g").await), 0);
    let stats = emu.stats();
    assert_eq!(stats.answers_with(codes::USERSIG_MALFORMED), 2);
    assert_eq!(stats.answers_with(codes::ADMIN_REQUIRED), 1);
    assert_eq!(stats.per_command.get("create_group"), Some(&12));
}

#[tokio::test]
async fn unknown_commands_methods_and_paths() {
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    let v = im
        .call("group_open_http_svc/no_such_command", &json!({}))
        .await;
    assert_eq!(code(&v), codes::UNKNOWN_COMMAND);
    let v = im.call("openim/sendmsg", &json!({})).await;
    assert_eq!(code(&v), codes::UNKNOWN_COMMAND);

    let resp = im.http.get(im.url(SEND_GROUP_MSG)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), codes::HTTP_PARSE_ERROR);

    let resp = im
        .http
        .post(format!("{}/not/the/api", im.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.unwrap();
    check_envelope(&v);
    assert_eq!(code(&v), codes::UNKNOWN_COMMAND);
    assert_eq!(emu.stats().per_command.get("unknown"), Some(&3));
}

#[tokio::test]
async fn group_lifecycle_codes() {
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    assert_eq!(
        code(&im.send("nope", 1, "{}").await),
        codes::GROUP_NOT_FOUND
    );
    assert_eq!(
        code(&im.page("nope", 20, None).await),
        codes::GROUP_NOT_FOUND
    );
    assert_eq!(
        code(&im.call(DESTROY_GROUP, &json!({"GroupId": "nope"})).await),
        codes::GROUP_NOT_FOUND
    );

    let v = im.create("replay_class_42").await;
    assert_eq!(code(&v), 0);
    assert_eq!(v["GroupId"], "replay_class_42");
    assert_eq!(
        code(&im.create("replay_class_42").await),
        codes::GROUP_ID_TAKEN
    );
    assert_eq!(code(&im.send("replay_class_42", 1, "{}").await), 0);

    let v = im
        .call(DESTROY_GROUP, &json!({"GroupId": "replay_class_42"}))
        .await;
    assert_eq!(code(&v), 0);
    assert_eq!(
        code(&im.send("replay_class_42", 2, "{}").await),
        codes::GROUP_DISMISSED
    );
    assert_eq!(
        code(&im.page("replay_class_42", 20, None).await),
        codes::GROUP_DISMISSED
    );
    assert_eq!(
        code(
            &im.call(DESTROY_GROUP, &json!({"GroupId": "replay_class_42"}))
                .await
        ),
        codes::GROUP_DISMISSED
    );
    assert!(emu.history("replay_class_42").is_empty());

    // Custom ids are checked; without one the service makes an @TGS# id.
    for bad in ["@TGS#mine", &"x".repeat(49), "caf\u{e9}"] {
        let v = im
            .call(
                CREATE_GROUP,
                &json!({"Type": "Public", "GroupId": bad, "Name": "n"}),
            )
            .await;
        assert_eq!(code(&v), codes::INVALID_PARAMETER, "{bad}: {v}");
    }
    let v = im
        .call(CREATE_GROUP, &json!({"Type": "Private", "Name": "n"}))
        .await;
    assert_eq!(code(&v), 0);
    let generated = v["GroupId"].as_str().unwrap().to_owned();
    assert!(generated.starts_with("@TGS#"), "{generated}");
    assert_eq!(code(&im.send(&generated, 1, "{}").await), 0);
    let v = im
        .call(CREATE_GROUP, &json!({"Type": "NoSuchType", "Name": "n"}))
        .await;
    assert_eq!(code(&v), codes::INVALID_PARAMETER);
    let v = im.call(CREATE_GROUP, &json!({"Type": "Public"})).await;
    assert_eq!(code(&v), codes::INVALID_PARAMETER, "Name is required");

    // Direct creation for tests and sandbox set-up.
    emu.create_group_direct("direct").unwrap();
    assert!(emu.create_group_direct("direct").is_err());
    assert!(emu.create_group_direct("@TGS#x").is_err());
    assert_eq!(code(&im.send("direct", 1, "{}").await), 0);
}

#[tokio::test]
async fn malformed_bodies_and_oversize_messages() {
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    let app = APP.to_string();
    let query = [
        ("sdkappid", app.as_str()),
        ("identifier", ADMIN),
        ("usersig", im.sig.as_str()),
    ];
    let raw = |body: &'static str| {
        let im = im.clone();
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        async move {
            let resp = im
                .http
                .post(im.url(SEND_GROUP_MSG))
                .query(&query)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let v: Value = resp.json().await.unwrap();
            check_envelope(&v);
            code(&v)
        }
    };
    assert_eq!(raw("{").await, codes::JSON_PARSE_ERROR);
    assert_eq!(raw("").await, codes::JSON_PARSE_ERROR);
    assert_eq!(raw("[1,2]").await, codes::INVALID_PARAMETER);
    for body in [
        json!({"GroupId": "g"}),
        json!({"GroupId": "g", "Random": 1}),
        json!({"GroupId": "g", "Random": 1, "MsgBody": []}),
        json!({"GroupId": "g", "Random": -1, "MsgBody": [MsgBodyElem::custom("x")]}),
        json!({"GroupId": "g", "Random": 4_294_967_296u64, "MsgBody": [MsgBodyElem::custom("x")]}),
        json!({"GroupId": "g", "Random": "7", "MsgBody": [MsgBodyElem::custom("x")]}),
        json!({"GroupId": 5, "Random": 1, "MsgBody": [MsgBodyElem::custom("x")]}),
        json!({"GroupId": "g", "Random": 1, "MsgBody": [{"MsgType": "TIMBogusElem", "MsgContent": {}}]}),
        json!({"GroupId": "g", "Random": 1, "MsgBody": [{"MsgType": "TIMCustomElem", "MsgContent": "x"}]}),
        json!({"GroupId": "g", "Random": 1, "MsgBody": [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": 1}}]}),
    ] {
        let v = im.call(SEND_GROUP_MSG, &body).await;
        assert_eq!(code(&v), codes::INVALID_PARAMETER, "{body}: {v}");
    }
    for body in [json!({"GroupId": "g"}), json!({"ReqMsgNumber": 5})] {
        let v = im.call(GROUP_MSG_GET_SIMPLE, &body).await;
        assert_eq!(code(&v), codes::INVALID_PARAMETER, "{body}: {v}");
    }
    let v = im.page("g", 0, None).await;
    assert_eq!(code(&v), codes::INVALID_PARAMETER);

    // The 12 KB limit on MsgBody as compact JSON, at the boundary.
    let overhead = msg_body_size(&[MsgBodyElem::custom("")]);
    let fits = "a".repeat(MAX_MSG_BODY_BYTES - overhead);
    let over = "a".repeat(MAX_MSG_BODY_BYTES - overhead + 1);
    let v = im.send("g", 10, &over).await;
    assert_eq!(code(&v), codes::MSG_BODY_TOO_LONG, "{v}");
    assert!(emu.history("g").is_empty(), "nothing stored");
    let v = im.send("g", 11, &fits).await;
    assert_eq!(code(&v), 0, "{v}");
    // A request far over the size cap is refused unread, with the same code. The server
    // closes the connection on the unread rest, so the client may see a reset instead.
    let huge = serde_json::to_vec(&send_body("g", 12, &"a".repeat(2 * 1024 * 1024))).unwrap();
    let resp = im
        .http
        .post(im.url(SEND_GROUP_MSG))
        .query(&query)
        .body(huge)
        .send()
        .await;
    if let Ok(resp) = resp {
        if let Ok(v) = resp.json::<Value>().await {
            assert_eq!(code(&v), codes::MSG_BODY_TOO_LONG, "{v}");
        }
    }
    assert_eq!(emu.history("g").len(), 1);
}

#[tokio::test]
async fn old_sdk_requests_are_accepted() {
    // No `random` query parameter, a MsgContent with only Data, a 16-bit Random.
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    let app = APP.to_string();
    let body = json!({
        "GroupId": "g",
        "Random": 40_000,
        "MsgBody": [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{\"type\":1003}"}}],
    });
    let v = im
        .call_with(
            SEND_GROUP_MSG,
            &[
                ("sdkappid", &app),
                ("identifier", ADMIN),
                ("usersig", &im.sig),
            ],
            &body,
        )
        .await;
    assert_eq!(code(&v), 0, "{v}");
    let history = emu.history("g");
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].from_account, ADMIN,
        "absent From_Account = the admin"
    );
    assert_eq!(history[0].msg_random, 40_000);
    assert_eq!(
        history[0].msg_body[0].custom_elem().unwrap().data,
        "{\"type\":1003}"
    );
}

#[tokio::test]
async fn msg_seq_strictly_increasing_from_one_and_fields_stored() {
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    emu.create_group_direct("a").unwrap();
    emu.create_group_direct("b").unwrap();
    let before = now();
    for i in 1..=10u32 {
        let mut body = send_body("a", 1000 + i, &format!("{{\"n\":{i}}}"));
        body["From_Account"] = json!("teacher_li");
        body["MsgPriority"] = json!(if i % 2 == 0 { "High" } else { "Normal" });
        let v = im.call(SEND_GROUP_MSG, &body).await;
        let resp: SendGroupMsgResponse = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(resp.msg_seq, Some(u64::from(i)), "{v}");
        let t = resp.msg_time.unwrap();
        assert!(
            t >= before && t <= now() + 1,
            "MsgTime is unix seconds: {t}"
        );
    }
    // Each group has its own sequence.
    assert_eq!(seq(&im.send("b", 1, "{}").await), 1);
    let history = emu.history("a");
    assert_eq!(
        history.iter().map(|m| m.msg_seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    for (i, m) in (1u32..).zip(&history) {
        assert_eq!(m.from_account, "teacher_li");
        assert_eq!(m.msg_random, u64::from(1000 + i));
        assert_eq!(m.msg_priority, if i % 2 == 0 { 0 } else { 1 });
        assert_eq!(m.is_place_msg, 0);
        assert_eq!(
            m.msg_body,
            vec![MsgBodyElem::custom(format!("{{\"n\":{i}}}"))]
        );
    }
    assert_eq!(emu.stats().messages_stored, 11);
}

#[tokio::test]
async fn duplicate_random_within_window_answers_the_original() {
    let emu = start(|c| c.dup_window = Duration::from_secs(1)).await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    emu.create_group_direct("other").unwrap();
    let first = im.send("g", 77, "first").await;
    assert_eq!(seq(&first), 1);
    assert_eq!(seq(&im.send("g", 78, "second").await), 2);
    let again = im.send("g", 77, "first, resent").await;
    assert_eq!(code(&again), 0, "a duplicate looks like a success");
    assert_eq!(seq(&again), 1, "the original MsgSeq");
    assert_eq!(again["MsgTime"], first["MsgTime"], "the original MsgTime");
    // The filter is per group.
    assert_eq!(seq(&im.send("other", 77, "x").await), 1);
    let history = emu.history("g");
    assert_eq!(history.len(), 2, "stored once");
    assert_eq!(history[0].msg_body, vec![MsgBodyElem::custom("first")]);
    assert_eq!(emu.stats().duplicates_absorbed, 1);

    // Outside the window the same Random is a new message.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(seq(&im.send("g", 77, "later").await), 3);
    assert_eq!(emu.history("g").len(), 3);
}

#[tokio::test]
async fn history_pages_newest_first_twenty_at_a_time() {
    // 45 quick sends would exceed the default 40 messages/s of one group.
    let emu = start(|c| c.group_rate = 0).await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    for i in 0..45u32 {
        assert_eq!(code(&im.send("g", 5000 + i, &format!("m{i}")).await), 0);
    }
    let mut newest = None;
    let mut pages = Vec::new();
    loop {
        // Asking for more than 20 gets 20.
        let v = im.page("g", 100, newest).await;
        assert_eq!(code(&v), 0, "{v}");
        for entry in v["RspMsgList"].as_array().unwrap() {
            for field in [
                "From_Account",
                "IsPlaceMsg",
                "MsgBody",
                "MsgPriority",
                "MsgRandom",
                "MsgSeq",
                "MsgTimeStamp",
            ] {
                assert!(entry.get(field).is_some(), "{field} in {entry}");
            }
        }
        let page: GroupMsgGetSimpleResponse = serde_json::from_value(v).unwrap();
        assert_eq!(page.group_id, "g");
        let seqs: Vec<u64> = page.rsp_msg_list.iter().map(|m| m.msg_seq).collect();
        let finished = page.is_finished;
        pages.push((seqs.clone(), finished));
        if finished == 1 {
            break;
        }
        newest = Some(seqs.last().unwrap() - 1);
    }
    assert_eq!(
        pages,
        vec![
            ((26..=45).rev().collect(), 0),
            ((6..=25).rev().collect(), 0),
            ((1..=5).rev().collect(), 1),
        ]
    );
    // A page of exactly the rest is finished; a small ReqMsgNumber is honoured.
    let v = im.page("g", 20, Some(20)).await;
    assert_eq!(v["IsFinished"], 1);
    assert_eq!(v["RspMsgList"].as_array().unwrap().len(), 20);
    let v = im.page("g", 3, None).await;
    let seqs: Vec<u64> = v["RspMsgList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["MsgSeq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![45, 44, 43]);
    assert_eq!(
        v["RspMsgList"][0]["MsgBody"][0]["MsgContent"]["Data"],
        "m44"
    );
    assert_eq!(v["RspMsgList"][0]["MsgRandom"], 5044);
    // An empty group is finished at once.
    emu.create_group_direct("empty").unwrap();
    let v = im.page("empty", 20, None).await;
    assert_eq!(v["IsFinished"], 1);
    assert_eq!(v["RspMsgList"], json!([]));
}

#[tokio::test]
async fn online_only_messages_and_avchatrooms_keep_no_history() {
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    let mut body = send_body("g", 1, "live only");
    body["OnlineOnlyFlag"] = json!(1);
    let v = im.call(SEND_GROUP_MSG, &body).await;
    assert_eq!(code(&v), 0);
    assert!(v["MsgTime"].is_i64() && v.get("MsgSeq").is_none(), "{v}");
    assert!(emu.history("g").is_empty());
    assert_eq!(seq(&im.send("g", 1, "stored").await), 1);

    let v = im
        .call(CREATE_GROUP, &json!({"Type": "AVChatRoom", "Name": "live"}))
        .await;
    assert_eq!(code(&v), 0);
    let live = v["GroupId"].as_str().unwrap().to_owned();
    assert_eq!(seq(&im.send(&live, 1, "a").await), 1);
    assert_eq!(seq(&im.send(&live, 2, "b").await), 2);
    assert!(emu.history(&live).is_empty());
    assert_eq!(code(&im.page(&live, 20, None).await), codes::NO_PERMISSION);
}

/// Sends `n` messages at once; returns the answers' codes.
async fn burst(im: &Im, n: u32, group: &str) -> Vec<i64> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let im = im.clone();
        let group = group.to_owned();
        set.spawn(async move { code(&im.send(&group, 90_000 + i, "burst").await) });
    }
    let mut codes = Vec::new();
    while let Some(c) = set.join_next().await {
        codes.push(c.unwrap());
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_group_rate_limit_under_a_burst() {
    // 2 messages a second per group: 40 at once cannot all pass in any plausible time.
    let emu = start(|c| {
        c.group_rate = 2;
        c.app_rate = 0;
    })
    .await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    emu.create_group_direct("quiet").unwrap();
    let answers = burst(&im, 40, "g").await;
    let limited = answers
        .iter()
        .filter(|&&c| c == codes::GROUP_FREQUENCY_LIMIT)
        .count() as u64;
    let ok = answers.iter().filter(|&&c| c == 0).count();
    assert!(limited > 0, "{answers:?}");
    assert_eq!(ok + limited as usize, answers.len(), "{answers:?}");
    assert_eq!(emu.history("g").len(), ok);
    // Another group has its own budget.
    assert_eq!(code(&im.send("quiet", 1, "x").await), 0);
    let stats = emu.stats();
    assert_eq!(stats.group_rate_limited, limited);
    assert_eq!(stats.frequency_errors, limited);
    assert_eq!(stats.answers_with(codes::GROUP_FREQUENCY_LIMIT), limited);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_app_rate_limit_under_a_burst() {
    let emu = start(|c| {
        c.app_rate = 2;
        c.group_rate = 0;
    })
    .await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    let answers = burst(&im, 40, "g").await;
    let limited = answers
        .iter()
        .filter(|&&c| c == codes::APP_FREQUENCY_LIMIT)
        .count() as u64;
    assert!(limited > 0, "{answers:?}");
    assert!(answers
        .iter()
        .all(|&c| c == 0 || c == codes::APP_FREQUENCY_LIMIT));
    // All commands count against the app's budget.
    let mut history_limited = false;
    for _ in 0..10 {
        history_limited |= code(&im.page("g", 20, None).await) == codes::APP_FREQUENCY_LIMIT;
    }
    assert!(history_limited);
    let stats = emu.stats();
    assert_eq!(
        stats.app_rate_limited,
        stats.answers_with(codes::APP_FREQUENCY_LIMIT)
    );
    assert_eq!(stats.frequency_errors, stats.app_rate_limited);
    assert!(
        stats.app_rate_limited > limited,
        "the history calls were limited too"
    );
}

#[tokio::test]
async fn fail_rate_answers_codes_from_the_list() {
    let emu = start(|c| {
        c.faults = FaultConfig {
            fail_rate: 1.0,
            fail_codes: vec![10002, 10006],
            ..FaultConfig::none()
        };
        c.group_rate = 0;
    })
    .await;
    let im = Im::new(&emu);
    // By default only send_group_msg is affected.
    assert_eq!(code(&im.create("g").await), 0);
    let mut seen = BTreeSet::new();
    for i in 0..40 {
        let v = im.send("g", i, "x").await;
        assert_eq!(v["ActionStatus"], "FAIL");
        seen.insert(code(&v));
    }
    assert_eq!(seen, BTreeSet::from([10002, 10006]));
    assert!(
        emu.history("g").is_empty(),
        "injected failures store nothing"
    );
    assert_eq!(emu.stats().injected_failures, 40);
    // Faults never mask the UserSig check.
    let app = APP.to_string();
    let v = im
        .call_with(
            SEND_GROUP_MSG,
            &[
                ("sdkappid", &app),
                ("identifier", ADMIN),
                ("usersig", "bad"),
            ],
            &send_body("g", 1, "x"),
        )
        .await;
    assert_eq!(code(&v), codes::USERSIG_MALFORMED);

    emu.set_faults(FaultConfig {
        fail_rate: 1.0,
        fail_codes: vec![10002],
        all_commands: true,
        ..FaultConfig::none()
    })
    .unwrap();
    assert_eq!(code(&im.create("h").await), 10002);
    assert_eq!(code(&im.page("g", 20, None).await), 10002);

    // Half the calls, roughly.
    emu.set_faults(FaultConfig {
        fail_rate: 0.5,
        fail_codes: vec![10002],
        ..FaultConfig::none()
    })
    .unwrap();
    let mut ok = 0;
    for i in 0..200 {
        ok += u32::from(code(&im.send("g", 1000 + i, "x").await) == 0);
    }
    assert!(
        (40..=160).contains(&ok),
        "{ok} of 200 passed at fail_rate 0.5"
    );
    assert_eq!(emu.history("g").len(), ok as usize);
}

#[tokio::test]
async fn http500_rate_answers_500_and_processes_nothing() {
    let emu = start(|c| {
        c.faults = FaultConfig {
            http500_rate: 1.0,
            ..FaultConfig::none()
        };
    })
    .await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    let app = APP.to_string();
    for i in 0..3 {
        let resp = im
            .http
            .post(im.url(SEND_GROUP_MSG))
            .query(&[
                ("sdkappid", app.as_str()),
                ("identifier", ADMIN),
                ("usersig", &im.sig),
            ])
            .json(&send_body("g", i, "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
    }
    assert!(emu.history("g").is_empty());
    assert_eq!(emu.stats().http500s, 3);
    // Other commands are untouched unless all_commands is set.
    assert_eq!(code(&im.page("g", 20, None).await), 0);
}

#[tokio::test]
async fn latency_delays_answers() {
    let emu = start(|c| {
        c.faults = FaultConfig {
            latency_ms: 300,
            latency_jitter_ms: 50,
            ..FaultConfig::none()
        };
    })
    .await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    let started = Instant::now();
    assert_eq!(code(&im.send("g", 1, "x").await), 0);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn lost_response_stores_the_message_but_the_client_errors() {
    let emu = start(|c| {
        c.faults = FaultConfig {
            lost_response_rate: 1.0,
            ..FaultConfig::none()
        };
    })
    .await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    let app = APP.to_string();
    let result = async {
        let resp = im
            .http
            .post(im.url(SEND_GROUP_MSG))
            .query(&[
                ("sdkappid", app.as_str()),
                ("identifier", ADMIN),
                ("usersig", &im.sig),
            ])
            .json(&send_body("g", 4242, "lost"))
            .send()
            .await?;
        resp.json::<Value>().await
    }
    .await;
    assert!(result.is_err(), "reqwest must see an error: {result:?}");
    let history = emu.history("g");
    assert_eq!(history.len(), 1, "the message IS stored");
    assert_eq!(history[0].msg_random, 4242);
    assert_eq!(emu.stats().lost_responses, 1);

    // The sender retries with the same Random and learns the original MsgSeq.
    emu.set_faults(FaultConfig::none()).unwrap();
    let v = im.send("g", 4242, "lost").await;
    assert_eq!(code(&v), 0);
    assert_eq!(seq(&v), 1);
    assert_eq!(emu.history("g").len(), 1);
    assert_eq!(emu.stats().duplicates_absorbed, 1);
}

#[tokio::test]
async fn control_endpoints() {
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    let http = &im.http;
    let base = &im.base;
    emu.create_group_direct("g").unwrap();

    let v: Value = http
        .get(format!("{base}/control/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["fail_rate"], 0.0);

    let resp = http
        .put(format!("{base}/control/faults"))
        .body(r#"{"fail_rate":1,"fail_codes":[10006]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["fail_codes"], json!([10006]));
    assert_eq!(emu.faults().fail_rate, 1.0);
    assert_eq!(code(&im.send("g", 1, "x").await), 10006);

    for bad in [
        r#"{"fail_rate":2}"#,
        r#"{"http500_rate":-0.1}"#,
        r#"{"fail_rate":0.5,"fail_codes":[]}"#,
        r#"{"no_such_knob":1}"#,
        "not json",
    ] {
        let resp = http
            .put(format!("{base}/control/faults"))
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        let v: Value = resp.json().await.unwrap();
        assert!(v["error"].is_string() && v["detail"].is_string(), "{v}");
    }
    assert_eq!(
        emu.faults().fail_codes,
        vec![10006],
        "refused PUTs change nothing"
    );

    let resp = http
        .put(format!("{base}/control/faults"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(emu.faults(), FaultConfig::none());
    assert_eq!(code(&im.send("g", 2, "x").await), 0);

    let stats: Value = http
        .get(format!("{base}/control/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["per_command"]["send_group_msg"], 2);
    assert_eq!(stats["per_error_code"]["10006"], 1);
    assert_eq!(stats["injected_failures"], 1);

    let before: Value = http
        .post(format!("{base}/control/reset-stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before["requests"], 2);
    assert_eq!(emu.stats(), Default::default());

    let resp = http
        .get(format!("{base}/control/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// `PUT /control/secret-key`: the old key's UserSigs are refused from then on, the new
/// key's accepted; a malformed body or an empty key changes nothing.
#[tokio::test]
async fn secret_key_rotation_refuses_the_old_key_and_accepts_the_new() {
    const NEW_KEY: &str = "emulator-rotated-key-1a2b3c4d5e6f7a8b9c0d1e2f3a4b";
    let emu = start(|_| {}).await;
    let im = Im::new(&emu);
    emu.create_group_direct("g").unwrap();
    assert_eq!(code(&im.send("g", 1, "x").await), 0);

    for bad in [r#"{"secret_key":""}"#, r#"{"key":"k"}"#, "not json"] {
        let resp = im
            .http
            .put(format!("{}/control/secret-key", im.base))
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        let text = resp.text().await.unwrap();
        assert!(text.contains("invalid secret key"), "{text}");
    }
    assert_eq!(
        code(&im.send("g", 2, "x").await),
        0,
        "refused PUTs change nothing"
    );

    let resp = im
        .http
        .put(format!("{}/control/secret-key", im.base))
        .body(format!(r#"{{"secret_key":"{NEW_KEY}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(
        !resp.text().await.unwrap().contains(NEW_KEY),
        "the key is not echoed"
    );
    assert_eq!(
        code(&im.send("g", 3, "x").await),
        codes::USERSIG_BAD_SIGNATURE,
        "the old key's UserSig is refused"
    );
    let rotated = Im {
        sig: usersig::generate(APP, ADMIN, NEW_KEY, now(), 86_400),
        ..im.clone()
    };
    assert_eq!(code(&rotated.send("g", 4, "x").await), 0);
    assert!(
        usersig::verify(&emu.admin_usersig(60), APP, ADMIN, NEW_KEY, now()).is_ok(),
        "the emulator's own admin UserSig is made with the new key"
    );
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let emu = start(|_| {}).await;
    let base = emu.base_url();
    let im = Im::new(&emu);
    assert_eq!(code(&im.create("g").await), 0);
    emu.shutdown().await.unwrap();
    let fresh = reqwest::Client::new();
    assert!(fresh
        .get(format!("{base}/control/stats"))
        .send()
        .await
        .is_err());
}

#[test]
fn debug_output_hides_the_secret_key() {
    let config = EmulatorConfig::new(APP, KEY);
    assert!(!format!("{config:?}").contains(KEY));
}

#[cfg(unix)]
#[test]
fn the_binary_serves_until_sigterm() {
    use std::io::Read as _;

    let mut emu = util::process::spawn_emulator(
        APP,
        KEY,
        &["--group-rate", "10", "--fail-codes", "10002,10006"],
    );
    assert!(!emu.first_line.contains(KEY));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let im = Im {
            http: reqwest::Client::new(),
            base: emu.base.clone(),
            sig: admin_sig(),
        };
        assert_eq!(code(&im.create("replay_class_1").await), 0);
        let v = im
            .send("replay_class_1", 2_784_275_388, "{\"type\":1001}")
            .await;
        assert_eq!(code(&v), 0, "{v}");
        assert_eq!(seq(&v), 1);
    });

    let status = util::process::sigterm_and_wait(&mut emu.child, Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    let rest = emu.rest.take().unwrap().join().unwrap().join("\n");
    let mut stderr = String::new();
    emu.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!rest.contains(KEY) && !stderr.contains(KEY));
}

/// Bodies that look like the real ones, with any field missing or of any type.
fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(Value::from),
        Just(json!("fuzz_group")),
        Just(json!(u32::MAX)),
        Just(json!(-1)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[A-Za-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn im_body() -> impl Strategy<Value = Vec<u8>> {
    let field = |name: &'static str, good: Value| {
        prop::option::of(prop_oneof![3 => Just(good), 1 => json_value()])
            .prop_map(move |v| (name, v))
    };
    let elem = prop_oneof![
        Just(json!({"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{}"}})),
        Just(json!({"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}})),
        json_value().prop_map(|c| json!({"MsgType": "TIMCustomElem", "MsgContent": c})),
        json_value(),
    ];
    let structured = (
        field("GroupId", json!("fuzz_group")),
        prop::option::of(any::<u32>().prop_map(Value::from)).prop_map(|v| ("Random", v)),
        prop::option::of(prop::collection::vec(elem, 0..3).prop_map(Value::from))
            .prop_map(|v| ("MsgBody", v)),
        field("From_Account", json!("administrator")),
        field("MsgPriority", json!("High")),
        field("OnlineOnlyFlag", json!(1)),
        field("ReqMsgNumber", json!(20)),
        field("ReqMsgSeq", json!(3)),
        field("Type", json!("Public")),
        field("Name", json!("n")),
    )
        .prop_map(|(a, b, c, d, e, f, g, h, i, j)| {
            let mut obj = serde_json::Map::new();
            for (name, v) in [a, b, c, d, e, f, g, h, i, j] {
                if let Some(v) = v {
                    obj.insert(name.to_owned(), v);
                }
            }
            serde_json::to_vec(&Value::Object(obj)).unwrap()
        });
    prop_oneof![
        4 => structured,
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => "\\PC{0,200}".prop_map(String::into_bytes),
    ]
}

#[test]
fn arbitrary_requests_never_crash_and_get_well_formed_json() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(start(|c| {
        c.app_rate = 0;
        c.group_rate = 0;
    }));
    emu.create_group_direct("fuzz_group").unwrap();
    let http = reqwest::Client::new();
    let base = emu.base_url();
    let sig = admin_sig();
    let path = prop_oneof![
        Just(SEND_GROUP_MSG.to_owned()),
        Just(GROUP_MSG_GET_SIMPLE.to_owned()),
        Just(CREATE_GROUP.to_owned()),
        Just(DESTROY_GROUP.to_owned()),
        "[a-z_/%.]{0,40}",
    ];
    // Either a valid admin query (so bodies reach the commands) or any query string.
    let query = prop_oneof![
        2 => Just(None),
        1 => "[ -~]{0,120}".prop_map(Some),
        1 => (
            prop::option::of("[0-9a-z]{0,12}"),
            prop::option::of("[a-z%]{0,12}"),
            prop::option::of("[A-Za-z0-9*_-]{0,80}"),
        )
            .prop_map(|(a, i, s)| {
                let mut q = Vec::new();
                if let Some(a) = a {
                    q.push(format!("sdkappid={a}"));
                }
                if let Some(i) = i {
                    q.push(format!("identifier={i}"));
                }
                if let Some(s) = s {
                    q.push(format!("usersig={s}"));
                }
                Some(q.join("&"))
            }),
    ];
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&(path, query, im_body()), |(path, query, body)| {
            let query = query.unwrap_or_else(|| {
                format!("sdkappid={APP}&identifier={ADMIN}&usersig={sig}&random=1&contenttype=json")
            });
            let Ok(url) = reqwest::Url::parse(&format!("{base}/v4/{path}?{query}")) else {
                return Ok(());
            };
            let (status, text) = rt.block_on(async {
                let resp = http
                    .post(url)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
                let status = resp.status();
                let text = resp
                    .text()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("body: {e}")))?;
                Ok::<_, TestCaseError>((status, text))
            })?;
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {text}")))?;
            prop_assert!(status == 200 || status == 404, "{status}: {text}");
            prop_assert!(
                v["ActionStatus"] == "OK" || v["ActionStatus"] == "FAIL",
                "{text}"
            );
            let code = v["ErrorCode"].as_i64();
            prop_assert!(code.is_some(), "{text}");
            prop_assert_eq!(v["ActionStatus"] == "OK", code == Some(0), "{}", text);
            prop_assert!(v["ErrorInfo"].is_string(), "{text}");
            Ok(())
        })
        .unwrap();
    // Still serving normally afterwards.
    let stats = emu.stats();
    assert!(stats.requests >= 400, "{stats:?}");
    assert!(
        stats.answers_with(0) > 0,
        "some fuzzed calls succeeded: {stats:?}"
    );
}
