//! Starting the whole backend: the service and its HTTP listener. `replaydesk serve` and
//! the desktop app both call [`launch`], so the two run the same thing from the same
//! configuration.

use super::{spawn, ServerHandle};
use replaydesk_service::config::Config;
use replaydesk_service::{ReplayDesk, StartError};
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Logged at start when no recording-callback key is configured: a callback cannot be
/// verified without one, so each is refused (`no_callback_key`) and its recording never
/// reaches the class.
pub const NO_CALLBACK_KEY_WARNING: &str = "no recording-callback key is set (callback_key / REPLAYDESK_CALLBACK_KEY): every recording callback will be refused and no recording will reach its class until one is set";

/// True when `addr` is reachable from other machines (anything but loopback).
pub fn listens_beyond_this_machine(addr: &SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

/// Binds `config.listen` (first, so a taken port fails before anything starts), starts the
/// service (store, delivery worker, sandbox emulator) and serves HTTP in a background task.
/// Stop it with [`ServerHandle::shutdown`]: nothing accepted is lost, and what is not yet
/// sent stays in the store for the next launch.
pub async fn launch(config: Config) -> Result<ServerHandle, LaunchError> {
    let addr = config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| LaunchError::Listen { addr, source })?;
    let desk = ReplayDesk::start(config).await?;
    let handle = spawn(desk, listener).map_err(|source| LaunchError::Listen { addr, source })?;
    let desk = handle.desk();
    let info = desk.info();
    let ui = &desk.config().ui_dir;
    tracing::info!(
        addr = %handle.addr(),
        version = %info.version,
        sandbox = info.sandbox,
        im_endpoint = info.im_endpoint.as_deref().unwrap_or("(built-in emulator)"),
        db = %replaydesk_store::db_for_display(&desk.config().db),
        console = %if ui.is_dir() { ui.display().to_string() } else { format!("{} (missing: not served)", ui.display()) },
        "replaydesk serving"
    );
    if desk.config().callback_key.is_none() {
        tracing::warn!("{NO_CALLBACK_KEY_WARNING}");
    }
    if listens_beyond_this_machine(&handle.addr()) {
        tracing::warn!(
            addr = %handle.addr(),
            "listening beyond this machine: other computers on the network can reach ReplayDesk"
        );
    }
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_stays_on_this_machine() {
        for a in ["127.0.0.1:80", "[::1]:80"] {
            assert!(!listens_beyond_this_machine(&a.parse().unwrap()), "{a}");
        }
        for a in ["0.0.0.0:80", "192.168.1.20:80", "[::]:80"] {
            assert!(listens_beyond_this_machine(&a.parse().unwrap()), "{a}");
        }
    }
}
