//! Throttling of the forms that cost us an argon2 hash or a mail: log-in,
//! sign-up, password reset and verification resend. Each attempt is reserved
//! in the database *before* the expensive work, atomically (see
//! `db::throttle::reserve`), so requests in flight at the same time cannot all
//! pass: 20 parallel guesses for one email get at most 5 password checks.
//! A successful log-in clears its email's bucket and gives back as many of its
//! address's attempts as that email had (its typos, and this attempt).
//! Counted in the database, so it holds across instances.

use crate::db::{self, Db, DbError};
use crate::error::AppError;

/// How many attempts per window one key may make.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Bucket prefix, e.g. `login:email`.
    pub name: &'static str,
    pub max: i64,
    pub window_secs: i64,
}

pub const WINDOW_SECS: i64 = 15 * 60;
pub const MAX_FAILURES: i64 = 5;

pub const LOGIN_EMAIL: Limit = Limit {
    name: "login:email",
    max: MAX_FAILURES,
    window_secs: WINDOW_SECS,
};
pub const LOGIN_IP: Limit = Limit {
    name: "login:ip",
    max: MAX_FAILURES,
    window_secs: WINDOW_SECS,
};
/// Each sign-up hashes a password and sends a mail (to the owner when the
/// address is taken), so both the address and the email are limited.
pub const SIGNUP_IP: Limit = Limit {
    name: "signup:ip",
    max: 20,
    window_secs: WINDOW_SECS,
};
pub const SIGNUP_EMAIL: Limit = Limit {
    name: "signup:email",
    max: 3,
    window_secs: 60 * 60,
};
pub const RESET_EMAIL: Limit = Limit {
    name: "reset:email",
    max: 3,
    window_secs: 60 * 60,
};
pub const RESET_IP: Limit = Limit {
    name: "reset:ip",
    max: 10,
    window_secs: WINDOW_SECS,
};
/// Choosing a new password from a reset link (an argon2 hash each).
pub const NEW_PASSWORD_IP: Limit = Limit {
    name: "newpw:ip",
    max: 10,
    window_secs: WINDOW_SECS,
};
pub const RESEND_USER: Limit = Limit {
    name: "resend:user",
    max: 3,
    window_secs: WINDOW_SECS,
};

fn bucket(limit: Limit, key: &str) -> String {
    format!("{}:{key}", limit.name)
}

/// Attempts reserved by [`reserve`]; give them back with [`Reserved::release`]
/// when the attempt should not count (a successful log-in).
#[derive(Debug, Default)]
pub struct Reserved(Vec<(String, i64)>);

impl Reserved {
    pub async fn release(self, db: &Db) -> Result<(), DbError> {
        for (bucket, window_start) in self.0 {
            db::throttle::release(db, &bucket, window_start).await?;
        }
        Ok(())
    }
}

/// Reserves one attempt under every `(limit, key)`, or none: when one bucket is
/// full, those already reserved are given back and the answer is
/// `TooManyAttempts` with the time the fullest bucket reopens.
pub async fn reserve(db: &Db, what: &[(Limit, &str)], now: i64) -> Result<Reserved, AppError> {
    let mut held = Reserved::default();
    for (limit, key) in what {
        let b = bucket(*limit, key);
        match db::throttle::reserve(db, &b, limit.max, limit.window_secs, now).await? {
            Some(window_start) => held.0.push((b, window_start)),
            None => {
                held.release(db).await?;
                let start = db::throttle::window_start(db, &b).await?.unwrap_or(now);
                tracing::warn!(bucket = %limit.name, "throttled");
                return Err(AppError::TooManyAttempts {
                    retry_at: start + limit.window_secs,
                    now,
                });
            }
        }
    }
    Ok(held)
}

/// Forgets every attempt for `key` under `limit`.
pub async fn forget(db: &Db, limit: Limit, key: &str) -> Result<(), DbError> {
    db::throttle::clear(db, &bucket(limit, key))
        .await
        .map(|_| ())
}

/// After a successful log-in (or password check): the email's typos are
/// forgiven, and the address gets back the attempts that email had used, at
/// most. Failures against other emails from that address still count.
pub async fn forgive_login(db: &Db, email_key: &str, ip: &str) -> Result<(), DbError> {
    let had = db::throttle::clear(db, &bucket(LOGIN_EMAIL, email_key)).await?;
    if had > 0 {
        db::throttle::release_up_to(db, &bucket(LOGIN_IP, ip), had).await?;
    }
    Ok(())
}

/// Drops buckets whose window ended (the longest window is an hour).
pub async fn prune(db: &Db, now: i64) -> Result<u64, DbError> {
    db::throttle::prune_before(db, now - 60 * 60).await
}
