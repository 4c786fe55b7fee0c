//! The control endpoints of the standalone test tool: fault knobs, counters, the app's key.
//! They take no UserSig, so only the standalone tool routes them.

use crate::faults::FaultConfig;
use crate::Retention;
use crate::{Emulator, EmulatorStats};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub(super) fn control_error(
    status: StatusCode,
    error: &str,
    detail: impl Into<String>,
) -> Response {
    (
        status,
        Json(json!({"error": error, "detail": detail.into()})),
    )
        .into_response()
}

pub(super) async fn get_faults(State(emu): State<Emulator>) -> Json<FaultConfig> {
    Json(emu.faults())
}

/// Replaces the fault knobs with the JSON body (absent fields: no fault). Any content type.
pub(super) async fn put_faults(State(emu): State<Emulator>, body: Bytes) -> Response {
    let faults: FaultConfig = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, "invalid faults", e.to_string()),
    };
    match emu.set_faults(faults) {
        Ok(()) => Json(emu.faults()).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, "invalid faults", e.to_string()),
    }
}

pub(super) async fn get_stats(State(emu): State<Emulator>) -> Json<EmulatorStats> {
    Json(emu.stats())
}

/// `PUT /control/secret-key` `{"secret_key": "..."}` → 204: rotates the app's key (never
/// echoed back). A body that is not that shape, or an empty key, is refused with 400 and
/// changes nothing.
pub(super) async fn put_secret_key(State(emu): State<Emulator>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct KeyBody {
        secret_key: String,
    }
    let key = match serde_json::from_slice::<KeyBody>(&body) {
        Ok(k) => k.secret_key,
        Err(_) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                "invalid secret key",
                "expected {\"secret_key\": \"...\"}",
            )
        }
    };
    match emu.set_secret_key(&key) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, "invalid secret key", e.to_string()),
    }
}

/// Zeroes the counters; answers their values before.
pub(super) async fn reset_stats(State(emu): State<Emulator>) -> Json<EmulatorStats> {
    Json(emu.reset_stats())
}

pub(super) async fn get_retention(State(emu): State<Emulator>) -> Json<Retention> {
    Json(emu.retention())
}

/// `PUT /control/retention` `{"max_age_secs": N, "max_messages": M}` (either absent or
/// null: no limit) → the limits now in force. Anything else is refused with 400 and changes
/// nothing.
pub(super) async fn put_retention(State(emu): State<Emulator>, body: Bytes) -> Response {
    match serde_json::from_slice::<Retention>(&body) {
        Ok(r) => {
            emu.set_retention(r);
            Json(emu.retention()).into_response()
        }
        Err(e) => control_error(StatusCode::BAD_REQUEST, "invalid retention", e.to_string()),
    }
}
