//! The console's operations, each declared once (in [`table`]): its name, HTTP method and
//! path, success status, the role it needs, its path parameters, its input (query, body
//! or none), its output type, its description (the doc comment) and the service call that
//! answers it. Every door is built from that one declaration:
//!
//! - the HTTP server registers one generic handler per operation with the OpenAPI
//!   description `#[utoipa::path]` made of the same entry (`server::operations`);
//! - the desktop shell has one Tauri command, `operation { name, classId?, id?, uid?,
//!   query?, body? }`, which calls [`dispatch`];
//! - the console's typed client is generated from [`typescript`] into
//!   `ui/src/bindings/operations.ts` (written by this module's test, as ts-rs writes the
//!   other bindings).
//!
//! One file although long: the traits an operation implements and the `operations!` macro
//! that implements them for each entry of the table are one mechanism, read together.
//!
//! Why a `macro_rules!` table and how to add an operation: `docs/adding-an-operation.md`.

use super::decode::{decode, decode_body, Source};
use super::{ReplayDesk, ServiceError, ServiceResult};
use replaydesk_store::Actor;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;

/// Who may call an operation, and what a person (or an API token) may do: each role may
/// do what the ones below it may. The bootstrap admin token and the desktop app hold
/// `Admin`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Role {
    /// Classes, messages and alignment.
    Viewer,
    /// Every view, alignment, reconcile, export; no resend, jobs, class changes,
    /// credentials or keys.
    Support,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Support => "support",
            Role::Admin => "admin",
        }
    }

    /// The role named `s` (`admin`, `support`, `viewer`).
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "support" => Some(Role::Support),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// An operation's HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Where an operation's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Nothing beyond the path (a body or query given is not read).
    None,
    /// The query string (HTTP) or the `query` argument (IPC); refusals are 400.
    Query,
    /// A JSON object body; refusals are 422 (400 when it is not JSON).
    Body,
    /// A JSON object body that may be left out (then every field is absent).
    OptionalBody,
    /// A class bundle, read whole (its own, larger size cap over HTTP).
    Bundle,
}

impl InputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::None => "none",
            InputKind::Query => "query",
            InputKind::Body => "body",
            InputKind::OptionalBody => "optional_body",
            InputKind::Bundle => "bundle",
        }
    }
}

/// A path parameter: its name in the path (`{class_id}`) and its Rust type's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub rust: &'static str,
}

impl Param {
    /// The argument's name over IPC (Tauri's camelCase: `class_id` is `classId`).
    pub fn ipc_name(&self) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in self.name.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// What a door received for an operation's input, before decoding.
#[derive(Debug, Clone, Default)]
pub struct RawInput {
    /// HTTP: the query string as an object (see [`super::decode::query_object`]); IPC: the
    /// `query` argument.
    pub query: Option<Value>,
    pub body: RawBody,
}

/// A request body as a door received it.
#[derive(Debug, Clone, Default)]
pub enum RawBody {
    #[default]
    Absent,
    /// HTTP: the bytes (not yet known to be JSON).
    Bytes(Vec<u8>),
    /// IPC: the `body` argument, already a JSON value.
    Json(Value),
}

/// A class bundle as a door received it (see [`super::parse_bundle`]).
#[derive(Debug, Clone)]
pub enum BundleInput {
    Bytes(Vec<u8>),
    Json(Value),
}

impl RawInput {
    /// The query, decoded (`Query` inputs).
    pub fn query<T: DeserializeOwned>(self) -> ServiceResult<T> {
        decode(self.query, Source::Query)
    }

    /// The body, decoded (`Body` inputs): absent is an empty HTTP body (not JSON) or an
    /// IPC `null` (no fields).
    pub fn body<T: DeserializeOwned>(self) -> ServiceResult<T> {
        match self.body {
            RawBody::Absent => decode_body(b""),
            RawBody::Bytes(b) => decode_body(&b),
            RawBody::Json(v) => decode(Some(v), Source::Body),
        }
    }

    /// The body, decoded, or every field absent when there is none (`OptionalBody`).
    pub fn optional_body<T: DeserializeOwned>(self) -> ServiceResult<T> {
        let none = || decode(Some(Value::Object(Map::new())), Source::Body);
        match self.body {
            RawBody::Absent | RawBody::Json(Value::Null) => none(),
            RawBody::Bytes(b) if b.iter().all(u8::is_ascii_whitespace) => none(),
            RawBody::Bytes(b) => decode_body(&b),
            RawBody::Json(v) => decode(Some(v), Source::Body),
        }
    }

    /// The body as a class bundle (`Bundle`).
    pub fn bundle(self) -> ServiceResult<BundleInput> {
        Ok(match self.body {
            RawBody::Absent => BundleInput::Bytes(Vec::new()),
            RawBody::Bytes(b) => BundleInput::Bytes(b),
            RawBody::Json(v) => BundleInput::Json(v),
        })
    }
}

/// The error body both doors give: the HTTP API as its JSON body, the Tauri door as its
/// error value. `detail` names the field at fault where there is one.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS, utoipa::ToSchema,
)]
#[ts(export)]
pub struct ErrorBody {
    pub error: String,
    pub detail: String,
}

impl ReplayDesk {
    /// `import_class`: a bundle as either door received it.
    pub async fn import_bundle_input(
        &self,
        bundle: BundleInput,
        actor: &Actor,
    ) -> ServiceResult<super::ClassSummary> {
        match bundle {
            BundleInput::Bytes(b) => {
                let checked = super::parse_bundle(&b)?;
                self.import_checked(checked, actor).await
            }
            BundleInput::Json(v) => self.import_class(v, actor).await,
        }
    }
}

/// The schemas an OpenAPI operation refers to, as utoipa collects them.
pub type Schemas = Vec<(
    String,
    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
)>;

/// An operation's request and response types as the console's TypeScript names them.
#[derive(Debug, Clone)]
pub struct TsTypes {
    /// The `args` object's fields beyond the path parameters (`query?: ClassQuery`).
    pub input: Option<String>,
    pub response: String,
    /// The exported bindings these names come from: `(name, file)`.
    pub imports: Vec<(String, String)>,
}

/// One console operation (implemented by each entry of [`table`]).
pub trait Operation: 'static {
    const NAME: &'static str;
    const METHOD: Method;
    /// The HTTP path, with `{class_id}`-style holes for the [`Self::PARAMS`].
    const PATH: &'static str;
    /// The HTTP status of a success (204: no body).
    const STATUS: u16;
    const ROLE: Role;
    const INPUT: InputKind;
    const PARAMS: &'static [Param];
    /// The doc comment of the declaration.
    const DESCRIPTION: &'static str;
    /// The path parameters: `()`, one value, or a tuple in path order.
    type Path: DeserializeOwned + Send;
    type Input: Send;
    type Output: Serialize + Send;

    fn decode(raw: RawInput) -> ServiceResult<Self::Input>;

    fn call<'a>(
        desk: &'a ReplayDesk,
        path: Self::Path,
        input: Self::Input,
        actor: &'a Actor,
    ) -> impl Future<Output = ServiceResult<Self::Output>> + Send + 'a;

    /// The OpenAPI operation (without its path parameters: see [`openapi_operation`]),
    /// adding the schemas it refers to.
    fn openapi_without_params(schemas: &mut Schemas) -> utoipa::openapi::path::Operation;

    fn typescript() -> TsTypes;
}

/// Something done for each declared operation (registering a route, writing its
/// TypeScript entry, checking it answers).
pub trait Visit {
    fn visit<O: Operation>(&mut self);
}

/// The operation's OpenAPI description, path parameters first.
pub fn openapi_operation<O: Operation>(schemas: &mut Schemas) -> utoipa::openapi::path::Operation {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::Required;
    let mut op = O::openapi_without_params(schemas);
    let mut params: Vec<_> = O::PARAMS
        .iter()
        .map(|p| {
            let schema = if p.rust == "i64" {
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            } else {
                ObjectBuilder::new().schema_type(Type::String)
            };
            let description = match p.name {
                "class_id" => Some("the class"),
                "uid" => Some("the member's user id"),
                _ => None,
            };
            ParameterBuilder::new()
                .name(p.name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(description)
                .schema(Some(schema))
                .build()
        })
        .collect();
    params.extend(op.parameters.take().unwrap_or_default());
    if !params.is_empty() {
        op.parameters = Some(params);
    }
    op.tags = Some(vec!["admin".to_owned()]);
    // The role, from the one declaration, where a reader of the document looks.
    let role = format!("Needs the `{}` role.", O::ROLE.as_str());
    op.description = Some(match op.description.take() {
        Some(d) if !d.is_empty() => format!("{d}\n\n{role}"),
        _ => role,
    });
    op.operation_id = Some(O::NAME.to_owned());
    op
}

/// The arguments of the Tauri door's `operation` command (beyond its `name`).
#[derive(Debug, Clone, Default)]
pub struct IpcArgs {
    /// `classId`, `id`, `uid`: the path parameters by their IPC names.
    pub params: Map<String, Value>,
    pub query: Option<Value>,
    pub body: Option<Value>,
}

/// The path parameters of `O` from IPC arguments; a missing or mistyped one is refused as
/// over HTTP (400, naming it).
fn ipc_path<O: Operation>(params: &Map<String, Value>) -> ServiceResult<O::Path> {
    let mut values = Vec::new();
    for p in O::PARAMS {
        let name = p.ipc_name();
        match params.get(&name) {
            None | Some(Value::Null) => {
                return Err(ServiceError::BadRequest(format!("path: {name}: missing")))
            }
            Some(v) => values.push(v.clone()),
        }
    }
    let value = match values.len() {
        0 => Value::Null,
        1 => values.pop().unwrap_or_default(),
        _ => Value::Array(values),
    };
    serde_json::from_value(value).map_err(|e| ServiceError::BadRequest(format!("path: {e}")))
}

/// `O` called with IPC arguments, its answer as JSON.
pub async fn run_ipc<O: Operation>(
    desk: &ReplayDesk,
    args: IpcArgs,
    actor: &Actor,
) -> ServiceResult<Value> {
    let path = ipc_path::<O>(&args.params)?;
    let raw = RawInput {
        query: args.query,
        body: match args.body {
            None => RawBody::Absent,
            Some(v) => RawBody::Json(v),
        },
    };
    // An IPC body that is left out is an empty object for the operations that need one:
    // the console sends none when every field is absent.
    let raw = match (O::INPUT, raw.body) {
        (InputKind::Body, RawBody::Absent) => RawInput {
            body: RawBody::Json(Value::Null),
            ..raw
        },
        (_, body) => RawInput { body, ..raw },
    };
    let input = O::decode(raw)?;
    let out = O::call(desk, path, input, actor).await?;
    serde_json::to_value(out).map_err(|e| ServiceError::Internal(format!("answer: {e}")))
}

/// Every declared operation's name.
pub fn names() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);
    impl Visit for Names {
        fn visit<O: Operation>(&mut self) {
            self.0.push(O::NAME);
        }
    }
    let mut n = Names(Vec::new());
    table::visit_all(&mut n);
    n.0
}

/// Calls the operation named `name` with IPC arguments (the Tauri door).
pub async fn dispatch(
    desk: &ReplayDesk,
    name: &str,
    args: IpcArgs,
    actor: &Actor,
) -> ServiceResult<Value> {
    table::dispatch(desk, name, args, actor).await
}

pub use table::visit_all;

mod typescript;
pub use typescript::{ts_of, typescript};

/// Declares the operations: one entry each (see [`table`]).
macro_rules! operations {
    ($(
        $(#[doc = $doc:tt])*
        $name:ident: $method:ident $path:tt => $status:tt, $role:ident,
            path ($($pp:ident: $pt:ty),*),
            input $kind:ident [$($in:tt)*],
            output $okind:ident [$($out:tt)+],
            |$desk:ident, $input:pat_param, $actor:pat_param| $body:expr;
    )*) => {
        $(
            $(#[doc = $doc])*
            pub mod $name {
                #[allow(unused_imports)]
                use super::*;

                /// The declaration as an [`Operation`](crate::api::Operation).
                pub struct Op;

                /// Its OpenAPI description (`utoipa::Path`).
                pub struct Doc;

                operations!(@doc $name $method $path $status $kind [$($in)*] $okind [$($out)+] $(#[doc = $doc])*);

                impl $crate::api::Operation for Op {
                    const NAME: &'static str = stringify!($name);
                    const METHOD: $crate::api::Method = operations!(@method $method);
                    const PATH: &'static str = $path;
                    const STATUS: u16 = $status;
                    const ROLE: $crate::api::Role = $crate::api::Role::$role;
                    const INPUT: $crate::api::InputKind = operations!(@kind $kind);
                    const PARAMS: &'static [$crate::api::Param] = &[
                        $($crate::api::Param { name: stringify!($pp), rust: stringify!($pt) }),*
                    ];
                    const DESCRIPTION: &'static str = concat!($($doc, "\n"),*);
                    type Path = operations!(@path_ty $($pt),*);
                    type Input = operations!(@in_ty $kind [$($in)*]);
                    type Output = $($out)+;

                    fn decode(
                        raw: $crate::api::RawInput,
                    ) -> $crate::ServiceResult<Self::Input> {
                        operations!(@decode $kind raw)
                    }

                    #[allow(clippy::manual_async_fn)]
                    fn call<'a>(
                        desk: &'a $crate::ReplayDesk,
                        path: Self::Path,
                        input: Self::Input,
                        actor: &'a $crate::Actor,
                    ) -> impl ::std::future::Future<
                        Output = $crate::ServiceResult<Self::Output>,
                    > + Send + 'a {
                        async move {
                            #[allow(unused_variables, clippy::let_unit_value)]
                            let operations!(@path_pat $($pp),*) = path;
                            let $desk = desk;
                            #[allow(clippy::let_unit_value)]
                            let $input = input;
                            let $actor = actor;
                            $body.await
                        }
                    }

                    fn openapi_without_params(
                        schemas: &mut $crate::api::Schemas,
                    ) -> utoipa::openapi::path::Operation {
                        <Doc as utoipa::__dev::SchemaReferences>::schemas(schemas);
                        <Doc as utoipa::Path>::operation()
                    }

                    fn typescript() -> $crate::api::TsTypes {
                        let mut imports = Vec::new();
                        let input = operations!(@ts_in $kind [$($in)*] imports);
                        let response = $crate::api::ts_of::<$($out)+>(&mut imports);
                        $crate::api::TsTypes { input, response, imports }
                    }
                }
            }
        )*

        /// Calls `v` once for each declared operation, in the table's order.
        pub fn visit_all(v: &mut impl $crate::api::Visit) {
            $( v.visit::<$name::Op>(); )*
        }

        /// The operation named `name`, called with IPC arguments.
        pub async fn dispatch(
            desk: &$crate::ReplayDesk,
            name: &str,
            args: $crate::api::IpcArgs,
            actor: &$crate::Actor,
        ) -> $crate::ServiceResult<serde_json::Value> {
            match name {
                $( stringify!($name) => $crate::api::run_ipc::<$name::Op>(desk, args, actor).await, )*
                other => Err($crate::ServiceError::NotFound(format!(
                    "no such operation: {other:?}"
                ))),
            }
        }
    };

    (@method get) => { $crate::api::Method::Get };
    (@method post) => { $crate::api::Method::Post };
    (@method put) => { $crate::api::Method::Put };
    (@method patch) => { $crate::api::Method::Patch };
    (@method delete) => { $crate::api::Method::Delete };

    (@kind none) => { $crate::api::InputKind::None };
    (@kind query) => { $crate::api::InputKind::Query };
    (@kind body) => { $crate::api::InputKind::Body };
    (@kind optional_body) => { $crate::api::InputKind::OptionalBody };
    (@kind bundle) => { $crate::api::InputKind::Bundle };

    (@path_ty) => { () };
    (@path_ty $a:ty) => { $a };
    (@path_ty $a:ty, $b:ty) => { ($a, $b) };
    (@path_pat) => { () };
    (@path_pat $a:ident) => { $a };
    (@path_pat $a:ident, $b:ident) => { ($a, $b) };

    (@in_ty none []) => { () };
    (@in_ty bundle []) => { $crate::api::BundleInput };
    (@in_ty $kind:ident [$($in:tt)+]) => { $($in)+ };

    (@decode none $raw:ident) => {{ let _ = $raw; Ok(()) }};
    (@decode query $raw:ident) => { $raw.query() };
    (@decode body $raw:ident) => { $raw.body() };
    (@decode optional_body $raw:ident) => { $raw.optional_body() };
    (@decode bundle $raw:ident) => { $raw.bundle() };

    (@ts_in none [] $imports:ident) => { None };
    (@ts_in bundle [] $imports:ident) => { Some("body: unknown".to_owned()) };
    (@ts_in query [$($in:tt)+] $imports:ident) => {
        Some(format!("query?: {}", $crate::api::ts_of::<$($in)+>(&mut $imports)))
    };
    (@ts_in body [$($in:tt)+] $imports:ident) => {
        Some(format!("body: {}", $crate::api::ts_of::<$($in)+>(&mut $imports)))
    };
    (@ts_in optional_body [$($in:tt)+] $imports:ident) => {
        Some(format!("body?: {}", $crate::api::ts_of::<$($in)+>(&mut $imports)))
    };

    // The OpenAPI description, by `#[utoipa::path]` on an empty function named as the
    // operation (so that utoipa names and collects the schemas as for a handler).
    (@doc $name:ident $method:ident $path:tt $status:tt none [] $okind:ident [$($out:tt)+] $($attr:tt)*) => {
        operations!(@doc2 $name $method $path $status [] [] $okind [$($out)+] $($attr)*);
    };
    (@doc $name:ident $method:ident $path:tt $status:tt query [$($in:tt)+] $okind:ident [$($out:tt)+] $($attr:tt)*) => {
        operations!(@doc2 $name $method $path $status [params($($in)+),] [] $okind [$($out)+] $($attr)*);
    };
    (@doc $name:ident $method:ident $path:tt $status:tt body [$($in:tt)+] $okind:ident [$($out:tt)+] $($attr:tt)*) => {
        operations!(@doc2 $name $method $path $status [] [request_body = $($in)+,] $okind [$($out)+] $($attr)*);
    };
    (@doc $name:ident $method:ident $path:tt $status:tt optional_body [$($in:tt)+] $okind:ident [$($out:tt)+] $($attr:tt)*) => {
        operations!(@doc2 $name $method $path $status [] [request_body(content = Option<$($in)+>, description = "optional: every field may be left out, and so may the body"),] $okind [$($out)+] $($attr)*);
    };
    (@doc $name:ident $method:ident $path:tt $status:tt bundle [] $okind:ident [$($out:tt)+] $($attr:tt)*) => {
        operations!(@doc2 $name $method $path $status [] [request_body(content_type = "application/json", description = "a class bundle as `GET /v1/admin/classes/{class_id}/export` gives it (type `ClassBundle` in ui/src/bindings), up to 512 MiB"),] $okind [$($out)+] $($attr)*);
    };
    (@doc2 $name:ident $method:ident $path:tt $status:tt [$($params:tt)*] [$($req:tt)*] json [$($out:tt)+] $($attr:tt)*) => {
        #[utoipa::path($method, path = $path, impl_for = Doc, security(("token" = []), ("session" = [])), $($params)* $($req)*
            responses(
                (status = $status, body = $($out)+),
                (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody),
                (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)
            ))]
        $($attr)*
        #[allow(dead_code)]
        pub fn $name() {}
    };
    (@doc2 $name:ident $method:ident $path:tt $status:tt [$($params:tt)*] [$($req:tt)*] untyped [$($out:tt)+] $($attr:tt)*) => {
        #[utoipa::path($method, path = $path, impl_for = Doc, security(("token" = []), ("session" = [])), $($params)* $($req)*
            responses(
                (status = $status, description = "JSON; its type is in the console's bindings (ui/src/bindings/operations.ts names it)", content_type = "application/json"),
                (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody),
                (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)
            ))]
        $($attr)*
        #[allow(dead_code)]
        pub fn $name() {}
    };
    (@doc2 $name:ident $method:ident $path:tt $status:tt [$($params:tt)*] [$($req:tt)*] empty [$($out:tt)+] $($attr:tt)*) => {
        #[utoipa::path($method, path = $path, impl_for = Doc, security(("token" = []), ("session" = [])), $($params)* $($req)*
            responses(
                (status = $status, description = "done (no body)"),
                (status = "4XX", description = "refused: `{error, detail}`", body = ErrorBody),
                (status = "5XX", description = "failed: `{error, detail}`", body = ErrorBody)
            ))]
        $($attr)*
        #[allow(dead_code)]
        pub fn $name() {}
    };
}

pub mod models;
pub mod table;

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes the console's operation table next to the other ts-rs bindings (CI's
    /// bindings step then checks it is committed as generated).
    #[test]
    fn export_operations_bindings() {
        let dir =
            std::env::var("TS_RS_EXPORT_DIR").unwrap_or_else(|_| "../../ui/src/bindings".into());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let text = typescript();
        let file = dir.join("operations.ts");
        if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&file, text).unwrap();
        }
    }

    #[test]
    fn names_are_unique_and_paths_have_their_parameters() {
        struct Check(
            std::collections::BTreeSet<(&'static str, &'static str)>,
            Vec<&'static str>,
        );
        impl Visit for Check {
            fn visit<O: Operation>(&mut self) {
                assert!(!self.1.contains(&O::NAME), "{} declared twice", O::NAME);
                self.1.push(O::NAME);
                assert!(
                    self.0.insert((O::METHOD.as_str(), O::PATH)),
                    "{} {} declared twice",
                    O::METHOD.as_str(),
                    O::PATH
                );
                let holes: Vec<&str> = O::PATH
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                    .collect();
                let params: Vec<&str> = O::PARAMS.iter().map(|p| p.name).collect();
                assert_eq!(holes, params, "{}: path parameters", O::NAME);
                // The IPC door's own arguments: a path parameter of these names would be
                // taken for them.
                for p in &params {
                    assert!(
                        !["name", "query", "body"].contains(p),
                        "{}: path parameter {p:?} collides with the IPC command's own",
                        O::NAME
                    );
                }
                assert!(!O::DESCRIPTION.trim().is_empty(), "{}: described", O::NAME);
            }
        }
        let mut c = Check(Default::default(), Vec::new());
        visit_all(&mut c);
        assert!(c.1.len() >= 30);
    }
}
