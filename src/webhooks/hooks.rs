//! Where webhook events reach the rest of the marketplace: one function per event family,
//! called with the object as Stripe has it NOW (re-read, not the event's snapshot), so every
//! hook must be idempotent and must not assume any order of arrival.
//!
//! Each returns a line saying what it found (kept on the event for operators).
//!
//! What each one is connected to:
//! - `account_updated`, `account_deauthorized`: the seller's onboarding snapshot and
//!   disconnection, through `seller::accounts::{apply_account_snapshot, mark_disconnected}`
//!   (which also mail the seller on a change of standing, and the admins on a disconnection).
//! - `payment_intent_changed`, `charge_changed`: the order part paid by that PaymentIntent on
//!   that connected account, through `checkout::refresh` (re-reads the intent and records the
//!   outcome, queueing the receipt and the new-order mail once).
//! - `checkout_session_completed`: a card saved on the hosted page, through
//!   `checkout::save_card`, for a buyer who never came back to the return route.
//! - `payout_changed`: the seller's payout paid / failed mail (the money page reads payouts
//!   live from Stripe, so there is nothing of ours to update).
//! - `refund_changed`, `dispute_changed`, `early_fraud_warning`: NOT YET connected to order
//!   state; they describe the state they were given.
//!
//! Money movements (application fees, `balance.available` included) are in the ledger
//! (`super::ledger`) whatever the order state; they change nothing a person sees.

use super::WebhookCtx;
use super::handlers::HandlerError;
use crate::checkout::{self, CheckoutError};
use crate::db::checkout as orders;
use crate::domain::{Currency, Money, UserId};
use crate::email::templates;
use crate::seller::accounts::LifecycleError;
use crate::stripe::ObjectState;

fn from_checkout(e: CheckoutError) -> HandlerError {
    match e {
        CheckoutError::Gateway(g) => HandlerError::Stripe(g),
        CheckoutError::Db(d) => HandlerError::Db(d),
        other => HandlerError::Hook(other.to_string()),
    }
}

fn from_lifecycle(e: LifecycleError) -> HandlerError {
    match e {
        LifecycleError::Db(d) => HandlerError::Db(d),
        other => HandlerError::Hook(other.to_string()),
    }
}

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
/// One read of the account, the typed one the return route uses, so both paths store the same
/// snapshot; `apply_account_snapshot` keeps whichever was read last, whatever the arrival order.
pub async fn account_updated(ctx: &WebhookCtx, account_id: &str) -> Result<String, HandlerError> {
    let read_at = crate::db::now_unix();
    let snapshot = ctx.stripe.retrieve_account(account_id).await?;
    let outcome = crate::seller::accounts::apply_account_snapshot(
        &ctx.db,
        &snapshot,
        read_at,
        &ctx.settings.base_url,
    )
    .await
    .map_err(from_lifecycle)?;
    Ok(format!(
        "account {account_id} charges_enabled={} payouts_enabled={} details_submitted={} \
         → {outcome:?}",
        snapshot.charges_enabled, snapshot.payouts_enabled, snapshot.details_submitted
    ))
}

/// account.application.deauthorized — the seller disconnected the platform.
pub async fn account_deauthorized(
    ctx: &WebhookCtx,
    account: &str,
    at: i64,
) -> Result<String, HandlerError> {
    let marked =
        crate::seller::accounts::mark_disconnected(&ctx.db, account, at, &ctx.settings.base_url)
            .await
            .map_err(from_lifecycle)?;
    Ok(format!(
        "account {account} deauthorized the platform at {at}{}",
        if marked {
            "; seller marked disconnected"
        } else {
            "; no change"
        }
    ))
}

/// Brings the order part paid by `intent_id` on `account` up to date with Stripe. Events on
/// the platform, and intents that are not (or no longer: a retry clears the old attempt's)
/// one of our parts, change nothing.
async fn refresh_part(
    ctx: &WebhookCtx,
    account: Option<&str>,
    intent_id: Option<&str>,
) -> Result<String, HandlerError> {
    let (Some(account), Some(pi)) = (account, intent_id) else {
        return Ok("not an order payment".to_owned());
    };
    let Some(part) = orders::part_by_intent(&ctx.db, account, pi).await? else {
        return Ok("no order part pays with it".to_owned());
    };
    let before = part.status;
    let after = checkout::refresh(&ctx.app_state(), &part)
        .await
        .map_err(from_checkout)?;
    Ok(if after.status == before {
        format!("part {} stays {}", after.id, after.status)
    } else {
        format!("part {} {} → {}", after.id, before, after.status)
    })
}

/// payment_intent.* — the order part it pays: succeeded, authorized, failed, canceled or
/// waiting for 3-D Secure, as the intent says now.
pub async fn payment_intent_changed(
    ctx: &WebhookCtx,
    account: Option<&str>,
    pi: &ObjectState,
) -> Result<String, HandlerError> {
    let part = refresh_part(ctx, account, Some(&pi.id)).await?;
    Ok(format!(
        "{}; {part}",
        describe(
            "payment_intent",
            pi,
            &["amount", "amount_received", "currency", "latest_charge"],
        )
    ))
}

/// charge.* — the payment state of the order part its PaymentIntent pays (refunds and disputes
/// of the charge have their own events and hooks).
pub async fn charge_changed(
    ctx: &WebhookCtx,
    account: Option<&str>,
    charge: &ObjectState,
) -> Result<String, HandlerError> {
    let part = refresh_part(ctx, account, charge.json["payment_intent"].as_str()).await?;
    Ok(format!(
        "{}; {part}",
        describe(
            "charge",
            charge,
            &[
                "amount",
                "amount_captured",
                "amount_refunded",
                "disputed",
                "payment_intent",
            ],
        )
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
        &ctx.settings.base_url,
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
        &ctx.settings.base_url,
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

/// payout.* — the seller is mailed when a payout is paid or failed (once per payout and
/// outcome, however often the events arrive). Platform payouts are not a seller's business.
pub async fn payout_changed(
    ctx: &WebhookCtx,
    account: Option<&str>,
    payout: &ObjectState,
) -> Result<String, HandlerError> {
    let text = describe("payout", payout, &["amount", "currency", "failure_code"]);
    let status = payout.status.as_deref().unwrap_or_default();
    if !matches!(status, "paid" | "failed") {
        return Ok(text);
    }
    let Some(account) = account else {
        return Ok(format!("{text}; a platform payout"));
    };
    let Some(seller) = crate::db::sellers::find_by_account(&ctx.db, account).await? else {
        return Ok(format!("{text}; no seller has this account"));
    };
    let Some(user) = crate::db::users::find_by_id(&ctx.db, &seller.user_id).await? else {
        return Ok(format!("{text}; the seller's user is gone"));
    };
    let Some(currency) = payout.json["currency"]
        .as_str()
        .and_then(|c| c.parse::<Currency>().ok())
    else {
        return Ok(format!("{text}; a currency we do not mail about"));
    };
    let amount = Money::new(payout.json["amount"].as_i64().unwrap_or(0), currency);
    let link = format!("{}/seller/money", ctx.settings.base_url);
    let mail = if status == "paid" {
        templates::payout_paid(
            &user.email,
            &templates::PayoutPaid {
                amount,
                arrival_date: payout.json["arrival_date"]
                    .as_i64()
                    .unwrap_or_else(crate::db::now_unix),
                link,
            },
        )
    } else {
        templates::payout_failed(
            &user.email,
            &templates::PayoutFailed {
                amount,
                failure_code: payout.json["failure_code"].as_str().map(str::to_owned),
                link,
            },
        )
    }
    .map_err(|e| HandlerError::Hook(format!("cannot render the payout mail: {e}")))?;
    let template = format!("payout_{status}");
    let key = templates::dedupe_key(&payout.id, &template, &user.email);
    let mut conn = ctx.db.acquire().await.map_err(crate::db::DbError::from)?;
    let queued = crate::db::jobs::enqueue(
        &mut conn,
        crate::jobs::SEND_EMAIL,
        &serde_json::to_string(&mail).map_err(|e| HandlerError::Hook(e.to_string()))?,
        Some(&key),
        crate::db::now_unix(),
        crate::db::now_unix(),
    )
    .await?;
    Ok(format!(
        "{text}; {template} mail {}",
        if queued.is_some() {
            "queued"
        } else {
            "already queued"
        }
    ))
}

/// checkout.session.completed — a card saved on the hosted page (setup mode). The return
/// route normally saves it first; this covers a buyer who closed the tab before coming back.
/// `save_card` stores a PaymentMethod once, so both paths together save it once.
pub async fn checkout_session_completed(
    ctx: &WebhookCtx,
    account: Option<&str>,
    session: &ObjectState,
) -> Result<String, HandlerError> {
    let text = describe(
        "checkout.session",
        session,
        &["mode", "customer", "setup_intent"],
    );
    if account.is_some() || session.json["mode"].as_str() != Some("setup") {
        return Ok(format!("{text}; not a card being saved"));
    }
    let setup = ctx.stripe.retrieve_setup_session(&session.id).await?;
    let (Some(customer), Some(pm), true) = (
        setup.customer_id.as_deref(),
        setup.payment_method_id.as_deref(),
        setup.complete,
    ) else {
        return Ok(format!("{text}; no card on it"));
    };
    let Some(buyer_id) = orders::buyer_of_platform_customer(&ctx.db, customer).await? else {
        return Ok(format!("{text}; no buyer has this customer"));
    };
    let buyer_id =
        UserId::try_from(buyer_id).map_err(|e| HandlerError::Malformed(e.to_string()))?;
    let Some(buyer) = crate::db::users::find_by_id(&ctx.db, &buyer_id).await? else {
        return Ok(format!("{text}; the buyer is gone"));
    };
    let card = checkout::save_card(&ctx.app_state(), &buyer, pm)
        .await
        .map_err(from_checkout)?;
    Ok(format!("{text}; card {card} saved for {buyer_id}"))
}
