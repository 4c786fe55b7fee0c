//! Extractors whose refusals are JSON [`ApiError`]s (axum's own answer in plain text),
//! and a JSON object reader whose errors name the field.

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Uri};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// When the request arrived, unix ms: set by a middleware before anything else runs.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedAt(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ReceivedAt {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(parts
            .extensions
            .get::<ReceivedAt>()
            .copied()
            .unwrap_or_else(|| ReceivedAt(replaydesk_clock::unix_ms_now())))
    }
}

/// Stamps each request with [`ReceivedAt`].
pub async fn stamp_received_at(
    mut req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    req.extensions_mut()
        .insert(ReceivedAt(replaydesk_clock::unix_ms_now()));
    next.run(req).await
}

/// Refuses a request whose declared `Content-Length` exceeds the body cap (the
/// [`BodyLimit`] extension) before any of the body is read: the sender learns at once, and
/// nothing waits for megabytes that would be refused anyway. Chunked bodies are cut off by
/// the extractors as soon as they pass the cap.
pub async fn refuse_declared_oversize(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let limit = if req.uri().path() == super::align::IMPORT_PATH {
        // A class bundle: its own, larger cap (the handler enforces it).
        Some(super::align::MAX_BUNDLE_BYTES)
    } else {
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        if super::reports::is_report_path(req.uri().path()) {
            // A report's own, smaller cap (the handlers enforce it on what they read).
            limit.map(super::reports::report_body_cap)
        } else {
            limit
        }
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let (Some(limit), Some(n)) = (limit, declared) {
        if n > u64::try_from(limit).unwrap_or(u64::MAX) {
            return ApiError::payload_too_large(limit).into_response();
        }
    }
    next.run(req).await
}

/// A path parameter; a bad one is a JSON 400.
pub struct PathParam<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParam<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))
    }
}

/// The raw request body, size-capped (413 beyond `max_body_bytes`). Its content type, if
/// given, must be JSON (`application/json`, `application/*+json`) or `text/plain`; others
/// (forms, multipart) are 415.
pub struct Body(pub Bytes);

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(ct) = ct.to_str() else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // text/plain too: a browser's `fetch` with a string body sends that (and no CORS
    // preflight); the body must still be JSON.
    mime == "application/json"
        || mime == "text/plain"
        || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(replaydesk_service::config::DEFAULT_MAX_BODY_BYTES, |l| l.0);
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(Body(b)),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::payload_too_large(limit))
            }
            Err(e) => Err(ApiError::bad_request(format!(
                "could not read the body: {}",
                e.body_text()
            ))),
        }
    }
}

/// The body size cap in force (for error messages), set as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The bearer token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object body, read field by field; every error names its field.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::malformed_json(
                "the body is empty; a JSON object is expected",
            ));
        }
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::malformed_json(format!("the body is not valid JSON: {e}")))?;
        replaydesk_service::validate::no_duplicate_keys(bytes).map_err(ApiError::invalid)?;
        match v {
            Value::Object(map) => Ok(Self { map }),
            other => Err(ApiError::invalid(format!(
                "body: must be a JSON object, got {}",
                type_name(&other)
            ))),
        }
    }

    /// The field, `None` when absent or null.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|v| !v.is_null())
    }

    fn missing(name: &str) -> ApiError {
        ApiError::invalid(format!("{name}: missing"))
    }

    fn wrong(name: &str, want: &str, got: &Value) -> ApiError {
        ApiError::invalid(format!("{name}: must be {want}, got {}", type_name(got)))
    }

    pub fn opt_str(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Self::wrong(name, "a string", &other)),
        }
    }

    pub fn str(&mut self, name: &str) -> Result<String, ApiError> {
        self.opt_str(name)?.ok_or_else(|| Self::missing(name))
    }

    /// An integer (an integral float like `5.0` is taken too).
    pub fn opt_int(&mut self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    return Ok(Some(i));
                }
                if n.is_u64() {
                    return Err(ApiError::invalid(format!("{name}: out of range ({n})")));
                }
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Some(f as i64)),
                    Some(f) if f.fract() == 0.0 => {
                        Err(ApiError::invalid(format!("{name}: out of range ({n})")))
                    }
                    _ => Err(ApiError::invalid(format!(
                        "{name}: must be an integer, got {n}"
                    ))),
                }
            }
            Some(other) => Err(Self::wrong(name, "an integer", &other)),
        }
    }

    pub fn int(&mut self, name: &str) -> Result<i64, ApiError> {
        self.opt_int(name)?.ok_or_else(|| Self::missing(name))
    }

    pub fn opt_number(&mut self, name: &str) -> Result<Option<f64>, ApiError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid(format!("{name}: out of range"))),
            Some(other) => Err(Self::wrong(name, "a number", &other)),
        }
    }

    pub fn opt_bool(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(Self::wrong(name, "true or false", &other)),
        }
    }

    /// A list of strings or numbers, as text; a single value counts as a list of one.
    pub fn opt_list(&mut self, name: &str) -> Result<Vec<String>, ApiError> {
        let item = |v: &Value| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(Self::wrong(name, "a list of strings", other)),
        };
        match self.take(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(item).collect(),
            Some(other) => Ok(vec![item(&other)?]),
        }
    }

    /// Refuses the fields not read (for bodies whose every field matters).
    pub fn deny_unknown(&self) -> Result<(), ApiError> {
        match self.map.keys().next() {
            Some(k) => Err(ApiError::invalid(format!("{k}: unknown field"))),
            None => Ok(()),
        }
    }

    /// What the client sent for `name`, leniently (for keeping a refused report).
    pub fn peek(bytes: &[u8], name: &str) -> Option<Value> {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        v.get(name).cloned()
    }
}

/// The query string's `key=value` pairs, in order (keys may repeat).
pub fn query_pairs(uri: &Uri) -> Result<Vec<(String, String)>, ApiError> {
    if uri.query().is_none() {
        return Ok(Vec::new());
    }
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::bad_request(format!("query: {}", e.body_text())))
}

/// The query string decoded into a typed request of [`replaydesk_service::requests`] (the
/// same decoding the Tauri door applies to its `query` argument); refusals are 400.
pub struct QueryOf<T>(pub T);

impl<T, S> FromRequestParts<S> for QueryOf<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let pairs = query_pairs(&parts.uri)?;
        let value = replaydesk_service::decode::query_object(&pairs);
        Ok(QueryOf(replaydesk_service::decode::decode(
            Some(value),
            replaydesk_service::decode::Source::Query,
        )?))
    }
}

/// The JSON body decoded into a typed request (as the Tauri door decodes its `body`
/// argument): not JSON is 400 `malformed_json`, a bad field 422 naming it.
pub struct JsonOf<T>(pub T);

impl<T, S> FromRequest<S> for JsonOf<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Body(bytes) = Body::from_request(req, state).await?;
        Ok(JsonOf(replaydesk_service::decode::decode_body(&bytes)?))
    }
}
