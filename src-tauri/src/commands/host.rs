//! Host mode: the teacher creates or opens a class, starts it (1001 + the teacher's 1003
//! on this machine's native clock), watches its delivery and ends it (1002). Thin wrappers
//! over [`replaydesk_host::Host`].

use super::ErrorBody;
use replaydesk_host::{Host, HostStarted, HostStatus, JoinInfo};
use replaydesk_service::{ClassSummary, CreateClass, CreatedClass};

/// Creates a class taught from this machine (`POST /v1/classes`' library call).
#[tauri::command]
pub async fn host_create_class(
    state: tauri::State<'_, Host>,
    body: CreateClass,
) -> Result<CreatedClass, ErrorBody> {
    Ok(state.create_class(body).await?)
}

/// The classes a teacher can open.
#[tauri::command]
pub async fn host_list_classes(
    state: tauri::State<'_, Host>,
) -> Result<Vec<ClassSummary>, ErrorBody> {
    Ok(state.desk().list_classes().await?)
}

/// Start: sends the 1001 and the teacher's 1003.
#[tauri::command]
pub async fn host_start_class(
    state: tauri::State<'_, Host>,
    class_id: String,
) -> Result<HostStarted, ErrorBody> {
    Ok(state.start(&class_id).await?)
}

/// End: sends the 1002. Returns its message id.
#[tauri::command]
pub async fn host_end_class(
    state: tauri::State<'_, Host>,
    class_id: String,
) -> Result<i64, ErrorBody> {
    Ok(state.end(&class_id).await?)
}

/// Counts, last error, clock events and join info of one class.
#[tauri::command]
pub async fn host_status(
    state: tauri::State<'_, Host>,
    class_id: String,
) -> Result<HostStatus, ErrorBody> {
    Ok(state.status(&class_id).await?)
}

/// What a student's client needs to join: server URL, class id and, with `uid`, that
/// student's own report credential (as text and QR code).
#[tauri::command]
pub async fn host_join_info(
    state: tauri::State<'_, Host>,
    class_id: String,
    uid: Option<String>,
) -> Result<JoinInfo, ErrorBody> {
    Ok(state.join(&class_id, uid.as_deref()).await?)
}
