//! The one helper root of the desktop shell's tests: a call the way the webview makes it (Tauri IPC over the mock
//! runtime: no window, no display), and a rig with a real ReplayDesk (SQLite file in a
//! temporary directory, sandbox IM emulator) that also serves HTTP on loopback, so that each
//! command's answer can be compared with its HTTP twin.

use replaydesk_desktop_lib::build_app;
use replaydesk_service::config::Config;
use replaydesk_service::ReplayDesk;
use serde_json::Value;
use std::time::{Duration, Instant};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

/// The admin token of every rig (a scratch value, not a secret).
pub const ADMIN: &str = "test-admin-token-0123456789";

/// Calls `cmd` with `args` as the webview would; the error is the command's error JSON. A
/// console operation's name goes, as the console sends it, through the one `operation`
/// command with `name` added to its arguments.
pub fn invoke(
    webview: &WebviewWindow<MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    let (cmd, args) = if replaydesk_service::api::names().contains(&cmd) {
        let mut args = args.as_object().cloned().unwrap_or_default();
        args.insert("name".into(), Value::String(cmd.to_owned()));
        ("operation", Value::Object(args))
    } else {
        (cmd, args)
    };
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(webview, request)
        .map(|body| body.deserialize::<Value>().expect("the response is JSON"))
}

/// A desk with both doors open: Tauri commands on a mock window and HTTP on loopback.
pub struct Rig {
    _dir: tempfile::TempDir,
    pub desk: ReplayDesk,
    server: Option<replaydesk_server::ServerHandle>,
    _app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    http: reqwest::Client,
}

impl Rig {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// A rig whose configuration `adjust` may change before the desk starts.
    pub fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            db: dir.path().join("replaydesk.db"),
            admin_token: Some(replaydesk_protocol::secret::Secret::new(ADMIN)),
            ui_dir: dir.path().join("no-ui"),
            shutdown_grace_secs: 2,
            ..Default::default()
        };
        adjust(&mut config);
        // Tauri runs async commands on its own tokio runtime: start the desk there.
        let (desk, server) = tauri::async_runtime::block_on(async {
            let desk = ReplayDesk::start(config).await.expect("the desk starts");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let server = replaydesk_server::spawn(desk.clone(), listener).unwrap();
            (desk, server)
        });
        let app = build_app(mock_builder())
            .manage(desk.clone())
            .build(mock_context(noop_assets()))
            .expect("the app builds");
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("the main window builds");
        Rig {
            _dir: dir,
            desk,
            server: Some(server),
            _app: app,
            webview,
            http: reqwest::Client::new(),
        }
    }

    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke(&self.webview, cmd, args)
    }

    /// The command's answer; a failure fails the test with the command's error.
    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// `method path` on the HTTP door with the admin token: (status, body).
    pub fn http(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.server.as_ref().unwrap().base_url());
        tauri::async_runtime::block_on(async {
            let mut req = self.http.request(method, url).bearer_auth(ADMIN);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        })
    }

    /// `http://ADDR` of the HTTP door.
    pub fn base_url(&self) -> String {
        self.server.as_ref().unwrap().base_url()
    }

    pub fn http_get(&self, path: &str) -> (u16, Value) {
        self.http(reqwest::Method::GET, path, None)
    }

    /// Polls `ok` until it holds; fails the test after 15 s, naming `what`.
    pub fn wait_for(&self, what: &str, mut ok: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !ok() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            tauri::async_runtime::block_on(s.shutdown());
        }
    }
}
