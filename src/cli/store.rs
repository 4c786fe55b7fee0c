//! `replaydesk migrate`: applies the store's migrations to a database explicitly (every
//! `serve`/`deliver` also applies them at start; with several nodes, run this once before
//! rolling a new version out). `replaydesk migrate-store --from --to`: copies a whole store
//! into another, empty one (an SQLite install moving to PostgreSQL).

use replaydesk::store::{db_for_display, Store};
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

#[derive(clap::Args)]
pub struct MigrateStoreArgs {
    /// The store to copy: an SQLite file or a `postgres://` URL. Only read.
    #[arg(long)]
    pub from: PathBuf,
    /// The store to fill: a `postgres://` URL or an SQLite file, empty (it is migrated
    /// first). Nothing is written unless everything is.
    #[arg(long)]
    pub to: PathBuf,
}

pub fn run_migrate_store(args: MigrateStoreArgs) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("replaydesk migrate-store: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (from, to) = (db_for_display(&args.from), db_for_display(&args.to));
    let result = rt.block_on(async {
        if replaydesk::store::Engine::of(&args.from.to_string_lossy())
            == replaydesk::store::Engine::Sqlite
            && !args.from.is_file()
        {
            return Err(replaydesk::store::StoreError::NotFound(format!(
                "database {from}"
            )));
        }
        let source = Store::open(&args.from).await?;
        let dest = Store::open(&args.to).await?;
        let result = source.copy_into(&dest).await;
        source.close().await;
        dest.close().await;
        result
    });
    match result {
        Ok(counts) => {
            for (table, n) in counts {
                println!("{table}: {n} rows");
            }
            println!("copied {from} into {to}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("replaydesk migrate-store: {e}");
            ExitCode::FAILURE
        }
    }
}
