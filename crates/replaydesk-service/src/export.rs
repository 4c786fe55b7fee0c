//! A class as one JSON bundle for inspection elsewhere: the class, its members, every
//! message with its delivery attempts, its timeline reports' round-trip facts, the group
//! history reconcile fetched, and the alignment (imported by [`super::import`]). Nothing secret is in it: no report token hash, no credential key, no
//! credentials (they are derived, never stored), no IM key or admin token.

use super::{align_class, ReplayDesk, ServiceResult};
use replaydesk_align::Alignment;
// The bundle is written and read with the API's models, not the store's rows: the same
// wire format the rows had (the models copy their fields and serde attributes), and a
// column added to a table does not enter the format until it is added to its model.
use super::api::models::{Attempt, ClassRecord, Member, ReportFacts, StoredMessage};
use replaydesk_store::{MessageFilter, Store};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a bundle says it is (a reader refuses other formats).
pub const BUNDLE_FORMAT: &str = "replaydesk-class-bundle/1";

/// One class, exported (`GET /v1/admin/classes/{class_id}/export`, `replaydesk export`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ClassBundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    pub replaydesk_version: String,
    #[ts(type = "number")]
    pub exported_at: i64,
    pub class: ClassRecord,
    pub members: Vec<Member>,
    /// Oldest first.
    pub messages: Vec<StoredMessage>,
    /// Every message's attempts, oldest first.
    pub attempts: Vec<Attempt>,
    /// The class's timeline reports without their bodies, oldest first: the round-trip
    /// facts (`rtt_ms`, `rtt_source`, `uncertainty_ms`) alignment shows. Absent in bundles
    /// from before it was added (read as none).
    #[serde(default)]
    pub reports: Vec<ReportFacts>,
    /// The group's history as reconcile fetched it: `RspMsgList` items exactly as received,
    /// oldest first (empty when the class was never reconciled).
    #[ts(type = "unknown[]")]
    pub history: Vec<HistoryItem>,
    pub alignment: Alignment,
    /// The archive's state over `history` (absent in bundles written before the archive,
    /// and for a class never archived). Imported with the class, read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<BundleArchive>,
}

/// A class's archive state as a bundle carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct BundleArchive {
    pub state: super::api::models::ArchiveState,
    #[ts(type = "number")]
    pub last_seq: i64,
    pub holes: Vec<super::archive::ArchiveHoleView>,
    #[ts(type = "number | null")]
    pub last_run_at: Option<i64>,
}

/// One history item of a bundle, kept as its JSON text: a bundle's history then takes
/// about its own size in memory while it is read (a tree of JSON values takes many times
/// its text), and only one item at a time is ever a tree. Written out as the JSON it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryItem(pub String);

impl HistoryItem {
    /// The item as a JSON value: the stored text parsed, or the text itself as a string
    /// when it no longer parses.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| serde_json::Value::String(self.0.clone()))
    }
}

impl Serialize for HistoryItem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for HistoryItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(HistoryItem(serde_json::Value::deserialize(d)?.to_string()))
    }
}

/// Builds a class's bundle from a store alone (the CLI uses it without starting a server).
pub async fn export_class(
    store: &Store,
    class_id: &str,
    now_ms: i64,
) -> ServiceResult<ClassBundle> {
    let class = store.class(class_id).await?.into();
    let members = store
        .members(class_id)
        .await?
        .into_iter()
        .map(Member::from)
        .collect();
    let filter = MessageFilter {
        class_id: Some(class_id.to_owned()),
        ..Default::default()
    };
    let mut messages = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_messages(&filter, cursor, 1000).await?;
        messages.extend(page.items.into_iter().map(StoredMessage::from));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    messages.reverse();
    // One query for the class; attempts of a message made after the listing above are
    // left out with it (a bundle's attempts all point at its messages).
    let listed: std::collections::HashSet<i64> = messages.iter().map(|m| m.id).collect();
    let attempts = store
        .class_attempts(class_id)
        .await?
        .into_iter()
        .filter(|a| listed.contains(&a.message_id))
        .map(Attempt::from)
        .collect();
    let reports = store
        .report_facts(class_id)
        .await?
        .into_iter()
        .map(ReportFacts::from)
        .collect();
    let history = store
        .group_history(class_id)
        .await?
        .into_iter()
        // Stored as received; an item that no longer parses is written as its text.
        .map(|(_, item)| HistoryItem(item))
        .collect();
    let alignment = align_class(store, class_id).await?;
    let archive = match store.archive_state(class_id).await? {
        Some(row) => Some(BundleArchive {
            state: row.state.into(),
            last_seq: row.last_seq,
            holes: store
                .archive_holes(class_id)
                .await?
                .into_iter()
                .map(|h| super::archive::ArchiveHoleView {
                    from_seq: h.from_seq,
                    to_seq: h.to_seq,
                    reason: h.reason,
                })
                .collect(),
            last_run_at: row.last_run_at,
        }),
        None => None,
    };
    Ok(ClassBundle {
        format: BUNDLE_FORMAT.to_owned(),
        replaydesk_version: env!("CARGO_PKG_VERSION").to_owned(),
        exported_at: now_ms,
        class,
        members,
        messages,
        attempts,
        reports,
        history,
        alignment,
        archive,
    })
}

impl ReplayDesk {
    /// The class as one bundle (see the module).
    pub async fn export_class(&self, class_id: &str) -> ServiceResult<ClassBundle> {
        export_class(&self.inner.store, class_id, self.server_ms()).await
    }
}
