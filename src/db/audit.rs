//! The audit log. Append-only: this module INSERTs and SELECTs `audit_log` and
//! nothing else anywhere does either (tests/admin_audit.rs greps src/ for
//! UPDATE/DELETE of it). [`record`] takes the caller's transaction, so an entry
//! exists exactly when the action it describes was committed.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, DbError};
use crate::domain::UserId;
use crate::domain::audit::AuditAction;
use crate::domain::ids::{AuditId, random_token};

/// One admin action, as the caller describes it.
pub struct NewEntry<'a> {
    pub actor_id: &'a UserId,
    pub actor_email: &'a str,
    pub action: AuditAction,
    pub subject_kind: &'a str,
    pub subject_id: &'a str,
    pub reason: Option<&'a str>,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: AuditId,
    pub actor_id: String,
    pub actor_email: String,
    pub action: AuditAction,
    pub subject_kind: String,
    pub subject_id: String,
    pub reason: Option<String>,
    pub before_json: String,
    pub after_json: String,
    pub created_at: i64,
}

/// Where a page of the log starts: strictly older than this entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: AuditId,
}

impl Cursor {
    pub fn of(entry: &Entry) -> Cursor {
        Cursor {
            created_at: entry.created_at,
            id: entry.id.clone(),
        }
    }

    /// `<created_at>.<id>`, for a query string.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    /// `None` for anything that is not a cursor this module wrote.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('.')?;
        Some(Cursor {
            created_at: at.parse().ok()?,
            id: AuditId::try_from(id.to_string()).ok()?,
        })
    }
}

/// Appends one entry inside the caller's transaction.
pub async fn record(
    conn: &mut AnyConnection,
    entry: &NewEntry<'_>,
    now: i64,
) -> Result<AuditId, DbError> {
    let id = time_ordered_id();
    sqlx::query(
        "INSERT INTO audit_log (id, actor_id, actor_email, action, subject_kind, subject_id,
                                reason, before_json, after_json, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.as_str())
    .bind(entry.actor_id.as_str())
    .bind(entry.actor_email)
    .bind(entry.action.as_str())
    .bind(entry.subject_kind)
    .bind(entry.subject_id)
    .bind(entry.reason)
    .bind(entry.before.to_string())
    .bind(entry.after.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// `aud_<16-digit microseconds><random>`: ids sort in the order entries were
/// written, so actions taken within the same second still list newest first
/// (the keyset is `created_at, id`).
fn time_ordered_id() -> AuditId {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    AuditId::try_from(format!("aud_{micros:016}{}", random_token(10)))
        .unwrap_or_else(|_| AuditId::generate())
}

const COLUMNS: &str = "id, actor_id, actor_email, action, subject_kind, subject_id, reason, \
                       before_json, after_json, created_at";

fn entry_from_row(row: &AnyRow) -> Result<Entry, DbError> {
    let id: String = row.try_get("id")?;
    let action: String = row.try_get("action")?;
    Ok(Entry {
        id: AuditId::try_from(id).map_err(|e| DbError::Corrupt {
            column: "audit_log.id",
            detail: e.to_string(),
        })?,
        action: action
            .parse()
            .map_err(
                |e: crate::domain::audit::AuditActionError| DbError::Corrupt {
                    column: "audit_log.action",
                    detail: e.to_string(),
                },
            )?,
        actor_id: row.try_get("actor_id")?,
        actor_email: row.try_get("actor_email")?,
        subject_kind: row.try_get("subject_kind")?,
        subject_id: row.try_get("subject_id")?,
        reason: row.try_get("reason")?,
        before_json: row.try_get("before_json")?,
        after_json: row.try_get("after_json")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Newest first, `limit` entries older than `before` (keyset), optionally of one action.
pub async fn page(
    db: &Db,
    action: Option<AuditAction>,
    before: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Entry>, DbError> {
    // Unused filters compare a placeholder with itself, so one statement
    // serves every combination and every value is still bound.
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log
         WHERE ($1 = '' OR action = $1)
           AND ($2 = 0 OR created_at < $3 OR (created_at = $3 AND id < $4))
         ORDER BY created_at DESC, id DESC
         LIMIT $5"
    );
    let rows = sqlx::query(&sql)
        .bind(action.map(AuditAction::as_str).unwrap_or(""))
        .bind(i64::from(before.is_some()))
        .bind(before.map(|c| c.created_at).unwrap_or(0))
        .bind(before.map(|c| c.id.as_str()).unwrap_or(""))
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The newest `limit` entries about one subject (e.g. a seller's page).
pub async fn for_subject(
    db: &Db,
    subject_kind: &str,
    subject_id: &str,
    limit: i64,
) -> Result<Vec<Entry>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log
         WHERE subject_kind = $1 AND subject_id = $2
         ORDER BY created_at DESC, id DESC
         LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(subject_kind)
        .bind(subject_id)
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(entry_from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_the_order_they_were_made() {
        let a = time_ordered_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = time_ordered_id();
        assert!(a.as_str() < b.as_str(), "{a} < {b}");
        assert_eq!(a.as_str().len(), 4 + 16 + 10);
    }

    #[test]
    fn cursors_round_trip_and_reject_foreign_text() {
        let c = Cursor {
            created_at: 1_800_000_000,
            id: AuditId::generate(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "x.aud_abc", "12", "12.usr_abc", "12.aud_a b"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
