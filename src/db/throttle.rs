//! Attempt counters in fixed windows. `reserve` is one UPSERT that adds the
//! attempt only while the count is under the limit (re-checked in its own
//! WHERE, under the row lock on PostgreSQL and the write lock on SQLite), so
//! parallel requests cannot all pass a check they read before anyone wrote.

use sqlx::Row;

use super::{Db, DbError};

/// Counts one attempt in `bucket`; `Ok(Some(window_start))` when it fits under
/// `max` attempts per `window` seconds, `Ok(None)` when the bucket is full.
pub async fn reserve(
    db: &Db,
    bucket: &str,
    max: i64,
    window: i64,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let row = sqlx::query(
        "INSERT INTO throttle_buckets (bucket, window_start, attempts) VALUES ($1, $2, 1)
         ON CONFLICT (bucket) DO UPDATE SET
             attempts = CASE WHEN throttle_buckets.window_start <= $3 THEN 1
                             ELSE throttle_buckets.attempts + 1 END,
             window_start = CASE WHEN throttle_buckets.window_start <= $3 THEN $2
                                 ELSE throttle_buckets.window_start END
         WHERE throttle_buckets.window_start <= $3 OR throttle_buckets.attempts < $4
         RETURNING window_start",
    )
    .bind(bucket)
    .bind(now)
    .bind(now - window)
    .bind(max)
    .fetch_optional(db.writer())
    .await?;
    Ok(row.map(|r| r.try_get("window_start")).transpose()?)
}

/// When the bucket's current window started (to tell a person when to retry).
pub async fn window_start(db: &Db, bucket: &str) -> Result<Option<i64>, DbError> {
    let row = sqlx::query("SELECT window_start FROM throttle_buckets WHERE bucket = $1")
        .bind(bucket)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("window_start")).transpose()?)
}

/// Gives back one attempt reserved in the window that started at `window_start`.
pub async fn release(db: &Db, bucket: &str, window_start: i64) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE throttle_buckets SET attempts = attempts - 1
         WHERE bucket = $1 AND window_start = $2 AND attempts > 0",
    )
    .bind(bucket)
    .bind(window_start)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Forgets every attempt in `bucket` (a successful log-in forgives typos);
/// returns how many there were.
pub async fn clear(db: &Db, bucket: &str) -> Result<i64, DbError> {
    let row = sqlx::query("DELETE FROM throttle_buckets WHERE bucket = $1 RETURNING attempts")
        .bind(bucket)
        .fetch_optional(db.writer())
        .await?;
    Ok(row.map(|r| r.try_get("attempts")).transpose()?.unwrap_or(0))
}

/// Gives back up to `n` attempts of `bucket`'s current window.
pub async fn release_up_to(db: &Db, bucket: &str, n: i64) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE throttle_buckets
         SET attempts = CASE WHEN attempts > $2 THEN attempts - $2 ELSE 0 END
         WHERE bucket = $1",
    )
    .bind(bucket)
    .bind(n)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Buckets whose window started before `before` carry no information.
pub async fn prune_before(db: &Db, before: i64) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM throttle_buckets WHERE window_start <= $1")
        .bind(before)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected())
}
