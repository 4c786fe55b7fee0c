//! What classroom clients call: the server clock, timeline reports, class start and end
//! (each with the reporting member's credential).

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{bearer, Body, Fields, PathParam, ReceivedAt};
use super::kernel_rtt::ConnSocket;
use super::report_limit::ReportLimiter;
use axum::extract::{ConnectInfo, FromRequest as _, Request, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use replaydesk_service::{
    ClassEventAccepted, ClassEventReport, HeartbeatAccepted, ReplayDesk, ReportMeta,
    TimelineAccepted, TimelineReport,
};
use replaydesk_service::{ReportGrant, REPORT_MAX_BODY_BYTES};
use replaydesk_store::ClassEvent;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// `GET /v1/time` → `{"server_ms"}`.
#[utoipa::path(get, path = "/v1/time", tag = "classroom", responses((status = 200, description = "`{\"server_ms\": <unix ms>}`, for round-trip clock estimation")))]
pub async fn time(State(desk): State<ReplayDesk>) -> Json<Value> {
    Json(json!({ "server_ms": desk.server_ms() }))
}

/// Whether `path` is a report route (`/v1/classes/{class_id}/timeline|start|end|heartbeat`).
pub fn is_report_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/v1/classes/") else {
        return false;
    };
    matches!(rest.split_once('/'), Some((class, route))
        if !class.is_empty() && matches!(route, "timeline" | "start" | "end" | "heartbeat"))
}

/// A report's body cap: [`REPORT_MAX_BODY_BYTES`], or `max_body_bytes` when smaller.
pub fn report_body_cap(max_body_bytes: usize) -> usize {
    max_body_bytes.min(REPORT_MAX_BODY_BYTES)
}

/// Refuses a report body over its cap (413; nothing is kept of it).
fn within_cap(body: &[u8]) -> ApiResult<()> {
    if body.len() > REPORT_MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(REPORT_MAX_BODY_BYTES));
    }
    Ok(())
}

/// Takes the report from the credential's (and, for a timeline report, the class's) rate
/// limit. A legacy class-wide token is limited per uid it names (peeked from the body).
fn admit(
    limits: &ReportLimiter,
    grant: &ReportGrant,
    body: &[u8],
    counts_for_class: bool,
) -> ApiResult<()> {
    let uid = match &grant.uid {
        Some(uid) => uid.clone(),
        None => Fields::peek(body, "uid")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    };
    limits.admit(&grant.class.class_id, &uid, counts_for_class)
}

fn parse_timeline(bytes: &[u8]) -> ApiResult<TimelineReport> {
    let mut f = Fields::parse(bytes)?;
    Ok(TimelineReport {
        uid: f.str("uid")?,
        timestamp: f.int("timestamp")?,
        rtt_ms: f.opt_number("rtt_ms")?,
    })
}

/// `POST /v1/classes/{class_id}/timeline` → 202 `{"message_id","seq","time_line"}`.
#[utoipa::path(post, path = "/v1/classes/{class_id}/timeline", tag = "classroom", security(("report" = [])), params(("class_id" = String, Path, description = "the class")), request_body = TimelineReport, responses((status = 202, body = TimelineAccepted), (status = 413, description = "`payload_too_large`: a report body over 4096 bytes (nothing kept)", body = ErrorBody), (status = 429, description = "`rate_limited`: the credential over `limits.reports_per_credential`, or (timeline) the class over `limits.reports_per_class`; `Retry-After` says when (nothing kept)", body = ErrorBody), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn timeline(
    State(desk): State<ReplayDesk>,
    ReceivedAt(received_at): ReceivedAt,
    socket: Option<Extension<ConnSocket>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Extension(limits): Extension<ReportLimiter>,
    PathParam(class_id): PathParam<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<TimelineAccepted>)> {
    // A trusted proxy's connection would have the kernel time the proxy, not the client:
    // as with `behind_proxy`, its reports get no kernel round trip.
    let via_proxy = peer.is_some_and(|Extension(ConnectInfo(p))| {
        super::conn_limit::is_trusted(&desk.config().http.trusted_proxies, p.ip())
    });
    let grant = desk
        .authorize_report(&class_id, bearer(req.headers()))
        .await?;
    let Body(body) = credential_first(req).await?;
    // Before anything is parsed or kept: a report over the limit costs nothing more.
    admit(&limits, &grant, &body, true)?;
    within_cap(&body)?;
    let meta = ReportMeta {
        received_at,
        body: String::from_utf8_lossy(&body).into_owned(),
        kernel_rtt_ms: socket
            .filter(|_| !via_proxy)
            .and_then(|Extension(s)| s.rtt_ms()),
    };
    let report = match parse_timeline(&body) {
        Ok(r) => r,
        Err(e) => {
            let uid = Fields::peek(&body, "uid");
            let ts = Fields::peek(&body, "timestamp");
            let rtt = Fields::peek(&body, "rtt_ms");
            desk.record_refused_timeline(
                &class_id,
                uid.as_ref().and_then(Value::as_str),
                ts.as_ref().and_then(Value::as_i64),
                rtt.as_ref().and_then(Value::as_f64),
                &e.detail,
                &meta,
            )
            .await;
            return Err(e);
        }
    };
    desk.authorize_report_uid(&grant, &report.uid).await?;
    let accepted = desk.record_timeline(&class_id, report, meta).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// The heartbeats' own per-credential limit (`service::heartbeat::HEARTBEATS_PER_CREDENTIAL`),
/// apart from the reports': a heartbeat never spends a report's budget.
#[derive(Clone, Debug)]
pub struct HeartbeatLimiter(ReportLimiter);

impl HeartbeatLimiter {
    pub fn new() -> Self {
        use replaydesk_service::heartbeat::HEARTBEATS_PER_CREDENTIAL;
        Self(ReportLimiter::with_burst(
            HEARTBEATS_PER_CREDENTIAL,
            replaydesk_service::heartbeat::HEARTBEAT_BURST_SECS,
        ))
    }

    fn admit(&self, grant: &ReportGrant, body: &[u8]) -> ApiResult<()> {
        let uid = match &grant.uid {
            Some(uid) => uid.clone(),
            None => Fields::peek(body, "uid")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        };
        self.0
            .take(&grant.class.class_id, &uid, false)
            .map_err(|(_, wait)| {
                ApiError::rate_limited("too many heartbeats from this credential", wait)
            })
    }
}

impl Default for HeartbeatLimiter {
    fn default() -> Self {
        Self::new()
    }
}

/// `POST /v1/classes/{class_id}/heartbeat` → 200 `{"server_ms"}`.
#[utoipa::path(post, path = "/v1/classes/{class_id}/heartbeat", tag = "classroom", security(("report" = [])), params(("class_id" = String, Path, description = "the class")), request_body(content = TimelineReport, description = "as a timeline report: `{uid, timestamp, rtt_ms?}`, the member's own clock"), responses((status = 200, body = HeartbeatAccepted, description = "taken (tracked in memory; nothing stored per heartbeat)"), (status = 409, description = "`conflict`: the class has ended", body = ErrorBody), (status = 413, description = "`payload_too_large`: a body over 4096 bytes", body = ErrorBody), (status = 429, description = "`rate_limited`: the credential over its heartbeat limit (apart from the reports'); `Retry-After` says when", body = ErrorBody), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn heartbeat(
    State(desk): State<ReplayDesk>,
    ReceivedAt(received_at): ReceivedAt,
    socket: Option<Extension<ConnSocket>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Extension(limits): Extension<HeartbeatLimiter>,
    PathParam(class_id): PathParam<String>,
    req: Request,
) -> ApiResult<Json<HeartbeatAccepted>> {
    let via_proxy = peer.is_some_and(|Extension(ConnectInfo(p))| {
        super::conn_limit::is_trusted(&desk.config().http.trusted_proxies, p.ip())
    });
    let grant = desk
        .authorize_report(&class_id, bearer(req.headers()))
        .await?;
    let Body(body) = credential_first(req).await?;
    limits.admit(&grant, &body)?;
    within_cap(&body)?;
    let report = parse_timeline(&body)?;
    desk.authorize_report_uid(&grant, &report.uid).await?;
    let meta = ReportMeta {
        received_at,
        body: String::new(),
        kernel_rtt_ms: socket
            .filter(|_| !via_proxy)
            .and_then(|Extension(s)| s.rtt_ms()),
    };
    Ok(Json(desk.record_heartbeat(&class_id, report, &meta).await?))
}

/// The body of a request whose credential was checked: read only now, so that a client
/// without one is answered at once instead of being waited for while it sends (or
/// promises and never sends) a body.
async fn credential_first(req: Request) -> ApiResult<Body> {
    Body::from_request(req, &()).await
}

async fn class_event(
    desk: ReplayDesk,
    limits: ReportLimiter,
    class_id: String,
    req: Request,
    event: ClassEvent,
) -> ApiResult<(StatusCode, Json<ClassEventAccepted>)> {
    let grant = desk
        .authorize_report(&class_id, bearer(req.headers()))
        .await?;
    let Body(body) = credential_first(req).await?;
    admit(&limits, &grant, &body, false)?;
    within_cap(&body)?;
    let mut f = Fields::parse(&body)?;
    let report = ClassEventReport {
        uid: f.str("uid")?,
        timestamp: f.int("timestamp")?,
    };
    desk.authorize_report_uid(&grant, &report.uid).await?;
    let accepted = desk.record_class_event(&class_id, event, report).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// `POST /v1/classes/{class_id}/start` → 202 `{"message_id","seq"}` (a 1001).
#[utoipa::path(post, path = "/v1/classes/{class_id}/start", tag = "classroom", security(("report" = [])), params(("class_id" = String, Path, description = "the class")), request_body = ClassEventReport, responses((status = 202, body = ClassEventAccepted), (status = 413, description = "`payload_too_large`: a report body over 4096 bytes (nothing kept)", body = ErrorBody), (status = 429, description = "`rate_limited`: the credential over `limits.reports_per_credential`, or (timeline) the class over `limits.reports_per_class`; `Retry-After` says when (nothing kept)", body = ErrorBody), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn start(
    State(desk): State<ReplayDesk>,
    Extension(limits): Extension<ReportLimiter>,
    PathParam(class_id): PathParam<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<ClassEventAccepted>)> {
    class_event(desk, limits, class_id, req, ClassEvent::Start).await
}

/// `POST /v1/classes/{class_id}/end` → 202 `{"message_id","seq"}` (a 1002).
#[utoipa::path(post, path = "/v1/classes/{class_id}/end", tag = "classroom", security(("report" = [])), params(("class_id" = String, Path, description = "the class")), request_body = ClassEventReport, responses((status = 202, body = ClassEventAccepted), (status = 413, description = "`payload_too_large`: a report body over 4096 bytes (nothing kept)", body = ErrorBody), (status = 429, description = "`rate_limited`: the credential over `limits.reports_per_credential`, or (timeline) the class over `limits.reports_per_class`; `Retry-After` says when (nothing kept)", body = ErrorBody), (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody), (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)))]
pub async fn end(
    State(desk): State<ReplayDesk>,
    Extension(limits): Extension<ReportLimiter>,
    PathParam(class_id): PathParam<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<ClassEventAccepted>)> {
    class_event(desk, limits, class_id, req, ClassEvent::End).await
}
