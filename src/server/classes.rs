//! Classes: creation (admin token) and the console's views of a class. Each handler is
//! named as its Tauri twin and calls the same [`crate::service::Console`] function.

use super::auth::Admin;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonOf, PathParam, QueryOf};
use crate::service::requests::{AddMembers, ClassQuery, IssueCredentials, PageQuery};
use crate::service::{
    ClassSummary, CreateClass, CreatedClass, GroupCreated, JoinSheet, MemberCredential, ReplayDesk,
};
use crate::store::{AddedMembers, Page, RosterMember, TimelineReportRecord};
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

/// `GET /v1/admin/classes/{class_id}/members` → the roster: each member with its
/// credential's generation, when it was issued and whether it is revoked (never the
/// credential itself).
#[utoipa::path(get, path = "/v1/admin/classes/{class_id}/members", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, body = Vec<RosterMember>), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn class_members(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<Vec<RosterMember>>> {
    Ok(Json(desk.console().class_members(&class_id).await?))
}

/// `POST /v1/admin/classes/{class_id}/members` `{"uids": [...]}` → `{class_id, added,
/// existing}`: registers the roster before anyone reports (1 to 1000 uids, each checked
/// before any is added). Audited (`add_members`).
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/members", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), request_body = AddMembers, responses((status = 200, body = AddedMembers), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn add_members(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(class_id): PathParam<String>,
    JsonOf(body): JsonOf<AddMembers>,
) -> ApiResult<Json<AddedMembers>> {
    Ok(Json(
        desk.console()
            .add_members(&class_id, body, &admin.actor)
            .await?,
    ))
}

/// `POST /v1/admin/classes/{class_id}/members/{uid}/revoke` → the member: its reports are
/// refused until a credential is issued again. 404 not a member; 409 revoked already.
/// Audited (`revoke_credential`).
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/members/{uid}/revoke", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class"), ("uid" = String, Path)), responses((status = 200, body = RosterMember), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn revoke_credential(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam((class_id, uid)): PathParam<(String, String)>,
) -> ApiResult<Json<RosterMember>> {
    Ok(Json(
        desk.console()
            .revoke_credential(&class_id, &uid, &admin.actor)
            .await?,
    ))
}

/// `POST /v1/admin/classes/{class_id}/credentials` `{"uids"?, "server_url"?}` → the join
/// sheet: a new credential for each member named (default: every student), with its join
/// text and QR code. Each member's earlier credential is refused from then on; each issue
/// is audited (`issue_credential`). The answer is the only place these credentials appear.
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/credentials", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), request_body = IssueCredentials, responses((status = 200, body = JoinSheet), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn issue_credentials(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(class_id): PathParam<String>,
    JsonOf(body): JsonOf<IssueCredentials>,
) -> ApiResult<Json<JoinSheet>> {
    Ok(Json(
        desk.console()
            .issue_credentials(&class_id, body, &admin.actor)
            .await?,
    ))
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

/// `POST /v1/admin/classes/{class_id}/end` → the class, ended: a 1002 on the teacher's
/// behalf, stamped with the teacher's clock by their newest timeline pair. 409 unless the
/// class has started, or when the teacher never reported a pair. Audited (`end_class`).
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/end", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class")), responses((status = 200, body = ClassSummary), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn end_class(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(class_id): PathParam<String>,
) -> ApiResult<Json<ClassSummary>> {
    Ok(Json(
        desk.console().end_class(&class_id, &admin.actor).await?,
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

/// `POST /v1/admin/classes/{class_id}/members/{uid}/credential` → a new report credential
/// for the member (a uid the class does not know is enrolled as a student); its earlier
/// one is refused from now on. Audited (`issue_credential`).
#[utoipa::path(post, path = "/v1/admin/classes/{class_id}/members/{uid}/credential", tag = "admin", security(("admin" = [])), params(("class_id" = String, Path, description = "the class"), ("uid" = String, Path)), responses((status = 200, body = MemberCredential), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn member_credential(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam((class_id, uid)): PathParam<(String, String)>,
) -> ApiResult<Json<MemberCredential>> {
    Ok(Json(
        desk.console()
            .member_credential(&class_id, &uid, &admin.actor)
            .await?,
    ))
}
