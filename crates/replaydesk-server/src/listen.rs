//! The accept loop: HTTP/1.1 connections with a header read timeout (which also closes idle
//! keep-alive connections), a cap on connections open at once, each request's peer address
//! (`ConnectInfo`), and a shutdown that stops accepting, closes idle connections at once and
//! gives requests in flight [`HttpLimits::drain`] to finish before dropping what is left —
//! a client trickling a request cannot hold a stopping server up. Each source address may
//! hold at most `connections_per_source` of the connections (see [`super::conn_limit`]).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use replaydesk_service::config::HttpLimits;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Serves `app` on `listener` until `signal` resolves, then drains (see the module).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_source =
        super::conn_limit::PerSource::new(limits.connections_per_source, &limits.trusted_proxies);
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // The connections' tasks: dropped (aborted) when the drain deadline passes.
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(signal);
    loop {
        while conns.try_join_next().is_some() {}
        let slot = tokio::select! {
            () = &mut signal => break,
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut signal => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // A trusted proxy's connections carry many clients: counted per request instead.
        let held = if per_source.is_trusted(peer.ip()) {
            None
        } else {
            match per_source.admit(peer.ip()) {
                Ok(held) => held,
                Err(super::conn_limit::OverCap) => {
                    drop(slot);
                    tracing::debug!(%peer, "refused a connection: its source holds its cap");
                    super::conn_limit::refuse(stream);
                    continue;
                }
            }
        };
        let socket = super::kernel_rtt::ConnSocket::of(&stream);
        let limiter = per_source.clone();
        let svc = app
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(socket);
                req.extensions_mut().insert(limiter.clone());
                req
            });
        // hyper's own error answers (a request it cannot parse) as JSON: `json_errors`.
        let io = TokioIo::new(super::json_errors::JsonErrors::new(stream));
        let conn = builder.serve_connection(io, TowerToHyperService::new(svc));
        let conn = graceful.watch(conn);
        conns.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(held);
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => {
            tracing::warn!(drain = ?limits.drain, open = conns.len(), "stopped waiting for connections still open");
        }
    }
    conns.abort_all();
    Ok(())
}
