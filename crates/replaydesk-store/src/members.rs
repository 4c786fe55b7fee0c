//! The members of a class: the teacher at creation, a roster registered by an admin, and
//! (open enrolment) whoever reported; with the state of each member's credential.

use super::audit::audit_tx;
use super::audit::Actor;
use super::classes::CredentialState;
use super::types::text_enum;
use super::{Db, DbRow};
use super::{Store, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::{Row, Transaction};
use std::collections::HashMap;

text_enum! {
    /// A member's part in a class: the class's teacher, or anyone else who reported.
    MemberRole {
        Teacher => "teacher",
        Student => "student",
    }
}

/// One member of a class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub class_id: String,
    pub uid: String,
    pub role: MemberRole,
    /// First report (or class creation, for the teacher), unix ms.
    pub first_seen_at: i64,
    /// Latest report, unix ms.
    pub last_seen_at: i64,
}

/// Where a member's report credential stands (never the credential itself: it is shown
/// once, when issued).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialInfo {
    /// The generation a credential must carry to be accepted: 0 is the one derived before
    /// issuing existed (the teacher's from class creation, the host app's); each issue adds 1.
    pub generation: i64,
    /// When the current one was issued (unix ms); null if never issued from the roster.
    pub issued_at: Option<i64>,
    /// When it was revoked (unix ms); while set, the member's reports are refused.
    pub revoked_at: Option<i64>,
}

/// A member on the class's roster, with its credential's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterMember {
    #[serde(flatten)]
    pub member: Member,
    pub credential: CredentialInfo,
}

/// What registering a roster did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddedMembers {
    pub class_id: String,
    /// Uids that became members (students), in the order given.
    pub added: Vec<String>,
    /// Uids that were members already (their role and credential unchanged).
    pub existing: Vec<String>,
}

const ROSTER_COLUMNS: &str = "class_id, uid, role, first_seen_at, last_seen_at, \
     credential_generation, credential_issued_at, credential_revoked_at";

fn roster_from_row(row: &DbRow) -> StoreResult<RosterMember> {
    Ok(RosterMember {
        member: member_from_row(row)?,
        credential: CredentialInfo {
            generation: row.try_get("credential_generation")?,
            issued_at: row.try_get("credential_issued_at")?,
            revoked_at: row.try_get("credential_revoked_at")?,
        },
    })
}

/// The audit target naming one member: `member:<class_id>:<uid>` (a class id holds no `:`).
pub fn member_target(class_id: &str, uid: &str) -> String {
    format!("member:{class_id}:{uid}")
}

/// Records that `uid` reported in `class_id` at `now`: a new member gets `role`, a known
/// one keeps its role and moves its `last_seen_at`.
pub(crate) async fn touch_member_tx(
    tx: &mut Transaction<'_, Db>,
    class_id: &str,
    uid: &str,
    role: MemberRole,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO class_members (class_id, uid, role, first_seen_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (class_id, uid) DO UPDATE SET \
         last_seen_at = CASE WHEN excluded.last_seen_at > class_members.last_seen_at \
         THEN excluded.last_seen_at ELSE class_members.last_seen_at END",
    )
    .bind(class_id)
    .bind(uid)
    .bind(role.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Enrols `uid` in `class_id` as a student unless it is a member already (which keeps
/// its role and times); returns whether it was added.
pub(crate) async fn enrol_student_tx(
    tx: &mut Transaction<'_, Db>,
    class_id: &str,
    uid: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let added = sqlx::query(
        "INSERT INTO class_members (class_id, uid, role, first_seen_at, last_seen_at) \
         VALUES ($1, $2, 'student', $3, $4) ON CONFLICT (class_id, uid) DO NOTHING",
    )
    .bind(class_id)
    .bind(uid)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(added == 1)
}

fn member_from_row(row: &DbRow) -> StoreResult<Member> {
    let role: String = row.try_get("role")?;
    Ok(Member {
        class_id: row.try_get("class_id")?,
        uid: row.try_get("uid")?,
        role: MemberRole::parse(&role)
            .ok_or_else(|| StoreError::Invalid(format!("member role {role}")))?,
        first_seen_at: row.try_get("first_seen_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

impl Store {
    /// A class's members, teacher first, then by first report.
    pub async fn members(&self, class_id: &str) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT class_id, uid, role, first_seen_at, last_seen_at FROM class_members \
             WHERE class_id = $1 ORDER BY role = 'teacher' DESC, first_seen_at, uid",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Whether `uid` is a member of `class_id`: from the in-process set of known members
    /// (members are never removed), else one primary-key lookup.
    pub async fn is_member(&self, class_id: &str, uid: &str) -> StoreResult<bool> {
        if self.cache().is_known_member(class_id, uid) {
            return Ok(true);
        }
        let found = sqlx::query_scalar::<_, i64>(
            "SELECT 1 FROM class_members WHERE class_id = $1 AND uid = $2",
        )
        .bind(class_id)
        .bind(uid)
        .fetch_optional(self.reader())
        .await?
        .is_some();
        if found {
            self.cache().remember_members([(class_id, uid)]);
        }
        Ok(found)
    }

    /// Enrols `uid` in `class_id` as a student (a known member keeps its role); returns
    /// the member.
    pub async fn enrol_member(&self, class_id: &str, uid: &str) -> StoreResult<Member> {
        let mut tx = self.begin_write().await?;
        enrol_student_tx(&mut tx, class_id, uid, super::now_ms()).await?;
        tx.commit().await?;
        let row = sqlx::query(
            "SELECT class_id, uid, role, first_seen_at, last_seen_at FROM class_members \
             WHERE class_id = $1 AND uid = $2",
        )
        .bind(class_id)
        .bind(uid)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("member {uid:?} of class {class_id:?}")))?;
        member_from_row(&row)
    }

    /// A class's roster with each member's credential state, teacher first.
    pub async fn roster(&self, class_id: &str) -> StoreResult<Vec<RosterMember>> {
        let sql = format!(
            "SELECT {ROSTER_COLUMNS} FROM class_members \
             WHERE class_id = $1 ORDER BY role = 'teacher' DESC, first_seen_at, uid"
        );
        let rows = sqlx::query(&sql)
            .bind(class_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(roster_from_row).collect()
    }

    /// One member with its credential state, if it is one.
    pub async fn roster_member(
        &self,
        class_id: &str,
        uid: &str,
    ) -> StoreResult<Option<RosterMember>> {
        let sql =
            format!("SELECT {ROSTER_COLUMNS} FROM class_members WHERE class_id = $1 AND uid = $2");
        let row = sqlx::query(&sql)
            .bind(class_id)
            .bind(uid)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(roster_from_row).transpose()
    }

    /// The members of `class_id` whose credential is not the original one (issued again or
    /// revoked): what the report path checks besides the MAC.
    pub(crate) async fn changed_credentials(
        &self,
        class_id: &str,
    ) -> StoreResult<HashMap<String, CredentialState>> {
        let rows = sqlx::query(
            "SELECT uid, credential_generation, credential_revoked_at FROM class_members \
             WHERE class_id = $1 AND (credential_generation <> 0 OR credential_revoked_at IS NOT NULL)",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            let revoked: Option<i64> = row.try_get("credential_revoked_at")?;
            out.insert(
                row.try_get("uid")?,
                CredentialState {
                    generation: row.try_get("credential_generation")?,
                    revoked: revoked.is_some(),
                },
            );
        }
        Ok(out)
    }

    /// Registers `uids` as students of `class_id` before they report (members already
    /// there keep their role and credential); audited as `add_members` when any is new.
    pub async fn add_members(
        &self,
        class_id: &str,
        uids: &[String],
        actor: &Actor,
    ) -> StoreResult<AddedMembers> {
        let now = super::now_ms();
        let mut tx = self.begin_write().await?;
        let (mut added, mut existing) = (Vec::new(), Vec::new());
        for uid in uids {
            if enrol_student_tx(&mut tx, class_id, uid, now).await? {
                added.push(uid.clone());
            } else {
                existing.push(uid.clone());
            }
        }
        if !added.is_empty() {
            // The whole list would make one entry as long as the roster: the count says it,
            // the first uids show which roster it was.
            const SHOWN: usize = 50;
            audit_tx(
                &mut tx,
                actor,
                "add_members",
                &format!("class:{class_id}"),
                &serde_json::json!({
                    "added": added.len(),
                    "uids": added.iter().take(SHOWN).collect::<Vec<_>>(),
                    "more": added.len().saturating_sub(SHOWN),
                }),
            )
            .await?;
        }
        tx.commit().await?;
        self.cache()
            .remember_members(uids.iter().map(|u| (class_id, u.as_str())));
        Ok(AddedMembers {
            class_id: class_id.to_owned(),
            added,
            existing,
        })
    }

    /// Issues `uid` a new credential generation (enrolling a uid the class does not know as
    /// a student): every earlier credential of the member stops being accepted, and a
    /// revocation ends. Audited as `issue_credential`. Returns the member and the new
    /// generation.
    pub async fn issue_credential(
        &self,
        class_id: &str,
        uid: &str,
        actor: &Actor,
    ) -> StoreResult<RosterMember> {
        let now = super::now_ms();
        let mut tx = self.begin_write().await?;
        enrol_student_tx(&mut tx, class_id, uid, now).await?;
        let sql = format!(
            "UPDATE class_members SET credential_generation = credential_generation + 1, \
             credential_issued_at = $1, credential_revoked_at = NULL \
             WHERE class_id = $2 AND uid = $3 RETURNING {ROSTER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(class_id)
            .bind(uid)
            .fetch_one(&mut *tx)
            .await?;
        let member = roster_from_row(&row)?;
        audit_tx(
            &mut tx,
            actor,
            "issue_credential",
            &member_target(class_id, uid),
            &serde_json::json!({
                "generation": member.credential.generation,
                "replaces": member.credential.generation - 1,
            }),
        )
        .await?;
        tx.commit().await?;
        self.cache().invalidate();
        self.cache().remember_members([(class_id, uid)]);
        Ok(member)
    }

    /// Revokes `uid`'s credential: its reports are refused until one is issued again.
    /// Audited as `revoke_credential`. Not a member: not found; revoked already: a
    /// conflict, and nothing changes.
    pub async fn revoke_credential(
        &self,
        class_id: &str,
        uid: &str,
        actor: &Actor,
    ) -> StoreResult<RosterMember> {
        let now = super::now_ms();
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE class_members SET credential_revoked_at = $1 \
             WHERE class_id = $2 AND uid = $3 AND credential_revoked_at IS NULL \
             RETURNING {ROSTER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(class_id)
            .bind(uid)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            drop(tx);
            return Err(match self.roster_member(class_id, uid).await? {
                Some(_) => StoreError::Conflict(format!(
                    "the credential of {uid:?} in class {class_id:?} is revoked already"
                )),
                None => StoreError::NotFound(format!("member {uid:?} of class {class_id:?}")),
            });
        };
        let member = roster_from_row(&row)?;
        audit_tx(
            &mut tx,
            actor,
            "revoke_credential",
            &member_target(class_id, uid),
            &serde_json::json!({"generation": member.credential.generation}),
        )
        .await?;
        tx.commit().await?;
        self.cache().invalidate();
        Ok(member)
    }

    /// `uid`'s newest accepted timeline pair in `class_id`: (client ms, server ms).
    pub async fn latest_pair(&self, class_id: &str, uid: &str) -> StoreResult<Option<(i64, i64)>> {
        let row = sqlx::query(
            "SELECT client_timestamp, time_line FROM timeline_reports \
             WHERE class_id = $1 AND uid = $2 AND accepted = 1 AND client_timestamp IS NOT NULL \
             AND time_line IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(class_id)
        .bind(uid)
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| -> StoreResult<(i64, i64)> {
            Ok((r.try_get("client_timestamp")?, r.try_get("time_line")?))
        })
        .transpose()
    }

    /// How many members each class has.
    pub async fn member_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows =
            sqlx::query("SELECT class_id, COUNT(*) AS n FROM class_members GROUP BY class_id")
                .fetch_all(self.reader())
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push((row.try_get("class_id")?, row.try_get("n")?));
        }
        Ok(out)
    }
}
