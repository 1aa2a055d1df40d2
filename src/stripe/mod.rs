//! The only place that talks to Stripe. Everything else asks the [`StripeGateway`] for business
//! operations and gets domain-level answers and [`GatewayError`]s back.
//!
//! With no secret key configured the gateway starts the embedded stripe-sim emulator on a
//! loopback port and points the same async-stripe client at it, so every code path is the one that
//! runs against real Stripe.

mod connect;
mod embedded;
mod error;
pub(crate) mod metered;
pub mod payments;
mod raw;
pub mod refunds;
mod sim_helpers;
mod webhook_data;
pub mod webhook_endpoints;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use stripe::{Client, ClientBuilder};

pub use connect::{OnboardingLink, account_idempotency_key, snapshot_of};
pub use error::GatewayError;
pub use webhook_data::{BalanceTxn, EventPage, ObjectState};

/// Per-attempt timeout for every Stripe call: a hung connection must surface as "Stripe
/// unavailable" to the person waiting, not hold a worker forever.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// What the gateway needs from the settings.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// `sk_test_…` / `sk_live_…`; `None` runs the embedded emulator.
    pub secret_key: Option<String>,
    /// Base URL of a Stripe-compatible API (`None` = Stripe itself).
    pub api_base: Option<String>,
    /// Where the embedded emulator keeps its key and state so ids survive restarts.
    pub data_dir: PathBuf,
}

/// How the gateway reaches Stripe; shown to people so nobody mistakes simulated money for real.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A real Stripe account (or a Stripe-compatible server named by STRIPE_API_BASE).
    Remote,
    /// The emulator embedded in this process.
    Simulated,
}

#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
    mode: Mode,
    api_base: String,
    livemode: bool,
    sim: Option<Arc<embedded::EmbeddedSim>>,
}

impl StripeGateway {
    /// Builds the gateway: a client for the configured key, or the embedded emulator when there
    /// is none.
    pub async fn connect(config: &GatewayConfig) -> Result<Self, GatewayError> {
        match &config.secret_key {
            Some(key) => {
                let api_base = config
                    .api_base
                    .clone()
                    .unwrap_or_else(|| "https://api.stripe.com/".to_owned());
                let client = build_client(key, &api_base)?;
                Ok(Self {
                    client,
                    mode: Mode::Remote,
                    api_base: normalise_base(&api_base),
                    livemode: key.contains("_live_"),
                    sim: None,
                })
            }
            None => {
                let sim = embedded::EmbeddedSim::start(&config.data_dir).await?;
                let client = build_client(sim.secret_key(), sim.base_url())?;
                tracing::warn!(
                    api_base = sim.base_url(),
                    "no STRIPE_SECRET_KEY: payments are simulated by the embedded stripe-sim"
                );
                Ok(Self {
                    client,
                    mode: Mode::Simulated,
                    api_base: normalise_base(sim.base_url()),
                    livemode: false,
                    sim: Some(Arc::new(sim)),
                })
            }
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether our key is a live-mode key (events must then say `livemode: true`).
    pub fn livemode(&self) -> bool {
        self.livemode
    }

    pub fn is_simulated(&self) -> bool {
        self.mode == Mode::Simulated
    }

    /// The API base the client talks to (with a trailing slash).
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Stops the embedded emulator (flushing its state); nothing to do against real Stripe.
    pub async fn shutdown(&self) {
        if let Some(sim) = &self.sim {
            sim.shutdown().await;
        }
    }

    /// Whether Stripe answers with our key: the platform balance is the cheapest authenticated
    /// call there is.
    pub async fn check(&self) -> Result<(), GatewayError> {
        metered::call(
            "balance.retrieve",
            stripe_core::balance::RetrieveForMyAccountBalance::new().send(&self.client),
        )
        .await
        .map(|_| ())
    }
}

/// async-stripe appends `v1/…` straight to the base, so the base must end with a slash.
fn normalise_base(base: &str) -> String {
    if base.ends_with('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    }
}

fn build_client(secret_key: &str, api_base: &str) -> Result<Client, GatewayError> {
    ClientBuilder::new(secret_key)
        .url(normalise_base(api_base))
        .timeout(CALL_TIMEOUT)
        .build()
        .map_err(|e| GatewayError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::normalise_base;

    #[test]
    fn base_gets_exactly_one_trailing_slash() {
        assert_eq!(normalise_base("http://127.0.0.1:1"), "http://127.0.0.1:1/");
        assert_eq!(normalise_base("http://127.0.0.1:1/"), "http://127.0.0.1:1/");
    }
}
