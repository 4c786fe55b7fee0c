//! The emulator's groups and their messages: sequence numbers, the duplicate filter, the
//! per-group frequency limit and history paging. Pure logic under one lock, no I/O.

use super::limits::{self, TokenBucket};
use super::persist::{Change, SavedGroup};
use super::retention::Retention;
use rand::Rng as _;
use replaydesk_im::wire::HistoryMsg;
use replaydesk_protocol::MsgBodyElem;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The live-broadcast group type: accepted, but it keeps no history.
pub(crate) const AV_CHAT_ROOM: &str = "AVChatRoom";

/// The prefix of the ids the service generates; custom ids must not use it.
pub(crate) const GENERATED_ID_PREFIX: &str = "@TGS#";

/// A message as `send_group_msg` hands it over, already validated.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub from_account: String,
    pub random: u32,
    pub body: Vec<MsgBodyElem>,
    pub priority: i64,
    /// `OnlineOnlyFlag: 1`: delivered to online members only, never stored.
    pub online_only: bool,
}

/// How a send was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Stored in the group's history under `seq`.
    Stored { seq: u64, time: i64 },
    /// A duplicate of an earlier message (same `Random` within the window): nothing new
    /// stored, the original's `seq` and `time` answered.
    Duplicate { seq: u64, time: i64 },
    /// Acknowledged, not stored: an `AVChatRoom` message (it still takes a `seq`), or an
    /// online-only message (it takes none: it has no place in the history).
    NotStored { seq: Option<u64>, time: i64 },
}

/// Why a group operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    NotFound,
    Dismissed,
    RateLimited,
    /// History asked of a group type that keeps none.
    NoHistory,
    IdTaken,
}

/// One page of history, newest first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    pub msgs: Vec<HistoryMsg>,
    /// Nothing older than the page remains.
    pub finished: bool,
}

/// Remembers each `Random` of a group for the duplicate window.
#[derive(Debug, Default)]
struct DupFilter {
    /// `Random` → (seq, time, when it was first seen).
    by_random: HashMap<u32, (u64, i64, Instant)>,
    /// Insertion order, for pruning entries older than the window.
    order: VecDeque<(Instant, u32)>,
}

impl DupFilter {
    fn prune(&mut self, window: Duration, now: Instant) {
        while let Some(&(at, random)) = self.order.front() {
            if now.saturating_duration_since(at) < window {
                break;
            }
            self.order.pop_front();
            if self.by_random.get(&random).is_some_and(|e| e.2 == at) {
                self.by_random.remove(&random);
            }
        }
    }

    fn lookup(&mut self, random: u32, window: Duration, now: Instant) -> Option<(u64, i64)> {
        if window.is_zero() {
            return None;
        }
        self.prune(window, now);
        self.by_random
            .get(&random)
            .map(|&(seq, time, _)| (seq, time))
    }

    fn insert(&mut self, random: u32, seq: u64, time: i64, window: Duration, now: Instant) {
        if window.is_zero() {
            return;
        }
        self.by_random.insert(random, (seq, time, now));
        self.order.push_back((now, random));
    }
}

#[derive(Debug)]
struct Group {
    group_type: String,
    dismissed: bool,
    last_seq: u64,
    /// Stored messages in `MsgSeq` order.
    messages: Vec<HistoryMsg>,
    dup: DupFilter,
    bucket: Option<TokenBucket>,
}

impl Group {
    fn keeps_history(&self) -> bool {
        self.group_type != AV_CHAT_ROOM
    }
}

/// Every group the emulator knows, dismissed ones included (so later calls get 10015).
#[derive(Debug)]
pub(crate) struct Groups {
    groups: HashMap<String, Group>,
    group_rate: u32,
    dup_window: Duration,
    /// How long messages are kept (applied when history is read).
    retention: Retention,
    /// Changes not yet saved, when the groups are kept in a file (see `persist`).
    journal: Option<Vec<Change>>,
}

impl Groups {
    pub(crate) fn new(group_rate: u32, dup_window: Duration) -> Self {
        Self {
            groups: HashMap::new(),
            group_rate,
            dup_window,
            retention: Retention::NONE,
            journal: None,
        }
    }

    /// Puts saved groups back and journals every change from now on. Each group's
    /// duplicate filter is rebuilt from its messages still inside the window (by their
    /// `MsgTimeStamp`), so a retry after a restart is still recognised.
    pub(crate) fn restore(&mut self, saved: Vec<SavedGroup>, now_unix_s: i64, now: Instant) {
        let window = self.dup_window;
        for s in saved {
            let mut dup = DupFilter::default();
            if !s.dismissed {
                for m in &s.messages {
                    let age = Duration::from_secs(
                        u64::try_from(now_unix_s - m.msg_time_stamp).unwrap_or(0),
                    );
                    if age < window {
                        let at = now.checked_sub(age).unwrap_or(now);
                        dup.insert(m.msg_random as u32, m.msg_seq, m.msg_time_stamp, window, at);
                    }
                }
            }
            let bucket = if s.dismissed {
                None
            } else {
                TokenBucket::new(self.group_rate, now)
            };
            self.groups.insert(
                s.id,
                Group {
                    group_type: s.group_type,
                    dismissed: s.dismissed,
                    last_seq: s.last_seq,
                    messages: s.messages,
                    dup,
                    bucket,
                },
            );
        }
        self.journal = Some(Vec::new());
    }

    /// The changes journaled since the last call (none when not journaling).
    pub(crate) fn take_changes(&mut self) -> Vec<Change> {
        self.journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn record(&mut self, change: impl FnOnce() -> Change) {
        if let Some(j) = &mut self.journal {
            j.push(change());
        }
    }

    fn live(&mut self, id: &str) -> Result<&mut Group, Refused> {
        match self.groups.get_mut(id) {
            None => Err(Refused::NotFound),
            Some(g) if g.dismissed => Err(Refused::Dismissed),
            Some(g) => Ok(g),
        }
    }

    /// Creates a group of `group_type` (validated by the caller) with the custom `id`, or
    /// a generated `@TGS#...` id when `None`. A dismissed group's id may be taken again:
    /// the new group starts afresh (sequence from 1, empty history).
    pub(crate) fn create(
        &mut self,
        id: Option<&str>,
        group_type: &str,
        now: Instant,
    ) -> Result<String, Refused> {
        let id = match id {
            Some(id) => {
                if self.groups.get(id).is_some_and(|g| !g.dismissed) {
                    return Err(Refused::IdTaken);
                }
                id.to_owned()
            }
            None => loop {
                let candidate = generated_id();
                if !self.groups.contains_key(&candidate) {
                    break candidate;
                }
            },
        };
        let group = Group {
            group_type: group_type.to_owned(),
            dismissed: false,
            last_seq: 0,
            messages: Vec::new(),
            dup: DupFilter::default(),
            bucket: TokenBucket::new(self.group_rate, now),
        };
        self.groups.insert(id.clone(), group);
        self.record(|| Change::Created {
            id: id.clone(),
            group_type: group_type.to_owned(),
        });
        Ok(id)
    }

    /// Dismisses a group and drops its messages.
    pub(crate) fn destroy(&mut self, id: &str) -> Result<(), Refused> {
        let group = self.live(id)?;
        group.dismissed = true;
        group.messages = Vec::new();
        group.dup = DupFilter::default();
        group.bucket = None;
        self.record(|| Change::Destroyed { id: id.to_owned() });
        Ok(())
    }

    /// Takes a message: group checks, the group's frequency limit, the duplicate filter,
    /// then a new `MsgSeq`.
    pub(crate) fn send(
        &mut self,
        id: &str,
        msg: NewMessage,
        now_unix_s: i64,
        now: Instant,
    ) -> Result<Sent, Refused> {
        let window = self.dup_window;
        let journaling = self.journal.is_some();
        let group = self.live(id)?;
        if !limits::take(&mut group.bucket, now) {
            return Err(Refused::RateLimited);
        }
        if msg.online_only {
            return Ok(Sent::NotStored {
                seq: None,
                time: now_unix_s,
            });
        }
        if let Some((seq, time)) = group.dup.lookup(msg.random, window, now) {
            return Ok(Sent::Duplicate { seq, time });
        }
        group.last_seq += 1;
        let seq = group.last_seq;
        group.dup.insert(msg.random, seq, now_unix_s, window, now);
        if !group.keeps_history() {
            self.record(|| Change::SeqTaken {
                id: id.to_owned(),
                seq,
            });
            return Ok(Sent::NotStored {
                seq: Some(seq),
                time: now_unix_s,
            });
        }
        let stored = HistoryMsg {
            from_account: msg.from_account,
            is_place_msg: 0,
            msg_body: msg.body,
            msg_priority: msg.priority,
            msg_random: u64::from(msg.random),
            msg_seq: seq,
            msg_time_stamp: now_unix_s,
        };
        let journaled = journaling.then(|| stored.clone());
        group.messages.push(stored);
        if let Some(msg) = journaled {
            self.record(|| Change::Stored {
                id: id.to_owned(),
                msg,
            });
        }
        Ok(Sent::Stored {
            seq,
            time: now_unix_s,
        })
    }

    pub(crate) fn retention(&self) -> Retention {
        self.retention
    }

    pub(crate) fn set_retention(&mut self, retention: Retention) {
        self.retention = retention;
    }

    /// At most `number` stored messages with `MsgSeq <= newest` (all when `None`), newest
    /// first; those past the retention at unix second `now` in their place as holes.
    pub(crate) fn page(
        &mut self,
        id: &str,
        number: usize,
        newest: Option<u64>,
        now: i64,
    ) -> Result<Page, Refused> {
        let retention = self.retention;
        let group = self.live(id)?;
        if !group.keeps_history() {
            return Err(Refused::NoHistory);
        }
        let newest = newest.unwrap_or(u64::MAX);
        let end = group.messages.partition_point(|m| m.msg_seq <= newest);
        let start = end.saturating_sub(number);
        let len = group.messages.len();
        let msgs = (start..end)
            .rev()
            .filter_map(|i| {
                group
                    .messages
                    .get(i)
                    .map(|m| retention.view(m, i, len, now))
            })
            .collect();
        Ok(Page {
            msgs,
            finished: start == 0,
        })
    }

    /// Recalls messages by `MsgSeq`: each stays in the history as a hole (`IsPlaceMsg`,
    /// no body, no sender). Answers, per seq, whether it was found.
    pub(crate) fn recall(&mut self, id: &str, seqs: &[u64]) -> Result<Vec<(u64, bool)>, Refused> {
        let group = self.live(id)?;
        let found: Vec<(u64, bool)> = seqs
            .iter()
            .map(|&seq| {
                let found = match group.messages.binary_search_by_key(&seq, |m| m.msg_seq) {
                    Ok(i) => {
                        let m = &mut group.messages[i];
                        m.is_place_msg = 1;
                        m.msg_body = Vec::new();
                        m.from_account = String::new();
                        true
                    }
                    Err(_) => false,
                };
                (seq, found)
            })
            .collect();
        self.record(|| Change::Recalled {
            id: id.to_owned(),
            seqs: found.iter().filter(|(_, f)| *f).map(|(s, _)| *s).collect(),
        });
        Ok(found)
    }

    /// A group's whole stored history, oldest first; empty for unknown or dismissed groups.
    pub(crate) fn history(&self, id: &str) -> Vec<HistoryMsg> {
        self.groups
            .get(id)
            .map(|g| g.messages.clone())
            .unwrap_or_default()
    }
}

fn generated_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let mut id = String::from(GENERATED_ID_PREFIX);
    id.push(if rng.random::<bool>() { '2' } else { 'a' });
    for _ in 0..9 {
        let i = rng.random_range(0..ALPHABET.len());
        id.push(char::from(ALPHABET.get(i).copied().unwrap_or(b'A')));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(random: u32) -> NewMessage {
        NewMessage {
            from_account: "administrator".into(),
            random,
            body: vec![MsgBodyElem::custom("{}")],
            priority: 1,
            online_only: false,
        }
    }

    #[test]
    fn recall_leaves_a_hole_in_place_and_reports_unknown_seqs() {
        let t = Instant::now();
        let mut g = Groups::new(0, Duration::from_secs(300));
        g.create(Some("g"), "Public", t).unwrap();
        for r in 1..=3 {
            g.send("g", msg(r), 100, t).unwrap();
        }
        assert_eq!(g.recall("g", &[2, 9]), Ok(vec![(2, true), (9, false)]));
        let h = g.history("g");
        assert_eq!(h.len(), 3, "a recalled message keeps its place");
        assert_eq!((h[1].msg_seq, h[1].is_place_msg), (2, 1));
        assert!(h[1].msg_body.is_empty() && h[1].from_account.is_empty());
        assert_eq!(h[0].is_place_msg + h[2].is_place_msg, 0);
        assert_eq!(g.recall("nope", &[1]), Err(Refused::NotFound));
    }

    #[test]
    fn seq_from_one_and_duplicates_keep_the_original() {
        let t = Instant::now();
        let mut g = Groups::new(0, Duration::from_secs(300));
        g.create(Some("g"), "Public", t).unwrap();
        assert_eq!(
            g.send("g", msg(7), 100, t),
            Ok(Sent::Stored { seq: 1, time: 100 })
        );
        assert_eq!(
            g.send("g", msg(8), 101, t),
            Ok(Sent::Stored { seq: 2, time: 101 })
        );
        assert_eq!(
            g.send("g", msg(7), 150, t + Duration::from_secs(299)),
            Ok(Sent::Duplicate { seq: 1, time: 100 })
        );
        // Outside the window the same Random is a new message.
        assert_eq!(
            g.send("g", msg(7), 500, t + Duration::from_secs(300)),
            Ok(Sent::Stored { seq: 3, time: 500 })
        );
        assert_eq!(g.history("g").len(), 3);
    }

    #[test]
    fn zero_window_turns_the_filter_off() {
        let t = Instant::now();
        let mut g = Groups::new(0, Duration::ZERO);
        g.create(Some("g"), "Public", t).unwrap();
        g.send("g", msg(7), 1, t).unwrap();
        assert_eq!(
            g.send("g", msg(7), 1, t),
            Ok(Sent::Stored { seq: 2, time: 1 })
        );
    }

    #[test]
    fn online_only_and_avchatroom_are_not_stored() {
        let t = Instant::now();
        let mut g = Groups::new(0, Duration::from_secs(300));
        g.create(Some("g"), "Public", t).unwrap();
        let mut m = msg(1);
        m.online_only = true;
        assert_eq!(
            g.send("g", m, 5, t),
            Ok(Sent::NotStored { seq: None, time: 5 })
        );
        assert!(g.history("g").is_empty());
        let live = g.create(None, AV_CHAT_ROOM, t).unwrap();
        assert!(live.starts_with(GENERATED_ID_PREFIX));
        assert_eq!(
            g.send(&live, msg(1), 5, t),
            Ok(Sent::NotStored {
                seq: Some(1),
                time: 5
            })
        );
        assert_eq!(g.page(&live, 20, None, 0), Err(Refused::NoHistory));
    }

    #[test]
    fn missing_dismissed_taken_and_recreated() {
        let t = Instant::now();
        let mut g = Groups::new(0, Duration::from_secs(300));
        assert_eq!(g.send("x", msg(1), 1, t), Err(Refused::NotFound));
        assert_eq!(g.destroy("x"), Err(Refused::NotFound));
        g.create(Some("x"), "Public", t).unwrap();
        assert_eq!(g.create(Some("x"), "Public", t), Err(Refused::IdTaken));
        g.send("x", msg(1), 1, t).unwrap();
        g.destroy("x").unwrap();
        assert_eq!(g.send("x", msg(2), 1, t), Err(Refused::Dismissed));
        assert_eq!(g.page("x", 20, None, 0), Err(Refused::Dismissed));
        assert_eq!(g.destroy("x"), Err(Refused::Dismissed));
        g.create(Some("x"), "Public", t).unwrap();
        assert_eq!(
            g.send("x", msg(1), 1, t),
            Ok(Sent::Stored { seq: 1, time: 1 })
        );
    }

    #[test]
    fn paging_newest_first() {
        let t = Instant::now();
        let mut g = Groups::new(0, Duration::from_secs(300));
        g.create(Some("g"), "Public", t).unwrap();
        for r in 0..45 {
            g.send("g", msg(r), 1, t).unwrap();
        }
        let p = g.page("g", 20, None, 0).unwrap();
        let seqs: Vec<u64> = p.msgs.iter().map(|m| m.msg_seq).collect();
        assert_eq!(seqs, (26..=45).rev().collect::<Vec<_>>());
        assert!(!p.finished);
        let p = g.page("g", 20, Some(5), 0).unwrap();
        assert_eq!(p.msgs.len(), 5);
        assert!(p.finished);
        let p = g.page("g", 20, Some(0), 0).unwrap();
        assert!(p.msgs.is_empty() && p.finished);
    }

    #[test]
    fn group_rate_limit() {
        let t = Instant::now();
        let mut g = Groups::new(2, Duration::from_secs(300));
        g.create(Some("g"), "Public", t).unwrap();
        assert!(g.send("g", msg(1), 1, t).is_ok());
        assert!(g.send("g", msg(2), 1, t).is_ok());
        assert_eq!(g.send("g", msg(3), 1, t), Err(Refused::RateLimited));
        assert!(g.send("g", msg(3), 1, t + Duration::from_secs(1)).is_ok());
    }
}
