//! The HTTP door of the console's operations: one generic handler, instantiated for each
//! entry of the operation table ([`replaydesk_service::api`]), registered with the OpenAPI
//! description made of the same entry. Nothing here names an operation.

use super::align::MAX_BUNDLE_BYTES;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{query_pairs, Body, PathParam};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Json;
use replaydesk_service::api::{
    openapi_operation, InputKind, Method, Operation, RawBody, RawInput, Schemas, Visit,
};
use replaydesk_service::decode::query_object;
use replaydesk_service::ReplayDesk;
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa_axum::router::OpenApiRouter;

/// Answers `O` over HTTP: the caller and their role (401 / 403 before anything of the
/// request beyond its headers is read), then the path, then the input, then the call.
async fn handle<O: Operation>(
    State(desk): State<ReplayDesk>,
    caller: Caller,
    req: Request,
) -> ApiResult<Response> {
    caller.principal.require(O::ROLE)?;
    let (mut parts, body) = req.into_parts();
    let path = if O::PARAMS.is_empty() {
        // No holes in the path: `()` (axum's `Path` refuses a route without parameters).
        serde_json::from_value(serde_json::Value::Null)
            .map_err(|e| ApiError::internal(format!("path: {e}")))?
    } else {
        PathParam::<O::Path>::from_request_parts(&mut parts, &desk)
            .await?
            .0
    };
    let mut raw = RawInput::default();
    match O::INPUT {
        InputKind::None => {}
        InputKind::Query => {
            raw.query = Some(query_object(&query_pairs(&parts.uri)?));
        }
        InputKind::Body | InputKind::OptionalBody => {
            let req = Request::from_parts(parts, body);
            let Body(bytes) = Body::from_request(req, &desk).await?;
            raw.body = RawBody::Bytes(bytes.to_vec());
        }
        InputKind::Bundle => {
            // A class bundle has its own, larger cap (and any content type, as ever).
            let bytes = axum::body::to_bytes(body, MAX_BUNDLE_BYTES)
                .await
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "could not read the body (a bundle may be up to {MAX_BUNDLE_BYTES} bytes): {e}"
                    ))
                })?;
            raw.body = RawBody::Bytes(bytes.to_vec());
        }
    }
    let input = O::decode(raw)?;
    let out = O::call(&desk, path, input, &caller.principal.actor).await?;
    let status = StatusCode::from_u16(O::STATUS).unwrap_or(StatusCode::OK);
    if status == StatusCode::NO_CONTENT {
        return Ok(status.into_response());
    }
    Ok((status, Json(out)).into_response())
}

fn methods(m: Method) -> (MethodFilter, HttpMethod) {
    match m {
        Method::Get => (MethodFilter::GET, HttpMethod::Get),
        Method::Post => (MethodFilter::POST, HttpMethod::Post),
        Method::Put => (MethodFilter::PUT, HttpMethod::Put),
        Method::Patch => (MethodFilter::PATCH, HttpMethod::Patch),
        Method::Delete => (MethodFilter::DELETE, HttpMethod::Delete),
    }
}

/// Registers each operation of the table: its route and its description together.
struct Register(Option<OpenApiRouter<ReplayDesk>>);

impl Visit for Register {
    fn visit<O: Operation>(&mut self) {
        let mut schemas = Schemas::new();
        let operation = openapi_operation::<O>(&mut schemas);
        let (filter, http) = methods(O::METHOD);
        let mut paths = Paths::new();
        paths.add_path_operation(O::PATH, vec![http], operation);
        let route: MethodRouter<ReplayDesk> = MethodRouter::new().on(filter, handle::<O>);
        self.0 = self.0.take().map(|r| r.routes((schemas, paths, route)));
    }
}

/// `router` with every console operation added.
pub fn register(router: OpenApiRouter<ReplayDesk>) -> OpenApiRouter<ReplayDesk> {
    let mut r = Register(Some(router));
    replaydesk_service::api::visit_all(&mut r);
    r.0.unwrap_or_default()
}
