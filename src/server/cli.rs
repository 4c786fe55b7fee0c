//! `replaydesk serve`: the headless backend, until SIGINT or SIGTERM.

use crate::config::{Config, Flags};
use crate::service::ReplayDesk;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (default: replaydesk.toml if present).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to serve on (beats REPLAYDESK_LISTEN and the file).
    #[arg(long)]
    pub listen: Option<String>,
    /// SQLite database file (beats REPLAYDESK_DB and the file).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> ExitCode {
    crate::logging::init();
    let flags = Flags {
        config: args.config,
        listen: args.listen,
        db: args.db,
    };
    let mut config = match Config::load(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("replaydesk serve: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(token) = config.ensure_admin_token() {
        // The one place a secret is printed: a generated admin token, once, so that its
        // operator can use it. Set admin_token / REPLAYDESK_ADMIN_TOKEN to keep one.
        println!(
            "admin token (generated for this run; set REPLAYDESK_ADMIN_TOKEN to keep one): {}",
            token.expose()
        );
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("replaydesk serve: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replaydesk serve: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let desk = ReplayDesk::start(config).await.map_err(|e| e.to_string())?;
    let info = desk.info();
    let ui = desk.config().ui_dir.clone();
    tracing::info!(
        addr = %addr,
        version = %info.version,
        sandbox = info.sandbox,
        im_endpoint = info.im_endpoint.as_deref().unwrap_or("(built-in emulator)"),
        db = %desk.config().db.display(),
        console = %if ui.is_dir() { ui.display().to_string() } else { format!("{} (missing: not served)", ui.display()) },
        "replaydesk serving"
    );
    super::serve_until(desk, listener, crate::signals::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}
