//! What a verified recording callback becomes: ignored, or one 1004 message.

use super::parse::{RecordingCallback, EVENT_RECORDING_READY};
use md5::{Digest, Md5};
use replaydesk_protocol::{Payload, RecordingValue, ReplayMessage, Seq};

/// What to do with a (verified) callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// `event_type` 100: a recording file is ready; map it and make a 1004.
    Recording,
    /// Any other event (or none): acknowledge and send nothing.
    Ignored { event_type: Option<i64> },
}

impl Classification {
    /// `recording` or `ignored`.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Recording => "recording",
            Classification::Ignored { .. } => "ignored",
        }
    }
}

/// `event_type` 100 is a recording; everything else, a missing `event_type` included, is
/// ignored (acknowledged, nothing sent; the server still keeps the body).
pub fn classify(cb: &RecordingCallback) -> Classification {
    match cb.event_type {
        Some(EVENT_RECORDING_READY) => Classification::Recording,
        event_type => Classification::Ignored { event_type },
    }
}

/// The 1004 `value` for user `uid`.
///
/// Times, size and URL as the callback gave them. `video_id` is the callback's `video_id`
/// when present, else its `file_id`, else its `record_file_id`. `duration` falls back to
/// `end_time - start_time` when the callback has none. Anything else missing is written as
/// 0 or empty text (the 1004 format has no absent values); [`missing_for_1004`] lists what
/// was missing, for a warning. A stream id ending `_main` or `_aux` (TRTC's relay names
/// streams so) adds `type`: `main` (camera) or `aux` (screen share).
pub fn recording_value(cb: &RecordingCallback, uid: &str) -> RecordingValue {
    let start_time = cb.start_time.unwrap_or(0);
    let end_time = cb.end_time.unwrap_or(0);
    let duration = cb
        .duration
        .unwrap_or_else(|| match (cb.start_time, cb.end_time) {
            (Some(s), Some(e)) => e.saturating_sub(s),
            _ => 0,
        });
    RecordingValue {
        uid: uid.to_owned(),
        start_time,
        end_time,
        media_start_time: cb.media_start_time.unwrap_or(0),
        file_size: cb.file_size.unwrap_or(0),
        duration,
        video_id: cb
            .video_id
            .as_ref()
            .or(cb.file_id.as_ref())
            .or(cb.record_file_id.as_ref())
            .cloned()
            .unwrap_or_default(),
        video_url: cb.video_url.clone().unwrap_or_default(),
        extra: match cb.stream().and_then(crate::mapping::stream_media) {
            Some(media) => [("type".to_owned(), serde_json::Value::from(media))]
                .into_iter()
                .collect(),
            None => Default::default(),
        },
    }
}

/// The complete 1004 message: `timestamp` is the server's unix **seconds** when the message
/// is made, supplied by the caller, as is `seq` (keep both with the stored message).
pub fn recording_message(
    cb: &RecordingCallback,
    uid: &str,
    seq: Seq,
    now_unix_s: u64,
) -> ReplayMessage {
    ReplayMessage::new(
        seq,
        now_unix_s,
        Payload::Recording(recording_value(cb, uid)),
    )
}

/// The fields a useful 1004 needs that the callback lacks: `start_time`, `end_time`,
/// `video_url`, and `video_id` (none of `video_id`, `file_id`, `record_file_id`).
pub fn missing_for_1004(cb: &RecordingCallback) -> Vec<&'static str> {
    let mut m = Vec::new();
    if cb.start_time.is_none() {
        m.push("start_time");
    }
    if cb.end_time.is_none() {
        m.push("end_time");
    }
    if cb.video_url.is_none() {
        m.push("video_url");
    }
    if cb.video_id.is_none() && cb.file_id.is_none() && cb.record_file_id.is_none() {
        m.push("video_id");
    }
    m
}

/// The identity of one recording file, for deduplication: a repeated callback for the same
/// file has the same key, so it yields one 1004, not two.
///
/// The first of, each prefixed with its kind (no prefix is a prefix of another, so keys of
/// different kinds never collide):
/// - `file_id:<file_id>`
/// - `record_file_id:<record_file_id>`
/// - `video_id:<video_id>`
/// - `stream:<stream id>@<start_time>[.<start_time_usec>]` (stream id = `stream_id`, else
///   `channel_id`; needs `start_time`; the text after the last `@` is always a number)
/// - `body:<md5 hex of the body without t and sign>` as a last resort, so callbacks that
///   name no file are never merged with one another unless they are the same body.
pub fn file_key(cb: &RecordingCallback) -> String {
    if let Some(v) = &cb.file_id {
        return format!("file_id:{v}");
    }
    if let Some(v) = &cb.record_file_id {
        return format!("record_file_id:{v}");
    }
    if let Some(v) = &cb.video_id {
        return format!("video_id:{v}");
    }
    if let (Some(stream), Some(start)) = (cb.stream(), cb.start_time) {
        return match cb.start_time_usec {
            Some(usec) => format!("stream:{stream}@{start}.{usec}"),
            None => format!("stream:{stream}@{start}"),
        };
    }
    let mut body = cb.raw.clone();
    body.shift_remove("t");
    body.shift_remove("sign");
    let text = serde_json::Value::Object(body).to_string();
    format!("body:{}", hex::encode(Md5::digest(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cb(v: serde_json::Value) -> RecordingCallback {
        let mut v = v;
        v["t"] = 1.into();
        v["sign"] = "x".into();
        RecordingCallback::from_value(v).unwrap()
    }

    #[test]
    fn classification() {
        assert_eq!(
            classify(&cb(json!({"event_type": 100}))),
            Classification::Recording
        );
        assert_eq!(
            classify(&cb(json!({"event_type": "100"}))),
            Classification::Recording
        );
        assert_eq!(
            classify(&cb(json!({"event_type": 200}))),
            Classification::Ignored {
                event_type: Some(200)
            }
        );
        let c = classify(&cb(json!({})));
        assert_eq!(c, Classification::Ignored { event_type: None });
        assert_eq!(c.as_str(), "ignored");
    }

    #[test]
    fn file_key_order_and_prefixes() {
        let full = json!({"file_id": "F", "record_file_id": "R", "video_id": "V",
            "stream_id": "s", "start_time": 5, "start_time_usec": 7});
        assert_eq!(file_key(&cb(full.clone())), "file_id:F");
        let mut v = full.clone();
        v["file_id"] = "".into();
        assert_eq!(file_key(&cb(v.clone())), "record_file_id:R");
        v.as_object_mut().unwrap().remove("record_file_id");
        assert_eq!(file_key(&cb(v.clone())), "video_id:V");
        v.as_object_mut().unwrap().remove("video_id");
        assert_eq!(file_key(&cb(v.clone())), "stream:s@5.7");
        v.as_object_mut().unwrap().remove("start_time_usec");
        assert_eq!(file_key(&cb(v.clone())), "stream:s@5");
        v.as_object_mut().unwrap().remove("stream_id");
        v["channel_id"] = "c".into();
        assert_eq!(file_key(&cb(v.clone())), "stream:c@5");
        v.as_object_mut().unwrap().remove("start_time");
        let k = file_key(&cb(v.clone()));
        assert!(k.starts_with("body:") && k.len() == 5 + 32, "{k}");
        // Same body with another t and sign: same key. Another body: another key.
        let mut again = cb(v.clone());
        again.raw.insert("t".into(), 99.into());
        again.raw.insert("sign".into(), "y".into());
        assert_eq!(file_key(&again), k);
        v["channel_id"] = "d".into();
        assert_ne!(file_key(&cb(v)), k);
    }

    #[test]
    fn value_fallbacks() {
        let r = recording_value(
            &cb(json!({"file_id": "F", "start_time": 10, "end_time": 70})),
            "u",
        );
        assert_eq!(r.video_id, "F");
        assert_eq!(r.duration, 60);
        assert_eq!(r.video_url, "");
        let r = recording_value(&cb(json!({"record_file_id": "R", "duration": 3})), "u");
        assert_eq!((r.video_id.as_str(), r.duration, r.start_time), ("R", 3, 0));
        assert_eq!(
            missing_for_1004(&cb(json!({"file_id": "F"}))),
            ["start_time", "end_time", "video_url"]
        );
        assert_eq!(
            missing_for_1004(&cb(json!({}))),
            ["start_time", "end_time", "video_url", "video_id"]
        );
        // Parsing bounds numbers to 0..2^53; the 1004's arithmetic must hold on any i64.
        let mut extreme = cb(json!({}));
        extreme.start_time = Some(i64::MIN);
        extreme.end_time = Some(i64::MAX);
        let r = recording_value(&extreme, "u");
        assert_eq!(r.duration, i64::MAX);
    }
}
