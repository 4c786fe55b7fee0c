//! The generated OpenAPI document and the router agree: every operation it describes is
//! served (not the fallback's 404 or 405), and routes are only registered together with
//! their description.

use replaydesk::config::Config;
use replaydesk::secret::Secret;
use replaydesk::server::openapi::{document, operations};
use serde_json::Value;

#[test]
fn routes_are_registered_only_with_their_description() {
    // `openapi::routes()` registers each handler with `routes!`, which adds it to both the
    // router and the document; a plain `.route(` would add an undescribed route.
    for file in [
        "crates/replaydesk-server/src/lib.rs",
        "crates/replaydesk-server/src/openapi.rs",
    ] {
        let src =
            std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(
            !src.contains(".route(\"") && !src.contains(".nest(\""),
            "{file} registers a route outside openapi::routes()"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_described_operation_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        db: dir.path().join("replaydesk.db"),
        admin_token: Some(Secret::new("openapi-test-admin-token")),
        ui_dir: dir.path().join("no-ui"),
        ..Config::default()
    };
    let desk = replaydesk::service::ReplayDesk::start(config)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = replaydesk::server::spawn(desk, listener).unwrap();
    let http = reqwest::Client::new();

    let doc = document();
    let served: Value = http
        .get(format!("{}/v1/openapi.json", server.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        served,
        serde_json::to_value(&doc).unwrap(),
        "served as generated"
    );
    assert_eq!(served["openapi"], "3.1.0");

    let ops = operations(&doc);
    assert!(ops.len() >= 29, "{} operations", ops.len());
    for (method, path, id) in &ops {
        let url = format!(
            "{}{}",
            server.base_url(),
            path.replace("{class_id}", "c1")
                .replace("{id}", "1")
                .replace("{uid}", "u1")
        );
        let res = http
            .request(method.to_uppercase().parse().unwrap(), &url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert!(
            !(status == 404 && body.contains("no such path")) && status != 405,
            "{id}: {method} {path} is described but not served ({status} {body})"
        );
        if path.starts_with("/v1/admin/") {
            assert_eq!(status, 401, "{id}: admin route without the token: {body}");
        }
    }

    // Every schema referred to is defined.
    let text = served.to_string();
    for name in text
        .split("#/components/schemas/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
    {
        assert!(
            served["components"]["schemas"][name].is_object(),
            "schema {name} defined"
        );
    }
    server.shutdown().await;
}
