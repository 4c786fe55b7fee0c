//! `GET /healthz`, `GET /readyz`, `GET /v1/info` and Prometheus text at `GET /metrics`.

use super::conn_limit::PerSource;
use super::error::ApiResult;
use super::report_limit::{ReportLimiter, Scope};
use super::source_limit::SourceLimiter;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use replaydesk_service::app::AppInfo;
use replaydesk_service::{MetricsSnapshot, ReplayDesk};
use replaydesk_store::MessageStatus;
use serde_json::json;
use std::fmt::Write as _;

/// `GET /healthz` → 200 `{"status":"ok","database":"takes writes"}`, or 503
/// `{"status":"degraded","database":"cannot take writes: ..."}`.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "`{\"status\":\"ok\",\"database\":\"takes writes\"}`"), (status = 503, description = "`{\"status\":\"degraded\",\"database\":\"cannot take writes: ...\"}`")))]
pub async fn healthz(State(desk): State<ReplayDesk>) -> impl IntoResponse {
    let h = desk.health().await;
    let status = if h.ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "status": h.status, "database": h.database })),
    )
}

/// `GET /readyz` → 200 when this node should take traffic (its store migrated to this
/// binary's schema, its writer taking writes, not stopping), else 503; the body says which
/// check failed. `/healthz` answers only for the store's writes.
#[utoipa::path(get, path = "/readyz", tag = "service", responses((status = 200, description = "`{\"ready\":true,\"schema\":\"current\",\"database\":\"takes writes\",\"stopping\":false}`"), (status = 503, description = "`{\"ready\":false,...}`: stopping, a schema this binary does not match, or a store that cannot take writes")))]
pub async fn readyz(State(desk): State<ReplayDesk>) -> impl IntoResponse {
    let r = desk.readiness().await;
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r))
}

/// `GET /v1/info` → `{version, sandbox, im_endpoint}`.
#[utoipa::path(get, path = "/v1/info", tag = "service", responses((status = 200, body = AppInfo)))]
pub async fn info(State(desk): State<ReplayDesk>) -> Json<AppInfo> {
    Json(desk.info())
}

/// `GET /metrics` → Prometheus text format 0.0.4.
#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain")))]
pub async fn metrics(
    State(desk): State<ReplayDesk>,
    Extension(sources): Extension<SourceLimiter>,
    Extension(reports): Extension<ReportLimiter>,
    // Set by the accept loop (absent when the router is called without it).
    conns: Option<Extension<PerSource>>,
) -> ApiResult<impl IntoResponse> {
    let snapshot = desk.metrics().await?;
    let mut text = render(&desk.info(), &snapshot);
    render_readiness(
        &mut text,
        desk.health().await.ok(),
        desk.readiness().await.ready,
    );
    render_source_limit(&mut text, &sources);
    render_client_limits(&mut text, &reports, conns.as_ref().map(|c| &c.0));
    render_heartbeats(&mut text, &desk.heartbeat_counts());
    render_archive(&mut text, &desk.archive_metrics().await?);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

/// The ReplayGroup archive: messages held, classes by state, the nearest deadline.
fn render_archive(o: &mut String, m: &replaydesk_service::archive::ArchiveMetrics) {
    family(
        o,
        "replaydesk_archive_messages",
        "gauge",
        "Group messages held by the archive (holes left out).",
    );
    let _ = writeln!(o, "replaydesk_archive_messages {}", m.messages);
    family(
        o,
        "replaydesk_archive_classes",
        "gauge",
        "Classes by archive state (a class never archived is pending; imported classes left out).",
    );
    for (state, n) in &m.by_state {
        let _ = writeln!(o, "replaydesk_archive_classes{{state=\"{state}\"}} {n}");
    }
    family(
        o,
        "replaydesk_archive_nearest_deadline_seconds",
        "gauge",
        "Unix time at which the oldest message not yet archived expires in the IM (absent when nothing is outstanding).",
    );
    if let Some(d) = m.nearest_deadline_ms {
        let _ = writeln!(
            o,
            "replaydesk_archive_nearest_deadline_seconds {}",
            d.div_euclid(1000)
        );
    }
}

/// `/healthz` and `/readyz` as gauges, for alerting rules (their probes are cached, so a
/// scrape costs at most one write every few seconds).
fn render_readiness(o: &mut String, healthy: bool, ready: bool) {
    family(
        o,
        "replaydesk_healthy",
        "gauge",
        "1 while the store takes writes (/healthz 200), 0 when it cannot (/healthz 503).",
    );
    let _ = writeln!(o, "replaydesk_healthy {}", u8::from(healthy));
    family(
        o,
        "replaydesk_ready",
        "gauge",
        "1 while this node should take traffic (/readyz 200): migrated, its store taking writes, not stopping.",
    );
    let _ = writeln!(o, "replaydesk_ready {}", u8::from(ready));
}

/// The per-source callback limit's figures (held by the HTTP door, not the service).
fn render_source_limit(o: &mut String, sources: &SourceLimiter) {
    family(
        o,
        "replaydesk_recording_callbacks_rate_limited_total",
        "counter",
        "Recording callbacks answered 429 (a source over callback_rate_per_source) since start; not stored.",
    );
    let _ = writeln!(
        o,
        "replaydesk_recording_callbacks_rate_limited_total {}",
        sources.limited_total()
    );
    family(
        o,
        "replaydesk_recording_callback_sources",
        "gauge",
        "Callback sources holding a rate-limit bucket.",
    );
    let _ = writeln!(
        o,
        "replaydesk_recording_callback_sources {}",
        sources.sources()
    );
}

/// What this node's heartbeats did since start.
fn render_heartbeats(o: &mut String, c: &replaydesk_service::heartbeat::HeartbeatCounts) {
    family(
        o,
        "replaydesk_heartbeats_total",
        "counter",
        "Heartbeats this node took since start (tracked in memory, never stored one by one).",
    );
    let _ = writeln!(o, "replaydesk_heartbeats_total {}", c.heartbeats);
    family(
        o,
        "replaydesk_heartbeat_members",
        "gauge",
        "Members whose clock this node tracks now.",
    );
    let _ = writeln!(o, "replaydesk_heartbeat_members {}", c.members);
    family(
        o,
        "replaydesk_heartbeat_reanchors_total",
        "counter",
        "1003s this node sent from a member's tracked clock since start, by reason \
         (jump, drift, first).",
    );
    for (reason, n) in c.reanchors {
        let _ = writeln!(
            o,
            "replaydesk_heartbeat_reanchors_total{{reason=\"{reason}\"}} {n}"
        );
    }
    family(
        o,
        "replaydesk_heartbeat_silence_ends_total",
        "counter",
        "Classes this node ended for silence (heartbeat.silence_end) since start.",
    );
    let _ = writeln!(
        o,
        "replaydesk_heartbeat_silence_ends_total {}",
        c.silence_ends
    );
}

/// The report rate limits' and the per-source connection cap's figures (held by the HTTP
/// door).
fn render_client_limits(o: &mut String, reports: &ReportLimiter, conns: Option<&PerSource>) {
    family(
        o,
        "replaydesk_reports_rate_limited_total",
        "counter",
        "Client reports answered 429 since start, by the limit that refused them \
         (limits.reports_per_credential, limits.reports_per_class); not stored.",
    );
    for (label, scope) in [("credential", Scope::Credential), ("class", Scope::Class)] {
        let _ = writeln!(
            o,
            "replaydesk_reports_rate_limited_total{{limit=\"{label}\"}} {}",
            reports.limited_total(scope)
        );
    }
    family(
        o,
        "replaydesk_connections_refused_total",
        "counter",
        "Connections (and requests through a trusted proxy) answered 429 since start: \
         their source held limits.connections_per_source.",
    );
    let _ = writeln!(
        o,
        "replaydesk_connections_refused_total {}",
        conns.map_or(0, PerSource::refused_total)
    );
    family(
        o,
        "replaydesk_connection_sources",
        "gauge",
        "Source addresses holding connections now (counted when a cap is set).",
    );
    let _ = writeln!(
        o,
        "replaydesk_connection_sources {}",
        conns.map_or(0, PerSource::sources)
    );
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders the counters as Prometheus text.
pub fn render(info: &AppInfo, m: &MetricsSnapshot) -> String {
    let mut o = String::with_capacity(4096);
    family(
        &mut o,
        "replaydesk_info",
        "gauge",
        "The running build and mode.",
    );
    let _ = writeln!(
        o,
        "replaydesk_info{{version=\"{}\",sandbox=\"{}\"}} 1",
        info.version, info.sandbox
    );
    family(
        &mut o,
        "replaydesk_messages_accepted_total",
        "counter",
        "Messages accepted (stored new, durable) since start.",
    );
    let _ = writeln!(o, "replaydesk_messages_accepted_total {}", m.accepted_total);
    family(
        &mut o,
        "replaydesk_reports_duplicate_total",
        "counter",
        "Reports that repeated an accepted one (answered with the same message) since start.",
    );
    let _ = writeln!(
        o,
        "replaydesk_reports_duplicate_total {}",
        m.duplicate_total
    );
    family(
        &mut o,
        "replaydesk_reports_refused_total",
        "counter",
        "Timeline reports refused (invalid) since start.",
    );
    let _ = writeln!(o, "replaydesk_reports_refused_total {}", m.refused_total);
    family(
        &mut o,
        "replaydesk_intake_commits_total",
        "counter",
        "Transactions that committed client reports (several reports per commit under load).",
    );
    let _ = writeln!(
        o,
        "replaydesk_intake_commits_total {}",
        m.intake_commits_total
    );
    family(
        &mut o,
        "replaydesk_messages",
        "gauge",
        "Messages in the store by delivery status.",
    );
    for s in MessageStatus::ALL {
        let _ = writeln!(
            o,
            "replaydesk_messages{{status=\"{}\"}} {}",
            s.as_str(),
            m.statuses.get(*s)
        );
    }
    family(
        &mut o,
        "replaydesk_delivery_attempts_total",
        "counter",
        "Delivery attempts since start, by outcome.",
    );
    for (outcome, n) in &m.delivery.attempts_by_outcome {
        let _ = writeln!(
            o,
            "replaydesk_delivery_attempts_total{{outcome=\"{}\"}} {n}",
            outcome.as_str()
        );
    }
    family(
        &mut o,
        "replaydesk_delivery_attempt_duration_ms",
        "histogram",
        "Duration of delivery attempts (IM calls), milliseconds.",
    );
    for (le, n) in &m.delivery.latency_buckets {
        let _ = writeln!(
            o,
            "replaydesk_delivery_attempt_duration_ms_bucket{{le=\"{le}\"}} {n}"
        );
    }
    let _ = writeln!(
        o,
        "replaydesk_delivery_attempt_duration_ms_bucket{{le=\"+Inf\"}} {}",
        m.delivery.latency_count
    );
    let _ = writeln!(
        o,
        "replaydesk_delivery_attempt_duration_ms_sum {}",
        m.delivery.latency_sum_ms
    );
    let _ = writeln!(
        o,
        "replaydesk_delivery_attempt_duration_ms_count {}",
        m.delivery.latency_count
    );
    family(
        &mut o,
        "replaydesk_delivery_deferred_total",
        "counter",
        "Claimed messages put back to wait for their busy group's turn since start (fair claiming across groups).",
    );
    let _ = writeln!(
        o,
        "replaydesk_delivery_deferred_total {}",
        m.delivery.deferred_total
    );
    family(
        &mut o,
        "replaydesk_delivery_paused",
        "gauge",
        "1 while sending is paused because the IM service refused the credentials.",
    );
    let _ = writeln!(
        o,
        "replaydesk_delivery_paused {}",
        u8::from(m.delivery_paused)
    );
    family(&mut o, "replaydesk_alerts_open", "gauge", "Open alerts.");
    let _ = writeln!(o, "replaydesk_alerts_open {}", m.open_alerts);
    family(
        &mut o,
        "replaydesk_alert_open",
        "gauge",
        "Open alerts by kind (the kinds ReplayDesk raises are always listed, 0 when closed).",
    );
    let mut kinds: std::collections::BTreeMap<&str, usize> = [
        "im_credentials",
        "group_missing",
        replaydesk_service::CALLBACKS_REFUSED_ALERT,
        replaydesk_service::archive::ARCHIVE_DEADLINE_ALERT,
        replaydesk_service::archive::ARCHIVE_LARGE_GROUP_ALERT,
    ]
    .into_iter()
    .map(|k| (k, 0))
    .collect();
    for k in &m.open_alert_kinds {
        *kinds.entry(k.as_str()).or_default() += 1;
    }
    for (kind, n) in kinds {
        let kind = kind.replace(['\\', '"', '\n'], "_");
        let _ = writeln!(o, "replaydesk_alert_open{{kind=\"{kind}\"}} {n}");
    }
    family(
        &mut o,
        "replaydesk_recording_callbacks",
        "gauge",
        "Recording callbacks stored, by what became of them.",
    );
    for (status, n) in &m.callbacks {
        let _ = writeln!(
            o,
            "replaydesk_recording_callbacks{{status=\"{}\"}} {n}",
            status.as_str()
        );
    }
    family(
        &mut o,
        "replaydesk_recording_callbacks_refused_total",
        "counter",
        "Recording callbacks refused since start (only the newest are stored, as a sample).",
    );
    let _ = writeln!(
        o,
        "replaydesk_recording_callbacks_refused_total {}",
        m.callbacks_refused_total
    );
    family(
        &mut o,
        "replaydesk_trtc_callbacks_failed_total",
        "counter",
        "TRTC callbacks answered 5xx since start (could not be recorded): TRTC retries for about a minute only, so each may be a recording lost.",
    );
    let _ = writeln!(
        o,
        "replaydesk_trtc_callbacks_failed_total {}",
        m.trtc_callbacks_failed_total
    );
    o
}
