//! Every event type we act on, in one table ([`HANDLED`]), and the handler of each family.
//!
//! Handlers never trust the event's snapshot: they re-read the object from Stripe through the
//! gateway and act on what is true now, so the order in which events arrive does not matter,
//! and running one twice changes nothing (ledger rows are keyed by balance transaction; the
//! hooks in [`super::hooks`] must be idempotent too).

use serde_json::Value;

use super::{WebhookCtx, hooks, ledger};
use crate::db::DbError;
use crate::db::webhook_events::StoredEvent;
use crate::stripe::{GatewayError, ObjectState};

/// The families of events, one handler each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    AccountUpdated,
    AccountAuthorized,
    AccountDeauthorized,
    PaymentIntent,
    Charge,
    Refund,
    Dispute,
    EarlyFraudWarning,
    Payout,
    ApplicationFee,
    BalanceAvailable,
    CheckoutSession,
}

/// Every event type the marketplace handles; anything else is stored and marked ignored.
pub const HANDLED: &[(&str, Family)] = &[
    ("account.updated", Family::AccountUpdated),
    ("account.application.authorized", Family::AccountAuthorized),
    (
        "account.application.deauthorized",
        Family::AccountDeauthorized,
    ),
    ("payment_intent.succeeded", Family::PaymentIntent),
    ("payment_intent.payment_failed", Family::PaymentIntent),
    ("payment_intent.canceled", Family::PaymentIntent),
    (
        "payment_intent.amount_capturable_updated",
        Family::PaymentIntent,
    ),
    ("payment_intent.requires_action", Family::PaymentIntent),
    ("charge.succeeded", Family::Charge),
    ("charge.failed", Family::Charge),
    ("charge.captured", Family::Charge),
    ("charge.refunded", Family::Charge),
    ("charge.updated", Family::Charge),
    ("refund.created", Family::Refund),
    ("refund.updated", Family::Refund),
    ("refund.failed", Family::Refund),
    ("charge.dispute.created", Family::Dispute),
    ("charge.dispute.updated", Family::Dispute),
    ("charge.dispute.closed", Family::Dispute),
    (
        "radar.early_fraud_warning.created",
        Family::EarlyFraudWarning,
    ),
    ("payout.created", Family::Payout),
    ("payout.paid", Family::Payout),
    ("payout.failed", Family::Payout),
    ("application_fee.created", Family::ApplicationFee),
    ("application_fee.refunded", Family::ApplicationFee),
    ("balance.available", Family::BalanceAvailable),
    ("checkout.session.completed", Family::CheckoutSession),
];

pub fn family_of(event_type: &str) -> Option<Family> {
    HANDLED
        .iter()
        .find(|(t, _)| *t == event_type)
        .map(|(_, f)| *f)
}

/// What became of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Acted on; the text says what was found and done.
    Applied(String),
    /// Not a type we act on.
    Ignored(String),
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("Stripe: {0}")]
    Stripe(#[from] GatewayError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error("{0}")]
    Hook(String),
}

impl HandlerError {
    /// Retrying cannot help: the object is gone or the request is wrong.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            HandlerError::Malformed(_)
                | HandlerError::Stripe(GatewayError::InvalidRequest { .. })
                | HandlerError::Stripe(GatewayError::Config(_))
        )
    }
}

fn object_of(event: &StoredEvent) -> Result<(Value, String), HandlerError> {
    let payload: Value =
        serde_json::from_str(&event.payload).map_err(|e| HandlerError::Malformed(e.to_string()))?;
    let object = payload["data"]["object"].clone();
    let id = object["id"]
        .as_str()
        .ok_or_else(|| HandlerError::Malformed("data.object has no id".into()))?
        .to_owned();
    Ok((object, id))
}

async fn reread(
    ctx: &WebhookCtx,
    account: Option<&str>,
    object_type: &str,
    id: &str,
) -> Result<ObjectState, HandlerError> {
    ctx.stripe
        .current_object(account, object_type, id)
        .await?
        .ok_or_else(|| HandlerError::Malformed(format!("cannot read back a {object_type}")))
}

/// Runs the handler for `event`.
pub async fn handle(ctx: &WebhookCtx, event: &StoredEvent) -> Result<Handled, HandlerError> {
    let Some(family) = family_of(&event.event_type) else {
        return Ok(Handled::Ignored(format!(
            "no handler for {}",
            event.event_type
        )));
    };
    let account = event.account.as_deref();
    let (_, id) = object_of(event)?;
    let outcome = match family {
        Family::AccountUpdated => hooks::account_updated(ctx, &id).await?,
        Family::AccountAuthorized => {
            format!("platform authorized by {}", account.unwrap_or("?"))
        }
        Family::AccountDeauthorized => {
            let acct = account.ok_or_else(|| {
                HandlerError::Malformed("deauthorization without an account".into())
            })?;
            hooks::account_deauthorized(ctx, acct, event.created).await?
        }
        Family::PaymentIntent => {
            let pi = reread(ctx, account, "payment_intent", &id).await?;
            hooks::payment_intent_changed(ctx, account, &pi).await?
        }
        Family::Charge => {
            let charge = reread(ctx, account, "charge", &id).await?;
            let mut recorded = ledger::record(ctx, account, &id, &event.id).await?;
            if charge.json["amount_refunded"].as_i64().unwrap_or(0) > 0 {
                for refund in ctx.stripe.refund_ids_of_charge(account, &id).await? {
                    recorded += ledger::record(ctx, account, &refund, &event.id).await?;
                    // charge.refunded may be the only word of a refund that reaches us: its
                    // refunds are brought in step as refund.* events would.
                    let state = reread(ctx, account, "refund", &refund).await?;
                    hooks::refund_changed(ctx, account, &state).await?;
                }
            }
            let hook = hooks::charge_changed(ctx, account, &charge).await?;
            format!("{hook}; {recorded} ledger entries")
        }
        Family::Refund => {
            let refund = reread(ctx, account, "refund", &id).await?;
            let recorded = ledger::record(ctx, account, &id, &event.id).await?;
            let hook = hooks::refund_changed(ctx, account, &refund).await?;
            format!("{hook}; {recorded} ledger entries")
        }
        Family::Dispute => {
            let dispute = reread(ctx, account, "dispute", &id).await?;
            let recorded = ledger::record(ctx, account, &id, &event.id).await?;
            let hook = hooks::dispute_changed(ctx, account, &dispute).await?;
            format!("{hook}; {recorded} ledger entries")
        }
        Family::EarlyFraudWarning => {
            let warning = reread(ctx, account, "radar.early_fraud_warning", &id).await?;
            hooks::early_fraud_warning(ctx, account, &warning).await?
        }
        Family::Payout => {
            let payout = reread(ctx, account, "payout", &id).await?;
            let recorded = ledger::record(ctx, account, &id, &event.id).await?;
            let hook = hooks::payout_changed(ctx, account, &payout).await?;
            format!("{hook}; {recorded} ledger entries")
        }
        Family::ApplicationFee => {
            // Application fees live on the platform; their refunds move money on both sides.
            let fee = reread(ctx, None, "application_fee", &id).await?;
            let mut recorded = ledger::record(ctx, None, &id, &event.id).await?;
            let connected = fee.json["account"].as_str().map(str::to_owned);
            for refund in ctx.stripe.fee_refund_ids(&id).await? {
                recorded += ledger::record(ctx, None, &refund, &event.id).await?;
                if let Some(connected) = &connected {
                    recorded += ledger::record(ctx, Some(connected), &refund, &event.id).await?;
                }
            }
            format!(
                "application fee {id}: {} of {} refunded; {recorded} ledger entries",
                fee.json["amount_refunded"].as_i64().unwrap_or(0),
                fee.json["amount"].as_i64().unwrap_or(0)
            )
        }
        Family::BalanceAvailable => {
            "balance available: no money moved (pending funds became available)".to_owned()
        }
        Family::CheckoutSession => {
            let session = reread(ctx, account, "checkout.session", &id).await?;
            hooks::checkout_session_completed(ctx, account, &session).await?
        }
    };
    Ok(Handled::Applied(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_of_the_issue_has_a_handler() {
        let listed = "account.updated account.application.authorized \
            account.application.deauthorized payment_intent.succeeded \
            payment_intent.payment_failed payment_intent.canceled \
            payment_intent.amount_capturable_updated payment_intent.requires_action \
            charge.succeeded charge.failed charge.captured charge.refunded charge.updated \
            refund.created refund.updated refund.failed charge.dispute.created \
            charge.dispute.updated charge.dispute.closed radar.early_fraud_warning.created \
            payout.created payout.paid payout.failed application_fee.created \
            application_fee.refunded balance.available checkout.session.completed";
        for t in listed.split_whitespace() {
            assert!(family_of(t).is_some(), "{t} has no handler");
        }
        assert_eq!(family_of("customer.created"), None);
    }
}
