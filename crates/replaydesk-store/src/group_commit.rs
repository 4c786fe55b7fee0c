//! Group commit: one task commits whatever has queued up while its previous commit was
//! being made, in one transaction (one fsync for a burst), and answers each item only
//! after that commit. Intake (client reports) and delivery (attempt outcomes) both use it.
//!
//! Under light load a batch is one item and nothing waits; under a burst the batch grows by
//! itself (the items that arrived during the last fsync), so throughput follows the load
//! without any timer and without weakening durability. The commit runs in the task, not in
//! a submitter's future: a submitter that goes away (a client that hung up) neither cancels
//! a commit half-way nor leaves the others in its batch unanswered.

use parking_lot::Mutex;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The batcher has stopped (or is stopping): the item was not taken, or its batch was
/// abandoned before it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the group commit has stopped")]
pub struct Closed;

type Queued<T, R> = (T, oneshot::Sender<R>);

/// A group-commit writer of `T`s, each answered with an `R`.
pub struct GroupCommit<T, R> {
    tx: Mutex<Option<mpsc::Sender<Queued<T, R>>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl<T: Send + 'static, R: Send + 'static> GroupCommit<T, R> {
    /// Starts the writer task (on the current Tokio runtime). `commit` writes one batch of
    /// at most `max_batch` items in one transaction and returns one result per item, in
    /// order; at most `queue` items wait for it before submitters wait too (back-pressure).
    pub fn start<F, Fut>(max_batch: usize, queue: usize, mut commit: F) -> Self
    where
        F: FnMut(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<R>> + Send,
    {
        let max_batch = max_batch.max(1);
        let (tx, mut rx) = mpsc::channel::<Queued<T, R>>(queue.max(1));
        let task = tokio::spawn(async move {
            let mut items = Vec::with_capacity(max_batch);
            let mut replies = Vec::with_capacity(max_batch);
            while let Some((item, reply)) = rx.recv().await {
                items.push(item);
                replies.push(reply);
                while items.len() < max_batch {
                    match rx.try_recv() {
                        Ok((item, reply)) => {
                            items.push(item);
                            replies.push(reply);
                        }
                        Err(_) => break,
                    }
                }
                let results =
                    commit(std::mem::replace(&mut items, Vec::with_capacity(max_batch))).await;
                for (reply, result) in replies.drain(..).zip(results) {
                    let _ = reply.send(result);
                }
                // A result missing (there should be none) drops its reply: that submitter
                // hears `Closed`, never a made-up answer.
                replies.clear();
            }
        });
        Self {
            tx: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
        }
    }

    /// Queues `item` and waits until the batch holding it is committed.
    pub async fn submit(&self, item: T) -> Result<R, Closed> {
        let tx = self.tx.lock().clone().ok_or(Closed)?;
        let (reply, answer) = oneshot::channel();
        tx.send((item, reply)).await.map_err(|_| Closed)?;
        drop(tx);
        // An error here: the writer stopped before answering. It commits or drops whole
        // batches, and stops only after its queue is empty, so the item was never written.
        answer.await.map_err(|_| Closed)
    }

    /// Takes no more items, and waits until every queued one is committed and answered.
    pub async fn close(&self) {
        self.tx.lock().take();
        let task = self.task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::sync::{mpsc::unbounded_channel, Semaphore};

    /// Items submitted while a commit is running are committed together in the next one,
    /// and each submitter is answered only after its own batch was committed.
    #[tokio::test]
    async fn a_burst_waits_for_one_commit_and_each_hears_after_it() {
        let gate = Arc::new(Semaphore::new(0));
        let (started_tx, mut started) = unbounded_channel::<Vec<u32>>();
        let g = gate.clone();
        let batcher = Arc::new(GroupCommit::start(8, 64, move |batch: Vec<u32>| {
            let (g, started_tx) = (g.clone(), started_tx.clone());
            async move {
                let _ = started_tx.send(batch.clone());
                // Each commit waits for the test to let it through.
                g.acquire().await.unwrap().forget();
                batch.iter().map(|i| i * 10).collect::<Vec<_>>()
            }
        }));
        let submit = |i: u32| {
            let b = batcher.clone();
            tokio::spawn(async move { b.submit(i).await })
        };
        let first = submit(1);
        assert_eq!(started.recv().await.unwrap(), vec![1]);
        let rest: Vec<_> = (2..=4).map(submit).collect();
        // Wait until the three are queued behind the running commit.
        while batcher.tx.lock().as_ref().unwrap().capacity() > 61 {
            tokio::task::yield_now().await;
        }
        assert!(!first.is_finished(), "answered before its commit");
        gate.add_permits(1);
        assert_eq!(first.await.unwrap(), Ok(10));
        assert_eq!(started.recv().await.unwrap(), vec![2, 3, 4], "one batch");
        assert!(
            rest.iter().all(|t| !t.is_finished()),
            "answered before commit"
        );
        gate.add_permits(1);
        let mut answers = Vec::new();
        for t in rest {
            answers.push(t.await.unwrap().unwrap());
        }
        assert_eq!(answers, vec![20, 30, 40]);
        batcher.close().await;
        assert_eq!(batcher.submit(5).await, Err(Closed), "closed takes nothing");
    }

    /// Closing waits for what is queued: every item taken is committed and answered.
    #[tokio::test]
    async fn close_commits_everything_already_taken() {
        let batcher = Arc::new(GroupCommit::start(2, 64, |batch: Vec<u32>| async move {
            tokio::task::yield_now().await;
            batch
        }));
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.submit(i).await })
            })
            .collect();
        while batcher.tx.lock().as_ref().unwrap().capacity() == 64 {
            tokio::task::yield_now().await;
        }
        batcher.close().await;
        // Taken before the close: committed and answered; submitted after it: refused.
        let mut answered = 0;
        for (i, t) in tasks.into_iter().enumerate() {
            if let Ok(v) = t.await.unwrap() {
                assert_eq!(v, i as u32);
                answered += 1;
            }
        }
        assert!(answered >= 1, "the queued item was committed");
    }
}
