//! Stripe webhooks: receive (verify → store → 2xx), a job per event that
//! dispatches it by type to an idempotent handler, the money ledger those
//! handlers append to, and reconciliation for events that never arrived.
//!
//! - `signature`: `Stripe-Signature` verification (HMAC-SHA256, any `v1`, 300 s tolerance).
//! - `receive`: `POST /webhooks/stripe` (platform) and `POST /webhooks/stripe/connect`
//!   (connected accounts), each verified with its own secret only.
//! - `worker`: the `process_webhook_event` job: one per event, status kept on the event.
//! - `handlers`: every event type we act on, in one table; each re-reads its object from Stripe.
//! - `hooks`: one function per event family where order/payment state is connected.
//! - `ledger`: append-only record of balance transactions, and the check against Stripe.
//! - `reconcile`: pages `/v1/events` per account since a cursor and ingests what is missing.

pub mod handlers;
pub mod hooks;
pub mod ledger;
pub mod receive;
pub mod reconcile;
pub mod signature;
pub mod worker;

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Db;
use crate::state::AppState;
use crate::stripe::StripeGateway;

pub use receive::configure;

/// Job kind: process one stored event (payload: the event id).
pub const PROCESS_EVENT: &str = "process_webhook_event";
/// Job kind: one reconciliation run (payload: the run id).
pub const RECONCILE: &str = "reconcile_stripe_events";

/// Which endpoint (and so which secret) an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Platform,
    Connect,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Platform => "platform",
            Endpoint::Connect => "connect",
        }
    }
}

/// The signing secrets of the two endpoints (several each during a rotation) and the mode of
/// our key, which every event's `livemode` must match.
#[derive(Clone, Debug, Default)]
pub struct WebhookSecrets {
    pub platform: Vec<String>,
    pub connect: Vec<String>,
    pub livemode: bool,
}

impl WebhookSecrets {
    pub fn for_endpoint(&self, endpoint: Endpoint) -> &[String] {
        match endpoint {
            Endpoint::Platform => &self.platform,
            Endpoint::Connect => &self.connect,
        }
    }
}

/// What processing an event needs.
#[derive(Clone)]
pub struct WebhookCtx {
    pub db: Db,
    pub stripe: StripeGateway,
    /// For what the domain operations the hooks call need: links in mails (`base_url`), the
    /// platform's fee.
    pub settings: Arc<Settings>,
}

impl WebhookCtx {
    /// The shared state the checkout and seller operations take, built from this context (a
    /// few cheap clones), so a hook calls exactly what the request handlers call.
    pub fn app_state(&self) -> AppState {
        AppState::new(self.db.clone(), self.stripe.clone(), self.settings.clone())
    }
}
