//! Recording callbacks as received.

use super::*;

/// A recording callback as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RecordingCallbackRecord {
    #[ts(type = "number")]
    pub id: i64,
    /// Which cloud sent it.
    pub source: CallbackSource,
    /// When it arrived, unix ms.
    #[ts(type = "number")]
    pub received_at: i64,
    pub status: CallbackStatus,
    /// Why it was refused (`bad_sign`, `expired`, `not_json`, ...), what the mapping tried
    /// (unmatched, and kept once assigned), what was missing for the 1004 (accepted), the
    /// message it repeats (duplicate), or the event it was (ignored).
    pub reason: Option<String>,
    /// The recording file's identity (`file_id:...`, `video_id:...`, ...), once verified.
    pub file_key: Option<String>,
    pub class_id: Option<String>,
    pub uid: Option<String>,
    /// The file's 1004 (accepted, duplicate, assigned).
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    /// The body as received, shown as UTF-8 text (invalid bytes replaced; the store keeps
    /// the bytes), with the `sign` value hidden. Listings carry only its first
    /// [`LIST_BODY_PREVIEW_BYTES`]; the detail route the whole stored body.
    pub body: String,
    /// Size of the body as received, bytes.
    #[ts(type = "number")]
    pub body_bytes: i64,
    /// True when `body` is not the whole body: a listing's preview, or a refused body of
    /// which only the first [`REFUSED_BODY_SAMPLE_BYTES`] were kept.
    pub body_truncated: bool,
}

impl From<store::RecordingCallbackRecord> for RecordingCallbackRecord {
    fn from(r: store::RecordingCallbackRecord) -> Self {
        let store::RecordingCallbackRecord {
            id,
            source,
            received_at,
            status,
            reason,
            file_key,
            class_id,
            uid,
            message_id,
            body,
            body_bytes,
            body_truncated,
        } = r;
        Self {
            id,
            source: source.into(),
            received_at,
            status: status.into(),
            reason,
            file_key,
            class_id,
            uid,
            message_id,
            body,
            body_bytes,
            body_truncated,
        }
    }
}
