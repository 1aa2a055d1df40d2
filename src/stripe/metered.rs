//! The one door every Stripe call goes through: [`call`] maps async-stripe's error to a
//! [`GatewayError`], and counts and times the call by operation and outcome
//! (`marketplace_stripe_requests_total`, `marketplace_stripe_request_duration_seconds`).
//!
//! A gateway method wraps the request it sends, naming the operation `<object>.<verb>` after
//! Stripe's API reference:
//!
//! ```ignore
//! let intent = metered::call(
//!     "payment_intent.create",
//!     CreatePaymentIntent::new(amount, currency)
//!         .customize()
//!         .account_id(account.clone())
//!         .request_strategy(RequestStrategy::Idempotent(key))
//!         .send(&self.client),
//! )
//! .await?;
//! ```

use std::future::Future;
use std::time::Instant;

use stripe::StripeError;

use super::GatewayError;

/// Awaits one Stripe request, recording its operation, outcome and latency.
pub(crate) async fn call<T>(
    operation: &'static str,
    request: impl Future<Output = Result<T, StripeError>>,
) -> Result<T, GatewayError> {
    let start = Instant::now();
    let result = request.await.map_err(GatewayError::from);
    let elapsed = start.elapsed();
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.outcome(),
    };
    crate::telemetry::metrics::stripe_call(operation, outcome, elapsed);
    tracing::debug!(
        operation,
        outcome,
        elapsed_ms = elapsed.as_millis() as u64,
        "stripe call"
    );
    result
}
