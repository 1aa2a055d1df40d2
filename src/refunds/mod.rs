//! Refunds and disputes as the business runs them: an admin previews and issues a refund
//! (reserve in the database, then Stripe, then Stripe's figures recorded), webhook events keep
//! refunds and disputes in step with Stripe, and sellers answer disputes with evidence.
//! Routes (admin, seller) and webhook hooks call these; SQL stays in `db::refunds` /
//! `db::disputes`, Stripe in `stripe::refunds`.

pub mod disputes;

use crate::db::refunds::{
    self as store, Applied, Mails, PartMoney, RefundRow, ReserveError, StripeRefund,
};
use crate::db::{Db, DbError};
use crate::domain::orders::PartStatus;
use crate::domain::refunds::{RefundImpact, RefundReason, RefundStatus};
use crate::domain::{Money, MoneyError, UserId};
use crate::email::templates::{self, Audience, RefundFailed, RefundIssued};
use crate::stripe::payments::IdemKey;
use crate::stripe::refunds::{ChargeMoney, RefundRequest, RefundState};
use crate::stripe::{GatewayError, ObjectState, StripeGateway};

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// Not paid (yet), or paid by nothing we can refund.
    #[error("{0}")]
    NotRefundable(String),
    #[error("Enter an amount above zero.")]
    NotPositive,
    #[error("That is more than can be refunded: only {refundable} is left to refund.")]
    TooMuch { refundable: Money },
    /// Stripe could not be read for the preview.
    #[error("Stripe could not be reached: {0}")]
    Stripe(#[from] GatewayError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("mail: {0}")]
    Mail(#[from] askama::Error),
}

/// What the admin is shown before confirming.
#[derive(Debug, Clone)]
pub struct Preview {
    pub impact: RefundImpact,
    pub charge: ChargeMoney,
}

fn refundable_charge(part: &PartMoney) -> Result<(&str, &str), RefundError> {
    if part.status != PartStatus::Paid {
        return Err(RefundError::NotRefundable(format!(
            "Only paid orders can be refunded; this one is {}.",
            part.status.label().to_lowercase()
        )));
    }
    match (part.seller_account.as_deref(), part.charge_id.as_deref()) {
        (Some(account), Some(charge)) => Ok((account, charge)),
        _ => Err(RefundError::NotRefundable(
            "This order has no Stripe charge to refund.".into(),
        )),
    }
}

/// Who would get what from refunding `amount`, from the charge and fee as Stripe has them now.
pub async fn preview(
    stripe: &StripeGateway,
    part: &PartMoney,
    amount: Money,
    refund_fee: bool,
) -> Result<Preview, RefundError> {
    let (account, charge) = refundable_charge(part)?;
    if amount.minor <= 0 {
        return Err(RefundError::NotPositive);
    }
    if amount.minor > part.refundable().minor {
        return Err(RefundError::TooMuch {
            refundable: part.refundable(),
        });
    }
    let charge = stripe.charge_money(account, charge).await?;
    let impact = RefundImpact::of(charge.figures, amount, refund_fee)?;
    Ok(Preview { impact, charge })
}

/// How issuing ended.
#[derive(Debug)]
pub enum Issued {
    /// Stripe answered with a refund (pending or succeeded; or failed at once, then released).
    Answered(RefundRow),
    /// Stripe refused it outright; the amount is released.
    Refused { refund: RefundRow, message: String },
    /// No definite answer: the amount stays reserved until a webhook (or a retry) settles it.
    Unknown(RefundRow),
}

/// An admin's refund, as previewed.
pub struct RefundOrder<'a> {
    pub part: &'a PartMoney,
    pub admin_id: &'a UserId,
    pub admin_email: &'a str,
    pub amount: Money,
    pub reason: RefundReason,
    pub refund_fee: bool,
}

/// Issues a refund: preview from Stripe's current figures, reserve the amount (with the audit
/// entry), call Stripe with a key built from the refund's id, record what Stripe returned.
pub async fn issue(
    db: &Db,
    stripe: &StripeGateway,
    base_url: &str,
    order: &RefundOrder<'_>,
    now: i64,
) -> Result<Issued, RefundError> {
    let part = order.part;
    let preview = preview(stripe, part, order.amount, order.refund_fee).await?;
    let (account, charge) = refundable_charge(part)?;
    let id = store::reserve(
        db,
        &store::NewRefund {
            part,
            admin_id: order.admin_id,
            admin_email: order.admin_email,
            amount: order.amount,
            reason: order.reason,
            refund_application_fee: order.refund_fee,
            preview_fee_refund: preview.impact.platform_returns,
            fee_refunded_before: Money::new(
                preview.charge.figures.fee_refunded,
                order.amount.currency,
            ),
        },
        now,
    )
    .await
    .map_err(|e| match e {
        ReserveError::TooMuch { refundable } => RefundError::TooMuch { refundable },
        ReserveError::Db(e) => RefundError::Db(e),
    })?;
    let row = store::find(db, id.as_str())
        .await?
        .ok_or_else(|| DbError::Corrupt {
            column: "refunds.id",
            detail: format!("{id} vanished after it was written"),
        })?;
    let key = IdemKey::new(&[id.as_str(), "refund", "v1"]);
    let sent = stripe
        .create_refund(
            &RefundRequest {
                account,
                charge,
                amount_minor: order.amount.minor,
                reason: order.reason,
                refund_application_fee: order.refund_fee,
                refund_id: id.as_str(),
                part_id: &part.id,
            },
            &key,
        )
        .await;
    match sent {
        Ok(refund) => {
            // The fee's figure is the ApplicationFee's own, read back, not our arithmetic.
            let fee_after = match &preview.charge.application_fee {
                Some(fee) => match stripe.application_fee_amounts(fee).await {
                    Ok((_, refunded)) => Some(refunded),
                    Err(e) => {
                        tracing::warn!(refund = %id, error = %e, "application fee not read back");
                        None
                    }
                },
                None => Some(0),
            };
            let mut part_after = part.clone();
            part_after.refunded = part.refunded.checked_add(order.amount)?;
            record(db, base_url, &row, &part_after, &refund, fee_after, now).await?;
            let row = store::find(db, id.as_str()).await?.unwrap_or(row);
            Ok(Issued::Answered(row))
        }
        Err(e) if e.outcome_unknown() => {
            tracing::warn!(refund = %id, error = %e, "refund outcome unknown; amount stays reserved");
            Ok(Issued::Unknown(row))
        }
        Err(e) => {
            let message = e.to_string();
            store::mark_refused(db, &row, &message, now).await?;
            let refund = store::find(db, id.as_str()).await?.unwrap_or(row);
            Ok(Issued::Refused { refund, message })
        }
    }
}

/// Stores Stripe's refund on our row with the mails its state calls for.
async fn record(
    db: &Db,
    base_url: &str,
    row: &RefundRow,
    part: &PartMoney,
    refund: &RefundState,
    fee_after: Option<i64>,
    now: i64,
) -> Result<Applied, RefundError> {
    let status = RefundStatus::from_stripe(&refund.status);
    let amount = Money::new(refund.amount, row.amount.currency);
    let issued = issued_mails(base_url, part, amount, row.id.as_str())?;
    let failed = if status.releases_amount() {
        failed_mails(
            db,
            base_url,
            part,
            amount,
            refund.failure_reason.as_deref(),
            row.id.as_str(),
        )
        .await?
    } else {
        Vec::new()
    };
    Ok(store::apply_stripe(
        db,
        row,
        &StripeRefund {
            id: &refund.id,
            amount_minor: refund.amount,
            status,
            failure_reason: refund.failure_reason.as_deref(),
            fee_amount_refunded_minor: fee_after,
        },
        &issued,
        &failed,
        now,
    )
    .await?)
}

/// "Refund issued" to the buyer and the seller; `part.refunded` already counts this refund.
fn issued_mails(
    base_url: &str,
    part: &PartMoney,
    amount: Money,
    cause: &str,
) -> Result<Mails, RefundError> {
    let data = |link: String| RefundIssued {
        order_id: part.order_id.clone(),
        amount,
        refunded_total: part.refunded,
        order_total: part.captured,
        link,
    };
    let cause = format!("refund:{cause}");
    let buyer = templates::refund_issued(
        &part.buyer_email,
        &data(format!("{base_url}/orders/{}", part.order_id)),
        Audience::Buyer,
    )?;
    let seller = templates::refund_issued(
        &part.seller_email,
        &data(format!("{base_url}/seller/orders/{}", part.id)),
        Audience::Seller,
    )?;
    Ok(vec![
        (
            buyer,
            templates::dedupe_key(&cause, "refund_issued", &part.buyer_email),
        ),
        (
            seller,
            templates::dedupe_key(&cause, "refund_issued", &part.seller_email),
        ),
    ])
}

/// "Refund failed" to every admin.
async fn failed_mails(
    db: &Db,
    base_url: &str,
    part: &PartMoney,
    amount: Money,
    failure_reason: Option<&str>,
    cause: &str,
) -> Result<Mails, RefundError> {
    let data = RefundFailed {
        order_id: part.order_id.clone(),
        amount,
        failure_reason: failure_reason.map(str::to_owned),
        link: format!("{base_url}/admin/orders/{}", part.id),
    };
    let cause = format!("refund_failed:{cause}");
    let mut mails = Vec::new();
    for admin in store::admin_emails(db).await? {
        let mail = templates::refund_failed(&admin, &data)?;
        mails.push((mail, templates::dedupe_key(&cause, "refund_failed", &admin)));
    }
    Ok(mails)
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Refund(#[from] RefundError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A refund as Stripe has it now (refund.created / updated / failed): our row follows its
/// status; a failure releases the amount and alerts admins, once; a refund made in the
/// Dashboard is recorded. Returns what was done, in words.
pub async fn sync_refund(
    db: &Db,
    base_url: &str,
    account: Option<&str>,
    obj: &ObjectState,
    now: i64,
) -> Result<String, SyncError> {
    let refund = RefundState::from_json(&obj.json)
        .ok_or_else(|| SyncError::Malformed(format!("refund {} has no amount", obj.id)))?;
    let (Some(account), Some(charge)) = (account, refund.charge.as_deref()) else {
        return Ok("not a refund of a seller's charge".into());
    };
    let Some(part) = store::part_by_charge(db, account, charge).await? else {
        return Ok(format!("no order paid by {charge}"));
    };
    let status = RefundStatus::from_stripe(&refund.status);
    let stripe = StripeRefund {
        id: &refund.id,
        amount_minor: refund.amount,
        status,
        failure_reason: refund.failure_reason.as_deref(),
        fee_amount_refunded_minor: None,
    };
    let amount = Money::new(refund.amount, part.captured.currency);
    match store::find_for_stripe(db, &refund.id, refund.our_id.as_deref()).await? {
        Some(row) => {
            let applied = record(db, base_url, &row, &part, &refund, None, now).await?;
            Ok(format!(
                "{} ({}) → {}",
                row.id,
                status.as_str(),
                match applied {
                    Applied::Live => "recorded",
                    Applied::Released => "failed: amount released, admins alerted",
                    Applied::Unchanged => "already final",
                }
            ))
        }
        None => {
            let mut part_after = part.clone();
            part_after.refunded = part
                .refunded
                .checked_add(amount)
                .map_err(RefundError::from)?;
            let issued = if status.releases_amount() {
                Vec::new()
            } else {
                issued_mails(base_url, &part_after, amount, &refund.id)?
            };
            let id =
                store::record_external(db, &part, &stripe, refund.reason.as_deref(), &issued, now)
                    .await?;
            Ok(match id {
                Some(id) => format!("refund made in Stripe recorded as {id} on {}", part.id),
                None => "recorded by a concurrent run".into(),
            })
        }
    }
}

impl From<SyncError> for crate::webhooks::handlers::HandlerError {
    fn from(e: SyncError) -> Self {
        use crate::webhooks::handlers::HandlerError;
        match e {
            SyncError::Malformed(m) => HandlerError::Malformed(m),
            SyncError::Db(e) => HandlerError::Db(e),
            other => HandlerError::Hook(other.to_string()),
        }
    }
}
