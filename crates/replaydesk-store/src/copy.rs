//! Copying a whole store into another, empty one — `replaydesk migrate-store --from --to`,
//! the move of an SQLite install to PostgreSQL (or back).
//!
//! Table by table in foreign-key order, ids kept, in one transaction on the destination
//! (all or nothing). The column lists below are the schema's; `copy_covers_every_column`
//! in tests/it/store.rs fails when a migration adds a column they do not name.

use super::{Engine, Store, StoreError, StoreResult};
use sqlx::Row;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Bytes,
}
use Kind::{Bytes, Int, Text};

/// Every table and column a store holds, parents before children. `classes`' two message
/// ids are copied after `messages` (they point into it).
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "classes",
        &[
            ("class_id", Text),
            ("group_id", Text),
            ("teacher_uid", Text),
            ("report_token_sha256", Text),
            ("state", Text),
            ("created_at", Int),
            ("started_at", Int),
            ("ended_at", Int),
            ("credential_key", Text),
            ("legacy_class_token", Int),
            ("open_enrolment", Int),
            ("reopen_count", Int),
            ("imported_at", Int),
            ("room_id", Text),
            ("ended_by", Text),
        ],
    ),
    (
        "class_streams",
        &[
            ("class_id", Text),
            ("stream_id", Text),
            ("uid", Text),
            ("created_at", Int),
        ],
    ),
    (
        "class_members",
        &[
            ("class_id", Text),
            ("uid", Text),
            ("role", Text),
            ("first_seen_at", Int),
            ("last_seen_at", Int),
            ("credential_generation", Int),
            ("credential_issued_at", Int),
            ("credential_revoked_at", Int),
        ],
    ),
    (
        "messages",
        &[
            ("id", Int),
            ("class_id", Text),
            ("group_id", Text),
            ("msg_type", Int),
            ("uid", Text),
            ("seq", Int),
            ("random", Int),
            ("data", Text),
            ("dedup_key", Text),
            ("status", Text),
            ("attempt_count", Int),
            ("retry_step", Int),
            ("next_attempt_at", Int),
            ("next_trigger", Text),
            ("ambiguous_since", Int),
            ("last_error", Text),
            ("im_msg_seq", Int),
            ("im_msg_time", Int),
            ("lease_owner", Text),
            ("lease_until", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("sent_at", Int),
        ],
    ),
    (
        "attempts",
        &[
            ("id", Int),
            ("message_id", Int),
            ("trigger_kind", Text),
            ("random", Int),
            ("started_at", Int),
            ("duration_ms", Int),
            ("http_status", Int),
            ("im_error_code", Int),
            ("im_error_info", Text),
            ("transport_error", Text),
            ("outcome", Text),
        ],
    ),
    (
        "timeline_reports",
        &[
            ("id", Int),
            ("class_id", Text),
            ("uid", Text),
            ("client_timestamp", Int),
            ("rtt_ms", Int),
            ("received_at", Int),
            ("time_line", Int),
            ("uncertainty_ms", Int),
            ("message_id", Int),
            ("accepted", Int),
            ("refusal_reason", Text),
            ("body", Text),
            ("rtt_source", Text),
        ],
    ),
    (
        "member_presence",
        &[
            ("class_id", Text),
            ("uid", Text),
            ("last_seen_at", Int),
            ("heartbeats", Int),
            ("clock_run", Int),
            ("last_client_ms", Int),
            ("last_server_ms", Int),
            ("offset_ms", Int),
            ("drift_ppb", Int),
            ("uncertainty_ms", Int),
            ("line_from_ms", Int),
            ("updated_at", Int),
        ],
    ),
    (
        "presence_spans",
        &[
            ("class_id", Text),
            ("uid", Text),
            ("started_at", Int),
            ("ended_at", Int),
        ],
    ),
    (
        "heartbeat_reanchors",
        &[
            ("id", Int),
            ("class_id", Text),
            ("uid", Text),
            ("prev_message_id", Int),
            ("reason", Text),
            ("clock_run", Int),
            ("message_id", Int),
            ("offset_ms", Int),
            ("moved_ms", Int),
            ("uncertainty_ms", Int),
            ("created_at", Int),
        ],
    ),
    (
        "recording_callbacks",
        &[
            ("id", Int),
            ("received_at", Int),
            ("body", Bytes),
            ("status", Text),
            ("reason", Text),
            ("file_key", Text),
            ("class_id", Text),
            ("uid", Text),
            ("message_id", Int),
            ("body_bytes", Int),
            ("source", Text),
        ],
    ),
    (
        "recorder_events",
        &[
            ("id", Int),
            ("source", Text),
            ("task_id", Text),
            ("class_id", Text),
            ("uid", Text),
            ("room_id", Text),
            ("stream_id", Text),
            ("media", Text),
            ("event_type", Int),
            ("event_name", Text),
            ("stage", Text),
            ("event_at", Int),
            ("file_key", Text),
            ("file_start_ms", Int),
            ("file_end_ms", Int),
            ("status", Text),
            ("detail", Text),
            ("dedup_key", Text),
            ("callback_id", Int),
            ("message_id", Int),
            ("received_at", Int),
        ],
    ),
    (
        "jobs",
        &[
            ("id", Int),
            ("kind", Text),
            ("filter", Text),
            ("actor", Text),
            ("state", Text),
            ("cursor", Int),
            ("total_expected", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("finished_at", Int),
        ],
    ),
    ("job_messages", &[("job_id", Int), ("message_id", Int)]),
    (
        "alerts",
        &[
            ("id", Int),
            ("kind", Text),
            ("detail", Text),
            ("raised_at", Int),
            ("cleared_at", Int),
            ("class_id", Text),
            ("subject", Text),
        ],
    ),
    (
        "audit_log",
        &[
            ("id", Int),
            ("at", Int),
            ("actor", Text),
            ("action", Text),
            ("target", Text),
            ("detail", Text),
            ("door", Text),
            ("token_name", Text),
        ],
    ),
    (
        "users",
        &[
            ("id", Int),
            ("name", Text),
            ("role", Text),
            ("password_hash", Text),
            ("setup_code_sha256", Text),
            ("setup_code_expires_at", Int),
            ("created_at", Int),
            ("password_changed_at", Int),
            ("disabled_at", Int),
            ("failed_sign_ins", Int),
            ("last_failed_at", Int),
        ],
    ),
    (
        "api_tokens",
        &[
            ("id", Int),
            ("user_id", Int),
            ("name", Text),
            ("role", Text),
            ("token_sha256", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("last_used_at", Int),
            ("revoked_at", Int),
        ],
    ),
    (
        "group_history",
        &[
            ("class_id", Text),
            ("im_msg_seq", Int),
            ("item", Text),
            ("fetched_at", Int),
            ("is_place", Int),
            ("item_z", Bytes),
        ],
    ),
    (
        "archive_state",
        &[
            ("class_id", Text),
            ("state", Text),
            ("last_seq", Int),
            ("error", Text),
            ("unarchived_since", Int),
            ("last_run_at", Int),
            ("final_pass_at", Int),
            ("updated_at", Int),
        ],
    ),
    (
        "archive_holes",
        &[
            ("class_id", Text),
            ("from_seq", Int),
            ("to_seq", Int),
            ("reason", Text),
        ],
    ),
    (
        "archive_runs",
        &[
            ("id", Int),
            ("class_id", Text),
            ("state", Text),
            ("cause", Text),
            ("pages", Int),
            ("fetched", Int),
            ("error", Text),
            ("actor", Text),
            ("started_at", Int),
            ("updated_at", Int),
            ("finished_at", Int),
        ],
    ),
    (
        "reconcile_runs",
        &[
            ("id", Int),
            ("class_id", Text),
            ("state", Text),
            ("cursor", Int),
            ("pages", Int),
            ("fetched", Int),
            ("error", Text),
            ("actor", Text),
            ("started_at", Int),
            ("updated_at", Int),
            ("finished_at", Int),
            ("report", Text),
        ],
    ),
];

/// Columns a store has that are not data to copy: `classes`' message ids are copied in a
/// second pass; `health_probe` is a liveness scratch row; `rate_budget` (PostgreSQL) is a
/// live pacing state.
pub const COPIED_SEPARATELY: &[(&str, &str)] = &[
    ("classes", "start_message_id"),
    ("classes", "end_message_id"),
];

/// The columns the copy names, per table (for the test that keeps it complete).
pub fn copied_columns() -> Vec<(&'static str, Vec<&'static str>)> {
    TABLES
        .iter()
        .map(|(t, cols)| (*t, cols.iter().map(|(c, _)| *c).collect()))
        .collect()
}

/// Rows read per statement from the source.
const PAGE: i64 = 1000;

impl Store {
    /// Copies every row of `self` into `to`, which must hold no class, message or callback
    /// yet (freshly migrated). Returns the rows copied per table.
    pub async fn copy_into(&self, to: &Store) -> StoreResult<Vec<(&'static str, u64)>> {
        for table in ["classes", "messages", "recording_callbacks", "audit_log"] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(to.reader())
                .await?;
            if n > 0 {
                return Err(StoreError::Conflict(format!(
                    "the destination is not empty ({table} has {n} rows): nothing was copied"
                )));
            }
        }
        let mut tx = to.begin_write().await?;
        let mut counts = Vec::new();
        for (table, cols) in TABLES {
            let select: Vec<String> = cols
                .iter()
                .map(|(c, k)| match (k, self.engine()) {
                    // Older SQLite rows hold a callback body as text.
                    (Bytes, Engine::Sqlite) => format!("CAST({c} AS BLOB) AS {c}"),
                    _ => (*c).to_owned(),
                })
                .collect();
            let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
            let insert = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                marks.join(", ")
            );
            // Every table's first column(s) are its key: a stable order to page by.
            let order = match *table {
                "class_members" => "class_id, uid",
                "class_streams" => "class_id, stream_id",
                "job_messages" => "job_id, message_id",
                "group_history" => "class_id, im_msg_seq",
                "archive_holes" => "class_id, from_seq",
                _ => names[0],
            };
            let mut copied = 0u64;
            let mut offset = 0i64;
            loop {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM {table} ORDER BY {order} LIMIT $1 OFFSET $2",
                    select.join(", ")
                ))
                .bind(PAGE)
                .bind(offset)
                .fetch_all(self.reader())
                .await?;
                for row in &rows {
                    let mut q = sqlx::query(&insert);
                    for (i, (_, kind)) in cols.iter().enumerate() {
                        q = match kind {
                            Int => q.bind(row.try_get::<Option<i64>, _>(i)?),
                            Text => q.bind(row.try_get::<Option<String>, _>(i)?),
                            Bytes => q.bind(row.try_get::<Option<Vec<u8>>, _>(i)?),
                        };
                    }
                    q.execute(&mut *tx).await?;
                    copied += 1;
                }
                if (rows.len() as i64) < PAGE {
                    break;
                }
                offset += PAGE;
            }
            counts.push((*table, copied));
        }
        // The classes' pointers into messages, now that the messages are there.
        let rows = sqlx::query(
            "SELECT class_id, start_message_id, end_message_id FROM classes \
             WHERE start_message_id IS NOT NULL OR end_message_id IS NOT NULL",
        )
        .fetch_all(self.reader())
        .await?;
        for row in &rows {
            sqlx::query(
                "UPDATE classes SET start_message_id = $1, end_message_id = $2 WHERE class_id = $3",
            )
            .bind(row.try_get::<Option<i64>, _>("start_message_id")?)
            .bind(row.try_get::<Option<i64>, _>("end_message_id")?)
            .bind(row.try_get::<String, _>("class_id")?)
            .execute(&mut *tx)
            .await?;
        }
        if to.engine() == Engine::Postgres {
            // Ids written by hand do not move PostgreSQL's identity sequences.
            for (table, cols) in TABLES {
                if cols[0].0 == "id" {
                    sqlx::query(&format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                         (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    ))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(counts)
    }
}
