//! `replaydesk serve`: the headless backend, until SIGINT or SIGTERM.

use crate::config::{Config, Flags};
use crate::secret_store::SecretStore;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (default: replaydesk.toml if present).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to serve on (beats REPLAYDESK_LISTEN and the file).
    #[arg(long)]
    pub listen: Option<String>,
    /// SQLite database file, or a `postgres://` URL (beats REPLAYDESK_DB and the file).
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
    // A key fixed through PUT /v1/admin/im/secret-key is kept beside the database (0600).
    config.secret_store = Some(SecretStore::file(secrets_file_beside(&config.db)));
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
    let handle = super::launch(config).await.map_err(|e| e.to_string())?;
    // On stdout, for people and for scripts/run.sh (which waits for this line to know the
    // server is up and where).
    println!("console: {}", console_url(handle.addr()));
    crate::signals::shutdown_signal().await;
    tracing::info!("stopping: no new connections; finishing requests in flight");
    handle.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// The address to open the console at: a wildcard listen address is reached as loopback.
pub fn console_url(addr: std::net::SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}/")
}

/// `replaydesk.db` → `replaydesk.db.secrets.toml`, readable only by its owner. A
/// PostgreSQL database has no file to sit beside: `replaydesk.secrets.toml` in the working
/// directory (each node keeps its own; configure the IM key on every node instead).
pub fn secrets_file_beside(db: &Path) -> PathBuf {
    if crate::store::Engine::of(&db.to_string_lossy()) == crate::store::Engine::Postgres {
        return PathBuf::from("replaydesk.secrets.toml");
    }
    let mut name = db.as_os_str().to_owned();
    name.push(".secrets.toml");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::console_url;

    #[test]
    fn console_url_opens_wildcard_listeners_on_loopback() {
        assert_eq!(
            console_url("127.0.0.1:8080".parse().unwrap()),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            console_url("0.0.0.0:9000".parse().unwrap()),
            "http://127.0.0.1:9000/"
        );
        assert_eq!(
            console_url("[::]:9000".parse().unwrap()),
            "http://[::1]:9000/"
        );
        assert_eq!(
            console_url("192.168.1.5:80".parse().unwrap()),
            "http://192.168.1.5:80/"
        );
    }
}
