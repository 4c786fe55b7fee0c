//! `replaydesk deliver`: runs only the delivery worker over a database, until SIGINT or
//! SIGTERM — to drain an outbox, or as a separate worker process.

use replaydesk::delivery::{Delivery, DeliveryConfig, RetrySchedule};
use replaydesk::im::client::{ImClient, ImConfig};
use replaydesk::secret::Secret;
use replaydesk::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct DeliverArgs {
    /// SQLite database file, or a `postgres://` URL.
    #[arg(long, env = "REPLAYDESK_DB")]
    pub db: PathBuf,
    /// IM REST base URL (e.g. https://console.tim.qq.com, or an `im-emulator`).
    /// (The environment's value is not shown in `--help`: an endpoint may hold `user:pass@`.)
    #[arg(long, env = "REPLAYDESK_IM_ENDPOINT", hide_env_values = true)]
    pub im_endpoint: String,
    #[arg(long, env = "REPLAYDESK_IM_SDKAPPID")]
    pub sdkappid: u64,
    #[arg(long, env = "REPLAYDESK_IM_ADMIN", default_value = "administrator")]
    pub admin: String,
    #[arg(long, env = "REPLAYDESK_IM_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Secret,
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
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// How long a claimed message is held without renewal (e.g. "30s"); a worker killed
    /// mid-attempt leaves its messages to be taken back after this.
    #[arg(long, default_value = "30s", value_parser = replaydesk::delivery::parse_duration)]
    pub lease: Duration,
}

/// By hand: the endpoint without `user:pass@`, the key as `***`.
impl std::fmt::Debug for DeliverArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliverArgs")
            .field("db", &replaydesk::store::db_for_display(&self.db))
            .field(
                "im_endpoint",
                &replaydesk::secret::without_userinfo(&self.im_endpoint),
            )
            .field("sdkappid", &self.sdkappid)
            .field("admin", &self.admin)
            .field("secret_key", &self.secret_key)
            .field("schedule", &self.schedule)
            .field("app_rate", &self.app_rate)
            .field("group_rate", &self.group_rate)
            .field("concurrency", &self.concurrency)
            .field("lease", &self.lease)
            .finish()
    }
}

pub fn run(args: DeliverArgs) -> ExitCode {
    replaydesk::logging::init();
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
        args.secret_key,
    ))
    .map_err(|e| e.to_string())?;
    let delivery = Delivery::new(store.clone(), Arc::new(im), config);
    let worker = delivery.start().await.map_err(|e| e.to_string())?;
    tracing::info!(db = %replaydesk::store::db_for_display(&args.db), "delivery worker running");
    replaydesk::signals::shutdown_signal().await;
    tracing::info!("stopping: letting attempts in flight finish");
    delivery.shutdown(worker, Duration::from_secs(15)).await;
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: DeliverArgs,
    }

    /// Hole 11: the `deliver` arguments print neither the endpoint's `user:pass@` nor the key.
    #[test]
    fn debug_output_hides_the_endpoint_userinfo_and_key() {
        let cli = Cli::try_parse_from([
            "deliver",
            "--db",
            "x.db",
            "--im-endpoint",
            "https://ops:hunter2-pw@console.tim.qq.com",
            "--sdkappid",
            "1",
            "--secret-key",
            "hunter2-key",
        ])
        .unwrap();
        assert_eq!(cli.args.secret_key.expose(), "hunter2-key");
        let shown = format!("{:?}", cli.args);
        assert!(
            !shown.contains("hunter2") && !shown.contains("ops:"),
            "{shown}"
        );
        assert!(shown.contains("https://console.tim.qq.com"), "{shown}");
    }
}
