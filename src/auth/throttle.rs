//! Log-in throttling: after 5 failures for one email or one IP address within
//! 15 minutes, further attempts are refused until the oldest of those failures
//! leaves the window. Counted in the database, so it holds across instances.

use crate::db::{self, Db, DbError};

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_SECS: i64 = 15 * 60;

/// `Some(unix time)` when attempts for this email or IP are paused until then.
pub async fn blocked_until(
    db: &Db,
    email_key: &str,
    ip: &str,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let since = now - WINDOW_SECS;
    let by_email =
        db::login_failures::nth_latest_for_email(db, email_key, since, MAX_FAILURES).await?;
    let by_ip = db::login_failures::nth_latest_for_ip(db, ip, since, MAX_FAILURES).await?;
    Ok(by_email.max(by_ip).map(|t| t + WINDOW_SECS))
}

pub async fn record_failure(db: &Db, email_key: &str, ip: &str, now: i64) -> Result<(), DbError> {
    db::login_failures::record(db, email_key, ip, now).await
}

pub async fn forget(db: &Db, email_key: &str) -> Result<(), DbError> {
    db::login_failures::clear_for_email(db, email_key).await
}
