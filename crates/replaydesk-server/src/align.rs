//! The class-bundle import's size cap (its route is in the operation table,
//! `service::api`; the body-size middleware needs the cap before the route runs).

/// Largest bundle `POST /v1/admin/import` reads (far above `max_body_bytes`: a class of
/// 100,000 messages exports to about 60 MB). Admin only.
pub const MAX_BUNDLE_BYTES: usize = 512 * 1024 * 1024;

/// The import route's path (its body cap is [`MAX_BUNDLE_BYTES`], not `max_body_bytes`).
pub const IMPORT_PATH: &str = "/v1/admin/import";
