//! Requests the HTTP API must refuse: the cases are data (`bad_requests.toml` beside this
//! file: method, path, credential, body, and the status, error code and detail that must
//! come back); one test runs them all against one server and reports every failing case
//! by name, then checks that none of them changed anything.

use crate::util::server::*;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/bad_requests.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

/// One bad request: what is sent and what must come back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    method: String,
    path: String,
    /// `none`, `admin`, `report:<class>` or `literal:<token>`.
    credential: String,
    body: Option<String>,
    repeat: Option<Repeat>,
    content_type: Option<String>,
    status: u16,
    error: String,
    detail_has: String,
}

/// `text` written `times` times, standing for `{repeat}` in the body (a body too long to
/// write out).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    text: String,
    times: usize,
}

fn load_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(CASES).unwrap_or_else(|e| panic!("{CASES}: {e}"));
    let cases: Cases = toml::from_str(&text).unwrap_or_else(|e| panic!("{CASES}: {e}"));
    let mut names = std::collections::HashSet::new();
    for c in &cases.case {
        assert!(
            names.insert(&c.name),
            "{CASES}: two cases named {:?}",
            c.name
        );
    }
    cases.case
}

impl Case {
    fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes())
            .unwrap_or_else(|e| panic!("case {:?}: method {:?}: {e}", self.name, self.method))
    }

    fn token(&self, report_tokens: &HashMap<&str, String>) -> Option<String> {
        match self.credential.split_once(':') {
            None if self.credential == "none" => None,
            None if self.credential == "admin" => Some(ADMIN.to_owned()),
            Some(("report", class)) => Some(
                report_tokens
                    .get(class)
                    .unwrap_or_else(|| panic!("case {:?}: no class {class:?}", self.name))
                    .clone(),
            ),
            Some(("literal", token)) => Some(token.to_owned()),
            _ => panic!(
                "case {:?}: credential {:?} is none of none, admin, report:<class>, literal:<token>",
                self.name, self.credential
            ),
        }
    }

    fn body(&self) -> Option<String> {
        let body = self.body.as_ref()?;
        Some(match &self.repeat {
            Some(r) => body.replace("{repeat}", &r.text.repeat(r.times)),
            None => body.clone(),
        })
    }

    /// What is wrong with the answer, if anything.
    async fn check(&self, t: &TestServer, report_tokens: &HashMap<&str, String>) -> Vec<String> {
        let mut req = t
            .http
            .request(self.method(), format!("{}{}", t.base, self.path));
        if let Some(tok) = self.token(report_tokens) {
            req = req.bearer_auth(tok);
        }
        if let Some(b) = self.body() {
            let ct = self.content_type.as_deref().unwrap_or("application/json");
            req = req.header("content-type", ct).body(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = res.text().await.unwrap();
        let mut wrong = Vec::new();
        if status != self.status {
            wrong.push(format!("status {status}, expected {}: {text}", self.status));
            return wrong;
        }
        if !ct.starts_with("application/json") {
            wrong.push(format!("content type {ct:?}"));
        }
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            wrong.push(format!("not JSON: {text}"));
            return wrong;
        };
        if v.as_object().map(|o| o.len()) != Some(2) {
            wrong.push(format!("not exactly error and detail: {text}"));
        }
        if v["error"] != self.error.as_str() {
            wrong.push(format!("error {}, expected {:?}", v["error"], self.error));
        }
        let detail = v["detail"].as_str().unwrap_or_default();
        if !detail.contains(&self.detail_has) {
            wrong.push(format!("detail {detail:?} lacks {:?}", self.detail_has));
        }
        wrong
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_json_error_naming_the_problem_and_changes_nothing() {
    let cases = load_cases();
    let mut t = TestServer::start(|c| c.max_body_bytes = 4096).await;
    let token = t.create_class("c1", "g1", "teacher_li", false).await;
    let other = t.create_class("c2", "g2", "teacher_zhao", false).await;
    let report_tokens = HashMap::from([("c1", token.clone()), ("c2", other)]);
    // A message that exists, so that "unchanged" is about something.
    let (s, _) = t
        .report("c1", &token, &json!({"uid": "teacher_li", "timestamp": 1}))
        .await;
    assert_eq!(s, 202);

    let messages_before = t.message_count().await;
    let emu = t.desk.sandbox_emulator().unwrap().clone();
    wait_until(Duration::from_secs(10), "the first message sent", || {
        let emu = emu.clone();
        async move { emu.history("g1").len() == 1 }
    })
    .await;
    let history_before = emu.history("g1").len();
    let jobs_before = t
        .admin_get("/v1/admin/jobs")
        .await
        .as_array()
        .unwrap()
        .len();
    // Every case runs, and every failing case is reported by name (one failed case does not
    // hide the others).
    let mut failures: Vec<String> = Vec::new();
    for c in &cases {
        for why in c.check(&t, &report_tokens).await {
            failures.push(format!(
                "case {:?} ({} {}): {why}",
                c.name, c.method, c.path
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases in {CASES} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        t.message_count().await,
        messages_before,
        "no message stored"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(emu.history("g1").len(), history_before, "nothing sent");
    assert_eq!(
        t.admin_get("/v1/admin/jobs")
            .await
            .as_array()
            .unwrap()
            .len(),
        jobs_before,
        "no job started"
    );
    let classes = t.admin_get("/v1/admin/classes").await;
    assert_eq!(classes.as_array().unwrap().len(), 2, "no class created");

    // Refused reports from clients with the class's token are kept, with the reason.
    let reports = t.admin_get("/v1/admin/classes/c1/reports?limit=1000").await;
    let refused: Vec<&Value> = reports["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["accepted"] == false)
        .collect();
    assert!(refused.iter().any(|r| r["refusal_reason"]
        .as_str()
        .unwrap()
        .starts_with("uid: longer than 128")));
    assert!(refused
        .iter()
        .any(|r| r["refusal_reason"].as_str().unwrap().starts_with("rtt_ms:")));
    assert!(refused.iter().all(|r| r["message_id"].is_null()));
    t.stop().await;
}
