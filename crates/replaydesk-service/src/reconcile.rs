//! Reconcile: fetch a class's ReplayGroup history page by page (20 a page, backwards,
//! paced, resumable), keep it read-only beside the class, and compare it with the log.

use super::api::models;
use super::{ReplayDesk, ServiceError, ServiceResult};
use parking_lot::Mutex;
use replaydesk_align::{
    self as align, hole_runs, read_history_item, Entry, EntryBody, EntryKind, MsgRef, SeqRange,
};
use replaydesk_im::client::ApiResponse;
use replaydesk_im::wire::{self, ApiStatus, GroupMsgGetSimpleRequest};
use replaydesk_protocol::MessageType;
use replaydesk_store::Actor;
use replaydesk_store::{AlignmentRow, ReconcileRunRow, ReconcileState, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;
use ts_rs::TS;

/// What `POST /v1/admin/classes/{class_id}/reconcile` takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct ReconcileRequest {
    /// Start again from the newest message even when an unfinished run could resume.
    pub restart: Option<bool>,
    /// History pages fetched per second (default 10: well under the app's request limit,
    /// leaving room for delivery). 0 = unpaced.
    pub pages_per_second: Option<f64>,
}

/// A log message missing from the group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct MissingMessage {
    #[ts(type = "number")]
    pub log_id: i64,
    #[ts(type = "number")]
    pub seq: u64,
    pub msg_type: Option<MessageType>,
    /// Where ReplayDesk's send landed, if it knows.
    #[ts(type = "number | null")]
    pub im_msg_seq: Option<u64>,
    /// True when that place is now a hole (recalled, expired).
    pub now_a_hole: bool,
}

/// A group message ReplayDesk did not write (another server or a client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ForeignMessage {
    pub message: MsgRef,
    pub from_account: String,
}

/// A message whose `Data` in the group differs from the logged text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DataDiffers {
    #[ts(type = "number")]
    pub log_id: i64,
    #[ts(type = "number")]
    pub seq: u64,
    #[ts(type = "number")]
    pub im_msg_seq: u64,
    pub logged: String,
    pub in_group: String,
}

/// One protocol `seq` carried by several group messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DuplicateSeq {
    #[ts(type = "number")]
    pub seq: u64,
    #[ts(type = "number[]")]
    pub im_msg_seqs: Vec<u64>,
}

/// The group's history compared with ReplayDesk's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReconcileReport {
    pub history_messages: u32,
    pub log_messages: u32,
    /// Log messages found in the group with the same seq and the same Data.
    pub matched: u32,
    /// Sent (as far as the log knows) but not in the group.
    pub missing: Vec<MissingMessage>,
    /// In the group, not in the log (whiteboard data excluded: clients write it).
    pub foreign: Vec<ForeignMessage>,
    pub duplicate_seqs: Vec<DuplicateSeq>,
    /// Holes (`IsPlaceMsg`, or `MsgSeq`s missing between two messages), as runs of
    /// consecutive `MsgSeq`s (reports stored before runs listed each one; they read as
    /// runs of one).
    pub holes: Vec<SeqRange>,
    pub data_differs: Vec<DataDiffers>,
    /// Items that could not be read at all (no usable MsgSeq).
    pub unreadable_items: u32,
    /// Messages the IM now answers as placeholders (expired, recalled) whose body the
    /// archive holds: compared from the archive's copy.
    #[serde(default)]
    pub from_archive: u32,
}

/// A reconcile run and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReconcileRun {
    #[ts(type = "number")]
    pub id: i64,
    pub class_id: String,
    pub state: models::ReconcileState,
    /// The next page's `ReqMsgSeq`; a new request resumes here.
    #[ts(type = "number | null")]
    pub cursor: Option<i64>,
    #[ts(type = "number")]
    pub pages: i64,
    #[ts(type = "number")]
    pub fetched: i64,
    pub error: Option<String>,
    pub actor: String,
    #[ts(type = "number")]
    pub started_at: i64,
    #[ts(type = "number")]
    pub updated_at: i64,
    #[ts(type = "number | null")]
    pub finished_at: Option<i64>,
    pub report: Option<ReconcileReport>,
}

impl From<ReconcileRunRow> for ReconcileRun {
    fn from(r: ReconcileRunRow) -> Self {
        Self {
            report: r
                .report
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
            id: r.id,
            class_id: r.class_id,
            state: r.state.into(),
            cursor: r.cursor,
            pages: r.pages,
            fetched: r.fetched,
            error: r.error,
            actor: r.actor,
            started_at: r.started_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

/// A history page read leniently: items kept as JSON values.
#[derive(Debug, Deserialize)]
pub(crate) struct RawPage {
    #[serde(flatten)]
    status: ApiStatus,
    #[serde(rename = "IsFinished", default)]
    pub(crate) is_finished: Value,
    #[serde(rename = "RspMsgList", default)]
    pub(crate) list: Vec<Value>,
}

impl ApiResponse for RawPage {
    fn status(&self) -> &ApiStatus {
        &self.status
    }
}

/// Classes being reconciled in this process (keyed by database too, for tests that run
/// several desks): a second request while one runs answers the running one.
static RUNNING: Mutex<Option<HashSet<(PathBuf, String)>>> = Mutex::new(None);

fn running() -> parking_lot::MutexGuard<'static, Option<HashSet<(PathBuf, String)>>> {
    RUNNING.lock()
}

/// Compares a fetched history with the log.
pub fn compare(
    history: &[Entry],
    data_by_msg_seq: &HashMap<u64, String>,
    log: &[AlignmentRow],
    unreadable: u32,
) -> ReconcileReport {
    // Group side: protocol seq → (MsgSeq, Data) for each protocol message.
    let mut by_seq: HashMap<u64, Vec<(u64, String)>> = HashMap::new();
    let mut place: Vec<u64> = Vec::new();
    for e in history {
        let Some(ms) = e.im_msg_seq else { continue };
        match &e.body {
            EntryBody::Protocol { msg, .. } => by_seq
                .entry(msg.seq.get())
                .or_default()
                .push((ms, data_by_msg_seq.get(&ms).cloned().unwrap_or_default())),
            EntryBody::Hole => place.push(ms),
            _ => {}
        }
    }
    let known: Vec<u64> = history.iter().filter_map(|e| e.im_msg_seq).collect();
    let holes = hole_runs(&place, &known, true);
    // Sorted and apart: the run that could hold a MsgSeq is found by binary search.
    fn is_hole(holes: &[SeqRange], s: u64) -> bool {
        let k = holes.partition_point(|r| r.last < s);
        holes.get(k).is_some_and(|r| r.contains(s))
    }

    let mut report = ReconcileReport {
        history_messages: history.len() as u32,
        log_messages: log.len() as u32,
        matched: 0,
        missing: Vec::new(),
        foreign: Vec::new(),
        duplicate_seqs: Vec::new(),
        holes,
        data_differs: Vec::new(),
        unreadable_items: unreadable,
        from_archive: 0,
    };
    let mut logged_seqs = HashSet::new();
    for row in log {
        let Ok((msg, _)) = align::read_protocol_data(&row.data) else {
            continue;
        };
        let seq = msg.seq.get();
        logged_seqs.insert(seq);
        match by_seq.get(&seq) {
            Some(found) => {
                let (ms, data) = &found[0];
                if *data == row.data {
                    report.matched += 1;
                } else {
                    report.data_differs.push(DataDiffers {
                        log_id: row.id,
                        seq,
                        im_msg_seq: *ms,
                        logged: row.data.clone(),
                        in_group: data.clone(),
                    });
                }
            }
            None if row.sent => {
                let im = row.im_msg_seq.and_then(|s| u64::try_from(s).ok());
                report.missing.push(MissingMessage {
                    log_id: row.id,
                    seq,
                    msg_type: Some(msg.message_type()),
                    im_msg_seq: im,
                    now_a_hole: im.is_some_and(|s| is_hole(&report.holes, s)),
                });
            }
            None => {}
        }
    }
    let mut dups: Vec<DuplicateSeq> = by_seq
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(s, v)| DuplicateSeq {
            seq: *s,
            im_msg_seqs: v.iter().map(|(m, _)| *m).collect(),
        })
        .collect();
    dups.sort_by_key(|d| d.seq);
    report.duplicate_seqs = dups;
    for e in history {
        let Some(ms) = e.im_msg_seq else { continue };
        let foreign = match &e.body {
            EntryBody::Protocol { msg, .. } => !logged_seqs.contains(&msg.seq.get()),
            EntryBody::Unreadable { .. } | EntryBody::Other => true,
            _ => false,
        };
        if foreign {
            report.foreign.push(ForeignMessage {
                message: entry_ref(e, ms),
                from_account: e.from.clone(),
            });
        }
    }
    report
}

fn entry_ref(e: &Entry, ms: u64) -> MsgRef {
    let (kind, seq) = match &e.body {
        EntryBody::Protocol { msg, .. } => (msg.message_type().into(), Some(msg.seq.get())),
        EntryBody::Unreadable { .. } => (EntryKind::Unreadable, None),
        EntryBody::Whiteboard { seq, .. } => (EntryKind::Whiteboard, *seq),
        EntryBody::Hole => (EntryKind::Hole, None),
        EntryBody::Other => (EntryKind::Other, None),
    };
    MsgRef {
        kind,
        im_msg_seq: Some(ms),
        seq,
        log_id: None,
    }
}

/// The first custom element's `Data` text of a history item, as it was in the group.
fn custom_data(v: &Value) -> Option<String> {
    v.get("MsgBody")?
        .as_array()?
        .iter()
        .find(|e| e.get("MsgType").and_then(Value::as_str) == Some("TIMCustomElem"))?
        .get("MsgContent")?
        .get("Data")?
        .as_str()
        .map(str::to_owned)
}

/// A stored history read back: entries oldest first, each custom message's `Data` by
/// `MsgSeq`, and how many items could not be read.
pub struct StoredHistory {
    pub entries: Vec<Entry>,
    pub data: HashMap<u64, String>,
    pub unreadable: u32,
}

/// Reads stored history rows (MsgSeq, item JSON).
pub fn history_entries(rows: &[(i64, String)]) -> StoredHistory {
    let mut entries = Vec::with_capacity(rows.len());
    let mut data = HashMap::new();
    let mut unreadable = 0;
    for (_, item) in rows {
        let read = serde_json::from_str::<Value>(item)
            .map_err(|e| e.to_string())
            .and_then(|v| read_history_item(&v).map(|e| (v, e)));
        match read {
            Ok((v, e)) => {
                if let (Some(ms), Some(d)) = (e.im_msg_seq, custom_data(&v)) {
                    data.insert(ms, d);
                }
                entries.push(e);
            }
            Err(_) => unreadable += 1,
        }
    }
    StoredHistory {
        entries: align::normalize(entries),
        data,
        unreadable,
    }
}

async fn report_for(
    store: &Store,
    class_id: &str,
    from_archive: u32,
) -> ServiceResult<ReconcileReport> {
    let rows = store.group_history(class_id).await?;
    let h = history_entries(&rows);
    let log = store.alignment_rows(class_id).await?;
    let mut report = compare(&h.entries, &h.data, &log, h.unreadable);
    report.from_archive = from_archive;
    Ok(report)
}

impl ReplayDesk {
    /// Starts (or resumes) reconciling a class in the background and answers the run.
    /// A run already going for the class is answered as it stands.
    pub async fn reconcile_class(
        &self,
        class_id: &str,
        req: ReconcileRequest,
        actor: &Actor,
    ) -> ServiceResult<ReconcileRun> {
        let pace = match req.pages_per_second {
            None => 10.0,
            Some(p) if p.is_finite() && p >= 0.0 => p,
            Some(p) => {
                return Err(ServiceError::Invalid(format!(
                    "pages_per_second: must be 0 or more, got {p}"
                )))
            }
        };
        let class = self.class(class_id).await?;
        super::import::refuse_if_imported(&class, "reconciling with the IM group")?;
        let store = self.store().clone();
        let key = (self.config().db.clone(), class.class_id.clone());
        // Claimed before any await, so two requests cannot both start a run.
        let fresh = running()
            .get_or_insert_with(HashSet::new)
            .insert(key.clone());
        if !fresh {
            if let Some(r) = store.latest_reconcile(class_id).await? {
                return Ok(r.into());
            }
        }
        let started = self.begin_reconcile(&store, class_id, &req, actor).await;
        let run = match started {
            Ok(run) => run,
            Err(e) => {
                if let Some(set) = running().as_mut() {
                    set.remove(&key);
                }
                return Err(e);
            }
        };
        let im = self.delivery().im().clone();
        let (run_id, group, cursor) = (run.id, class.group_id.clone(), run.cursor);
        let class_id = class.class_id.clone();
        tokio::spawn(async move {
            let outcome = fetch_all(&store, &im, run_id, &class_id, &group, cursor, pace).await;
            let end = match outcome {
                Ok(from_archive) => match report_for(&store, &class_id, from_archive).await {
                    Ok(rep) => {
                        let text = serde_json::to_string(&rep).unwrap_or_default();
                        store.end_reconcile(run_id, Ok(&text)).await
                    }
                    Err(e) => store.end_reconcile(run_id, Err(&e.to_string())).await,
                },
                Err(e) => store.end_reconcile(run_id, Err(&e)).await,
            };
            if let Err(e) = end {
                tracing::warn!(error = %e, run_id, "could not record the end of a reconcile run");
            }
            if let Some(set) = running().as_mut() {
                set.remove(&key);
            }
        });
        Ok(run.into())
    }

    async fn begin_reconcile(
        &self,
        store: &Store,
        class_id: &str,
        req: &ReconcileRequest,
        actor: &Actor,
    ) -> ServiceResult<ReconcileRunRow> {
        let latest = store.latest_reconcile(class_id).await?;
        let run = match latest {
            Some(r) if r.state != ReconcileState::Finished && req.restart != Some(true) => {
                store.resume_reconcile(r.id).await?;
                store.latest_reconcile(class_id).await?.unwrap_or(r)
            }
            _ => store.start_reconcile(class_id, actor).await?,
        };
        store
            .audit(
                actor,
                "reconcile",
                class_id,
                &serde_json::json!({"run": run.id}),
            )
            .await?;
        Ok(run)
    }

    /// The class's latest reconcile run (none before the first).
    pub async fn reconcile_status(&self, class_id: &str) -> ServiceResult<Option<ReconcileRun>> {
        self.class(class_id).await?;
        Ok(self
            .store()
            .latest_reconcile(class_id)
            .await?
            .map(Into::into))
    }
}

/// Pages backwards from `cursor` until the history ends, storing each page with the next
/// cursor. Frequency-limit answers wait and retry; other failures end the run (resumable).
/// Answers how many placeholders the IM gave for messages the archive holds.
async fn fetch_all(
    store: &Store,
    im: &replaydesk_im::client::ImClient,
    run_id: i64,
    class_id: &str,
    group_id: &str,
    mut cursor: Option<i64>,
    pace: f64,
) -> Result<u32, String> {
    let mut from_archive = 0u32;
    let gap = if pace > 0.0 {
        Duration::from_secs_f64(1.0 / pace)
    } else {
        Duration::ZERO
    };
    let mut retries = 0u32;
    loop {
        let req = GroupMsgGetSimpleRequest {
            group_id: group_id.to_owned(),
            req_msg_number: wire::HISTORY_PAGE_SIZE,
            req_msg_seq: cursor.and_then(|c| u64::try_from(c).ok()),
        };
        let page: RawPage = match im.call(wire::GROUP_MSG_GET_SIMPLE, &req).await {
            Ok(a) => {
                retries = 0;
                a.body
            }
            Err(e) if retries < 5 && e.to_string().contains("frequency") => {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(500 * u64::from(retries))).await;
                continue;
            }
            Err(e) => return Err(format!("group_msg_get_simple: {e}")),
        };
        let mut items = Vec::with_capacity(page.list.len());
        for v in &page.list {
            if let Ok(e) = read_history_item(v) {
                if let Some(s) = e.im_msg_seq {
                    items.push((s, v.to_string()));
                }
            }
        }
        let oldest = items.iter().map(|(s, _)| *s).min();
        let places: Vec<i64> = items
            .iter()
            .filter(|(_, item)| replaydesk_store::item_is_place(item))
            .map(|(s, _)| *s as i64)
            .collect();
        if let (Some(lo), Some(hi)) = (places.iter().min(), places.iter().max()) {
            let held = store
                .held_seqs(class_id, *lo, *hi)
                .await
                .map_err(|e| e.to_string())?;
            from_archive += places.iter().filter(|s| held.contains(s)).count() as u32;
        }
        let finished = replaydesk_protocol::lenient_integer(&page.is_finished).unwrap_or(0) == 1
            || oldest.is_none_or(|s| s <= 1);
        let next = oldest.map(|s| s as i64 - 1);
        store
            .save_history_page(run_id, class_id, &items, next.or(cursor))
            .await
            .map_err(|e| e.to_string())?;
        if finished {
            return Ok(from_archive);
        }
        cursor = next;
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
    }
}
