//! Every operation of the library's operation table answers through both doors, alike:
//! over HTTP (a real server on loopback) and over Tauri IPC (the `operation` command on
//! the mock runtime), on one real ReplayDesk. Each is called with a parameter the store
//! does not know and a query or body field that does not exist: both doors must refuse
//! with the same `{error, detail}` (or, where nothing is wrong, give the same answer).

use replaydesk_service::api::{visit_all, InputKind, Operation, Visit};
use serde_json::{json, Map, Value};

use crate::util::{Rig, ADMIN};

/// A value for each path parameter, by its name in the path.
fn param_value(name: &str) -> Value {
    match name {
        "id" => json!(987_654),
        _ => json!(format!("no-such-{name}")),
    }
}

/// `(status, body)` of one HTTP call (an empty body is `null`).
fn http(rig: &Rig, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let url = format!("{}{path}", rig.base_url());
    tauri::async_runtime::block_on(async {
        let mut req = reqwest::Client::new()
            .request(method.parse().unwrap(), url)
            .bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, v)
    })
}

struct BothDoors<'a> {
    rig: &'a Rig,
    seen: Vec<&'static str>,
}

impl Visit for BothDoors<'_> {
    fn visit<O: Operation>(&mut self) {
        self.seen.push(O::NAME);
        let mut path = O::PATH.to_owned();
        let mut args = Map::new();
        for p in O::PARAMS {
            let v = param_value(p.name);
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            path = path.replace(&format!("{{{}}}", p.name), &text);
            args.insert(p.ipc_name(), v);
        }
        let unknown_query = json!({"no_such_parameter": "1"});
        let unknown_body = json!({"no_such_field": 1});
        let mut body = None;
        match O::INPUT {
            InputKind::Query => {
                path.push_str("?no_such_parameter=1");
                args.insert("query".into(), unknown_query);
            }
            InputKind::Body | InputKind::OptionalBody | InputKind::Bundle => {
                body = Some(unknown_body.clone());
                args.insert("body".into(), unknown_body);
            }
            InputKind::None => {}
        }
        let (status, http_answer) = http(self.rig, O::METHOD.as_str(), &path, body.as_ref());
        let ipc_answer = self.rig.invoke(O::NAME, Value::Object(args));
        match ipc_answer {
            Err(e) => {
                assert!(
                    (400..600).contains(&status),
                    "{}: IPC refused ({e}) but HTTP answered {status} {http_answer}",
                    O::NAME
                );
                assert_eq!(
                    e,
                    http_answer,
                    "{}: the same refusal through both doors",
                    O::NAME
                );
            }
            Ok(v) => {
                assert_eq!(status, O::STATUS, "{}: {http_answer}", O::NAME);
                assert_eq!(
                    v,
                    http_answer,
                    "{}: the same answer through both doors",
                    O::NAME
                );
            }
        }
    }
}

#[test]
fn every_declared_operation_answers_alike_through_both_doors() {
    let rig = Rig::start();
    let mut doors = BothDoors {
        rig: &rig,
        seen: Vec::new(),
    };
    visit_all(&mut doors);
    assert_eq!(doors.seen, replaydesk_service::api::names());
    assert!(doors.seen.len() >= 30, "{:?}", doors.seen);
}

#[test]
fn an_unknown_operation_or_a_missing_parameter_is_refused_as_an_error_body() {
    let rig = Rig::start();
    let e = rig
        .invoke("operation", json!({"name": "no_such_operation"}))
        .unwrap_err();
    assert_eq!(e["error"], "not_found", "{e}");
    let e = rig.invoke("operation", json!({})).unwrap_err();
    assert_eq!(e["error"], "bad_request", "{e}");
    let e = rig.invoke("get_class", json!({})).unwrap_err();
    assert_eq!(
        e,
        json!({"error": "bad_request", "detail": "path: classId: missing"})
    );
}
