//! Alignment, reconcile and export of a class (admin).

use super::auth::Admin;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonOf, PathParam};
use crate::service::reconcile::{ReconcileRequest, ReconcileRun};
use crate::service::{ClassBundle, ClassSummary, ReplayDesk};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use replaydesk_align::Alignment;

/// `GET /v1/admin/classes/{class_id}/alignment` → [`Alignment`].
#[utoipa::path(get, path = "/v1/admin/classes/{class_id}/alignment", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, description = "the class's alignment (type `Alignment` in ui/src/bindings)", content_type = "application/json"), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody)))]
pub async fn class_alignment(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<Alignment>> {
    Ok(Json(desk.class_alignment(&class_id).await?))
}

/// `GET /v1/admin/classes/{class_id}/export` → the class as one JSON bundle without secrets.
#[utoipa::path(get, path = "/v1/admin/classes/{class_id}/export", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, description = "the class, members, messages, attempts, group history and alignment, without secrets (type `ClassBundle` in ui/src/bindings)", content_type = "application/json"), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody)))]
pub async fn export_class(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<ClassBundle>> {
    Ok(Json(desk.export_class(&class_id).await?))
}

/// `POST /v1/admin/classes/{class_id}/reconcile` `{"restart"?, "pages_per_second"?}` →
/// 202 with the run (fetching goes on in the background; resumes an unfinished run).
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/reconcile", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), request_body(content_type = "application/json", description = "`{restart?: boolean, pages_per_second?: number}` (type `ReconcileRequest` in ui/src/bindings)"), responses((status = 202, description = "the run: fetching goes on in the background, resuming an unfinished run (type `ReconcileRun`)", content_type = "application/json"), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody)))]
pub async fn reconcile_class(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(class_id): PathParam<String>,
    JsonOf(body): JsonOf<ReconcileRequest>,
) -> ApiResult<(StatusCode, Json<ReconcileRun>)> {
    let run = desk.reconcile_class(&class_id, body, &admin.actor).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

/// `GET /v1/admin/classes/{class_id}/reconcile` → the latest run with its progress and
/// report (`null` before the first).
#[utoipa::path(get, path = "/v1/admin/classes/{class_id}/reconcile", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, description = "the latest run with its progress and report, or null (type `ReconcileRun`)", content_type = "application/json"), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody)))]
pub async fn class_reconcile(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<Option<ReconcileRun>>> {
    Ok(Json(desk.reconcile_status(&class_id).await?))
}

/// Largest bundle `POST /v1/admin/import` reads (far above `max_body_bytes`: a class of
/// 100,000 messages exports to about 60 MB). Admin only.
pub const MAX_BUNDLE_BYTES: usize = 512 * 1024 * 1024;

/// The import route's path (its body cap is [`MAX_BUNDLE_BYTES`], not `max_body_bytes`).
pub const IMPORT_PATH: &str = "/v1/admin/import";

/// `POST /v1/admin/import` (body: a class bundle from `GET .../export`) → 201 the imported
/// class with its counts. The class becomes a read-only record (`imported_at`): never
/// delivered, resent, reconciled or reopened. A bad bundle or a class id already present
/// is refused, and nothing changes.
#[utoipa::path(post, path = "/v1/admin/import", tag = "admin", security(("admin" = [])), request_body(content_type = "application/json", description = "a class bundle as `GET /v1/admin/classes/{class_id}/export` gives it (type `ClassBundle` in ui/src/bindings), up to 512 MiB"), responses((status = 201, description = "the imported class with its counts (type `ClassSummary`), marked `imported_at`", content_type = "application/json"), (status = "4XX", description = "refused (400/422 a bad bundle, 409 the class or group exists): `{error, detail}`; nothing was imported", body = ErrorBody)))]
pub async fn import_class(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<ClassSummary>)> {
    use super::error::ApiError;
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BUNDLE_BYTES)
        .await
        .map_err(|e| {
            ApiError::bad_request(format!(
                "could not read the body (a bundle may be up to {MAX_BUNDLE_BYTES} bytes): {e}"
            ))
        })?;
    let checked =
        crate::service::parse_bundle(&bytes).map_err(crate::service::ServiceError::from)?;
    let summary = desk.import_checked(checked, &admin.actor).await?;
    Ok((StatusCode::CREATED, Json(summary)))
}
