//! The demo's class recorded through TRTC cloud recording (issue 22): a class held in a
//! TRTC room whose recorder starts (301), slices each user's stream (307) and commits the
//! files to VOD (311), the teacher's camera (`main`) and the student's screen share
//! (`aux`), each signed as TRTC signs (`Sign` = base64 HMAC-SHA256 of the body under the
//! TRTC callback key) and posted to `POST /v1/callbacks/trtc`.

use super::Api;
use replaydesk_callback::trtc::sign_body;
use replaydesk_protocol::secret::Secret;
use serde_json::{json, Value};

/// What the TRTC part made.
#[derive(Debug, Clone, PartialEq)]
pub struct TrtcDemo {
    pub class_id: String,
    pub room_id: String,
    /// The HTTP status of each callback, in order: 301, 307 ×2, 311 ×2.
    pub statuses: Vec<u16>,
    pub signed: bool,
}

impl Api {
    /// A TRTC callback: the exact bytes, signed in the `Sign` header, the app in `SdkAppId`.
    async fn trtc_callback(
        &self,
        body: &[u8],
        key: Option<&Secret>,
        sdkappid: u64,
    ) -> Result<u16, String> {
        let sign = match key {
            Some(k) => sign_body(k, body),
            None => "not-signed".into(),
        };
        let res = self
            .http
            .post(format!("{}/v1/callbacks/trtc", self.base))
            .header("content-type", "application/json")
            .header("Sign", sign)
            .header("SdkAppId", sdkappid.to_string())
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| format!("TRTC callback: {e}"))?;
        Ok(res.status().as_u16())
    }
}

/// Makes the class and records it: the class `demo-<stamp>-trtc` in room `room_id`.
pub(super) async fn record_through_trtc(
    api: &Api,
    stamp: &str,
    room_id: u64,
    key: Option<&Secret>,
    sdkappid: u64,
    now_ms: i64,
) -> Result<TrtcDemo, String> {
    let class_id = format!("demo-{stamp}-trtc");
    // The room given as a number, as TRTC's numeric rooms are; callbacks send it as text.
    api.admin_post(
        "/v1/classes",
        json!({"class_id": class_id, "group_id": format!("demo_group_{stamp}_trtc"), "teacher_uid": "teacher_zhao", "create_group": true, "room_id": room_id}),
    )
    .await?;
    let task = format!("demo-trtc-task-{stamp}");
    let room = room_id.to_string();
    let start = now_ms - 120_000;
    let event = |ty: i64, at: i64, payload: Value| -> Vec<u8> {
        let v = json!({
            "EventGroupId": 3,
            "EventType": ty,
            "CallbackTs": now_ms,
            "EventInfo": {
                "RoomId": room,
                "EventTs": at / 1000,
                "EventMsTs": at,
                "UserId": format!("recorder_{room}"),
                "TaskId": task,
                "Payload": payload,
            }
        });
        // Pretty-printed with tabs, as Tencent's examples are: verified on these bytes.
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(&v, &mut ser)
            .map(|()| out)
            .unwrap_or_default()
    };
    let slice = |user: &str, media: &str, at: i64| json!({"FileName": format!("{task}_{user}_{media}.m3u8"), "UserId": user, "TrackType": if media == "main" { "audio_video" } else { "video" }, "BeginTimeStamp": at});
    let commit = |user: &str, media: &str, file_id: &str, from: i64, to: i64| {
        json!({
            "Status": 0,
            "TencentVod": {
                "UserId": user,
                "TrackType": if media == "main" { "audio_video" } else { "video" },
                "MediaId": media,
                "FileId": file_id,
                "VideoUrl": format!("https://media.example.com/trtc/{file_id}.mp4"),
                "CacheFile": format!("{task}_{user}_{media}.mp4"),
                "StartTimeStamp": from,
                "EndTimeStamp": to,
            },
            "Errmsg": "",
        })
    };
    let bodies = [
        event(301, start, json!({"Status": 0})),
        event(307, start + 800, slice("teacher_zhao", "main", start + 700)),
        event(
            307,
            start + 30_400,
            slice("student_sun", "aux", start + 30_000),
        ),
        event(
            311,
            now_ms - 2_000,
            commit(
                "teacher_zhao",
                "main",
                &format!("{stamp}01"),
                start + 700,
                now_ms - 5_000,
            ),
        ),
        event(
            311,
            now_ms - 1_000,
            commit(
                "student_sun",
                "aux",
                &format!("{stamp}02"),
                start + 30_000,
                now_ms - 40_000,
            ),
        ),
    ];
    let mut statuses = Vec::with_capacity(bodies.len());
    for b in &bodies {
        statuses.push(api.trtc_callback(b, key, sdkappid).await?);
    }
    Ok(TrtcDemo {
        class_id,
        room_id: room,
        statuses,
        signed: key.is_some(),
    })
}
