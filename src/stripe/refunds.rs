//! Refunds of direct charges (on the seller's connected account, with the platform's fee
//! optionally given back), the figures a refund preview needs, and the seller's dispute
//! evidence. Untyped requests through the same client ([`super::raw`]); the fields read here
//! are the ones the refund and dispute pages show.

use std::time::Duration;

use serde_json::Value;

use super::raw::{Params, params};
use super::{GatewayError, StripeGateway};
use crate::domain::refunds::{ChargeFigures, RefundReason};
use crate::stripe::payments::IdemKey;

/// How many times a call with an unknown outcome is sent in all (same key each time).
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// A charge's money and its application fee, as Stripe has them now.
#[derive(Debug, Clone)]
pub struct ChargeMoney {
    pub figures: ChargeFigures,
    pub currency: String,
    /// `fee_…` on the platform, when the charge carried an application fee.
    pub application_fee: Option<String>,
}

/// A Refund as Stripe returned it.
#[derive(Debug, Clone)]
pub struct RefundState {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub reason: Option<String>,
    pub failure_reason: Option<String>,
    pub charge: Option<String>,
    /// Our `rfd_…` id, when the refund was issued by the marketplace.
    pub our_id: Option<String>,
}

impl RefundState {
    pub fn from_json(v: &Value) -> Option<RefundState> {
        Some(RefundState {
            id: v["id"].as_str()?.to_owned(),
            amount: v["amount"].as_i64()?,
            currency: v["currency"].as_str().unwrap_or_default().to_owned(),
            status: v["status"].as_str().unwrap_or("pending").to_owned(),
            reason: v["reason"].as_str().map(str::to_owned),
            failure_reason: v["failure_reason"].as_str().map(str::to_owned),
            charge: id_of(&v["charge"]),
            our_id: v["metadata"]["refund_id"].as_str().map(str::to_owned),
        })
    }
}

/// What a refund asks for.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    /// The seller's connected account (direct charges live there).
    pub account: &'a str,
    pub charge: &'a str,
    pub amount_minor: i64,
    pub reason: RefundReason,
    pub refund_application_fee: bool,
    /// Our refund id and part id, kept in the Refund's metadata.
    pub refund_id: &'a str,
    pub part_id: &'a str,
}

/// A dispute as Stripe has it now.
#[derive(Debug, Clone)]
pub struct DisputeState {
    pub id: String,
    pub charge: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    pub status: String,
    pub due_by: Option<i64>,
    pub submission_count: i64,
    pub created: i64,
    /// The evidence's text fields that hold a value.
    pub evidence: Vec<(String, String)>,
}

impl DisputeState {
    pub fn from_json(v: &Value) -> Option<DisputeState> {
        let evidence = v["evidence"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Some(DisputeState {
            id: v["id"].as_str()?.to_owned(),
            charge: id_of(&v["charge"]),
            amount: v["amount"].as_i64()?,
            currency: v["currency"].as_str().unwrap_or_default().to_owned(),
            reason: v["reason"].as_str().unwrap_or("general").to_owned(),
            status: v["status"].as_str().unwrap_or("needs_response").to_owned(),
            due_by: v["evidence_details"]["due_by"].as_i64(),
            submission_count: v["evidence_details"]["submission_count"]
                .as_i64()
                .unwrap_or(0),
            created: v["created"].as_i64().unwrap_or(0),
            evidence,
        })
    }
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id")?.as_str().map(str::to_owned),
        _ => None,
    }
}

fn unreadable(what: &str) -> GatewayError {
    GatewayError::Unavailable(format!("unreadable {what}"))
}

impl StripeGateway {
    /// Sends a POST until it gives a definite answer; the same key each time, so Stripe applies
    /// it once or replays its first answer.
    async fn post_retrying(
        &self,
        path: &str,
        form: &Params,
        account: Option<&str>,
        key: &IdemKey,
    ) -> Result<Value, GatewayError> {
        let mut delay = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.raw_post(path, form, account, key.as_str()).await {
                Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                    tracing::warn!(path, attempt, error = %e, "Stripe call retried with the same key");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The charge's amounts and its application fee's, for a refund preview.
    pub async fn charge_money(
        &self,
        account: &str,
        charge: &str,
    ) -> Result<ChargeMoney, GatewayError> {
        let ch = self
            .raw_get(&format!("/charges/{charge}"), &Params::new(), Some(account))
            .await?;
        let application_fee = id_of(&ch["application_fee"]);
        let (fee, fee_refunded) = match &application_fee {
            Some(fee_id) => self.application_fee_amounts(fee_id).await?,
            None => (0, 0),
        };
        Ok(ChargeMoney {
            figures: ChargeFigures {
                amount: ch["amount"].as_i64().ok_or_else(|| unreadable("charge"))?,
                amount_captured: ch["amount_captured"].as_i64().unwrap_or(0),
                amount_refunded: ch["amount_refunded"].as_i64().unwrap_or(0),
                fee,
                fee_refunded,
            },
            currency: ch["currency"].as_str().unwrap_or_default().to_owned(),
            application_fee,
        })
    }

    /// An application fee's `amount` and `amount_refunded` (fees live on the platform).
    pub async fn application_fee_amounts(&self, fee: &str) -> Result<(i64, i64), GatewayError> {
        let v = self
            .raw_get(&format!("/application_fees/{fee}"), &Params::new(), None)
            .await?;
        Ok((
            v["amount"]
                .as_i64()
                .ok_or_else(|| unreadable("application fee"))?,
            v["amount_refunded"].as_i64().unwrap_or(0),
        ))
    }

    /// Refunds part or all of a direct charge on the seller's account. With
    /// `refund_application_fee` Stripe gives back the platform's fee in proportion.
    pub async fn create_refund(
        &self,
        req: &RefundRequest<'_>,
        key: &IdemKey,
    ) -> Result<RefundState, GatewayError> {
        let amount = req.amount_minor.to_string();
        let form = params([
            ("charge", req.charge),
            ("amount", &amount),
            ("reason", req.reason.as_str()),
            (
                "refund_application_fee",
                if req.refund_application_fee {
                    "true"
                } else {
                    "false"
                },
            ),
            ("metadata[refund_id]", req.refund_id),
            ("metadata[part_id]", req.part_id),
        ]);
        let v = self
            .post_retrying("/refunds", &form, Some(req.account), key)
            .await?;
        RefundState::from_json(&v).ok_or_else(|| unreadable("refund"))
    }

    pub async fn retrieve_dispute(
        &self,
        account: &str,
        dispute: &str,
    ) -> Result<DisputeState, GatewayError> {
        let v = self
            .raw_get(
                &format!("/disputes/{dispute}"),
                &Params::new(),
                Some(account),
            )
            .await?;
        DisputeState::from_json(&v).ok_or_else(|| unreadable("dispute"))
    }

    /// Sends the seller's evidence and submits it to the bank (`submit=true`): after this the
    /// evidence can no longer be changed.
    pub async fn submit_dispute_evidence(
        &self,
        account: &str,
        dispute: &str,
        evidence: &[(&str, String)],
        key: &IdemKey,
    ) -> Result<DisputeState, GatewayError> {
        let mut form: Params = evidence
            .iter()
            .map(|(k, v)| (format!("evidence[{k}]"), v.clone()))
            .collect();
        form.insert("submit".into(), "true".into());
        let v = self
            .post_retrying(&format!("/disputes/{dispute}"), &form, Some(account), key)
            .await?;
        DisputeState::from_json(&v).ok_or_else(|| unreadable("dispute"))
    }
}
