//! Balance and balance transactions. An account's balance is the sum of the `net` of its
//! balance transactions, available once the emulator clock passes their `available_on`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::ApiResult;
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::store::State;

pub const TXN_KIND: &str = "balance_transaction";

/// Card funds become available two days after the charge, as for a new US account.
pub const PENDING_SECS: i64 = 2 * 24 * 3600;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/v1/balance", retrieve),
        Route::get("/v1/balance_transactions", list_txns),
        Route::get("/v1/balance_transactions/{id}", retrieve_txn),
    ]
}

/// Stripe's US card pricing: 2.9% + 30¢, the percentage rounded half up to the cent.
pub fn stripe_fee(amount: i64) -> i64 {
    (amount * 29 + 500) / 1000 + 30
}

/// One fee line of a balance transaction.
pub struct FeeLine {
    pub amount: i64,
    /// `stripe_fee` or `application_fee`.
    pub kind: &'static str,
    pub application: Option<String>,
    pub description: &'static str,
}

pub struct Txn {
    pub amount: i64,
    pub currency: String,
    pub fees: Vec<FeeLine>,
    /// `type`: charge, payment, refund, application_fee, application_fee_refund, payment_failure_refund…
    pub kind: &'static str,
    pub reporting_category: &'static str,
    pub source: String,
    pub description: Option<String>,
    pub available_on: i64,
}

/// Records a balance transaction on `account`; returns its id.
pub fn record_txn(st: &mut State, account: &str, t: Txn) -> String {
    let now = st.now();
    let fee: i64 = t.fees.iter().map(|f| f.amount).sum();
    let fee_details: Vec<Value> = t
        .fees
        .iter()
        .map(|f| {
            json!({
                "amount": f.amount,
                "application": f.application,
                "currency": t.currency,
                "description": f.description,
                "type": f.kind,
            })
        })
        .collect();
    let id = ids::new_id("txn");
    let json = json!({
        "id": id,
        "object": TXN_KIND,
        "amount": t.amount,
        "available_on": t.available_on,
        "balance_type": "payments",
        "created": now,
        "currency": t.currency,
        "description": t.description,
        "exchange_rate": null,
        "fee": fee,
        "fee_details": fee_details,
        "net": t.amount - fee,
        "reporting_category": t.reporting_category,
        "source": t.source,
        "status": if t.available_on <= now { "available" } else { "pending" },
        "type": t.kind,
    });
    st.insert(account, json, Map::new());
    id
}

/// Running sums of one account's balance transactions, so that a balance reads only the
/// transactions recorded since it was last asked, never the whole history. Transactions are
/// only ever appended to an account's index and their figures never change.
#[derive(Debug, Default)]
pub struct Sums {
    /// How many of the account's transactions are counted.
    seen: usize,
    currencies: BTreeMap<String, CurrencySums>,
}

#[derive(Debug, Default)]
struct CurrencySums {
    available: i64,
    pending_total: i64,
    /// `available_on` → net of the transactions not yet available.
    pending: BTreeMap<i64, i64>,
}

/// (available, pending) per currency at the emulator's current time.
pub fn balances(st: &State, account: &str) -> BTreeMap<String, (i64, i64)> {
    let now = st.now();
    let ids = st.ids_of(account, TXN_KIND);
    let mut all = st.balance_sums.borrow_mut();
    let sums = all.entry(account.to_string()).or_default();
    if ids.len() < sums.seen {
        // Something was removed (nothing removes transactions today): count again.
        *sums = Sums::default();
    }
    for id in &ids[sums.seen..] {
        // `peek`, not `get`: counting must not keep transactions parsed until the request ends.
        let Some(t) = st.peek(id) else {
            continue;
        };
        let currency = t.json["currency"].as_str().unwrap_or("usd").to_string();
        let net = t.json["net"].as_i64().unwrap_or(0);
        let available_on = t.json["available_on"].as_i64().unwrap_or(0);
        let c = sums.currencies.entry(currency).or_default();
        *c.pending.entry(available_on).or_default() += net;
        c.pending_total += net;
    }
    sums.seen = ids.len();
    // What the clock has reached becomes available (the emulator clock never goes back).
    for c in sums.currencies.values_mut() {
        let later = c.pending.split_off(&now.saturating_add(1));
        let matured: i64 = c.pending.values().sum();
        c.available += matured;
        c.pending_total -= matured;
        c.pending = later;
    }
    sums.currencies
        .iter()
        .map(|(currency, c)| (currency.clone(), (c.available, c.pending_total)))
        .collect()
}

pub fn balance_json(st: &State, account: &str) -> Value {
    let b = balances(st, account);
    let mut available = Vec::new();
    let mut pending = Vec::new();
    for (currency, (a, p)) in &b {
        available.push(json!({"amount": a, "currency": currency, "source_types": {"card": a}}));
        pending.push(json!({"amount": p, "currency": currency, "source_types": {"card": p}}));
    }
    if available.is_empty() {
        available.push(json!({"amount": 0, "currency": "usd", "source_types": {"card": 0}}));
        pending.push(json!({"amount": 0, "currency": "usd", "source_types": {"card": 0}}));
    }
    json!({
        "object": "balance",
        "available": available,
        "connect_reserved": [],
        "livemode": false,
        "pending": pending,
    })
}

/// A pending transaction whose `available_on` has passed is shown as available.
fn with_current_status(mut txn: Value, now: i64) -> Value {
    if txn["status"] == "pending" && txn["available_on"].as_i64().is_some_and(|a| a <= now) {
        txn["status"] = json!("available");
    }
    txn
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    Ok(balance_json(ctx.st, &ctx.account))
}

fn retrieve_txn(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let txn = ctx.get(TXN_KIND, &id, "id")?.json.clone();
    Ok(with_current_status(txn, ctx.now))
}

fn list_txns(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["type", "source", "currency", "payout"]);
    p.known(&allowed)?;
    let account = ctx.account.clone();
    let kind = p.str_nonempty("type")?;
    let source = p.str_nonempty("source")?;
    let currency = p.str_nonempty("currency")?.map(|c| c.to_lowercase());
    let by = source.as_deref().map(|value| list::ByRef {
        field: "source",
        value,
    });
    list::list_objects_by_ref(
        ctx,
        &account,
        p,
        TXN_KIND,
        by,
        "/v1/balance_transactions",
        |o| {
            kind.as_ref().is_none_or(|k| o.json["type"] == k.as_str())
                && source
                    .as_ref()
                    .is_none_or(|s| o.json["source"] == s.as_str())
                && currency
                    .as_ref()
                    .is_none_or(|c| o.json["currency"] == c.as_str())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_is_2_9_percent_plus_30() {
        assert_eq!(stripe_fee(1000), 59);
        assert_eq!(stripe_fee(1099), 62); // 31.871 → 32
        assert_eq!(stripe_fee(50), 31); // 1.45 → 1
        assert_eq!(stripe_fee(0), 30);
    }
}
