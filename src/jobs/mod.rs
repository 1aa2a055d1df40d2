//! The DB-backed job queue's worker: claim a due job (with a lease), run it,
//! mark it done or schedule a retry with exponential backoff. Safe with any
//! number of workers and app instances because claiming is a conditional UPDATE
//! (see `db::jobs::claim`). A job whose worker died is retried once its lease expires.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyConnection;
use tracing::Instrument;

use crate::db::{self, Db, DbError, jobs::ClaimedJob};
use crate::domain::ids::random_token;
use crate::email::{MailError, Mailer, OutgoingEmail};

pub const SEND_EMAIL: &str = "send_email";

/// How long a worker owns a claimed job before others may take it over.
const LEASE_SECS: i64 = 300;
/// Retry delays double from here, up to [`MAX_BACKOFF_SECS`].
const FIRST_BACKOFF_SECS: i64 = 10;
const MAX_BACKOFF_SECS: i64 = 3600;
/// Idle workers look for new jobs this often.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

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

pub fn backoff_secs(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 20) - 1;
    (FIRST_BACKOFF_SECS << exp).min(MAX_BACKOFF_SECS)
}

pub struct Worker {
    db: Db,
    mailer: Arc<Mailer>,
    name: String,
}

impl Worker {
    pub fn new(db: Db, mailer: Arc<Mailer>) -> Worker {
        Worker {
            db,
            mailer,
            name: format!("wrk_{}", random_token(12)),
        }
    }

    /// Runs at most one job; `Ok(false)` when none was due.
    pub async fn run_once(&self) -> Result<bool, DbError> {
        let now = db::now_unix();
        let Some(job) = db::jobs::claim(&self.db, &self.name, now, now + LEASE_SECS).await? else {
            return Ok(false);
        };
        let span =
            tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
        // `instrument`, not `span.enter()`: an entered guard held across an
        // await would tag other tasks' log lines with this job.
        async {
            match self.handle(&job).await {
                Ok(()) => {
                    db::jobs::complete(&self.db, &job.id, &self.name, db::now_unix()).await?;
                    tracing::info!("job done");
                }
                Err(e) => {
                    let retry_at = db::now_unix() + backoff_secs(job.attempts);
                    tracing::warn!(error = %e, retry_at, "job failed");
                    db::jobs::fail(&self.db, &job.id, &self.name, &e.to_string(), retry_at).await?;
                }
            }
            Ok::<(), DbError>(())
        }
        .instrument(span)
        .await?;
        Ok(true)
    }

    async fn handle(&self, job: &ClaimedJob) -> Result<(), JobError> {
        match job.kind.as_str() {
            SEND_EMAIL => {
                let email: OutgoingEmail = serde_json::from_str(&job.payload)?;
                self.mailer.send(job.id.as_str(), &email).await?;
                Ok(())
            }
            other => Err(JobError::UnknownKind(other.to_string())),
        }
    }

    /// Works until the pool is closed (the application shutting down).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while !self.db.is_closed() {
                match self.run_once().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) if self.db.is_closed() => {
                        tracing::debug!(error = %e, "worker stopping");
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "job queue unavailable"),
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        })
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
