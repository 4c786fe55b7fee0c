//! The HTTP edges an attacker reaches first (issue 27, item 11), over real TCP to the
//! server in process: security headers on every answer, hyper's own refusals (a request it
//! cannot parse) as JSON like every other error, and the reporting routes answering a
//! request without a valid credential before reading its body.

use crate::util::server::*;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far longer than any answer here takes: a server that waits for a body it was promised
/// would still be waiting when [`ANSWER_WITHIN`] ends.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(600);
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

async fn server() -> TestServer {
    TestServer::start(|c| {
        c.http.body_read_timeout = BODY_READ_TIMEOUT;
        // The console's files, to see the headers on them too.
        let ui = c.db.parent().unwrap().join("ui");
        std::fs::create_dir_all(&ui).unwrap();
        std::fs::write(
            ui.join("index.html"),
            "<!doctype html><title>console</title>",
        )
        .unwrap();
        c.ui_dir = ui;
    })
    .await
}

/// Writes `request` as is, then reads the answer until the server closes the connection
/// or sends a whole answer; returns the status, the head's lines and the body.
async fn raw(t: &TestServer, request: &[u8]) -> (u16, Vec<String>, String) {
    let mut s = TcpStream::connect(t.base.trim_start_matches("http://"))
        .await
        .unwrap();
    s.write_all(request).await.unwrap();
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 8192];
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                });
                if len.is_some_and(|len| body.len() >= len) {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(ANSWER_WITHIN, read)
        .await
        .expect("an answer without sending the body");
    let text = String::from_utf8_lossy(&got).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let lines: Vec<String> = head.lines().map(str::to_owned).collect();
    let status = lines
        .first()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, lines, body.to_owned())
}

fn header<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn assert_json_error(status: u16, lines: &[String], body: &str, want: u16, what: &str) {
    assert_eq!(status, want, "{what}: {lines:?} {body}");
    assert_eq!(
        header(lines, "content-type"),
        Some("application/json"),
        "{what}: {lines:?}"
    );
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body:?}"));
    assert!(
        v["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: {v}"
    );
    assert!(
        v["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_and_api_answers_are_not_cached() {
    let mut t = server().await;
    let created = t
        .http
        .post(format!("{}/v1/classes", t.base))
        .bearer_auth(ADMIN)
        .json(&json!({"class_id": "c1", "group_id": "g1", "teacher_uid": "teacher_li", "create_group": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut answers = vec![("class created (a credential)", true, created)];
    for (what, path, api) in [
        ("server time", "/v1/time", true),
        ("health", "/healthz", true),
        ("metrics", "/metrics", true),
        ("an unknown API path", "/v1/nothing-here", true),
        ("refused admin call", "/v1/admin/classes", true),
        ("the console", "/", false),
    ] {
        let res = t
            .http
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap();
        answers.push((what, api, res));
    }
    for (what, api, res) in answers {
        let h = res.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        if api {
            assert_eq!(h["cache-control"], "no-store", "{what}");
        }
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_hyper_cannot_parse_is_answered_in_json() {
    let mut t = server().await;
    let (s, lines, body) = raw(&t, b"NOT A REQUEST\x01\r\n\r\n").await;
    assert_json_error(s, &lines, &body, 400, "a malformed request line");
    let (s, lines, body) = raw(
        &t,
        b"GET /v1/time HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    )
    .await;
    assert_json_error(s, &lines, &body, 400, "a malformed header");
    let mut many = String::from("GET /v1/time HTTP/1.1\r\nHost: x\r\n");
    for i in 0..300 {
        many.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    let (s, lines, body) = raw(&t, many.as_bytes()).await;
    assert_json_error(s, &lines, &body, 431, "too many headers");
    assert_eq!(header(&lines, "x-content-type-options"), Some("nosniff"));
    // A well-formed request on a fresh connection is answered as always.
    let (s, _, body) = raw(
        &t,
        b"GET /v1/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(s, 200, "{body}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_without_a_valid_credential_is_refused_before_its_body_is_read() {
    let mut t = server().await;
    t.create_class("c1", "g1", "teacher_li", true).await;
    for path in ["timeline", "start", "end"] {
        for auth in ["", "Authorization: Bearer not-a-credential\r\n"] {
            // A body promised (as large as a report may be) and never sent.
            let promised = replaydesk::service::REPORT_MAX_BODY_BYTES;
            let request = format!(
                "POST /v1/classes/c1/{path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}Content-Length: {promised}\r\n\r\n"
            );
            let (s, lines, body) = raw(&t, request.as_bytes()).await;
            assert_json_error(s, &lines, &body, 401, &format!("{path} {auth:?}"));
        }
    }
    // With a credential the body is read as before.
    let token = t.create_class("c2", "g2", "teacher_li", true).await;
    let (s, v) = t
        .report("c2", &token, &json!({"uid": "teacher_li", "timestamp": 1}))
        .await;
    assert_eq!(s, 202, "{v}");
    t.stop().await;
}
