//! The console's message filters, shared by listing, bulk resend and recovery.

use super::messages::{message_columns, message_from_row};
use super::types::{MessageStatus, StoredMessage};
use super::{Db, SqlBuilder};
use super::{Engine, Store, StoreResult};
use replaydesk_protocol::MessageType;
use serde::{Deserialize, Serialize};

/// Which messages: every field narrows; empty lists and `None` do not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageFilter {
    pub class_id: Option<String>,
    /// Any of these classes.
    pub class_ids: Vec<String>,
    /// Any of these statuses.
    pub statuses: Vec<MessageStatus>,
    /// Any of these types.
    pub types: Vec<MessageType>,
    pub uid: Option<String>,
    /// Created at or after (unix ms).
    pub created_from: Option<i64>,
    /// Created before (unix ms).
    pub created_to: Option<i64>,
    /// Last changed at or after (unix ms): with `statuses = [failed]`, "failed since".
    pub updated_from: Option<i64>,
    /// Only messages that took more than one attempt (true) or exactly one or none (false).
    pub retried: Option<bool>,
    /// Substring of the `Data` text.
    pub text: Option<String>,
}

/// One page of a listing and the cursor for the next, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<i64>,
}

impl<T> Page<T> {
    /// A page from up to `limit + 1` rows fetched newest first: the extra row only tells
    /// that an older page exists, whose cursor is the last kept row's id.
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Self {
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(id)
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// Appends ` AND <column> IN (?, ?, ...)` for `values`; nothing when there are none (no
/// restriction).
pub(crate) fn push_any_of<'a, T>(
    qb: &mut SqlBuilder<'a>,
    column: &str,
    values: impl IntoIterator<Item = T>,
) where
    T: 'a + sqlx::Encode<'a, Db> + sqlx::Type<Db>,
{
    let mut values = values.into_iter().peekable();
    if values.peek().is_none() {
        return;
    }
    qb.push(" AND ").push(column).push(" IN ").push_list(values);
}

/// ` AND ...`: the message's class was not imported (imported classes are records,
/// never resent).
pub(crate) const NOT_IMPORTED: &str =
    " AND class_id NOT IN (SELECT class_id FROM classes WHERE imported_at IS NOT NULL)";

/// Which index a page's statement leaves SQLite to read (see `Store::index_hints`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IndexHint {
    /// The planner's choice.
    Free,
    /// messages_class_status (class_id, status, id): the type and uid conditions are
    /// written so that their indexes cannot be used.
    ClassStatus,
    /// The table newest first by id: the status condition cannot use an index.
    ById,
}

/// Up to how many messages of one status in a class a page walks in
/// messages_class_status rather than let SQLite pick the type's or the uid's index.
const CLASS_STATUS_WALK: i64 = 20_000;

/// Escapes LIKE's wildcards so a search for `50%` finds that text.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl MessageFilter {
    /// Whether this filter narrows by nothing but one class and statuses, which
    /// `message_counts` answers. (Every field named, so that a new one must be decided
    /// here.)
    fn counted_by_status(&self) -> bool {
        let MessageFilter {
            class_id: _,
            class_ids,
            statuses: _,
            types,
            uid,
            created_from,
            created_to,
            updated_from,
            retried,
            text,
        } = self;
        class_ids.is_empty()
            && types.is_empty()
            && uid.is_none()
            && created_from.is_none()
            && created_to.is_none()
            && updated_from.is_none()
            && retried.is_none()
            && text.as_deref().is_none_or(str::is_empty)
    }

    /// This filter split by status, one filter per distinct status asked for (in the
    /// order asked); just this filter (its statuses without repeats) when it names fewer
    /// than two.
    pub(crate) fn per_status(&self) -> Vec<MessageFilter> {
        let mut distinct: Vec<MessageStatus> = Vec::new();
        for s in &self.statuses {
            if !distinct.contains(s) {
                distinct.push(*s);
            }
        }
        if distinct.len() < 2 {
            return vec![MessageFilter {
                statuses: distinct,
                ..self.clone()
            }];
        }
        distinct
            .into_iter()
            .map(|s| MessageFilter {
                statuses: vec![s],
                ..self.clone()
            })
            .collect()
    }

    /// Appends ` AND ...` conditions for this filter.
    pub(crate) fn push_conditions<'a>(&'a self, qb: &mut SqlBuilder<'a>) {
        self.push_conditions_for(qb, IndexHint::Free);
    }

    /// The same conditions, written so that SQLite can only use the index `hint` leaves
    /// it (a column inside an expression, `msg_type + 0`, is not looked up in an index;
    /// the rows matched are the same).
    fn push_conditions_for<'a>(&'a self, qb: &mut SqlBuilder<'a>, hint: IndexHint) {
        if let Some(c) = &self.class_id {
            qb.push(" AND class_id = ").push_bind(c);
        }
        push_any_of(qb, "class_id", self.class_ids.iter().map(String::as_str));
        let (status, msg_type, uid) = match hint {
            IndexHint::Free => ("status", "msg_type", "uid"),
            IndexHint::ClassStatus => ("status", "(msg_type + 0)", "(uid || '')"),
            IndexHint::ById => ("(status || '')", "msg_type", "uid"),
        };
        push_any_of(qb, status, self.statuses.iter().map(|s| s.as_str()));
        push_any_of(qb, msg_type, self.types.iter().map(|t| i64::from(t.code())));
        if let Some(u) = &self.uid {
            qb.push(" AND ").push(uid).push(" = ").push_bind(u);
        }
        if let Some(t) = self.created_from {
            qb.push(" AND created_at >= ").push_bind(t);
        }
        if let Some(t) = self.created_to {
            qb.push(" AND created_at < ").push_bind(t);
        }
        if let Some(t) = self.updated_from {
            qb.push(" AND updated_at >= ").push_bind(t);
        }
        match self.retried {
            Some(true) => {
                qb.push(" AND attempt_count > 1");
            }
            Some(false) => {
                qb.push(" AND attempt_count <= 1");
            }
            None => {}
        }
        if let Some(text) = self.text.as_deref().filter(|t| !t.is_empty()) {
            // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
            qb.push(" AND lower(data) LIKE lower(")
                .push_bind(like_pattern(text))
                .push(") ESCAPE '\\'");
        }
    }
}

impl Store {
    /// Messages matching `filter`, newest first, `limit` per page; `before` is the previous
    /// page's `next_cursor`.
    pub async fn list_messages(
        &self,
        filter: &MessageFilter,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<StoredMessage>> {
        let limit = limit.clamp(1, 1000);
        let fetch = i64::from(limit) + 1;
        let branches = filter.per_status();
        let hints = self.index_hints(&branches, fetch).await?;
        let mut qb = SqlBuilder::new("SELECT ");
        qb.push(message_columns());
        if branches.len() > 1 {
            // Several statuses: `status IN (...) ORDER BY id DESC` cannot read one index in
            // id order, so the database walked the whole class (messages_class_id) looking
            // for matches — 161 ms on a class of 100,000 at 5,000,000 stored. One branch
            // per status instead, each the newest `fetch` rows of messages_class_status
            // (class_id, status, id), merged and cut to `fetch`: the same rows, bounded.
            qb.push(" FROM (");
            for (i, (branch, hint)) in branches.iter().zip(&hints).enumerate() {
                if i > 0 {
                    qb.push(" UNION ALL ");
                }
                qb.push("SELECT * FROM (SELECT ")
                    .push(message_columns())
                    .push(" FROM messages WHERE 1 = 1");
                branch.push_conditions_for(&mut qb, *hint);
                if let Some(b) = before {
                    qb.push(" AND id < ").push_bind(b);
                }
                qb.push(" ORDER BY id DESC LIMIT ")
                    .push_bind(fetch)
                    .push(&format!(") AS s{i}"));
            }
            qb.push(") AS u");
        } else {
            qb.push(" FROM messages WHERE 1 = 1");
            filter.push_conditions_for(&mut qb, hints[0]);
            if let Some(b) = before {
                qb.push(" AND id < ").push_bind(b);
            }
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(fetch);
        let rows = qb.build().fetch_all(self.reader()).await?;
        let items = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, |m| m.id))
    }

    /// Which index each branch of a page (one status each, see `per_status`) should read,
    /// on SQLite, from the exact counts `message_counts` holds. SQLite's planner has no
    /// statistics (nobody runs `ANALYZE`), so it guesses, and two guesses read the whole
    /// store (`benches/growth.rs`): a class's 1003s (or one uid's messages) walked in
    /// messages_class_type looking for the few that failed (111 ms at 1,000,000 stored),
    /// and every `sent` message of the store sorted by id for a status filter without a
    /// class (0.9 s). The counts tell which walk is short:
    /// - one class, and a type or uid filter as well: messages_class_status when the
    ///   class holds at most `CLASS_STATUS_WALK` messages of the status (it reads no more
    ///   than those); otherwise the planner's choice (the status is common there, so an
    ///   id-ordered walk of the type or uid finds a page soon);
    /// - no class: newest first by id, skipping other statuses, when that reads fewer rows
    ///   (`fetch` × all / those of the status) than sorting every message of the status.
    ///
    /// PostgreSQL keeps statistics of its own: its planner decides.
    async fn index_hints(
        &self,
        branches: &[MessageFilter],
        fetch: i64,
    ) -> StoreResult<Vec<IndexHint>> {
        let free = vec![IndexHint::Free; branches.len()];
        let first = &branches[0];
        if self.engine() != Engine::Sqlite
            || first.statuses.is_empty()
            || !first.class_ids.is_empty()
        {
            return Ok(free);
        }
        let narrower = first.uid.is_some() || !first.types.is_empty();
        if first.class_id.is_some() && !narrower {
            // `class_id = ? AND status = ?` is messages_class_status already.
            return Ok(free);
        }
        let counts = self.status_counts(first.class_id.as_deref()).await?;
        let of = |s: MessageStatus| counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
        let all: i64 = counts.iter().map(|(_, n)| n).sum();
        Ok(branches
            .iter()
            .map(|b| {
                // One status per branch, or several on the same side of the choice.
                let n: i64 = b.statuses.iter().map(|s| of(*s)).sum();
                match &b.class_id {
                    Some(_) if n <= CLASS_STATUS_WALK => IndexHint::ClassStatus,
                    Some(_) => IndexHint::Free,
                    None if n > 0 && fetch.saturating_mul(all) / n < n => IndexHint::ById,
                    None => IndexHint::Free,
                }
            })
            .collect())
    }

    /// How many messages matching `filter` a bulk resend or recovery would take: those of
    /// imported classes never are.
    pub async fn count_resendable(&self, filter: &MessageFilter) -> StoreResult<i64> {
        let mut qb = SqlBuilder::new("SELECT COUNT(*) FROM messages WHERE 1 = 1");
        filter.push_conditions(&mut qb);
        qb.push(NOT_IMPORTED);
        Ok(qb.build_query_scalar().fetch_one(self.reader()).await?)
    }

    /// How many messages match `filter`. A filter of a class and statuses only (the
    /// console's usual header) is answered from the counters, without reading the class.
    pub async fn count_messages(&self, filter: &MessageFilter) -> StoreResult<i64> {
        if filter.counted_by_status() {
            let counts = self.status_counts(filter.class_id.as_deref()).await?;
            return Ok(counts
                .iter()
                .filter(|(s, _)| filter.statuses.is_empty() || filter.statuses.contains(s))
                .map(|(_, n)| n)
                .sum());
        }
        let mut qb = SqlBuilder::new("SELECT COUNT(*) FROM messages WHERE 1 = 1");
        filter.push_conditions(&mut qb);
        Ok(qb.build_query_scalar().fetch_one(self.reader()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
