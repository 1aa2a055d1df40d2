//! Buyer payments: platform Customers, cards cloned to sellers' connected accounts, direct
//! charges with an application fee, capture and cancel.
//!
//! Every mutating call takes an [`IdemKey`] built by the caller from ids we stored before the
//! call, and is sent with `RequestStrategy::Idempotent`. A call whose outcome is unknown (timeout,
//! dropped connection, 5xx, unreadable answer) or that was rate limited is sent again with the
//! SAME key a few times; Stripe then either applies it once or replays the stored answer.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use stripe::{AccountId, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, ConfirmPaymentIntent, CreatePaymentIntent,
    RetrievePaymentIntent,
};
use stripe_payment::payment_method::{
    AttachPaymentMethod, CreatePaymentMethod, RetrievePaymentMethod,
};
use stripe_shared::{PaymentIntent, PaymentIntentStatus, PaymentMethod};

use super::{GatewayError, StripeGateway};
use crate::domain::Money;

/// How many times a call with an unknown outcome is sent in all (same key each time).
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// An idempotency key derived from our stored ids and the intent of the call, e.g.
/// `opt_…:pi:1`. Never random: re-running the same business step must reuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemKey(String);

impl IdemKey {
    pub fn new(parts: &[&str]) -> Self {
        IdemKey(parts.join(":"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn strategy(&self) -> Result<RequestStrategy, GatewayError> {
        IdempotencyKey::new(&self.0)
            .map(RequestStrategy::Idempotent)
            .map_err(|e| GatewayError::Config(format!("bad idempotency key: {e:?}")))
    }
}

/// Runs `call` until it gives a definite answer, at most [`ATTEMPTS`] times. The closure must
/// send the same request with the same idempotency key each time.
pub(crate) async fn retrying<T, F, Fut>(what: &'static str, mut call: F) -> Result<T, GatewayError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StripeError>>,
{
    let mut delay = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        // Each attempt is counted and timed on its own (`what` is the metrics operation).
        match super::metered::call(what, call()).await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                tracing::warn!(call = what, attempt, error = %e, "Stripe call retried with the same key");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn account(id: &str) -> AccountId {
    AccountId::from(id.to_owned())
}

/// A card as Stripe describes it (never the number).
#[derive(Debug, Clone)]
pub struct CardDetails {
    pub payment_method_id: String,
    pub customer_id: Option<String>,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

fn card_details(pm: &PaymentMethod) -> Result<CardDetails, GatewayError> {
    let card = pm
        .card
        .as_ref()
        .ok_or_else(|| GatewayError::InvalidRequest {
            param: Some("payment_method".into()),
            message: "that payment method is not a card".into(),
        })?;
    Ok(CardDetails {
        payment_method_id: pm.id.as_str().to_owned(),
        customer_id: pm.customer.as_ref().map(|c| c.id().as_str().to_owned()),
        brand: card.brand.clone(),
        last4: card.last4.clone(),
        exp_month: card.exp_month,
        exp_year: card.exp_year,
    })
}

/// What a direct charge asks for.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    /// The seller's connected account (`acct_…`).
    pub account: &'a str,
    /// The buyer's Customer on that account and the card cloned onto it.
    pub customer: &'a str,
    pub payment_method: &'a str,
    pub amount: Money,
    pub application_fee: Money,
    /// Authorize only; the seller captures later.
    pub manual_capture: bool,
    pub metadata: HashMap<String, String>,
}

/// Where a PaymentIntent stands, in the terms checkout needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentState {
    Succeeded,
    /// Authorized, waiting for the seller to capture.
    RequiresCapture,
    /// 3-D Secure: send the buyer to `url`.
    RequiresAction {
        url: Option<String>,
    },
    /// Declined or authentication failed; the reason in Stripe's words and codes.
    Failed {
        code: Option<String>,
        decline_code: Option<String>,
        message: Option<String>,
    },
    Processing,
    Canceled,
    /// Created but not confirmed yet.
    NotConfirmed,
}

#[derive(Debug, Clone)]
pub struct IntentSnapshot {
    pub id: String,
    pub state: IntentState,
    pub charge_id: Option<String>,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub application_fee_amount: Option<i64>,
}

fn snapshot(pi: &PaymentIntent) -> IntentSnapshot {
    let state = match &pi.status {
        PaymentIntentStatus::Succeeded => IntentState::Succeeded,
        PaymentIntentStatus::RequiresCapture => IntentState::RequiresCapture,
        PaymentIntentStatus::RequiresAction => IntentState::RequiresAction {
            url: pi
                .next_action
                .as_ref()
                .and_then(|a| a.redirect_to_url.as_ref())
                .and_then(|r| r.url.clone()),
        },
        PaymentIntentStatus::Processing => IntentState::Processing,
        PaymentIntentStatus::Canceled => IntentState::Canceled,
        PaymentIntentStatus::RequiresPaymentMethod => match &pi.last_payment_error {
            Some(err) => IntentState::Failed {
                code: err.code.as_ref().map(|c| c.as_str().to_owned()),
                decline_code: err.decline_code.clone(),
                message: err.message.clone(),
            },
            None => IntentState::NotConfirmed,
        },
        _ => IntentState::NotConfirmed,
    };
    IntentSnapshot {
        id: pi.id.as_str().to_owned(),
        state,
        charge_id: pi
            .latest_charge
            .as_ref()
            .map(|c| c.id().as_str().to_owned()),
        amount_capturable: pi.amount_capturable,
        amount_received: pi.amount_received,
        application_fee_amount: pi.application_fee_amount,
    }
}

impl StripeGateway {
    /// The buyer's one Customer on the platform; `buyer_id` goes into its metadata.
    pub async fn create_platform_customer(
        &self,
        buyer_id: &str,
        email: &str,
        key: &IdemKey,
    ) -> Result<String, GatewayError> {
        let strategy = key.strategy()?;
        let req = CreateCustomer::new().email(email).metadata(HashMap::from([(
            "buyer_id".to_owned(),
            buyer_id.to_owned(),
        )]));
        let customer = retrying("create platform customer", || {
            req.customize()
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        Ok(customer.id.as_str().to_owned())
    }

    /// The buyer's Customer on a seller's connected account.
    pub async fn create_connected_customer(
        &self,
        account_id: &str,
        buyer_id: &str,
        email: &str,
        key: &IdemKey,
    ) -> Result<String, GatewayError> {
        let strategy = key.strategy()?;
        let req = CreateCustomer::new().email(email).metadata(HashMap::from([(
            "buyer_id".to_owned(),
            buyer_id.to_owned(),
        )]));
        let customer = retrying("create connected customer", || {
            req.customize()
                .account_id(account(account_id))
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        Ok(customer.id.as_str().to_owned())
    }

    /// Attaches a PaymentMethod (or a test token such as `pm_card_visa`) to a platform Customer.
    pub async fn attach_card(
        &self,
        customer_id: &str,
        payment_method: &str,
        key: &IdemKey,
    ) -> Result<CardDetails, GatewayError> {
        let strategy = key.strategy()?;
        let req = AttachPaymentMethod::new(payment_method).customer(customer_id);
        let pm = retrying("attach card", || {
            req.customize()
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        card_details(&pm)
    }

    /// A platform PaymentMethod as Stripe knows it (which Customer holds it, brand, last 4).
    pub async fn retrieve_card(&self, payment_method: &str) -> Result<CardDetails, GatewayError> {
        let req = RetrievePaymentMethod::new(payment_method);
        let pm = retrying("retrieve card", || req.customize().send(&self.client)).await?;
        card_details(&pm)
    }

    /// Clones a platform Customer's card onto a connected account and attaches the clone to the
    /// buyer's Customer there, so later orders from that seller reuse it. Returns the clone's id.
    pub async fn clone_card_to(
        &self,
        account_id: &str,
        platform_customer: &str,
        platform_payment_method: &str,
        connected_customer: &str,
        key: &IdemKey,
    ) -> Result<String, GatewayError> {
        let clone_key = IdemKey::new(&[key.as_str(), "clone"]);
        let strategy = clone_key.strategy()?;
        let req = CreatePaymentMethod::new()
            .customer(platform_customer)
            .payment_method(platform_payment_method);
        let pm = retrying("clone card", || {
            req.customize()
                .account_id(account(account_id))
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        let attach_key = IdemKey::new(&[key.as_str(), "attach"]);
        let strategy = attach_key.strategy()?;
        let attach = AttachPaymentMethod::new(pm.id.as_str()).customer(connected_customer);
        retrying("attach clone", || {
            attach
                .customize()
                .account_id(account(account_id))
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        Ok(pm.id.as_str().to_owned())
    }

    /// Creates (without confirming) a PaymentIntent on the seller's account: a direct charge
    /// with the platform's application fee. Confirming is a separate call
    /// ([`Self::confirm_intent`]), so that a lost answer can always be settled by re-reading an
    /// intent whose id we already stored.
    pub async fn create_intent(
        &self,
        charge: &ChargeRequest<'_>,
        key: &IdemKey,
    ) -> Result<IntentSnapshot, GatewayError> {
        let strategy = key.strategy()?;
        let currency: stripe_types::Currency = charge
            .amount
            .currency
            .code()
            .parse()
            .unwrap_or(stripe_types::Currency::USD);
        let mut req = CreatePaymentIntent::new(charge.amount.minor, currency)
            .allowed_payment_method_types(vec![
                stripe_shared::PaymentIntentAllowedPaymentMethodTypes::Card,
            ])
            .application_fee_amount(charge.application_fee.minor)
            .customer(charge.customer)
            .payment_method(charge.payment_method)
            .metadata(charge.metadata.clone());
        if charge.manual_capture {
            req = req.capture_method(stripe_shared::PaymentIntentCaptureMethod::Manual);
        }
        let pi = retrying("create payment intent", || {
            req.customize()
                .account_id(account(charge.account))
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        Ok(snapshot(&pi))
    }

    /// Confirms an intent; `return_url` is where 3-D Secure sends the buyer back. A decline is
    /// not an error here: it comes back as [`IntentState::Failed`] (re-read from the intent).
    pub async fn confirm_intent(
        &self,
        account_id: &str,
        intent_id: &str,
        return_url: &str,
        key: &IdemKey,
    ) -> Result<IntentSnapshot, GatewayError> {
        let strategy = key.strategy()?;
        let req = ConfirmPaymentIntent::new(intent_id).return_url(return_url);
        let sent = retrying("confirm payment intent", || {
            req.customize()
                .account_id(account(account_id))
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await;
        match sent {
            Ok(pi) => Ok(snapshot(&pi)),
            // A card error leaves the intent in requires_payment_method with the reason in
            // last_payment_error; read it back so the answer has one shape.
            Err(GatewayError::Declined { .. } | GatewayError::NeedsAuthentication) => {
                self.retrieve_intent(account_id, intent_id).await
            }
            Err(e) => Err(e),
        }
    }

    pub async fn retrieve_intent(
        &self,
        account_id: &str,
        intent_id: &str,
    ) -> Result<IntentSnapshot, GatewayError> {
        let req = RetrievePaymentIntent::new(intent_id);
        let pi = retrying("retrieve payment intent", || {
            req.customize()
                .account_id(account(account_id))
                .send(&self.client)
        })
        .await?;
        Ok(snapshot(&pi))
    }

    /// Captures an authorized intent, all of it or `amount` (a partial capture releases the rest).
    /// Stripe keeps the intent's `application_fee_amount` on a capture unless it is given again,
    /// so a partial capture passes the fee for the captured share as `application_fee`.
    pub async fn capture_intent(
        &self,
        account_id: &str,
        intent_id: &str,
        amount: Option<Money>,
        application_fee: Option<Money>,
        key: &IdemKey,
    ) -> Result<IntentSnapshot, GatewayError> {
        let strategy = key.strategy()?;
        let mut req = CapturePaymentIntent::new(intent_id);
        if let Some(amount) = amount {
            req = req.amount_to_capture(amount.minor);
        }
        if let Some(fee) = application_fee {
            req = req.application_fee_amount(fee.minor);
        }
        let pi = retrying("capture payment intent", || {
            req.customize()
                .account_id(account(account_id))
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        Ok(snapshot(&pi))
    }

    pub async fn cancel_intent(
        &self,
        account_id: &str,
        intent_id: &str,
        key: &IdemKey,
    ) -> Result<IntentSnapshot, GatewayError> {
        let strategy = key.strategy()?;
        let req = CancelPaymentIntent::new(intent_id);
        let pi = retrying("cancel payment intent", || {
            req.customize()
                .account_id(account(account_id))
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        Ok(snapshot(&pi))
    }
}

/// A hosted card-saving page (Checkout Session in `setup` mode).
#[derive(Debug, Clone)]
pub struct SetupSession {
    pub id: String,
    pub url: Option<String>,
    pub customer_id: Option<String>,
    pub complete: bool,
    /// The saved card, once the buyer completed the page.
    pub payment_method_id: Option<String>,
}

fn setup_session(s: &stripe_shared::CheckoutSession) -> SetupSession {
    let pm = s.setup_intent.as_ref().and_then(|si| match si {
        stripe_types::Expandable::Object(si) => si
            .payment_method
            .as_ref()
            .map(|p| p.id().as_str().to_owned()),
        stripe_types::Expandable::Id(_) => None,
    });
    SetupSession {
        id: s.id.as_str().to_owned(),
        url: s.url.clone(),
        customer_id: s.customer.as_ref().map(|c| c.id().as_str().to_owned()),
        complete: matches!(
            s.status,
            Some(stripe_shared::CheckoutSessionStatus::Complete)
        ),
        payment_method_id: pm,
    }
}

impl StripeGateway {
    /// Starts a Checkout Session in `setup` mode for the buyer's platform Customer: Stripe's
    /// page takes the card number; `success_url` gets `{CHECKOUT_SESSION_ID}` filled in.
    pub async fn create_setup_session(
        &self,
        customer_id: &str,
        currency: crate::domain::Currency,
        success_url: &str,
        cancel_url: &str,
        key: &IdemKey,
    ) -> Result<SetupSession, GatewayError> {
        let strategy = key.strategy()?;
        let currency: stripe_types::Currency = currency
            .code()
            .parse()
            .unwrap_or(stripe_types::Currency::USD);
        let req = stripe_checkout::checkout_session::CreateCheckoutSession::new()
            .mode(stripe_shared::CheckoutSessionMode::Setup)
            .customer(customer_id)
            .currency(currency)
            .success_url(success_url)
            .cancel_url(cancel_url);
        let s = retrying("create setup session", || {
            req.customize()
                .request_strategy(strategy.clone())
                .send(&self.client)
        })
        .await?;
        Ok(setup_session(&s))
    }

    /// Reads a setup session with its SetupIntent expanded.
    pub async fn retrieve_setup_session(&self, id: &str) -> Result<SetupSession, GatewayError> {
        let req = stripe_checkout::checkout_session::RetrieveCheckoutSession::new(id)
            .expand(vec!["setup_intent".to_owned()]);
        let s = retrying("retrieve setup session", || {
            req.customize().send(&self.client)
        })
        .await?;
        Ok(setup_session(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn keys_are_built_from_our_ids() {
        assert_eq!(IdemKey::new(&["opt_1", "pi", "2"]).as_str(), "opt_1:pi:2");
    }

    #[tokio::test]
    async fn unknown_outcomes_are_retried_definite_failures_are_not() {
        let calls = AtomicU32::new(0);
        let out: Result<u32, _> = retrying("t", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(StripeError::Timeout)
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(out.unwrap(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let out: Result<u32, _> = retrying("t", || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(StripeError::ConfigError("bad".into())) }
        })
        .await;
        assert!(matches!(out, Err(GatewayError::Config(_))));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a definite failure is final"
        );

        let calls = AtomicU32::new(0);
        let out: Result<u32, _> = retrying("t", || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(StripeError::JSONDeserialize("2xx we could not read".into())) }
        })
        .await;
        assert!(out.unwrap_err().outcome_unknown());
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
    }
}
