//! Alignment of a class: from the group's history when reconcile has fetched it, else
//! from ReplayDesk's own log.

use super::{ReplayDesk, ServiceResult};
use replaydesk_align::{
    self as align, AlignOptions, AlignSource, Alignment, Entry, EntryBody, RecordingSource,
    RttSource,
};
use replaydesk_store::{AlignmentRow, Store};

/// Which source made a 1004, from the store's name for it (`recording_sources`).
fn recording_source(name: &str) -> RecordingSource {
    match name {
        "trtc" => RecordingSource::Trtc,
        "manual" => RecordingSource::Manual,
        "css" => RecordingSource::Css,
        _ => RecordingSource::Unknown,
    }
}

/// One log row as an alignment entry.
pub fn log_entry(r: &AlignmentRow) -> Entry {
    let body = match align::read_protocol_data(&r.data) {
        Ok((msg, time_line_missing)) => EntryBody::Protocol {
            msg,
            time_line_missing,
            uncertainty_ms: r.uncertainty_ms,
            rtt_source: Some(
                r.rtt_source
                    .as_deref()
                    .and_then(RttSource::parse)
                    // Reports stored before the source was kept: only clients measured.
                    .unwrap_or(if r.rtt_ms.is_some() {
                        RttSource::Client
                    } else {
                        RttSource::None
                    }),
            ),
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
        recording_source: None,
        body,
    }
}

/// Aligns a class from a store alone (the CLI uses it without starting the service): from
/// the group's history when reconcile has fetched it (with the log's round-trip facts for
/// ReplayDesk's own pairs), else from the log.
pub async fn align_class(store: &Store, class_id: &str) -> ServiceResult<Alignment> {
    let class = store.class(class_id).await?;
    let rows = store.alignment_rows(class_id).await?;
    let history = store.group_history(class_id).await?;
    let (source, mut entries) = if history.is_empty() {
        (AlignSource::Log, rows.iter().map(log_entry).collect())
    } else {
        let mut h = super::reconcile::history_entries(&history).entries;
        enrich_from_log(&mut h, &rows);
        (AlignSource::History, h)
    };
    // Each 1004 of ReplayDesk's log says which source made it; one the log does not know
    // (another server's, in the group's history) stays unknown.
    let sources = store.recording_sources(class_id).await?;
    for e in &mut entries {
        let is_recording = matches!(
            &e.body,
            EntryBody::Protocol { msg, .. } if matches!(msg.payload, replaydesk_protocol::Payload::Recording(_))
        );
        if is_recording {
            e.recording_source = Some(
                e.log_id
                    .and_then(|id| sources.get(&id))
                    .map_or(RecordingSource::Unknown, |s| recording_source(s)),
            );
        }
    }
    Ok(align::align(
        source,
        Some(class.group_id),
        Some(class.class_id),
        &entries,
        &AlignOptions::default(),
    ))
}

/// Says which messages of an alignment read from the history the IM no longer keeps (sent
/// longer than `retention` ago): they came from the archive.
pub(crate) fn note_archive(
    a: &mut Alignment,
    history: &[(i64, String)],
    retention: std::time::Duration,
    now_ms: i64,
) {
    use replaydesk_align::{Diagnostic, DiagnosticCode, EntryKind, MsgRef};
    let cutoff = now_ms.saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
    let mut listed = Vec::new();
    let mut n = 0usize;
    for (seq, item) in history {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(item) else {
            continue;
        };
        let Ok(e) = replaydesk_align::read_history_item(&v) else {
            continue;
        };
        if matches!(e.body, EntryBody::Hole) || e.received_ms.is_none_or(|t| t >= cutoff) {
            continue;
        }
        n += 1;
        if listed.len() < 20 {
            listed.push(MsgRef {
                kind: EntryKind::Other,
                im_msg_seq: u64::try_from(*seq).ok(),
                seq: None,
                log_id: None,
            });
        }
    }
    if n == 0 {
        return;
    }
    let code = DiagnosticCode::ReadFromArchive;
    a.diagnostics.push(Diagnostic {
        code,
        severity: code.severity(),
        uid: None,
        messages: listed,
        message: format!("{n} message(s) of this group are past the IM's retention and were read from the archive"),
        explanation: code.explanation().to_owned(),
    });
}

/// Gives history entries that ReplayDesk wrote their log id and their report's RTT facts.
fn enrich_from_log(entries: &mut [Entry], rows: &[AlignmentRow]) {
    let by_seq: std::collections::HashMap<u64, Entry> = rows
        .iter()
        .map(log_entry)
        .filter_map(|e| match &e.body {
            EntryBody::Protocol { msg, .. } => Some((msg.seq.get(), e)),
            _ => None,
        })
        .collect();
    for e in entries.iter_mut() {
        if let EntryBody::Protocol {
            msg,
            uncertainty_ms,
            rtt_source,
            ..
        } = &mut e.body
        {
            if let Some(l) = by_seq.get(&msg.seq.get()) {
                e.log_id = l.log_id;
                if let EntryBody::Protocol {
                    uncertainty_ms: u,
                    rtt_source: r,
                    ..
                } = &l.body
                {
                    *uncertainty_ms = *u;
                    *rtt_source = *r;
                }
            }
        }
    }
}

impl ReplayDesk {
    /// Where the class's users, videos and events land on the server axis, and what is
    /// wrong (see [`replaydesk_align`]).
    pub async fn class_alignment(&self, class_id: &str) -> ServiceResult<Alignment> {
        let mut a = align_class(&self.inner.store, class_id).await?;
        if a.source == AlignSource::History {
            let history = self.inner.store.group_history(class_id).await?;
            note_archive(
                &mut a,
                &history,
                self.config().im.retention,
                replaydesk_clock::unix_ms_now(),
            );
        }
        Ok(a)
    }
}

#[cfg(test)]
mod archive_note_tests {
    use super::*;

    #[test]
    fn note_archive_names_what_is_past_the_retention() {
        let item = |seq: i64, ts: i64, place: u8| {
            (
                seq,
                format!(
                    r#"{{"MsgSeq":{seq},"MsgTimeStamp":{ts},"IsPlaceMsg":{place},"From_Account":"a","MsgBody":[]}}"#
                ),
            )
        };
        let history = vec![item(1, 1_000, 0), item(2, 1_000, 1), item(3, 2_000, 0)];
        let mut a = align::align(
            AlignSource::History,
            None,
            None,
            &[],
            &AlignOptions::default(),
        );
        let before = a.diagnostics.len();
        // Retention 500 s at 1,600 s: only MsgSeq 1 is past it (2 is a hole, 3 is recent).
        note_archive(
            &mut a,
            &history,
            std::time::Duration::from_secs(500),
            1_600_000,
        );
        let d = a.diagnostics.last().unwrap();
        assert_eq!(a.diagnostics.len(), before + 1);
        assert_eq!(d.code, replaydesk_align::DiagnosticCode::ReadFromArchive);
        assert_eq!(d.messages.len(), 1);
        assert_eq!(d.messages[0].im_msg_seq, Some(1));
        let mut b = align::align(
            AlignSource::History,
            None,
            None,
            &[],
            &AlignOptions::default(),
        );
        note_archive(
            &mut b,
            &history,
            std::time::Duration::from_secs(5_000),
            1_600_000,
        );
        assert_eq!(b.diagnostics.len(), before, "nothing past a long retention");
    }
}
