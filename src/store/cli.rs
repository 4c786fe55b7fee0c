//! `replaydesk migrate`: applies the store's migrations to a database explicitly (every
//! `serve`/`deliver` also applies them at start; with several nodes, run this once before
//! rolling a new version out).

use super::{db_for_display, Store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MigrateArgs {
    /// SQLite database file, or a `postgres://` URL.
    #[arg(long, env = "REPLAYDESK_DB")]
    pub db: PathBuf,
}

pub fn run(args: MigrateArgs) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("replaydesk migrate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shown = db_for_display(&args.db);
    match rt.block_on(async {
        let store = Store::connect(&args.db).await?;
        let engine = store.engine();
        let result = store.migrate().await;
        store.close().await;
        result.map(|()| engine)
    }) {
        Ok(engine) => {
            println!("migrated: {shown} ({engine:?})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("replaydesk migrate: {shown}: {e}");
            ExitCode::FAILURE
        }
    }
}
