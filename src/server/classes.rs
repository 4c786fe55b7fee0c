//! Classes: creation (admin token) and the console's views of a class. Each handler is
//! named as its Tauri twin and calls the same [`crate::service::Console`] function.

use super::auth::Admin;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonOf, PathParam, QueryOf};
use crate::service::requests::{ClassQuery, PageQuery};
use crate::service::{
    ClassSummary, CreateClass, CreatedClass, GroupCreated, MemberCredential, ReplayDesk,
};
use crate::store::{Member, Page, TimelineReportRecord};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// `POST /v1/classes` (admin) `{"class_id","group_id","teacher_uid","create_group"?,
/// "legacy_class_token"?,"open_enrolment"?}` → 201 with the class, the teacher's
/// `teacher_credential`, and `report_token` (legacy option only).
#[utoipa::path(post, path = "/v1/classes", tag = "admin", security(("admin" = [])), request_body = CreateClass, responses((status = 201, body = CreatedClass), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn create_class(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    JsonOf(body): JsonOf<CreateClass>,
) -> ApiResult<(StatusCode, Json<CreatedClass>)> {
    let created = desk.console().create_class(body, &admin.actor).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /v1/admin/classes?q` → every class with per-status message counts.
#[utoipa::path(get, path = "/v1/admin/classes", tag = "admin", security(("admin" = [])), params(ClassQuery), responses((status = 200, body = Vec<ClassSummary>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn list_classes(
    State(desk): State<ReplayDesk>,
    _: Admin,
    QueryOf(query): QueryOf<ClassQuery>,
) -> ApiResult<Json<Vec<ClassSummary>>> {
    Ok(Json(desk.console().list_classes(query).await?))
}

/// `GET /v1/admin/classes/{class_id}`.
#[utoipa::path(get, path = "/v1/admin/classes/{class_id}", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, body = ClassSummary), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn get_class(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<ClassSummary>> {
    Ok(Json(desk.console().get_class(&class_id).await?))
}

/// `GET /v1/admin/classes/{class_id}/members`.
#[utoipa::path(get, path = "/v1/admin/classes/{class_id}/members", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, body = Vec<Member>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn class_members(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(desk.console().class_members(&class_id).await?))
}

/// `GET /v1/admin/classes/{class_id}/reports?cursor&limit` → the raw timeline reports.
#[utoipa::path(get, path = "/v1/admin/classes/{class_id}/reports", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class"), PageQuery), responses((status = 200, body = Page<TimelineReportRecord>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn class_reports(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
    QueryOf(query): QueryOf<PageQuery>,
) -> ApiResult<Json<Page<TimelineReportRecord>>> {
    Ok(Json(desk.console().class_reports(&class_id, query).await?))
}

/// `POST /v1/admin/classes/{class_id}/reopen` → the class, back to `created`: it may
/// start and end once more. 409 unless it has ended. Audited.
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/reopen", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, body = ClassSummary), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn reopen_class(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<ClassSummary>> {
    Ok(Json(
        desk.console().reopen_class(&class_id, &admin.actor).await?,
    ))
}

/// `POST /v1/admin/classes/{class_id}/create-group` → `{class_id, group_id, group_created,
/// alert_cleared, job}`: creates the class's IM group (the fix a `group_missing` alert
/// offers; one that exists is fine), clears the alert and queues again the messages that
/// failed since it. Audited.
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/create-group", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, body = GroupCreated), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn create_group(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<GroupCreated>> {
    Ok(Json(
        desk.console().create_group(&class_id, &admin.actor).await?,
    ))
}

/// `POST /v1/admin/classes/{class_id}/members/{uid}/credential` → the member's report
/// credential (a uid the class does not know is enrolled as a student).
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/members/{uid}/credential", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class"), ("uid" = String, Path)), responses((status = 200, body = MemberCredential), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn member_credential(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam((class_id, uid)): PathParam<(String, String)>,
) -> ApiResult<Json<MemberCredential>> {
    Ok(Json(
        desk.console().member_credential(&class_id, &uid).await?,
    ))
}
