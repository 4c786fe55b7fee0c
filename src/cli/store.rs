//! `replaydesk migrate`: applies the store's migrations to a database explicitly (every
//! `serve`/`deliver` also applies them at start; with several nodes, run this once before
//! rolling a new version out); `migrate --check` only says whether that is needed. `replaydesk migrate-store --from --to`: copies a whole store
//! into another, empty one (an SQLite install moving to PostgreSQL).

use replaydesk::store::{db_for_display, SchemaState, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MigrateArgs {
    /// SQLite database file, or a `postgres://` URL.
    #[arg(long, env = "REPLAYDESK_DB")]
    pub db: PathBuf,
    /// Only say whether the store needs migrating, touching nothing: exit 0 when current,
    /// 10 when migrations are pending, 11 when a newer ReplayDesk migrated it, another
    /// non-zero code on an error.
    #[arg(long)]
    pub check: bool,
}

/// `migrate --check`: the store is current.
pub const CHECK_CURRENT: u8 = 0;
/// `migrate --check`: migrations are pending (`serve` or `migrate` applies them).
pub const CHECK_PENDING: u8 = 10;
/// `migrate --check`: a newer release migrated the store; this binary must not run on it.
pub const CHECK_NEWER: u8 = 11;

pub fn run(args: MigrateArgs) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("replaydesk migrate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shown = db_for_display(&args.db);
    if args.check {
        return match rt.block_on(replaydesk::store::schema_state(&args.db)) {
            Ok(state) => {
                println!("{shown}: {}", state.describe());
                ExitCode::from(match state {
                    SchemaState::Current { .. } => CHECK_CURRENT,
                    SchemaState::Pending { .. } => CHECK_PENDING,
                    SchemaState::Newer { .. } => CHECK_NEWER,
                })
            }
            Err(e) => {
                eprintln!("replaydesk migrate --check: {shown}: {e}");
                ExitCode::FAILURE
            }
        };
    }
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

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The SQLite store to copy (it may be in use by `serve`). Only read.
    #[arg(long, env = "REPLAYDESK_DB")]
    pub db: PathBuf,
    /// The backup file to make; must not exist.
    #[arg(long)]
    pub to: PathBuf,
    /// Copy `<db>.secrets.toml` (the IM key an admin fixed at run time) beside the backup,
    /// as `<to>.secrets.toml`.
    #[arg(long)]
    pub with_secrets: bool,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file (from `replaydesk backup`).
    #[arg(long)]
    pub from: PathBuf,
    /// Where to put the store back: no file may be there yet.
    #[arg(long)]
    pub db: PathBuf,
}

fn print_summary(what: &str, path: &Path, s: &replaydesk::store::backup::StoreSummary) {
    println!(
        "{what}: {} ({} bytes, schema version {})",
        path.display(),
        s.bytes,
        s.schema_version
            .map_or("none".to_owned(), |v| v.to_string())
    );
    for (table, n) in &s.tables {
        println!("  {table}: {n} rows");
    }
}

/// Copies `file` to `dest` owner-only (neither may be a store); `dest` must not exist.
fn copy_secrets(file: &Path, dest: &Path, owner_like: &Path) -> std::io::Result<()> {
    let bytes = std::fs::read(file)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(replaydesk::fsmode::OWNER_ONLY);
    }
    let mut f = opts.open(dest)?;
    std::io::Write::write_all(&mut f, &bytes)?;
    f.sync_all()?;
    replaydesk::store::backup::own_like(dest, owner_like)
}

/// `replaydesk backup`: a consistent copy of an SQLite store, taken while `serve` runs.
pub fn run_backup(args: BackupArgs) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("replaydesk backup: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let secrets = replaydesk::server::cli::secrets_file_beside(&args.db);
    let secrets_to = replaydesk::store::backup::with_suffix(&args.to, ".secrets.toml");
    if args.with_secrets && secrets.is_file() && secrets_to.exists() {
        eprintln!(
            "replaydesk backup: {} exists: a backup never overwrites a file",
            secrets_to.display()
        );
        return ExitCode::FAILURE;
    }
    let summary = match rt.block_on(replaydesk::store::backup::backup(&args.db, &args.to)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("replaydesk backup: {}: {e}", db_for_display(&args.db));
            return ExitCode::FAILURE;
        }
    };
    print_summary("backup", &args.to, &summary);
    println!("integrity: ok");
    match (args.with_secrets, secrets.is_file()) {
        (true, true) => {
            if let Err(e) = copy_secrets(&secrets, &secrets_to, &args.db) {
                eprintln!(
                    "replaydesk backup: the store is backed up, but {} could not be copied to {}: {e}",
                    secrets.display(),
                    secrets_to.display()
                );
                return ExitCode::FAILURE;
            }
            println!("secrets: {}", secrets_to.display());
        }
        (true, false) => println!(
            "secrets: none ({} does not exist: no IM key was fixed at run time)",
            secrets.display()
        ),
        (false, true) => println!(
            "secrets: not copied ({} holds the IM key fixed at run time; --with-secrets copies it)",
            secrets.display()
        ),
        (false, false) => {}
    }
    ExitCode::SUCCESS
}

/// `replaydesk restore`: puts a backup back into an empty place.
pub fn run_restore(args: RestoreArgs) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("replaydesk restore: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = replaydesk::store::backup::refuse_existing(&args.db) {
        eprintln!("replaydesk restore: {e}");
        return ExitCode::FAILURE;
    }
    let secrets_from = replaydesk::store::backup::with_suffix(&args.from, ".secrets.toml");
    let secrets = replaydesk::server::cli::secrets_file_beside(&args.db);
    if secrets_from.is_file() && secrets.exists() {
        eprintln!(
            "replaydesk restore: {} exists: restore only fills an empty place; move it aside first",
            secrets.display()
        );
        return ExitCode::FAILURE;
    }
    let (summary, state) =
        match rt.block_on(replaydesk::store::backup::restore(&args.from, &args.db)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("replaydesk restore: {e}");
                return ExitCode::FAILURE;
            }
        };
    print_summary("restored", &args.db, &summary);
    println!("integrity: ok");
    println!("schema: {}", state.describe());
    if secrets_from.is_file() {
        if let Err(e) = copy_secrets(&secrets_from, &secrets, &args.db) {
            eprintln!(
                "replaydesk restore: the store is restored, but {} could not be copied to {}: {e}",
                secrets_from.display(),
                secrets.display()
            );
            return ExitCode::FAILURE;
        }
        println!("secrets: {}", secrets.display());
    }
    ExitCode::SUCCESS
}
