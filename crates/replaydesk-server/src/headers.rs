//! Security headers on every answer: what the browser may load for the console and who may
//! frame it, no MIME sniffing, no referrer (the sign-in link carries the admin token as
//! `?token=`), HTTPS only once a request came over HTTPS (HSTS), and no caching of API answers (credentials above all: a class's answer
//! carries them once, and a shared or disk cache must not keep it).

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The console's content security policy: its own scripts, styles and API only (inline
/// style attributes allowed: the charts set them), images from itself or `data:` URLs,
/// no plugins, and no page may frame it (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Sent on answers to requests that came over HTTPS (a trusted proxy's
/// `X-Forwarded-Proto: https`): a year, this host only (other hosts of the domain may not
/// have TLS).
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Whether `path` is the API (JSON answers, never cached) rather than the console's files.
fn is_api(path: &str) -> bool {
    path == "/v1"
        || path.starts_with("/v1/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
}

/// Adds the headers an answer lacks (a handler that set one keeps its own).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    // Over HTTPS (through a trusted TLS proxy), browsers are told to keep to HTTPS.
    let https = req
        .extensions()
        .get::<super::conn_limit::ClientOrigin>()
        .is_some_and(|o| o.https);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    if api {
        set(header::CACHE_CONTROL, "no-store");
    }
    if https {
        set(header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY);
    }
    res
}
