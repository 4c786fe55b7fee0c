//! `replaydesk serve`: the headless backend, until SIGINT or SIGTERM.

use replaydesk_service::config::{Config, Flags};
use replaydesk_service::secret_store::SecretStore;
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
    let token_source = admin_token_source(
        config.admin_token.is_some(),
        std::env::var_os(ADMIN_TOKEN_VAR).is_some_and(|v| !v.is_empty()),
        config_file_read(&flags),
    );
    if !config.admin_token_enabled {
        // Switched off: nothing to print, and a generated one would open nothing.
        config.ensure_admin_token();
        println!("the bootstrap admin token is switched off (admin_token_enabled = false): sign in, or use a person's API token");
    } else if let Some(token) = config.ensure_admin_token() {
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
    match rt.block_on(serve(config, token_source)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replaydesk serve: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, token_source: TokenSource) -> Result<(), String> {
    let handle = super::launch(config).await.map_err(|e| e.to_string())?;
    let url = console_url(handle.addr());
    // On stdout, for people and for scripts/run.sh (which waits for this line to know the
    // server is up and where).
    println!("console: {url}");
    println!("{}", sign_in_hint(&token_source, &url));
    crate::signals::shutdown_signal().await;
    tracing::info!("stopping: no new connections; finishing requests in flight");
    handle.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

const ADMIN_TOKEN_VAR: &str = "REPLAYDESK_ADMIN_TOKEN";

/// Where the admin token of this run came from, for the sign-in hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// Made up at start and printed once above.
    Generated,
    /// `REPLAYDESK_ADMIN_TOKEN`.
    Environment,
    /// `admin_token` in this file.
    File(PathBuf),
}

/// The configuration file `Config::load` reads for these flags, if any.
fn config_file_read(flags: &Flags) -> Option<PathBuf> {
    match &flags.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(
            replaydesk_service::config::DEFAULT_CONFIG_FILE,
        ))
        .filter(|p| p.is_file()),
    }
}

/// The environment beats the file key by key (see [`Config::load`]), so a token that is
/// set and not in the environment came from the file.
pub fn admin_token_source(
    configured: bool,
    in_environment: bool,
    file: Option<PathBuf>,
) -> TokenSource {
    match (configured, in_environment, file) {
        (false, _, _) => TokenSource::Generated,
        (true, true, _) | (true, false, None) => TokenSource::Environment,
        (true, false, Some(f)) => TokenSource::File(f),
    }
}

/// How to sign in to the console at `url`, without the token itself: a token that came
/// from configuration is never printed, so say where the operator already has it.
pub fn sign_in_hint(source: &TokenSource, url: &str) -> String {
    let whose = match source {
        TokenSource::Generated => return format!(
            "sign in: open {url}?token=<the admin token printed above> (or paste the token on the sign-in page)"
        ),
        TokenSource::Environment => format!("the value of {ADMIN_TOKEN_VAR}"),
        TokenSource::File(f) => format!("admin_token in {}", f.display()),
    };
    format!(
        "sign in: open {url} and paste the admin token ({whose}; not printed here), or open {url}?token=<that token>"
    )
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
    if replaydesk_store::Engine::of(&db.to_string_lossy()) == replaydesk_store::Engine::Postgres {
        return PathBuf::from("replaydesk.secrets.toml");
    }
    let mut name = db.as_os_str().to_owned();
    name.push(".secrets.toml");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_source_follows_the_configuration_order() {
        let file = PathBuf::from("/etc/replaydesk.toml");
        assert_eq!(
            admin_token_source(false, false, Some(file.clone())),
            TokenSource::Generated
        );
        assert_eq!(
            admin_token_source(true, true, Some(file.clone())),
            TokenSource::Environment
        );
        assert_eq!(
            admin_token_source(true, false, Some(file.clone())),
            TokenSource::File(file)
        );
        assert_eq!(
            admin_token_source(true, false, None),
            TokenSource::Environment
        );
    }

    #[test]
    fn sign_in_hint_names_where_the_token_is() {
        let url = "http://127.0.0.1:8080/";
        let env = sign_in_hint(&TokenSource::Environment, url);
        assert!(
            env.contains("REPLAYDESK_ADMIN_TOKEN") && env.contains(url),
            "{env}"
        );
        let file = sign_in_hint(&TokenSource::File("/etc/rd.toml".into()), url);
        assert!(file.contains("admin_token in /etc/rd.toml"), "{file}");
        assert!(file.contains("?token=<that token>"), "{file}");
    }

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
