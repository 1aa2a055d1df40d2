//! Builds the whole application from [`Settings`]: database, session key,
//! shared state and the HTTP server. Tests call the same code with port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::session::{self, SessionKeyError};
use crate::config::Settings;
use crate::db::{self, Db, DbError};
use crate::email::{MailError, Mailer};
use crate::error::AppError;
use crate::jobs::Worker;
use crate::state::AppState;
use crate::stripe::{GatewayConfig, GatewayError, StripeGateway};
use crate::web::middleware;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    SessionKey(#[from] SessionKeyError),
    #[error("cannot set up mail: {0}")]
    Mail(#[from] MailError),
    #[error("cannot set up Stripe: {0}")]
    Stripe(#[from] GatewayError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

pub struct Application {
    port: u16,
    db: Db,
    stripe: StripeGateway,
    server: Server,
}

impl Application {
    pub async fn build(mut settings: Settings) -> Result<Application, StartupError> {
        crate::telemetry::metrics::install();
        std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartupError::DataDir {
            path: settings.data_dir.display().to_string(),
            source,
        })?;
        let db = db::connect(&settings.database_url).await?;
        let key = session::load_or_create_key(&settings)?;
        let mailer = Arc::new(Mailer::from_settings(&settings)?);
        let stripe = StripeGateway::connect(&GatewayConfig {
            secret_key: settings.stripe.secret_key.clone(),
            api_base: Some(settings.stripe.api_base.clone()),
            data_dir: settings.data_dir.clone(),
        })
        .await?;

        let listener =
            TcpListener::bind(settings.bind_addr).map_err(|source| StartupError::Bind {
                addr: settings.bind_addr.to_string(),
                source,
            })?;
        let bind_err = |source| StartupError::Bind {
            addr: settings.bind_addr.to_string(),
            source,
        };
        let port = listener.local_addr().map_err(bind_err)?.port();
        // Port 0 (tests) binds a random port: the default BASE_URL must name the real one, or
        // links handed to Stripe (return_url, refresh_url) would point nowhere.
        if settings.bind_addr.port() == 0
            && settings.base_url == format!("http://{}", settings.bind_addr)
        {
            settings.base_url = format!("http://{}:{port}", settings.bind_addr.ip());
        }
        let webhook_secrets = web::Data::new(
            crate::webhooks::receive::secrets_at_start(&settings, &stripe, port).await?,
        );

        let state = web::Data::new(AppState::new(
            db.clone(),
            stripe.clone(),
            Arc::new(settings.clone()),
        ));
        let max_body = settings.max_body_bytes;
        let shared_settings = state.settings.clone();
        crate::checkout::spawn_sweeper(state.clone());

        let server = HttpServer::new(move || {
            // Wrapped inside-out: the last `wrap` sees the request first.
            App::new()
                .app_data(state.clone())
                .app_data(webhook_secrets.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::FormConfig::default().limit(max_body))
                .wrap(ErrorHandlers::new().default_handler(middleware::error_pages))
                .wrap(session::middleware(&state.settings, key.clone()))
                .wrap(from_fn(middleware::body_cap))
                .wrap(from_fn(middleware::security_headers))
                .wrap(from_fn(middleware::request_id_header))
                .wrap(TracingLogger::<crate::telemetry::ClientIpRootSpan>::new())
                .wrap(from_fn(crate::telemetry::metrics::track_requests))
                .configure(crate::web::health::configure)
                .configure(crate::web::metrics::configure)
                .configure(crate::web::assets::configure)
                .configure(crate::auth::configure)
                .configure(crate::storefront::configure)
                .configure(crate::seller::configure)
                .configure(crate::web::uploads::configure)
                .configure(crate::admin::configure)
                .configure(crate::webhooks::configure)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(AppError::NotFound)
                }))
        })
        .listen(listener)
        .map_err(bind_err)?
        .run();

        spawn_housekeeping(db.clone(), settings.job_retention_days);
        crate::webhooks::reconcile::spawn_periodic(db.clone());
        for _ in 0..settings.job_workers {
            Worker::new(db.clone(), mailer.clone())
                .with_stripe(stripe.clone(), shared_settings.clone())
                .spawn();
        }
        Ok(Application {
            port,
            db,
            stripe,
            server,
        })
    }

    /// The port actually bound (tests bind port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> Db {
        self.db.clone()
    }

    pub fn stripe(&self) -> StripeGateway {
        self.stripe.clone()
    }

    /// Serves until the server stops (SIGINT/SIGTERM), then shuts the Stripe gateway down.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.stripe.shutdown().await;
        served
    }
}

/// Deletes throttle counters whose window ended, mailed tokens that expired or
/// were used more than a day ago, and finished jobs older than the retention
/// period (failed jobs stay for operators); parks jobs that ran out of attempts
/// while their worker was lost.
fn spawn_housekeeping(db: Db, job_retention_days: u32) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = housekeep_jobs(&db, job_retention_days).await {
                tracing::warn!(error = %e, "job housekeeping failed");
            }
            let now = db::now_unix();
            match crate::auth::throttle::prune(&db, now).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "pruned old throttle counters"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning throttle counters failed"),
            }
            match db::account_tokens::prune_before(&db, now - 86_400).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "pruned old account tokens"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning account tokens failed"),
            }
            if db.is_closed() {
                break;
            }
        }
    });
}

/// One pass of the job queue's housekeeping (also called by tests).
pub async fn housekeep_jobs(db: &Db, retention_days: u32) -> Result<(), DbError> {
    let cutoff = db::clock::now(db).await? - i64::from(retention_days) * 86_400;
    let pruned = db::jobs::prune_done_before(db, cutoff).await?;
    if pruned > 0 {
        tracing::info!(deleted = pruned, "pruned finished jobs");
    }
    let parked = db::jobs::fail_exhausted(db).await?;
    if parked > 0 {
        tracing::warn!(jobs = parked, "parked jobs that ran out of attempts");
    }
    Ok(())
}
