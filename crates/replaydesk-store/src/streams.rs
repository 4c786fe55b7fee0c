//! A class's TRTC room and the stream ids registered for its members (issue 22): what a
//! recording callback without `stream_param` is mapped through.

use super::audit::{audit_tx, Actor};
use super::classes::{class_from_row, ClassRecord, CLASS_COLUMNS};
use super::{now_ms, Store, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// A stream id registered for a member of a class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassStream {
    pub class_id: String,
    pub stream_id: String,
    pub uid: String,
    /// When it was registered, unix ms.
    pub created_at: i64,
}

impl Store {
    /// Sets (or, with `None`, clears) the TRTC room of a class, audited. Returns the class
    /// before and after. NotFound for an unknown class.
    pub async fn set_class_room(
        &self,
        class_id: &str,
        room_id: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<(ClassRecord, ClassRecord)> {
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT {CLASS_COLUMNS} FROM classes WHERE class_id = $1");
        let before = sqlx::query(&sql)
            .bind(class_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("class {class_id:?}")))?;
        let before = class_from_row(&before)?;
        let sql = format!(
            "UPDATE classes SET room_id = $1 WHERE class_id = $2 RETURNING {CLASS_COLUMNS}"
        );
        let after = sqlx::query(&sql)
            .bind(room_id)
            .bind(class_id)
            .fetch_one(&mut *tx)
            .await?;
        let after = class_from_row(&after)?;
        audit_tx(
            &mut tx,
            actor,
            "set_class_room",
            &format!("class:{class_id}"),
            &serde_json::json!({"before": before.room_id, "after": after.room_id}),
        )
        .await?;
        tx.commit().await?;
        self.cache().invalidate();
        Ok((before, after))
    }

    /// Registers `stream_id` for `uid` in a class, audited. Conflict when the class already
    /// has that stream id (for anyone); NotFound for an unknown class.
    pub async fn add_class_stream(
        &self,
        class_id: &str,
        stream_id: &str,
        uid: &str,
        actor: &Actor,
    ) -> StoreResult<ClassStream> {
        let mut tx = self.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM classes WHERE class_id = $1")
            .bind(class_id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("class {class_id:?}")));
        }
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO class_streams (class_id, stream_id, uid, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(class_id)
        .bind(stream_id)
        .bind(uid)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            let owner: String = sqlx::query_scalar(
                "SELECT uid FROM class_streams WHERE class_id = $1 AND stream_id = $2",
            )
            .bind(class_id)
            .bind(stream_id)
            .fetch_one(&mut *tx)
            .await?;
            return Err(StoreError::Conflict(format!(
                "stream id {stream_id:?} is already registered in class {class_id:?} for uid {owner:?}"
            )));
        }
        audit_tx(
            &mut tx,
            actor,
            "add_class_stream",
            &format!("class:{class_id}"),
            &serde_json::json!({"stream_id": stream_id, "uid": uid}),
        )
        .await?;
        tx.commit().await?;
        Ok(ClassStream {
            class_id: class_id.to_owned(),
            stream_id: stream_id.to_owned(),
            uid: uid.to_owned(),
            created_at: now,
        })
    }

    /// The stream ids registered in a class, by stream id.
    pub async fn class_streams(&self, class_id: &str) -> StoreResult<Vec<ClassStream>> {
        let rows = sqlx::query(
            "SELECT class_id, stream_id, uid, created_at FROM class_streams \
             WHERE class_id = $1 ORDER BY stream_id",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ClassStream {
                    class_id: r.try_get("class_id")?,
                    stream_id: r.try_get("stream_id")?,
                    uid: r.try_get("uid")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Removes a registered stream id, audited; answers what was removed. NotFound when
    /// the class has no such stream id. Recordings already announced stay as they are.
    pub async fn remove_class_stream(
        &self,
        class_id: &str,
        stream_id: &str,
        actor: &Actor,
    ) -> StoreResult<ClassStream> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "DELETE FROM class_streams WHERE class_id = $1 AND stream_id = $2 \
             RETURNING class_id, stream_id, uid, created_at",
        )
        .bind(class_id)
        .bind(stream_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!("stream id {stream_id:?} in class {class_id:?}"))
        })?;
        let removed = ClassStream {
            class_id: row.try_get("class_id")?,
            stream_id: row.try_get("stream_id")?,
            uid: row.try_get("uid")?,
            created_at: row.try_get("created_at")?,
        };
        audit_tx(
            &mut tx,
            actor,
            "remove_class_stream",
            &format!("class:{class_id}"),
            &serde_json::json!({"stream_id": stream_id, "uid": removed.uid}),
        )
        .await?;
        tx.commit().await?;
        Ok(removed)
    }
}
