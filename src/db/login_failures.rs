//! Failed log-in attempts, kept in the database so throttling holds across
//! several app instances.

use sqlx::Row;

use super::{Db, DbError};
use crate::domain::ids::LoginFailureId;

pub async fn record(db: &Db, email_key: &str, ip: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("INSERT INTO login_failures (id, email, ip, failed_at) VALUES ($1, $2, $3, $4)")
        .bind(LoginFailureId::generate().as_str())
        .bind(email_key)
        .bind(ip)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// The time of the `nth` most recent failure (1-based) for this email since `since`.
/// Once that failure leaves the window, fewer than `nth` remain.
pub async fn nth_latest_for_email(
    db: &Db,
    email_key: &str,
    since: i64,
    nth: i64,
) -> Result<Option<i64>, DbError> {
    let row = sqlx::query(
        "SELECT failed_at FROM login_failures WHERE email = $1 AND failed_at > $2
         ORDER BY failed_at DESC LIMIT 1 OFFSET $3",
    )
    .bind(email_key)
    .bind(since)
    .bind(nth - 1)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.try_get("failed_at")).transpose()?)
}

pub async fn nth_latest_for_ip(
    db: &Db,
    ip: &str,
    since: i64,
    nth: i64,
) -> Result<Option<i64>, DbError> {
    let row = sqlx::query(
        "SELECT failed_at FROM login_failures WHERE ip = $1 AND failed_at > $2
         ORDER BY failed_at DESC LIMIT 1 OFFSET $3",
    )
    .bind(ip)
    .bind(since)
    .bind(nth - 1)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.try_get("failed_at")).transpose()?)
}

/// A successful log-in forgives earlier typos for that email.
pub async fn clear_for_email(db: &Db, email_key: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email_key)
        .execute(db)
        .await?;
    Ok(())
}

/// Old rows carry no information once outside every window.
pub async fn prune_before(db: &Db, before: i64) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM login_failures WHERE failed_at <= $1")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
