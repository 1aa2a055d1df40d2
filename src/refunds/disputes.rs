//! Disputes: kept in step with Stripe from webhook events (the seller and admins are mailed
//! when one opens), early fraud warnings recorded, and the seller's evidence sent to Stripe
//! before the deadline.

use sha2::{Digest, Sha256};

use super::SyncError;
use crate::db::disputes::{self as store, DisputeRow, StripeDispute};
use crate::db::refunds::{self as refunds_store, Mails, PartMoney};
use crate::db::{Db, DbError};
use crate::domain::Money;
use crate::domain::refunds::{
    EVIDENCE_FIELD_MAX_CHARS, EVIDENCE_FIELDS, EVIDENCE_MAX_CHARS, dispute_is_open,
};
use crate::email::templates::{self, Audience, DisputeOpened};
use crate::stripe::payments::IdemKey;
use crate::stripe::refunds::DisputeState;
use crate::stripe::{GatewayError, ObjectState, StripeGateway};

fn stored<'a>(d: &'a DisputeState, part: &PartMoney) -> StripeDispute<'a> {
    StripeDispute {
        id: &d.id,
        amount: Money::new(d.amount, part.captured.currency),
        reason: &d.reason,
        status: &d.status,
        due_by: d.due_by,
        submitted: d.submission_count > 0,
        created: d.created,
    }
}

/// "Dispute opened" to the seller and every admin, with the evidence deadline.
async fn opened_mails(
    db: &Db,
    base_url: &str,
    part: &PartMoney,
    d: &DisputeState,
) -> Result<Mails, SyncError> {
    let data = |link: String| DisputeOpened {
        order_id: part.order_id.clone(),
        amount: Money::new(d.amount, part.captured.currency),
        reason: d.reason.clone(),
        evidence_due_by: d.due_by.unwrap_or(d.created),
        link,
    };
    let cause = format!("dispute:{}", d.id);
    let mail_err = |e: askama::Error| SyncError::Refund(e.into());
    let mut mails = vec![(
        templates::dispute_opened(
            &part.seller_email,
            &data(format!("{base_url}/seller/disputes")),
            Audience::Seller,
        )
        .map_err(mail_err)?,
        templates::dedupe_key(&cause, "dispute_opened", &part.seller_email),
    )];
    for admin in refunds_store::admin_emails(db).await? {
        mails.push((
            templates::dispute_opened(
                &admin,
                &data(format!("{base_url}/admin/orders/{}", part.id)),
                Audience::Admin,
            )
            .map_err(mail_err)?,
            templates::dedupe_key(&cause, "dispute_opened", &admin),
        ));
    }
    Ok(mails)
}

/// A dispute as Stripe has it now (charge.dispute.created / updated / closed).
pub async fn sync_dispute(
    db: &Db,
    base_url: &str,
    account: Option<&str>,
    obj: &ObjectState,
    now: i64,
) -> Result<String, SyncError> {
    let d = DisputeState::from_json(&obj.json)
        .ok_or_else(|| SyncError::Malformed(format!("dispute {} has no amount", obj.id)))?;
    let (Some(account), Some(charge)) = (account, d.charge.as_deref()) else {
        return Ok("not a dispute of a seller's charge".into());
    };
    let Some(part) = refunds_store::part_by_charge(db, account, charge).await? else {
        return Ok(format!("no order paid by {charge}"));
    };
    let mails = opened_mails(db, base_url, &part, &d).await?;
    let new = store::upsert(
        db,
        &part.id,
        &part.seller_id,
        &stored(&d, &part),
        &mails,
        now,
    )
    .await?;
    Ok(format!(
        "dispute {} on {} is {}{}",
        d.id,
        part.id,
        d.status,
        if new {
            "; seller and admins mailed"
        } else {
            ""
        }
    ))
}

/// radar.early_fraud_warning.created: listed for admins, who may refund before a dispute.
pub async fn record_warning(
    db: &Db,
    account: Option<&str>,
    obj: &ObjectState,
    now: i64,
) -> Result<String, SyncError> {
    let json = &obj.json;
    let charge = match &json["charge"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => o
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    let Some(account) = account.filter(|_| !charge.is_empty()) else {
        return Ok("not a warning about a seller's charge".into());
    };
    let Some(part) = refunds_store::part_by_charge(db, account, &charge).await? else {
        return Ok(format!("no order paid by {charge}"));
    };
    let new = store::record_warning(
        db,
        &obj.id,
        &part.id,
        json["fraud_type"].as_str().unwrap_or("misc"),
        json["actionable"].as_bool().unwrap_or(false),
        json["created"].as_i64().unwrap_or(now),
        now,
    )
    .await?;
    Ok(format!(
        "early fraud warning on {}{}",
        part.id,
        if new {
            " recorded"
        } else {
            " already recorded"
        }
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("This dispute is closed to evidence: {0}.")]
    Closed(String),
    #[error("The deadline for evidence passed on {0}.")]
    PastDue(String),
    #[error("Write at least one piece of evidence.")]
    Empty,
    #[error("{label} is too long (at most {max} characters).")]
    TooLong { label: &'static str, max: usize },
    #[error("Stripe did not take the evidence: {0}")]
    Stripe(#[from] GatewayError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The form's values, checked: the non-empty ones, trimmed.
pub fn check_evidence(
    values: &[(&'static str, String)],
) -> Result<Vec<(&'static str, String)>, EvidenceError> {
    let mut out = Vec::new();
    let mut total = 0;
    for (field, value) in values {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let label = EVIDENCE_FIELDS
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, l)| *l)
            .unwrap_or("A field");
        let n = value.chars().count();
        if n > EVIDENCE_FIELD_MAX_CHARS {
            return Err(EvidenceError::TooLong {
                label,
                max: EVIDENCE_FIELD_MAX_CHARS,
            });
        }
        total += n;
        out.push((*field, value.to_owned()));
    }
    if total > EVIDENCE_MAX_CHARS {
        return Err(EvidenceError::TooLong {
            label: "The evidence as a whole",
            max: EVIDENCE_MAX_CHARS,
        });
    }
    if out.is_empty() {
        return Err(EvidenceError::Empty);
    }
    Ok(out)
}

/// Sends the seller's evidence to Stripe and submits it, if the dispute is still open and its
/// deadline has not passed. The idempotency key is the dispute's id and the evidence's hash:
/// a double click sends once; corrected evidence is a new request.
pub async fn submit_evidence(
    db: &Db,
    stripe: &StripeGateway,
    dispute: &DisputeRow,
    evidence: &[(&'static str, String)],
    now: i64,
) -> Result<DisputeState, EvidenceError> {
    if !dispute_is_open(&dispute.status) {
        return Err(EvidenceError::Closed(
            crate::domain::refunds::dispute_status_words(&dispute.status).to_lowercase(),
        ));
    }
    if let Some(due) = dispute.evidence_due_by
        && now >= due
    {
        return Err(EvidenceError::PastDue(crate::domain::time::ymd_hm(due)));
    }
    let account = dispute
        .seller_account
        .as_deref()
        .ok_or_else(|| EvidenceError::Closed("the seller has no Stripe account".into()))?;
    let mut hash = Sha256::new();
    for (k, v) in evidence {
        hash.update(k.as_bytes());
        hash.update([0]);
        hash.update(v.as_bytes());
        hash.update([0]);
    }
    let digest = hex::encode(hash.finalize());
    let key = IdemKey::new(&[dispute.id.as_str(), "evidence", &digest[..16]]);
    let d = stripe
        .submit_dispute_evidence(account, &dispute.stripe_dispute_id, evidence, &key)
        .await?;
    store::upsert(
        db,
        &dispute.part_id,
        &dispute.seller_id,
        &StripeDispute {
            id: &d.id,
            amount: dispute.amount,
            reason: &d.reason,
            status: &d.status,
            due_by: d.due_by,
            submitted: d.submission_count > 0,
            created: d.created,
        },
        &Vec::new(),
        now,
    )
    .await?;
    Ok(d)
}
