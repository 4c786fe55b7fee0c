//! Findings about the group's messages rather than one user's clock or videos: messages
//! not sent or unreadable, seqs carried twice, holes in the history, a class without its
//! start or end.

use super::findings::{Findings, MAX_LISTED};
use super::msg_ref;
use crate::diagnostics::DiagnosticCode;
use crate::input::{Entry, EntryBody};
use crate::types::*;
use replaydesk_protocol::Payload;
use std::collections::HashMap;

/// Log messages that never reached the group, and group messages that could not be read.
pub(super) fn unsent_and_unreadable(entries: &[Entry], f: &mut Findings) {
    for e in entries {
        if !e.sent {
            f.group(DiagnosticCode::MessageNotSent, "", msg_ref(e), || {
                format!(
                    "log message {} is not in the group",
                    e.log_id.unwrap_or_default()
                )
            });
        }
        if let EntryBody::Unreadable { reason } = &e.body {
            f.group(DiagnosticCode::UnreadableMessage, "", msg_ref(e), || {
                reason.clone()
            });
        }
    }
}

/// One finding per protocol seq carried by more than one message, in seq order.
pub(super) fn duplicate_seqs(entries: &[Entry], f: &mut Findings) {
    let mut by_seq: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let EntryBody::Protocol { msg, .. } = &e.body {
            by_seq.entry(msg.seq.get()).or_default().push(i);
        }
    }
    let mut dups: Vec<(u64, Vec<usize>)> =
        by_seq.into_iter().filter(|(_, v)| v.len() > 1).collect();
    dups.sort();
    for (seq, idx) in dups {
        f.add(
            DiagnosticCode::DuplicateSeq,
            None,
            idx.iter().map(|&i| msg_ref(&entries[i])).collect(),
            format!("seq {seq} is carried by {} messages", idx.len()),
        );
    }
}

/// Holes: `IsPlaceMsg` entries, and (in a history) `MsgSeq`s missing between two entries,
/// as runs. One diagnostic per run, naming its first `MsgSeq`s.
pub(super) fn holes(source: AlignSource, entries: &[Entry], f: &mut Findings) -> Vec<SeqRange> {
    let place: Vec<u64> = entries
        .iter()
        .filter(|e| e.body == EntryBody::Hole)
        .filter_map(|e| e.im_msg_seq)
        .collect();
    let known: Vec<u64> = entries.iter().filter_map(|e| e.im_msg_seq).collect();
    let runs = hole_runs(&place, &known, source == AlignSource::History);
    for run in runs.iter().take(MAX_LISTED) {
        let refs = (run.first..=run.last)
            .take(MAX_LISTED)
            .map(|s| MsgRef {
                kind: EntryKind::Hole,
                im_msg_seq: Some(s),
                seq: None,
                log_id: None,
            })
            .collect();
        let message = if run.count() == 1 {
            format!("MsgSeq {} is a hole", run.first)
        } else {
            format!(
                "MsgSeq {}..={} are holes ({} messages)",
                run.first,
                run.last,
                run.count()
            )
        };
        f.add(DiagnosticCode::HistoryHole, None, refs, message);
    }
    if let Some(rest) = runs.get(MAX_LISTED..).filter(|r| !r.is_empty()) {
        f.add(
            DiagnosticCode::HistoryHole,
            None,
            Vec::new(),
            format!(
                "{} more runs of holes, {} messages in all (every run is in `holes`)",
                rest.len(),
                seq_count(rest)
            ),
        );
    }
    runs
}

/// A class needs its start (1001) and its end (1002).
pub(super) fn start_or_end_missing(entries: &[Entry], f: &mut Findings) {
    let has = |pick: fn(&Payload) -> bool| {
        entries.iter().any(|e| match &e.body {
            EntryBody::Protocol { msg, .. } => pick(&msg.payload),
            _ => false,
        })
    };
    if !has(|p| matches!(p, Payload::ClassStart(_))) {
        f.add(
            DiagnosticCode::ClassStartMissing,
            None,
            vec![],
            "no 1001 message".into(),
        );
    }
    if !has(|p| matches!(p, Payload::ClassEnd(_))) {
        f.add(
            DiagnosticCode::ClassEndMissing,
            None,
            vec![],
            "no 1002 message".into(),
        );
    }
}
