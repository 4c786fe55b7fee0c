//! Shared set-up for the server tests: `ReplayDesk` served in process on 127.0.0.1:0 with
//! a SQLite file in a temporary directory, and a reqwest client talking real HTTP to it.
#![allow(dead_code)]

use replaydesk::config::Config;
use replaydesk::protocol::{classify, HistoryItem};
use replaydesk::secret::Secret;
use replaydesk::server::{self, ServerHandle};
use replaydesk::service::ReplayDesk;
use replaydesk::store::{MessageFilter, Store};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

pub use super::wait_until;

pub const ADMIN: &str = "test-admin-token-0123456789";

pub struct TestServer {
    pub server: Option<ServerHandle>,
    pub dir: tempfile::TempDir,
    pub base: String,
    pub http: reqwest::Client,
    pub desk: ReplayDesk,
}

/// A configuration for tests: admin token [`ADMIN`], a database in `dir`, quick retries.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        db: dir.join("replaydesk.db"),
        admin_token: Some(Secret::new(ADMIN)),
        ui_dir: dir.join("ui-missing"),
        shutdown_grace_secs: 5,
        ..Config::default()
    };
    c.delivery.retry_schedule = Some("50ms,100ms,200ms,300ms".into());
    c
}

impl TestServer {
    /// Sandbox mode unless `tune` sets an IM endpoint.
    pub async fn start(tune: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), tune).await
    }

    /// As [`TestServer::start`], on the database already in `dir` (a restart).
    pub async fn start_in(dir: tempfile::TempDir, tune: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(dir.path());
        tune(&mut config);
        let desk = ReplayDesk::start(config).await.expect("service starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = server::spawn(desk.clone(), listener).unwrap();
        let base = server.base_url();
        Self {
            server: Some(server),
            dir,
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            desk,
        }
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    pub fn store(&self) -> &Store {
        self.desk.store()
    }

    /// Sends a request; returns the status, the content type and the body (JSON if it
    /// parses, else a JSON string of the text).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request answered");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Creates class `class_id` with the defaults (group `g_<class_id>`, per-member
    /// credentials only, no open enrolment); returns the 201 answer (the teacher's
    /// credential among it).
    pub async fn create_default_class(&self, class_id: &str, teacher: &str) -> Value {
        let body = json!({"class_id": class_id, "group_id": format!("g_{class_id}"), "teacher_uid": teacher});
        let (s, v) = self.post("/v1/classes", Some(ADMIN), &body).await;
        assert_eq!(s, 201, "{v}");
        v
    }

    /// Issues `uid` a new credential in `class_id` (which replaces any earlier one);
    /// returns the 200 answer.
    pub async fn issue_credential(&self, class_id: &str, uid: &str) -> Value {
        let path = format!("/v1/admin/classes/{class_id}/members/{uid}/credential");
        let (s, v) = self.post(&path, Some(ADMIN), &json!({})).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let (s, v) = self.get(path, Some(ADMIN)).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// Creates a class with the legacy class-wide token and open enrolment (the suites
    /// about validation and delivery post as many uids); returns that token. The
    /// per-member credentials are exercised by the `security` tests.
    pub async fn create_class(
        &self,
        class_id: &str,
        group_id: &str,
        teacher: &str,
        create_group: bool,
    ) -> String {
        let (s, v) = self
            .post(
                "/v1/classes",
                Some(ADMIN),
                &json!({"class_id": class_id, "group_id": group_id, "teacher_uid": teacher, "create_group": create_group, "legacy_class_token": true, "open_enrolment": true}),
            )
            .await;
        assert_eq!(s, 201, "create class {class_id}: {v}");
        v["report_token"].as_str().expect("report_token").to_owned()
    }

    pub async fn report(&self, class_id: &str, token: &str, body: &Value) -> (u16, Value) {
        self.post(
            &format!("/v1/classes/{class_id}/timeline"),
            Some(token),
            body,
        )
        .await
    }

    pub async fn message_count(&self) -> i64 {
        self.store()
            .count_messages(&MessageFilter::default())
            .await
            .unwrap()
    }
}

/// The `Data` texts of the protocol messages in a group's history, oldest first.
pub fn history_data(history: &[replaydesk::im::wire::HistoryMsg]) -> Vec<String> {
    history
        .iter()
        .filter(|m| matches!(classify(m), HistoryItem::Protocol(_)))
        .filter_map(|m| {
            m.msg_body
                .iter()
                .find_map(|e| e.custom_elem())
                .map(|c| c.data)
        })
        .collect()
}

pub fn now_ms() -> i64 {
    replaydesk::clock::unix_ms_now()
}
