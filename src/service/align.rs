//! Alignment of a class: from the group's history when reconcile has fetched it, else
//! from ReplayDesk's own log.

use super::{ReplayDesk, ServiceResult};
use crate::align::{self, AlignOptions, AlignSource, Alignment, Entry, EntryBody, RttSource};
use crate::store::{AlignmentRow, Store};

/// One log row as an alignment entry.
pub fn log_entry(r: &AlignmentRow) -> Entry {
    let body = match align::read_protocol_data(&r.data) {
        Ok((msg, time_line_missing)) => EntryBody::Protocol {
            msg,
            time_line_missing,
            uncertainty_ms: r.uncertainty_ms,
            rtt_source: Some(if r.rtt_ms.is_some() {
                RttSource::Client
            } else {
                RttSource::None
            }),
        },
        Err(reason) => EntryBody::Unreadable { reason },
    };
    Entry {
        im_msg_seq: r.im_msg_seq.and_then(|s| u64::try_from(s).ok()),
        received_ms: Some(r.created_at),
        received_exact: true,
        from: String::new(),
        log_id: Some(r.id),
        sent: r.sent,
        body,
    }
}

/// Aligns a class from a store alone (the CLI uses it without starting the service).
pub async fn align_class(store: &Store, class_id: &str) -> ServiceResult<Alignment> {
    let class = store.class(class_id).await?;
    let rows = store.alignment_rows(class_id).await?;
    let entries: Vec<Entry> = rows.iter().map(log_entry).collect();
    Ok(align::align(
        AlignSource::Log,
        Some(class.group_id),
        Some(class.class_id),
        &entries,
        &AlignOptions::default(),
    ))
}

impl ReplayDesk {
    /// Where the class's users, videos and events land on the server axis, and what is
    /// wrong (see [`crate::align`]).
    pub async fn class_alignment(&self, class_id: &str) -> ServiceResult<Alignment> {
        align_class(&self.inner.store, class_id).await
    }
}
