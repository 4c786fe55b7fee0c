//! What alignment reads: group history entries, from a `group_msg_get_simple` dump (three
//! shapes), from a fetched history, or from ReplayDesk's own log. Reading is lenient
//! (docs/protocol.md section 1): numbers as floats or strings, unknown fields, any element type,
//! holes; a 1003 without `time_line` (the public reference server's) is read, and marked.

use super::types::{RecordingSource, RttSource};
use replaydesk_protocol::{lenient_integer, ReplayMessage, WHITEBOARD_EXT};
use serde_json::Value;

/// One message of a group (or of the log), reduced to what alignment needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The group's `MsgSeq` (none for a log row never sent).
    pub im_msg_seq: Option<u64>,
    /// When the group (IM `MsgTimeStamp` × 1000) or ReplayDesk received it, unix ms.
    pub received_ms: Option<i64>,
    /// True when `received_ms` is exact to the ms (ReplayDesk's log), false for whole seconds.
    pub received_exact: bool,
    pub from: String,
    /// Row id in ReplayDesk's log.
    pub log_id: Option<i64>,
    /// False for a log row not (yet) in the group.
    pub sent: bool,
    /// For a 1004: which source made it, when the caller knows (its log does).
    pub recording_source: Option<RecordingSource>,
    pub body: EntryBody,
}

// Most entries of a group are protocol messages, so boxing the large variant would add an
// allocation per entry without saving memory.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum EntryBody {
    Protocol {
        msg: ReplayMessage,
        /// A 1003 that had no `time_line` (its `time_line` field then holds 0).
        time_line_missing: bool,
        /// From ReplayDesk's timeline report, when it knows.
        uncertainty_ms: Option<i64>,
        rtt_source: Option<RttSource>,
    },
    Whiteboard {
        /// The sender's clock reading (`timestamp` in the whiteboard JSON), if readable.
        client_ms: Option<u64>,
        seq: Option<u64>,
    },
    Hole,
    Unreadable {
        reason: String,
    },
    Other,
}

/// Why a dump could not be read at all.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DumpError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a group_msg_get_simple answer, an array of answers, or an array of RspMsgList items: {0}")]
    Shape(String),
    #[error("item {index}: {reason}")]
    Item { index: usize, reason: String },
}

/// A read dump: the group id (when an answer named it) and its entries, oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    pub group_id: Option<String>,
    pub entries: Vec<Entry>,
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn int_field(obj: &serde_json::Map<String, Value>, key: &str) -> Result<Option<i128>, String> {
    field(obj, key)
        .map(|v| lenient_integer(v).map_err(|e| format!("{key}: {e}")))
        .transpose()
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Reads a custom message's `Data` as a protocol message, tolerating a 1003 without
/// `time_line`.
pub fn read_protocol_data(data: &str) -> Result<(ReplayMessage, bool), String> {
    let mut v: Value = serde_json::from_str(data).map_err(|e| format!("Data is not JSON: {e}"))?;
    let mut missing = false;
    if let Value::Object(obj) = &mut v {
        let is_timeline = obj.get("type").and_then(|t| lenient_integer(t).ok()) == Some(1003);
        if is_timeline && field(obj, "time_line").is_none() {
            obj.insert("time_line".into(), Value::from(0));
            missing = true;
        }
    }
    ReplayMessage::from_value(v)
        .map(|m| (m, missing))
        .map_err(|e| e.to_string())
}

/// The client clock reading in whiteboard data (`timestamp`), and its `seq`.
fn read_whiteboard_data(data: &str) -> (Option<u64>, Option<u64>) {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(data) else {
        return (None, None);
    };
    let num = |k: &str| {
        field(&obj, k)
            .and_then(|v| lenient_integer(v).ok())
            .and_then(|i| u64::try_from(i).ok())
    };
    (num("timestamp"), num("seq"))
}

/// Reads one `RspMsgList` item.
pub fn read_history_item(v: &Value) -> Result<Entry, String> {
    let Value::Object(obj) = v else {
        return Err("not an object".into());
    };
    let im_msg_seq = int_field(obj, "MsgSeq")?
        .ok_or("MsgSeq: missing")?
        .try_into()
        .map_err(|_| "MsgSeq: out of range".to_string())?;
    let ts = int_field(obj, "MsgTimeStamp")?
        .map(|t| i64::try_from(t).map_err(|_| "MsgTimeStamp: out of range".to_string()))
        .transpose()?;
    let place = int_field(obj, "IsPlaceMsg")?.unwrap_or(0) != 0;
    let from = field(obj, "From_Account").map(text_of).unwrap_or_default();
    let body = if place {
        EntryBody::Hole
    } else {
        read_body(field(obj, "MsgBody"))
    };
    Ok(Entry {
        im_msg_seq: Some(im_msg_seq),
        received_ms: ts.and_then(|t| t.checked_mul(1000)),
        received_exact: false,
        from,
        log_id: None,
        sent: true,
        recording_source: None,
        body,
    })
}

fn read_body(body: Option<&Value>) -> EntryBody {
    let Some(Value::Array(elems)) = body else {
        return EntryBody::Other;
    };
    let custom = elems.iter().find_map(|e| {
        let o = e.as_object()?;
        if o.get("MsgType").and_then(Value::as_str) != Some("TIMCustomElem") {
            return None;
        }
        let c = o.get("MsgContent")?.as_object()?;
        let data = c.get("Data").map(text_of).unwrap_or_default();
        let ext = c.get("Ext").map(text_of).unwrap_or_default();
        Some((data, ext))
    });
    let Some((data, ext)) = custom else {
        return EntryBody::Other;
    };
    if ext == WHITEBOARD_EXT {
        let (client_ms, seq) = read_whiteboard_data(&data);
        return EntryBody::Whiteboard { client_ms, seq };
    }
    match read_protocol_data(&data) {
        Ok((msg, time_line_missing)) => EntryBody::Protocol {
            msg,
            time_line_missing,
            uncertainty_ms: None,
            rtt_source: None,
        },
        Err(reason) => EntryBody::Unreadable { reason },
    }
}

fn read_answer(
    obj: &serde_json::Map<String, Value>,
    out: &mut Vec<Entry>,
    group: &mut Option<String>,
) -> Result<(), DumpError> {
    if let Some(g) = field(obj, "GroupId") {
        group.get_or_insert_with(|| text_of(g));
    }
    match field(obj, "RspMsgList") {
        Some(Value::Array(items)) => read_items(items, out),
        None => Ok(()),
        Some(_) => Err(DumpError::Shape("RspMsgList is not an array".into())),
    }
}

fn read_items(items: &[Value], out: &mut Vec<Entry>) -> Result<(), DumpError> {
    for item in items {
        let index = out.len();
        out.push(read_history_item(item).map_err(|reason| DumpError::Item { index, reason })?);
    }
    Ok(())
}

/// Reads a saved dump: one `group_msg_get_simple` answer, an array of answers (a long
/// group's pages), or an array of `RspMsgList` items. Entries come back oldest first, one
/// per `MsgSeq` (pages may overlap).
pub fn read_dump(text: &str) -> Result<History, DumpError> {
    let v: Value = serde_json::from_str(text).map_err(|e| DumpError::NotJson(e.to_string()))?;
    let mut entries = Vec::new();
    let mut group_id = None;
    match &v {
        Value::Object(obj) if obj.contains_key("RspMsgList") => {
            read_answer(obj, &mut entries, &mut group_id)?
        }
        Value::Array(items)
            if items
                .iter()
                .all(|i| matches!(i, Value::Object(o) if o.contains_key("RspMsgList")))
                && !items.is_empty() =>
        {
            for page in items {
                if let Value::Object(o) = page {
                    read_answer(o, &mut entries, &mut group_id)?;
                }
            }
        }
        Value::Array(items) => read_items(items, &mut entries)?,
        Value::Object(_) => return Err(DumpError::Shape("an object without RspMsgList".into())),
        _ => return Err(DumpError::Shape("neither an object nor an array".into())),
    }
    Ok(History {
        group_id,
        entries: normalize(entries),
    })
}

/// Oldest first, one entry per `MsgSeq` (a later copy of a seq replaces nothing).
pub fn normalize(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by_key(|e| e.im_msg_seq);
    entries.dedup_by_key(|e| e.im_msg_seq);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn three_shapes_read_alike() {
        let one = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/replaygroup_history_room42.json"
        ))
        .unwrap();
        let answer: Value = serde_json::from_str(&one).unwrap();
        let a = read_dump(&one).unwrap();
        assert_eq!(a.group_id.as_deref(), Some("replay_room42"));
        assert_eq!(a.entries.len(), 8);
        assert_eq!(a.entries[0].im_msg_seq, Some(2));
        // Two overlapping pages of the same answer.
        let pages = serde_json::to_string(&vec![answer.clone(), answer.clone()]).unwrap();
        assert_eq!(read_dump(&pages).unwrap().entries, a.entries);
        let items = serde_json::to_string(&answer["RspMsgList"]).unwrap();
        let b = read_dump(&items).unwrap();
        assert_eq!(b.group_id, None);
        assert_eq!(b.entries, a.entries);
    }

    #[test]
    fn lenient_items_and_missing_time_line() {
        let item = serde_json::json!({
            "MsgSeq": "12", "MsgTimeStamp": 1795339201.0, "From_Account": 42,
            "MsgBody": [{"MsgType": "TIMCustomElem", "MsgContent": {"Data":
                "{\"type\":1003,\"seq\":5,\"timestamp\":77,\"value\":{\"uid\":\"u\"}}"}}],
            "Unknown": true
        });
        let e = read_history_item(&item).unwrap();
        assert_eq!(e.im_msg_seq, Some(12));
        assert_eq!(e.received_ms, Some(1_795_339_201_000));
        assert_eq!(e.from, "42");
        match e.body {
            EntryBody::Protocol {
                time_line_missing,
                msg,
                ..
            } => {
                assert!(time_line_missing);
                assert_eq!(msg.timestamp, 77);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_dumps_say_why() {
        assert!(matches!(read_dump("{"), Err(DumpError::NotJson(_))));
        assert!(matches!(read_dump("{\"a\":1}"), Err(DumpError::Shape(_))));
        assert!(matches!(read_dump("3"), Err(DumpError::Shape(_))));
        let e = read_dump("[{\"MsgSeq\":\"x\"}]").unwrap_err();
        assert_eq!(e.to_string(), "item 0: MsgSeq: \"x\" is not a number");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)),
            "[a-zA-Z0-9_ {}\":,.]{0,12}".prop_map(Value::from),
            prop_oneof![
                Just("MsgSeq"),
                Just("RspMsgList"),
                Just("MsgBody"),
                Just("IsPlaceMsg")
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("MsgSeq".to_string()),
                            Just("RspMsgList".to_string()),
                            Just("MsgBody".to_string()),
                            Just("MsgTimeStamp".to_string()),
                            Just("IsPlaceMsg".to_string()),
                            Just("MsgType".to_string()),
                            Just("MsgContent".to_string()),
                            Just("Data".to_string()),
                            Just("Ext".to_string()),
                            "[a-z]{1,4}"
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
        /// Any JSON at all is either read or refused with a reason; nothing panics, and
        /// what is read is oldest first with one entry per MsgSeq.
        #[test]
        fn any_json_is_read_or_refused(v in arb_json()) {
            if let Ok(h) = read_dump(&v.to_string()) {
                prop_assert!(h.entries.windows(2).all(|w| w[0].im_msg_seq < w[1].im_msg_seq));
            }
        }

        /// Whatever numbers a message carries, as integers, floats or strings, the reader
        /// gets the same MsgSeq and MsgTimeStamp back.
        #[test]
        fn numbers_in_any_form(seq in 1u64..(1u64 << 52), ts in 0i64..4_000_000_000i64, form in 0..3u8) {
            let enc = |n: i128| match form {
                0 => serde_json::json!(n as i64),
                1 => serde_json::json!(n as f64),
                _ => Value::from(n.to_string()),
            };
            let item = serde_json::json!({"MsgSeq": enc(seq.into()), "MsgTimeStamp": enc(ts.into()), "IsPlaceMsg": 1});
            let e = read_history_item(&item).unwrap();
            prop_assert_eq!(e.im_msg_seq, Some(seq));
            prop_assert_eq!(e.received_ms, Some(ts * 1000));
            prop_assert_eq!(e.body, EntryBody::Hole);
        }
    }
}
