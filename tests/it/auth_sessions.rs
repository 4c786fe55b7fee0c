//! Console sessions (issue 23): refused after sign-out, a password change, a disabled
//! person and without the CSRF header; idle and absolute ends; the sign-in throttle; the
//! cookie's `Secure` through a trusted TLS proxy; several nodes on one PostgreSQL honouring
//! each other's sessions and revocations; and no secret in the log of a real `serve`.

use crate::util::people::{person, sign_in, with_session, Session, PASSWORD};
use crate::util::server::{TestServer, ADMIN};
use replaydesk::service::api::Role;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn auth_a_session_is_refused_after_sign_out_a_password_change_and_without_csrf() {
    let s = TestServer::start(|_| {}).await;
    s.create_default_class("room1", "teacher").await;
    person(&s, "ada", Role::Admin).await;
    let a = sign_in(&s, "ada", PASSWORD).await.unwrap();
    let reopen = "/v1/admin/classes/room1/reopen";
    // Without the CSRF header (or with a wrong one) a change is refused, before anything.
    let (st, v) = with_session(&s, Method::POST, reopen, &a, false, None).await;
    assert_eq!(st, 403, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("X-ReplayDesk-CSRF"),
        "{v}"
    );
    let wrong = Session {
        cookie: a.cookie.clone(),
        csrf: "0".repeat(64),
    };
    assert_eq!(
        with_session(&s, Method::POST, reopen, &wrong, true, None)
            .await
            .0,
        403
    );
    // With it, the request goes through (409: the class has not ended; not refused).
    assert_eq!(
        with_session(&s, Method::POST, reopen, &a, true, None)
            .await
            .0,
        409
    );
    // A read needs no CSRF header.
    assert_eq!(
        with_session(&s, Method::GET, "/v1/admin/classes", &a, false, None)
            .await
            .0,
        200
    );

    // Sign-out ends it.
    let (st, _) = with_session(&s, Method::POST, "/v1/auth/sign-out", &a, true, None).await;
    assert_eq!(st, 204);
    assert_eq!(
        with_session(&s, Method::GET, "/v1/admin/classes", &a, false, None)
            .await
            .0,
        401
    );

    // A password change (a reset, then a new password) ends every session.
    let b = sign_in(&s, "ada", PASSWORD).await.unwrap();
    let c = sign_in(&s, "ada", PASSWORD).await.unwrap();
    let (st, reset) = s
        .post(
            "/v1/admin/users/ada/reset-password",
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(st, 200, "{reset}");
    for sess in [&b, &c] {
        assert_eq!(
            with_session(&s, Method::GET, "/v1/auth/me", sess, false, None)
                .await
                .0,
            401
        );
    }
    assert_eq!(
        sign_in(&s, "ada", PASSWORD).await.err().unwrap().0,
        401,
        "old password"
    );
    let code = reset["setup_code"].as_str().unwrap();
    let (st, _) = s
        .post(
            "/v1/auth/setup",
            None,
            &json!({"name": "ada", "code": code, "password": "another long password"}),
        )
        .await;
    assert_eq!(st, 204);
    let d = sign_in(&s, "ada", "another long password").await.unwrap();
    assert_eq!(
        with_session(&s, Method::GET, "/v1/auth/me", &d, false, None)
            .await
            .0,
        200
    );

    // Disabling ends sessions too, and the disabled person cannot sign in.
    let (st, _) = s
        .post("/v1/admin/users/ada/disable", Some(ADMIN), &json!({}))
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        with_session(&s, Method::GET, "/v1/auth/me", &d, false, None)
            .await
            .0,
        401
    );
    assert_eq!(
        sign_in(&s, "ada", "another long password")
            .await
            .err()
            .unwrap()
            .0,
        401
    );
}

#[tokio::test]
async fn auth_sessions_end_when_idle_and_at_their_absolute_end() {
    let s = TestServer::start(|c| {
        c.sessions.idle = std::time::Duration::from_millis(700);
        c.sessions.max = std::time::Duration::from_millis(1500);
    })
    .await;
    person(&s, "ada", Role::Admin).await;
    let a = sign_in(&s, "ada", PASSWORD).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    assert_eq!(
        with_session(&s, Method::GET, "/v1/auth/me", &a, false, None)
            .await
            .0,
        401,
        "idle"
    );
    let b = sign_in(&s, "ada", PASSWORD).await.unwrap();
    let t0 = std::time::Instant::now();
    // Kept busy, it still ends at its absolute end. (The idle clock is only written once
    // a minute, so a short idle limit also ends a busy session: both ends are checked.)
    while t0.elapsed() < std::time::Duration::from_millis(1600) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        with_session(&s, Method::GET, "/v1/auth/me", &b, false, None)
            .await
            .0,
        401,
        "max"
    );
}

#[tokio::test]
async fn auth_ten_wrong_passwords_slow_the_next_tries_without_saying_which_part_was_wrong() {
    let s = TestServer::start(|_| {}).await;
    person(&s, "ada", Role::Admin).await;
    let (st, wrong_pw) = sign_in(&s, "ada", "not the password").await.err().unwrap();
    let (st2, wrong_name) = sign_in(&s, "nobody", PASSWORD).await.err().unwrap();
    assert_eq!((st, st2), (401, 401));
    assert_eq!(wrong_pw, wrong_name, "one refusal whichever part was wrong");
    // Ten wrong passwords in a row: the first five are checked, from the sixth on a try
    // is refused before any check until the account's wait is over.
    let mut statuses = Vec::new();
    for _ in 0..9 {
        statuses.push(
            sign_in(&s, "ada", "not the password")
                .await
                .err()
                .unwrap()
                .0,
        );
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429, 429, 429, 429]);
    let right = || async {
        s.http
            .post(format!("{}/v1/auth/sign-in", s.base))
            .json(&json!({"name": "ada", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
    };
    // Now even the right password waits.
    let res = right().await;
    assert_eq!(res.status().as_u16(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Each wrong password past the wait doubles the next wait.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        sign_in(&s, "ada", "not the password")
            .await
            .err()
            .unwrap()
            .0,
        401
    );
    let res = right().await;
    assert_eq!(res.status().as_u16(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3..=4).contains(&retry), "{retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(
        !body["detail"].as_str().unwrap().contains("password"),
        "{body}"
    );
    // A name that is no user is slowed down the same way (the throttle tells no names).
    for _ in 0..10 {
        let _ = sign_in(&s, "nobody", "x x x x x x x x").await;
    }
    assert_eq!(sign_in(&s, "nobody", PASSWORD).await.err().unwrap().0, 429);
}

#[tokio::test]
async fn auth_the_session_cookie_is_secure_over_tls_through_a_trusted_proxy() {
    let s =
        TestServer::start(|c| c.http.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    person(&s, "ada", Role::Admin).await;
    let res = s
        .http
        .post(format!("{}/v1/auth/sign-in", s.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({"name": "ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Plain HTTP (no proxy saying otherwise): not Secure, or the browser would drop it.
    let plain = sign_in(&s, "ada", PASSWORD).await;
    assert!(plain.is_ok());
}

/// Two nodes on one PostgreSQL: a session made on one works on the other; a sign-out, a
/// revocation or a disabled person made on one is refused by the other at once.
#[tokio::test]
async fn auth_several_nodes_on_postgres_honour_each_others_sessions_and_revocations() {
    let Some(db) = crate::util::engines::postgres("auth_nodes").await else {
        return;
    };
    let url = db.db();
    let a = TestServer::start(|c| c.db = url.clone()).await;
    let b = TestServer::start(|c| c.db = url.clone()).await;
    let token = person(&a, "ada", Role::Admin).await;
    person(&a, "sam", Role::Support).await;
    let session = sign_in(&a, "ada", PASSWORD).await.unwrap();
    // Made on A, used on B (the same cookie and CSRF token).
    let (st, me) = with_session(&b, Method::GET, "/v1/auth/me", &session, false, None).await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["name"], "ada");
    b.create_default_class("room1", "teacher").await;
    let (st, _) = with_session(
        &b,
        Method::POST,
        "/v1/admin/classes/room1/reopen",
        &session,
        true,
        None,
    )
    .await;
    assert_eq!(st, 409, "past the CSRF and role checks on B");
    assert_eq!(b.get("/v1/admin/classes", Some(&token)).await.0, 200);
    // Signed out on B: refused on A.
    let (st, _) = with_session(&b, Method::POST, "/v1/auth/sign-out", &session, true, None).await;
    assert_eq!(st, 204);
    assert_eq!(
        with_session(&a, Method::GET, "/v1/auth/me", &session, false, None)
            .await
            .0,
        401
    );
    // A token revoked on A: refused on B at once.
    let (_, list) = a.get("/v1/admin/tokens?user=ada", Some(ADMIN)).await;
    let id = list[0]["id"].as_i64().unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(
        a.post(
            &format!("/v1/admin/tokens/{id}/revoke"),
            Some(ADMIN),
            &json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(b.get("/v1/admin/classes", Some(&token)).await.0, 401);
    assert!(t0.elapsed() < std::time::Duration::from_secs(1));
    // A person disabled on B: their session on A ends.
    let sam = sign_in(&a, "sam", PASSWORD).await.unwrap();
    assert_eq!(
        b.post("/v1/admin/users/sam/disable", Some(ADMIN), &json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        with_session(&a, Method::GET, "/v1/auth/me", &sam, false, None)
            .await
            .0,
        401
    );
    let (mut a, mut b) = (a, b);
    a.stop().await;
    b.stop().await;
}

/// `replaydesk serve` as a real process logging at trace: adding a person, their setup,
/// sign-in, an API token and its use leave no password, code, token or session id in the
/// log.
#[cfg(unix)]
#[test]
fn auth_no_password_code_token_or_session_in_the_log() {
    use crate::util::process::{sigterm_and_wait, ServeCommand};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    let mut served = ServeCommand::new(dir.path(), &db)
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN)
        .env(
            "RUST_LOG",
            "debug,replaydesk=trace,replaydesk_server=trace,replaydesk_service=trace",
        )
        .keep_log()
        .spawn();
    let base = served.base.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let secrets = rt.block_on(async {
        let http = reqwest::Client::new();
        let post = |path: &str, token: Option<&str>, body: Value| {
            let mut r = http.post(format!("{base}{path}")).json(&body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send()
        };
        let added: Value = post(
            "/v1/admin/users",
            Some(ADMIN),
            json!({"name": "ada", "role": "admin"}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let code = added["setup_code"].as_str().unwrap().to_owned();
        let res = post(
            "/v1/auth/setup",
            None,
            json!({"name": "ada", "code": code, "password": PASSWORD}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 204);
        // A wrong password too (its refusal is logged, never the password).
        let _ = post(
            "/v1/auth/sign-in",
            None,
            json!({"name": "ada", "password": "wrong password 1"}),
        )
        .await
        .unwrap();
        let res = post(
            "/v1/auth/sign-in",
            None,
            json!({"name": "ada", "password": PASSWORD}),
        )
        .await
        .unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        let session = cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_owned();
        let made: Value = post(
            "/v1/admin/tokens",
            Some(ADMIN),
            json!({"user": "ada", "name": "ci"}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let token = made["token"].as_str().unwrap().to_owned();
        let res = http
            .get(format!("{base}/v1/admin/classes"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = http
            .get(format!("{base}/v1/admin/classes"))
            .header("cookie", format!("replaydesk_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        vec![
            PASSWORD.to_owned(),
            "wrong password 1".to_owned(),
            code,
            token,
            session,
        ]
    });
    assert!(sigterm_and_wait(&mut served.child, std::time::Duration::from_secs(30)).success());
    let log = served.log_text();
    assert!(
        log.contains("/v1/auth/sign-in"),
        "logged at debug: {}",
        &log[..log.len().min(2000)]
    );
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "a secret is in the log");
    }
}

/// A cross-site HTML form can post `text/plain` that reads as JSON; sign-in and setup take
/// `application/json` only (which a form cannot send without a preflight), so no other
/// site can sign a browser in to an account of its choosing.
#[tokio::test]
async fn auth_sign_in_takes_json_only_so_a_cross_site_form_cannot_sign_anyone_in() {
    let s = TestServer::start(|_| {}).await;
    person(&s, "ada", Role::Admin).await;
    for (path, body) in [
        (
            "/v1/auth/sign-in",
            format!(r#"{{"name":"ada","password":"{PASSWORD}"}}"#),
        ),
        (
            "/v1/auth/setup",
            r#"{"name":"ada","code":"x","password":"0123456789ab"}"#.to_owned(),
        ),
    ] {
        for ct in ["text/plain", "application/x-www-form-urlencoded"] {
            let res = s
                .http
                .post(format!("{}{path}", s.base))
                .header("content-type", ct)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 415, "{path} as {ct}");
            assert!(res.headers().get("set-cookie").is_none());
        }
    }
    assert!(
        sign_in(&s, "ada", PASSWORD).await.is_ok(),
        "as application/json"
    );
}

/// A signed-in person changes their own password: only with their session and its CSRF
/// header, only by proving the current password (a wrong one counts against the account),
/// never with a token; then every session of theirs has ended, the old password is
/// refused, the new one signs in, and the audit log names them.
#[tokio::test]
async fn auth_a_person_changes_their_own_password_and_every_session_ends() {
    let s = TestServer::start(|_| {}).await;
    let token = person(&s, "sam", Role::Support).await;
    let a = sign_in(&s, "sam", PASSWORD).await.unwrap();
    let other = sign_in(&s, "sam", PASSWORD).await.unwrap();
    let path = "/v1/auth/password";
    let new = "a brand new long password";
    let change = json!({"current": PASSWORD, "new": new});

    // Without the CSRF header, with a token instead of a session, or with a wrong current
    // password: refused, and the password is still the old one.
    assert_eq!(
        with_session(&s, Method::POST, path, &a, false, Some(&change))
            .await
            .0,
        403
    );
    let (st, v) = s.post(path, Some(&token), &change).await;
    assert_eq!(st, 401, "{v}");
    let (st, v) = with_session(
        &s,
        Method::POST,
        path,
        &a,
        true,
        Some(&json!({"current": "not the password", "new": new})),
    )
    .await;
    assert_eq!(st, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("current"), "{v}");
    // A new password that is too short, or the same as the current one: 422.
    for bad in [
        json!({"current": PASSWORD, "new": "short"}),
        json!({"current": PASSWORD, "new": PASSWORD}),
    ] {
        let (st, v) = with_session(&s, Method::POST, path, &a, true, Some(&bad)).await;
        assert_eq!(st, 422, "{bad}: {v}");
    }
    assert!(
        sign_in(&s, "sam", PASSWORD).await.is_ok(),
        "unchanged so far"
    );

    // The change: 204, the cookie cleared, every session of sam ended.
    let res = s
        .http
        .post(format!("{}{path}", s.base))
        .header("cookie", &a.cookie)
        .header("x-replaydesk-csrf", &a.csrf)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let cleared = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    for sess in [&a, &other] {
        assert_eq!(
            with_session(&s, Method::GET, "/v1/auth/me", sess, false, None)
                .await
                .0,
            401
        );
    }
    assert_eq!(sign_in(&s, "sam", PASSWORD).await.err().unwrap().0, 401);
    let b = sign_in(&s, "sam", new).await.unwrap();
    assert_eq!(
        with_session(&s, Method::GET, "/v1/auth/me", &b, false, None)
            .await
            .0,
        200
    );
    let (_, audit) = s.get("/v1/admin/audit?actor=sam", Some(ADMIN)).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"password_changed"), "{audit}");
    let text = audit.to_string();
    assert!(!text.contains(new) && !text.contains(PASSWORD), "{text}");
}
