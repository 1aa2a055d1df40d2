//! The DB-backed job queue's worker: claim a due job (with a lease and a
//! fencing token), run it, mark it done or schedule a retry with exponential
//! backoff. Safe with any number of workers and app instances because claiming
//! is a conditional UPDATE (see `db::jobs::claim`).
//!
//! While a handler runs, the worker extends its lease; a handler also has an
//! overall time limit well beyond which nothing should take. A handler that
//! panics fails its job and the worker goes on. Jobs out of attempts, and jobs
//! whose error is permanent, are parked as failed (kept until an operator
//! replays or clears them). A job whose worker died is taken again once its
//! lease expires, under a new token, so the dead worker's late `complete` is refused.
//!
//! Every job kind is dispatched in one place, [`dispatch`]: to add a kind, add
//! a constant and a match arm there (or register a handler with
//! [`Worker::with_handler`]).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyConnection;
use tracing::Instrument;

use crate::config::Settings;
use crate::db::jobs::{ClaimedJob, FailOutcome};
use crate::db::{self, Db, DbError};
use crate::domain::ids::random_token;
use crate::email::{MailError, Mailer, OutgoingEmail};
use crate::stripe::StripeGateway;

pub const SEND_EMAIL: &str = "send_email";

/// Retry delays double from here, up to [`MAX_BACKOFF_SECS`].
const FIRST_BACKOFF_SECS: i64 = 10;
const MAX_BACKOFF_SECS: i64 = 3600;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job kind `{0}`")]
    UnknownKind(String),
    #[error("bad payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// A handler's own failure; `permanent` ones are not retried.
    #[error("{message}")]
    Handler { message: String, permanent: bool },
    #[error("the handler panicked: {0}")]
    Panicked(String),
    #[error("the handler took longer than {0:?}")]
    TimedOut(Duration),
    #[error("the lease was lost to another worker")]
    LeaseLost,
}

impl JobError {
    /// Errors that no retry can fix: the job is parked as failed at once.
    pub fn is_permanent(&self) -> bool {
        match self {
            JobError::UnknownKind(_) | JobError::Payload(_) => true,
            JobError::Handler { permanent, .. } => *permanent,
            _ => false,
        }
    }

    pub fn retryable(message: impl Into<String>) -> JobError {
        JobError::Handler {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError::Handler {
            message: message.into(),
            permanent: true,
        }
    }
}

/// Queues `email` in the caller's transaction; `dedupe_key` makes it once-only.
pub async fn enqueue_email(
    conn: &mut AnyConnection,
    email: &OutgoingEmail,
    dedupe_key: Option<&str>,
    now: i64,
) -> Result<(), JobError> {
    let payload = serde_json::to_string(email)?;
    db::jobs::enqueue(conn, SEND_EMAIL, &payload, dedupe_key, now, now).await?;
    Ok(())
}

/// Idle workers of this process wait on this besides their poll timer, so a job queued here
/// (a webhook delivery) starts at once instead of up to a poll interval later. Workers of
/// other instances still find it at their next poll.
static QUEUED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Tells one idle worker of this process that a job was just committed to the queue.
pub fn notify_queued() {
    // One permit, not a broadcast: a single new job needs a single worker, and waking all of
    // them would make the rest race for it with empty claims (writes, on SQLite).
    QUEUED.notify_one();
}

pub fn backoff_secs(attempts: i64) -> i64 {
    backoff_from(FIRST_BACKOFF_SECS, MAX_BACKOFF_SECS, attempts)
}

fn backoff_from(first: i64, max: i64, attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 20) - 1;
    first.saturating_mul(1 << exp).min(max)
}

/// What every job handler may use.
#[derive(Clone)]
pub struct JobContext {
    pub db: Db,
    pub mailer: Arc<Mailer>,
    /// The Stripe gateway (webhook events re-read objects through it) and the settings the
    /// domain operations they call need; `None` in bare queue tests.
    pub stripe: Option<(StripeGateway, Arc<Settings>)>,
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
/// A job handler registered at run time (tests, plug-ins).
pub type Handler = Arc<dyn Fn(JobContext, ClaimedJob) -> HandlerFuture + Send + Sync>;

/// Every job kind the application knows, in one place.
async fn dispatch(ctx: JobContext, job: ClaimedJob) -> Result<(), JobError> {
    match job.kind.as_str() {
        SEND_EMAIL => {
            let email: OutgoingEmail = serde_json::from_str(&job.payload)?;
            ctx.mailer.send(job.id.as_str(), &email).await?;
            Ok(())
        }
        crate::webhooks::PROCESS_EVENT => {
            crate::webhooks::worker::run_job(&webhook_ctx(&ctx)?, &job).await
        }
        crate::webhooks::RECONCILE => {
            crate::webhooks::reconcile::run(&webhook_ctx(&ctx)?, &job.payload)
                .await
                .map(|_| ())
                .map_err(|e| JobError::retryable(e.to_string()))
        }
        other => Err(JobError::UnknownKind(other.to_string())),
    }
}

fn webhook_ctx(ctx: &JobContext) -> Result<crate::webhooks::WebhookCtx, JobError> {
    let (stripe, settings) = ctx
        .stripe
        .clone()
        .ok_or_else(|| JobError::retryable("this worker has no Stripe gateway"))?;
    Ok(crate::webhooks::WebhookCtx {
        db: ctx.db.clone(),
        stripe,
        settings,
    })
}

/// Timing of a worker; the defaults suit production, tests shorten them.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How long a claim is ours without a heartbeat; extended every third of it while running.
    pub lease: Duration,
    /// A handler running longer than this is stopped and its job failed (retried later).
    pub handler_timeout: Duration,
    /// First retry delay, doubled per attempt up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            lease: Duration::from_secs(60),
            handler_timeout: Duration::from_secs(300),
            first_backoff: Duration::from_secs(FIRST_BACKOFF_SECS as u64),
            max_backoff: Duration::from_secs(MAX_BACKOFF_SECS as u64),
            poll_interval: Duration::from_millis(200),
        }
    }
}

pub struct Worker {
    ctx: JobContext,
    config: WorkerConfig,
    extra: Arc<HashMap<String, Handler>>,
    name: String,
}

/// Aborts the spawned handler when the worker's future is dropped (shutdown,
/// a killed task), so no handler keeps running without a lease.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Worker {
    pub fn new(db: Db, mailer: Arc<Mailer>) -> Worker {
        Worker {
            ctx: JobContext {
                db,
                mailer,
                stripe: None,
            },
            config: WorkerConfig::default(),
            extra: Arc::new(HashMap::new()),
            name: format!("wrk_{}", random_token(12)),
        }
    }

    /// Lets this worker process webhook events and reconciliation runs.
    pub fn with_stripe(mut self, stripe: StripeGateway, settings: Arc<Settings>) -> Worker {
        self.ctx.stripe = Some((stripe, settings));
        self
    }

    pub fn with_config(mut self, config: WorkerConfig) -> Worker {
        self.config = config;
        self
    }

    /// Runs jobs of `kind` with `handler` (checked before the built-in kinds).
    pub fn with_handler(mut self, kind: &str, handler: Handler) -> Worker {
        Arc::make_mut(&mut self.extra).insert(kind.to_owned(), handler);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn lease_secs(&self) -> i64 {
        self.config.lease.as_secs().max(1) as i64
    }

    /// Runs at most one job; `Ok(false)` when none was due.
    pub async fn run_once(&self) -> Result<bool, DbError> {
        let Some(job) = db::jobs::claim(&self.ctx.db, &self.name, self.lease_secs()).await? else {
            return Ok(false);
        };
        let span =
            tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
        // `instrument`, not `span.enter()`: an entered guard held across an
        // await would tag other tasks' log lines with this job.
        async {
            match self.run_guarded(&job).await {
                Ok(()) => {
                    if db::jobs::complete(&self.ctx.db, &job.id, &job.token).await? {
                        tracing::debug!("job done");
                    } else {
                        tracing::warn!("job finished after its claim was taken over; not recorded");
                    }
                }
                Err(e) => {
                    let retry_in = backoff_from(
                        self.config.first_backoff.as_secs() as i64,
                        self.config.max_backoff.as_secs() as i64,
                        job.attempts,
                    );
                    let outcome = db::jobs::fail(
                        &self.ctx.db,
                        &job.id,
                        &job.token,
                        &e.to_string(),
                        retry_in,
                        e.is_permanent(),
                    )
                    .await?;
                    match outcome {
                        FailOutcome::Retrying { run_at } => {
                            tracing::warn!(error = %e, run_at, "job failed; will retry")
                        }
                        FailOutcome::Failed => tracing::error!(error = %e, "job failed for good"),
                        FailOutcome::NotHeld => {
                            tracing::warn!(error = %e, "job failed after its claim was taken over")
                        }
                    }
                }
            }
            Ok::<(), DbError>(())
        }
        .instrument(span)
        .await?;
        Ok(true)
    }

    /// Runs the handler in its own task (a panic there is caught as a
    /// `JoinError`), bounded by the handler timeout, while extending the lease.
    async fn run_guarded(&self, job: &ClaimedJob) -> Result<(), JobError> {
        let ctx = self.ctx.clone();
        let owned = job.clone();
        let fut: HandlerFuture = match self.extra.get(&job.kind) {
            Some(handler) => handler(ctx, owned),
            None => Box::pin(dispatch(ctx, owned)),
        };
        let task = tokio::spawn(fut.in_current_span());
        let _guard = AbortOnDrop(task.abort_handle());

        let heartbeat = async {
            let every = (self.config.lease / 3).max(Duration::from_millis(100));
            loop {
                tokio::time::sleep(every).await;
                match db::jobs::extend_lease(&self.ctx.db, &job.id, &job.token, self.lease_secs())
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e, "cannot extend the job's lease"),
                }
            }
        };

        tokio::select! {
            joined = tokio::time::timeout(self.config.handler_timeout, task) => match joined {
                Err(_) => Err(JobError::TimedOut(self.config.handler_timeout)),
                Ok(Ok(result)) => result,
                Ok(Err(e)) if e.is_panic() => Err(JobError::Panicked(panic_message(e.into_panic()))),
                Ok(Err(_)) => Err(JobError::retryable("the handler was cancelled")),
            },
            () = heartbeat => Err(JobError::LeaseLost),
        }
    }

    /// Works until the pool is closed (the application shutting down).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while !self.ctx.db.is_closed() {
                match self.run_once().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) if self.ctx.db.is_closed() => {
                        tracing::debug!(error = %e, "worker stopping");
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "job queue unavailable"),
                }
                tokio::select! {
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                    () = QUEUED.notified() => {}
                }
            }
        })
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff_secs(1), 10);
        assert_eq!(backoff_secs(2), 20);
        assert_eq!(backoff_secs(5), 160);
        assert_eq!(backoff_secs(12), 3600);
        assert_eq!(backoff_secs(1000), 3600);
    }
}
