//! `replaydesk im-emulator`: the emulator as a standalone process.

use replaydesk::emulator::{
    Emulator, EmulatorConfig, FaultConfig, Retention, DEFAULT_ADMIN, DEFAULT_APP_RATE,
    DEFAULT_DUP_WINDOW, DEFAULT_GROUP_RATE,
};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Flags of `replaydesk im-emulator`. (No `Debug`: it holds the secret key.)
#[derive(Clone, clap::Args)]
pub struct ImEmulatorArgs {
    /// Address to listen on; port 0 picks a free port. The address taken is printed.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// The IM app id the emulator serves.
    #[arg(long)]
    pub sdkappid: u64,
    /// The app's secret key, which UserSigs are checked with. Prefer the environment
    /// variable: flags show in `ps`.
    #[arg(long, env = "REPLAYDESK_IM_SECRET_KEY", hide_env_values = true)]
    pub secret_key: String,
    /// The administrator account allowed to call.
    #[arg(long, default_value = DEFAULT_ADMIN)]
    pub admin: String,
    /// Requests a second per app, all commands (0 = no limit).
    #[arg(long, default_value_t = DEFAULT_APP_RATE)]
    pub app_rate: u32,
    /// Messages a second per group (0 = no limit).
    #[arg(long, default_value_t = DEFAULT_GROUP_RATE)]
    pub group_rate: u32,
    /// Seconds a message's `Random` is remembered by the duplicate filter (0 = off).
    #[arg(long, default_value_t = DEFAULT_DUP_WINDOW.as_secs())]
    pub dup_window_secs: u64,
    /// Share of calls (0..1) answered with an error drawn from --fail-codes.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub fail_rate: f64,
    /// IM error codes --fail-rate draws from, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10002")]
    pub fail_codes: Vec<i64>,
    /// Share of calls (0..1) answered with HTTP 500, unprocessed.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub http500_rate: f64,
    /// Share of calls (0..1) processed whose response is then lost.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub lost_response_rate: f64,
    /// Milliseconds added to each call.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Up to this many milliseconds more per call, drawn uniformly.
    #[arg(long, default_value_t = 0)]
    pub latency_jitter_ms: u64,
    /// Apply the fault knobs to every command, not only send_group_msg.
    #[arg(long)]
    pub faults_all_commands: bool,
    /// Keep the groups in this SQLite file (created if missing), so that they outlive a
    /// restart; without it they live in memory only. Writes are batched (every 100 ms).
    #[arg(long)]
    pub db: Option<std::path::PathBuf>,
    /// Seconds a group keeps a message (from when it was sent); older ones read back as
    /// the service returns expired messages (`IsPlaceMsg` 1, no body). None: for ever.
    #[arg(long)]
    pub retention_secs: Option<u64>,
    /// Messages a group keeps; older ones read back as expired. None: no cap.
    #[arg(long)]
    pub max_group_messages: Option<u64>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number between 0 and 1")),
    }
}

impl ImEmulatorArgs {
    /// The emulator configuration these flags describe.
    pub fn config(&self) -> EmulatorConfig {
        EmulatorConfig {
            sdkappid: self.sdkappid,
            secret_key: self.secret_key.clone(),
            admin: self.admin.clone(),
            app_rate: self.app_rate,
            group_rate: self.group_rate,
            dup_window: Duration::from_secs(self.dup_window_secs),
            faults: FaultConfig {
                fail_rate: self.fail_rate,
                fail_codes: self.fail_codes.clone(),
                http500_rate: self.http500_rate,
                lost_response_rate: self.lost_response_rate,
                latency_ms: self.latency_ms,
                latency_jitter_ms: self.latency_jitter_ms,
                all_commands: self.faults_all_commands,
            },
            retention: Retention {
                max_age_secs: self.retention_secs,
                max_messages: self.max_group_messages,
            },
        }
    }
}

/// Runs the emulator until SIGINT or SIGTERM. Prints one line on stdout once listening:
/// `replaydesk im-emulator listening on http://ADDR (sdkappid N, admin ID)`. Never prints
/// the secret key.
pub fn run(args: ImEmulatorArgs) -> ExitCode {
    replaydesk::logging::init_with_default("warn");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("im-emulator: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: ImEmulatorArgs) -> ExitCode {
    let addr: SocketAddr = match tokio::net::lookup_host(args.listen.as_str()).await {
        Ok(mut addrs) => match addrs.next() {
            Some(a) => a,
            None => {
                eprintln!("im-emulator: {:?} resolves to no address", args.listen);
                return ExitCode::from(2);
            }
        },
        Err(e) => {
            eprintln!("im-emulator: invalid --listen {:?}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let config = args.config();
    let made = match &args.db {
        Some(path) => Emulator::new_persistent(config, path).await,
        None => Emulator::new(config),
    };
    let emulator = match made {
        Ok(e) => e,
        Err(e) => {
            eprintln!("im-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("im-emulator: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let handle = match emulator.serve(listener) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("im-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "replaydesk im-emulator listening on {} (sdkappid {}, admin {})",
        handle.base_url(),
        handle.emulator().sdkappid(),
        handle.emulator().admin()
    );
    let faults = handle.faults();
    if faults != FaultConfig::none() {
        println!(
            "faults: fail_rate={} fail_codes={:?} http500_rate={} lost_response_rate={} latency_ms={}+{} all_commands={}",
            faults.fail_rate,
            faults.fail_codes,
            faults.http500_rate,
            faults.lost_response_rate,
            faults.latency_ms,
            faults.latency_jitter_ms,
            faults.all_commands
        );
    }
    replaydesk::signals::shutdown_signal().await;
    println!("im-emulator: stopping");
    match handle.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("im-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
