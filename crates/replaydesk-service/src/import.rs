//! Import of a class bundle (see [`super::export`]) into this ReplayDesk, for inspection.
//!
//! The bundle is read strictly (its format first, then every field, errors naming the
//! field) and checked for consistency before anything is written; the write is one
//! transaction. The class becomes a read-only record: marked imported, never delivered,
//! resent, reconciled or reopened, and it takes no reports.

use super::export::{ClassBundle, BUNDLE_FORMAT};
use super::{validate, ReplayDesk, ServiceError, ServiceResult};
use replaydesk_align::read_history_item;
use replaydesk_protocol::MessageType;
use replaydesk_store::Actor;
use replaydesk_store::{ClassRecord, ImportedClass, Store};
use serde_json::Value;
use std::collections::HashSet;

/// Why a bundle cannot be imported (nothing was changed).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BundleError {
    #[error("the bundle is not valid JSON: {0}")]
    NotJson(String),
    #[error("the bundle must be a JSON object (a class bundle from `replaydesk export`), got {0}")]
    NotObject(&'static str),
    #[error("format: {0}")]
    Format(String),
    #[error("{path}: {reason}")]
    Field { path: String, reason: String },
    #[error("{0}")]
    Inconsistent(String),
}

impl From<BundleError> for ServiceError {
    fn from(e: BundleError) -> Self {
        match e {
            BundleError::NotJson(_) => ServiceError::Malformed(e.to_string()),
            _ => ServiceError::Invalid(e.to_string()),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What a bundle's `format` field holds: the string, or what else it is.
enum FormatField {
    Text(String),
    Other(&'static str),
}

/// Reads a value of any kind without keeping it (skipped items allocate nothing), telling
/// a string from the rest.
impl<'de> serde::Deserialize<'de> for FormatField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FormatField;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<FormatField, E> {
                Ok(FormatField::Text(v.to_owned()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<FormatField, E> {
                Ok(FormatField::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<FormatField, E> {
                Ok(FormatField::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<FormatField, E> {
                Ok(FormatField::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<FormatField, E> {
                Ok(FormatField::Other("a number"))
            }
            fn visit_unit<E>(self) -> Result<FormatField, E> {
                Ok(FormatField::Other("null"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<FormatField, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FormatField::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<FormatField, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(FormatField::Other("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The top of a bundle's text: whether it is an object, and its `format`; everything else
/// is skipped (and so checked to be JSON) without being kept.
enum Head {
    Object(Option<FormatField>),
    NotObject(&'static str),
}

impl<'de> serde::Deserialize<'de> for Head {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Head;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a class bundle")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Head, A::Error> {
                let mut format = None;
                while let Some(key) = a.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "format" && format.is_none() {
                        format = Some(a.next_value::<FormatField>()?);
                    } else {
                        a.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Head::Object(format))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Head, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Head::NotObject("an array"))
            }
            fn visit_str<E>(self, _: &str) -> Result<Head, E> {
                Ok(Head::NotObject("a string"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Head, E> {
                Ok(Head::NotObject("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Head, E> {
                Ok(Head::NotObject("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Head, E> {
                Ok(Head::NotObject("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Head, E> {
                Ok(Head::NotObject("a number"))
            }
            fn visit_unit<E>(self) -> Result<Head, E> {
                Ok(Head::NotObject("null"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Refuses a `format` other than [`BUNDLE_FORMAT`], by name.
fn check_format(format: Option<FormatField>) -> Result<(), BundleError> {
    match format {
        Some(FormatField::Text(f)) if f == BUNDLE_FORMAT => Ok(()),
        Some(FormatField::Text(f)) => Err(BundleError::Format(format!(
            "this bundle is {f:?}; this ReplayDesk reads {BUNDLE_FORMAT:?} only"
        ))),
        Some(FormatField::Other(kind)) => Err(BundleError::Format(format!(
            "must be the string {BUNDLE_FORMAT:?}, got {kind}"
        ))),
        None => Err(BundleError::Format(format!(
            "missing: not a class bundle (expected \"format\": {BUNDLE_FORMAT:?})"
        ))),
    }
}

/// Reads a bundle's text with memory near its own size: a first pass reads only its
/// `format` (skipping the rest, which checks that it is JSON), the second reads it straight
/// into the bundle's types, never into a tree of JSON values (a 16 MiB `members` array read
/// as a tree took 31 times its size). Then as [`read_bundle`].
pub fn parse_bundle(bytes: &[u8]) -> Result<CheckedBundle, BundleError> {
    let head: Head =
        serde_json::from_slice(bytes).map_err(|e| BundleError::NotJson(e.to_string()))?;
    match head {
        Head::NotObject(kind) => return Err(BundleError::NotObject(kind)),
        Head::Object(format) => check_format(format)?,
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let bundle: ClassBundle =
        serde_path_to_error::deserialize(&mut de).map_err(|e| BundleError::Field {
            path: e.path().to_string(),
            reason: e.inner().to_string(),
        })?;
    de.end().map_err(|e| BundleError::NotJson(e.to_string()))?;
    let history = check(&bundle)?;
    Ok(CheckedBundle { bundle, history })
}

/// A bundle that read and checked: its history as (MsgSeq, item text) rows.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedBundle {
    pub bundle: ClassBundle,
    pub history: Vec<(u64, String)>,
}

/// Reads a bundle: its `format` first (another format or version is refused by name), then
/// every field (errors name the field's path), then that its parts agree: every message,
/// member and report belongs to the class, message ids and group `seq`s are unique,
/// attempts and reports point at messages of the bundle, history items have a `MsgSeq`
/// each, once, and every identifier passes the rules the live API applies to it.
pub fn read_bundle(v: Value) -> Result<CheckedBundle, BundleError> {
    let Value::Object(obj) = &v else {
        return Err(BundleError::NotObject(kind(&v)));
    };
    check_format(obj.get("format").map(|f| match f {
        Value::String(s) => FormatField::Text(s.clone()),
        other => FormatField::Other(kind(other)),
    }))?;
    let bundle: ClassBundle =
        serde_path_to_error::deserialize(v).map_err(|e| BundleError::Field {
            path: e.path().to_string(),
            reason: e.inner().to_string(),
        })?;
    let history = check(&bundle)?;
    Ok(CheckedBundle { bundle, history })
}

fn bad(msg: String) -> BundleError {
    BundleError::Inconsistent(msg)
}

fn check(b: &ClassBundle) -> Result<Vec<(u64, String)>, BundleError> {
    let c = &b.class;
    // Every identifier the import stores passes the rule the live API applies to it: ids
    // given to ReplayDesk the identifier rule, ids a cloud sent (a recording's user, a
    // refused report's uid) only what makes them safe to keep and show.
    validate::class_id(&c.class_id).map_err(|e| bad(format!("class.{e}")))?;
    validate::group_id(&c.group_id).map_err(|e| bad(format!("class.{e}")))?;
    validate::uid("class.teacher_uid", &c.teacher_uid).map_err(bad)?;
    let mut uids = HashSet::new();
    for (i, m) in b.members.iter().enumerate() {
        validate::uid(&format!("members[{i}].uid"), &m.uid).map_err(bad)?;
        if m.class_id != c.class_id {
            return Err(bad(format!(
                "members[{i}].class_id: {:?} is not the bundle's class {:?}",
                m.class_id, c.class_id
            )));
        }
        if !uids.insert(m.uid.as_str()) {
            return Err(bad(format!("members[{i}].uid: {:?} appears twice", m.uid)));
        }
    }
    let mut ids = HashSet::new();
    let mut seqs = HashSet::new();
    for (i, m) in b.messages.iter().enumerate() {
        if m.class_id != c.class_id || m.group_id != c.group_id {
            return Err(bad(format!(
                "messages[{i}]: belongs to class {:?} / group {:?}, not the bundle's {:?} / {:?}",
                m.class_id, m.group_id, c.class_id, c.group_id
            )));
        }
        let field = format!("messages[{i}].uid");
        match m.msg_type {
            MessageType::Recording => validate::uid_printable(&field, &m.uid),
            _ => validate::uid(&field, &m.uid),
        }
        .map_err(bad)?;
        if !ids.insert(m.id) {
            return Err(bad(format!("messages[{i}].id: {} appears twice", m.id)));
        }
        if !seqs.insert(m.seq) {
            return Err(bad(format!(
                "messages[{i}].seq: {} appears twice in the group",
                m.seq
            )));
        }
    }
    let mut attempt_ids = HashSet::new();
    for (i, a) in b.attempts.iter().enumerate() {
        if !ids.contains(&a.message_id) {
            return Err(bad(format!(
                "attempts[{i}].message_id: {} is not a message of the bundle",
                a.message_id
            )));
        }
        if !attempt_ids.insert(a.id) {
            return Err(bad(format!("attempts[{i}].id: {} appears twice", a.id)));
        }
    }
    for (i, r) in b.reports.iter().enumerate() {
        if let Some(uid) = &r.uid {
            let field = format!("reports[{i}].uid");
            match r.accepted {
                true => validate::uid(&field, uid),
                false => validate::uid_printable(&field, uid),
            }
            .map_err(bad)?;
        }
        if let Some(m) = r.message_id {
            if !ids.contains(&m) {
                return Err(bad(format!(
                    "reports[{i}].message_id: {m} is not a message of the bundle"
                )));
            }
        }
    }
    let mut history = Vec::with_capacity(b.history.len());
    let mut msg_seqs = HashSet::new();
    for (i, item) in b.history.iter().enumerate() {
        let e = read_history_item(&item.value()).map_err(|e| bad(format!("history[{i}]: {e}")))?;
        let seq = e
            .im_msg_seq
            .ok_or_else(|| bad(format!("history[{i}]: MsgSeq: missing")))?;
        if !msg_seqs.insert(seq) {
            return Err(bad(format!("history[{i}].MsgSeq: {seq} appears twice")));
        }
        history.push((seq, item.0.clone()));
    }
    if let Some(a) = &b.archive {
        if a.last_seq < 0 {
            return Err(bad(format!("archive.last_seq: {} is negative", a.last_seq)));
        }
        let mut starts = HashSet::new();
        for (i, h) in a.holes.iter().enumerate() {
            if !starts.insert(h.from_seq) {
                return Err(bad(format!(
                    "archive.holes[{i}].from_seq: {} appears twice",
                    h.from_seq
                )));
            }
            if h.from_seq < 1 || h.from_seq > h.to_seq || h.to_seq > a.last_seq {
                return Err(bad(format!(
                    "archive.holes[{i}]: {}..{} is not a run of MsgSeqs within 1..{}",
                    h.from_seq, h.to_seq, a.last_seq
                )));
            }
            if h.reason.chars().count() > 500 {
                return Err(bad(format!(
                    "archive.holes[{i}].reason: longer than 500 characters"
                )));
            }
        }
    }
    Ok(history)
}

/// Imports a checked bundle into `store` (the CLI uses it without starting a server):
/// the class, marked imported, and everything it carries. Audited.
pub async fn import_bundle(
    store: &Store,
    checked: &CheckedBundle,
    actor: &Actor,
) -> ServiceResult<ClassRecord> {
    validate::actor(&actor.name).map_err(ServiceError::Invalid)?;
    let b = &checked.bundle;
    // The bundle is read as the API's models; the store writes its own rows.
    fn rows<M: Clone, R: From<M>>(models: &[M]) -> Vec<R> {
        models.iter().cloned().map(R::from).collect()
    }
    let class = store
        .import_class(&ImportedClass {
            class: &b.class.clone().into(),
            members: &rows(&b.members),
            messages: &rows(&b.messages),
            attempts: &rows(&b.attempts),
            reports: &rows(&b.reports),
            history: &checked.history,
        })
        .await?;
    if let Some(a) = &b.archive {
        let row = replaydesk_store::ArchiveRow {
            class_id: class.class_id.clone(),
            state: a.state.into(),
            last_seq: a.last_seq,
            error: None,
            // A read-only copy: nothing is outstanding here, so it has no deadline.
            unarchived_since: None,
            last_run_at: a.last_run_at,
            final_pass_at: a.last_run_at,
            updated_at: replaydesk_clock::unix_ms_now(),
        };
        let holes: Vec<replaydesk_store::ArchiveHole> = a
            .holes
            .iter()
            .map(|h| replaydesk_store::ArchiveHole {
                from_seq: h.from_seq,
                to_seq: h.to_seq,
                reason: h.reason.clone(),
            })
            .collect();
        store.replace_archive_state(&row, &holes).await?;
    }
    store
        .audit(
            actor,
            "import_class",
            &format!("class:{}", class.class_id),
            &serde_json::json!({
                "group_id": class.group_id,
                "replaydesk_version": b.replaydesk_version,
                "exported_at": b.exported_at,
                "messages": b.messages.len(),
                "attempts": b.attempts.len(),
                "reports": b.reports.len(),
                "history": checked.history.len(),
            }),
        )
        .await?;
    tracing::info!(
        class_id = class.class_id,
        messages = b.messages.len(),
        "class imported from a bundle"
    );
    Ok(class)
}

/// Refuses `what` on an imported class (a read-only record).
pub fn refuse_if_imported(class: &ClassRecord, what: &str) -> ServiceResult<()> {
    match class.imported_at {
        Some(_) => Err(ServiceError::Conflict(format!(
            "class {:?} was imported from a bundle and is a read-only record: {what} is not possible",
            class.class_id
        ))),
        None => Ok(()),
    }
}

impl ReplayDesk {
    /// Imports a class bundle (`POST /v1/admin/import`): the class with its counts.
    pub async fn import_class(
        &self,
        bundle: Value,
        actor: &Actor,
    ) -> ServiceResult<super::ClassSummary> {
        self.import_checked(read_bundle(bundle)?, actor).await
    }

    /// Imports a bundle already read (the HTTP route reads it from its bytes).
    pub async fn import_checked(
        &self,
        checked: CheckedBundle,
        actor: &Actor,
    ) -> ServiceResult<super::ClassSummary> {
        let class = import_bundle(&self.inner.store, &checked, actor).await?;
        self.class_summary(&class.class_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use replaydesk_align::{align, AlignOptions, AlignSource};
    use serde_json::json;

    /// A small, consistent bundle: two messages, an attempt, a report, a history item.
    fn sample() -> Value {
        let alignment = align(
            AlignSource::Log,
            Some("g1".into()),
            Some("c1".into()),
            &[],
            &AlignOptions::default(),
        );
        let msg = |id: i64, seq: u64, t: &str| {
            json!({"id": id, "class_id": "c1", "group_id": "g1", "msg_type": t, "uid": "u1",
                   "seq": seq, "random": 7, "data": "{}", "status": "sent", "attempt_count": 1,
                   "next_attempt_at": null, "last_error": null, "im_msg_seq": id,
                   "im_msg_time": 1_700_000_000, "created_at": 1_700_000_000_000i64,
                   "updated_at": 1_700_000_000_000i64, "sent_at": 1_700_000_000_000i64})
        };
        json!({
            "format": BUNDLE_FORMAT,
            "replaydesk_version": "0.1.0",
            "exported_at": 1_700_000_001_000i64,
            "class": {"class_id": "c1", "group_id": "g1", "teacher_uid": "u1",
                      "state": "ended", "created_at": 1, "started_at": 2, "ended_at": 3,
                      "legacy_class_token": false, "open_enrolment": false,
                      "reopen_count": 0, "imported_at": null},
            "members": [{"class_id": "c1", "uid": "u1", "role": "teacher",
                         "first_seen_at": 1, "last_seen_at": 2}],
            "messages": [msg(1, 11, "timeline"), msg(2, 12, "class_start")],
            "attempts": [{"id": 5, "message_id": 1, "trigger": "scheduled", "random": 7,
                          "started_at": 1, "duration_ms": 3, "http_status": 200,
                          "im_error_code": 0, "im_error_info": "OK",
                          "transport_error": null, "outcome": "sent"}],
            "reports": [{"uid": "u1", "client_timestamp": 5, "rtt_ms": 20,
                         "rtt_source": "client", "received_at": 9, "time_line": 8,
                         "uncertainty_ms": 10, "message_id": 1, "accepted": true,
                         "refusal_reason": null}],
            "history": [{"MsgSeq": 1, "MsgTimeStamp": 1_700_000_000, "From_Account": "admin",
                         "IsPlaceMsg": 0, "MsgBody": []}],
            "alignment": alignment,
        })
    }

    #[test]
    fn the_sample_bundle_reads() {
        let c = read_bundle(sample()).unwrap();
        assert_eq!(c.bundle.messages.len(), 2);
        assert_eq!(c.history.len(), 1);
        assert_eq!(c.history[0].0, 1);
    }

    #[test]
    fn each_inconsistency_is_named() {
        type Spoil = fn(&mut Value);
        let cases: Vec<(Spoil, &str)> = vec![
            (
                |b| b["format"] = json!("replaydesk-class-bundle/0"),
                "format: this bundle is",
            ),
            (|b| b["format"] = json!(1), "format: must be the string"),
            (
                |b| {
                    b.as_object_mut().unwrap().remove("format");
                },
                "format: missing",
            ),
            (
                |b| b["messages"][1]["id"] = json!(1),
                "messages[1].id: 1 appears twice",
            ),
            (
                |b| b["messages"][1]["seq"] = json!(11),
                "messages[1].seq: 11 appears twice",
            ),
            (
                |b| b["messages"][0]["class_id"] = json!("c2"),
                "messages[0]: belongs to class",
            ),
            (
                |b| b["members"][0]["class_id"] = json!("c2"),
                "members[0].class_id",
            ),
            (
                |b| b["reports"][0]["message_id"] = json!(3),
                "reports[0].message_id: 3",
            ),
            (
                |b| b["history"][0] = json!({"MsgBody": []}),
                "history[0]: MsgSeq: missing",
            ),
            (|b| b["class"]["class_id"] = json!(""), "class.class_id"),
            (
                |b| b["messages"][0]["random"] = json!(-1),
                "messages[0].random",
            ),
            (|b| b["class"]["state"] = json!("paused"), "class.state"),
        ];
        for (spoil, says) in cases {
            let mut b = sample();
            spoil(&mut b);
            let e = read_bundle(b).unwrap_err().to_string();
            assert!(e.contains(says), "{e:?} should say {says:?}");
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z/0-9.-]{0,12}".prop_map(Value::String),
            Just(json!(BUNDLE_FORMAT)),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("format".to_owned()),
                            Just("class".to_owned()),
                            Just("messages".to_owned()),
                            "[a-z_]{1,8}"
                        ],
                        inner
                    ),
                    0..6
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any strict prefix of a bundle's text is refused, never half read.
        #[test]
        fn a_truncated_bundle_is_refused(cut in 0.0f64..1.0) {
            let text = serde_json::to_string_pretty(&sample()).unwrap();
            let at = ((text.len() as f64) * cut) as usize;
            let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            prop_assume!(!text[at..].trim().is_empty());
            prop_assert!(parse_bundle(&text.as_bytes()[..at]).is_err());
        }

        /// Any one byte changed: never a panic; what is accepted is still consistent.
        #[test]
        fn a_damaged_bundle_is_refused_or_consistent(pos in 0.0f64..1.0, byte in any::<u8>()) {
            let mut bytes = serde_json::to_vec(&sample()).unwrap();
            let i = ((bytes.len() as f64) * pos) as usize % bytes.len();
            bytes[i] = byte;
            if let Ok(c) = parse_bundle(&bytes) {
                let ids: HashSet<i64> = c.bundle.messages.iter().map(|m| m.id).collect();
                prop_assert_eq!(ids.len(), c.bundle.messages.len());
                for a in &c.bundle.attempts {
                    prop_assert!(ids.contains(&a.message_id));
                }
                for m in &c.bundle.messages {
                    prop_assert_eq!(&m.class_id, &c.bundle.class.class_id);
                }
                prop_assert_eq!(c.bundle.format.as_str(), BUNDLE_FORMAT);
            }
        }

        /// Arbitrary JSON is refused with an error, never a panic.
        #[test]
        fn arbitrary_json_is_refused(v in json_value()) {
            prop_assert!(read_bundle(v).is_err());
        }
    }
}
