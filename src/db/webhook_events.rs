//! Stored Stripe events. Inserting an event and queueing its job happen in one
//! transaction; the event id is the primary key, so a redelivery is a no-op.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, DbError};

pub const PENDING: &str = "pending";
pub const APPLIED: &str = "applied";
pub const IGNORED: &str = "ignored";
pub const FAILED: &str = "failed";

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub endpoint: &'a str,
    pub account: Option<&'a str>,
    pub event_type: &'a str,
    pub object_id: Option<&'a str>,
    pub created: i64,
    pub payload: &'a str,
    pub source: &'a str,
    pub received_at: i64,
}

/// Stores the event; `false` when an event with this id is already stored.
pub async fn insert(conn: &mut AnyConnection, e: &NewEvent<'_>) -> Result<bool, DbError> {
    let row = sqlx::query(
        "INSERT INTO webhook_events
             (id, endpoint, account, type, object_id, created, payload, source, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO NOTHING
         RETURNING id",
    )
    .bind(e.id)
    .bind(e.endpoint)
    .bind(e.account)
    .bind(e.event_type)
    .bind(e.object_id)
    .bind(e.created)
    .bind(e.payload)
    .bind(e.source)
    .bind(e.received_at)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub id: String,
    pub endpoint: String,
    pub account: Option<String>,
    pub event_type: String,
    pub object_id: Option<String>,
    pub created: i64,
    pub payload: String,
    pub source: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub outcome: Option<String>,
}

fn from_row(r: &AnyRow) -> Result<StoredEvent, DbError> {
    Ok(StoredEvent {
        id: r.try_get("id")?,
        endpoint: r.try_get("endpoint")?,
        account: r.try_get("account")?,
        event_type: r.try_get("type")?,
        object_id: r.try_get("object_id")?,
        created: r.try_get("created")?,
        payload: r.try_get("payload")?,
        source: r.try_get("source")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        outcome: r.try_get("outcome")?,
    })
}

const COLUMNS: &str = "id, endpoint, account, type, object_id, created, payload, source, status,
                       attempts, last_error, outcome";

pub async fn get(db: &Db, id: &str) -> Result<Option<StoredEvent>, DbError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_events WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Newest first; for operators and tests.
pub async fn list_recent(db: &Db, limit: i64) -> Result<Vec<StoredEvent>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_events ORDER BY received_at DESC, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Parked events (failed after their last attempt), newest first: what the admin replays.
pub async fn list_failed(db: &Db, limit: i64) -> Result<Vec<StoredEvent>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_events WHERE status = 'failed'
         ORDER BY received_at DESC, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn count(db: &Db) -> Result<i64, DbError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM webhook_events")
        .fetch_one(db.reader())
        .await?;
    Ok(row.try_get("n")?)
}

pub async fn count_by_status(db: &Db, status: &str) -> Result<i64, DbError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM webhook_events WHERE status = $1")
        .bind(status)
        .fetch_one(db.reader())
        .await?;
    Ok(row.try_get("n")?)
}

/// Records a finished handler run (`applied` or `ignored`) with what it did.
/// Only a pending or failed event changes, so a rare second run changes nothing.
pub async fn mark_processed(
    db: &Db,
    id: &str,
    status: &str,
    outcome: &str,
    now: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE webhook_events
         SET status = $1, outcome = $2, processed_at = $3, attempts = attempts + 1, last_error = NULL
         WHERE id = $4 AND status IN ('pending', 'failed')",
    )
    .bind(status)
    .bind(outcome)
    .bind(now)
    .bind(id)
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed handler run; `parked` marks the event failed (no attempts left).
pub async fn record_failure(db: &Db, id: &str, error: &str, parked: bool) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE webhook_events
         SET attempts = attempts + 1, last_error = $1,
             status = CASE WHEN $2 = 1 THEN 'failed' ELSE status END
         WHERE id = $3 AND status IN ('pending', 'failed')",
    )
    .bind(error)
    .bind(i64::from(parked))
    .bind(id)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Accounts we have heard from (Connect events), for reconciliation and the ledger check.
pub async fn known_accounts(db: &Db) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query(
        "SELECT account FROM webhook_events WHERE account IS NOT NULL
         UNION SELECT stripe_account_id AS account FROM sellers WHERE stripe_account_id IS NOT NULL
         UNION SELECT account FROM ledger_entries WHERE account <> 'platform'",
    )
    .fetch_all(db.reader())
    .await?;
    let mut accounts: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("account"))
        .collect::<Result<_, _>>()?;
    accounts.sort();
    accounts.dedup();
    Ok(accounts)
}
