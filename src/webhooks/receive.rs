//! Receiving: verify the `Stripe-Signature` over the raw body with the endpoint's own secret
//! (HMAC-SHA256, 300 s tolerance, any `v1`), check `livemode`, store the event by id and queue
//! its job in one transaction, answer 2xx at once. Any failure → 400 and nothing stored.
//! A redelivered event is a 2xx no-op. Bodies over 1 MB → 413.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;

use super::signature::{self, SignatureError};
use super::{Endpoint, PROCESS_EVENT, WebhookSecrets};
use crate::db::{self, Db, DbError};
use crate::state::AppState;

/// Largest event body accepted (Stripe's are far smaller).
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks/stripe")
            .app_data(web::PayloadConfig::new(MAX_EVENT_BYTES))
            .route(web::post().to(platform)),
    )
    .service(
        web::resource("/webhooks/stripe/connect")
            .app_data(web::PayloadConfig::new(MAX_EVENT_BYTES))
            .route(web::post().to(connect)),
    );
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("no webhook signing secret is configured for this endpoint")]
    NotConfigured,
    #[error("missing Stripe-Signature header")]
    MissingSignature,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    #[error("the body is not a Stripe event: {0}")]
    Malformed(String),
    #[error("livemode does not match our key")]
    WrongMode,
    #[error("a {0} event sent to the wrong endpoint")]
    WrongEndpoint(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ResponseError for ReceiveError {
    fn status_code(&self) -> StatusCode {
        match self {
            // Stripe retries a 503: once a secret is configured, nothing is lost.
            ReceiveError::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            ReceiveError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ReceiveError::Db(_) => "temporarily unable to store the event".to_owned(),
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code())
            .content_type("application/json")
            .body(serde_json::json!({ "error": message }).to_string())
    }
}

/// The fields of an event that receiving and routing need.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    pub livemode: bool,
    #[serde(default)]
    pub account: Option<String>,
    pub data: EnvelopeData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvelopeData {
    pub object: EnvelopeObject,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvelopeObject {
    #[serde(default)]
    pub id: Option<String>,
}

impl Envelope {
    pub fn parse(body: &str) -> Result<Envelope, ReceiveError> {
        let env: Envelope =
            serde_json::from_str(body).map_err(|e| ReceiveError::Malformed(e.to_string()))?;
        if !env.id.starts_with("evt_") {
            return Err(ReceiveError::Malformed("id is not an event id".into()));
        }
        Ok(env)
    }
}

/// Checks `header` against each of `secrets` ([`signature::verify`]: HMAC-SHA256 over
/// `t.body`, any `v1` entry, 300 s tolerance around `now`), then reads the envelope.
pub fn verify(
    body: &str,
    header: &str,
    secrets: &[String],
    now: i64,
) -> Result<Envelope, ReceiveError> {
    signature::verify(body.as_bytes(), header, secrets, now).map_err(|e| match e {
        SignatureError::Stale => ReceiveError::Stale,
        SignatureError::Malformed | SignatureError::Mismatch => ReceiveError::BadSignature,
    })?;
    Envelope::parse(body)
}

/// Stores `env` (its JSON text `raw`) and queues its job, in one transaction.
/// `Ok(false)`: already stored (a redelivery, or reconciliation found it first).
pub async fn ingest(
    db: &Db,
    endpoint: Endpoint,
    env: &Envelope,
    raw: &str,
    source: &str,
) -> Result<bool, DbError> {
    let now = db::now_unix();
    let mut tx = db.begin().await?;
    let new = db::webhook_events::insert(
        &mut tx,
        &db::webhook_events::NewEvent {
            id: &env.id,
            endpoint: endpoint.as_str(),
            account: env.account.as_deref(),
            event_type: &env.event_type,
            object_id: env.data.object.id.as_deref(),
            created: env.created,
            payload: raw,
            source,
            received_at: now,
        },
    )
    .await?;
    if new {
        db::jobs::enqueue(
            &mut tx,
            PROCESS_EVENT,
            &env.id,
            Some(&format!("{PROCESS_EVENT}:{}", env.id)),
            now,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    if new {
        crate::jobs::notify_queued();
    }
    Ok(new)
}

async fn platform(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    secrets: web::Data<WebhookSecrets>,
) -> Result<HttpResponse, ReceiveError> {
    receive(Endpoint::Platform, &req, &body, &state.db, &secrets).await
}

async fn connect(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    secrets: web::Data<WebhookSecrets>,
) -> Result<HttpResponse, ReceiveError> {
    receive(Endpoint::Connect, &req, &body, &state.db, &secrets).await
}

async fn receive(
    endpoint: Endpoint,
    req: &HttpRequest,
    body: &[u8],
    db: &Db,
    secrets: &WebhookSecrets,
) -> Result<HttpResponse, ReceiveError> {
    let keys = secrets.for_endpoint(endpoint);
    if keys.is_empty() {
        return Err(ReceiveError::NotConfigured);
    }
    let header = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or(ReceiveError::MissingSignature)?;
    let body = std::str::from_utf8(body).map_err(|_| ReceiveError::BadSignature)?;
    let env = verify(body, header, keys, db::now_unix()).map_err(|e| {
        tracing::warn!(endpoint = endpoint.as_str(), error = %e, "webhook refused");
        e
    })?;
    if env.livemode != secrets.livemode {
        return Err(ReceiveError::WrongMode);
    }
    crate::telemetry::metrics::webhook_received(&env.event_type);
    match (endpoint, &env.account) {
        (Endpoint::Connect, None) => return Err(ReceiveError::WrongEndpoint("platform")),
        (Endpoint::Platform, Some(_)) => return Err(ReceiveError::WrongEndpoint("Connect")),
        _ => {}
    }
    let new = ingest(db, endpoint, &env, body, "delivery").await?;
    tracing::debug!(event_id = %env.id, event_type = %env.event_type, new, "webhook stored");
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(if new {
            r#"{"received":true}"#
        } else {
            r#"{"received":true,"duplicate":true}"#
        }))
}

/// The secrets the endpoints verify with. With the embedded emulator, both endpoints are
/// registered (or reused) now that the port is known, and deliveries go to this process over
/// loopback; with a configured key they come from STRIPE_WEBHOOK_SECRET /
/// STRIPE_CONNECT_WEBHOOK_SECRET.
pub async fn secrets_at_start(
    settings: &crate::config::Settings,
    stripe: &crate::stripe::StripeGateway,
    port: u16,
) -> Result<WebhookSecrets, crate::stripe::GatewayError> {
    if stripe.is_simulated() {
        let ip = settings.bind_addr.ip();
        let host = if ip.is_unspecified() || ip.is_loopback() {
            "127.0.0.1".to_owned()
        } else if ip.is_ipv6() {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        let base = format!("http://{host}:{port}");
        let endpoints = stripe
            .ensure_webhook_endpoints(
                &settings.data_dir,
                &format!("{base}/webhooks/stripe"),
                &format!("{base}/webhooks/stripe/connect"),
            )
            .await?;
        return Ok(WebhookSecrets {
            platform: vec![endpoints.platform.secret],
            connect: vec![endpoints.connect.secret],
            livemode: false,
        });
    }
    let platform: Vec<String> = settings.stripe.webhook_secret.iter().cloned().collect();
    let connect: Vec<String> = settings
        .stripe
        .connect_webhook_secret
        .iter()
        .cloned()
        .collect();
    if platform.is_empty() || connect.is_empty() {
        tracing::warn!(
            "STRIPE_WEBHOOK_SECRET / STRIPE_CONNECT_WEBHOOK_SECRET not set: webhook deliveries \
             are refused with 503 until they are"
        );
    }
    Ok(WebhookSecrets {
        platform,
        connect,
        livemode: stripe.livemode(),
    })
}
