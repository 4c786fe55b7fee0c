//! Group commit for attempt outcomes: every attempt that finishes while another batch is
//! being committed joins the next batch, so a busy worker records many attempts per
//! transaction (one fsync) instead of one each. Each caller still learns the outcome of its
//! own attempt's commit before it goes on, exactly as with one transaction each.
//!
//! No task of its own: the first caller that finds no commit running takes everything
//! queued and commits it; the others wait for their answer (or for their turn, should the
//! committer have taken the queue before they joined it).

use replaydesk_store::{AttemptRecord, Store, StoreError, StoreResult, Transition};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Most attempts recorded in one transaction.
const MAX_BATCH: usize = 512;

type Waiting = (
    AttemptRecord,
    Transition,
    oneshot::Sender<StoreResult<bool>>,
);

#[derive(Default)]
pub(crate) struct Recorder {
    queue: Mutex<Vec<Waiting>>,
    committing: tokio::sync::Mutex<()>,
}

impl Recorder {
    /// Records `rec` and moves its message (see [`Store::finish_attempts`]); returns
    /// whether the message moved, once that is committed.
    pub(crate) async fn finish(
        &self,
        store: &Store,
        owner: &str,
        rec: AttemptRecord,
        transition: Transition,
    ) -> StoreResult<bool> {
        let (tx, mut answer) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((rec, transition, tx));
        loop {
            tokio::select! {
                biased;
                a = &mut answer => {
                    return a.unwrap_or_else(|_| {
                        Err(StoreError::Invalid("the attempt's commit was abandoned".into()))
                    });
                }
                _guard = self.committing.lock() => {
                    let batch: Vec<Waiting> = {
                        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                        let n = q.len().min(MAX_BATCH);
                        q.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        continue;
                    }
                    let items: Vec<(&AttemptRecord, &Transition)> =
                        batch.iter().map(|(r, t, _)| (r, t)).collect();
                    let results = store.finish_attempts(owner, &items).await;
                    drop(items);
                    for ((_, _, reply), result) in batch.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
            }
        }
    }
}
