//! Structured logs for the long-running commands: `RUST_LOG` filters (default `info`),
//! `REPLAYDESK_LOG_FORMAT=json` for JSON lines. Secrets are never logged: they are
//! [`replaydesk_protocol::secret::Secret`]s, whose formatting hides the value.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once, at level `info` unless `RUST_LOG` says otherwise;
/// later calls do nothing.
pub fn init() {
    init_with_default("info");
}

/// As [`init`], with another default level (quieter tools use `warn`).
pub fn init_with_default(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr);
    let _ = if std::env::var("REPLAYDESK_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Colour codes only for a person at a terminal: a log redirected to a file, a pipe or a
/// service manager's journal would otherwise hold raw escape sequences. `NO_COLOR`
/// (<https://no-color.org>) turns them off at a terminal too.
pub fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// As [`init`], writing every line to `file` (appended) as well as to stderr: the desktop
/// app's log, which a teacher can send along with a problem report.
pub fn init_with_file(file: &std::path::Path) -> std::io::Result<()> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Owner-only: the log names classes and members (see `fsmode`).
    let f = replaydesk_fsmode::append(file)?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr.and(std::sync::Mutex::new(f)))
        .try_init();
    Ok(())
}

/// `uri`'s path and query as a log may show them: each query value is `***` (names kept,
/// so the line still says what was asked; a name without a value is `***` too). A query can carry a secret (the console's
/// `?token=` sign-in link, a client that put its credential there), and a log line
/// cannot tell which values are secret.
pub fn uri_without_query_values(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=***"),
            // A bare word may be the secret itself (`/?s3cret`).
            None if pair.is_empty() => String::new(),
            None => "***".to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::uri_without_query_values as shown;

    #[test]
    fn query_values_are_hidden_and_names_kept() {
        let uri = |s: &str| s.parse::<axum::http::Uri>().unwrap();
        assert_eq!(shown(&uri("/v1/admin/classes")), "/v1/admin/classes");
        assert_eq!(shown(&uri("/?token=s3cret")), "/?token=***");
        assert_eq!(
            shown(&uri("/a?token=s3cret&limit=5")),
            "/a?token=***&limit=***"
        );
        assert_eq!(shown(&uri("/a?s3cret")), "/a?***");
    }
}
