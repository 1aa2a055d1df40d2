//! What the admin's webhook pages read and do: the list of stored events (filtered, keyset
//! pages), one event with its payload, replaying an event and starting a reconciliation run.
//! Like `seller_admin`, each action commits together with its one audit-log entry, and an
//! action that changes nothing (the event is already queued) logs nothing.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::audit::{self, NewEntry};
use super::seller_admin::Actor;
use super::{Db, DbError, jobs};
use crate::domain::audit::AuditAction;
use crate::domain::ids::{JobId, random_token};
use crate::webhooks::{PROCESS_EVENT, RECONCILE};

/// The audit log's `subject_kind` of a replay and of a reconciliation start.
pub const EVENT_SUBJECT: &str = "webhook_event";
pub const RUN_SUBJECT: &str = "reconcile_run";

/// An event as the list shows it (the payload is only read on its own page).
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: String,
    pub endpoint: String,
    pub account: Option<String>,
    pub event_type: String,
    pub object_id: Option<String>,
    pub created: i64,
    pub source: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub outcome: Option<String>,
    pub received_at: i64,
    pub processed_at: Option<i64>,
}

const COLUMNS: &str = "id, endpoint, account, type, object_id, created, source, status, attempts,
                       last_error, outcome, received_at, processed_at";

fn event_from_row(r: &AnyRow) -> Result<EventRow, DbError> {
    Ok(EventRow {
        id: r.try_get("id")?,
        endpoint: r.try_get("endpoint")?,
        account: r.try_get("account")?,
        event_type: r.try_get("type")?,
        object_id: r.try_get("object_id")?,
        created: r.try_get("created")?,
        source: r.try_get("source")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        outcome: r.try_get("outcome")?,
        received_at: r.try_get("received_at")?,
        processed_at: r.try_get("processed_at")?,
    })
}

/// Where a page of the list starts: strictly older than this event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub received_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn of(e: &EventRow) -> Cursor {
        Cursor {
            received_at: e.received_at,
            id: e.id.clone(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.received_at, self.id)
    }

    /// `None` for anything that is not a cursor of this list.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('.')?;
        let ok_id =
            id.starts_with("evt_") && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok_id {
            return None;
        }
        Some(Cursor {
            received_at: at.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// Newest received first; `status` and `event_type` filter when not empty.
pub async fn page(
    db: &Db,
    status: &str,
    event_type: &str,
    before: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<EventRow>, DbError> {
    // Unused filters compare a placeholder with itself (as db::audit::page does).
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_events
         WHERE ($1 = '' OR status = $1) AND ($2 = '' OR type = $2)
           AND ($3 = 0 OR received_at < $4 OR (received_at = $4 AND id < $5))
         ORDER BY received_at DESC, id DESC
         LIMIT $6"
    ))
    .bind(status)
    .bind(event_type)
    .bind(i64::from(before.is_some()))
    .bind(before.map(|c| c.received_at).unwrap_or(0))
    .bind(before.map(|c| c.id.as_str()).unwrap_or(""))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// Every event type stored, for the list's filter.
pub async fn types(db: &Db) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query("SELECT DISTINCT type FROM webhook_events ORDER BY type")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| r.try_get("type").map_err(DbError::from))
        .collect()
}

/// How many events are in each status.
pub async fn status_counts(db: &Db) -> Result<Vec<(String, i64)>, DbError> {
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS n FROM webhook_events GROUP BY status ORDER BY status",
    )
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| -> Result<(String, i64), DbError> { Ok((r.try_get("status")?, r.try_get("n")?)) })
        .collect()
}

/// One event with its raw payload.
pub async fn find(db: &Db, id: &str) -> Result<Option<(EventRow, String)>, DbError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, payload FROM webhook_events WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| -> Result<(EventRow, String), DbError> {
        Ok((event_from_row(&r)?, r.try_get("payload")?))
    })
    .transpose()
}

/// Unfinished jobs (waiting, running or retrying) that will process event `id`.
async fn live_jobs(conn: &mut AnyConnection, kind: &str, payload: &str) -> Result<i64, DbError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs
         WHERE kind = $1 AND payload = $2 AND done_at IS NULL AND failed_at IS NULL",
    )
    .bind(kind)
    .bind(payload)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// Whether a job will still process event `id` (the event page says "queued").
pub async fn is_queued(db: &Db, id: &str) -> Result<bool, DbError> {
    let mut conn = db.acquire().await?;
    Ok(live_jobs(&mut conn, PROCESS_EVENT, id).await? > 0)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// Put back in the queue and logged; `was` is the status it had.
    Queued {
        was: String,
    },
    /// A job will already process it: nothing changed or logged.
    AlreadyQueued,
    NotFound,
}

/// Runs event `id` through its handler again: the event goes back to `pending`, and its
/// parked job is requeued with fresh attempts (`jobs::requeue_failed`), or, for an event that
/// was processed (its job is done or pruned), a new job is queued. Handlers are idempotent, so
/// replaying an applied event changes nothing that is already right.
pub async fn replay(
    db: &Db,
    id: &str,
    actor: &Actor<'_>,
    now: i64,
) -> Result<ReplayOutcome, DbError> {
    let mut tx = db.begin().await?;
    // Take the row's write lock before reading it, so two admins replaying at once are
    // serialised and the second sees the first's job.
    let locked = sqlx::query("UPDATE webhook_events SET status = status WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if locked == 0 {
        return Ok(ReplayOutcome::NotFound);
    }
    if live_jobs(&mut tx, PROCESS_EVENT, id).await? > 0 {
        return Ok(ReplayOutcome::AlreadyQueued);
    }
    let row = sqlx::query("SELECT status, attempts FROM webhook_events WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let was: String = row.try_get("status")?;
    let attempts: i64 = row.try_get("attempts")?;
    sqlx::query("UPDATE webhook_events SET status = 'pending' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let original =
        sqlx::query("SELECT id FROM jobs WHERE dedupe_key = $1 AND failed_at IS NOT NULL")
            .bind(format!("{PROCESS_EVENT}:{id}"))
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>("id"))
            .transpose()?
            .and_then(|j| JobId::try_from(j).ok());
    let requeued = match &original {
        Some(job) => jobs::requeue_failed_in(&mut tx, job).await?,
        None => false,
    };
    if !requeued {
        let key = format!("{PROCESS_EVENT}:{id}:replay:{}", random_token(12));
        jobs::enqueue(&mut tx, PROCESS_EVENT, id, Some(&key), now, now).await?;
    }
    audit::record(
        &mut tx,
        &NewEntry {
            actor_id: actor.id,
            actor_email: actor.email,
            action: AuditAction::EventReplay,
            subject_kind: EVENT_SUBJECT,
            subject_id: id,
            reason: None,
            before: json!({ "status": was, "attempts": attempts }),
            after: json!({
                "status": "pending",
                "job": if requeued { "failed job requeued" } else { "new job queued" },
            }),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ReplayOutcome::Queued { was })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconcileOutcome {
    /// Queued and logged under this run id.
    Started(String),
    /// A run is already queued or running (this one): nothing queued or logged.
    AlreadyRunning(String),
}

/// Queues a reconciliation run under `run_id` (see `webhooks::reconcile`) unless one is
/// already waiting or running.
pub async fn start_reconcile(
    db: &Db,
    run_id: &str,
    actor: &Actor<'_>,
    now: i64,
) -> Result<ReconcileOutcome, DbError> {
    let mut tx = db.begin().await?;
    let running = sqlx::query(
        "SELECT payload FROM jobs WHERE kind = $1 AND done_at IS NULL AND failed_at IS NULL
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(RECONCILE)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(r) = running {
        return Ok(ReconcileOutcome::AlreadyRunning(r.try_get("payload")?));
    }
    jobs::enqueue(&mut tx, RECONCILE, run_id, None, now, now).await?;
    audit::record(
        &mut tx,
        &NewEntry {
            actor_id: actor.id,
            actor_email: actor.email,
            action: AuditAction::ReconcileStart,
            subject_kind: RUN_SUBJECT,
            subject_id: run_id,
            reason: None,
            before: json!({}),
            after: json!({ "status": "queued" }),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ReconcileOutcome::Started(run_id.to_owned()))
}

/// The job of run `run_id` while it has not recorded progress yet: `Some(last_error)` when
/// one is queued (the error of a previous attempt, if any), `None` when there is no such job.
pub async fn queued_run(db: &Db, run_id: &str) -> Result<Option<Option<String>>, DbError> {
    let row = sqlx::query(
        "SELECT last_error FROM jobs WHERE kind = $1 AND payload = $2 AND done_at IS NULL
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(RECONCILE)
    .bind(run_id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| r.try_get("last_error").map_err(DbError::from))
        .transpose()
}
