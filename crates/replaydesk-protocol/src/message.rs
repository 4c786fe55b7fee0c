//! The four replay message types, their exact writer and their lenient reader.

use super::lenient::{i64_in, take, text, u64_in};
use super::ProtocolError;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

/// The protocol's message types (the `type` field).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum MessageType {
    /// 1001: the class started.
    ClassStart,
    /// 1002: the class ended.
    ClassEnd,
    /// 1003: a client's clock paired with the server's (the timeline).
    Timeline,
    /// 1004: a camera recording file is ready.
    Recording,
}

impl MessageType {
    pub const ALL: [MessageType; 4] = [
        MessageType::ClassStart,
        MessageType::ClassEnd,
        MessageType::Timeline,
        MessageType::Recording,
    ];

    /// The number written in the `type` field.
    pub fn code(self) -> u16 {
        match self {
            MessageType::ClassStart => 1001,
            MessageType::ClassEnd => 1002,
            MessageType::Timeline => 1003,
            MessageType::Recording => 1004,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|t| i64::from(t.code()) == code)
    }
}

/// The `seq` field: players tell messages apart by it, so it is unique within a group and
/// stays the same when one logical message is sent again. Values read from a group are
/// kept as they are; new ones are drawn in the reference servers' range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(u64);

impl Seq {
    /// The reference servers draw `rand(10000, 100000000)`, both ends included.
    pub const MIN: u64 = 10_000;
    pub const MAX: u64 = 100_000_000;

    pub fn random() -> Self {
        Self::random_with(&mut rand::rng())
    }

    pub fn random_with<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Seq(rng.random_range(Self::MIN..=Self::MAX))
    }

    /// A seq as read from a group or a database row (any value is accepted).
    pub fn from_raw(v: u64) -> Self {
        Seq(v)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for Seq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The `value` of 1001, 1002 and 1003: who the message is about.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserValue {
    pub uid: String,
    /// Unknown fields, kept in their order and written back after the known ones.
    pub extra: Map<String, Value>,
}

impl UserValue {
    pub fn new(uid: impl Into<String>) -> Self {
        Self {
            uid: uid.into(),
            extra: Map::new(),
        }
    }
}

/// The `value` of 1004: a recording file, with times as the recording callback gave them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordingValue {
    pub uid: String,
    /// Unix seconds.
    pub start_time: i64,
    /// Unix seconds.
    pub end_time: i64,
    /// First-frame timestamp the recorder received (see docs/protocol.md section 5).
    pub media_start_time: i64,
    /// Bytes.
    pub file_size: u64,
    /// Seconds.
    pub duration: i64,
    pub video_id: String,
    pub video_url: String,
    pub extra: Map<String, Value>,
}

/// What a message says, by type. The `type` field is derived from the variant, so a 1003
/// without a `time_line`, or a 1004 with a bare uid, cannot be built.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    ClassStart(UserValue),
    ClassEnd(UserValue),
    Timeline {
        /// The server's wall clock, unix milliseconds, paired with the client's `timestamp`.
        time_line: i64,
        value: UserValue,
    },
    Recording(RecordingValue),
}

impl Payload {
    pub fn message_type(&self) -> MessageType {
        match self {
            Payload::ClassStart(_) => MessageType::ClassStart,
            Payload::ClassEnd(_) => MessageType::ClassEnd,
            Payload::Timeline { .. } => MessageType::Timeline,
            Payload::Recording(_) => MessageType::Recording,
        }
    }

    pub fn uid(&self) -> &str {
        match self {
            Payload::ClassStart(v) | Payload::ClassEnd(v) | Payload::Timeline { value: v, .. } => {
                &v.uid
            }
            Payload::Recording(r) => &r.uid,
        }
    }
}

/// One replay protocol message: the JSON text in a `TIMCustomElem`'s `Data`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayMessage {
    pub seq: Seq,
    /// Client local ms for 1001–1003 (possibly 32-bit, wrapping); server unix seconds for 1004.
    pub timestamp: u64,
    pub payload: Payload,
    /// Unknown top-level fields, kept in order and written after the known ones.
    pub extra: Map<String, Value>,
}

impl ReplayMessage {
    pub fn new(seq: Seq, timestamp: u64, payload: Payload) -> Self {
        Self {
            seq,
            timestamp,
            payload,
            extra: Map::new(),
        }
    }

    pub fn message_type(&self) -> MessageType {
        self.payload.message_type()
    }

    /// The exact `Data` text: compact JSON, fields in the reference servers' order
    /// (`type`, `seq`, `timestamp`, [`time_line`], `value`), integers as integers.
    pub fn to_data(&self) -> String {
        let mut obj = Map::new();
        obj.insert("type".into(), self.message_type().code().into());
        obj.insert("seq".into(), self.seq.get().into());
        obj.insert("timestamp".into(), self.timestamp.into());
        let value = match &self.payload {
            Payload::ClassStart(v) | Payload::ClassEnd(v) => user_value_json(v),
            Payload::Timeline { time_line, value } => {
                obj.insert("time_line".into(), (*time_line).into());
                user_value_json(value)
            }
            Payload::Recording(r) => recording_value_json(r),
        };
        obj.insert("value".into(), value);
        for (k, v) in &self.extra {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(obj).to_string()
    }

    /// Reads a `Data` text leniently. Errors name the field at fault; nothing panics.
    pub fn parse(data: &str) -> Result<Self, ProtocolError> {
        let v: Value =
            serde_json::from_str(data).map_err(|e| ProtocolError::NotJson(e.to_string()))?;
        Self::from_value(v)
    }

    /// As [`ReplayMessage::parse`], from already-parsed JSON.
    pub fn from_value(v: Value) -> Result<Self, ProtocolError> {
        let Value::Object(mut obj) = v else {
            return Err(ProtocolError::NotAnObject);
        };
        let code = i64_in(&take(&mut obj, "type", "type")?, "type")?;
        let ty = MessageType::from_code(code).ok_or(ProtocolError::UnknownType(code))?;
        let seq = Seq(u64_in(&take(&mut obj, "seq", "seq")?, "seq")?);
        let timestamp = u64_in(&take(&mut obj, "timestamp", "timestamp")?, "timestamp")?;
        let time_line = match ty {
            MessageType::Timeline => Some(i64_in(
                &take(&mut obj, "time_line", "time_line")?,
                "time_line",
            )?),
            _ => None,
        };
        let value = match take(&mut obj, "value", "value")? {
            Value::Object(m) => m,
            _ => return Err(ProtocolError::invalid("value", "not an object")),
        };
        let payload = match ty {
            MessageType::ClassStart => Payload::ClassStart(read_user_value(value)?),
            MessageType::ClassEnd => Payload::ClassEnd(read_user_value(value)?),
            MessageType::Timeline => Payload::Timeline {
                // Present: taken above for this type.
                time_line: time_line.unwrap_or_default(),
                value: read_user_value(value)?,
            },
            MessageType::Recording => Payload::Recording(read_recording_value(value)?),
        };
        Ok(Self {
            seq,
            timestamp,
            payload,
            extra: obj,
        })
    }
}

fn user_value_json(v: &UserValue) -> Value {
    let mut m = Map::new();
    m.insert("uid".into(), v.uid.clone().into());
    for (k, x) in &v.extra {
        m.entry(k.clone()).or_insert_with(|| x.clone());
    }
    Value::Object(m)
}

fn recording_value_json(r: &RecordingValue) -> Value {
    let mut m = Map::new();
    m.insert("uid".into(), r.uid.clone().into());
    m.insert("start_time".into(), r.start_time.into());
    m.insert("end_time".into(), r.end_time.into());
    m.insert("media_start_time".into(), r.media_start_time.into());
    m.insert("file_size".into(), r.file_size.into());
    m.insert("duration".into(), r.duration.into());
    m.insert("video_id".into(), r.video_id.clone().into());
    m.insert("video_url".into(), r.video_url.clone().into());
    for (k, x) in &r.extra {
        m.entry(k.clone()).or_insert_with(|| x.clone());
    }
    Value::Object(m)
}

fn read_user_value(mut m: Map<String, Value>) -> Result<UserValue, ProtocolError> {
    let uid = text(&take(&mut m, "uid", "value.uid")?, "value.uid")?;
    Ok(UserValue { uid, extra: m })
}

fn read_recording_value(mut m: Map<String, Value>) -> Result<RecordingValue, ProtocolError> {
    let uid = text(&take(&mut m, "uid", "value.uid")?, "value.uid")?;
    let start_time = i64_in(
        &take(&mut m, "start_time", "value.start_time")?,
        "value.start_time",
    )?;
    let end_time = i64_in(
        &take(&mut m, "end_time", "value.end_time")?,
        "value.end_time",
    )?;
    let video_url = text(
        &take(&mut m, "video_url", "value.video_url")?,
        "value.video_url",
    )?;
    // Older senders omit these; a replay can still place the file without them.
    let opt_i64 = |m: &mut Map<String, Value>, k: &str, path: &str| {
        m.shift_remove(k).map(|v| i64_in(&v, path)).transpose()
    };
    let media_start_time =
        opt_i64(&mut m, "media_start_time", "value.media_start_time")?.unwrap_or(0);
    let duration = opt_i64(&mut m, "duration", "value.duration")?.unwrap_or(0);
    let file_size = m
        .shift_remove("file_size")
        .map(|v| u64_in(&v, "value.file_size"))
        .transpose()?
        .unwrap_or(0);
    let video_id = m
        .shift_remove("video_id")
        .map(|v| text(&v, "value.video_id"))
        .transpose()?
        .unwrap_or_default();
    Ok(RecordingValue {
        uid,
        start_time,
        end_time,
        media_start_time,
        file_size,
        duration,
        video_id,
        video_url,
        extra: m,
    })
}
