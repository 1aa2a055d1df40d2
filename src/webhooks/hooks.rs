//! Where webhook events reach the rest of the marketplace: one function per event family,
//! called with the object as Stripe has it NOW (re-read, not the event's snapshot), so every
//! hook must be idempotent and must not assume any order of arrival.
//!
//! Each returns a line saying what it found (kept on the event for operators).
//!
//! Wiring status (for whoever merges the sellers and checkout branches):
//! - `account_updated`, `account_deauthorized`: the seller's onboarding snapshot and
//!   disconnection, through `seller::accounts::{apply_account_snapshot, mark_disconnected}`.
//! - `payment_intent_changed`, `charge_changed`, `refund_changed`, `dispute_changed`,
//!   `early_fraud_warning`, `payout_changed`, `checkout_session_completed`: NOT YET connected
//!   to order/payment state (checkout branch); they describe the state they were given.
//!   Money movements are already in the ledger (`super::ledger`) whatever the order state.

use super::WebhookCtx;
use super::handlers::HandlerError;
use crate::stripe::ObjectState;

fn describe(kind: &str, obj: &ObjectState, fields: &[&str]) -> String {
    let mut parts = vec![format!("{kind} {}", obj.id)];
    if let Some(status) = &obj.status {
        parts.push(format!("status={status}"));
    }
    for f in fields {
        let v = &obj.json[*f];
        if !v.is_null() {
            parts.push(format!(
                "{f}={}",
                v.as_str().map(str::to_owned).unwrap_or(v.to_string())
            ));
        }
    }
    parts.join(" ")
}

/// account.updated — the seller's onboarding state (charges/payouts enabled, requirements).
pub async fn account_updated(
    ctx: &WebhookCtx,
    account: &ObjectState,
) -> Result<String, HandlerError> {
    // The typed read is the one the return route uses, so both paths store the same snapshot;
    // `apply_account_snapshot` keeps whichever was read last, whatever the arrival order.
    let read_at = crate::db::now_unix();
    let snapshot = ctx.stripe.retrieve_account(&account.id).await?;
    let outcome =
        crate::seller::accounts::apply_account_snapshot(&ctx.db, &snapshot, read_at).await?;
    Ok(format!(
        "{} → {outcome:?}",
        describe(
            "account",
            account,
            &["charges_enabled", "payouts_enabled", "details_submitted"],
        )
    ))
}

/// account.application.deauthorized — the seller disconnected the platform.
pub async fn account_deauthorized(
    ctx: &WebhookCtx,
    account: &str,
    at: i64,
) -> Result<String, HandlerError> {
    let marked = crate::seller::accounts::mark_disconnected(&ctx.db, account, at).await?;
    Ok(format!(
        "account {account} deauthorized the platform at {at}{}",
        if marked {
            "; seller marked disconnected"
        } else {
            "; no change"
        }
    ))
}

/// payment_intent.* — LEAD: connect to the order's payment state (checkout branch).
pub async fn payment_intent_changed(
    _ctx: &WebhookCtx,
    _account: Option<&str>,
    pi: &ObjectState,
) -> Result<String, HandlerError> {
    Ok(describe(
        "payment_intent",
        pi,
        &["amount", "amount_received", "currency", "latest_charge"],
    ))
}

/// charge.* — LEAD: connect to the order's payment state (checkout branch).
pub async fn charge_changed(
    _ctx: &WebhookCtx,
    _account: Option<&str>,
    charge: &ObjectState,
) -> Result<String, HandlerError> {
    Ok(describe(
        "charge",
        charge,
        &[
            "amount",
            "amount_captured",
            "amount_refunded",
            "disputed",
            "payment_intent",
        ],
    ))
}

/// refund.* — our refund row follows Stripe's status (a failure releases the amount and
/// alerts admins); a refund made in the Dashboard is recorded on its order part.
pub async fn refund_changed(
    ctx: &WebhookCtx,
    account: Option<&str>,
    refund: &ObjectState,
) -> Result<String, HandlerError> {
    let done = crate::refunds::sync_refund(
        &ctx.db,
        &ctx.base_url,
        account,
        refund,
        crate::db::now_unix(),
    )
    .await?;
    Ok(format!(
        "{}: {done}",
        describe("refund", refund, &["amount", "charge", "failure_reason"])
    ))
}

/// charge.dispute.* — the disputes table and the part's `dispute_status`; the seller and
/// admins are mailed when a dispute opens.
pub async fn dispute_changed(
    ctx: &WebhookCtx,
    account: Option<&str>,
    dispute: &ObjectState,
) -> Result<String, HandlerError> {
    let done = crate::refunds::disputes::sync_dispute(
        &ctx.db,
        &ctx.base_url,
        account,
        dispute,
        crate::db::now_unix(),
    )
    .await?;
    Ok(format!(
        "{}: {done}",
        describe("dispute", dispute, &["amount", "charge", "reason"])
    ))
}

/// radar.early_fraud_warning.created — listed for admins with a one-click full refund.
pub async fn early_fraud_warning(
    ctx: &WebhookCtx,
    account: Option<&str>,
    warning: &ObjectState,
) -> Result<String, HandlerError> {
    let done =
        crate::refunds::disputes::record_warning(&ctx.db, account, warning, crate::db::now_unix())
            .await?;
    Ok(format!(
        "{}: {done}",
        describe(
            "early_fraud_warning",
            warning,
            &["charge", "fraud_type", "actionable"],
        )
    ))
}

/// payout.* — LEAD: show payouts to the seller.
pub async fn payout_changed(
    _ctx: &WebhookCtx,
    _account: Option<&str>,
    payout: &ObjectState,
) -> Result<String, HandlerError> {
    Ok(describe(
        "payout",
        payout,
        &["amount", "currency", "failure_code"],
    ))
}

/// checkout.session.completed — LEAD: the buyer's saved card (setup mode; checkout branch).
pub async fn checkout_session_completed(
    _ctx: &WebhookCtx,
    _account: Option<&str>,
    session: &ObjectState,
) -> Result<String, HandlerError> {
    Ok(describe(
        "checkout.session",
        session,
        &["mode", "customer", "setup_intent"],
    ))
}
