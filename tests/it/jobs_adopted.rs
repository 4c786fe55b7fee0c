//! A job left unfinished by a worker that stopped (or a node that was killed) is taken on
//! by a worker already running on the same database, not only at the next start — on
//! each engine.

use crate::util::*;
use replaydesk::store::{JobKind, JobState, MessageFilter, Store};
use std::time::Duration;

on_both_engines! {
    async fn a_running_worker_adopts_a_job_another_one_left(db) {
        let emu = start_emulator(|_| {}).await;
        emu.create_group_direct("replay_jobs").unwrap();
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "jobs", "replay_jobs").await;
        for i in 0..20 {
            enqueue_timeline(&store, "jobs", "replay_jobs", "teacher_li", i).await;
        }
        let mut config = fast_config();
        config.lease = Duration::from_millis(600);
        let mut running = Harness::start_at(
            tempfile::tempdir().unwrap(),
            db.clone(),
            im_config(&emu, KEY),
            config,
        )
        .await;
        // Another worker created this job and stopped before taking any of its messages:
        // nobody here was told about it.
        let job = store
            .create_job(
                JobKind::BulkResend,
                &MessageFilter {
                    class_id: Some("jobs".into()),
                    ..Default::default()
                },
                &crate::util::by("admin"),
            )
            .await
            .unwrap();
        assert_eq!(job.state, JobState::Enqueuing);
        wait_until(Duration::from_secs(60), "the job finished", || async {
            store.job(job.id).await.unwrap().state == JobState::Finished
        })
        .await;
        let done = store.job(job.id).await.unwrap();
        assert_eq!((done.total, done.done), (20, 20));
        running.stop().await;
        store.close().await;
    }
}
