//! The console's operations over IPC: one command, `operation`, taking the operation's
//! `name` and its arguments as the console's client sends them (`classId`, `id`, `uid`:
//! the path parameters; `query` or `body`: the HTTP query's or body's fields as a JSON
//! object). It dispatches through the library's operation table
//! ([`replaydesk_service::api`]), the same declarations the HTTP routes are built from,
//! so both doors decode, check and answer alike; errors are the HTTP error body.
//!
//! No sign-in: the desktop app is its teacher's own machine, with every role. Actions are
//! audited as [`ACTOR`] through the `desktop` door.

use super::ErrorBody;
use replaydesk_service::api::{dispatch, IpcArgs};
use replaydesk_service::{ReplayDesk, ServiceError};
use serde_json::Value;
use tauri::ipc::{InvokeBody, Request};

/// Who the audit log names for what is done in the desktop app.
pub const ACTOR: &str = "desktop";

/// `operation { name, classId?, id?, uid?, query?, body? }` → the operation's answer.
#[tauri::command]
pub async fn operation(
    state: tauri::State<'_, ReplayDesk>,
    request: Request<'_>,
) -> Result<Value, ErrorBody> {
    let InvokeBody::Json(Value::Object(mut args)) = request.body().clone() else {
        return Err(ServiceError::BadRequest(
            "operation: the arguments must be a JSON object".into(),
        )
        .into());
    };
    let name = match args.remove("name") {
        Some(Value::String(n)) => n,
        _ => {
            return Err(
                ServiceError::BadRequest("name: missing (the operation's name)".into()).into(),
            )
        }
    };
    let query = args.remove("query");
    let body = args.remove("body");
    let ipc = IpcArgs {
        params: args,
        query,
        body,
    };
    let actor = replaydesk_service::Actor::desktop();
    debug_assert_eq!(actor.name, ACTOR);
    Ok(dispatch(&state, &name, ipc, &actor).await?)
}
