//! Alignment: where each user's whiteboard data, class events and videos land on one
//! server time axis, how sure that is, and what is wrong (docs/protocol.md section 5).
//!
//! Input is a ReplayGroup's history (fetched by reconcile, or a saved
//! `group_msg_get_simple` dump) or ReplayDesk's own log of a class; output is an
//! [`Alignment`], which the console draws and `replaydesk align` prints.

mod diagnostics;
mod engine;
mod input;
mod report;
pub mod track;
mod types;

pub use diagnostics::{DiagnosticCode, Severity};
pub use engine::align;
pub use input::{
    normalize, read_dump, read_history_item, read_protocol_data, DumpError, Entry, EntryBody,
    History,
};
pub use report::render_text;
pub use types::*;

/// Aligns a saved dump (any of the three shapes [`read_dump`] reads).
pub fn align_dump(text: &str, opts: &AlignOptions) -> Result<Alignment, DumpError> {
    let h = read_dump(text)?;
    Ok(align(
        AlignSource::History,
        h.group_id,
        None,
        &h.entries,
        opts,
    ))
}

#[cfg(test)]
mod tests;
