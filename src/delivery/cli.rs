//! `replaydesk deliver`: runs only the delivery worker over a database, until SIGINT or
//! SIGTERM — to drain an outbox, or as a separate worker process.

use super::{Delivery, DeliveryConfig, RetrySchedule};
use crate::im::client::{ImClient, ImConfig};
use crate::secret::Secret;
use crate::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct DeliverArgs {
    /// SQLite database file.
    #[arg(long, env = "REPLAYDESK_DB")]
    pub db: PathBuf,
    /// IM REST base URL (e.g. https://console.tim.qq.com, or an `im-emulator`).
    #[arg(long, env = "REPLAYDESK_IM_ENDPOINT")]
    pub im_endpoint: String,
    #[arg(long, env = "REPLAYDESK_IM_SDKAPPID")]
    pub sdkappid: u64,
    #[arg(long, env = "REPLAYDESK_IM_ADMIN", default_value = "administrator")]
    pub admin: String,
    #[arg(long, env = "REPLAYDESK_IM_SECRET_KEY", hide_env_values = true)]
    pub secret_key: String,
    /// Retry delays, e.g. "1s,5s,15s,1m,5m" (units ms, s, m, h).
    #[arg(long)]
    pub schedule: Option<String>,
    /// Requests per second for the app (0 = no limit).
    #[arg(long, default_value_t = 200.0)]
    pub app_rate: f64,
    /// Messages per second per group (0 = no limit).
    #[arg(long, default_value_t = 40.0)]
    pub group_rate: f64,
    /// Attempts in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// How long a claimed message is held without renewal (e.g. "30s"); a worker killed
    /// mid-attempt leaves its messages to be taken back after this.
    #[arg(long, default_value = "30s", value_parser = super::parse_duration)]
    pub lease: Duration,
}

pub fn run(args: DeliverArgs) -> ExitCode {
    crate::logging::init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(deliver(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replaydesk deliver: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn deliver(args: DeliverArgs) -> Result<(), String> {
    let mut config = DeliveryConfig {
        app_rate: args.app_rate,
        group_rate: args.group_rate,
        concurrency: args.concurrency.max(1),
        lease: args.lease.max(Duration::from_millis(100)),
        ..DeliveryConfig::default()
    };
    if let Some(s) = &args.schedule {
        config.schedule = RetrySchedule::parse(s, 0.2)?;
    }
    let store = Store::open(&args.db).await.map_err(|e| e.to_string())?;
    let im = ImClient::new(ImConfig::new(
        args.im_endpoint,
        args.sdkappid,
        args.admin,
        Secret::new(args.secret_key),
    ))
    .map_err(|e| e.to_string())?;
    let delivery = Delivery::new(store.clone(), Arc::new(im), config);
    let worker = delivery.start().await.map_err(|e| e.to_string())?;
    tracing::info!(db = %args.db.display(), "delivery worker running");
    crate::signals::shutdown_signal().await;
    tracing::info!("stopping: letting attempts in flight finish");
    delivery.shutdown(worker, Duration::from_secs(15)).await;
    store.close().await;
    Ok(())
}
