//! Structured logs for the long-running commands: `RUST_LOG` filters (default `info`),
//! `REPLAYDESK_LOG_FORMAT=json` for JSON lines. Secrets are never logged: they are
//! [`crate::secret::Secret`]s, whose formatting hides the value.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("REPLAYDESK_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
