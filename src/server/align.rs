//! Alignment, reconcile and export of a class (admin).

use super::auth::Admin;
use super::error::{ApiResult, ErrorBody};
use super::extract::PathParam;
use crate::align::Alignment;
use crate::service::ReplayDesk;
use axum::extract::State;
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
