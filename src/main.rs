//! The `replaydesk` command line: one binary for the server, the IM emulator and tools.

mod cli;

use clap::{Parser, Subcommand};
use replaydesk::im::usersig;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "replaydesk",
    version,
    about = "ReplayDesk: durable replay-protocol messages for live classes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the headless reporting backend (sandbox mode when no IM endpoint is set).
    Serve(replaydesk::server::cli::ServeArgs),
    /// Print a version-2 UserSig for the IM REST API.
    Usersig {
        #[arg(long)]
        sdkappid: u64,
        #[arg(long)]
        identifier: String,
        /// The app's secret key. Prefer the environment variable: flags show in `ps`.
        #[arg(long, env = "REPLAYDESK_IM_SECRET_KEY", hide_env_values = true)]
        secret_key: String,
        /// Seconds of validity.
        #[arg(long, default_value_t = usersig::DEFAULT_EXPIRE_SECS)]
        expire: u64,
        /// Unix time the sig is made at (default: now).
        #[arg(long)]
        time: Option<i64>,
    },
    /// Check a UserSig as the IM service would; exits 1 and prints the IM error if refused.
    VerifyUsersig {
        #[arg(long)]
        sdkappid: u64,
        #[arg(long)]
        identifier: String,
        #[arg(long, env = "REPLAYDESK_IM_SECRET_KEY", hide_env_values = true)]
        secret_key: String,
        /// The sig to check.
        #[arg(long)]
        sig: String,
        /// Unix time to check expiry against (default: now).
        #[arg(long)]
        now: Option<i64>,
    },
    /// Run the local IM service emulator (the IM REST calls ReplayDesk makes, with fault knobs).
    ImEmulator(cli::emulator::ImEmulatorArgs),
    /// Run only the delivery worker over a database (drain an outbox; a separate worker).
    Deliver(cli::delivery::DeliverArgs),
    /// Recording callbacks for testing a set-up: `callback send --kind trtc|css --file
    /// BODY.json --url URL --key KEY` signs a body as the cloud would and posts it.
    #[command(subcommand)]
    Callback(cli::callback::CallbackCommand),
    /// Fill a running `serve` with a demo class (timelines, callbacks, failures) over HTTP.
    Demo(replaydesk::demo::DemoArgs),
    /// Align a class (from a database) or a saved group history: users' clocks, videos,
    /// events on the server axis, and what is wrong.
    Align(cli::align::AlignArgs),
    /// Apply the store's migrations to a database (SQLite file or `postgres://` URL).
    Migrate(cli::store::MigrateArgs),
    /// Copy a whole store into another, empty one (move an SQLite install to PostgreSQL).
    MigrateStore(cli::store::MigrateStoreArgs),
    /// Back an SQLite store up while `serve` runs: a checked, owner-only copy.
    Backup(cli::store::BackupArgs),
    /// Put a backup back as a store, into a place where there is none.
    Restore(cli::store::RestoreArgs),
    /// Export a class (class, members, messages, attempts, group history, alignment) as one
    /// JSON bundle without secrets.
    Export(cli::align::ExportArgs),
    /// The console's people: add, list, set-role, disable, reset-password.
    #[command(subcommand)]
    User(cli::people::UserCommand),
    /// People's API tokens: create, list, revoke.
    #[command(subcommand)]
    Token(cli::people::TokenCommand),
    /// Import a class bundle (from `replaydesk export` or the export route) into a database
    /// for inspection: the class becomes a read-only record, never delivered or resent.
    Import(cli::align::ImportArgs),
}

fn unix_now() -> i64 {
    replaydesk::clock::unix_ms_now().div_euclid(1000)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => replaydesk::server::cli::run(args),
        Command::Usersig {
            sdkappid,
            identifier,
            secret_key,
            expire,
            time,
        } => {
            let time = time.unwrap_or_else(unix_now);
            println!(
                "{}",
                usersig::generate(sdkappid, &identifier, &secret_key, time, expire)
            );
            ExitCode::SUCCESS
        }
        Command::VerifyUsersig {
            sdkappid,
            identifier,
            secret_key,
            sig,
            now,
        } => match usersig::verify(
            &sig,
            sdkappid,
            &identifier,
            &secret_key,
            now.unwrap_or_else(unix_now),
        ) {
            Ok(v) => {
                println!(
                    "valid: identifier={} sdkappid={} time={} expire={} expires_at={}",
                    v.identifier,
                    v.sdkappid,
                    v.time,
                    v.expire,
                    v.expires_at()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("refused ({}): {e}", e.im_error_code());
                ExitCode::from(1)
            }
        },
        Command::ImEmulator(args) => cli::emulator::run(args),
        Command::Demo(args) => replaydesk::demo::run(args),
        Command::Callback(cmd) => cli::callback::run(cmd),
        Command::Deliver(args) => cli::delivery::run(args),
        Command::Migrate(args) => cli::store::run(args),
        Command::MigrateStore(args) => cli::store::run_migrate_store(args),
        Command::Backup(args) => cli::store::run_backup(args),
        Command::Restore(args) => cli::store::run_restore(args),
        Command::Align(args) => cli::align::run(args),
        Command::Export(args) => cli::align::run_export(args),
        Command::Import(args) => cli::align::run_import(args),
        Command::User(cmd) => cli::people::run_user(cmd),
        Command::Token(cmd) => cli::people::run_token(cmd),
    }
}
