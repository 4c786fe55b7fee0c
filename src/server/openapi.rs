//! `GET /v1/openapi.json`: the HTTP API described as OpenAPI 3.1 (written by hand; the
//! server test checks that every route it serves is described here).

use axum::Json;
use serde_json::{json, Map, Value};

/// `GET /v1/openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(document())
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn ok(status: &str, description: &str, schema: Option<Value>) -> (String, Value) {
    let mut r = json!({ "description": description });
    if let Some(s) = schema {
        r["content"] = json!({ "application/json": { "schema": s } });
    }
    (status.to_owned(), r)
}

fn errors(codes: &[&str]) -> Vec<(String, Value)> {
    codes
        .iter()
        .map(|c| {
            (
                (*c).to_owned(),
                json!({ "$ref": format!("#/components/responses/E{c}") }),
            )
        })
        .collect()
}

struct Op {
    summary: &'static str,
    security: Option<&'static str>,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Vec<(String, Value)>,
}

fn op(o: Op) -> Value {
    let mut v = json!({ "summary": o.summary });
    match o.security {
        Some(s) => v["security"] = json!([{ s: [] }]),
        None => v["security"] = json!([]),
    }
    if !o.params.is_empty() {
        v["parameters"] = Value::Array(o.params);
    }
    if let Some(b) = o.body {
        v["requestBody"] = b;
    }
    let mut r = Map::new();
    for (k, x) in o.responses {
        r.insert(k, x);
    }
    v["responses"] = Value::Object(r);
    v
}

fn path_param(name: &str, kind: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": kind } })
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": description })
}

fn page_params() -> Vec<Value> {
    vec![
        query(
            "cursor",
            json!({"type": "integer"}),
            "The previous page's next_cursor.",
        ),
        query(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
            "Items per page.",
        ),
    ]
}

fn message_query(with_class: bool) -> Vec<Value> {
    let mut v = vec![
        query("status", json!({"type": "string"}), "pending, sending, sent, retrying, failed; repeatable or comma-separated."),
        query("type", json!({"type": "string"}), "1001..1004 or class_start, class_end, timeline, recording; repeatable or comma-separated."),
        query("uid", json!({"type": "string"}), "Exactly this uid."),
        query("from", json!({"type": "integer"}), "Created at or after (unix ms)."),
        query("to", json!({"type": "integer"}), "Created before (unix ms)."),
        query("updated_from", json!({"type": "integer"}), "Last changed at or after (unix ms)."),
        query("retried", json!({"type": "boolean"}), "More than one attempt (true) or at most one (false)."),
        query("q", json!({"type": "string"}), "Text contained in the message's Data."),
    ];
    if with_class {
        v.push(query(
            "class",
            json!({"type": "string"}),
            "Only this class.",
        ));
    }
    v.extend(page_params());
    v
}

fn page_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": { "type": "array", "items": schema_ref(item) },
            "next_cursor": { "type": ["integer", "null"], "description": "Pass as cursor for the next page; null on the last." }
        }
    })
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": props })
}

fn components() -> Value {
    let counts = obj(
        &["pending", "sending", "sent", "retrying", "failed", "total"],
        json!({
            "pending": {"type": "integer"}, "sending": {"type": "integer"}, "sent": {"type": "integer"},
            "retrying": {"type": "integer"}, "failed": {"type": "integer"}, "total": {"type": "integer"}
        }),
    );
    let class_props = json!({
        "class_id": {"type": "string"}, "group_id": {"type": "string"}, "teacher_uid": {"type": "string"},
        "state": {"enum": ["created", "started", "ended"]},
        "created_at": {"type": "integer"}, "started_at": {"type": ["integer", "null"]}, "ended_at": {"type": ["integer", "null"]}
    });
    let mut created = class_props.clone();
    created["teacher_credential"] = json!({"type": "string", "description": "The teacher's report credential: speaks for teacher_uid only."});
    created["report_token"] = json!({"type": ["string", "null"], "description": "The class-wide token (legacy_class_token only). Shown once; only its SHA-256 is stored."});
    created["group_created"] = json!({"type": "boolean"});
    let mut summary = class_props.clone();
    summary["counts"] = schema_ref("StatusCounts");
    summary["members"] = json!({"type": "integer"});
    let status = json!({"enum": ["pending", "sending", "sent", "retrying", "failed"]});
    let msg_type = json!({"enum": ["class_start", "class_end", "timeline", "recording"]});
    let filter = json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Every field narrows; at least one must be given.",
        "properties": {
            "class_id": {"type": "string"},
            "statuses": {"type": "array", "items": status},
            "types": {"type": "array", "items": {"oneOf": [msg_type, {"type": "integer", "minimum": 1001, "maximum": 1004}]}},
            "uid": {"type": "string"},
            "created_from": {"type": "integer"}, "created_to": {"type": "integer"},
            "updated_from": {"type": "integer"}, "retried": {"type": "boolean"}, "text": {"type": "string"}
        }
    });
    let mut c = json!({
        "securitySchemes": {
            "admin": {"type": "http", "scheme": "bearer", "description": "The admin token (admin_token / REPLAYDESK_ADMIN_TOKEN). X-ReplayDesk-Actor names the person for the audit log."},
            "report": {"type": "http", "scheme": "bearer", "description": "A member's report credential (speaks for one uid of one class): the teacher's comes with the class, students' from POST /v1/admin/classes/{class_id}/members/{uid}/credential. Legacy: the class-wide token of a class created with legacy_class_token."}
        },
        "schemas": {
            "Error": obj(&["error", "detail"], json!({"error": {"type": "string"}, "detail": {"type": "string"}})),
            "AppInfo": obj(&["version", "sandbox", "im_endpoint"], json!({
                "version": {"type": "string"}, "sandbox": {"type": "boolean"}, "im_endpoint": {"type": ["string", "null"]}
            })),
            "CreateClass": {
                "type": "object", "additionalProperties": false,
                "required": ["class_id", "group_id", "teacher_uid"],
                "properties": {
                    "class_id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
                    "group_id": {"type": "string", "maxLength": 48, "description": "Printable ASCII, not starting with @TGS#."},
                    "teacher_uid": {"type": "string", "maxLength": 128},
                    "create_group": {"type": "boolean", "default": false},
                    "legacy_class_token": {"type": "boolean", "default": false, "description": "Also accept one class-wide report token (legacy)."},
                    "open_enrolment": {"type": "boolean", "default": false, "description": "Accept uids the class does not know (legacy token only)."}
                }
            },
            "CreatedClass": obj(&["class_id", "group_id", "teacher_uid", "state", "created_at", "teacher_credential", "report_token", "group_created"], created),
            "MemberCredential": obj(&["class_id", "uid", "role", "credential"], json!({
                "class_id": {"type": "string"}, "uid": {"type": "string"}, "role": {"enum": ["teacher", "student"]},
                "credential": {"type": "string", "description": "Bearer credential for this uid's reports to this class only."}
            })),
            "ClassSummary": obj(&["class_id", "group_id", "teacher_uid", "state", "created_at", "counts", "members"], summary),
            "StatusCounts": counts,
            "TimelineReport": obj(&["uid", "timestamp"], json!({
                "uid": {"type": "string", "minLength": 1, "maxLength": 128, "description": "No control characters."},
                "timestamp": {"type": "integer", "minimum": 0, "maximum": 9_007_199_254_740_992_u64, "description": "The client's clock, ms."},
                "rtt_ms": {"type": "number", "minimum": 0, "maximum": 60000, "description": "Measured round trip; time_line = arrival − rtt_ms/2."}
            })),
            "TimelineAccepted": obj(&["message_id", "seq", "time_line"], json!({
                "message_id": {"type": "integer"}, "seq": {"type": "integer"}, "time_line": {"type": "integer", "description": "Server unix ms in the 1003."}
            })),
            "ClassEventReport": obj(&["uid", "timestamp"], json!({
                "uid": {"type": "string", "minLength": 1, "maxLength": 128},
                "timestamp": {"type": "integer", "minimum": 0, "maximum": 9_007_199_254_740_992_u64}
            })),
            "ClassEventAccepted": obj(&["message_id", "seq"], json!({"message_id": {"type": "integer"}, "seq": {"type": "integer"}})),
            "Member": obj(&["class_id", "uid", "role", "first_seen_at", "last_seen_at"], json!({
                "class_id": {"type": "string"}, "uid": {"type": "string"}, "role": {"enum": ["teacher", "student"]},
                "first_seen_at": {"type": "integer"}, "last_seen_at": {"type": "integer"}
            })),
            "TimelineReportRecord": obj(&["id", "received_at", "accepted", "body"], json!({
                "id": {"type": "integer"}, "class_id": {"type": ["string", "null"]}, "uid": {"type": ["string", "null"]},
                "client_timestamp": {"type": ["integer", "null"]}, "rtt_ms": {"type": ["integer", "null"]},
                "received_at": {"type": "integer"}, "time_line": {"type": ["integer", "null"]},
                "uncertainty_ms": {"type": ["integer", "null"]}, "message_id": {"type": ["integer", "null"]},
                "accepted": {"type": "boolean"}, "refusal_reason": {"type": ["string", "null"]}, "body": {"type": "string"}
            })),
            "StoredMessage": obj(&["id", "class_id", "group_id", "msg_type", "uid", "seq", "random", "data", "status", "attempt_count", "created_at", "updated_at"], json!({
                "id": {"type": "integer"}, "class_id": {"type": "string"}, "group_id": {"type": "string"},
                "msg_type": msg_type, "uid": {"type": "string"}, "seq": {"type": "integer"}, "random": {"type": "integer"},
                "data": {"type": "string", "description": "The exact Data text sent to the group."},
                "status": status, "attempt_count": {"type": "integer"}, "next_attempt_at": {"type": ["integer", "null"]},
                "last_error": {"type": ["string", "null"]}, "im_msg_seq": {"type": ["integer", "null"]},
                "im_msg_time": {"type": ["integer", "null"]}, "created_at": {"type": "integer"},
                "updated_at": {"type": "integer"}, "sent_at": {"type": ["integer", "null"]}
            })),
            "Attempt": obj(&["id", "message_id", "trigger", "random", "started_at", "duration_ms", "outcome"], json!({
                "id": {"type": "integer"}, "message_id": {"type": "integer"},
                "trigger": {"enum": ["scheduled", "manual", "bulk", "recovery"]}, "random": {"type": "integer"},
                "started_at": {"type": "integer"}, "duration_ms": {"type": "integer"},
                "http_status": {"type": ["integer", "null"]}, "im_error_code": {"type": ["integer", "null"]},
                "im_error_info": {"type": ["string", "null"]}, "transport_error": {"type": ["string", "null"]},
                "outcome": {"enum": ["sent", "retry", "slow_down", "permanent", "credentials", "ambiguous", "found_in_history", "interrupted"]}
            })),
            "MessageDetail": obj(&["message", "attempts"], json!({
                "message": schema_ref("StoredMessage"), "attempts": {"type": "array", "items": schema_ref("Attempt")}
            })),
            "ResendOutcome": obj(&["queued", "message"], json!({"queued": {"type": "boolean"}, "message": schema_ref("StoredMessage")})),
            "MessageFilter": filter,
            "Job": obj(&["id", "kind", "filter", "actor", "state", "total", "done", "failed", "created_at", "updated_at"], json!({
                "id": {"type": "integer"}, "kind": {"enum": ["bulk_resend", "recover_failed"]},
                "filter": {"type": "object"}, "actor": {"type": "string"},
                "state": {"enum": ["enqueuing", "running", "finished"]},
                "total": {"type": "integer"}, "done": {"type": "integer"}, "failed": {"type": "integer"},
                "created_at": {"type": "integer"}, "updated_at": {"type": "integer"}, "finished_at": {"type": ["integer", "null"]}
            })),
            "AuditEntry": obj(&["id", "at", "actor", "action", "target", "detail"], json!({
                "id": {"type": "integer"}, "at": {"type": "integer"}, "actor": {"type": "string"},
                "action": {"type": "string"}, "target": {"type": "string"}, "detail": {}
            })),
            "Alert": obj(&["id", "kind", "detail", "raised_at"], json!({
                "id": {"type": "integer"}, "kind": {"type": "string"}, "detail": {"type": "string"},
                "raised_at": {"type": "integer"}, "cleared_at": {"type": ["integer", "null"]}
            }))
        },
        "responses": {
            "E400": {"description": "Malformed JSON, or a bad path or query parameter", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E401": {"description": "Token missing or wrong", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E403": {"description": "Another class's report token", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E404": {"description": "Unknown class, message, job or callback", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E409": {"description": "Class id or group already taken; a callback not unmatched, or its file already recorded elsewhere; a class start after the class ended; reopening a class that has not ended", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E413": {"description": "Body larger than max_body_bytes", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E415": {"description": "Body not JSON (form, multipart)", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E422": {"description": "A field missing, of the wrong type or out of range", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E502": {"description": "The IM service refused or could not be reached", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "E503": {"description": "The server is stopping", "content": {"application/json": {"schema": schema_ref("Error")}}}
        }
    });
    for (name, schema) in callback_schemas() {
        c["schemas"][name] = schema;
    }
    c
}

/// The recording callback's schemas (kept apart: one `json!` this large exceeds the macro
/// recursion limit).
fn callback_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "RecordingCallbackBody",
            json!({
                "type": "object",
                "required": ["sign", "t"],
                "description": "As the streaming cloud sends it (PROTOCOL.md section 5); numbers may come as strings; other fields are kept.",
                "properties": {
                    "event_type": {"type": ["integer", "string"], "description": "100: a recording file is ready; others are acknowledged and ignored."},
                    "stream_id": {"type": "string"}, "channel_id": {"type": "string"}, "stream_param": {"type": "string"},
                    "file_id": {"type": ["string", "integer"]}, "record_file_id": {"type": ["string", "integer"]}, "video_id": {"type": "string"},
                    "start_time": {"type": ["integer", "string"]}, "end_time": {"type": ["integer", "string"]},
                    "duration": {"type": ["integer", "string"]}, "file_size": {"type": ["integer", "string"]},
                    "video_url": {"type": "string"}, "media_start_time": {"type": ["integer", "string"]},
                    "t": {"type": ["integer", "string"], "description": "Unix seconds at which the request expires."},
                    "sign": {"type": "string", "description": "md5(callback_key + t), hex."}
                }
            }),
        ),
        (
            "RecordingCallbackRecord",
            obj(
                &["id", "received_at", "status", "body"],
                json!({
                    "id": {"type": "integer"}, "received_at": {"type": "integer"},
                    "status": {"enum": ["accepted", "duplicate", "conflict", "ignored", "refused", "unmatched", "assigned"]},
                    "reason": {"type": ["string", "null"], "description": "Refusal reason (bad_sign, expired, not_json, ...), what the mapping tried (unmatched; kept once assigned), the rule that matched (accepted), the message repeated (duplicate), or the event (ignored)."},
                    "file_key": {"type": ["string", "null"]}, "class_id": {"type": ["string", "null"]}, "uid": {"type": ["string", "null"]},
                    "message_id": {"type": ["integer", "null"], "description": "The file's 1004."},
                    "body": {"type": "string", "description": "The body exactly as received."}
                }),
            ),
        ),
        (
            "AssignCallback",
            json!({
                "type": "object", "additionalProperties": false, "required": ["class_id", "uid"],
                "properties": {"class_id": {"type": "string"}, "uid": {"type": "string", "minLength": 1, "maxLength": 128}}
            }),
        ),
        (
            "AssignedCallback",
            obj(
                &["callback", "message", "message_created"],
                json!({
                    "callback": schema_ref("RecordingCallbackRecord"), "message": schema_ref("StoredMessage"),
                    "message_created": {"type": "boolean", "description": "False: the file's 1004 already existed for this class and user."}
                }),
            ),
        ),
    ]
}

/// The OpenAPI document.
pub fn document() -> Value {
    let with = |mut ok: Vec<(String, Value)>, errs: &[&str]| {
        ok.extend(errors(errs));
        ok
    };
    let report_errors = ["400", "401", "403", "404", "413", "415", "422", "503"];
    let class_param = || path_param("class_id", "string");
    let id_param = || path_param("id", "integer");
    let paths = json!({
        "/healthz": {"get": op(Op { summary: "Liveness: {\"status\":\"ok\"}", security: None, params: vec![], body: None,
            responses: vec![ok("200", "Up", Some(json!({"type": "object"})))] })},
        "/metrics": {"get": op(Op { summary: "Prometheus text format 0.0.4", security: None, params: vec![], body: None,
            responses: vec![("200".into(), json!({"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}))] })},
        "/v1/info": {"get": op(Op { summary: "Version and mode (sandbox: messages go to the built-in IM emulator)", security: None, params: vec![], body: None,
            responses: vec![ok("200", "Info", Some(schema_ref("AppInfo")))] })},
        "/v1/time": {"get": op(Op { summary: "The server clock, for round-trip estimation", security: None, params: vec![], body: None,
            responses: vec![ok("200", "Server time", Some(obj(&["server_ms"], json!({"server_ms": {"type": "integer"}}))))] })},
        "/v1/openapi.json": {"get": op(Op { summary: "This document", security: None, params: vec![], body: None,
            responses: vec![ok("200", "OpenAPI 3.1", Some(json!({"type": "object"})))] })},
        "/v1/classes": {"post": op(Op { summary: "Create a class (and its ReplayGroup when create_group); returns its report token", security: Some("admin"),
            params: vec![], body: Some(body(schema_ref("CreateClass"))),
            responses: with(vec![ok("201", "Created", Some(schema_ref("CreatedClass")))], &["400", "401", "409", "413", "415", "422", "502"]) })},
        "/v1/classes/{class_id}/timeline": {"post": op(Op { summary: "Timeline report → 1003 (answered once durable; a repeat of uid+timestamp is the same message)", security: Some("report"),
            params: vec![class_param()], body: Some(body(schema_ref("TimelineReport"))),
            responses: with(vec![ok("202", "Accepted", Some(schema_ref("TimelineAccepted")))], &report_errors) })},
        "/v1/classes/{class_id}/start": {"post": op(Op { summary: "Class started → 1001, once per class: a retry (any timestamp) answers with the same message; 409 after the class ended (an admin may reopen it)", security: Some("report"),
            params: vec![class_param()], body: Some(body(schema_ref("ClassEventReport"))),
            responses: with(vec![ok("202", "Accepted", Some(schema_ref("ClassEventAccepted"))), ("409".into(), json!({ "$ref": "#/components/responses/E409" }))], &report_errors) })},
        "/v1/classes/{class_id}/end": {"post": op(Op { summary: "Class ended → 1002, once per class: a retry (any timestamp) answers with the same message", security: Some("report"),
            params: vec![class_param()], body: Some(body(schema_ref("ClassEventReport"))),
            responses: with(vec![ok("202", "Accepted", Some(schema_ref("ClassEventAccepted")))], &report_errors) })},
        "/v1/callbacks/recording": {"post": op(Op { summary: "The streaming cloud's recording callback (PROTOCOL.md section 5). No token: sign = md5(callback_key + t) authenticates it. Every body is kept; a recording file ready (event_type 100) that maps to a class is stored with its 1004 before the answer, once per file", security: None,
            params: vec![], body: Some(body(schema_ref("RecordingCallbackBody"))),
            responses: vec![
                ok("200", "Recorded (accepted, duplicate, ignored or unmatched): {\"code\":0}", Some(obj(&["code"], json!({"code": {"const": 0}})))),
                ok("400", "Refused, not JSON (error not_json)", Some(schema_ref("Error"))),
                ok("401", "Refused: error bad_sign, expired (t + callback_skew_secs has passed) or no_callback_key", Some(schema_ref("Error"))),
                ("413".into(), json!({ "$ref": "#/components/responses/E413" })),
                ok("422", "Refused: error not_an_object, missing_field (sign or t) or invalid_field; the detail names the field", Some(schema_ref("Error"))),
                ok("500", "Could not be recorded; the cloud retries", Some(schema_ref("Error"))),
                ("503".into(), json!({ "$ref": "#/components/responses/E503" })),
            ] })},
        "/v1/admin/classes": {"get": op(Op { summary: "Every class with per-status message counts", security: Some("admin"), params: vec![], body: None,
            responses: with(vec![ok("200", "Classes", Some(json!({"type": "array", "items": schema_ref("ClassSummary")})))], &["401"]) })},
        "/v1/admin/classes/{class_id}": {"get": op(Op { summary: "One class with its counts", security: Some("admin"), params: vec![class_param()], body: None,
            responses: with(vec![ok("200", "Class", Some(schema_ref("ClassSummary")))], &["401", "404"]) })},
        "/v1/admin/classes/{class_id}/members": {"get": op(Op { summary: "Members learnt from reports", security: Some("admin"), params: vec![class_param()], body: None,
            responses: with(vec![ok("200", "Members", Some(json!({"type": "array", "items": schema_ref("Member")})))], &["401", "404"]) })},
        "/v1/admin/classes/{class_id}/members/{uid}/credential": {"post": op(Op { summary: "A member's report credential (an unknown uid is enrolled as a student)", security: Some("admin"),
            params: vec![class_param(), json!({"name": "uid", "in": "path", "required": true, "schema": {"type": "string"}})], body: None,
            responses: with(vec![ok("200", "Credential", Some(schema_ref("MemberCredential")))], &["400", "401", "404", "422"]) })},
        "/v1/admin/classes/{class_id}/reopen": {"post": op(Op { summary: "Reopen an ended class on purpose: it may start and end once more (one more 1001 and 1002). Audited", security: Some("admin"),
            params: vec![class_param()], body: None,
            responses: with(vec![ok("200", "Class", Some(schema_ref("ClassSummary")))], &["400", "401", "404", "409"]) })},
        "/v1/admin/classes/{class_id}/reports": {"get": op(Op { summary: "Timeline reports as received (accepted and refused), newest first", security: Some("admin"),
            params: { let mut p = vec![class_param()]; p.extend(page_params()); p }, body: None,
            responses: with(vec![ok("200", "Page", Some(page_of("TimelineReportRecord")))], &["400", "401", "404"]) })},
        "/v1/admin/classes/{class_id}/messages": {"get": op(Op { summary: "A class's messages, filtered, newest first", security: Some("admin"),
            params: { let mut p = vec![class_param()]; p.extend(message_query(false)); p }, body: None,
            responses: with(vec![ok("200", "Page", Some(page_of("StoredMessage")))], &["400", "401", "404"]) })},
        "/v1/admin/classes/{class_id}/alignment": {"get": op(Op { summary: "Where the class's users, videos and events land on the server axis, and what is wrong (the group's history when reconciled, else the log)", security: Some("admin"), params: vec![class_param()], body: None,
            responses: with(vec![ok("200", "Alignment (type Alignment in ui/src/bindings)", Some(json!({"type": "object"})))], &["401", "404"]) })},
        "/v1/admin/messages": {"get": op(Op { summary: "Messages of every class, filtered, newest first", security: Some("admin"),
            params: message_query(true), body: None,
            responses: with(vec![ok("200", "Page", Some(page_of("StoredMessage")))], &["400", "401", "404"]) })},
        "/v1/admin/messages/{id}": {"get": op(Op { summary: "One message with every attempt", security: Some("admin"), params: vec![id_param()], body: None,
            responses: with(vec![ok("200", "Message", Some(schema_ref("MessageDetail")))], &["400", "401", "404"]) })},
        "/v1/admin/messages/{id}/resend": {"post": op(Op { summary: "Resend one message (same seq; new Random if it had been sent). Audited", security: Some("admin"),
            params: vec![id_param()], body: None,
            responses: with(vec![ok("202", "Queued (queued=false: in flight now)", Some(schema_ref("ResendOutcome")))], &["400", "401", "404"]) })},
        "/v1/admin/resend": {"post": op(Op { summary: "Bulk resend of the messages matching a filter, as a job. Audited", security: Some("admin"),
            params: vec![], body: Some(body(schema_ref("MessageFilter"))),
            responses: with(vec![ok("202", "Job started", Some(schema_ref("Job")))], &["400", "401", "404", "413", "415", "422"]) })},
        "/v1/admin/recover": {"post": op(Op { summary: "Queue again every message failed since since_ms, as a job. Audited", security: Some("admin"),
            params: vec![], body: Some(body(obj(&["since_ms"], json!({"since_ms": {"type": "integer", "minimum": 0}, "class_id": {"type": "string"}})))),
            responses: with(vec![ok("202", "Job started", Some(schema_ref("Job")))], &["400", "401", "404", "413", "415", "422"]) })},
        "/v1/admin/jobs": {"get": op(Op { summary: "Jobs, newest first", security: Some("admin"),
            params: vec![query("limit", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}), "How many.")], body: None,
            responses: with(vec![ok("200", "Jobs", Some(json!({"type": "array", "items": schema_ref("Job")})))], &["400", "401"]) })},
        "/v1/admin/jobs/{id}": {"get": op(Op { summary: "A job and its progress", security: Some("admin"), params: vec![id_param()], body: None,
            responses: with(vec![ok("200", "Job", Some(schema_ref("Job")))], &["400", "401", "404"]) })},
        "/v1/admin/audit": {"get": op(Op { summary: "The audit log, newest first", security: Some("admin"), params: page_params(), body: None,
            responses: with(vec![ok("200", "Page", Some(page_of("AuditEntry")))], &["400", "401"]) })},
        "/v1/admin/alerts": {"get": op(Op { summary: "Open alerts (e.g. im_credentials: the IM refused the key; sending paused)", security: Some("admin"), params: vec![], body: None,
            responses: with(vec![ok("200", "Alerts", Some(json!({"type": "array", "items": schema_ref("Alert")})))], &["401"]) })},
        "/v1/admin/im/secret-key": {"put": op(Op { summary: "Replace the IM secret key; sending resumes. Audited (without the key)", security: Some("admin"),
            params: vec![], body: Some(body(obj(&["secret_key"], json!({"secret_key": {"type": "string"}})))),
            responses: with(vec![ok("204", "Replaced", None)], &["400", "401", "413", "415", "422"]) })},
        "/v1/admin/callbacks": {"get": op(Op { summary: "Recording callbacks as received, with what became of each, newest first", security: Some("admin"),
            params: { let mut p = vec![query("status", json!({"type": "string"}), "all (default), accepted, duplicate, ignored, refused, unmatched, assigned; repeatable or comma-separated.")]; p.extend(page_params()); p }, body: None,
            responses: with(vec![ok("200", "Page", Some(page_of("RecordingCallbackRecord")))], &["400", "401"]) })},
        "/v1/admin/callbacks/{id}": {"get": op(Op { summary: "One recording callback as received", security: Some("admin"), params: vec![id_param()], body: None,
            responses: with(vec![ok("200", "Callback", Some(schema_ref("RecordingCallbackRecord")))], &["400", "401", "404"]) })},
        "/v1/admin/callbacks/{id}/assign": {"post": op(Op { summary: "Assign an unmatched callback to a class and user: its 1004 is stored (once per file) and sent; the callback becomes assigned. Audited", security: Some("admin"),
            params: vec![id_param()], body: Some(body(schema_ref("AssignCallback"))),
            responses: with(vec![ok("200", "Assigned", Some(schema_ref("AssignedCallback")))], &["400", "401", "404", "409", "413", "415", "422"]) })}
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ReplayDesk",
            "version": crate::app::VERSION,
            "description": "The business server of the classroom replay protocol. Errors are JSON {\"error\",\"detail\"}."
        },
        "paths": paths,
        "components": components()
    })
}
