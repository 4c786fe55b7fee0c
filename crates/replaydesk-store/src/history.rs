//! Reconcile's rows: the fetched group history (read-only beside the class) and the runs
//! with their cursor, progress and report.

use super::audit::Actor;
use super::types::text_enum;
use super::{now_ms, Store, StoreResult};
use super::{DbRow, SqlBuilder};

use serde::{Deserialize, Serialize};
use sqlx::Row;

text_enum! {
    /// Where a reconcile run stands.
    ReconcileState {
        /// Fetching pages (or interrupted: a new request resumes from its cursor).
        Running => "running",
        Finished => "finished",
        /// Stopped by an error; a new request resumes from its cursor.
        Failed => "failed",
    }
}

/// A reconcile run as stored (the report is JSON, read by the service).
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileRunRow {
    pub id: i64,
    pub class_id: String,
    pub state: ReconcileState,
    pub cursor: Option<i64>,
    pub pages: i64,
    pub fetched: i64,
    pub error: Option<String>,
    pub actor: String,
    pub started_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub report: Option<String>,
}

const RUN_COLUMNS: &str = "id, class_id, state, cursor, pages, fetched, error, actor, started_at, \
     updated_at, finished_at, report";

fn run_from_row(row: &DbRow) -> Result<ReconcileRunRow, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(ReconcileRunRow {
        id: row.try_get("id")?,
        class_id: row.try_get("class_id")?,
        state: ReconcileState::parse(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown reconcile state {state:?}").into())
        })?,
        cursor: row.try_get("cursor")?,
        pages: row.try_get("pages")?,
        fetched: row.try_get("fetched")?,
        error: row.try_get("error")?,
        actor: row.try_get("actor")?,
        started_at: row.try_get("started_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
        report: row.try_get("report")?,
    })
}

// The conflict clause of both forms of the upsert below.
macro_rules! history_on_conflict {
    () => {
        " ON CONFLICT (class_id, im_msg_seq) \
         DO UPDATE SET item = excluded.item, fetched_at = excluded.fetched_at, \
         is_place = excluded.is_place, item_z = excluded.item_z \
         WHERE group_history.is_place = 1 OR excluded.is_place = 0"
    };
}
/// Stores one fetched group message. An earlier copy is replaced, except that a message's
/// body is never replaced by the IM's later placeholder for it (`IsPlaceMsg`: expired,
/// recalled): the archive keeps what the IM forgot.
const HISTORY_UPSERT: &str = concat!(
    "INSERT INTO group_history (class_id, im_msg_seq, item, fetched_at, is_place, item_z) \
     VALUES ($1, $2, $3, $4, $5, $6)",
    history_on_conflict!()
);
/// The conflict clause of [`HISTORY_UPSERT`], for the multi-row form.
const HISTORY_ON_CONFLICT: &str = history_on_conflict!();

/// Items at least this long are kept compressed when that makes them smaller.
const COMPRESS_FROM: usize = 256;

/// How an item is stored: as text, or (when large and it pays) as zlib with empty text.
pub(crate) fn pack(item: &str) -> (&str, Option<Vec<u8>>) {
    use std::io::Write as _;
    if item.len() < COMPRESS_FROM {
        return (item, None);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    match z.write_all(item.as_bytes()).and_then(|()| z.finish()) {
        Ok(bytes) if bytes.len() < item.len() => ("", Some(bytes)),
        _ => (item, None),
    }
}

/// The item as received, from its stored form.
pub(crate) fn unpack(text: String, z: Option<Vec<u8>>) -> Result<String, sqlx::Error> {
    use std::io::Read as _;
    let Some(z) = z else { return Ok(text) };
    let mut out = String::new();
    flate2::read::ZlibDecoder::new(z.as_slice())
        .read_to_string(&mut out)
        .map_err(|e| sqlx::Error::Decode(format!("a compressed history item: {e}").into()))?;
    Ok(out)
}

/// (MsgSeq, item) of a row selected with `im_msg_seq, item, item_z`.
pub(crate) fn history_row(r: &super::DbRow) -> Result<(i64, String), sqlx::Error> {
    Ok((
        r.try_get("im_msg_seq")?,
        unpack(r.try_get("item")?, r.try_get("item_z")?)?,
    ))
}

/// Whether a history item (JSON as received) is a placeholder: `IsPlaceMsg` 1 (a number or
/// its text).
pub fn item_is_place(item: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(item) else {
        return false;
    };
    match v.get("IsPlaceMsg") {
        Some(serde_json::Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().is_ok_and(|n| n != 0),
        _ => false,
    }
}

pub(crate) async fn history_upsert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    class_id: &str,
    seq: u64,
    item: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (text, z) = pack(item);
    sqlx::query(HISTORY_UPSERT)
        .bind(class_id)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .bind(text)
        .bind(now)
        .bind(i64::from(item_is_place(item)))
        .bind(z)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One group message as [`history_upsert_rows`] stores it, made ready (compressed,
/// placeholder told) before the write transaction: that work is not done while holding
/// SQLite's one writer.
pub(crate) struct HistoryRow<'a> {
    seq: i64,
    text: &'a str,
    is_place: i64,
    z: Option<Vec<u8>>,
}

/// `items` (MsgSeq, item as received) made ready for [`history_upsert_rows`].
pub(crate) fn history_rows(items: &[(u64, String)]) -> Vec<HistoryRow<'_>> {
    items
        .iter()
        .map(|(seq, item)| {
            let (text, z) = pack(item);
            HistoryRow {
                seq: i64::try_from(*seq).unwrap_or(i64::MAX),
                text,
                is_place: i64::from(item_is_place(item)),
                z,
            }
        })
        .collect()
}

/// [`history_upsert`] for many messages (each `MsgSeq` once) in a statement per
/// power-of-two chunk instead of one each: an archive page is one round trip to SQLite's
/// connection thread, not twenty, so a pass holds the writer (which intake shares) for less.
pub(crate) async fn history_upsert_rows(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    class_id: &str,
    rows: &[HistoryRow<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    use super::sql::{pow2_chunks, push_rows};
    let mut at = 0;
    for size in pow2_chunks(rows.len()) {
        let chunk = &rows[at..at + size];
        at += size;
        let mut qb = SqlBuilder::for_connection(
            tx,
            "INSERT INTO group_history (class_id, im_msg_seq, item, fetched_at, is_place, item_z) VALUES ",
        );
        push_rows(&mut qb, chunk, |b, r| {
            b.push_bind(class_id)
                .push(", ")
                .push_bind(r.seq)
                .push(", ")
                .push_bind(r.text)
                .push(", ")
                .push_bind(now)
                .push(", ")
                .push_bind(r.is_place)
                .push(", ")
                .push_bind(r.z.clone());
        });
        qb.push(HISTORY_ON_CONFLICT);
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// The class's latest reconcile run.
    pub async fn latest_reconcile(&self, class_id: &str) -> StoreResult<Option<ReconcileRunRow>> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM reconcile_runs WHERE class_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(class_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(run_from_row).transpose()?)
    }

    /// Starts a run from the newest message. The history already held stays (it is the
    /// class's archive too): the run's pages refresh it.
    pub async fn start_reconcile(
        &self,
        class_id: &str,
        actor: &Actor,
    ) -> StoreResult<ReconcileRunRow> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO reconcile_runs (class_id, state, actor, started_at, updated_at) \
             VALUES ($1, 'running', $2, $3, $4) RETURNING {RUN_COLUMNS}"
        ))
        .bind(class_id)
        .bind(&actor.name)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(run_from_row(&row)?)
    }

    /// Marks a run running again (resuming from its cursor).
    pub async fn resume_reconcile(&self, run_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE reconcile_runs SET state = 'running', error = NULL, updated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(run_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Stores one fetched page and moves the run's cursor, in one transaction: a crash
    /// between pages resumes after the last stored one.
    pub async fn save_history_page(
        &self,
        run_id: i64,
        class_id: &str,
        items: &[(u64, String)],
        cursor: Option<i64>,
    ) -> StoreResult<()> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        for (seq, item) in items {
            history_upsert(&mut tx, class_id, *seq, item, now).await?;
        }
        sqlx::query(
            "UPDATE reconcile_runs SET cursor = $1, pages = pages + 1, fetched = fetched + $2, \
             updated_at = $3 WHERE id = $4",
        )
        .bind(cursor)
        .bind(items.len() as i64)
        .bind(now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a run: finished with its report, or failed with the error.
    pub async fn end_reconcile(&self, run_id: i64, outcome: Result<&str, &str>) -> StoreResult<()> {
        let now = now_ms();
        let (state, report, error) = match outcome {
            Ok(report) => ("finished", Some(report), None),
            Err(e) => ("failed", None, Some(e)),
        };
        sqlx::query(
            "UPDATE reconcile_runs SET state = $1, report = $2, error = $3, updated_at = $4, \
             finished_at = CASE WHEN $5 = 'finished' THEN $6 ELSE finished_at END WHERE id = $7",
        )
        .bind(state)
        .bind(report)
        .bind(error)
        .bind(now)
        .bind(state)
        .bind(now)
        .bind(run_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The fetched history of a class, oldest first: (MsgSeq, item JSON).
    pub async fn group_history(&self, class_id: &str) -> StoreResult<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT im_msg_seq, item, item_z FROM group_history WHERE class_id = $1 ORDER BY im_msg_seq",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| Ok(history_row(r)?)).collect()
    }

    /// Puts a whole history in place of the class's (import of a bundle).
    pub async fn replace_group_history(
        &self,
        class_id: &str,
        items: &[(u64, String)],
    ) -> StoreResult<()> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM group_history WHERE class_id = $1")
            .bind(class_id)
            .execute(&mut *tx)
            .await?;
        for (seq, item) in items {
            history_upsert(&mut tx, class_id, *seq, item, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_items_stay_text_and_large_ones_compress() {
        assert_eq!(pack("{\"MsgSeq\":1}"), ("{\"MsgSeq\":1}", None));
        let large = format!("{{\"Data\":\"{}\"}}", "ab".repeat(400));
        let (text, z) = pack(&large);
        assert_eq!(text, "");
        let z = z.unwrap();
        assert!(z.len() < large.len());
        assert_eq!(unpack(String::new(), Some(z)).unwrap(), large);
        assert!(unpack(String::new(), Some(b"not zlib".to_vec())).is_err());
    }

    proptest! {
        /// Whatever the item, what is stored reads back as the item.
        #[test]
        fn packed_items_read_back_as_received(item in "\\PC{0,2000}") {
            let (text, z) = pack(&item);
            prop_assert_eq!(unpack(text.to_owned(), z).unwrap(), item);
        }
    }
}
