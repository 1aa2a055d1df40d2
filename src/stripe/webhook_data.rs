//! What the webhook worker, the ledger and reconciliation read from Stripe: the current state of
//! an event's object (handlers trust that, not the event's snapshot), the balance transactions
//! behind a money movement, and pages of `/v1/events`.

use serde_json::Value;

use super::raw::{Params, params};
use super::{GatewayError, StripeGateway};

/// One balance transaction: the unit the money ledger records and compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceTxn {
    pub id: String,
    /// `charge`, `refund`, `application_fee`, `application_fee_refund`, `adjustment`, `payout`…
    pub kind: String,
    /// The object that moved the money (`ch_`, `re_`, `fee_`, `fr_`, `dp_`, `po_`…).
    pub source: String,
    pub amount: i64,
    pub fee: i64,
    pub net: i64,
    pub currency: String,
    pub created: i64,
}

impl BalanceTxn {
    fn from_json(v: &Value) -> Option<BalanceTxn> {
        Some(BalanceTxn {
            id: v["id"].as_str()?.to_owned(),
            kind: v["type"].as_str().unwrap_or_default().to_owned(),
            source: match &v["source"] {
                Value::String(s) => s.clone(),
                Value::Object(o) => o.get("id")?.as_str()?.to_owned(),
                _ => String::new(),
            },
            amount: v["amount"].as_i64()?,
            fee: v["fee"].as_i64().unwrap_or(0),
            net: v["net"].as_i64().unwrap_or(0),
            currency: v["currency"].as_str()?.to_owned(),
            created: v["created"].as_i64().unwrap_or(0),
        })
    }
}

/// The current state of an event's object, as Stripe has it now.
#[derive(Clone, Debug)]
pub struct ObjectState {
    pub id: String,
    pub status: Option<String>,
    pub json: Value,
}

/// One page of events, newest first, each with its JSON text as Stripe sent it.
#[derive(Clone, Debug)]
pub struct EventPage {
    pub events: Vec<(Value, String)>,
    pub has_more: bool,
}

/// Where an object type is read back from.
fn object_path(object_type: &str, id: &str) -> Option<String> {
    let base = match object_type {
        "account" => "accounts",
        "payment_intent" => "payment_intents",
        "charge" => "charges",
        "refund" => "refunds",
        "dispute" => "disputes",
        "payout" => "payouts",
        "application_fee" => "application_fees",
        "radar.early_fraud_warning" => "radar/early_fraud_warnings",
        "checkout.session" => "checkout/sessions",
        "setup_intent" => "setup_intents",
        _ => return None,
    };
    Some(format!("/{base}/{id}"))
}

impl StripeGateway {
    /// Reads `object_type` `id` as it is now, on `account` (None = the platform). `Ok(None)`
    /// for object types the gateway does not read back.
    pub async fn current_object(
        &self,
        account: Option<&str>,
        object_type: &str,
        id: &str,
    ) -> Result<Option<ObjectState>, GatewayError> {
        let Some(path) = object_path(object_type, id) else {
            return Ok(None);
        };
        // Accounts are read from the platform, everything else on the account it lives on.
        let on = if object_type == "account" {
            None
        } else {
            account
        };
        let json = self.raw_get(&path, &Params::new(), on).await?;
        Ok(Some(ObjectState {
            id: id.to_owned(),
            status: json["status"].as_str().map(str::to_owned),
            json,
        }))
    }

    /// The refunds of a charge (ids), on `account`.
    pub async fn refund_ids_of_charge(
        &self,
        account: Option<&str>,
        charge: &str,
    ) -> Result<Vec<String>, GatewayError> {
        let page = self
            .raw_get(
                "/refunds",
                &params([("charge", charge), ("limit", "100")]),
                account,
            )
            .await?;
        Ok(ids_of(&page))
    }

    /// The fee refunds of an application fee (ids), on the platform.
    pub async fn fee_refund_ids(&self, fee: &str) -> Result<Vec<String>, GatewayError> {
        let page = self
            .raw_get(
                &format!("/application_fees/{fee}/refunds"),
                &params([("limit", "100")]),
                None,
            )
            .await?;
        Ok(ids_of(&page))
    }

    /// The balance transactions that `source` (a charge, refund, fee, fee refund, dispute,
    /// payout…) caused on `account`.
    pub async fn balance_transactions_of(
        &self,
        account: Option<&str>,
        source: &str,
    ) -> Result<Vec<BalanceTxn>, GatewayError> {
        let page = self
            .raw_get(
                "/balance_transactions",
                &params([("source", source), ("limit", "100")]),
                account,
            )
            .await?;
        Ok(txns_of(&page))
    }

    /// Every balance transaction of `account`, newest first.
    pub async fn all_balance_transactions(
        &self,
        account: Option<&str>,
    ) -> Result<Vec<BalanceTxn>, GatewayError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = params([("limit", "100")]);
            if let Some(after) = &after {
                query.insert("starting_after".into(), after.clone());
            }
            let page = self
                .raw_get("/balance_transactions", &query, account)
                .await?;
            let txns = txns_of(&page);
            after = txns.last().map(|t| t.id.clone());
            all.extend(txns);
            if !page["has_more"].as_bool().unwrap_or(false) || after.is_none() {
                return Ok(all);
            }
        }
    }

    /// A page of `account`'s events created at or after `since`, older than `starting_after`.
    pub async fn events_since(
        &self,
        account: Option<&str>,
        since: i64,
        starting_after: Option<&str>,
    ) -> Result<EventPage, GatewayError> {
        let since = since.to_string();
        let mut query = params([("limit", "100"), ("created[gte]", &since)]);
        if let Some(after) = starting_after {
            query.insert("starting_after".into(), after.to_owned());
        }
        let page = self.raw_get("/events", &query, account).await?;
        let events = page["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| (e.clone(), e.to_string()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        Ok(EventPage {
            events,
            has_more: page["has_more"].as_bool().unwrap_or(false),
        })
    }
}

fn ids_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn txns_of(page: &Value) -> Vec<BalanceTxn> {
    page["data"]
        .as_array()
        .map(|a| a.iter().filter_map(BalanceTxn::from_json).collect())
        .unwrap_or_default()
}
