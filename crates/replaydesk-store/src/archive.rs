//! The ReplayGroup archive's rows: each class's archive state, its holes and its runs. The
//! messages themselves are `group_history` (`history.rs`), the one copy reconcile also
//! writes.

use super::audit::Actor;
use super::history::{history_rows, history_upsert_rows};
use super::types::text_enum;
use super::DbRow;
use super::{now_ms, Store, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::Row;

text_enum! {
    /// Where a class's archive stands.
    ArchiveState {
        /// Not (yet) read to the group's newest message.
        Pending => "pending",
        /// Every message up to `last_seq` is held.
        Complete => "complete",
        /// Read to the newest message, with holes.
        Partial => "partial",
        /// The last pass stopped on an error (kept in `error`).
        Failed => "failed",
    }
}

text_enum! {
    /// Where an archiving pass stands.
    ArchiveRunState {
        Running => "running",
        Finished => "finished",
        Failed => "failed",
    }
}

/// A run of `MsgSeq`s the archive holds no message for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveHole {
    pub from_seq: i64,
    pub to_seq: i64,
    pub reason: String,
}

/// A class's archive state as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveRow {
    pub class_id: String,
    pub state: ArchiveState,
    pub last_seq: i64,
    pub error: Option<String>,
    /// The earliest time (unix ms) a message not yet archived may have been sent.
    pub unarchived_since: Option<i64>,
    pub last_run_at: Option<i64>,
    pub final_pass_at: Option<i64>,
    pub updated_at: i64,
}

/// One archiving pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveRunRow {
    pub id: i64,
    pub class_id: String,
    pub state: ArchiveRunState,
    pub cause: String,
    pub pages: i64,
    pub fetched: i64,
    pub error: Option<String>,
    pub actor: String,
    pub started_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// A class the archiver should read now, with what it needs to decide how.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveCandidate {
    pub class_id: String,
    pub group_id: String,
    pub ended_at: Option<i64>,
}

/// Counts over every class of this ReplayDesk (imported ones left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveTotals {
    /// Messages held (holes left out).
    pub messages: i64,
    /// Classes per state (a class never archived counts as pending).
    pub by_state: Vec<(ArchiveState, i64)>,
    /// The earliest `unarchived_since` of a class not complete (its deadline is this plus
    /// the retention).
    pub earliest_unarchived: Option<i64>,
}

/// How a pass ended, as the archive state records it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveOutcome {
    pub state: ArchiveState,
    pub error: Option<String>,
    pub unarchived_since: Option<i64>,
    /// This pass ran late enough after the class's end to be its last.
    pub final_pass: bool,
}

const STATE_COLUMNS: &str =
    "class_id, state, last_seq, error, unarchived_since, last_run_at, final_pass_at, updated_at";
const RUN_COLUMNS: &str =
    "id, class_id, state, cause, pages, fetched, error, actor, started_at, updated_at, finished_at";

fn state_from_row(row: &DbRow) -> Result<ArchiveRow, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(ArchiveRow {
        class_id: row.try_get("class_id")?,
        state: ArchiveState::parse(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown archive state {state:?}").into())
        })?,
        last_seq: row.try_get("last_seq")?,
        error: row.try_get("error")?,
        unarchived_since: row.try_get("unarchived_since")?,
        last_run_at: row.try_get("last_run_at")?,
        final_pass_at: row.try_get("final_pass_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn run_from_row(row: &DbRow) -> Result<ArchiveRunRow, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(ArchiveRunRow {
        id: row.try_get("id")?,
        class_id: row.try_get("class_id")?,
        state: ArchiveRunState::parse(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown archive run state {state:?}").into())
        })?,
        cause: row.try_get("cause")?,
        pages: row.try_get("pages")?,
        fetched: row.try_get("fetched")?,
        error: row.try_get("error")?,
        actor: row.try_get("actor")?,
        started_at: row.try_get("started_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// Adjacent runs with the same reason read as one (a run split over pages is one hole).
pub fn merge_holes(mut holes: Vec<ArchiveHole>) -> Vec<ArchiveHole> {
    holes.sort_by_key(|h| h.from_seq);
    let mut out: Vec<ArchiveHole> = Vec::with_capacity(holes.len());
    for h in holes {
        match out.last_mut() {
            Some(last) if last.reason == h.reason && h.from_seq <= last.to_seq + 1 => {
                last.to_seq = last.to_seq.max(h.to_seq);
            }
            _ => out.push(h),
        }
    }
    out
}

impl Store {
    /// The class's archive state; `None` before its first pass.
    pub async fn archive_state(&self, class_id: &str) -> StoreResult<Option<ArchiveRow>> {
        let row = sqlx::query(&format!(
            "SELECT {STATE_COLUMNS} FROM archive_state WHERE class_id = $1"
        ))
        .bind(class_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(state_from_row).transpose()?)
    }

    /// The class's holes, adjacent runs of one reason merged.
    pub async fn archive_holes(&self, class_id: &str) -> StoreResult<Vec<ArchiveHole>> {
        let rows = sqlx::query(
            "SELECT from_seq, to_seq, reason FROM archive_holes WHERE class_id = $1 ORDER BY from_seq",
        )
        .bind(class_id)
        .fetch_all(self.reader())
        .await?;
        let holes = rows
            .iter()
            .map(|r| {
                Ok(ArchiveHole {
                    from_seq: r.try_get("from_seq")?,
                    to_seq: r.try_get("to_seq")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(merge_holes(holes))
    }

    /// Messages the archive holds for the class (holes left out).
    pub async fn archived_messages(&self, class_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM group_history WHERE class_id = $1 AND is_place = 0",
        )
        .bind(class_id)
        .fetch_one(self.reader())
        .await?)
    }

    /// Starts a pass: a run row, and the class's state row if it has none yet (pending,
    /// outstanding since `unarchived_since`).
    pub async fn start_archive_run(
        &self,
        class_id: &str,
        cause: &str,
        actor: &Actor,
        unarchived_since: i64,
    ) -> StoreResult<ArchiveRunRow> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO archive_state (class_id, state, last_seq, unarchived_since, updated_at) \
             VALUES ($1, 'pending', 0, $2, $3) ON CONFLICT (class_id) DO NOTHING",
        )
        .bind(class_id)
        .bind(unarchived_since)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!(
            "INSERT INTO archive_runs (class_id, state, cause, actor, started_at, updated_at) \
             VALUES ($1, 'running', $2, $3, $4, $5) RETURNING {RUN_COLUMNS}"
        ))
        .bind(class_id)
        .bind(cause)
        .bind(&actor.name)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(run_from_row(&row)?)
    }

    /// Stores one page and moves `last_seq`, in one transaction: a crash between pages
    /// resumes after the last stored one, and storing a page twice changes nothing.
    /// `items` are (MsgSeq, item JSON as received); a body already held is never replaced
    /// by a placeholder.
    pub async fn save_archive_page(
        &self,
        run_id: i64,
        class_id: &str,
        items: &[(u64, String)],
        holes: &[ArchiveHole],
        last_seq: i64,
    ) -> StoreResult<()> {
        let rows = history_rows(items);
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        history_upsert_rows(&mut tx, class_id, &rows, now).await?;
        for h in holes {
            sqlx::query(
                "INSERT INTO archive_holes (class_id, from_seq, to_seq, reason) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (class_id, from_seq) DO UPDATE SET to_seq = excluded.to_seq, reason = excluded.reason",
            )
            .bind(class_id)
            .bind(h.from_seq)
            .bind(h.to_seq)
            .bind(&h.reason)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE archive_state SET last_seq = CASE WHEN last_seq > $1 THEN last_seq ELSE $2 END, \
             updated_at = $3 WHERE class_id = $4",
        )
        .bind(last_seq)
        .bind(last_seq)
        .bind(now)
        .bind(class_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE archive_runs SET pages = pages + 1, fetched = fetched + $1, updated_at = $2 WHERE id = $3",
        )
        .bind(items.len() as i64)
        .bind(now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a pass and records where the class's archive stands.
    pub async fn end_archive_run(
        &self,
        run_id: i64,
        class_id: &str,
        outcome: &ArchiveOutcome,
    ) -> StoreResult<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // A pass that ended on an error (or was interrupted) failed, whatever the class's
        // state now.
        let run_state = if outcome.error.is_some() {
            "failed"
        } else {
            "finished"
        };
        sqlx::query(
            "UPDATE archive_runs SET state = $1, error = $2, updated_at = $3, finished_at = $4 WHERE id = $5",
        )
        .bind(run_state)
        .bind(&outcome.error)
        .bind(now)
        .bind(now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE archive_state SET state = $1, error = $2, unarchived_since = $3, last_run_at = $4, \
             final_pass_at = CASE WHEN $5 = 1 THEN $6 ELSE final_pass_at END, updated_at = $7 \
             WHERE class_id = $8",
        )
        .bind(outcome.state.as_str())
        .bind(&outcome.error)
        .bind(outcome.unarchived_since)
        .bind(now)
        .bind(i64::from(outcome.final_pass))
        .bind(now)
        .bind(now)
        .bind(class_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The class's latest pass.
    pub async fn latest_archive_run(&self, class_id: &str) -> StoreResult<Option<ArchiveRunRow>> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM archive_runs WHERE class_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(class_id)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(run_from_row).transpose()?)
    }

    /// One pass by its id.
    pub async fn archive_run(&self, id: i64) -> StoreResult<Option<ArchiveRunRow>> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM archive_runs WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(run_from_row).transpose()?)
    }

    /// The class's pass still running, if any, updated since `alive_since` (a pass whose
    /// process died stops being updated and is not counted).
    pub async fn running_archive_run(
        &self,
        class_id: &str,
        alive_since: i64,
    ) -> StoreResult<Option<ArchiveRunRow>> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM archive_runs WHERE class_id = $1 AND state = 'running' \
             AND updated_at >= $2 ORDER BY id DESC LIMIT 1"
        ))
        .bind(class_id)
        .bind(alive_since)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.as_ref().map(run_from_row).transpose()?)
    }

    /// Says a running pass is alive (its process still works on it, a page may be waiting
    /// on the IM's limits): `updated_at` is now.
    pub async fn touch_archive_run(&self, run_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE archive_runs SET updated_at = $1 WHERE id = $2 AND state = 'running'")
            .bind(now_ms())
            .bind(run_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Marks passes not updated since `before` as failed ("interrupted"): their process
    /// stopped. The archive itself needs nothing: the next pass starts at `last_seq`.
    pub async fn interrupt_stale_archive_runs(&self, before: i64) -> StoreResult<u64> {
        let now = now_ms();
        let r = sqlx::query(
            "UPDATE archive_runs SET state = 'failed', error = 'interrupted', updated_at = $1, finished_at = $2 \
             WHERE state = 'running' AND updated_at < $3",
        )
        .bind(now)
        .bind(now)
        .bind(before)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected())
    }

    /// The classes due a pass at `now`: live ones last read more than `every_ms` ago, ended
    /// ones not read since they ended, and ended ones due their late pass (`late_ms` after
    /// the end). Imported classes never.
    pub async fn archive_candidates(
        &self,
        now: i64,
        every_ms: i64,
        late_ms: i64,
    ) -> StoreResult<Vec<ArchiveCandidate>> {
        let rows = sqlx::query(
            "SELECT c.class_id, c.group_id, c.ended_at FROM classes c \
             LEFT JOIN archive_state a ON a.class_id = c.class_id \
             WHERE c.imported_at IS NULL AND ( \
               (c.started_at IS NOT NULL AND c.ended_at IS NULL \
                 AND COALESCE(a.last_run_at, c.started_at) <= $1) \
               OR (c.ended_at IS NOT NULL AND (a.last_run_at IS NULL OR a.last_run_at < c.ended_at)) \
               OR (c.ended_at IS NOT NULL AND a.final_pass_at IS NULL AND c.ended_at + $2 <= $3) \
             ) ORDER BY c.class_id LIMIT 100",
        )
        .bind(now - every_ms)
        .bind(late_ms)
        .bind(now)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ArchiveCandidate {
                    class_id: r.try_get("class_id")?,
                    group_id: r.try_get("group_id")?,
                    ended_at: r.try_get("ended_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Classes not complete whose oldest outstanding message was sent before `since`
    /// (unix ms), with that time. A class never archived is outstanding since it was
    /// created.
    pub async fn archive_outstanding_before(&self, since: i64) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT c.class_id, CASE WHEN a.class_id IS NULL THEN c.created_at ELSE a.unarchived_since END AS since \
             FROM classes c LEFT JOIN archive_state a ON a.class_id = c.class_id \
             WHERE c.imported_at IS NULL AND (a.class_id IS NULL OR (a.state <> 'complete' OR a.unarchived_since IS NOT NULL)) \
             AND CASE WHEN a.class_id IS NULL THEN c.created_at ELSE a.unarchived_since END < $1",
        )
        .bind(since)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("class_id")?, r.try_get("since")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Every class's archive state and outstanding-since time (classes never archived are
    /// not listed).
    pub async fn archive_states(&self) -> StoreResult<Vec<(String, ArchiveState, Option<i64>)>> {
        let rows = sqlx::query("SELECT class_id, state, unarchived_since FROM archive_state")
            .fetch_all(self.reader())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let state: String = r.try_get("state")?;
            if let Some(s) = ArchiveState::parse(&state) {
                out.push((r.try_get("class_id")?, s, r.try_get("unarchived_since")?));
            }
        }
        Ok(out)
    }

    /// Counts for `/metrics`.
    pub async fn archive_totals(&self) -> StoreResult<ArchiveTotals> {
        let messages: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM group_history WHERE is_place = 0")
                .fetch_one(self.reader())
                .await?;
        let rows = sqlx::query(
            "SELECT COALESCE(a.state, 'pending') AS state, COUNT(*) AS n, \
             MIN(CASE WHEN a.class_id IS NULL THEN c.created_at ELSE a.unarchived_since END) AS since \
             FROM classes c LEFT JOIN archive_state a ON a.class_id = c.class_id \
             WHERE c.imported_at IS NULL GROUP BY COALESCE(a.state, 'pending')",
        )
        .fetch_all(self.reader())
        .await?;
        let mut totals = ArchiveTotals {
            messages,
            ..ArchiveTotals::default()
        };
        for r in &rows {
            let state: String = r.try_get("state")?;
            let n: i64 = r.try_get("n")?;
            let since: Option<i64> = r.try_get("since")?;
            if let Some(s) = ArchiveState::parse(&state) {
                totals.by_state.push((s, n));
                if let Some(since) = since {
                    totals.earliest_unarchived = Some(
                        totals
                            .earliest_unarchived
                            .map_or(since, |e: i64| e.min(since)),
                    );
                }
            }
        }
        Ok(totals)
    }

    /// At most `number` held messages with `MsgSeq <= newest` (all when `None`), newest
    /// first, as (MsgSeq, item JSON); and whether none older remains.
    pub async fn history_page(
        &self,
        class_id: &str,
        newest: Option<i64>,
        number: u32,
    ) -> StoreResult<(Vec<(i64, String)>, bool)> {
        let rows = sqlx::query(
            "SELECT im_msg_seq, item, item_z FROM group_history WHERE class_id = $1 AND im_msg_seq <= $2 \
             ORDER BY im_msg_seq DESC LIMIT $3",
        )
        .bind(class_id)
        .bind(newest.unwrap_or(i64::MAX))
        .bind(i64::from(number) + 1)
        .fetch_all(self.reader())
        .await?;
        let mut items = rows
            .iter()
            .map(super::history::history_row)
            .collect::<Result<Vec<(i64, String)>, sqlx::Error>>()?;
        let finished = items.len() <= number as usize;
        items.truncate(number as usize);
        Ok((items, finished))
    }

    /// The MsgSeqs from `from` to `to` whose message body the archive holds.
    pub async fn held_seqs(&self, class_id: &str, from: i64, to: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT im_msg_seq FROM group_history WHERE class_id = $1 AND im_msg_seq >= $2 \
             AND im_msg_seq <= $3 AND is_place = 0 ORDER BY im_msg_seq",
        )
        .bind(class_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.reader())
        .await?)
    }

    /// Puts an imported class's archive state and holes in place (read-only from then on).
    pub async fn replace_archive_state(
        &self,
        row: &ArchiveRow,
        holes: &[ArchiveHole],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM archive_holes WHERE class_id = $1")
            .bind(&row.class_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM archive_state WHERE class_id = $1")
            .bind(&row.class_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO archive_state ({STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&row.class_id)
        .bind(row.state.as_str())
        .bind(row.last_seq)
        .bind(&row.error)
        .bind(row.unarchived_since)
        .bind(row.last_run_at)
        .bind(row.final_pass_at)
        .bind(row.updated_at)
        .execute(&mut *tx)
        .await?;
        for h in holes {
            sqlx::query(
                "INSERT INTO archive_holes (class_id, from_seq, to_seq, reason) VALUES ($1, $2, $3, $4)",
            )
            .bind(&row.class_id)
            .bind(h.from_seq)
            .bind(h.to_seq)
            .bind(&h.reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hole(a: i64, b: i64, r: &str) -> ArchiveHole {
        ArchiveHole {
            from_seq: a,
            to_seq: b,
            reason: r.into(),
        }
    }

    #[test]
    fn adjacent_holes_of_one_reason_merge() {
        let merged = merge_holes(vec![
            hole(21, 25, "expired"),
            hole(1, 20, "expired"),
            hole(26, 26, "missing"),
            hole(30, 31, "missing"),
        ]);
        assert_eq!(
            merged,
            vec![
                hole(1, 25, "expired"),
                hole(26, 26, "missing"),
                hole(30, 31, "missing")
            ]
        );
    }
}
