//! The `process_webhook_event` job: load the stored event, run its handler, keep the outcome
//! on the event (applied / ignored), or its error (parked as failed after the last attempt).

use super::WebhookCtx;
use super::handlers::{self, Handled, HandlerError};
use crate::db::{self, webhook_events};
use crate::jobs::JobError;

/// Processes event `id`. `last_attempt`: a failure now parks the event as failed.
/// An event already applied or ignored is left alone, so a second run changes nothing.
pub async fn process_event(
    ctx: &WebhookCtx,
    id: &str,
    last_attempt: bool,
) -> Result<Option<Handled>, HandlerError> {
    let Some(event) = webhook_events::get(&ctx.db, id).await? else {
        return Err(HandlerError::Malformed(format!("no stored event {id}")));
    };
    if event.status == webhook_events::APPLIED || event.status == webhook_events::IGNORED {
        return Ok(None);
    }
    match handlers::handle(ctx, &event).await {
        Ok(handled) => {
            let (status, text) = match &handled {
                Handled::Applied(t) => (webhook_events::APPLIED, t.as_str()),
                Handled::Ignored(t) => (webhook_events::IGNORED, t.as_str()),
            };
            webhook_events::mark_processed(&ctx.db, id, status, text, db::now_unix()).await?;
            Ok(Some(handled))
        }
        Err(e) => {
            let parked = last_attempt || e.is_permanent();
            webhook_events::record_failure(&ctx.db, id, &e.to_string(), parked).await?;
            Err(e)
        }
    }
}

/// The job's entry point (see `crate::jobs::dispatch`).
pub async fn run_job(ctx: &WebhookCtx, job: &db::jobs::ClaimedJob) -> Result<(), JobError> {
    process_event(ctx, &job.payload, job.is_last_attempt())
        .await
        .map(|_| ())
        .map_err(|e| JobError::Handler {
            permanent: e.is_permanent(),
            message: e.to_string(),
        })
}
