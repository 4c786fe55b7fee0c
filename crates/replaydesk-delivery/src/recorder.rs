//! Group commit for attempt outcomes: every attempt that finishes while another batch is
//! being committed joins the next batch (see [`GroupCommit`]), so a busy worker records
//! many attempts per transaction (one fsync) instead of one each. Each caller still learns
//! the outcome of its own attempt's commit before it goes on, exactly as with one
//! transaction each.

use replaydesk_store::{AttemptRecord, GroupCommit, Store, StoreError, StoreResult, Transition};
use std::sync::OnceLock;

/// Most attempts recorded in one transaction.
const MAX_BATCH: usize = 512;
/// Attempts waiting for the writer before callers wait too; the attempts in flight are
/// bounded by the worker's concurrency long before this.
const QUEUE: usize = 4096;

type Writer = GroupCommit<(AttemptRecord, Transition), StoreResult<bool>>;

#[derive(Default)]
pub(crate) struct Recorder {
    /// Started by the first attempt to finish: the worker is built outside a runtime in
    /// places (tests, benches) and may never send anything.
    writer: OnceLock<Writer>,
}

impl Recorder {
    /// Records `rec` and moves its message (see [`Store::finish_attempts`]); returns
    /// whether the message moved, once that is committed. `store` and `owner` are the
    /// worker's own, the same on every call.
    pub(crate) async fn finish(
        &self,
        store: &Store,
        owner: &str,
        rec: AttemptRecord,
        transition: Transition,
    ) -> StoreResult<bool> {
        let writer = self.writer.get_or_init(|| {
            let (store, owner) = (store.clone(), owner.to_owned());
            GroupCommit::start(
                MAX_BATCH,
                QUEUE,
                move |batch: Vec<(AttemptRecord, Transition)>| {
                    let (store, owner) = (store.clone(), owner.clone());
                    async move {
                        let items: Vec<(&AttemptRecord, &Transition)> =
                            batch.iter().map(|(r, t)| (r, t)).collect();
                        store.finish_attempts(&owner, &items).await
                    }
                },
            )
        });
        writer.submit((rec, transition)).await.unwrap_or_else(|_| {
            Err(StoreError::Invalid(
                "the attempt's commit was abandoned".into(),
            ))
        })
    }
}
