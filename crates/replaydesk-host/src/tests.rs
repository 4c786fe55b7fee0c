//! Host mode against a real sandbox backend (SQLite file, delivery worker, IM emulator),
//! with a clock the tests drive by hand.

use super::*;
use replaydesk_clock::ManualClock;
use replaydesk_protocol::MessageType;
use replaydesk_protocol::{Payload, ReplayMessage};
use replaydesk_service::config::Config;
use replaydesk_store::StoredMessage;

struct Fixture {
    _dir: tempfile::TempDir,
    clock: ManualClock,
    host: Host,
    hosting_file: std::path::PathBuf,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: dir.path().join("host.db"),
        ..Config::default()
    };
    let desk = ReplayDesk::start(config).await.unwrap();
    let clock = ManualClock::new(ClockReading {
        monotonic_ms: 5_000_000,
        continuous_ms: 5_100_000,
        wall_ms: 1_795_339_200_000,
    });
    let hosting_file = dir.path().join("hosting");
    let host = Host::new(
        desk,
        Arc::new(clock.clone()),
        "http://127.0.0.1:8080".into(),
    )
    .remembering_in(hosting_file.clone());
    let req: CreateClass = serde_json::from_value(serde_json::json!({
        "class_id": "c-host", "group_id": "g-host", "teacher_uid": "teacher_li"
    }))
    .unwrap();
    host.create_class(req).await.unwrap();
    Fixture {
        _dir: dir,
        clock,
        host,
        hosting_file,
    }
}

async fn messages(host: &Host) -> Vec<StoredMessage> {
    let filter = MessageFilter {
        class_id: Some("c-host".into()),
        ..MessageFilter::default()
    };
    let mut items = host
        .desk()
        .list_messages(&filter, None, 100)
        .await
        .unwrap()
        .items;
    items.reverse(); // oldest first
    items
}

fn timestamp_of(m: &StoredMessage) -> u64 {
    ReplayMessage::parse(&m.data).unwrap().timestamp
}

fn time_line_of(m: &StoredMessage) -> i64 {
    match ReplayMessage::parse(&m.data).unwrap().payload {
        Payload::Timeline { time_line, .. } => time_line,
        other => panic!("not a 1003: {other:?}"),
    }
}

#[tokio::test]
async fn start_sends_1001_and_teachers_1003_stamped_with_the_native_clock_and_end_sends_1002() {
    let f = fixture().await;
    let started = f.host.start("c-host").await.unwrap();
    assert_eq!(started.timestamp, 5_000_000);
    let ms = messages(&f.host).await;
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[0].msg_type, MessageType::ClassStart);
    assert_eq!(ms[1].msg_type, MessageType::Timeline);
    assert!(ms.iter().all(|m| m.uid == "teacher_li"));
    assert_eq!(timestamp_of(&ms[0]), 5_000_000);
    assert_eq!(timestamp_of(&ms[1]), 5_000_000);
    assert_eq!(time_line_of(&ms[1]), 1_795_339_200_000);
    assert!(f.host.status("c-host").await.unwrap().hosting);

    // Both reach `sent` in the sandbox.
    let mut status = f.host.status("c-host").await.unwrap();
    for _ in 0..100 {
        if status.counts.sent == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        status = f.host.status("c-host").await.unwrap();
    }
    assert_eq!(status.counts.sent, 2, "{:?}", status.counts);
    assert_eq!(status.last_error, None);
    assert_eq!(status.join.class_id, "c-host");
    assert!(status
        .join
        .text
        .contains("server_url: http://127.0.0.1:8080"));
    // A student's own credential: the one the backend checks for that uid.
    let join = f.host.join("c-host", Some("stu_wang")).await.unwrap();
    let cred = f
        .host
        .desk()
        .member_credential("c-host", "stu_wang")
        .await
        .unwrap();
    assert_eq!(join.credential.as_deref(), Some(cred.credential.as_str()));
    assert!(join.text.contains("uid: stu_wang"));

    f.clock.advance(60_000);
    f.host.end("c-host").await.unwrap();
    let ms = messages(&f.host).await;
    assert_eq!(ms[2].msg_type, MessageType::ClassEnd);
    assert_eq!(timestamp_of(&ms[2]), 5_060_000);
    assert!(!f.host.status("c-host").await.unwrap().hosting);
}

#[tokio::test]
async fn a_sleep_while_hosting_re_reports_the_teachers_1003_at_once_and_says_so() {
    let f = fixture().await;
    f.host.start("c-host").await.unwrap();
    f.clock.advance(2_000);
    assert_eq!(f.host.check_clock().await, None);

    f.clock.advance(1_000);
    f.clock.sleep(900_000); // 15 minutes with the lid closed
    let event = f.host.check_clock().await.expect("the sleep is noticed");
    assert_eq!(event.what, "the computer slept for about 15 min");
    let id = event.timeline_message_id.expect("a new 1003 was recorded");
    let ms = messages(&f.host).await;
    let last = ms.last().unwrap();
    assert_eq!(last.id, id);
    assert_eq!(last.msg_type, MessageType::Timeline);
    // The new pair: the monotonic reading after wake-up with the wall clock of then.
    assert_eq!(timestamp_of(last), 5_003_000);
    assert_eq!(time_line_of(last), 1_795_339_200_000 + 3_000 + 900_000);

    let status = f.host.status("c-host").await.unwrap();
    assert_eq!(status.clock_events.len(), 1);
    assert_eq!(status.clock_events[0].what, event.what);

    // Noticed once: the next look is steady.
    f.clock.advance(2_000);
    assert_eq!(f.host.check_clock().await, None);
}

#[tokio::test]
async fn a_wall_clock_jump_or_reboot_re_reports_too_but_nothing_is_sent_when_not_hosting() {
    let f = fixture().await;
    // Not hosting: the event is noticed, no message is made.
    f.clock.sleep(120_000);
    let idle = f.host.check_clock().await.unwrap();
    assert_eq!(idle.timeline_message_id, None);
    assert!(messages(&f.host).await.is_empty());

    f.host.start("c-host").await.unwrap();
    // (Some time passes: a 1003 repeating the same uid and timestamp is the same message.)
    f.clock.advance(1_000);
    f.clock.step_wall(-30_000);
    let jump = f.host.check_clock().await.unwrap();
    assert_eq!(jump.what, "the wall clock was set back by 30 s");
    assert!(jump.timeline_message_id.is_some());

    f.clock.reboot(20_000, 40_000);
    let reboot = f.host.check_clock().await.unwrap();
    assert!(reboot.what.contains("restarted"), "{}", reboot.what);
    let ms = messages(&f.host).await;
    assert_eq!(timestamp_of(ms.last().unwrap()), 40_000);
    assert_eq!(
        ms.iter()
            .filter(|m| m.msg_type == MessageType::Timeline)
            .count(),
        3
    );
}

/// The app started again on the same data dir: a new `Host` over the same backend.
fn relaunched(f: &Fixture) -> Host {
    Host::new(
        f.host.desk().clone(),
        Arc::new(f.clock.clone()),
        "http://127.0.0.1:8080".into(),
    )
    .remembering_in(f.hosting_file.clone())
}

#[tokio::test]
async fn a_relaunch_while_hosting_carries_on_hosting_and_re_reports_the_teachers_1003() {
    let f = fixture().await;
    f.host.start("c-host").await.unwrap();
    // The computer restarts mid-class: its clock counters start over.
    f.clock.reboot(30_000, 31_000);
    let host = relaunched(&f);
    let event = host
        .resume()
        .await
        .expect("the started class is hosted again");
    assert_eq!(event.class_id.as_deref(), Some("c-host"));
    assert_eq!(event.error, None);
    let ms = messages(&host).await;
    let last = ms.last().unwrap();
    assert_eq!(Some(last.id), event.timeline_message_id);
    assert_eq!(last.msg_type, MessageType::Timeline);
    assert_eq!(
        timestamp_of(last),
        31_000,
        "the new pair carries the new clock base"
    );
    assert_eq!(host.status("c-host").await.unwrap().clock_events[0], event);

    // Hosted again: the clock watch re-reports after a sleep, as before the relaunch.
    f.clock.advance(1_000);
    f.clock.sleep(600_000);
    let slept = host.check_clock().await.unwrap();
    assert!(slept.timeline_message_id.is_some());

    // Ended: nothing to resume at the next launch.
    host.end("c-host").await.unwrap();
    assert!(!f.hosting_file.exists());
    let before = messages(&host).await.len();
    assert_eq!(relaunched(&f).resume().await, None);
    assert_eq!(messages(&host).await.len(), before);
}

#[tokio::test]
async fn a_relaunch_resumes_nothing_when_the_noted_class_ended_elsewhere_or_none_was_hosted() {
    let f = fixture().await;
    assert_eq!(relaunched(&f).resume().await, None, "nothing was hosted");

    f.host.start("c-host").await.unwrap();
    // Ended by another door (a client over HTTP, another machine) while the app was away:
    // the note still names the class.
    let elsewhere = Host::new(
        f.host.desk().clone(),
        Arc::new(f.clock.clone()),
        "http://127.0.0.1:8080".into(),
    );
    elsewhere.end("c-host").await.unwrap();
    assert!(f.hosting_file.exists());
    let before = messages(&f.host).await.len();
    assert_eq!(relaunched(&f).resume().await, None);
    assert_eq!(
        messages(&f.host).await.len(),
        before,
        "no 1003 for an ended class"
    );
    assert!(!f.hosting_file.exists(), "the ended class is forgotten");
}

#[test]
fn counts_line_reads_in_words() {
    let c = StatusCounts {
        pending: 1,
        sending: 1,
        sent: 5,
        retrying: 2,
        failed: 1,
        total: 10,
    };
    assert_eq!(
        counts_line(&c),
        "5 sent · 2 pending · 2 retrying · 1 failed"
    );
}

#[tokio::test]
async fn while_hosting_the_app_heartbeats_the_teachers_native_clock_and_shows_who_is_here() {
    let f = fixture().await;
    // Not hosting: the clock watch sends no heartbeat.
    f.clock.advance(2_000);
    f.host.check_clock().await;
    assert!(f.host.status("c-host").await.unwrap().members.is_empty());
    f.host.start("c-host").await.unwrap();
    for _ in 0..5 {
        f.clock.advance(2_000);
        f.host.check_clock().await;
    }
    let status = f.host.status("c-host").await.unwrap();
    assert_eq!(status.members.len(), 1, "{:?}", status.members);
    let teacher = &status.members[0];
    assert_eq!(teacher.uid, "teacher_li");
    assert_eq!(teacher.heartbeats, 5);
    assert_eq!(teacher.clock_run, 0);
    // The native clock agrees with the 1003 the start sent: nothing to re-anchor.
    let presence = f.host.desk().class_presence("c-host").await.unwrap();
    assert!(presence.reanchors.is_empty(), "{:?}", presence.reanchors);
    assert_eq!(teacher.offset_ms, Some(1_795_339_200_000 - 5_000_000));
}
