//! The HTTP doors (axum): the classroom clients' reporting API, class creation, the admin
//! API the console uses, health, metrics, and the console's static files. Handlers are
//! thin adapters over [`ReplayDesk`]; every error is JSON `{"error","detail"}`.

pub mod align;
pub mod auth;
pub mod callbacks;
pub mod cli;
pub mod conn_limit;
pub mod error;
pub mod extract;
pub mod headers;
pub mod im_archive;
pub mod json_errors;
pub mod kernel_rtt;
pub mod launch;
pub mod listen;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod operations;
pub mod report_limit;
pub mod reports;
pub mod sign_in;
pub mod signals;
pub mod source_limit;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use error::ApiError;
use extract::BodyLimit;
pub use launch::{launch, listens_beyond_this_machine, LaunchError};
use replaydesk_service::ReplayDesk;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

/// Every route, with `desk` as state.
pub fn router(desk: ReplayDesk) -> Router {
    let max_body = desk.config().max_body_bytes;
    let (routes, doc) = openapi::routes().split_for_parts();
    let doc = openapi::Document(serde_json::to_vec(&doc).unwrap_or_default().into());
    routes
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            desk.config().http.body_read_timeout,
        ))
        .layer(axum::middleware::from_fn(extract::refuse_declared_oversize))
        .layer(axum::middleware::from_fn(conn_limit::forwarded_cap))
        .layer(Extension(BodyLimit(max_body)))
        .layer(Extension(source_limit::SourceLimiter::new(
            desk.config().callback_rate_per_source,
        )))
        .layer(Extension(report_limit::ReportLimiter::new(
            &desk.config().limits,
        )))
        .layer(Extension(reports::HeartbeatLimiter::new()))
        .layer(Extension(doc))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(desk.config().http.trusted_proxies.clone()),
            conn_limit::client_origin,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(extract::stamp_received_at))
        .with_state(desk)
}

/// Each request's log span (at debug, as tower-http's own): its method, and its path and
/// query with every query value replaced by `***`: the console's sign-in link carries the
/// admin token as `/?token=...`, and no value in a query string belongs in a log.
fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %req.method(),
        uri = %crate::logging::uri_without_query_values(req.uri()),
        version = ?req.version(),
    )
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on this path"),
    )
}

/// API paths answer JSON 404 (under `/im-archive`, in the IM's format); anything else is
/// the console (its files, or `index.html`
/// for the single-page app's own routes) when `ui_dir` exists.
async fn fallback(State(desk): State<ReplayDesk>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/im-archive" || path.starts_with("/im-archive/") {
        return im_archive::unknown_command();
    }
    let api = path == "/v1"
        || path.starts_with("/v1/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics";
    let dir = &desk.config().ui_dir;
    if api || !dir.is_dir() {
        return ApiError::not_found(format!("no such path: {path}")).into_response();
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed(req.method().clone())
            .await
            .into_response();
    }
    let serve = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    match serve.oneshot(req).await {
        Ok(res) => res.into_response(),
        Err(never) => match never {},
    }
}

/// A server running in a background task (for tests and embedding).
pub struct ServerHandle {
    addr: SocketAddr,
    desk: ReplayDesk,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn desk(&self) -> &ReplayDesk {
        &self.desk
    }

    /// Stops accepting, lets requests in flight finish, then shuts the service down.
    pub async fn shutdown(mut self) {
        self.desk.begin_stopping();
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.desk.shutdown().await;
    }
}

/// Serves `desk` on `listener` in a background task.
pub fn spawn(desk: ReplayDesk, listener: TcpListener) -> std::io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = router(desk.clone());
    let limits = desk.config().http.clone();
    let task = tokio::spawn(listen::serve(listener, app, limits, async move {
        let _ = rx.await;
    }));
    Ok(ServerHandle {
        addr,
        desk,
        stop: Some(tx),
        task: Some(task),
    })
}

/// Serves `desk` on `listener` until `signal` resolves; then stops accepting, lets the
/// requests in flight finish (each answered only after its commit), and shuts the service
/// down (queued reports committed, IM calls in flight recorded, database closed).
pub async fn serve_until(
    desk: ReplayDesk,
    listener: TcpListener,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(desk.clone());
    let limits = desk.config().http.clone();
    let stopping = desk.clone();
    let served = listen::serve(listener, app, limits, async move {
        signal.await;
        stopping.begin_stopping();
        tracing::info!("stopping: no new connections; finishing requests in flight");
    })
    .await;
    desk.shutdown().await;
    served
}
