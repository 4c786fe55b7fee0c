//! Rate limits: 5,000 messages to one group with the default limits (40 msg/s per group,
//! 200 req/s per app, as the service) produce no frequency error from the emulator.
//! Takes about two minutes: 5,000 / 40 per second.

use crate::util::*;
use replaydesk::delivery::DeliveryConfig;
use replaydesk::protocol::{Payload, ReplayMessage, UserValue};
use replaydesk::store::{MessageStatus, NewMessage};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_messages_to_one_group_no_frequency_errors() {
    let emu = start_emulator(|_| {}).await; // the service's limits: 200 req/s, 40 msg/s/group
    let config = DeliveryConfig {
        poll_interval: Duration::from_millis(100),
        ..DeliveryConfig::default()
    };
    let mut h = Harness::start(im_config(&emu, KEY), config).await;
    emu.create_group_direct("replay_busy").unwrap();
    create_class(&h.store, "busy", "replay_busy").await;

    // Accepted as one burst.
    let keys: Vec<String> = (0..5000).map(|i| format!("1003:u:{i}")).collect();
    let builders: Vec<_> = (0..5000u64)
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
    let batch: Vec<NewMessage> = keys
        .iter()
        .zip(&builders)
        .map(|(k, b)| NewMessage {
            class_id: "busy",
            group_id: "replay_busy",
            uid: "u",
            dedup_key: k,
            build: b,
        })
        .collect();
    h.store.insert_messages(&batch).await.unwrap();
    let start = Instant::now();
    h.delivery.wake();
    wait_until(Duration::from_secs(400), "5000 sent", || async {
        count_status(&h.store, MessageStatus::Sent).await == 5000
    })
    .await;
    let took = start.elapsed();
    let stats = emu.stats();
    assert_eq!(stats.frequency_errors, 0, "{stats:?}");
    assert_eq!(stats.group_rate_limited + stats.app_rate_limited, 0);
    assert_eq!(seq_occurrences(&emu, "replay_busy").len(), 5000);
    // Paced, not bounced: the sends spread over at least 5000/40 s less the initial burst.
    assert!(
        took >= Duration::from_secs(120),
        "sent in {took:?}: faster than 40/s"
    );
    h.stop().await;
}
