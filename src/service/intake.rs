//! The group-commit writer: every accepted client report goes through one task that
//! commits whatever has queued up while the previous commit was being made, in one
//! transaction (one fsync for a burst), and answers each report only after its commit.
//!
//! Under light load a batch is one report and nothing waits; under a burst the batch grows
//! by itself (the reports that arrived during the last fsync), so throughput follows the
//! load without any timer and without weakening durability.

use replaydesk_delivery::Delivery;
use replaydesk_store::{Inserted, IntakeItem, Store, StoreResult};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Most reports committed in one transaction.
pub const MAX_BATCH: usize = 256;
/// Reports waiting for the writer before submitters wait too (back-pressure).
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<StoreResult<Inserted>>;

/// Counters kept by the writer.
#[derive(Debug, Default)]
pub(crate) struct IntakeCounters {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub batches: AtomicU64,
}

pub(crate) struct Intake {
    tx: Mutex<Option<mpsc::Sender<(IntakeItem, Reply)>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Why a report could not be taken.
pub(crate) enum SubmitError {
    /// The service is stopping: the report was not taken.
    Closed,
    Store(replaydesk_store::StoreError),
}

impl Intake {
    pub(crate) fn start(store: Store, delivery: Delivery, counters: Arc<IntakeCounters>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(writer(store, delivery, rx, counters));
        Self {
            tx: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
        }
    }

    /// Queues `item` and waits for its commit.
    pub(crate) async fn submit(&self, item: IntakeItem) -> Result<Inserted, SubmitError> {
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(SubmitError::Closed)?;
        let (reply, answer) = oneshot::channel();
        tx.send((item, reply))
            .await
            .map_err(|_| SubmitError::Closed)?;
        drop(tx);
        match answer.await {
            Ok(Ok(inserted)) => Ok(inserted),
            Ok(Err(e)) => Err(SubmitError::Store(e)),
            // The writer stopped before answering; it commits or drops whole batches, and
            // stops only after its queue is empty, so this is a report never taken.
            Err(_) => Err(SubmitError::Closed),
        }
    }

    /// Takes no more reports, and waits until every queued one is committed and answered.
    pub(crate) async fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

async fn writer(
    store: Store,
    delivery: Delivery,
    mut rx: mpsc::Receiver<(IntakeItem, Reply)>,
    counters: Arc<IntakeCounters>,
) {
    let mut items = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    while let Some((item, reply)) = rx.recv().await {
        items.push(item);
        replies.push(reply);
        while items.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((item, reply)) => {
                    items.push(item);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        let results = store.record_intake(&items).await;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        delivery.wake();
        for (reply, result) in replies.drain(..).zip(results) {
            if let Ok(ins) = &result {
                let c = if ins.created {
                    &counters.accepted
                } else {
                    &counters.duplicates
                };
                c.fetch_add(1, Ordering::Relaxed);
            }
            let _ = reply.send(result);
        }
        items.clear();
    }
}
