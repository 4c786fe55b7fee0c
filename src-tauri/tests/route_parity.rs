//! Route parity: every console HTTP route (the admin API and class creation, as the
//! generated OpenAPI document lists them: the router is built from the same
//! registrations) has exactly one Tauri command of the same name, taking the route's path
//! parameters under the contract's names, and every registered command has such a route
//! (or is declared desktop-only in `commands::DESKTOP_ONLY`).

use replaydesk::server::openapi::{document, is_console_route, operations};
use replaydesk::service::ReplayDesk;
use replaydesk_desktop_lib::{build_app, commands::DESKTOP_ONLY};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;

/// The commands `build_app` registers, read from its `generate_handler!` list (Tauri
/// offers no way to list them at run time; the IPC check below catches a name listed
/// here but not really registered).
fn registered_commands() -> BTreeSet<String> {
    let src = include_str!("../src/lib.rs");
    let start = src
        .find("generate_handler![")
        .expect("build_app uses generate_handler!");
    let list = &src[start + "generate_handler![".len()..];
    let list = &list[..list.find(']').expect("the list ends")];
    list.split(',')
        .map(|item| {
            let item = item
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<String>();
            item.trim()
                .rsplit("::")
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// `{classId}`, `{id}` and `{uid}` path parameters become the command arguments
/// `classId`, `id` and `uid` (camelCase on the JS side).
fn args_for(path: &str) -> Map<String, Value> {
    let mut args = Map::new();
    for seg in path.split('/') {
        if let Some(p) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (name, value) = match p {
                "class_id" => ("classId", json!("no-such-class")),
                "id" => ("id", json!(987_654)),
                other => (other, json!("no-such-value")),
            };
            args.insert(name.to_owned(), value);
        }
    }
    args
}

#[test]
fn every_console_route_has_one_tauri_twin_and_back() {
    let doc = document();
    let routes: Vec<(String, String, String)> = operations(&doc)
        .into_iter()
        .filter(|(m, p, _)| is_console_route(m, p))
        .collect();
    assert!(routes.len() >= 20, "{routes:?}");
    let route_names: BTreeSet<String> = routes.iter().map(|r| r.2.clone()).collect();
    assert_eq!(route_names.len(), routes.len(), "operation ids are unique");

    let registered = registered_commands();
    assert!(registered.contains("app_info"), "{registered:?}");
    for d in DESKTOP_ONLY {
        assert!(registered.contains(*d), "desktop-only {d} is registered");
        assert!(
            !route_names.contains(*d),
            "{d} is declared desktop-only but has a route"
        );
    }
    let twins: BTreeSet<String> = registered
        .iter()
        .filter(|c| !DESKTOP_ONLY.contains(&c.as_str()))
        .cloned()
        .collect();
    let no_twin: Vec<_> = route_names.difference(&twins).collect();
    let no_route: Vec<_> = twins.difference(&route_names).collect();
    assert!(
        no_twin.is_empty(),
        "HTTP routes without a Tauri command: {no_twin:?}"
    );
    assert!(
        no_route.is_empty(),
        "Tauri commands without an HTTP route (or DESKTOP_ONLY entry): {no_route:?}"
    );

    // Each twin really answers over IPC, takes the path parameters under the contract's
    // names, and refuses like the HTTP door: an `{error, detail}` object, not Tauri's
    // own text for an unknown command or a missing argument.
    let dir = tempfile::tempdir().unwrap();
    let config = replaydesk::config::Config {
        db: dir.path().join("replaydesk.db"),
        ui_dir: dir.path().join("no-ui"),
        ..Default::default()
    };
    let desk = tauri::async_runtime::block_on(ReplayDesk::start(config)).unwrap();
    let app = build_app(mock_builder())
        .manage(desk.clone())
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    for (method, path, name) in &routes {
        let mut args = args_for(path);
        // An invalid query or body: refused by the library before anything happens.
        args.insert("query".into(), json!({"no_such_parameter": 1}));
        args.insert("body".into(), json!({"no_such_field": 1}));
        let request = InvokeRequest {
            cmd: name.clone(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(Value::Object(args)),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        let answer = get_ipc_response(&webview, request).map(|b| b.deserialize::<Value>().unwrap());
        match answer {
            Err(e) => assert!(
                e["error"].is_string() && e["detail"].is_string(),
                "{name} ({method} {path}): not an error body: {e}"
            ),
            // Routes with neither parameters nor query (e.g. alerts) answer.
            Ok(v) => assert!(!v.is_null() || *name == "set_secret_key", "{name}: {v}"),
        }
    }
    tauri::async_runtime::block_on(desk.shutdown());
}
