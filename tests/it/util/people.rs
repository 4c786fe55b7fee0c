//! People for the sign-in tests: a person added with a role, their password set with the
//! setup code over HTTP, an API token; signing in; requests with the session cookie.
#![allow(dead_code)]

use super::server::TestServer;
use replaydesk::service::api::Role;
use replaydesk::service::people::{AddUser, CreateToken, People};
use replaydesk::service::{Actor, Door};
use reqwest::Method;
use serde_json::{json, Value};

pub const PASSWORD: &str = "a long enough password";

/// A person signed in: the session cookie's value and its CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub fn cli_actor() -> Actor {
    Actor::new("test", Door::Cli)
}

/// Adds `name` with `role` through the library, sets their password through
/// `POST /v1/auth/setup` with the setup code, and makes them an API token.
pub async fn person(s: &TestServer, name: &str, role: Role) -> String {
    let people = People::new(s.store());
    let added = people
        .add_user(
            AddUser {
                name: name.into(),
                role,
            },
            &cli_actor(),
        )
        .await
        .unwrap();
    let (st, v) = s
        .post(
            "/v1/auth/setup",
            None,
            &json!({"name": name, "code": added.setup_code, "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, 204, "{v}");
    people
        .create_token(
            CreateToken {
                user: name.into(),
                name: "matrix".into(),
                role: None,
                expires: None,
            },
            &cli_actor(),
        )
        .await
        .unwrap()
        .token
}

pub async fn sign_in(s: &TestServer, name: &str, password: &str) -> Result<Session, (u16, Value)> {
    let res = s
        .http
        .post(format!("{}/v1/auth/sign-in", s.base))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status != 200 {
        return Err((status, body));
    }
    let set_cookie = set_cookie.expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Ok(Session {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    })
}

/// A request with the session cookie, with or without its CSRF header.
pub async fn with_session(
    s: &TestServer,
    method: Method,
    path: &str,
    session: &Session,
    csrf: bool,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = s
        .http
        .request(method, format!("{}{path}", s.base))
        .header("cookie", &session.cookie);
    if csrf {
        req = req.header("x-replaydesk-csrf", &session.csrf);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
