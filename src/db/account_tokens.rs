//! Single-use tokens mailed to account owners (verify email, reset password).
//! Only the SHA-256 of a token is stored; `consume` is a conditional UPDATE, so
//! a token works once even when two requests race with it.

use sqlx::{AnyConnection, Row};

use super::{Db, DbError};
use crate::domain::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
}

pub async fn insert(
    conn: &mut AnyConnection,
    token_hash: &str,
    user: &UserId,
    purpose: Purpose,
    expires_at: i64,
    now: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user.as_str())
    .bind(purpose.as_str())
    .bind(expires_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

fn user_of(row: Option<sqlx::any::AnyRow>) -> Result<Option<UserId>, DbError> {
    row.map(|r| {
        let id: String = r.try_get("user_id")?;
        UserId::try_from(id).map_err(|e| DbError::Corrupt {
            column: "account_tokens.user_id",
            detail: e.to_string(),
        })
    })
    .transpose()
}

/// The owner of an unused, unexpired token, without using it up.
pub async fn peek(
    db: &Db,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> Result<Option<UserId>, DbError> {
    let row = sqlx::query(
        "SELECT user_id FROM account_tokens
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(db.reader())
    .await?;
    user_of(row)
}

/// Uses the token up; its owner when it was unused and unexpired, else `None`.
pub async fn consume(
    conn: &mut AnyConnection,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> Result<Option<UserId>, DbError> {
    let row = sqlx::query(
        "UPDATE account_tokens SET used_at = $1
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
         RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await?;
    user_of(row)
}

/// Spends every other open token of this kind (a reset makes older links useless).
pub async fn revoke_all(
    conn: &mut AnyConnection,
    user: &UserId,
    purpose: Purpose,
    now: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE account_tokens SET used_at = $1
         WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user.as_str())
    .bind(purpose.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Tokens expired or used before `before` are of no use to anyone.
pub async fn prune_before(db: &Db, before: i64) -> Result<u64, DbError> {
    let done = sqlx::query(
        "DELETE FROM account_tokens WHERE expires_at <= $1 OR (used_at IS NOT NULL AND used_at <= $1)",
    )
    .bind(before)
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected())
}
