//! The archive's rows on each engine (a SQLite file, a PostgreSQL database): a page
//! stored twice keeps one row per message, a held body is never replaced by the IM's
//! later placeholder, holes merge, `last_seq` never moves back, and the figures `/metrics`
//! and the deadline alert read.

use crate::util::{by, create_class};
use replaydesk::store::{ArchiveHole, ArchiveOutcome, ArchiveState, Store};

fn item(seq: u64, place: bool) -> (u64, String) {
    let text = if place {
        format!(r#"{{"MsgSeq":{seq},"IsPlaceMsg":1,"MsgBody":[]}}"#)
    } else {
        format!(
            r#"{{"MsgSeq":{seq},"IsPlaceMsg":0,"MsgBody":[{{"MsgType":"TIMTextElem","MsgContent":{{"Text":"m{seq}"}}}}]}}"#
        )
    };
    (seq, text)
}

on_both_engines! {
    async fn archive_pages_holes_and_state(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        create_class(&store, "c2", "g2").await;
        let run = store.start_archive_run("c1", "now", &by("admin"), 1_000).await.unwrap();
        let s = store.archive_state("c1").await.unwrap().unwrap();
        assert_eq!((s.state, s.last_seq, s.unarchived_since), (ArchiveState::Pending, 0, Some(1_000)));
        let hole = |a: i64, b: i64| ArchiveHole { from_seq: a, to_seq: b, reason: "IsPlaceMsg".into() };
        let page: Vec<_> = (1..=3).map(|s| item(s, s == 2)).collect();
        store.save_archive_page(run.id, "c1", &page, &[hole(2, 2)], 3).await.unwrap();
        // The same page again: nothing twice.
        store.save_archive_page(run.id, "c1", &page, &[hole(2, 2)], 3).await.unwrap();
        store.save_archive_page(run.id, "c1", &[item(4, true)], &[hole(3, 4)], 4).await.unwrap();
        // An older page cannot move last_seq back.
        store.save_archive_page(run.id, "c1", &[], &[], 1).await.unwrap();
        assert_eq!(store.archive_state("c1").await.unwrap().unwrap().last_seq, 4);
        assert_eq!(store.group_history("c1").await.unwrap().len(), 4);
        assert_eq!(store.archived_messages("c1").await.unwrap(), 2);
        assert_eq!(store.archive_holes("c1").await.unwrap(), vec![hole(2, 4)]);

        // The IM's placeholder never replaces a held body; a body replaces a placeholder.
        store.save_archive_page(run.id, "c1", &[item(1, true), item(2, false)], &[], 4).await.unwrap();
        let rows = store.group_history("c1").await.unwrap();
        assert!(rows[0].1.contains("\"m1\"") && rows[1].1.contains("\"m2\""), "{rows:?}");
        assert_eq!(store.held_seqs("c1", 1, 4).await.unwrap(), vec![1, 2, 3]);

        // Served newest first, 2 at a time.
        let (p, finished) = store.history_page("c1", None, 2).await.unwrap();
        assert_eq!((p.iter().map(|r| r.0).collect::<Vec<_>>(), finished), (vec![4, 3], false));
        let (p, finished) = store.history_page("c1", Some(2), 2).await.unwrap();
        assert_eq!((p.iter().map(|r| r.0).collect::<Vec<_>>(), finished), (vec![2, 1], true));

        store
            .end_archive_run(run.id, "c1", &ArchiveOutcome {
                state: ArchiveState::Partial,
                error: None,
                unarchived_since: None,
                final_pass: true,
            })
            .await
            .unwrap();
        let r = store.archive_run(run.id).await.unwrap().unwrap();
        assert_eq!((r.pages, r.fetched), (5, 9));
        assert_eq!(store.latest_archive_run("c1").await.unwrap().unwrap().id, run.id);
        let s = store.archive_state("c1").await.unwrap().unwrap();
        assert_eq!(s.state, ArchiveState::Partial);
        assert!(s.final_pass_at.is_some() && s.unarchived_since.is_none());

        // c2 was never archived: outstanding since it was created; c1 has nothing left.
        let out = store.archive_outstanding_before(i64::MAX).await.unwrap();
        assert_eq!(out.iter().map(|o| o.0.as_str()).collect::<Vec<_>>(), vec!["c2"]);
        let totals = store.archive_totals().await.unwrap();
        assert_eq!(totals.messages, 3);
        let mut by_state = totals.by_state.clone();
        by_state.sort_by_key(|(s, _)| s.as_str());
        assert_eq!(by_state, vec![(ArchiveState::Partial, 1), (ArchiveState::Pending, 1)]);
        assert!(totals.earliest_unarchived.is_some());

        // A pass whose process stopped is taken back.
        let stale = store.start_archive_run("c2", "live", &by("archiver"), 5).await.unwrap();
        assert_eq!(store.interrupt_stale_archive_runs(i64::MAX).await.unwrap(), 1);
        let stale = store.archive_run(stale.id).await.unwrap().unwrap();
        assert_eq!(stale.error.as_deref(), Some("interrupted"));
        assert!(store.running_archive_run("c2", 0).await.unwrap().is_none());
    }
}
