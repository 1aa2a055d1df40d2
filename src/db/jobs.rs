//! The job queue's SQL. Claiming is one conditional UPDATE that takes a lease
//! (`locked_until`) and re-checks it in its own WHERE, so two workers (in one
//! process or several) can never both own a job, on either database.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, DbError};
use crate::domain::ids::JobId;

pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    /// Including this one.
    pub attempts: i64,
}

/// Adds a job; with a `dedupe_key` that already exists, nothing is added.
pub async fn enqueue(
    conn: &mut AnyConnection,
    kind: &str,
    payload: &str,
    dedupe_key: Option<&str>,
    run_at: i64,
    now: i64,
) -> Result<Option<JobId>, DbError> {
    let id = JobId::generate();
    let row = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, dedupe_key, run_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING id",
    )
    .bind(id.as_str())
    .bind(kind)
    .bind(payload)
    .bind(dedupe_key)
    .bind(run_at)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|_| id))
}

fn claimed_from_row(row: &AnyRow) -> Result<ClaimedJob, DbError> {
    let id: String = row.try_get("id")?;
    Ok(ClaimedJob {
        id: JobId::try_from(id).map_err(|e| DbError::Corrupt {
            column: "jobs.id",
            detail: e.to_string(),
        })?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        attempts: row.try_get("attempts")?,
    })
}

/// Takes the oldest due job for `worker` until `lease_until`, or `None`.
pub async fn claim(
    db: &Db,
    worker: &str,
    now: i64,
    lease_until: i64,
) -> Result<Option<ClaimedJob>, DbError> {
    let row = sqlx::query(
        "UPDATE jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1
         WHERE id = (
             SELECT id FROM jobs
             WHERE done_at IS NULL AND run_at <= $3 AND attempts < max_attempts
               AND (locked_until IS NULL OR locked_until < $3)
             ORDER BY run_at, id
             LIMIT 1
         )
         AND done_at IS NULL AND (locked_until IS NULL OR locked_until < $3)
         RETURNING id, kind, payload, attempts",
    )
    .bind(lease_until)
    .bind(worker)
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(claimed_from_row).transpose()
}

/// Marks the job done, if `worker` still holds it.
pub async fn complete(db: &Db, id: &JobId, worker: &str, now: i64) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE jobs SET done_at = $1, locked_until = NULL, last_error = NULL
         WHERE id = $2 AND locked_by = $3 AND done_at IS NULL",
    )
    .bind(now)
    .bind(id.as_str())
    .bind(worker)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Releases the job for another attempt at `retry_at`, keeping the error for operators.
pub async fn fail(
    db: &Db,
    id: &JobId,
    worker: &str,
    error: &str,
    retry_at: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE jobs SET locked_until = NULL, run_at = $1, last_error = $2
         WHERE id = $3 AND locked_by = $4 AND done_at IS NULL",
    )
    .bind(retry_at)
    .bind(error)
    .bind(id.as_str())
    .bind(worker)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct JobStatus {
    pub attempts: i64,
    pub done: bool,
    pub last_error: Option<String>,
}

pub async fn status(db: &Db, id: &JobId) -> Result<Option<JobStatus>, DbError> {
    let row = sqlx::query("SELECT attempts, done_at, last_error FROM jobs WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db)
        .await?;
    row.map(|r| {
        Ok(JobStatus {
            attempts: r.try_get("attempts")?,
            done: r.try_get::<Option<i64>, _>("done_at")?.is_some(),
            last_error: r.try_get("last_error")?,
        })
    })
    .transpose()
}

/// How many unfinished jobs of each kind are queued (waiting, including scheduled retries),
/// running (under a live lease) and failed (out of attempts), as seen at `now`. Kinds without
/// unfinished jobs are absent.
pub async fn counts_by_kind(
    db: &Db,
    now: i64,
) -> Result<Vec<crate::telemetry::metrics::JobCounts>, DbError> {
    let rows = sqlx::query(
        "SELECT kind,
                SUM(CASE WHEN locked_until IS NOT NULL AND locked_until >= $1
                         THEN 1 ELSE 0 END) AS running,
                SUM(CASE WHEN (locked_until IS NULL OR locked_until < $1)
                              AND attempts < max_attempts
                         THEN 1 ELSE 0 END) AS queued,
                SUM(CASE WHEN (locked_until IS NULL OR locked_until < $1)
                              AND attempts >= max_attempts
                         THEN 1 ELSE 0 END) AS failed
         FROM jobs
         WHERE done_at IS NULL
         GROUP BY kind
         ORDER BY kind",
    )
    .bind(now)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(crate::telemetry::metrics::JobCounts {
                kind: r.try_get("kind")?,
                queued: r.try_get("queued")?,
                running: r.try_get("running")?,
                failed: r.try_get("failed")?,
            })
        })
        .collect()
}
