//! The twins of the alignment, reconcile and export admin routes: each calls the same
//! library function as its HTTP route, and errors read like the HTTP error body.

use replaydesk::align::Alignment;
use replaydesk::server::error::ApiError;
use replaydesk::service::decode::{decode, Source};
use replaydesk::service::reconcile::ReconcileRun;
use replaydesk::service::{ClassBundle, ClassSummary, ReplayDesk};
use serde_json::Value;
use tauri::State;

/// Who the audit log names for what is done in the desktop app.
const ACTOR: &str = "desktop";

type Desk<'a> = State<'a, ReplayDesk>;
type Answer<T> = Result<T, ApiError>;

/// `GET /v1/admin/classes/{class_id}/alignment`.
#[tauri::command]
pub async fn class_alignment(state: Desk<'_>, class_id: String) -> Answer<Alignment> {
    Ok(state.class_alignment(&class_id).await?)
}

/// `GET /v1/admin/classes/{class_id}/export`.
#[tauri::command]
pub async fn export_class(state: Desk<'_>, class_id: String) -> Answer<ClassBundle> {
    Ok(state.export_class(&class_id).await?)
}

/// `POST /v1/admin/classes/{class_id}/reconcile`.
#[tauri::command]
pub async fn reconcile_class(
    state: Desk<'_>,
    class_id: String,
    body: Option<Value>,
) -> Answer<ReconcileRun> {
    let req = decode(body.or(Some(Value::Null)), Source::Body)?;
    Ok(state.reconcile_class(&class_id, req, ACTOR).await?)
}

/// `GET /v1/admin/classes/{class_id}/reconcile`.
#[tauri::command]
pub async fn class_reconcile(state: Desk<'_>, class_id: String) -> Answer<Option<ReconcileRun>> {
    Ok(state.reconcile_status(&class_id).await?)
}

/// `POST /v1/admin/import` (body: the class bundle).
#[tauri::command]
pub async fn import_class(state: Desk<'_>, body: Option<Value>) -> Answer<ClassSummary> {
    Ok(state
        .import_class(body.unwrap_or(Value::Null), ACTOR)
        .await?)
}
