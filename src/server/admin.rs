//! The admin API under `/v1/admin/` (admin bearer token): messages with filters and
//! paging, one message with its attempts, resend, bulk resend, recovery, jobs, audit log,
//! alerts, and fixing the IM secret key. Every action is audited with its actor.

use super::auth::Admin;
use super::error::{ApiError, ApiResult};
use super::extract::{query_pairs, Body, Fields, PathParam};
use crate::protocol::MessageType;
use crate::secret::Secret;
use crate::service::{MessageDetail, ReplayDesk, ResendOutcome, DEFAULT_PAGE, MAX_PAGE};
use crate::store::{Alert, AuditEntry, Job, MessageFilter, MessageStatus, Page, StoredMessage};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::Json;

fn parse_i64(key: &str, v: &str) -> ApiResult<i64> {
    v.trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{key}: must be an integer, got {v:?}")))
}

fn parse_limit(v: &str) -> ApiResult<u32> {
    match v.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "limit: must be between 1 and {MAX_PAGE}, got {v:?}"
        ))),
    }
}

fn parse_status(key: &str, v: &str) -> ApiResult<MessageStatus> {
    MessageStatus::parse(v.trim()).ok_or_else(|| {
        let all: Vec<&str> = MessageStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::bad_request(format!(
            "{key}: unknown status {v:?} (one of {})",
            all.join(", ")
        ))
    })
}

/// A message type by code (`1003`) or name (`timeline`).
fn parse_type(key: &str, v: &str) -> ApiResult<MessageType> {
    let v = v.trim();
    let by_code = v.parse::<i64>().ok().and_then(MessageType::from_code);
    let by_name =
        || serde_json::from_value::<MessageType>(serde_json::Value::String(v.into())).ok();
    by_code.or_else(by_name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{key}: unknown message type {v:?} (1001..1004, or class_start, class_end, timeline, recording)"
        ))
    })
}

fn parse_bool(key: &str, v: &str) -> ApiResult<bool> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{key}: must be true or false, got {v:?}"
        ))),
    }
}

/// Keys that may be given once only.
fn once<'a>(seen: &mut Vec<&'a str>, key: &'a str) -> ApiResult<()> {
    if seen.contains(&key) {
        return Err(ApiError::bad_request(format!(
            "{key}: given more than once"
        )));
    }
    seen.push(key);
    Ok(())
}

/// `cursor` and `limit` (and nothing else).
pub fn parse_page(pairs: &[(String, String)]) -> ApiResult<(Option<i64>, u32)> {
    let mut cursor = None;
    let mut limit = DEFAULT_PAGE;
    let mut seen = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "cursor" => {
                once(&mut seen, "cursor")?;
                cursor = Some(parse_i64("cursor", v)?);
            }
            "limit" => {
                once(&mut seen, "limit")?;
                limit = parse_limit(v)?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "{other}: unknown query parameter (cursor, limit)"
                )))
            }
        }
    }
    Ok((cursor, limit))
}

/// The message listing's query: `status` (repeatable, or a comma list), `type` (same),
/// `uid`, `from`, `to` (created, unix ms), `updated_from`, `retried`, `q` (text in Data),
/// `cursor`, `limit`, and `class` when the path names no class.
pub fn parse_message_query(
    pairs: &[(String, String)],
    class_id: Option<String>,
) -> ApiResult<(MessageFilter, Option<i64>, u32)> {
    let class_in_path = class_id.is_some();
    let mut f = MessageFilter {
        class_id,
        ..MessageFilter::default()
    };
    let mut cursor = None;
    let mut limit = DEFAULT_PAGE;
    let mut seen = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "status" => {
                for s in v.split(',').filter(|s| !s.trim().is_empty()) {
                    let s = parse_status("status", s)?;
                    if !f.statuses.contains(&s) {
                        f.statuses.push(s);
                    }
                }
            }
            "type" => {
                for t in v.split(',').filter(|s| !s.trim().is_empty()) {
                    let t = parse_type("type", t)?;
                    if !f.types.contains(&t) {
                        f.types.push(t);
                    }
                }
            }
            "uid" => {
                once(&mut seen, "uid")?;
                f.uid = Some(v.clone());
            }
            "class" if !class_in_path => {
                once(&mut seen, "class")?;
                f.class_id = Some(v.clone());
            }
            "from" => {
                once(&mut seen, "from")?;
                f.created_from = Some(parse_i64("from", v)?);
            }
            "to" => {
                once(&mut seen, "to")?;
                f.created_to = Some(parse_i64("to", v)?);
            }
            "updated_from" => {
                once(&mut seen, "updated_from")?;
                f.updated_from = Some(parse_i64("updated_from", v)?);
            }
            "retried" => {
                once(&mut seen, "retried")?;
                f.retried = Some(parse_bool("retried", v)?);
            }
            "q" => {
                once(&mut seen, "q")?;
                f.text = Some(v.clone()).filter(|t| !t.is_empty());
            }
            "cursor" => {
                once(&mut seen, "cursor")?;
                cursor = Some(parse_i64("cursor", v)?);
            }
            "limit" => {
                once(&mut seen, "limit")?;
                limit = parse_limit(v)?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "{other}: unknown query parameter (status, type, uid, from, to, updated_from, retried, q, cursor, limit{})",
                    if class_in_path { "" } else { ", class" }
                )))
            }
        }
    }
    Ok((f, cursor, limit))
}

/// A bulk-resend filter body (the `MessageFilter` fields; unknown fields refused, and an
/// empty filter refused: it would resend every message ever sent).
pub fn parse_filter_body(bytes: &[u8]) -> ApiResult<MessageFilter> {
    let mut b = Fields::parse(bytes)?;
    let mut f = MessageFilter {
        class_id: b.opt_str("class_id")?,
        ..MessageFilter::default()
    };
    for s in b.opt_list("statuses")? {
        f.statuses
            .push(parse_status("statuses", &s).map_err(|e| ApiError::invalid(e.detail))?);
    }
    for t in b.opt_list("types")? {
        f.types
            .push(parse_type("types", &t).map_err(|e| ApiError::invalid(e.detail))?);
    }
    f.uid = b.opt_str("uid")?;
    f.created_from = b.opt_int("created_from")?;
    f.created_to = b.opt_int("created_to")?;
    f.updated_from = b.opt_int("updated_from")?;
    f.retried = b.opt_bool("retried")?;
    f.text = b.opt_str("text")?.filter(|t| !t.is_empty());
    b.deny_unknown()?;
    if f == MessageFilter::default() {
        return Err(ApiError::invalid(
            "filter: empty; it would resend every message. Narrow it (e.g. \"statuses\": [\"failed\"])",
        ));
    }
    Ok(f)
}

/// `GET /v1/admin/classes/{class_id}/messages?...` → `{items, next_cursor}`.
pub async fn class_messages(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(class_id): PathParam<String>,
    uri: Uri,
) -> ApiResult<Json<Page<StoredMessage>>> {
    let (filter, cursor, limit) = parse_message_query(&query_pairs(&uri)?, Some(class_id))?;
    Ok(Json(desk.list_messages(&filter, cursor, limit).await?))
}

/// `GET /v1/admin/messages?...` → `{items, next_cursor}` across classes (`class` narrows).
pub async fn messages(
    State(desk): State<ReplayDesk>,
    _: Admin,
    uri: Uri,
) -> ApiResult<Json<Page<StoredMessage>>> {
    let (filter, cursor, limit) = parse_message_query(&query_pairs(&uri)?, None)?;
    Ok(Json(desk.list_messages(&filter, cursor, limit).await?))
}

/// `GET /v1/admin/messages/{id}` → `{message, attempts}`.
pub async fn message(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<MessageDetail>> {
    Ok(Json(desk.message(id).await?))
}

/// `POST /v1/admin/messages/{id}/resend` → 202 `{queued, message}`.
pub async fn resend(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    PathParam(id): PathParam<i64>,
) -> ApiResult<(StatusCode, Json<ResendOutcome>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(desk.resend(id, &admin.actor).await?),
    ))
}

/// `POST /v1/admin/resend` (a filter) → 202 with the job.
pub async fn bulk_resend(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let filter = parse_filter_body(&body)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(desk.bulk_resend(filter, &admin.actor).await?),
    ))
}

/// `POST /v1/admin/recover` `{"since_ms","class_id"?}` → 202 with the job.
pub async fn recover(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let mut f = Fields::parse(&body)?;
    let since_ms = f.int("since_ms")?;
    let class_id = f.opt_str("class_id")?;
    f.deny_unknown()?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            desk.recover_failed_since(since_ms, class_id, &admin.actor)
                .await?,
        ),
    ))
}

/// `GET /v1/admin/jobs?limit` → newest first.
pub async fn jobs(State(desk): State<ReplayDesk>, _: Admin, uri: Uri) -> ApiResult<Json<Vec<Job>>> {
    let (cursor, limit) = parse_page(&query_pairs(&uri)?)?;
    if cursor.is_some() {
        return Err(ApiError::bad_request("cursor: not supported on jobs"));
    }
    Ok(Json(desk.jobs(limit).await?))
}

/// `GET /v1/admin/jobs/{id}` → the job and its progress.
pub async fn job(
    State(desk): State<ReplayDesk>,
    _: Admin,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<Job>> {
    Ok(Json(desk.job(id).await?))
}

/// `GET /v1/admin/audit?cursor&limit` → `{items, next_cursor}`, newest first.
pub async fn audit(
    State(desk): State<ReplayDesk>,
    _: Admin,
    uri: Uri,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let (cursor, limit) = parse_page(&query_pairs(&uri)?)?;
    Ok(Json(desk.audit_log(cursor, limit).await?))
}

/// `GET /v1/admin/alerts` → the open alerts.
pub async fn alerts(State(desk): State<ReplayDesk>, _: Admin) -> ApiResult<Json<Vec<Alert>>> {
    Ok(Json(desk.alerts().await?))
}

/// `PUT /v1/admin/im/secret-key` `{"secret_key"}` → 204; sending resumes.
pub async fn secret_key(
    State(desk): State<ReplayDesk>,
    admin: Admin,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    let mut f = Fields::parse(&body)?;
    let key = f.str("secret_key")?;
    f.deny_unknown()?;
    desk.update_secret_key(Secret::new(key), &admin.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn message_query() {
        let (f, c, l) = parse_message_query(
            &pairs(&[
                ("status", "failed,retrying"),
                ("status", "failed"),
                ("type", "1003"),
                ("type", "class_start"),
                ("uid", "u1"),
                ("from", "10"),
                ("to", "20"),
                ("retried", "true"),
                ("q", "50%"),
                ("cursor", "99"),
                ("limit", "5"),
            ]),
            Some("c1".into()),
        )
        .unwrap();
        assert_eq!(f.statuses, [MessageStatus::Failed, MessageStatus::Retrying]);
        assert_eq!(f.types, [MessageType::Timeline, MessageType::ClassStart]);
        assert_eq!(f.class_id.as_deref(), Some("c1"));
        assert_eq!(
            (f.created_from, f.created_to, f.retried),
            (Some(10), Some(20), Some(true))
        );
        assert_eq!(f.text.as_deref(), Some("50%"));
        assert_eq!((c, l), (Some(99), 5));
        for bad in [
            ("status", "lost"),
            ("type", "1005"),
            ("limit", "0"),
            ("limit", "1001"),
            ("from", "x"),
            ("retried", "maybe"),
            ("class", "c2"),
            ("nope", "1"),
        ] {
            let e = parse_message_query(&pairs(&[bad]), Some("c1".into())).unwrap_err();
            assert!(e.detail.starts_with(bad.0), "{bad:?}: {}", e.detail);
        }
        assert!(parse_message_query(&pairs(&[("uid", "a"), ("uid", "b")]), None).is_err());
    }

    #[test]
    fn filter_body() {
        let f = parse_filter_body(
            br#"{"class_id":"c1","statuses":["failed"],"types":[1003,"class_end"]}"#,
        )
        .unwrap();
        assert_eq!(f.statuses, [MessageStatus::Failed]);
        assert_eq!(f.types, [MessageType::Timeline, MessageType::ClassEnd]);
        assert!(parse_filter_body(b"{}")
            .unwrap_err()
            .detail
            .starts_with("filter"));
        assert!(parse_filter_body(br#"{"statuss":["failed"]}"#)
            .unwrap_err()
            .detail
            .starts_with("statuss"));
        assert!(parse_filter_body(br#"{"statuses":["gone"]}"#).is_err());
    }
}
