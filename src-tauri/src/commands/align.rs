//! The twins of the alignment, reconcile and export admin routes: each calls the same
//! library function as its HTTP route, and errors read like the HTTP error body.

use replaydesk::align::Alignment;
use replaydesk::server::error::ApiError;
use replaydesk::service::ReplayDesk;
use tauri::State;

type Desk<'a> = State<'a, ReplayDesk>;
type Answer<T> = Result<T, ApiError>;

/// `GET /v1/admin/classes/{class_id}/alignment`.
#[tauri::command]
pub async fn class_alignment(state: Desk<'_>, class_id: String) -> Answer<Alignment> {
    Ok(state.class_alignment(&class_id).await?)
}
