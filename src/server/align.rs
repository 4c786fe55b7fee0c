//! Alignment, reconcile and export of a class (admin).

use super::auth::Admin;
use super::error::ApiResult;
use super::extract::PathParam;
use crate::align::Alignment;
use crate::service::ReplayDesk;
use axum::extract::State;
use axum::Json;

/// `GET /v1/admin/classes/{class_id}/alignment` → [`Alignment`].
pub async fn class_alignment(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<Alignment>> {
    Ok(Json(desk.class_alignment(&class_id).await?))
}
