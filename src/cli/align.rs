//! `replaydesk align`: a class from a database, or a saved `group_msg_get_simple` dump,
//! as a readable report or as JSON.

use replaydesk::align::{align_dump, render_text, AlignOptions, Alignment};
use replaydesk::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["class", "history"])))]
pub struct AlignArgs {
    /// A class in the database (its log, or its group's history once reconciled).
    #[arg(long)]
    pub class: Option<String>,
    /// SQLite database file (with --class).
    #[arg(long, env = "REPLAYDESK_DB", default_value = replaydesk::config::DEFAULT_DB)]
    pub db: PathBuf,
    /// A saved dump: one group_msg_get_simple answer, an array of answers, or an array of
    /// RspMsgList items.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Print the alignment as JSON instead of a report.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: AlignArgs) -> ExitCode {
    match alignment(&args) {
        Ok(a) => {
            if args.json {
                match serde_json::to_string_pretty(&a) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("replaydesk align: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", render_text(&a));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("replaydesk align: {e}");
            ExitCode::FAILURE
        }
    }
}

fn alignment(args: &AlignArgs) -> Result<Alignment, String> {
    if let Some(path) = &args.history {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return align_dump(&text, &AlignOptions::default())
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let class = args.class.as_deref().unwrap_or_default();
    // Opening would create a missing file: refuse instead, and change nothing.
    if replaydesk::store::Engine::of(&args.db.to_string_lossy())
        == replaydesk::store::Engine::Sqlite
        && !args.db.is_file()
    {
        return Err(format!("no database at {}", args.db.display()));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async {
        let store = Store::open(&args.db).await.map_err(|e| e.to_string())?;
        let a = replaydesk::service::align_class(&store, class)
            .await
            .map_err(|e| e.to_string());
        store.close().await;
        a
    })
}

/// `replaydesk export`: a class of a database as one JSON bundle without secrets.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The class to export.
    #[arg(long)]
    pub class: String,
    /// SQLite database file.
    #[arg(long, env = "REPLAYDESK_DB", default_value = replaydesk::config::DEFAULT_DB)]
    pub db: PathBuf,
    /// Write the bundle here instead of to standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run_export(args: ExportArgs) -> ExitCode {
    match export(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replaydesk export: {e}");
            ExitCode::FAILURE
        }
    }
}

fn export(args: &ExportArgs) -> Result<(), String> {
    // Opening would create a missing file: refuse instead, and change nothing.
    if replaydesk::store::Engine::of(&args.db.to_string_lossy())
        == replaydesk::store::Engine::Sqlite
        && !args.db.is_file()
    {
        return Err(format!("no database at {}", args.db.display()));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let bundle = rt.block_on(async {
        let store = Store::open(&args.db).await.map_err(|e| e.to_string())?;
        let b = replaydesk::service::export_class(
            &store,
            &args.class,
            replaydesk::clock::unix_ms_now(),
        )
        .await
        .map_err(|e| e.to_string());
        store.close().await;
        b
    })?;
    let text = serde_json::to_string_pretty(&bundle).map_err(|e| e.to_string())?;
    match &args.out {
        Some(p) => {
            // Owner-only: a class's members and their messages (see `fsmode`).
            replaydesk::fsmode::write(p, text + "\n")
                .map_err(|e| format!("cannot write {}: {e}", p.display()))
        }
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

/// `replaydesk import`: a class bundle into a database, for inspection.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The bundle file (`replaydesk export --out FILE`, or the export route's answer).
    pub file: PathBuf,
    /// SQLite database file (created and migrated if missing).
    #[arg(long, env = "REPLAYDESK_DB", default_value = replaydesk::config::DEFAULT_DB)]
    pub db: PathBuf,
}

pub fn run_import(args: ImportArgs) -> ExitCode {
    match import(&args) {
        Ok(class) => {
            println!(
                "imported class {} (group {}) into {}: a read-only record, never delivered from here",
                class.class_id,
                class.group_id,
                args.db.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("replaydesk import: {e}");
            ExitCode::FAILURE
        }
    }
}

fn import(args: &ImportArgs) -> Result<replaydesk::store::ClassRecord, String> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    // Read and checked before the database is opened: a bad bundle changes nothing.
    let checked = replaydesk::service::parse_bundle(&bytes)
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async {
        let store = Store::open(&args.db).await.map_err(|e| e.to_string())?;
        let c = replaydesk::service::import_bundle(
            &store,
            &checked,
            &replaydesk::service::Actor::new("cli", replaydesk::service::Door::Cli),
        )
        .await
        .map_err(|e| e.to_string());
        store.close().await;
        c
    })
}
