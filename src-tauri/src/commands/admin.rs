//! The twins of the admin HTTP routes: one command per route, named as the route's axum
//! handler, calling the same [`replaydesk::service::Console`] function with the same typed
//! request. The `query` / `body` arguments are the HTTP query's / body's fields as a JSON
//! object; they are decoded by the library (not by Tauri) so that a bad field is refused
//! with the same `{"error","detail"}` as over HTTP, naming the field.
//!
//! No token: the desktop app is its admin's own machine. Actions are audited as
//! [`ACTOR`].

use replaydesk::server::error::ApiError;
use replaydesk::service::decode::{decode, Source};
use replaydesk::service::{
    AssignedCallback, ClassSummary, CreatedClass, GroupCreated, JoinSheet, MemberCredential,
    MessageDetail, RecoverPreview, ReplayDesk, ResendOutcome, ResendPreview, UnassignedCallback,
};
use replaydesk::store::{
    AddedMembers, Alert, AuditEntry, Job, Page, RecordingCallbackRecord, RosterMember,
    StoredMessage, TimelineReportRecord,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tauri::State;

/// Who the audit log names for what is done in the desktop app.
pub const ACTOR: &str = "desktop";

type Desk<'a> = State<'a, ReplayDesk>;
type Answer<T> = Result<T, ApiError>;

fn query<T: DeserializeOwned>(v: Option<Value>) -> Answer<T> {
    Ok(decode(v, Source::Query)?)
}

fn body<T: DeserializeOwned>(v: Option<Value>) -> Answer<T> {
    Ok(decode(v.or(Some(Value::Null)), Source::Body)?)
}

/// `POST /v1/classes`.
#[tauri::command]
pub async fn create_class(state: Desk<'_>, body: Option<Value>) -> Answer<CreatedClass> {
    let req = self::body(body)?;
    Ok(state.console().create_class(req, ACTOR).await?)
}

/// `GET /v1/admin/classes`.
#[tauri::command]
pub async fn list_classes(state: Desk<'_>, query: Option<Value>) -> Answer<Vec<ClassSummary>> {
    Ok(state.console().list_classes(self::query(query)?).await?)
}

/// `GET /v1/admin/classes/{class_id}`.
#[tauri::command]
pub async fn get_class(state: Desk<'_>, class_id: String) -> Answer<ClassSummary> {
    Ok(state.console().get_class(&class_id).await?)
}

/// `POST /v1/admin/classes/{class_id}/create-group`.
#[tauri::command]
pub async fn create_group(state: Desk<'_>, class_id: String) -> Answer<GroupCreated> {
    Ok(state.console().create_group(&class_id, ACTOR).await?)
}

/// `POST /v1/admin/classes/{class_id}/reopen`.
#[tauri::command]
pub async fn reopen_class(state: Desk<'_>, class_id: String) -> Answer<ClassSummary> {
    Ok(state.console().reopen_class(&class_id, ACTOR).await?)
}

/// `POST /v1/admin/classes/{class_id}/end`.
#[tauri::command]
pub async fn end_class(state: Desk<'_>, class_id: String) -> Answer<ClassSummary> {
    Ok(state.console().end_class(&class_id, ACTOR).await?)
}

/// `GET /v1/admin/classes/{class_id}/members`.
#[tauri::command]
pub async fn class_members(state: Desk<'_>, class_id: String) -> Answer<Vec<RosterMember>> {
    Ok(state.console().class_members(&class_id).await?)
}

/// `POST /v1/admin/classes/{class_id}/members`.
#[tauri::command]
pub async fn add_members(
    state: Desk<'_>,
    class_id: String,
    body: Option<Value>,
) -> Answer<AddedMembers> {
    let req = self::body(body)?;
    Ok(state.console().add_members(&class_id, req, ACTOR).await?)
}

/// `POST /v1/admin/classes/{class_id}/members/{uid}/revoke`.
#[tauri::command]
pub async fn revoke_credential(
    state: Desk<'_>,
    class_id: String,
    uid: String,
) -> Answer<RosterMember> {
    Ok(state
        .console()
        .revoke_credential(&class_id, &uid, ACTOR)
        .await?)
}

/// `POST /v1/admin/classes/{class_id}/credentials`.
#[tauri::command]
pub async fn issue_credentials(
    state: Desk<'_>,
    class_id: String,
    body: Option<Value>,
) -> Answer<JoinSheet> {
    let req = self::body(body)?;
    Ok(state
        .console()
        .issue_credentials(&class_id, req, ACTOR)
        .await?)
}

/// `POST /v1/admin/classes/{class_id}/members/{uid}/credential`.
#[tauri::command]
pub async fn member_credential(
    state: Desk<'_>,
    class_id: String,
    uid: String,
) -> Answer<MemberCredential> {
    Ok(state
        .console()
        .member_credential(&class_id, &uid, ACTOR)
        .await?)
}

/// `GET /v1/admin/classes/{class_id}/reports`.
#[tauri::command]
pub async fn class_reports(
    state: Desk<'_>,
    class_id: String,
    query: Option<Value>,
) -> Answer<Page<TimelineReportRecord>> {
    let q = self::query(query)?;
    Ok(state.console().class_reports(&class_id, q).await?)
}

/// `GET /v1/admin/classes/{class_id}/messages`.
#[tauri::command]
pub async fn class_messages(
    state: Desk<'_>,
    class_id: String,
    query: Option<Value>,
) -> Answer<Page<StoredMessage>> {
    let q = self::query(query)?;
    Ok(state.console().class_messages(&class_id, q).await?)
}

/// `GET /v1/admin/messages`.
#[tauri::command]
pub async fn list_messages(state: Desk<'_>, query: Option<Value>) -> Answer<Page<StoredMessage>> {
    Ok(state.console().list_messages(self::query(query)?).await?)
}

/// `GET /v1/admin/messages/{id}`.
#[tauri::command]
pub async fn get_message(state: Desk<'_>, id: i64) -> Answer<MessageDetail> {
    Ok(state.console().get_message(id).await?)
}

/// `POST /v1/admin/messages/{id}/resend` (the body is optional, as over HTTP).
#[tauri::command]
pub async fn resend_message(
    state: Desk<'_>,
    id: i64,
    body: Option<Value>,
) -> Answer<ResendOutcome> {
    let req = match body {
        None | Some(Value::Null) => Default::default(),
        b => self::body(b)?,
    };
    Ok(state.console().resend_message(id, req, ACTOR).await?)
}

/// `POST /v1/admin/resend/preview`.
#[tauri::command]
pub async fn preview_resend(state: Desk<'_>, body: Option<Value>) -> Answer<ResendPreview> {
    let req = self::body(body)?;
    Ok(state.console().preview_resend(req).await?)
}

/// `POST /v1/admin/resend`.
#[tauri::command]
pub async fn bulk_resend(state: Desk<'_>, body: Option<Value>) -> Answer<Job> {
    let req = self::body(body)?;
    Ok(state.console().bulk_resend(req, ACTOR).await?)
}

/// `POST /v1/admin/recover/preview`.
#[tauri::command]
pub async fn preview_recover(state: Desk<'_>, body: Option<Value>) -> Answer<RecoverPreview> {
    let req = self::body(body)?;
    Ok(state.console().preview_recover(req).await?)
}

/// `POST /v1/admin/recover`.
#[tauri::command]
pub async fn recover(state: Desk<'_>, body: Option<Value>) -> Answer<Job> {
    let req = self::body(body)?;
    Ok(state.console().recover(req, ACTOR).await?)
}

/// `GET /v1/admin/jobs`.
#[tauri::command]
pub async fn list_jobs(state: Desk<'_>, query: Option<Value>) -> Answer<Vec<Job>> {
    Ok(state.console().list_jobs(self::query(query)?).await?)
}

/// `GET /v1/admin/jobs/{id}`.
#[tauri::command]
pub async fn get_job(state: Desk<'_>, id: i64) -> Answer<Job> {
    Ok(state.console().get_job(id).await?)
}

/// `GET /v1/admin/jobs/{id}/messages`.
#[tauri::command]
pub async fn job_messages(
    state: Desk<'_>,
    id: i64,
    query: Option<Value>,
) -> Answer<Page<StoredMessage>> {
    let q = self::query(query)?;
    Ok(state.console().job_messages(id, q).await?)
}

/// `GET /v1/admin/audit`.
#[tauri::command]
pub async fn list_audit(state: Desk<'_>, query: Option<Value>) -> Answer<Page<AuditEntry>> {
    Ok(state.console().list_audit(self::query(query)?).await?)
}

/// `GET /v1/admin/alerts`.
#[tauri::command]
pub async fn list_alerts(state: Desk<'_>) -> Answer<Vec<Alert>> {
    Ok(state.console().list_alerts().await?)
}

/// `GET /v1/admin/callbacks`.
#[tauri::command]
pub async fn list_callbacks(
    state: Desk<'_>,
    query: Option<Value>,
) -> Answer<Page<RecordingCallbackRecord>> {
    Ok(state.console().list_callbacks(self::query(query)?).await?)
}

/// `GET /v1/admin/callbacks/{id}`.
#[tauri::command]
pub async fn get_callback(state: Desk<'_>, id: i64) -> Answer<RecordingCallbackRecord> {
    Ok(state.console().get_callback(id).await?)
}

/// `POST /v1/admin/callbacks/{id}/assign`.
#[tauri::command]
pub async fn assign_callback(
    state: Desk<'_>,
    id: i64,
    body: Option<Value>,
) -> Answer<AssignedCallback> {
    let req = self::body(body)?;
    Ok(state.console().assign_callback(id, req, ACTOR).await?)
}

/// `POST /v1/admin/callbacks/{id}/unassign`.
#[tauri::command]
pub async fn unassign_callback(state: Desk<'_>, id: i64) -> Answer<UnassignedCallback> {
    Ok(state.console().unassign_callback(id, ACTOR).await?)
}

/// `PUT /v1/admin/im/secret-key`.
#[tauri::command]
pub async fn set_secret_key(state: Desk<'_>, body: Option<Value>) -> Answer<()> {
    let req = self::body(body)?;
    Ok(state.console().set_secret_key(req, ACTOR).await?)
}

/// `PUT /v1/admin/sandbox/faults`.
#[tauri::command]
pub async fn set_sandbox_faults(
    state: Desk<'_>,
    body: Option<Value>,
) -> Answer<replaydesk::service::requests::SandboxFaults> {
    let req = self::body(body)?;
    Ok(state.console().set_sandbox_faults(req, ACTOR).await?)
}
