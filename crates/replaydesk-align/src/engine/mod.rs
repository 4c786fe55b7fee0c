//! The alignment itself, as the steps of [`align`]: each user's clock (`clocks`), the
//! recordings on the server axis (`recordings`), the events in server time and in the
//! videos (`events`), and the findings about the group's messages (`group`), all collected
//! in one `Findings` (`findings`). One pass over the entries per step plus per-user work;
//! no I/O.

mod clocks;
mod events;
mod findings;
mod group;
mod recordings;

use crate::input::{Entry, EntryBody};
use crate::types::*;
use findings::Findings;

/// Aligns `entries` (oldest first). `group_id`/`class_id` are carried into the answer.
pub fn align(
    source: AlignSource,
    group_id: Option<String>,
    class_id: Option<String>,
    entries: &[Entry],
    opts: &AlignOptions,
) -> Alignment {
    let mut f = Findings::default();
    let reference_shaped = reference_shaped(entries);
    let mut users = clocks::read_pairs(entries, reference_shaped);
    let clocks = clocks::user_clocks(&mut users, entries, opts, &mut f);
    let class_span = recordings::class_span(entries, &users);
    group::unsent_and_unreadable(entries, &mut f);
    let recordings = recordings::place_recordings(entries, &users, class_span, opts, &mut f);
    recordings::overlaps_and_gaps(&recordings, opts, &mut f);
    let events = events::place_events(entries, &users, &recordings, opts, &mut f);
    group::duplicate_seqs(entries, &mut f);
    let holes = group::holes(source, entries, &mut f);
    group::start_or_end_missing(entries, &mut f);
    Alignment {
        source,
        group_id,
        class_id,
        message_count: entries.len() as u32,
        reference_shaped,
        users: clocks,
        class_start_ms: class_span.0,
        class_end_ms: class_span.1,
        recordings,
        events,
        holes,
        diagnostics: f.finish(),
        options: opts.clone(),
    }
}

/// Whether the group was written by the reference server, which leaves `time_line` out:
/// its pairs then come from the IM's receipt stamps, class starts included.
fn reference_shaped(entries: &[Entry]) -> bool {
    entries.iter().any(|e| {
        matches!(
            &e.body,
            EntryBody::Protocol {
                time_line_missing: true,
                ..
            }
        )
    })
}

/// How the answer names an entry.
fn msg_ref(e: &Entry) -> MsgRef {
    let (kind, seq) = match &e.body {
        EntryBody::Protocol { msg, .. } => (msg.message_type().into(), Some(msg.seq.get())),
        EntryBody::Whiteboard { seq, .. } => (EntryKind::Whiteboard, *seq),
        EntryBody::Hole => (EntryKind::Hole, None),
        EntryBody::Unreadable { .. } => (EntryKind::Unreadable, None),
        EntryBody::Other => (EntryKind::Other, None),
    };
    MsgRef {
        kind,
        im_msg_seq: e.im_msg_seq,
        seq,
        log_id: e.log_id,
    }
}
