//! Webhook events: every stored event (filter by status and type, keyset pages), one event
//! with its raw payload and a replay button, reconciliation (start it, watch its progress) and
//! the ledger's differences from Stripe's balance transactions.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{Section, view};
use crate::auth::{Admin, csrf::CsrfForm};
use crate::db::event_admin::{self, Cursor, EventRow, ReconcileOutcome, ReplayOutcome};
use crate::db::seller_admin::Actor;
use crate::db::{self, reconcile::Run, webhook_events};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};
use crate::webhooks::ledger::{self, Difference};
use crate::webhooks::reconcile;

const PER_PAGE: i64 = 50;
/// Recent reconciliation runs listed on the events page.
const RUNS_SHOWN: i64 = 5;
/// Seconds between reloads of a run's page while it is queued or running.
const REFRESH_SECS: &str = "2";
const STATUSES: [&str; 4] = [
    webhook_events::PENDING,
    webhook_events::APPLIED,
    webhook_events::IGNORED,
    webhook_events::FAILED,
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/events", web::get().to(list))
        .route("/admin/events/{id}", web::get().to(show))
        .route("/admin/events/{id}/replay", web::post().to(replay))
        .route("/admin/reconcile", web::post().to(start_reconcile))
        .route("/admin/reconcile/{id}", web::get().to(run_page))
        .route("/admin/ledger", web::get().to(ledger_page));
}

/// Stripe ids and event types: letters, digits, `_` and `.` (nothing to escape in a URL).
fn plain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

fn status_tone(status: &str) -> &'static str {
    match status {
        webhook_events::APPLIED => "ok",
        webhook_events::FAILED => "bad",
        _ => "pending",
    }
}

struct EventView {
    id: String,
    event_type: String,
    account: String,
    object_id: String,
    status: String,
    tone: &'static str,
    attempts: i64,
    last_error: Option<String>,
    outcome: Option<String>,
    source: String,
    endpoint: String,
    created: String,
    received: String,
    processed: Option<String>,
}

impl EventView {
    fn of(e: EventRow) -> EventView {
        EventView {
            tone: status_tone(&e.status),
            account: e.account.unwrap_or_else(|| "platform".into()),
            object_id: e.object_id.unwrap_or_default(),
            created: view::when(e.created),
            received: view::when(e.received_at),
            processed: e.processed_at.map(view::when),
            id: e.id,
            event_type: e.event_type,
            status: e.status,
            attempts: e.attempts,
            last_error: e.last_error,
            outcome: e.outcome,
            source: e.source,
            endpoint: e.endpoint,
        }
    }
}

struct RunView {
    id: String,
    status: String,
    tone: &'static str,
    accounts_done: i64,
    accounts_total: i64,
    events_read: i64,
    events_new: i64,
    events_applied: i64,
    events_failed: i64,
    error: Option<String>,
    started: String,
    finished: Option<String>,
}

impl RunView {
    fn of(r: Run) -> RunView {
        RunView {
            tone: match r.status.as_str() {
                "done" => "ok",
                "failed" => "bad",
                _ => "pending",
            },
            accounts_done: r.counts.accounts_done,
            accounts_total: r.counts.accounts_total,
            events_read: r.counts.events_read,
            events_new: r.counts.events_new,
            events_applied: r.counts.events_applied,
            events_failed: r.counts.events_failed,
            started: view::when(r.started_at),
            finished: r.finished_at.map(view::when),
            id: r.id,
            status: r.status,
            error: r.error,
        }
    }
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default, rename = "type")]
    event_type: String,
    #[serde(default)]
    before: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/events.html")]
struct ListPage {
    page: Page,
    section: Section,
    statuses: Vec<Choice>,
    types: Vec<Choice>,
    events: Vec<EventView>,
    runs: Vec<RunView>,
    filtered: bool,
    first_page: bool,
    next: Option<String>,
    first: String,
}

async fn list(
    page: Page,
    _admin: Admin,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<ListPage, AppError> {
    let status = query.status.trim();
    if !status.is_empty() && !STATUSES.contains(&status) {
        return Err(AppError::BadRequest(format!(
            "unknown event status {status}"
        )));
    }
    let event_type = query.event_type.trim();
    if !event_type.is_empty() && !plain(event_type) {
        return Err(AppError::BadRequest(format!("bad event type {event_type}")));
    }
    let before = match query.before.as_str() {
        "" => None,
        c => Some(
            Cursor::decode(c)
                .ok_or_else(|| AppError::BadRequest(format!("bad event cursor {c}")))?,
        ),
    };
    let mut events =
        event_admin::page(&state.db, status, event_type, before.as_ref(), PER_PAGE + 1).await?;
    let more = events.len() as i64 > PER_PAGE;
    events.truncate(PER_PAGE as usize);
    let counts = event_admin::status_counts(&state.db).await?;
    let count_of = |s: &str| {
        counts
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let mut filter = String::new();
    if !status.is_empty() {
        filter.push_str(&format!("status={status}&"));
    }
    if !event_type.is_empty() {
        filter.push_str(&format!("type={event_type}&"));
    }
    let next = more
        .then(|| events.last().map(Cursor::of))
        .flatten()
        .map(|c| format!("?{filter}before={}", c.encode()));
    Ok(ListPage {
        page,
        section: Section::Events,
        statuses: STATUSES
            .into_iter()
            .map(|s| Choice {
                value: s.to_owned(),
                label: format!("{s} ({})", count_of(s)),
                selected: s == status,
            })
            .collect(),
        types: event_admin::types(&state.db)
            .await?
            .into_iter()
            .map(|t| Choice {
                selected: t == event_type,
                label: t.clone(),
                value: t,
            })
            .collect(),
        events: events.into_iter().map(EventView::of).collect(),
        runs: db::reconcile::recent_runs(&state.db, RUNS_SHOWN)
            .await?
            .into_iter()
            .map(RunView::of)
            .collect(),
        filtered: !filter.is_empty(),
        first_page: before.is_none(),
        next,
        first: format!("?{}", filter.trim_end_matches('&')),
    })
}

// ---------------------------------------------------------- one event

#[derive(Template, WebTemplate)]
#[template(path = "admin/event.html")]
struct EventPage {
    page: Page,
    section: Section,
    event: EventView,
    /// The payload as received, pretty-printed when it is JSON.
    payload: String,
    queued: bool,
}

async fn show(
    page: Page,
    _admin: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<EventPage, AppError> {
    if !plain(&path) {
        return Err(AppError::NotFound);
    }
    let (event, raw) = event_admin::find(&state.db, &path)
        .await?
        .ok_or(AppError::NotFound)?;
    let payload = serde_json::from_str::<serde_json::Value>(&raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(raw);
    Ok(EventPage {
        page,
        section: Section::Events,
        queued: event_admin::is_queued(&state.db, &event.id).await?,
        event: EventView::of(event),
        payload,
    })
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
struct NoFields {}

fn actor(admin: &crate::db::users::User) -> Actor<'_> {
    Actor {
        id: &admin.id,
        email: &admin.email,
    }
}

async fn replay(
    Admin(admin): Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: Session,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    if !plain(&path) {
        return Err(AppError::NotFound);
    }
    match event_admin::replay(&state.db, &path, &actor(&admin), db::now_unix()).await? {
        ReplayOutcome::Queued { was } => flash::success(
            &session,
            format!("Event queued again (it was {was}); its handler runs once more in a moment."),
        )?,
        ReplayOutcome::AlreadyQueued => flash::info(
            &session,
            "This event is already queued: it will be processed without a replay.",
        )?,
        ReplayOutcome::NotFound => return Err(AppError::NotFound),
    }
    Ok(see_other(&format!("/admin/events/{path}")))
}

// ---------------------------------------------------------- reconciliation

async fn start_reconcile(
    Admin(admin): Admin,
    state: web::Data<AppState>,
    session: Session,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let run_id = reconcile::new_run_id();
    let id = match event_admin::start_reconcile(&state.db, &run_id, &actor(&admin), db::now_unix())
        .await?
    {
        ReconcileOutcome::Started(id) => {
            flash::success(&session, "Reconciliation started.")?;
            id
        }
        ReconcileOutcome::AlreadyRunning(id) => {
            flash::info(
                &session,
                "A reconciliation is already queued or running: here is its progress.",
            )?;
            id
        }
    };
    Ok(see_other(&format!("/admin/reconcile/{id}")))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/reconcile_run.html")]
struct RunPage {
    page: Page,
    section: Section,
    id: String,
    /// `None` while the run waits for a worker.
    run: Option<RunView>,
    /// The previous attempt's error while the job waits to retry.
    retry_error: Option<String>,
}

async fn run_page(
    page: Page,
    _admin: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    if !id.starts_with("rec_") || !plain(&id) {
        return Err(AppError::NotFound);
    }
    let (run, retry_error) = match db::reconcile::get_run(&state.db, &id).await? {
        Some(run) => (Some(RunView::of(run)), None),
        None => match event_admin::queued_run(&state.db, &id).await? {
            Some(error) => (None, error),
            None => return Err(AppError::NotFound),
        },
    };
    let finished = run.as_ref().is_some_and(|r| r.finished.is_some());
    let tpl = RunPage {
        page,
        section: Section::Events,
        id,
        run,
        retry_error,
    };
    let mut res = render_with_status(StatusCode::OK, &tpl)?;
    if !finished {
        // Reloads the page until the run ends (no JavaScript needed).
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("refresh"),
            actix_web::http::header::HeaderValue::from_static(REFRESH_SECS),
        );
    }
    Ok(res)
}

// ---------------------------------------------------------- ledger check

struct DiffView {
    what: &'static str,
    account: String,
    balance_transaction: String,
    kind: String,
    source: String,
    ours: Option<String>,
    stripe: Option<String>,
}

fn figures(amount: i64, fee: i64, net: i64, currency: &str) -> String {
    format!("amount {amount}, fee {fee}, net {net} {currency} (minor units)")
}

impl DiffView {
    fn of(d: Difference) -> DiffView {
        match d {
            Difference::MissingFromLedger { account, txn } => DiffView {
                what: "Missing from our ledger",
                account,
                stripe: Some(figures(txn.amount, txn.fee, txn.net, &txn.currency)),
                ours: None,
                balance_transaction: txn.id,
                kind: txn.kind,
                source: txn.source,
            },
            Difference::UnknownToStripe { entry } => DiffView {
                what: "Not at Stripe",
                ours: Some(figures(entry.amount, entry.fee, entry.net, &entry.currency)),
                stripe: None,
                account: entry.account,
                balance_transaction: entry.balance_transaction,
                kind: entry.kind,
                source: entry.source_id,
            },
            Difference::Mismatch { ledger, stripe } => DiffView {
                what: "Different figures",
                ours: Some(figures(
                    ledger.amount,
                    ledger.fee,
                    ledger.net,
                    &ledger.currency,
                )),
                stripe: Some(figures(
                    stripe.amount,
                    stripe.fee,
                    stripe.net,
                    &stripe.currency,
                )),
                account: ledger.account,
                balance_transaction: ledger.balance_transaction,
                kind: ledger.kind,
                source: ledger.source_id,
            },
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/ledger.html")]
struct LedgerPage {
    page: Page,
    section: Section,
    diffs: Vec<DiffView>,
    /// Why the check could not be made (Stripe unreachable…).
    error: Option<String>,
}

async fn ledger_page(
    page: Page,
    _admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (diffs, error, status) = match ledger::check(&state.db, &state.stripe).await {
        Ok(d) => (
            d.into_iter().map(DiffView::of).collect(),
            None,
            StatusCode::OK,
        ),
        Err(ledger::CheckError::Db(e)) => return Err(e.into()),
        Err(e @ ledger::CheckError::Stripe(_)) => {
            tracing::warn!(error = %e, "ledger check failed");
            (Vec::new(), Some(e.to_string()), StatusCode::BAD_GATEWAY)
        }
    };
    let tpl = LedgerPage {
        page,
        section: Section::Events,
        diffs,
        error,
    };
    render_with_status(status, &tpl)
}
