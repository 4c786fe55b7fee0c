//! One archiving pass over a class's group: learn the newest `MsgSeq`, then read forward
//! from `last_seq` twenty at a time (`ReqMsgSeq` = the page's newest), each page stored with
//! the new `last_seq` in one transaction (after any client reports waiting for their commit:
//! both write through SQLite's one writer). Every IM call takes a slot of the app-wide
//! limiter delivery uses. A page that keeps failing becomes a hole; the group missing or the
//! credentials refused end the pass as failed.

use crate::reconcile::RawPage;
use replaydesk_delivery::Delivery;
use replaydesk_im::client::ImError;
use replaydesk_im::errors::ErrorClass;
use replaydesk_im::wire::{self, GroupMsgGetSimpleRequest};
use replaydesk_store::{ArchiveHole, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Hole reasons, as the API shows them.
pub const HOLE_PLACEHOLDER: &str = "IsPlaceMsg: expired, recalled or not stored by the IM";
pub const HOLE_MISSING: &str = "missing: the IM answered no message for this MsgSeq";
pub const HOLE_PAGE_FAILED: &str = "page failed";

/// Longest a page waits for sending to leave the app's rate a free slot, and for client
/// reports waiting for their commit.
const YIELD_AT_MOST: Duration = Duration::from_secs(2);

/// Tries per page before it is recorded as a hole (frequency limits wait longer).
const PAGE_TRIES: u32 = 4;

/// How a pass ended (before the state is recorded).
#[derive(Debug)]
pub(crate) enum PassEnd {
    /// Read up to the group's newest `MsgSeq`; any holes met were recorded.
    Done { top: u64 },
    /// Stopped: the reason.
    Failed(String),
    /// ReplayDesk is stopping: the pages read so far are stored; the next pass goes on
    /// from there.
    Interrupted,
}

pub(crate) struct Pass<'a> {
    pub store: &'a Store,
    pub delivery: &'a Delivery,
    pub run_id: i64,
    pub class_id: &'a str,
    pub group_id: &'a str,
    /// Set when ReplayDesk is stopping: the pass ends between two pages.
    pub stopping: &'a (dyn Fn() -> bool + Send + Sync),
    /// Set while client reports wait for their commit: a page waits for them (up to
    /// [`YIELD_AT_MOST`]), since both write through SQLite's one writer.
    pub intake_busy: &'a (dyn Fn() -> bool + Send + Sync),
}

/// An item read from a page: its `MsgSeq`, whether it is a placeholder, its JSON text.
fn read_items(list: &[Value]) -> BTreeMap<u64, (bool, String)> {
    let mut out = BTreeMap::new();
    for v in list {
        let Some(seq) = v
            .get("MsgSeq")
            .and_then(|s| replaydesk_protocol::lenient_integer(s).ok())
        else {
            continue;
        };
        let Ok(seq) = u64::try_from(seq) else {
            continue;
        };
        let place = v
            .get("IsPlaceMsg")
            .and_then(|p| replaydesk_protocol::lenient_integer(p).ok())
            .unwrap_or(0)
            != 0;
        out.insert(seq, (place, v.to_string()));
    }
    out
}

impl Pass<'_> {
    async fn fetch(&self, newest: Option<u64>) -> Result<RawPage, ImError> {
        let mut tries = 0;
        loop {
            // Only the capacity sending leaves (at least a page per YIELD_AT_MOST).
            self.delivery.acquire_idle_call(YIELD_AT_MOST).await;
            let req = GroupMsgGetSimpleRequest {
                group_id: self.group_id.to_owned(),
                req_msg_number: wire::HISTORY_PAGE_SIZE,
                req_msg_seq: newest,
            };
            let err = match self
                .delivery
                .im()
                .call::<_, RawPage>(wire::GROUP_MSG_GET_SIMPLE, &req)
                .await
            {
                Ok(a) => return Ok(a.body),
                Err(e) => e,
            };
            tries += 1;
            let wait = match err.class() {
                ErrorClass::SlowDown if tries < PAGE_TRIES * 4 => Duration::from_millis(250),
                ErrorClass::Retry | ErrorClass::RenewUserSig if tries < PAGE_TRIES => {
                    Duration::from_millis(200 * u64::from(tries))
                }
                _ => return Err(err),
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits (up to [`YIELD_AT_MOST`]) while client reports wait for their commit: a burst
    /// of reports is not slowed by a pass, and the pass still stores at least a page per
    /// `YIELD_AT_MOST` behind a long one.
    async fn yield_to_intake(&self) {
        let give_up = tokio::time::Instant::now() + YIELD_AT_MOST;
        while (self.intake_busy)() && tokio::time::Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stores the part of a page in `(from, to]` with its holes, and moves `last_seq` to
    /// `to`.
    async fn save(
        &self,
        items: &BTreeMap<u64, (bool, String)>,
        from: u64,
        to: u64,
    ) -> Result<(), String> {
        let held: Vec<i64> = self
            .store
            .held_seqs(self.class_id, from as i64 + 1, to as i64)
            .await
            .map_err(|e| e.to_string())?;
        let mut keep = Vec::new();
        let mut holes: Vec<ArchiveHole> = Vec::new();
        for seq in from + 1..=to {
            let reason = match items.get(&seq) {
                Some((false, item)) => {
                    keep.push((seq, item.clone()));
                    continue;
                }
                Some((true, item)) => {
                    keep.push((seq, item.clone()));
                    HOLE_PLACEHOLDER
                }
                None => HOLE_MISSING,
            };
            // A body held from an earlier read (reconcile) is no hole.
            if held.binary_search(&(seq as i64)).is_err() {
                holes.push(ArchiveHole {
                    from_seq: seq as i64,
                    to_seq: seq as i64,
                    reason: reason.to_owned(),
                });
            }
        }
        let holes = replaydesk_store::merge_holes(holes);
        self.yield_to_intake().await;
        self.store
            .save_archive_page(self.run_id, self.class_id, &keep, &holes, to as i64)
            .await
            .map_err(|e| e.to_string())
    }

    async fn save_failed(&self, from: u64, to: u64, error: &ImError) -> Result<(), String> {
        let hole = ArchiveHole {
            from_seq: from as i64 + 1,
            to_seq: to as i64,
            reason: format!("{HOLE_PAGE_FAILED}: {error}"),
        };
        self.yield_to_intake().await;
        self.store
            .save_archive_page(self.run_id, self.class_id, &[], &[hole], to as i64)
            .await
            .map_err(|e| e.to_string())
    }

    /// Reads the group from `last_seq` to its newest message.
    pub(crate) async fn run(&self, last_seq: u64) -> PassEnd {
        let newest = match self.fetch(None).await {
            Ok(p) => p,
            Err(e) => return PassEnd::Failed(format!("group_msg_get_simple: {e}")),
        };
        let newest_items = read_items(&newest.list);
        let Some((&top, _)) = newest_items.last_key_value() else {
            return PassEnd::Done { top: last_seq };
        };
        if top <= last_seq {
            return PassEnd::Done { top: last_seq };
        }
        let newest_low = newest_items.keys().next().copied().unwrap_or(top);
        let finished = replaydesk_protocol::lenient_integer(&newest.is_finished).unwrap_or(0) == 1;
        // The newest page covers everything down to its oldest message (or to the start).
        let covered_from = if finished {
            0
        } else {
            newest_low.saturating_sub(1)
        };
        let mut cursor = last_seq;
        while cursor < covered_from {
            if (self.stopping)() {
                return PassEnd::Interrupted;
            }
            let to = (cursor + u64::from(wire::HISTORY_PAGE_SIZE)).min(covered_from);
            let saved = match self.fetch(Some(to)).await {
                Ok(page) => self.save(&read_items(&page.list), cursor, to).await,
                Err(e)
                    if matches!(e.class(), ErrorClass::Credentials)
                        || matches!(&e, ImError::Api { code, .. } if replaydesk_im::errors::is_group_missing(*code)) =>
                {
                    return PassEnd::Failed(format!("group_msg_get_simple: {e}"));
                }
                Err(e) => self.save_failed(cursor, to, &e).await,
            };
            if let Err(e) = saved {
                return PassEnd::Failed(format!("storing a page: {e}"));
            }
            cursor = to;
        }
        if let Err(e) = self.save(&newest_items, cursor.max(last_seq), top).await {
            return PassEnd::Failed(format!("storing a page: {e}"));
        }
        PassEnd::Done { top }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_are_read_by_seq_with_their_placeholder_flag_and_unreadable_ones_skipped() {
        let items = read_items(&[
            json!({"MsgSeq": 3, "IsPlaceMsg": 0, "MsgBody": []}),
            json!({"MsgSeq": "2", "IsPlaceMsg": 1}),
            json!({"MsgSeq": -1}),
            json!({"IsPlaceMsg": 0}),
        ]);
        assert_eq!(items.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
        assert!(items[&2].0 && !items[&3].0);
    }
}
