//! Accounts. Emails are stored normalised (lower case), so the UNIQUE
//! constraint is case-insensitive on both databases.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, DbError};
use crate::domain::{Email, Role, UserId};

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    /// When the owner followed the verification link; `None` = not yet.
    pub email_verified_at: Option<i64>,
    /// Sessions issued under another epoch are no longer valid.
    pub session_epoch: i64,
}

impl User {
    /// The owner proved they read mail at this address. Unverified buyers may
    /// browse but not pay; unverified sellers may not publish products.
    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

const COLUMNS: &str = "id, email, role, created_at, email_verified_at, session_epoch";

/// The stored hash travels separately from [`User`] so it is never handed to a template.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

fn user_from_row(row: &AnyRow) -> Result<User, DbError> {
    let id: String = row.try_get("id")?;
    let role: String = row.try_get("role")?;
    Ok(User {
        id: UserId::try_from(id).map_err(|e| DbError::Corrupt {
            column: "users.id",
            detail: e.to_string(),
        })?,
        email: row.try_get("email")?,
        role: role
            .parse()
            .map_err(|e: crate::domain::role::RoleError| DbError::Corrupt {
                column: "users.role",
                detail: e.to_string(),
            })?,
        created_at: row.try_get("created_at")?,
        email_verified_at: row.try_get("email_verified_at")?,
        session_epoch: row.try_get("session_epoch")?,
    })
}

/// Inserts a user; `Ok(None)` when the email is already taken. Takes a
/// connection so sign-up can queue its welcome mail in the same transaction.
pub async fn insert(
    conn: &mut AnyConnection,
    email: &Email,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<Option<User>, DbError> {
    let id = UserId::generate();
    let row = sqlx::query(&format!(
        "INSERT INTO users (id, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (email) DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(id.as_str())
    .bind(email.as_str())
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn find_by_id(db: &Db, id: &UserId) -> Result<Option<User>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// [`find_by_id`] inside a transaction.
pub async fn find_by_id_in(conn: &mut AnyConnection, id: &UserId) -> Result<Option<User>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<User>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email.as_str())
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Records the first successful verification; later ones change nothing.
pub async fn mark_email_verified(
    conn: &mut AnyConnection,
    id: &UserId,
    now: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL",
    )
    .bind(now)
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the password and ends every session of the account (new epoch).
/// Returns the new epoch.
pub async fn set_password(
    conn: &mut AnyConnection,
    id: &UserId,
    password_hash: &str,
) -> Result<Option<i64>, DbError> {
    let row = sqlx::query(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1
         WHERE id = $2 RETURNING session_epoch",
    )
    .bind(password_hash)
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.try_get("session_epoch")).transpose()?)
}

/// Ends every session of the account ("log out everywhere"). Returns the new epoch.
pub async fn bump_session_epoch(db: &Db, id: &UserId) -> Result<Option<i64>, DbError> {
    let row = sqlx::query(
        "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
    )
    .bind(id.as_str())
    .fetch_optional(db.writer())
    .await?;
    Ok(row.map(|r| r.try_get("session_epoch")).transpose()?)
}

/// The stored hash of one account, for re-checking the current password.
pub async fn password_hash(db: &Db, id: &UserId) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
}

pub async fn credentials_by_email(db: &Db, email: &Email) -> Result<Option<Credentials>, DbError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash FROM users WHERE email = $1"
    ))
    .bind(email.as_str())
    .fetch_optional(db.reader())
    .await?;
    match row {
        Some(row) => Ok(Some(Credentials {
            user: user_from_row(&row)?,
            password_hash: row.try_get("password_hash")?,
        })),
        None => Ok(None),
    }
}

/// Every administrator's address (operational mail: a seller disconnected, a refund failed).
pub async fn admin_emails(conn: &mut AnyConnection) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query("SELECT email FROM users WHERE role = 'admin' ORDER BY email")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get("email").map_err(Into::into))
        .collect()
}

/// Newest first; the admin page shows one page of them.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<User>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY created_at DESC, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(user_from_row).collect()
}

pub struct RoleCounts {
    pub buyers: i64,
    pub sellers: i64,
    pub admins: i64,
}

pub async fn count_by_role(db: &Db) -> Result<RoleCounts, DbError> {
    let rows = sqlx::query("SELECT role, COUNT(*) AS n FROM users GROUP BY role")
        .fetch_all(db.reader())
        .await?;
    let mut counts = RoleCounts {
        buyers: 0,
        sellers: 0,
        admins: 0,
    };
    for row in rows {
        let role: String = row.try_get("role")?;
        let n: i64 = row.try_get("n")?;
        match role.as_str() {
            "buyer" => counts.buyers = n,
            "seller" => counts.sellers = n,
            "admin" => counts.admins = n,
            _ => {}
        }
    }
    Ok(counts)
}
