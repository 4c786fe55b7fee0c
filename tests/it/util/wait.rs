//! Polling for a condition in integration tests (used by both kinds of set-up: the
//! delivery [`super::Harness`] and the in-process [`super::server::TestServer`]).

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` until it returns true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
