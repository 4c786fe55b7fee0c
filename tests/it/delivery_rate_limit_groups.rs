//! Rate limits with many groups: 50 groups share the app's 200 requests/s (the service's
//! limits in the emulator and in the worker). The worker keeps under the app limit while
//! spreading the sends over every group: no frequency error, every message once in its
//! group. (The rate itself, against the cap, is measured by `cargo bench --bench drain`.)

use crate::util::*;
use replaydesk::delivery::DeliveryConfig;
use replaydesk::protocol::{Payload, ReplayMessage, UserValue};
use replaydesk::store::{MessageStatus, NewMessage};
use std::time::Duration;

const GROUPS: usize = 50;
const PER_GROUP: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_groups_sharing_the_app_limit_get_every_message_without_a_frequency_error() {
    let emu = start_emulator(|_| {}).await; // the service's limits: 200 req/s, 40 msg/s/group
    let config = DeliveryConfig {
        poll_interval: Duration::from_millis(100),
        ..DeliveryConfig::default()
    };
    let mut h = Harness::start(im_config(&emu, KEY), config).await;
    let groups: Vec<String> = (0..GROUPS).map(|g| format!("replay_g{g:02}")).collect();
    for (g, group) in groups.iter().enumerate() {
        emu.create_group_direct(group).unwrap();
        create_class(&h.store, &format!("class_{g:02}"), group).await;
    }
    let n = GROUPS * PER_GROUP;
    let keys: Vec<String> = (0..n).map(|i| format!("1003:u:{i}")).collect();
    let builders: Vec<_> = (0..n as u64)
        .map(|i| {
            move |seq| {
                ReplayMessage::new(
                    seq,
                    i,
                    Payload::Timeline {
                        time_line: 1_795_339_200_000 + i as i64,
                        value: UserValue::new("u"),
                    },
                )
            }
        })
        .collect();
    let classes: Vec<String> = (0..GROUPS).map(|g| format!("class_{g:02}")).collect();
    let batch: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            class_id: &classes[i % GROUPS],
            group_id: &groups[i % GROUPS],
            uid: "u",
            dedup_key: &keys[i],
            build: &builders[i],
        })
        .collect();
    // Accepted as one burst, interleaved over the groups.
    h.store.insert_messages(&batch).await.unwrap();
    h.delivery.wake();
    wait_until(Duration::from_secs(120), "every message sent", || async {
        count_status(&h.store, MessageStatus::Sent).await == n as i64
    })
    .await;
    let stats = emu.stats();
    assert_eq!(stats.frequency_errors, 0, "{stats:?}");
    assert_eq!(stats.group_rate_limited + stats.app_rate_limited, 0);
    for group in &groups {
        let seen = seq_occurrences(&emu, group);
        assert_eq!(seen.len(), PER_GROUP, "group {group}: {seen:?}");
        assert!(
            seen.values().all(|&c| c == 1),
            "group {group} got a message twice: {seen:?}"
        );
    }
    h.stop().await;
}
