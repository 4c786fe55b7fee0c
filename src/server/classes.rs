//! Classes: creation (admin token) and the console's views of a class.

use super::admin::parse_page;
use super::auth::Admin;
use super::error::ApiResult;
use super::extract::{query_pairs, Body, Fields, PathParam};
use crate::service::{ClassSummary, CreateClass, CreatedClass, MemberCredential, ReplayDesk};
use crate::store::{Member, Page, TimelineReportRecord};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::Json;

/// `POST /v1/classes` (admin) `{"class_id","group_id","teacher_uid","create_group"?,
/// "legacy_class_token"?,"open_enrolment"?}` → 201 with the class, the teacher's
/// `teacher_credential`, and `report_token` (legacy option only).
pub async fn create(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<CreatedClass>)> {
    let mut f = Fields::parse(&body)?;
    let req = CreateClass {
        class_id: f.str("class_id")?,
        group_id: f.str("group_id")?,
        teacher_uid: f.str("teacher_uid")?,
        create_group: f.opt_bool("create_group")?.unwrap_or(false),
        legacy_class_token: f.opt_bool("legacy_class_token")?.unwrap_or(false),
        open_enrolment: f.opt_bool("open_enrolment")?.unwrap_or(false),
    };
    f.deny_unknown()?;
    let created = desk.create_class(req, &admin.actor).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /v1/admin/classes` → every class with per-status message counts.
pub async fn list(State(desk): State<ReplayDesk>, _: Admin) -> ApiResult<Json<Vec<ClassSummary>>> {
    Ok(Json(desk.list_classes().await?))
}

/// `GET /v1/admin/classes/{class_id}`.
pub async fn one(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<ClassSummary>> {
    Ok(Json(desk.class_summary(&class_id).await?))
}

/// `GET /v1/admin/classes/{class_id}/members`.
pub async fn members(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(desk.members(&class_id).await?))
}

/// `GET /v1/admin/classes/{class_id}/reports?cursor&limit` → the raw timeline reports.
pub async fn reports(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
    uri: Uri,
) -> ApiResult<Json<Page<TimelineReportRecord>>> {
    let (cursor, limit) = parse_page(&query_pairs(&uri)?)?;
    Ok(Json(desk.timeline_reports(&class_id, cursor, limit).await?))
}

/// `POST /v1/admin/classes/{class_id}/members/{uid}/credential` → the member's report
/// credential (a uid the class does not know is enrolled as a student).
pub async fn member_credential(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam((class_id, uid)): PathParam<(String, String)>,
) -> ApiResult<Json<MemberCredential>> {
    Ok(Json(desk.member_credential(&class_id, &uid).await?))
}
