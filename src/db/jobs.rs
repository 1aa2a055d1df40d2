//! The job queue's SQL. Claiming is one conditional UPDATE that takes a lease
//! (`locked_until`) and hands out a fresh fencing token (`claim_token`); the
//! outer WHERE re-checks everything the inner SELECT chose by (not done, not
//! failed, due, attempts left, lease free), so two workers (in one process or
//! several) can never both own a job, on either database. On PostgreSQL the
//! inner SELECT also takes `FOR UPDATE SKIP LOCKED`, so concurrent workers
//! take different rows instead of all contending for the head of the queue.
//!
//! `complete`, `fail` and `extend_lease` only act for the holder of the
//! current token: a worker whose lease ran out and whose job was claimed again
//! can no longer record anything for it. Every time is the database's clock.

use std::sync::LazyLock;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::clock::now_sql;
use super::{Backend, Db, DbError};
use crate::domain::ids::{JobId, random_token};

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    /// Including this one.
    pub attempts: i64,
    pub max_attempts: i64,
    /// The fencing token of this claim: `complete`/`fail` must present it.
    pub token: String,
}

impl ClaimedJob {
    /// Whether a failure now is this job's last attempt.
    pub fn is_last_attempt(&self) -> bool {
        self.attempts >= self.max_attempts
    }
}

/// Queues mails as `send_email` jobs on `conn` (inside the caller's transaction, so a mail
/// exists exactly when its cause does); each key is the mail's dedupe key, so a cause processed
/// again queues nothing new.
pub async fn enqueue_mails(
    conn: &mut AnyConnection,
    mails: &[(crate::email::OutgoingEmail, String)],
    now: i64,
) -> Result<(), DbError> {
    for (mail, key) in mails {
        let payload = serde_json::to_string(mail).map_err(|e| DbError::Corrupt {
            column: "jobs.payload",
            detail: e.to_string(),
        })?;
        enqueue(conn, crate::jobs::SEND_EMAIL, &payload, Some(key), now, now).await?;
    }
    Ok(())
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
    enqueue_with_attempts(conn, kind, payload, dedupe_key, run_at, now, None).await
}

/// [`enqueue`] with an explicit number of attempts (the table's default, 10, when `None`).
pub async fn enqueue_with_attempts(
    conn: &mut AnyConnection,
    kind: &str,
    payload: &str,
    dedupe_key: Option<&str>,
    run_at: i64,
    now: i64,
    max_attempts: Option<i64>,
) -> Result<Option<JobId>, DbError> {
    let id = JobId::generate();
    let row = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, dedupe_key, run_at, created_at, max_attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING id",
    )
    .bind(id.as_str())
    .bind(kind)
    .bind(payload)
    .bind(dedupe_key)
    .bind(run_at)
    .bind(now)
    .bind(max_attempts.unwrap_or(10))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|_| id))
}

fn claimed_from_row(row: &AnyRow, token: String) -> Result<ClaimedJob, DbError> {
    let id: String = row.try_get("id")?;
    Ok(ClaimedJob {
        id: JobId::try_from(id).map_err(|e| DbError::Corrupt {
            column: "jobs.id",
            detail: e.to_string(),
        })?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        token,
    })
}

fn claim_sql(backend: Backend) -> String {
    let now = now_sql(backend);
    let claimable = format!(
        "done_at IS NULL AND failed_at IS NULL AND run_at <= {now}
         AND attempts < max_attempts
         AND (locked_until IS NULL OR locked_until < {now})"
    );
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE jobs SET locked_until = {now} + $1, locked_by = $2, claim_token = $3,
                attempts = attempts + 1
         WHERE id = (
             SELECT id FROM jobs WHERE {claimable}
             ORDER BY run_at, id
             LIMIT 1 {lock}
         )
         AND {claimable}
         RETURNING id, kind, payload, attempts, max_attempts"
    )
}

static CLAIM_SQLITE: LazyLock<String> = LazyLock::new(|| claim_sql(Backend::Sqlite));
static CLAIM_POSTGRES: LazyLock<String> = LazyLock::new(|| claim_sql(Backend::Postgres));

/// Takes the oldest due job for `worker` with a lease of `lease_secs` (database clock), or `None`.
pub async fn claim(db: &Db, worker: &str, lease_secs: i64) -> Result<Option<ClaimedJob>, DbError> {
    let sql: &str = match db.backend() {
        Backend::Sqlite => &CLAIM_SQLITE,
        Backend::Postgres => &CLAIM_POSTGRES,
    };
    let token = random_token(20);
    let row = sqlx::query(sql)
        .bind(lease_secs)
        .bind(worker)
        .bind(&token)
        .fetch_optional(db.writer())
        .await?;
    row.as_ref()
        .map(|r| claimed_from_row(r, token.clone()))
        .transpose()
}

/// Pushes the lease of a running job `lease_secs` past now; `false` when the
/// claim is no longer ours (the lease ran out and someone else took the job).
pub async fn extend_lease(
    db: &Db,
    id: &JobId,
    token: &str,
    lease_secs: i64,
) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE jobs SET locked_until = {} + $1
         WHERE id = $2 AND claim_token = $3 AND done_at IS NULL AND failed_at IS NULL",
        now_sql(db.backend())
    );
    let done = sqlx::query(&sql)
        .bind(lease_secs)
        .bind(id.as_str())
        .bind(token)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the job done, if `token` is still the current claim's.
pub async fn complete(db: &Db, id: &JobId, token: &str) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE jobs SET done_at = {}, locked_until = NULL, last_error = NULL
         WHERE id = $1 AND claim_token = $2 AND done_at IS NULL AND failed_at IS NULL",
        now_sql(db.backend())
    );
    let done = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(token)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Released; due again at `run_at` (database clock).
    Retrying { run_at: i64 },
    /// Out of attempts, or the error is permanent: parked as failed.
    Failed,
    /// The claim is no longer ours; nothing was recorded.
    NotHeld,
}

/// Records a failed attempt: parked as failed when `permanent` or out of
/// attempts, otherwise released for a retry `retry_in_secs` from now. The error is kept.
pub async fn fail(
    db: &Db,
    id: &JobId,
    token: &str,
    error: &str,
    retry_in_secs: i64,
    permanent: bool,
) -> Result<FailOutcome, DbError> {
    let now = now_sql(db.backend());
    let sql = format!(
        "UPDATE jobs SET locked_until = NULL, last_error = $1, run_at = {now} + $2,
                failed_at = CASE WHEN $3 = 1 OR attempts >= max_attempts THEN {now} ELSE NULL END
         WHERE id = $4 AND claim_token = $5 AND done_at IS NULL AND failed_at IS NULL
         RETURNING run_at, failed_at"
    );
    let row = sqlx::query(&sql)
        .bind(error)
        .bind(retry_in_secs)
        .bind(i64::from(permanent))
        .bind(id.as_str())
        .bind(token)
        .fetch_optional(db.writer())
        .await?;
    let Some(row) = row else {
        return Ok(FailOutcome::NotHeld);
    };
    if row.try_get::<Option<i64>, _>("failed_at")?.is_some() {
        Ok(FailOutcome::Failed)
    } else {
        Ok(FailOutcome::Retrying {
            run_at: row.try_get("run_at")?,
        })
    }
}

/// Parks jobs that are out of attempts but were never marked failed (their
/// worker died during the last attempt): they are not left pending forever.
pub async fn fail_exhausted(db: &Db) -> Result<u64, DbError> {
    let now = now_sql(db.backend());
    let sql = format!(
        "UPDATE jobs SET failed_at = {now},
                last_error = COALESCE(last_error, 'out of attempts (worker lost during the last one)')
         WHERE done_at IS NULL AND failed_at IS NULL AND attempts >= max_attempts
           AND (locked_until IS NULL OR locked_until < {now})"
    );
    Ok(sqlx::query(&sql)
        .execute(db.writer())
        .await?
        .rows_affected())
}

/// Deletes finished jobs done before `cutoff`; failed and pending ones are kept.
pub async fn prune_done_before(db: &Db, cutoff: i64) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM jobs WHERE done_at IS NOT NULL AND done_at < $1")
        .bind(cutoff)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected())
}

/// Puts a failed job back in the queue with a fresh set of attempts (an operator's replay).
pub async fn requeue_failed(db: &Db, id: &JobId) -> Result<bool, DbError> {
    let mut conn = db.acquire().await?;
    requeue_failed_in(&mut conn, id).await
}

/// [`requeue_failed`] inside the caller's transaction (the admin's replay logs it in the same one).
pub async fn requeue_failed_in(conn: &mut AnyConnection, id: &JobId) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE jobs SET failed_at = NULL, attempts = 0, run_at = {}, locked_until = NULL
         WHERE id = $1 AND failed_at IS NOT NULL",
        now_sql(super::clock::backend_of_conn(conn))
    );
    let done = sqlx::query(&sql).bind(id.as_str()).execute(conn).await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone)]
pub struct JobStatus {
    pub attempts: i64,
    pub done: bool,
    pub failed: bool,
    pub run_at: i64,
    pub last_error: Option<String>,
}

fn status_from_row(r: &AnyRow) -> Result<JobStatus, DbError> {
    Ok(JobStatus {
        attempts: r.try_get("attempts")?,
        done: r.try_get::<Option<i64>, _>("done_at")?.is_some(),
        failed: r.try_get::<Option<i64>, _>("failed_at")?.is_some(),
        run_at: r.try_get("run_at")?,
        last_error: r.try_get("last_error")?,
    })
}

pub async fn status(db: &Db, id: &JobId) -> Result<Option<JobStatus>, DbError> {
    let row = sqlx::query(
        "SELECT attempts, done_at, failed_at, run_at, last_error FROM jobs WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(status_from_row).transpose()
}

/// The job queued under `dedupe_key` (e.g. a webhook event's), if any.
pub async fn status_by_dedupe_key(db: &Db, key: &str) -> Result<Option<JobStatus>, DbError> {
    let row = sqlx::query(
        "SELECT attempts, done_at, failed_at, run_at, last_error FROM jobs WHERE dedupe_key = $1",
    )
    .bind(key)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(status_from_row).transpose()
}

/// Counts of jobs by state, for tests and operators.
pub async fn count_pending(db: &Db) -> Result<i64, DbError> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE done_at IS NULL AND failed_at IS NULL")
            .fetch_one(db.reader())
            .await?;
    Ok(row.try_get("n")?)
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
                SUM(CASE WHEN failed_at IS NULL AND locked_until IS NOT NULL
                              AND locked_until >= $1
                         THEN 1 ELSE 0 END) AS running,
                SUM(CASE WHEN failed_at IS NULL
                              AND (locked_until IS NULL OR locked_until < $1)
                         THEN 1 ELSE 0 END) AS queued,
                SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END) AS failed
         FROM jobs
         WHERE done_at IS NULL
         GROUP BY kind
         ORDER BY kind",
    )
    .bind(now)
    .fetch_all(db.reader())
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
