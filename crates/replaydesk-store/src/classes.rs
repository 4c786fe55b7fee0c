//! Classes, their ReplayGroup, and the members learnt from reports.

use super::types::text_enum;
use super::DbRow;
use super::{now_ms, Store, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;

text_enum! {
    /// A class's lifecycle as its 1001/1002 messages tell it.
    ClassState {
        Created => "created",
        Started => "started",
        Ended => "ended",
    }
}

/// A class to create.
/// A class with what its reports are checked against.
#[derive(Debug, Clone)]
pub struct ClassEntry {
    pub record: ClassRecord,
    pub auth: ClassAuth,
}

#[derive(Debug, Clone)]
pub struct NewClass<'a> {
    pub class_id: &'a str,
    pub group_id: &'a str,
    pub teacher_uid: &'a str,
    /// SHA-256 (hex) of the class's report token.
    pub report_token_sha256: &'a str,
    /// The key members' credentials are derived under (hex).
    pub credential_key: &'a str,
    /// Whether the class-wide report token is accepted (legacy; off for new classes).
    pub legacy_class_token: bool,
    /// Whether a uid the class does not know may report (and so join).
    pub open_enrolment: bool,
    /// The TRTC room the class is held in, as text (`None`: the class id is the room).
    pub room_id: Option<&'a str>,
}

/// What a report's credential is checked against.
#[derive(Clone, Default)]
pub struct ClassAuth {
    pub credential_key: String,
    pub report_token_sha256: String,
    pub legacy_class_token: bool,
    /// The members whose credential was issued again or revoked; everyone else holds
    /// generation 0 (the credential derived before issuing existed), not revoked.
    pub member_credentials: HashMap<String, CredentialState>,
}

/// Which credential of a member is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CredentialState {
    /// Only a credential of this generation is accepted.
    pub generation: i64,
    /// Revoked: none is accepted until one is issued again.
    pub revoked: bool,
}

impl ClassAuth {
    /// The state of `uid`'s credential.
    pub fn credential_state(&self, uid: &str) -> CredentialState {
        self.member_credentials
            .get(uid)
            .copied()
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for ClassAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassAuth")
            .field("legacy_class_token", &self.legacy_class_token)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassRecord {
    pub class_id: String,
    pub group_id: String,
    pub teacher_uid: String,
    pub state: ClassState,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// The class-wide report token is accepted (legacy option, off for new classes).
    pub legacy_class_token: bool,
    /// A uid the class does not know may report (and so become a member).
    pub open_enrolment: bool,
    /// How often an admin reopened the class after it ended (each allows one more
    /// 1001/1002 pair).
    pub reopen_count: u32,
    /// When the class was imported from another ReplayDesk's bundle (unix ms): then it is
    /// a read-only record, never delivered, resent or reconciled. `None` for a class of
    /// this ReplayDesk.
    #[serde(default)]
    pub imported_at: Option<i64>,
    /// The TRTC room the class is held in, as text (TRTC's numeric room 42 and string
    /// room "42" are the same text). `None`: recordings find the class by its id.
    #[serde(default)]
    pub room_id: Option<String>,
    /// What ended the class when ReplayDesk did (`silence`: no heartbeat from anyone for
    /// `heartbeat.silence_end`); `None` for a class its teacher or an admin ended.
    #[serde(default)]
    pub ended_by: Option<String>,
}

pub(crate) const CLASS_COLUMNS: &str =
    "class_id, group_id, teacher_uid, state, created_at, started_at, \
     ended_at, legacy_class_token, open_enrolment, reopen_count, imported_at, room_id, ended_by";

pub(crate) fn class_from_row(row: &DbRow) -> Result<ClassRecord, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(ClassRecord {
        class_id: row.try_get("class_id")?,
        group_id: row.try_get("group_id")?,
        teacher_uid: row.try_get("teacher_uid")?,
        state: ClassState::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode(format!("class state {state}").into()))?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        legacy_class_token: row.try_get::<i64, _>("legacy_class_token")? != 0,
        open_enrolment: row.try_get::<i64, _>("open_enrolment")? != 0,
        reopen_count: u32::try_from(row.try_get::<i64, _>("reopen_count")?).unwrap_or(u32::MAX),
        imported_at: row.try_get("imported_at")?,
        room_id: row.try_get("room_id")?,
        ended_by: row.try_get("ended_by")?,
    })
}

impl Store {
    /// Creates a class with its teacher as first member. A taken class id or group id is a
    /// conflict, and nothing is stored.
    pub async fn create_class(&self, new: &NewClass<'_>) -> StoreResult<ClassRecord> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO classes (class_id, group_id, teacher_uid, report_token_sha256, \
             credential_key, legacy_class_token, open_enrolment, created_at, room_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING {CLASS_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.class_id)
            .bind(new.group_id)
            .bind(new.teacher_uid)
            .bind(new.report_token_sha256)
            .bind(new.credential_key)
            .bind(i64::from(new.legacy_class_token))
            .bind(i64::from(new.open_enrolment))
            .bind(now)
            .bind(new.room_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::Conflict(format!(
                    "class {:?} or group {:?} already exists",
                    new.class_id, new.group_id
                ))
            })?;
        sqlx::query(
            "INSERT INTO class_members (class_id, uid, role, first_seen_at, last_seen_at) \
             VALUES ($1, $2, 'teacher', $3, $4)",
        )
        .bind(new.class_id)
        .bind(new.teacher_uid)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.cache().invalidate();
        Ok(class_from_row(&row)?)
    }

    pub async fn class(&self, class_id: &str) -> StoreResult<ClassRecord> {
        let sql = format!("SELECT {CLASS_COLUMNS} FROM classes WHERE class_id = $1");
        let row = sqlx::query(&sql)
            .bind(class_id)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("class {class_id:?}")))?;
        Ok(class_from_row(&row)?)
    }

    /// A class with its credentials, for the reporting path: from the in-process cache
    /// when fresh (see `cache`), else one read. `None` when there is no such class.
    pub async fn class_entry(&self, class_id: &str) -> StoreResult<Option<Arc<ClassEntry>>> {
        if let Some(hit) = self.cache().get(class_id) {
            return Ok(Some(hit));
        }
        let generation = self.cache().generation();
        let sql = format!(
            "SELECT {CLASS_COLUMNS}, credential_key, report_token_sha256 FROM classes \
             WHERE class_id = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(class_id)
            .fetch_optional(self.reader())
            .await?
        else {
            return Ok(None);
        };
        let record = class_from_row(&row)?;
        let entry = Arc::new(ClassEntry {
            auth: ClassAuth {
                credential_key: row.try_get("credential_key")?,
                report_token_sha256: row.try_get("report_token_sha256")?,
                legacy_class_token: record.legacy_class_token,
                member_credentials: self.changed_credentials(class_id).await?,
            },
            record,
        });
        self.cache().put(generation, entry.clone());
        Ok(Some(entry))
    }

    pub async fn class_by_group(&self, group_id: &str) -> StoreResult<Option<ClassRecord>> {
        let sql = format!("SELECT {CLASS_COLUMNS} FROM classes WHERE group_id = $1");
        let row = sqlx::query(&sql)
            .bind(group_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.as_ref().map(class_from_row).transpose()?)
    }

    pub async fn classes(&self) -> StoreResult<Vec<ClassRecord>> {
        let sql = format!("SELECT {CLASS_COLUMNS} FROM classes ORDER BY created_at DESC, class_id");
        let rows = sqlx::query(&sql).fetch_all(self.reader()).await?;
        Ok(rows.iter().map(class_from_row).collect::<Result<_, _>>()?)
    }

    /// What a class's report credentials are checked against; `None` for an unknown class
    /// and for an imported one (a record: it takes no reports).
    pub async fn class_auth(&self, class_id: &str) -> StoreResult<Option<ClassAuth>> {
        let row = sqlx::query(
            "SELECT credential_key, report_token_sha256, legacy_class_token FROM classes \
             WHERE class_id = $1 AND imported_at IS NULL",
        )
        .bind(class_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| -> StoreResult<ClassAuth> {
            Ok(ClassAuth {
                credential_key: r.try_get("credential_key")?,
                report_token_sha256: r.try_get("report_token_sha256")?,
                legacy_class_token: r.try_get::<i64, _>("legacy_class_token")? != 0,
                member_credentials: HashMap::new(),
            })
        })
        .transpose()
    }

    /// Reopens an ended class on purpose: it may start (and end) once more, with a new
    /// 1001 and 1002. Returns the class before and after. A class that has not ended is a
    /// conflict, and nothing changes.
    pub async fn reopen_class(&self, class_id: &str) -> StoreResult<(ClassRecord, ClassRecord)> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {CLASS_COLUMNS} FROM classes WHERE class_id = $1");
        let before = sqlx::query(&sql)
            .bind(class_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("class {class_id:?}")))?;
        let before = class_from_row(&before)?;
        if before.state != ClassState::Ended {
            return Err(StoreError::Conflict(format!(
                "class {class_id:?} is {}, not ended: only an ended class can be reopened",
                before.state.as_str()
            )));
        }
        let sql = format!(
            "UPDATE classes SET state = 'created', started_at = NULL, ended_at = NULL, \
             start_message_id = NULL, end_message_id = NULL, reopen_count = reopen_count + 1, \
             ended_by = NULL WHERE class_id = $1 RETURNING {CLASS_COLUMNS}"
        );
        let after = sqlx::query(&sql).bind(class_id).fetch_one(&mut *tx).await?;
        // The reopened class starts its presence afresh: the heartbeats before its end
        // must not end it again for silence.
        sqlx::query("DELETE FROM member_presence WHERE class_id = $1")
            .bind(class_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.cache().invalidate();
        Ok((before, class_from_row(&after)?))
    }

    /// The ids of the 1001 and 1002 that started and ended the class (since its last
    /// reopen), if any.
    pub async fn class_lifecycle_messages(
        &self,
        class_id: &str,
    ) -> StoreResult<(Option<i64>, Option<i64>)> {
        let row =
            sqlx::query("SELECT start_message_id, end_message_id FROM classes WHERE class_id = $1")
                .bind(class_id)
                .fetch_optional(self.reader())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("class {class_id:?}")))?;
        Ok((
            row.try_get("start_message_id")?,
            row.try_get("end_message_id")?,
        ))
    }

    /// The stored hash of a class's report token.
    pub async fn report_token_sha256(&self, class_id: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT report_token_sha256 FROM classes WHERE class_id = $1")
                .bind(class_id)
                .fetch_optional(self.reader())
                .await?,
        )
    }
}
