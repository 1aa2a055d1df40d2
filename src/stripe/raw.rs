//! Untyped requests through the same async-stripe client (same key, base URL, timeout and error
//! mapping): for endpoints whose async-stripe crate the app does not build (webhook endpoints)
//! and for reads where only a few fields matter (events, balance transactions by source). The
//! response is handed back as `serde_json::Value`; callers inside `src/stripe/` pick the fields.

use std::collections::BTreeMap;

use serde_json::Value;
use stripe::RequestStrategy;
use stripe_client_core::{RequestBuilder, StripeMethod};

use super::{GatewayError, StripeGateway};

/// Form or query parameters, already flattened to Stripe's bracket keys (`enabled_events[0]`).
pub(super) type Params = BTreeMap<String, String>;

pub(super) fn params<const N: usize>(pairs: [(&str, &str); N]) -> Params {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

impl StripeGateway {
    /// `GET path` (under `/v1`), on `account` when given.
    pub(super) async fn raw_get(
        &self,
        path: &str,
        query: &Params,
        account: Option<&str>,
    ) -> Result<Value, GatewayError> {
        let mut builder = RequestBuilder::new(StripeMethod::Get, path);
        if !query.is_empty() {
            builder = builder.query(query);
        }
        self.raw_send(operation(path, false), builder, account, None)
            .await
    }

    /// `POST path` (under `/v1`) with an idempotency key, on `account` when given.
    pub(super) async fn raw_post(
        &self,
        path: &str,
        form: &Params,
        account: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Value, GatewayError> {
        let builder = RequestBuilder::new(StripeMethod::Post, path).form(form);
        self.raw_send(
            operation(path, true),
            builder,
            account,
            Some(idempotency_key),
        )
        .await
    }

    async fn raw_send(
        &self,
        operation: &'static str,
        builder: RequestBuilder,
        account: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Value, GatewayError> {
        let mut req = builder.customize::<miniserde::json::Value>();
        if let Some(account) = account {
            let id: stripe::AccountId = account
                .parse()
                .map_err(|_| GatewayError::Config(format!("bad account id {account}")))?;
            req = req.account_id(id);
        }
        if let Some(key) = idempotency_key {
            let key = stripe::IdempotencyKey::new(key)
                .map_err(|e| GatewayError::Config(format!("bad idempotency key: {e}")))?;
            req = req.request_strategy(RequestStrategy::Idempotent(key));
        }
        let value = super::metered::call(operation, req.send(&self.client)).await?;
        serde_json::from_str(&miniserde::json::to_string(&value))
            .map_err(|e| GatewayError::Unavailable(format!("unreadable response: {e}")))
    }
}

/// The metrics label of an untyped call: the resource (first path segment) and whether it reads
/// or writes. Labels must be a closed set, so ids in the path never reach them.
fn operation(path: &str, write: bool) -> &'static str {
    let resource = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    match (resource, write) {
        ("accounts", false) => "account.read",
        ("application_fees", false) => "application_fee.read",
        ("balance_transactions", false) => "balance_transaction.read",
        ("charges", false) => "charge.read",
        ("disputes", false) => "dispute.read",
        ("events", false) => "event.read",
        ("payment_intents", false) => "payment_intent.read",
        ("payouts", false) => "payout.read",
        ("radar", false) => "early_fraud_warning.read",
        ("refunds", false) => "refund.read",
        ("refunds", true) => "refund.create",
        ("disputes", true) => "dispute.update",
        ("checkout", false) => "checkout_session.read",
        ("webhook_endpoints", false) => "webhook_endpoint.read",
        ("webhook_endpoints", true) => "webhook_endpoint.write",
        (_, false) => "other.read",
        (_, true) => "other.write",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn operations_name_the_resource_never_an_id() {
        assert_eq!(super::operation("/charges/ch_123", false), "charge.read");
        assert_eq!(
            super::operation("/webhook_endpoints", true),
            "webhook_endpoint.write"
        );
        assert_eq!(super::operation("/unheard_of/x_1", true), "other.write");
    }
}
