//! The recorder life and the class's room and streams in the store (issue 22), on each
//! engine: every recorder event kept once with what became of it, a file's 1004 made once
//! however often its event repeats, a class found by its room id and by a registered
//! stream, and the events grouped into each member's recorders.

use crate::util::create_class;
use replaydesk::callback::ClassDirectory;
use replaydesk::protocol::{Payload, RecordingValue, ReplayMessage, Seq};
use replaydesk::store::{
    recorder_lives, CallbackSource, CallbackStatus, EventFile, NewRecorderEvent, RecorderIntake,
    RecorderOutcome, RecorderSource, RecorderStage, RecordingTarget, Store, StoreError,
};

fn event<'a>(
    event_type: i64,
    stage: RecorderStage,
    uid: &'a str,
    media: Option<&'a str>,
    key: &'a str,
) -> NewRecorderEvent<'a> {
    NewRecorderEvent {
        source: RecorderSource::Trtc,
        task_id: "task-1",
        class_id: Some("c1"),
        uid: Some(uid),
        room_id: Some("42"),
        stream_id: None,
        media,
        event_type,
        event_name: "test",
        stage,
        event_at: Some(1_795_339_000_000 + event_type),
        file_key: None,
        file_start_ms: None,
        file_end_ms: None,
        detail: None,
        dedup_key: key,
        received_at: 1,
    }
}

fn recording(uid: &'static str) -> impl Fn(Seq) -> ReplayMessage + Send + Sync {
    move |seq| {
        ReplayMessage::new(
            seq,
            1,
            Payload::Recording(RecordingValue {
                uid: uid.into(),
                start_time: 1,
                end_time: 2,
                media_start_time: 0,
                file_size: 0,
                duration: 1,
                video_id: "v".into(),
                video_url: "https://example.invalid/v.mp4".into(),
                extra: Default::default(),
            }),
        )
    }
}

on_both_engines! {
    async fn a_recorders_life_is_kept_once_per_event_with_its_1004(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        let build = recording("teacher_li");

        // 301: the task's recorder started; no file.
        let started = store
            .record_recorder_event(&RecorderIntake {
                source: CallbackSource::Trtc,
                received_at: 1,
                body: b"{\"EventType\":301}",
                event: event(301, RecorderStage::Started, "recorder_bot", None, "k301"),
                file: EventFile::Keep { outcome: RecorderOutcome::Kept, note: Some("started") },
                more: Vec::new(),
            })
            .await
            .unwrap();
        assert_eq!(started.callback.status, CallbackStatus::Recorded);
        assert_eq!(started.callback.source, CallbackSource::Trtc);
        assert!(started.message.is_none());

        // 307: the first slice of the teacher's file (TRTC names no stream kind on it).
        let mut e307 = event(307, RecorderStage::Slice, "teacher_li", None, "k307");
        e307.file_key = Some("trtc:task-1/teacher_li_main.m3u8");
        e307.file_start_ms = Some(1_795_339_000_100);
        store
            .record_recorder_event(&RecorderIntake {
                source: CallbackSource::Trtc,
                received_at: 1,
                body: b"{\"EventType\":307}",
                event: e307,
                file: EventFile::Keep { outcome: RecorderOutcome::Kept, note: None },
                more: Vec::new(),
            })
            .await
            .unwrap();

        // 311: the file's 1004 is made with it.
        let mut e311 = event(311, RecorderStage::Ready, "teacher_li", Some("main"), "k311");
        e311.file_key = Some("trtc:task-1/teacher_li_main.mp4");
        let intake = |body: &'static [u8]| RecorderIntake {
            source: CallbackSource::Trtc,
            received_at: 2,
            body,
            event: e311.clone(),
            file: EventFile::Announce {
                file_key: "trtc:task-1/teacher_li_main.mp4",
                target: RecordingTarget::Matched {
                    class_id: "c1",
                    uid: "teacher_li",
                    note: Some("matched by room"),
                    build: &build,
                },
            },
            more: Vec::new(),
        };
        let ready = store.record_recorder_event(&intake(b"{\"EventType\":311}")).await.unwrap();
        assert!(ready.created);
        assert_eq!(ready.callback.status, CallbackStatus::Accepted);
        let ready_event = ready.event.clone().unwrap();
        assert_eq!(ready_event.status, RecorderOutcome::Announced);
        assert_eq!(ready_event.message_id, Some(ready.message.as_ref().unwrap().id));
        assert_eq!(ready_event.callback_id, Some(ready.callback.id));

        // The same event again: its body is kept (duplicate), nothing else is added.
        let again = store.record_recorder_event(&intake(b"{\"EventType\":311} ")).await.unwrap();
        assert_eq!(again.callback.status, CallbackStatus::Duplicate);
        assert!(again.event.is_none() && !again.created);
        assert_eq!(again.repeat_of.unwrap().id, ready_event.id);
        assert_eq!(again.callback.message_id, ready_event.message_id);

        let events = store.recorder_events("c1").await.unwrap();
        assert_eq!(events.len(), 3, "one row per event, repeats not added");
        let lives = recorder_lives(&events);
        assert_eq!(lives.len(), 1, "{lives:#?}");
        let life = &lives[0];
        assert_eq!(life.uid.as_deref(), Some("teacher_li"));
        assert_eq!(life.media.as_deref(), Some("main"));
        assert_eq!(life.started, Some(1_795_339_000_301), "the task's 301 applies to its files");
        assert_eq!(life.ready.len(), 1);
        assert_eq!(life.slices, 1, "the slice without a kind joins the teacher's main recorder");
        assert_eq!(life.events.len(), 3);
        assert_eq!(
            store.recorder_events_of_callback(ready.callback.id).await.unwrap(),
            vec![ready_event]
        );
    }
}

on_both_engines! {
    async fn an_unmatched_file_event_follows_its_callback_through_assign_and_unassign(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "c1", "g1").await;
        let mut e = event(311, RecorderStage::Ready, "mixer_bot", Some("main"), "kmix");
        e.class_id = None;
        e.file_key = Some("trtc:task-1/mixed.mp4");
        let recorded = store
            .record_recorder_event(&RecorderIntake {
                source: CallbackSource::Trtc,
                received_at: 1,
                body: b"{}",
                event: e,
                file: EventFile::Announce {
                    file_key: "trtc:task-1/mixed.mp4",
                    target: RecordingTarget::Unmatched { reason: "a mixed-stream file" },
                },
                more: Vec::new(),
            })
            .await
            .unwrap();
        assert_eq!(recorded.callback.status, CallbackStatus::Unmatched);
        assert_eq!(recorded.event.as_ref().unwrap().status, RecorderOutcome::Unmatched);
        let build = recording("student_wang");
        let assigned = store
            .assign_callback(recorded.callback.id, "c1", "student_wang", &crate::util::by("admin"), &build)
            .await
            .unwrap();
        let events = store.recorder_events("c1").await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].status, RecorderOutcome::Announced);
        assert_eq!(events[0].uid.as_deref(), Some("student_wang"));
        assert_eq!(events[0].message_id, Some(assigned.message.unwrap().id));
        store.unassign_callback(recorded.callback.id, &crate::util::by("admin")).await.unwrap();
        let after = store.recorder_events_of_callback(recorded.callback.id).await.unwrap();
        assert_eq!(after[0].status, RecorderOutcome::Unmatched);
        assert_eq!(after[0].message_id, None);
    }
}

on_both_engines! {
    async fn a_class_is_found_by_its_room_and_by_a_registered_stream(db) {
        let store = Store::open(&db).await.unwrap();
        create_class(&store, "math-7b", "g1").await;
        create_class(&store, "other", "g2").await;
        let (before, after) = store.set_class_room("math-7b", Some("42"), &crate::util::by("admin")).await.unwrap();
        assert_eq!((before.room_id, after.room_id.as_deref()), (None, Some("42")));
        store.add_class_stream("math-7b", "live_teacher_cam", "teacher_li", &crate::util::by("admin")).await.unwrap();
        let taken = store
            .add_class_stream("math-7b", "live_teacher_cam", "someone", &crate::util::by("admin"))
            .await
            .unwrap_err();
        assert!(matches!(taken, StoreError::Conflict(_)), "{taken}");
        let snap = store
            .class_snapshot_for(&[], &["42".into()], &["live_teacher_cam".into()])
            .await
            .unwrap();
        assert_eq!(snap.class_by_room("42").unwrap().class_id, "math-7b");
        let (class, uid) = snap.registered_stream("live_teacher_cam").unwrap();
        assert_eq!((class.class_id.as_str(), uid.as_str()), ("math-7b", "teacher_li"));
        assert_eq!(snap, {
            let all = store.class_snapshot().await.unwrap();
            // The full snapshot holds every class; the narrow one only those it needs.
            assert_eq!(all.class_by_room("42").unwrap().class_id, "math-7b");
            snap.clone()
        });
        assert_eq!(store.class_streams("math-7b").await.unwrap().len(), 1);
        store.remove_class_stream("math-7b", "live_teacher_cam", &crate::util::by("admin")).await.unwrap();
        assert!(store.class_streams("math-7b").await.unwrap().is_empty());
        let gone = store
            .remove_class_stream("math-7b", "live_teacher_cam", &crate::util::by("admin"))
            .await
            .unwrap_err();
        assert!(matches!(gone, StoreError::NotFound(_)), "{gone}");
        // Cleared, the room names no class (and "42" is no class id either).
        store.set_class_room("math-7b", None, &crate::util::by("admin")).await.unwrap();
        let snap = store.class_snapshot().await.unwrap();
        assert!(snap.class_by_room("42").is_none());
    }
}
