//! The diagnostics found while aligning, collected as the steps go; findings about many
//! messages are grouped into one diagnostic per code and user.

use crate::diagnostics::DiagnosticCode;
use crate::types::*;
use std::collections::BTreeMap;

/// Listed messages per aggregated diagnostic (the message text gives the full count).
pub(super) const MAX_LISTED: usize = 20;

/// Collects findings; those about many messages become one diagnostic per key.
#[derive(Default)]
pub(super) struct Findings {
    list: Vec<Diagnostic>,
    grouped: BTreeMap<(DiagnosticCode, String), (Vec<MsgRef>, usize, String)>,
}

impl Findings {
    pub(super) fn add(
        &mut self,
        code: DiagnosticCode,
        uid: Option<&str>,
        messages: Vec<MsgRef>,
        message: String,
    ) {
        self.list.push(Diagnostic {
            code,
            severity: code.severity(),
            uid: uid.map(str::to_owned),
            messages,
            message,
            explanation: code.explanation().to_owned(),
        });
    }

    /// Adds `m` to the finding `code` for `uid`; `first` describes the first such message.
    pub(super) fn group(
        &mut self,
        code: DiagnosticCode,
        uid: &str,
        m: MsgRef,
        first: impl FnOnce() -> String,
    ) {
        let slot = self
            .grouped
            .entry((code, uid.to_owned()))
            .or_insert_with(|| (Vec::new(), 0, first()));
        if slot.0.len() < MAX_LISTED {
            slot.0.push(m);
        }
        slot.1 += 1;
    }

    /// The diagnostics, the most severe first, then by code; within a code in the order
    /// they were found (the sort is stable), which is why `align` keeps its steps' order.
    pub(super) fn finish(mut self) -> Vec<Diagnostic> {
        for ((code, uid), (messages, count, first)) in std::mem::take(&mut self.grouped) {
            let message = if count == 1 {
                first
            } else {
                format!("{count} messages; the first: {first}")
            };
            self.add(
                code,
                (!uid.is_empty()).then_some(uid.as_str()),
                messages,
                message,
            );
        }
        let mut list = self.list;
        list.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
        list
    }
}
