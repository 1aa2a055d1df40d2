//! Reconciliation's cursors (where each account's event history was read up
//! to) and its runs (progress and summary).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbError};

pub async fn cursor(db: &Db, account: &str) -> Result<Option<i64>, DbError> {
    let row = sqlx::query("SELECT created_after FROM reconcile_cursors WHERE account = $1")
        .bind(account)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| r.try_get("created_after").map_err(DbError::from))
        .transpose()
}

/// Moves the cursor forward (never back).
pub async fn advance_cursor(db: &Db, account: &str, to: i64, now: i64) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO reconcile_cursors (account, created_after, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (account) DO UPDATE SET
             created_after = CASE WHEN excluded.created_after > reconcile_cursors.created_after
                                  THEN excluded.created_after
                                  ELSE reconcile_cursors.created_after END,
             updated_at = excluded.updated_at",
    )
    .bind(account)
    .bind(to)
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub accounts_total: i64,
    pub accounts_done: i64,
    pub events_read: i64,
    pub events_new: i64,
    pub events_applied: i64,
    pub events_failed: i64,
    /// Order parts whose PaymentIntent was re-read because it was still undecided.
    pub payments_checked: i64,
    /// Of those, the ones that reached a final state (paid, authorized, failed, canceled).
    pub payments_settled: i64,
}

#[derive(Clone, Debug)]
pub struct Run {
    pub id: String,
    pub status: String,
    pub counts: RunCounts,
    pub error: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

pub async fn start_run(db: &Db, id: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("INSERT INTO reconcile_runs (id, status, started_at) VALUES ($1, 'running', $2)")
        .bind(id)
        .bind(now)
        .execute(db.writer())
        .await?;
    Ok(())
}

pub async fn update_run(db: &Db, id: &str, c: &RunCounts) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE reconcile_runs SET accounts_total = $1, accounts_done = $2, events_read = $3,
                events_new = $4, events_applied = $5, events_failed = $6,
                payments_checked = $7, payments_settled = $8
         WHERE id = $9",
    )
    .bind(c.accounts_total)
    .bind(c.accounts_done)
    .bind(c.events_read)
    .bind(c.events_new)
    .bind(c.events_applied)
    .bind(c.events_failed)
    .bind(c.payments_checked)
    .bind(c.payments_settled)
    .bind(id)
    .execute(db.writer())
    .await?;
    Ok(())
}

pub async fn finish_run(db: &Db, id: &str, error: Option<&str>, now: i64) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE reconcile_runs SET status = CASE WHEN $1 IS NULL THEN 'done' ELSE 'failed' END,
                error = $1, finished_at = $2
         WHERE id = $3",
    )
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(db.writer())
    .await?;
    Ok(())
}

fn run_from_row(r: &AnyRow) -> Result<Run, DbError> {
    Ok(Run {
        id: r.try_get("id")?,
        status: r.try_get("status")?,
        counts: RunCounts {
            accounts_total: r.try_get("accounts_total")?,
            accounts_done: r.try_get("accounts_done")?,
            events_read: r.try_get("events_read")?,
            events_new: r.try_get("events_new")?,
            events_applied: r.try_get("events_applied")?,
            events_failed: r.try_get("events_failed")?,
            payments_checked: r.try_get("payments_checked")?,
            payments_settled: r.try_get("payments_settled")?,
        },
        error: r.try_get("error")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

pub async fn get_run(db: &Db, id: &str) -> Result<Option<Run>, DbError> {
    let row = sqlx::query("SELECT * FROM reconcile_runs WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(run_from_row).transpose()
}

/// The newest runs first (the admin page shows them).
pub async fn recent_runs(db: &Db, limit: i64) -> Result<Vec<Run>, DbError> {
    let rows = sqlx::query("SELECT * FROM reconcile_runs ORDER BY started_at DESC, id LIMIT $1")
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(run_from_row).collect()
}
