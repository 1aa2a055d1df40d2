//! Reconciliation: for the platform and every connected account, page through `/v1/events`
//! since the stored cursor and ingest every event we never received, through the same path as
//! a delivery (store + job); new events are then processed at once so the run can report how
//! many were applied. Then the PaymentIntents of order parts still `processing` or waiting for
//! 3-D Secure are re-read (an intent can settle without an event we could page: one older than
//! the cursor, or on an account we stopped reading). Progress and the summary are kept in
//! `reconcile_runs`.
//!
//! Runs as a periodic job ([`enqueue`] from the start-up loop) and on demand ([`run`], or
//! [`enqueue`] from an admin button).

use super::receive::{Envelope, ingest};
use super::worker::process_event;
use super::{Endpoint, RECONCILE, WebhookCtx};
use crate::db::reconcile::{Run, RunCounts};
use crate::db::{self, Db, DbError};
use crate::domain::ids::random_token;
use crate::stripe::GatewayError;

/// Stripe keeps events for 30 days: a first run reads all of them.
const HISTORY_SECS: i64 = 30 * 86_400;
/// The cursor trails the newest event read by this much, so events created in the same
/// second (or seen late) are read again next time; re-reading stored events is a no-op.
const OVERLAP_SECS: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("Stripe: {0}")]
    Stripe(#[from] GatewayError),
}

/// Queues a run (the periodic tick and the admin button); `dedupe` keeps one per slot.
pub async fn enqueue(db: &Db, dedupe: Option<&str>) -> Result<Option<String>, DbError> {
    let run_id = new_run_id();
    let now = db::now_unix();
    let mut conn = db.acquire().await?;
    let queued = db::jobs::enqueue(&mut conn, RECONCILE, &run_id, dedupe, now, now).await?;
    Ok(queued.map(|_| run_id))
}

/// The id a queued run will record its progress under (`reconcile_runs.id`).
pub fn new_run_id() -> String {
    format!("rec_{}", random_token(16))
}

/// Runs reconciliation now under `run_id`, recording progress as it goes.
pub async fn run(ctx: &WebhookCtx, run_id: &str) -> Result<Run, ReconcileError> {
    let db = &ctx.db;
    if db::reconcile::get_run(db, run_id).await?.is_none() {
        db::reconcile::start_run(db, run_id, db::now_unix()).await?;
    }
    let result = run_inner(ctx, run_id).await;
    let error = result.as_ref().err().map(|e| e.to_string());
    db::reconcile::finish_run(db, run_id, error.as_deref(), db::now_unix()).await?;
    if let Some(e) = &error {
        tracing::warn!(run_id, error = %e, "reconciliation failed");
    }
    result?;
    Ok(db::reconcile::get_run(db, run_id)
        .await?
        .expect("the run was just recorded"))
}

async fn run_inner(ctx: &WebhookCtx, run_id: &str) -> Result<(), ReconcileError> {
    let db = &ctx.db;
    let mut scopes: Vec<Option<String>> = vec![None];
    scopes.extend(
        db::webhook_events::known_accounts(db)
            .await?
            .into_iter()
            .map(Some),
    );
    let mut counts = RunCounts {
        accounts_total: scopes.len() as i64,
        ..RunCounts::default()
    };
    db::reconcile::update_run(db, run_id, &counts).await?;
    for scope in &scopes {
        reconcile_account(ctx, scope.as_deref(), run_id, &mut counts).await?;
        counts.accounts_done += 1;
        db::reconcile::update_run(db, run_id, &counts).await?;
    }
    recheck_payments(ctx, &mut counts).await?;
    db::reconcile::update_run(db, run_id, &counts).await?;
    tracing::info!(
        run_id,
        read = counts.events_read,
        new = counts.events_new,
        applied = counts.events_applied,
        failed = counts.events_failed,
        payments_checked = counts.payments_checked,
        payments_settled = counts.payments_settled,
        "reconciliation done"
    );
    Ok(())
}

async fn reconcile_account(
    ctx: &WebhookCtx,
    account: Option<&str>,
    run_id: &str,
    counts: &mut RunCounts,
) -> Result<(), ReconcileError> {
    let db = &ctx.db;
    let key = account.unwrap_or(db::ledger::PLATFORM);
    let since = match db::reconcile::cursor(db, key).await? {
        Some(c) => c,
        None => db::now_unix() - HISTORY_SECS,
    };
    let endpoint = if account.is_some() {
        Endpoint::Connect
    } else {
        Endpoint::Platform
    };
    let mut newest = since;
    let mut after: Option<String> = None;
    let mut new_ids = Vec::new();
    loop {
        let page = ctx
            .stripe
            .events_since(account, since, after.as_deref())
            .await?;
        for (json, raw) in &page.events {
            counts.events_read += 1;
            let Ok(mut env) = serde_json::from_value::<Envelope>(json.clone()) else {
                continue;
            };
            newest = newest.max(env.created);
            // Events read on a connected account belong to it even if the listing omits it.
            if env.account.is_none() {
                env.account = account.map(str::to_owned);
            }
            if ingest(db, endpoint, &env, raw, "reconcile").await? {
                counts.events_new += 1;
                new_ids.push(env.id.clone());
            }
        }
        after = page
            .events
            .last()
            .and_then(|(j, _)| j["id"].as_str().map(str::to_owned));
        db::reconcile::update_run(db, run_id, counts).await?;
        if !page.has_more || after.is_none() {
            break;
        }
    }
    // Oldest first, as they happened; handlers do not depend on it, but logs read better.
    for id in new_ids.iter().rev() {
        match process_event(ctx, id, false).await {
            Ok(_) => counts.events_applied += 1,
            Err(e) => {
                counts.events_failed += 1;
                tracing::warn!(event_id = %id, error = %e, "reconciled event failed; its job retries it");
            }
        }
    }
    db::reconcile::advance_cursor(db, key, newest - OVERLAP_SECS, db::now_unix()).await?;
    Ok(())
}

/// Parts re-read per run; the rest wait for the next run (oldest first, so none starves).
const PAYMENTS_PER_RUN: i64 = 500;

/// Re-reads the intents of parts Stripe had not decided when we last looked, through the same
/// operation as the 3-D Secure return (`checkout::refresh`), so the outcome, the stock and the
/// mails are recorded exactly as on that path. One part failing to read does not stop the rest.
async fn recheck_payments(ctx: &WebhookCtx, counts: &mut RunCounts) -> Result<(), ReconcileError> {
    let state = ctx.app_state();
    for id in db::checkout::parts_awaiting_intent(&ctx.db, PAYMENTS_PER_RUN).await? {
        let Some(part) = db::checkout::part(&ctx.db, &id).await? else {
            continue;
        };
        counts.payments_checked += 1;
        match crate::checkout::refresh(&state, &part).await {
            Ok(after) if !after.status.is_open() => counts.payments_settled += 1,
            Ok(_) => {}
            Err(e) => tracing::warn!(part = %id, error = %e, "cannot re-read a payment"),
        }
    }
    Ok(())
}

/// How often a reconciliation run is queued (one per slot across all instances).
const PERIOD_SECS: i64 = 3600;
const FIRST_RUN_SECS: u64 = 300;

/// Queues a reconciliation run every [`PERIOD_SECS`]; the dedupe key names the slot, so
/// several instances queue one run between them.
pub fn spawn_periodic(db: Db) {
    tokio::spawn(async move {
        let period = std::time::Duration::from_secs(PERIOD_SECS as u64);
        // The first run a few minutes after start-up: it catches what was missed while down.
        let first = tokio::time::Instant::now() + std::time::Duration::from_secs(FIRST_RUN_SECS);
        let mut tick = tokio::time::interval_at(first, period);
        loop {
            tick.tick().await;
            if db.is_closed() {
                break;
            }
            let slot = db::now_unix() / PERIOD_SECS;
            if let Err(e) = enqueue(&db, Some(&format!("{RECONCILE}:{slot}"))).await {
                tracing::warn!(error = %e, "cannot queue reconciliation");
            }
        }
    });
}
