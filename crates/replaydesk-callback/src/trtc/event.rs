//! What a TRTC event means: its name and its stage in a recorder's life, the files it
//! names, the identity of a file and of an event, and the 1004 of a file.

use super::parse::{TrtcCallback, EVENT_GROUP_PAGE_RECORDING};
use crate::parse::{opt_i64, opt_text, CallbackError};
use replaydesk_protocol::RecordingValue;
use serde_json::{Map, Value};

/// Where in a recorder's life an event stands (the store's `RecorderStage`, by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifeStage {
    Started,
    Stopped,
    Uploading,
    Slice,
    Ready,
    Error,
    Failover,
    Paused,
    Resumed,
    Other,
}

impl LifeStage {
    /// The stage's name: `started`, `stopped`, `uploading`, `slice`, `ready`, `error`,
    /// `failover`, `paused`, `resumed`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            LifeStage::Started => "started",
            LifeStage::Stopped => "stopped",
            LifeStage::Uploading => "uploading",
            LifeStage::Slice => "slice",
            LifeStage::Ready => "ready",
            LifeStage::Error => "error",
            LifeStage::Failover => "failover",
            LifeStage::Paused => "paused",
            LifeStage::Resumed => "resumed",
            LifeStage::Other => "other",
        }
    }
}

/// The event's name and stage. Cloud-recording events are Tencent's 301-312; a non-zero
/// `Payload.Status` makes an event an error (its name kept); page recording
/// (`EventGroupId` 8) and unknown types are `other`, kept as received.
pub fn describe(cb: &TrtcCallback) -> (&'static str, LifeStage) {
    if cb.event_group_id == Some(EVENT_GROUP_PAGE_RECORDING) {
        return ("page_recording", LifeStage::Other);
    }
    let (name, stage) = match cb.event_type {
        301 => ("recorder_started", LifeStage::Started),
        302 => ("recorder_stopped", LifeStage::Stopped),
        303 => ("upload_started", LifeStage::Uploading),
        304 => ("m3u8_index_created", LifeStage::Slice),
        305 => ("upload_finished", LifeStage::Uploading),
        306 => ("failover", LifeStage::Failover),
        307 => ("first_slice", LifeStage::Slice),
        308 => ("image_download_error", LifeStage::Error),
        309 => ("recording_error", LifeStage::Error),
        310 => ("mp4_stopped", LifeStage::Ready),
        311 => ("vod_commit", LifeStage::Ready),
        312 => ("vod_stopped", LifeStage::Stopped),
        _ => ("unknown_event", LifeStage::Other),
    };
    match cb.status() {
        Ok(Some(s)) if s != 0 => (name, LifeStage::Error),
        _ => (name, stage),
    }
}

/// Where a file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStorage {
    /// Tencent VOD: the event carries `FileId` and a playable `VideoUrl` (311).
    Vod,
    /// Object storage (COS): only a file name; playable under `recordings.cos_base_url`.
    Cos,
}

/// One file an event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrtcFile {
    /// The recorded user (a mixed-stream file: the task's own user id).
    pub user_id: Option<String>,
    /// `audio`, `video` or `audio_video`.
    pub track_type: Option<String>,
    /// `main` (camera) or `aux` (screen share), as TRTC's `MediaId` names it.
    pub media: Option<String>,
    /// VOD's `FileId`.
    pub file_id: Option<String>,
    /// VOD's `VideoUrl` (http or https only).
    pub video_url: Option<String>,
    /// The file's name (`CacheFile` of a 311, `FileName` of the others).
    pub file_name: Option<String>,
    /// The file's start and end by Tencent's clock, unix ms (`StartTimeStamp` /
    /// `EndTimeStamp`; a slice's `BeginTimeStamp`).
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Bytes, when the event says.
    pub size: Option<u64>,
    pub storage: FileStorage,
    /// A whole file (311, 310, 305), as opposed to the first slice of one (304, 307).
    pub complete: bool,
}

/// The files an event names: 311 its `TencentVod`; 310 and 305 each entry of `FileList`
/// (or `FileMessage`), names or objects; 304 and 307 the file being sliced. An event with
/// a non-zero `Status` names none (its file did not come to be).
pub fn files(cb: &TrtcCallback) -> Result<Vec<TrtcFile>, CallbackError> {
    if cb.event_group_id == Some(EVENT_GROUP_PAGE_RECORDING) {
        return Ok(Vec::new());
    }
    if matches!(cb.status()?, Some(s) if s != 0) {
        return Ok(Vec::new());
    }
    let p = &cb.payload;
    match cb.event_type {
        311 => {
            let vod = match p.get("TencentVod") {
                None | Some(Value::Null) => return Ok(Vec::new()),
                Some(Value::Object(v)) => v,
                Some(_) => {
                    return Err(CallbackError::invalid(
                        "EventInfo.Payload.TencentVod",
                        "not an object",
                    ))
                }
            };
            let video_url = opt_text(vod, "VideoUrl").map_err(|e| at(e, "TencentVod.VideoUrl"))?;
            if let Some(url) = &video_url {
                web_url(url)?;
            }
            Ok(vec![TrtcFile {
                user_id: opt_text(vod, "UserId").map_err(|e| at(e, "TencentVod.UserId"))?,
                track_type: opt_text(vod, "TrackType")
                    .map_err(|e| at(e, "TencentVod.TrackType"))?,
                media: opt_text(vod, "MediaId").map_err(|e| at(e, "TencentVod.MediaId"))?,
                file_id: opt_text(vod, "FileId").map_err(|e| at(e, "TencentVod.FileId"))?,
                video_url,
                file_name: opt_text(vod, "CacheFile").map_err(|e| at(e, "TencentVod.CacheFile"))?,
                start_ms: opt_i64(vod, "StartTimeStamp")
                    .map_err(|e| at(e, "TencentVod.StartTimeStamp"))?,
                end_ms: opt_i64(vod, "EndTimeStamp")
                    .map_err(|e| at(e, "TencentVod.EndTimeStamp"))?,
                size: crate::parse::opt_u64(vod, "FileSize")
                    .map_err(|e| at(e, "TencentVod.FileSize"))?,
                storage: FileStorage::Vod,
                complete: true,
            }])
        }
        305 | 310 => {
            let list = ["FileList", "FileMessage"]
                .iter()
                .find_map(|k| p.get(*k).filter(|v| !v.is_null()));
            let Some(list) = list else {
                return Ok(Vec::new());
            };
            let Value::Array(items) = list else {
                return Err(CallbackError::invalid(
                    "EventInfo.Payload.FileList",
                    "not a list",
                ));
            };
            items
                .iter()
                .map(|item| match item {
                    Value::String(name) => Ok(TrtcFile {
                        user_id: opt_text(p, "UserId").map_err(|e| at(e, "UserId"))?,
                        track_type: None,
                        media: None,
                        file_id: None,
                        video_url: None,
                        file_name: Some(name.clone()),
                        start_ms: None,
                        end_ms: None,
                        size: None,
                        storage: FileStorage::Cos,
                        complete: true,
                    }),
                    Value::Object(o) => cos_file(o, true),
                    _ => Err(CallbackError::invalid(
                        "EventInfo.Payload.FileList",
                        "an entry is neither a file name nor an object",
                    )),
                })
                .collect()
        }
        304 | 307 => {
            if crate::parse::present(p, "FileName").is_none() {
                return Ok(Vec::new());
            }
            Ok(vec![cos_file(p, false)?])
        }
        _ => Ok(Vec::new()),
    }
}

fn cos_file(o: &Map<String, Value>, complete: bool) -> Result<TrtcFile, CallbackError> {
    let start = match opt_i64(o, "StartTimeStamp").map_err(|e| at(e, "StartTimeStamp"))? {
        Some(s) => Some(s),
        None => opt_i64(o, "BeginTimeStamp").map_err(|e| at(e, "BeginTimeStamp"))?,
    };
    Ok(TrtcFile {
        user_id: opt_text(o, "UserId").map_err(|e| at(e, "UserId"))?,
        track_type: opt_text(o, "TrackType").map_err(|e| at(e, "TrackType"))?,
        media: opt_text(o, "MediaId").map_err(|e| at(e, "MediaId"))?,
        file_id: None,
        video_url: None,
        file_name: opt_text(o, "FileName").map_err(|e| at(e, "FileName"))?,
        start_ms: start,
        end_ms: opt_i64(o, "EndTimeStamp").map_err(|e| at(e, "EndTimeStamp"))?,
        size: crate::parse::opt_u64(o, "FileSize").map_err(|e| at(e, "FileSize"))?,
        storage: FileStorage::Cos,
        complete,
    })
}

/// Only web URLs go into a 1004 (a player shows it as a link).
fn web_url(url: &str) -> Result<(), CallbackError> {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(CallbackError::invalid(
            "EventInfo.Payload.TencentVod.VideoUrl",
            "only http:// and https:// URLs are accepted",
        ))
    }
}

/// The field's path inside the payload, for a refusal.
fn at(e: CallbackError, field: &'static str) -> CallbackError {
    match e {
        CallbackError::InvalidField { reason, .. } => CallbackError::InvalidField {
            field: leak_path(field),
            reason,
        },
        other => other,
    }
}

/// `EventInfo.Payload.<field>` for the fixed set of fields read here.
fn leak_path(field: &'static str) -> &'static str {
    match field {
        "TencentVod.VideoUrl" => "EventInfo.Payload.TencentVod.VideoUrl",
        "TencentVod.UserId" => "EventInfo.Payload.TencentVod.UserId",
        "TencentVod.TrackType" => "EventInfo.Payload.TencentVod.TrackType",
        "TencentVod.MediaId" => "EventInfo.Payload.TencentVod.MediaId",
        "TencentVod.FileId" => "EventInfo.Payload.TencentVod.FileId",
        "TencentVod.CacheFile" => "EventInfo.Payload.TencentVod.CacheFile",
        "TencentVod.StartTimeStamp" => "EventInfo.Payload.TencentVod.StartTimeStamp",
        "TencentVod.EndTimeStamp" => "EventInfo.Payload.TencentVod.EndTimeStamp",
        "TencentVod.FileSize" => "EventInfo.Payload.TencentVod.FileSize",
        "UserId" => "EventInfo.Payload.UserId",
        "TrackType" => "EventInfo.Payload.TrackType",
        "MediaId" => "EventInfo.Payload.MediaId",
        "FileName" => "EventInfo.Payload.FileName",
        "StartTimeStamp" => "EventInfo.Payload.StartTimeStamp",
        "BeginTimeStamp" => "EventInfo.Payload.BeginTimeStamp",
        "EndTimeStamp" => "EventInfo.Payload.EndTimeStamp",
        "FileSize" => "EventInfo.Payload.FileSize",
        other => other,
    }
}

/// The identity of a file, for one 1004 per file: `trtc:<TaskId>/<file name>` (a 311's
/// `CacheFile` is the name the COS events use for the same file), else
/// `trtc_vod:<FileId>`, else the task, user and media.
pub fn file_key(cb: &TrtcCallback, file: &TrtcFile) -> String {
    if let Some(name) = &file.file_name {
        return format!("trtc:{}/{name}", cb.task());
    }
    if let Some(id) = &file.file_id {
        return format!("trtc_vod:{id}");
    }
    format!(
        "trtc:{}/{}@{}",
        cb.task(),
        file.user_id.as_deref().unwrap_or(""),
        file.media.as_deref().unwrap_or("")
    )
}

/// The identity of an event, for "the same event again": its task, type, user and file.
pub fn event_key(cb: &TrtcCallback, file: Option<&TrtcFile>) -> String {
    let user = file
        .and_then(|f| f.user_id.as_deref())
        .or(cb.user_id.as_deref())
        .unwrap_or("");
    let file = file.map(|f| file_key(cb, f)).unwrap_or_default();
    format!(
        "trtc:{}:{}:{}:{}:{user}:{file}",
        cb.event_group_id.unwrap_or(0),
        cb.task(),
        cb.event_type,
        cb.room_id.as_deref().unwrap_or("")
    )
}

/// The 1004 `value` of a file for `uid`, played at `video_url`: `video_id` = the file's
/// `FileId` (else its name), `start_time`/`end_time` = its start and end in unix seconds
/// (floor of the milliseconds; `start_ms` is the caller's: the file's own, else the
/// first slice's), `duration` = their difference, `file_size` = what the event says or 0,
/// `media_start_time` = 0 (the start is on a wall clock already), and `type` = the
/// `MediaId` (`main` / `aux`) when the event names one.
pub fn trtc_recording_value(
    file: &TrtcFile,
    uid: &str,
    video_url: &str,
    start_ms: Option<i64>,
) -> RecordingValue {
    let start_time = start_ms.unwrap_or(0).div_euclid(1000);
    let end_time = file.end_ms.unwrap_or(0).div_euclid(1000);
    let duration = if start_ms.is_some() && file.end_ms.is_some() {
        end_time.saturating_sub(start_time).max(0)
    } else {
        0
    };
    let mut extra = Map::new();
    if let Some(media) = file.media.as_deref().filter(|m| !m.is_empty()) {
        extra.insert("type".into(), Value::from(media));
    }
    RecordingValue {
        uid: uid.to_owned(),
        start_time,
        end_time,
        media_start_time: 0,
        file_size: file.size.unwrap_or(0),
        duration,
        video_id: file
            .file_id
            .clone()
            .or_else(|| file.file_name.clone())
            .unwrap_or_default(),
        video_url: video_url.to_owned(),
        extra,
    }
}
