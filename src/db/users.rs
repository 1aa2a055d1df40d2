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
}

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
    let row = sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (email) DO NOTHING
         RETURNING id, email, role, created_at",
    )
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
    let row = sqlx::query("SELECT id, email, role, created_at FROM users WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn credentials_by_email(db: &Db, email: &Email) -> Result<Option<Credentials>, DbError> {
    let row = sqlx::query(
        "SELECT id, email, role, created_at, password_hash FROM users WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(db)
    .await?;
    match row {
        Some(row) => Ok(Some(Credentials {
            user: user_from_row(&row)?,
            password_hash: row.try_get("password_hash")?,
        })),
        None => Ok(None),
    }
}

/// Newest first; the admin page shows one page of them.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<User>, DbError> {
    let rows = sqlx::query(
        "SELECT id, email, role, created_at FROM users ORDER BY created_at DESC, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
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
        .fetch_all(db)
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
