//! The members of a class, learnt from its reports (and the teacher at creation).

use super::types::text_enum;
use super::{Db, DbRow};
use super::{Store, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::{Row, Transaction};
use ts_rs::TS;

text_enum! {
    /// A member's part in a class: the class's teacher, or anyone else who reported.
    MemberRole {
        Teacher => "teacher",
        Student => "student",
    }
}

/// One member of a class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Member {
    pub class_id: String,
    pub uid: String,
    pub role: MemberRole,
    /// First report (or class creation, for the teacher), unix ms.
    #[ts(type = "number")]
    pub first_seen_at: i64,
    /// Latest report, unix ms.
    #[ts(type = "number")]
    pub last_seen_at: i64,
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
        sqlx::query(
            "INSERT INTO class_members (class_id, uid, role, first_seen_at, last_seen_at) \
             VALUES ($1, $2, 'student', $3, $4) ON CONFLICT (class_id, uid) DO NOTHING",
        )
        .bind(class_id)
        .bind(uid)
        .bind(super::now_ms())
        .bind(super::now_ms())
        .execute(&mut *tx)
        .await?;
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
