//! The console's queries as the store's filters: status and type names read, times
//! bounded, and the bulk-resend rules (what a bulk resend must name, what it may include)
//! checked here, once for both doors, before anything reaches the store.

use super::requests::{CallbackQuery, MessageQuery, ResendFilter};
use super::{ServiceError, ServiceResult, DEFAULT_PAGE};
use replaydesk_protocol::MessageType;
use replaydesk_store::{CallbackStatus, MessageFilter, MessageStatus};

fn statuses(
    key: &str,
    names: Option<Vec<String>>,
    refuse: fn(String) -> ServiceError,
) -> ServiceResult<Vec<MessageStatus>> {
    let mut out = Vec::new();
    for n in names.unwrap_or_default() {
        let s = MessageStatus::parse(&n).ok_or_else(|| {
            let all: Vec<&str> = MessageStatus::ALL.iter().map(|s| s.as_str()).collect();
            refuse(format!(
                "{key}: unknown status {n:?} (one of {})",
                all.join(", ")
            ))
        })?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Message types by code (`1003`) or name (`timeline`).
fn types(
    key: &str,
    names: Option<Vec<String>>,
    refuse: fn(String) -> ServiceError,
) -> ServiceResult<Vec<MessageType>> {
    let mut out = Vec::new();
    for n in names.unwrap_or_default() {
        let by_code = n.parse::<i64>().ok().and_then(MessageType::from_code);
        let by_name =
            || serde_json::from_value::<MessageType>(serde_json::Value::String(n.clone())).ok();
        let t = by_code.or_else(by_name).ok_or_else(|| {
            refuse(format!(
                "{key}: unknown message type {n:?} (1001..1004, or class_start, class_end, timeline, recording)"
            ))
        })?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

impl MessageQuery {
    /// The store's filter, with the class of the path (if any); `class` may only be given
    /// where the path names none.
    pub fn into_filter(
        self,
        class_in_path: Option<&str>,
    ) -> ServiceResult<(MessageFilter, Option<i64>, u32)> {
        let bad = ServiceError::BadRequest;
        let class_id = match (class_in_path, self.class) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "class: unknown query parameter here (the path names the class)".into(),
                ))
            }
            (Some(c), None) => Some(c.to_owned()),
            (None, c) => c,
        };
        let filter = MessageFilter {
            class_id,
            class_ids: Vec::new(),
            statuses: statuses("status", self.status, bad)?,
            types: types("type", self.types, bad)?,
            uid: self.uid,
            created_from: self.from,
            created_to: self.to,
            updated_from: self.updated_from,
            retried: self.retried,
            text: self.q.filter(|t| !t.is_empty()),
        };
        Ok((filter, self.cursor, self.limit.unwrap_or(DEFAULT_PAGE)))
    }
}

/// Unix ms bounds for filter times: a negative or beyond-2^53 value is a mistake (e.g.
/// `created_from: i64::MIN`, which once passed the empty-filter guard).
fn filter_time(key: &str, v: Option<i64>) -> ServiceResult<Option<i64>> {
    match v {
        Some(t) if !(0..=(1i64 << 53)).contains(&t) => Err(ServiceError::Invalid(format!(
            "{key}: must be a unix time in ms between 0 and 2^53, got {t}"
        ))),
        v => Ok(v),
    }
}

impl ResendFilter {
    /// The store's filter, by the bulk-resend rules: only messages not `sent` unless
    /// `include_sent: true`; named classes (`class_id` / `class_ids`) or `all_classes:
    /// true`; sane times; something to narrow by.
    pub fn into_filter(self) -> ServiceResult<MessageFilter> {
        let bad = ServiceError::Invalid;
        let include_sent = self.include_sent.unwrap_or(false);
        let all_classes = self.all_classes.unwrap_or(false);
        let mut class_ids: Vec<String> = Vec::new();
        for c in self.class_ids.unwrap_or_default() {
            if !class_ids.contains(&c) {
                class_ids.push(c);
            }
        }
        let mut statuses = statuses("statuses", self.statuses, bad)?;
        if !include_sent {
            if statuses.contains(&MessageStatus::Sent) {
                return Err(bad(
                    "statuses: \"sent\" is resent only with \"include_sent\": true (each gets a new Random: a visible duplicate in its group)"
                        .into(),
                ));
            }
            if statuses.is_empty() {
                statuses = MessageStatus::ALL
                    .iter()
                    .copied()
                    .filter(|s| *s != MessageStatus::Sent)
                    .collect();
            }
        }
        let f = MessageFilter {
            class_id: self.class_id,
            class_ids,
            statuses,
            types: types("types", self.types, bad)?,
            uid: self.uid,
            created_from: filter_time("created_from", self.created_from)?,
            created_to: filter_time("created_to", self.created_to)?,
            updated_from: filter_time("updated_from", self.updated_from)?,
            retried: self.retried,
            text: self.text.filter(|t| !t.is_empty()),
        };
        let names_classes = f.class_id.is_some() || !f.class_ids.is_empty();
        if !names_classes && !all_classes {
            return Err(bad(
                "class_id: a bulk resend names its classes (\"class_id\" or \"class_ids\"), or says \"all_classes\": true"
                    .into(),
            ));
        }
        if names_classes && all_classes {
            return Err(bad(
                "all_classes: true cannot be combined with \"class_id\" / \"class_ids\"".into(),
            ));
        }
        let narrowed = MessageFilter {
            class_id: None,
            class_ids: Vec::new(),
            ..f.clone()
        } != MessageFilter::default();
        if all_classes && include_sent && !narrowed {
            return Err(bad(
                "filter: empty; it would resend every message of every class. Narrow it (e.g. \"statuses\": [\"failed\"])"
                    .into(),
            ));
        }
        Ok(f)
    }
}

impl CallbackQuery {
    /// The statuses asked for (empty: all), cursor and limit.
    pub fn parts(self) -> ServiceResult<(Vec<CallbackStatus>, Option<i64>, u32)> {
        let mut out = Vec::new();
        let mut all = false;
        for n in self.status.unwrap_or_default() {
            if n == "all" {
                all = true;
                continue;
            }
            let s = CallbackStatus::parse(&n).ok_or_else(|| {
                let all: Vec<&str> = CallbackStatus::ALL.iter().map(|s| s.as_str()).collect();
                ServiceError::BadRequest(format!(
                    "status: unknown callback status {n:?} (all, {})",
                    all.join(", ")
                ))
            })?;
            if !out.contains(&s) {
                out.push(s);
            }
        }
        if all {
            out.clear();
        }
        Ok((out, self.cursor, self.limit.unwrap_or(DEFAULT_PAGE)))
    }
}
