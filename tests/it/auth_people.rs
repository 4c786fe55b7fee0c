//! People, roles and sign-in (issue 23), over real HTTP on loopback against a real
//! SQLite file: the role matrix of every console route (each role, by API token and by
//! session, the bootstrap token, no credential) against the operation table's one
//! declaration; the role decided before the body is read; a support user added by the
//! real `replaydesk user add` signing in and doing what support may and nothing else, and
//! an admin's resend audited under their name; API tokens' roles, expiry, last use and
//! revocation; the bootstrap token switched off; no secret in answers, the database or an
//! export. Sessions, the throttle and several nodes: `auth_sessions.rs`.

use crate::util::people::{cli_actor, person, sign_in, with_session, PASSWORD};
use crate::util::process::BIN;
use crate::util::server::{TestServer, ADMIN};
use replaydesk::service::api::{visit_all, InputKind, Method as OpMethod, Operation, Role, Visit};
use replaydesk::service::people::{CreateToken, People};
use reqwest::Method;
use serde_json::{json, Value};

/// Every console operation as `(name, method, path with placeholders, role, input)`.
fn routes() -> Vec<(&'static str, Method, String, Role, InputKind)> {
    struct All(Vec<(&'static str, Method, String, Role, InputKind)>);
    impl Visit for All {
        fn visit<O: Operation>(&mut self) {
            let mut path = O::PATH.to_owned();
            for p in O::PARAMS {
                let value = match p.name {
                    "class_id" => "no-such-class",
                    "uid" => "stu1",
                    "user" => "no-such-person",
                    _ => "987654",
                };
                path = path.replace(&format!("{{{}}}", p.name), value);
            }
            let method = match O::METHOD {
                OpMethod::Get => Method::GET,
                OpMethod::Post => Method::POST,
                OpMethod::Put => Method::PUT,
                OpMethod::Patch => Method::PATCH,
                OpMethod::Delete => Method::DELETE,
            };
            self.0.push((O::NAME, method, path, O::ROLE, O::INPUT));
        }
    }
    let mut all = All(Vec::new());
    visit_all(&mut all);
    all.0
}

/// The body sent to every route: not what any operation takes (an empty object misses
/// required fields, or is not a bundle), so an answer past the role check is a refusal
/// of the input, never a change — and a 403 proves the role was decided first.
fn probe_body(input: InputKind) -> Option<Value> {
    match input {
        InputKind::None | InputKind::Query => None,
        _ => Some(json!({"unknown_field_for_the_matrix": true})),
    }
}

#[tokio::test]
async fn auth_role_matrix_walks_every_console_route_with_every_role_and_no_credential() {
    let s = TestServer::start(|_| {}).await;
    let mut tokens = Vec::new();
    let mut sessions = Vec::new();
    for (name, role) in [
        ("ada", Role::Admin),
        ("sam", Role::Support),
        ("vic", Role::Viewer),
    ] {
        tokens.push((role, person(&s, name, role).await));
        sessions.push((role, sign_in(&s, name, PASSWORD).await.unwrap()));
    }
    let routes = routes();
    assert!(routes.len() >= 38, "{}", routes.len());
    let mut checked = 0;
    for (name, method, path, needed, input) in &routes {
        let body = probe_body(*input);
        // No credential: 401 in the error format.
        let (st, v) = s.call(method.clone(), path, None, body.as_ref()).await;
        assert_eq!(st, 401, "{name} without a credential: {v}");
        assert_eq!(v["error"], "unauthorized", "{name}: {v}");
        // The bootstrap token holds every role.
        let (st, v) = s
            .call(method.clone(), path, Some(ADMIN), body.as_ref())
            .await;
        assert!(
            st != 401 && st != 403,
            "{name} with the bootstrap token: {st} {v}"
        );
        for (role, token) in &tokens {
            let (st, v) = s
                .call(method.clone(), path, Some(token), body.as_ref())
                .await;
            if role.allows(*needed) {
                assert!(
                    st != 401 && st != 403,
                    "{name} as {role:?} (token): {st} {v}"
                );
            } else {
                assert_eq!(st, 403, "{name} as {role:?} (token): {v}");
                assert_eq!(v["error"], "forbidden", "{name}: {v}");
                assert!(
                    v["detail"].as_str().unwrap().contains(needed.as_str()),
                    "{v}"
                );
            }
            checked += 1;
        }
        for (role, session) in &sessions {
            let (st, v) =
                with_session(&s, method.clone(), path, session, true, body.as_ref()).await;
            if role.allows(*needed) {
                assert!(
                    st != 401 && st != 403,
                    "{name} as {role:?} (session): {st} {v}"
                );
            } else {
                assert_eq!(st, 403, "{name} as {role:?} (session): {v}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * 6);
}

/// The routes that are not people's: each keeps its own credential (or none), as the
/// OpenAPI document says.
const OWN_CREDENTIALS: &[(&str, &str, &str)] = &[
    ("post", "/v1/classes/{class_id}/timeline", "report"),
    ("post", "/v1/classes/{class_id}/start", "report"),
    ("post", "/v1/classes/{class_id}/end", "report"),
    ("post", "/v1/classes/{class_id}/heartbeat", "report"),
    ("post", "/v1/callbacks/recording", "signed body"),
    ("post", "/v1/callbacks/trtc", "signed body"),
    ("get", "/healthz", "public"),
    ("get", "/readyz", "public"),
    ("get", "/metrics", "public"),
    ("get", "/v1/info", "public"),
    ("get", "/v1/time", "public"),
    ("get", "/v1/openapi.json", "public"),
    ("post", "/v1/auth/setup", "setup code"),
    ("post", "/v1/auth/sign-in", "password"),
    ("post", "/v1/auth/sign-out", "session"),
    ("get", "/v1/auth/me", "token or session"),
    ("post", "/v1/auth/password", "session"),
    (
        "post",
        "/im-archive/v4/group_open_http_svc/group_msg_get_simple",
        "IM UserSig",
    ),
];

/// Every route the server describes is either a console operation of the table (walked by
/// the matrix above, its role stated in its description and its security the `token` and
/// `session` schemes) or one of [`OWN_CREDENTIALS`], with the scheme it says.
#[tokio::test]
async fn auth_every_described_route_is_a_declared_operation_or_keeps_its_own_credential() {
    let s = TestServer::start(|_| {}).await;
    let (_, doc) = s.get("/v1/openapi.json", None).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["token"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["session"]["in"], "cookie", "{schemes}");
    assert_eq!(
        schemes["session"]["name"], "replaydesk_session",
        "{schemes}"
    );
    let table: std::collections::HashMap<String, Role> = routes()
        .into_iter()
        .map(|(name, _, _, role, _)| (name.to_owned(), role))
        .collect();
    let mut seen = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            seen += 1;
            let id = op["operationId"].as_str().unwrap_or("");
            if let Some(role) = table.get(id) {
                let security = op["security"].to_string();
                assert!(
                    security.contains("\"token\"") && security.contains("\"session\""),
                    "{id}: {security}"
                );
                let needs = format!("Needs the `{}` role.", role.as_str());
                assert!(
                    op["description"].as_str().unwrap_or("").contains(&needs),
                    "{id}: {op}"
                );
                continue;
            }
            let own = OWN_CREDENTIALS
                .iter()
                .find(|(m, p, _)| m == method && p == path)
                .unwrap_or_else(|| panic!("{method} {path} is neither a declared operation nor listed with its own credential"));
            if own.2 == "report" {
                assert!(
                    op["security"].to_string().contains("report"),
                    "{path}: {op}"
                );
            }
        }
    }
    assert_eq!(seen, table.len() + OWN_CREDENTIALS.len());
}

#[tokio::test]
async fn auth_role_is_refused_before_the_body_is_read() {
    let s = TestServer::start(|_| {}).await;
    let support = person(&s, "sam", Role::Support).await;
    // Not JSON at all, and a bundle that is no bundle: 403, not 400 or 422.
    for (path, body) in [
        ("/v1/admin/messages/1/resend", "{not json"),
        ("/v1/admin/resend", "[]"),
        ("/v1/admin/import", "garbage"),
        ("/v1/classes", "{\"class_id\": 5}"),
    ] {
        let res = s
            .http
            .post(format!("{}{path}", s.base))
            .bearer_auth(&support)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 403, "{path}");
    }
}

#[tokio::test]
async fn auth_support_user_added_by_the_cli_signs_in_and_may_look_but_not_change() {
    let s = TestServer::start(|_| {}).await;
    let class = s.create_default_class("room1", "teacher").await;
    let teacher = class["teacher_credential"].as_str().unwrap();
    let (st, started) = s
        .post(
            "/v1/classes/room1/start",
            Some(teacher),
            &json!({"uid": "teacher", "timestamp": 1000}),
        )
        .await;
    assert_eq!(st, 202, "{started}");
    let id = started["message_id"].as_i64().unwrap();
    let db = s.dir.path().join("replaydesk.db");
    let out = std::process::Command::new(BIN)
        .args(["user", "add", "sam", "--role", "support", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let code = stdout.lines().last().unwrap().trim().to_owned();
    assert!(code.starts_with("rds1_"), "{stdout}");
    // The code sets the password once.
    let setup = json!({"name": "sam", "code": code, "password": PASSWORD});
    assert_eq!(s.post("/v1/auth/setup", None, &setup).await.0, 204);
    assert_eq!(s.post("/v1/auth/setup", None, &setup).await.0, 401, "spent");
    let sam = sign_in(&s, "sam", PASSWORD).await.unwrap();
    let (st, me) = with_session(&s, Method::GET, "/v1/auth/me", &sam, false, None).await;
    assert_eq!(st, 200);
    assert_eq!(me["name"], "sam");
    assert_eq!(me["role"], "support");
    assert_eq!(me["door"], "console");

    // Sees every class, aligns, exports.
    for path in [
        "/v1/admin/classes",
        "/v1/admin/classes/room1",
        "/v1/admin/classes/room1/alignment",
        "/v1/admin/classes/room1/export",
        "/v1/admin/audit",
    ] {
        let (st, v) = with_session(&s, Method::GET, path, &sam, false, None).await;
        assert_eq!(st, 200, "{path}: {v}");
    }
    let (_, classes) = with_session(&s, Method::GET, "/v1/admin/classes", &sam, false, None).await;
    assert_eq!(classes[0]["class_id"], "room1");

    // Refused: resend, bulk jobs, class creation, member credentials, keys.
    for (method, path, body) in [
        (Method::POST, "/v1/admin/messages/1/resend", json!({})),
        (
            Method::POST,
            "/v1/admin/resend",
            json!({"class_id": "room1", "confirm_count": 1}),
        ),
        (Method::POST, "/v1/admin/recover", json!({"since_ms": 0})),
        (
            Method::POST,
            "/v1/classes",
            json!({"class_id": "x", "group_id": "gx", "teacher_uid": "t"}),
        ),
        (
            Method::POST,
            "/v1/admin/classes/room1/members/stu1/credential",
            json!({}),
        ),
        (
            Method::PUT,
            "/v1/admin/im/secret-key",
            json!({"secret_key": "k"}),
        ),
        (
            Method::POST,
            "/v1/admin/users",
            json!({"name": "eve", "role": "admin"}),
        ),
    ] {
        let (st, v) = with_session(&s, method, path, &sam, true, Some(&body)).await;
        assert_eq!(st, 403, "{path}: {v}");
    }

    // An admin person's resend is audited under their name, through the console's door.
    let _ = person(&s, "ada", Role::Admin).await;
    let ada = sign_in(&s, "ada", PASSWORD).await.unwrap();
    let (st, v) = with_session(
        &s,
        Method::POST,
        &format!("/v1/admin/messages/{id}/resend"),
        &ada,
        true,
        Some(&json!({"duplicate": true})),
    )
    .await;
    assert_eq!(st, 202, "{v}");
    let (st, audit) = with_session(
        &s,
        Method::GET,
        "/v1/admin/audit?actor=ada",
        &sam,
        false,
        None,
    )
    .await;
    assert_eq!(st, 200);
    let items = audit["items"].as_array().unwrap();
    let resend = items
        .iter()
        .find(|e| e["action"] == "resend")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(resend["actor"], "ada");
    assert_eq!(resend["door"], "console");
    assert!(
        items.iter().all(|e| e["actor"] == "ada"),
        "filtered by person: {audit}"
    );
    // The CLI's own action is there too, through its door.
    let (_, all) = s.get("/v1/admin/audit?action=user_add", Some(ADMIN)).await;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["door"] == "cli" && e["target"] == "user:sam"),
        "{all}"
    );
}

#[tokio::test]
async fn auth_api_tokens_act_with_their_role_at_most_the_persons_and_can_expire_or_be_revoked() {
    let s = TestServer::start(|_| {}).await;
    person(&s, "sam", Role::Support).await;
    // Above the person's role: refused.
    let (st, v) = s
        .post(
            "/v1/admin/tokens",
            Some(ADMIN),
            &json!({"user": "sam", "name": "ci", "role": "admin"}),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    let (st, made) = s
        .post(
            "/v1/admin/tokens",
            Some(ADMIN),
            &json!({"user": "sam", "name": "ci", "role": "viewer", "expires": "30d"}),
        )
        .await;
    assert_eq!(st, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rdt1_"));
    let id = made["info"]["id"].as_i64().unwrap();
    assert!(made["info"]["expires_at"].as_i64().unwrap() > 29 * 86_400_000);
    // A viewer token: classes yes, audit no.
    assert_eq!(s.get("/v1/admin/classes", Some(&token)).await.0, 200);
    assert_eq!(s.get("/v1/admin/audit", Some(&token)).await.0, 403);
    let (_, me) = s.get("/v1/auth/me", Some(&token)).await;
    assert_eq!(me["name"], "sam");
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["door"], "api_token");
    // Listed with its last use, never the token.
    let (_, list) = s.get("/v1/admin/tokens?user=sam", Some(ADMIN)).await;
    assert!(list[0]["last_used_at"].as_i64().is_some(), "{list}");
    assert!(!list.to_string().contains(&token));
    // The person demoted to viewer: a support token acts as a viewer from then on.
    let (_, sup) = s
        .post(
            "/v1/admin/tokens",
            Some(ADMIN),
            &json!({"user": "sam", "name": "support-tok"}),
        )
        .await;
    let sup = sup["token"].as_str().unwrap().to_owned();
    assert_eq!(s.get("/v1/admin/audit", Some(&sup)).await.0, 200);
    let (st, _) = s
        .call(
            Method::PUT,
            "/v1/admin/users/sam/role",
            Some(ADMIN),
            Some(&json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(s.get("/v1/admin/audit", Some(&sup)).await.0, 403);
    // Revoked: refused at once.
    let (st, _) = s
        .post(
            &format!("/v1/admin/tokens/{id}/revoke"),
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(s.get("/v1/admin/classes", Some(&token)).await.0, 401);
    // Expired: the CLI's --expires, then time passes (the row's end moved back).
    let people = People::new(s.store());
    let short = people
        .create_token(
            CreateToken {
                user: "sam".into(),
                name: "short".into(),
                role: None,
                expires: Some("1m".into()),
            },
            &cli_actor(),
        )
        .await
        .unwrap();
    assert_eq!(s.get("/v1/admin/classes", Some(&short.token)).await.0, 200);
    expire_token(&s, short.info.id).await;
    let (st, v) = s.get("/v1/admin/classes", Some(&short.token)).await;
    assert_eq!(st, 401, "{v}");
    // An admin API token's actions are audited under the person and the token's name.
    person(&s, "ada", Role::Admin).await;
    let (_, ada_tok) = s
        .post(
            "/v1/admin/tokens",
            Some(ADMIN),
            &json!({"user": "ada", "name": "nightly"}),
        )
        .await;
    let ada_tok = ada_tok["token"].as_str().unwrap().to_owned();
    s.create_default_class("room9", "t").await;
    let (st, _) = s
        .post(
            "/v1/admin/classes/room9/members",
            Some(&ada_tok),
            &json!({"uids": ["s1"]}),
        )
        .await;
    assert_eq!(st, 200);
    let (_, audit) = s
        .get("/v1/admin/audit?action=add_members", Some(ADMIN))
        .await;
    let e = &audit["items"][0];
    assert_eq!(
        (
            e["actor"].as_str(),
            e["door"].as_str(),
            e["token_name"].as_str()
        ),
        (Some("ada"), Some("api_token"), Some("nightly")),
        "{audit}"
    );
}

/// Moves a token's end into the past, as time passing would.
async fn expire_token(s: &TestServer, id: i64) {
    let url = format!("sqlite://{}", s.dir.path().join("replaydesk.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE id = ?")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn auth_the_bootstrap_token_works_by_default_and_is_refused_once_switched_off() {
    let s = TestServer::start(|_| {}).await;
    assert_eq!(s.get("/v1/admin/classes", Some(ADMIN)).await.0, 200);
    let (_, me) = s.get("/v1/auth/me", Some(ADMIN)).await;
    assert_eq!(me["door"], "bootstrap_token");
    let off = TestServer::start(|c| c.admin_token_enabled = false).await;
    let (st, v) = off.get("/v1/admin/classes", Some(ADMIN)).await;
    assert_eq!(st, 401, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("admin_token_enabled"),
        "{v}"
    );
    // People still get in.
    let t = person(&off, "ada", Role::Admin).await;
    assert_eq!(off.get("/v1/admin/classes", Some(&t)).await.0, 200);
}

#[tokio::test]
async fn auth_no_password_code_token_or_session_in_answers_the_database_or_an_export() {
    let s = TestServer::start(|_| {}).await;
    s.create_default_class("room1", "teacher").await;
    let (st, added) = s
        .post(
            "/v1/admin/users",
            Some(ADMIN),
            &json!({"name": "ada", "role": "admin"}),
        )
        .await;
    assert_eq!(st, 201, "{added}");
    let code = added["setup_code"].as_str().unwrap().to_owned();
    let (st, _) = s
        .post(
            "/v1/auth/setup",
            None,
            &json!({"name": "ada", "code": code, "password": PASSWORD}),
        )
        .await;
    assert_eq!(st, 204);
    let session = sign_in(&s, "ada", PASSWORD).await.unwrap();
    let session_id = session.cookie.split_once('=').unwrap().1.to_owned();
    let (_, made) = s
        .post(
            "/v1/admin/tokens",
            Some(ADMIN),
            &json!({"user": "ada", "name": "ci"}),
        )
        .await;
    let token = made["token"].as_str().unwrap().to_owned();
    let secrets = [PASSWORD, code.as_str(), token.as_str(), session_id.as_str()];
    // Later answers.
    let mut answers = String::new();
    for path in [
        "/v1/admin/users",
        "/v1/admin/tokens",
        "/v1/admin/audit",
        "/v1/auth/me",
        "/v1/admin/classes/room1/export",
    ] {
        answers.push_str(&s.get(path, Some(ADMIN)).await.1.to_string());
    }
    let me = with_session(&s, Method::GET, "/v1/auth/me", &session, false, None)
        .await
        .1;
    answers.push_str(&me.to_string());
    // The database, every file of it.
    let mut bytes = Vec::new();
    for f in std::fs::read_dir(s.dir.path()).unwrap() {
        let p = f.unwrap().path();
        if p.to_string_lossy().contains("replaydesk.db") {
            bytes.extend(std::fs::read(&p).unwrap());
        }
    }
    let db = String::from_utf8_lossy(&bytes);
    assert!(
        db.contains("$argon2id$"),
        "the password is kept as its Argon2id hash"
    );
    for secret in secrets {
        assert!(!answers.contains(secret), "an answer shows a secret");
        assert!(!db.contains(secret), "the database holds a secret in clear");
    }
}
