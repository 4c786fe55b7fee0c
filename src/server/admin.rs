//! The admin API under `/v1/admin/` (admin bearer token): messages with filters and
//! paging, one message with its attempts, resend, bulk resend, recovery, jobs, audit log,
//! alerts, and fixing the IM secret key. Every action is audited with its actor.
//!
//! Each handler is named as the Tauri command that reaches the same
//! [`crate::service::Console`] function, and decodes the same typed request.

use super::auth::Admin;
use super::error::{ApiResult, ErrorBody};
use super::extract::Body;
use super::extract::{JsonOf, PathParam, QueryOf};
use crate::service::requests::{
    AuditQuery, JobsQuery, MessageQuery, PageQuery, RecoverRequest, ResendFilter,
    ResendMessageRequest, SandboxFaults, SecretKeyRequest,
};
use crate::service::{MessageDetail, RecoverPreview, ReplayDesk, ResendOutcome, ResendPreview};
use crate::store::{Alert, AuditEntry, Job, Page, StoredMessage};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// `GET /v1/admin/classes/{class_id}/messages?...` → `{items, next_cursor}`.
#[utoipa::path(get, path = "/v1/admin/classes/{class_id}/messages", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class"), MessageQuery), responses((status = 200, body = Page<StoredMessage>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn class_messages(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
    QueryOf(query): QueryOf<MessageQuery>,
) -> ApiResult<Json<Page<StoredMessage>>> {
    Ok(Json(desk.console().class_messages(&class_id, query).await?))
}

/// `GET /v1/admin/messages?...` → `{items, next_cursor}` across classes (`class` narrows).
#[utoipa::path(get, path = "/v1/admin/messages", tag = "admin", security(("admin" = [])), params(MessageQuery), responses((status = 200, body = Page<StoredMessage>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn list_messages(
    State(desk): State<ReplayDesk>,
    _: Admin,
    QueryOf(query): QueryOf<MessageQuery>,
) -> ApiResult<Json<Page<StoredMessage>>> {
    Ok(Json(desk.console().list_messages(query).await?))
}

/// `GET /v1/admin/messages/{id}` → `{message, attempts}`.
#[utoipa::path(get, path = "/v1/admin/messages/{id}", tag = "admin", security(("admin" = [])), params(("id" = i64, Path)), responses((status = 200, body = MessageDetail), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn get_message(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<MessageDetail>> {
    Ok(Json(desk.console().get_message(id).await?))
}

/// `POST /v1/admin/messages/{id}/resend` (optional body `{"duplicate": true}`) → 202
/// `{queued, message}`. A message already `sent` is 409 without `duplicate`.
#[utoipa::path(post, path = "/v1/admin/messages/{id}/resend", tag = "admin", security(("admin" = [])), params(("id" = i64, Path)), request_body(content = Option<ResendMessageRequest>, description = "optional; `{\"duplicate\": true}` is required to resend a message already `sent` (a second copy in the group)"), responses((status = 202, body = ResendOutcome), (status = 409, description = "the message is already `sent` and `duplicate` was not given; nothing changed", body = ErrorBody), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn resend_message(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(id): PathParam<i64>,
    Body(bytes): Body,
) -> ApiResult<(StatusCode, Json<ResendOutcome>)> {
    // No body at all is the plain resend (as before the body existed).
    let body: ResendMessageRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        ResendMessageRequest::default()
    } else {
        crate::service::decode::decode_body(&bytes)?
    };
    let out = desk
        .console()
        .resend_message(id, body, &admin.actor)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// `POST /v1/admin/resend/preview` (a filter) → 200 `{count, filter}`: what a bulk resend
/// would take. Changes nothing.
#[utoipa::path(post, path = "/v1/admin/resend/preview", tag = "admin", security(("admin" = [])), request_body = ResendFilter, responses((status = 200, body = ResendPreview), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn preview_resend(
    State(desk): State<ReplayDesk>,
    _: Admin,
    JsonOf(body): JsonOf<ResendFilter>,
) -> ApiResult<Json<ResendPreview>> {
    Ok(Json(desk.console().preview_resend(body).await?))
}

/// `POST /v1/admin/resend` (a filter and `confirm_count`) → 202 with the job.
#[utoipa::path(post, path = "/v1/admin/resend", tag = "admin", security(("admin" = [])), request_body = ResendFilter, responses((status = 202, body = Job), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn bulk_resend(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    JsonOf(body): JsonOf<ResendFilter>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let job = desk.console().bulk_resend(body, &admin.actor).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// `POST /v1/admin/recover/preview` `{"since_ms","class_id"?}` → 200 `{count, since_ms,
/// class_id}`: what a recovery would take. Changes nothing.
#[utoipa::path(post, path = "/v1/admin/recover/preview", tag = "admin", security(("admin" = [])), request_body = RecoverRequest, responses((status = 200, body = RecoverPreview), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn preview_recover(
    State(desk): State<ReplayDesk>,
    _: Admin,
    JsonOf(body): JsonOf<RecoverRequest>,
) -> ApiResult<Json<RecoverPreview>> {
    Ok(Json(desk.console().preview_recover(body).await?))
}

/// `POST /v1/admin/recover` `{"since_ms","class_id"?,"confirm_count"?}` → 202 with the job
/// (409 when `confirm_count` no longer matches).
#[utoipa::path(post, path = "/v1/admin/recover", tag = "admin", security(("admin" = [])), request_body = RecoverRequest, responses((status = 202, body = Job), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn recover(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    JsonOf(body): JsonOf<RecoverRequest>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let job = desk.console().recover(body, &admin.actor).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// `GET /v1/admin/jobs?limit` → newest first.
#[utoipa::path(get, path = "/v1/admin/jobs", tag = "admin", security(("admin" = [])), params(JobsQuery), responses((status = 200, body = Vec<Job>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn list_jobs(
    State(desk): State<ReplayDesk>,
    _: Admin,
    QueryOf(query): QueryOf<JobsQuery>,
) -> ApiResult<Json<Vec<Job>>> {
    Ok(Json(desk.console().list_jobs(query).await?))
}

/// `GET /v1/admin/jobs/{id}` → the job and its progress.
#[utoipa::path(get, path = "/v1/admin/jobs/{id}", tag = "admin", security(("admin" = [])), params(("id" = i64, Path)), responses((status = 200, body = Job), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn get_job(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<Job>> {
    Ok(Json(desk.console().get_job(id).await?))
}

/// `GET /v1/admin/jobs/{id}/messages?cursor&limit` → `{items, next_cursor}`: the messages
/// the job took on, newest first, as they are now.
#[utoipa::path(get, path = "/v1/admin/jobs/{id}/messages", tag = "admin", security(("admin" = [])), params(("id" = i64, Path), PageQuery), responses((status = 200, body = Page<StoredMessage>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn job_messages(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(id): PathParam<i64>,
    QueryOf(query): QueryOf<PageQuery>,
) -> ApiResult<Json<Page<StoredMessage>>> {
    Ok(Json(desk.console().job_messages(id, query).await?))
}

/// `GET /v1/admin/audit?cursor&limit&action&target` → `{items, next_cursor}`, newest
/// first; `action` exactly, `target` by its start.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", security(("admin" = [])), params(AuditQuery), responses((status = 200, body = Page<AuditEntry>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn list_audit(
    State(desk): State<ReplayDesk>,
    _: Admin,
    QueryOf(query): QueryOf<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    Ok(Json(desk.console().list_audit(query).await?))
}

/// `GET /v1/admin/alerts` → the open alerts.
#[utoipa::path(get, path = "/v1/admin/alerts", tag = "admin", security(("admin" = [])), responses((status = 200, body = Vec<Alert>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn list_alerts(State(desk): State<ReplayDesk>, _: Admin) -> ApiResult<Json<Vec<Alert>>> {
    Ok(Json(desk.console().list_alerts().await?))
}

/// `PUT /v1/admin/im/secret-key` `{"secret_key"}` → 204; sending resumes.
#[utoipa::path(put, path = "/v1/admin/im/secret-key", tag = "admin", security(("admin" = [])), request_body = SecretKeyRequest, responses((status = 204, description = "taken; sending resumes"), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn set_secret_key(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    JsonOf(body): JsonOf<SecretKeyRequest>,
) -> ApiResult<StatusCode> {
    desk.console().set_secret_key(body, &admin.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/admin/sandbox/faults` → the sandbox emulator's fault knobs now in force.
#[utoipa::path(put, path = "/v1/admin/sandbox/faults", tag = "admin", security(("admin" = [])), request_body = SandboxFaults, responses((status = 200, body = SandboxFaults), (status = "4XX", description = "refused: `{error, detail}` (409: not in sandbox mode)", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn set_sandbox_faults(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    JsonOf(body): JsonOf<SandboxFaults>,
) -> ApiResult<Json<SandboxFaults>> {
    Ok(Json(
        desk.console()
            .set_sandbox_faults(body, &admin.actor)
            .await?,
    ))
}
