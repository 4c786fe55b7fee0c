//! Intake's group commit: every accepted client report goes through one
//! [`GroupCommit`] writer, which commits whatever has queued up while the previous commit
//! was being made in one transaction, and answers each report only after its commit.

use replaydesk_delivery::Delivery;
use replaydesk_store::{GroupCommit, Inserted, IntakeItem, Store, StoreResult};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Most reports committed in one transaction.
pub const MAX_BATCH: usize = 256;
/// Reports waiting for the writer before submitters wait too (back-pressure).
const QUEUE: usize = 4096;

/// Counters kept by the writer.
#[derive(Debug, Default)]
pub(crate) struct IntakeCounters {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub batches: AtomicU64,
}

pub(crate) struct Intake {
    writer: GroupCommit<IntakeItem, StoreResult<Inserted>>,
    /// Reports submitted and not yet answered (queued or in the commit being made).
    waiting: AtomicUsize,
}

/// Why a report could not be taken.
pub(crate) enum SubmitError {
    /// The service is stopping: the report was not taken.
    Closed,
    Store(replaydesk_store::StoreError),
}

impl Intake {
    pub(crate) fn start(store: Store, delivery: Delivery, counters: Arc<IntakeCounters>) -> Self {
        let writer = GroupCommit::start(MAX_BATCH, QUEUE, move |items: Vec<IntakeItem>| {
            let (store, delivery, counters) = (store.clone(), delivery.clone(), counters.clone());
            async move {
                let results = store.record_intake(&items).await;
                counters.batches.fetch_add(1, Ordering::Relaxed);
                delivery.wake();
                for ins in results.iter().flatten() {
                    let c = if ins.created {
                        &counters.accepted
                    } else {
                        &counters.duplicates
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                }
                results
            }
        });
        Self {
            writer,
            waiting: AtomicUsize::new(0),
        }
    }

    /// Whether reports are waiting for their commit: background writers (an archive pass)
    /// leave SQLite's one writer to them meanwhile.
    pub(crate) fn busy(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) > 0
    }

    /// Queues `item` and waits for its commit.
    pub(crate) async fn submit(&self, item: IntakeItem) -> Result<Inserted, SubmitError> {
        // Counted down on every way out, a submitter that went away (a client that hung up)
        // included.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        match self.writer.submit(item).await {
            Ok(Ok(inserted)) => Ok(inserted),
            Ok(Err(e)) => Err(SubmitError::Store(e)),
            Err(_) => Err(SubmitError::Closed),
        }
    }

    /// Takes no more reports, and waits until every queued one is committed and answered.
    pub(crate) async fn close(&self) {
        self.writer.close().await;
    }
}
