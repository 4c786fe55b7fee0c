//! The commands, called the way the webview calls them (Tauri IPC), over the mock runtime:
//! no window, no display.

use replaydesk_desktop_lib::build_app;
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{WebviewWindow, WebviewWindowBuilder};

fn invoke(webview: &WebviewWindow<MockRuntime>, cmd: &str) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::default(),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(webview, request)
        .map(|body| body.deserialize::<Value>().expect("the response is JSON"))
}

// A single test: it changes the process environment, which must race with nothing else
// in this binary.
#[test]
fn app_info_over_ipc() {
    let app = build_app(mock_builder())
        .build(mock_context(noop_assets()))
        .expect("the app builds");
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("the main window builds");

    // No IM endpoint configured: sandbox mode, with the package version.
    std::env::remove_var("REPLAYDESK_IM_ENDPOINT");
    let info = invoke(&webview, "app_info").expect("app_info answers");
    assert_eq!(
        info,
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "sandbox": true,
            "im_endpoint": null,
        })
    );
    assert_eq!(info["version"], replaydesk::app::VERSION);

    // A real endpoint configured: the console is told where messages go.
    std::env::set_var("REPLAYDESK_IM_ENDPOINT", "https://console.tim.qq.com");
    let info = invoke(&webview, "app_info");
    std::env::remove_var("REPLAYDESK_IM_ENDPOINT");
    let info = info.expect("app_info answers");
    assert_eq!(info["sandbox"], false);
    assert_eq!(info["im_endpoint"], "https://console.tim.qq.com");

    // Only registered commands are reachable.
    assert!(invoke(&webview, "no_such_command").is_err());
}
