//! Alignment, reconcile and export of a class (admin).

use super::auth::Admin;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonOf, PathParam};
use crate::align::Alignment;
use crate::service::reconcile::{ReconcileRequest, ReconcileRun};
use crate::service::{ClassBundle, ReplayDesk};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

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
