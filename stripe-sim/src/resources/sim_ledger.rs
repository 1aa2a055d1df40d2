//! The balance effects of payouts and disputes, and the clock-driven work of advance-time,
//! on top of [`balance`]: every movement is a balance transaction on the account.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::events::{self, EventRequest};
use crate::resources::balance;
use crate::store::State;

/// One movement of money on an account.
pub struct Entry {
    /// Gross amount in minor units; negative for money leaving the balance.
    pub amount: i64,
    pub currency: String,
    /// Stripe's fee on top (positive = charged to the account, negative = given back).
    pub fee: i64,
    /// `type` of the balance transaction: payout, payout_failure, adjustment…
    pub kind: &'static str,
    pub reporting_category: &'static str,
    /// Id of the object that caused it (payout, dispute…).
    pub source: String,
    pub description: Option<String>,
    pub available_on: i64,
}

/// Records a balance transaction and returns its id.
pub fn record(st: &mut State, account: &str, e: Entry) -> String {
    let fees = if e.fee != 0 {
        vec![balance::FeeLine {
            amount: e.fee,
            kind: "stripe_fee",
            application: None,
            description: if e.reporting_category.starts_with("dispute") {
                "Dispute fee"
            } else {
                "Stripe processing fees"
            },
        }]
    } else {
        vec![]
    };
    balance::record_txn(
        st,
        account,
        balance::Txn {
            amount: e.amount,
            currency: e.currency,
            fees,
            kind: e.kind,
            reporting_category: e.reporting_category,
            source: e.source,
            description: e.description,
            available_on: e.available_on,
        },
    )
}

/// Records a balance transaction and returns the whole object (disputes embed them).
pub fn record_expanded(st: &mut State, account: &str, e: Entry) -> Value {
    let id = record(st, account, e);
    st.get(&id).map(|o| o.json.clone()).unwrap_or(Value::Null)
}

pub fn available(st: &State, account: &str, currency: &str) -> i64 {
    balance::balances(st, account)
        .get(currency)
        .map(|b| b.0)
        .unwrap_or(0)
}

pub fn balance_json(st: &State, account: &str) -> Value {
    balance::balance_json(st, account)
}

/// Available balances of every account, to find what advance-time made available.
pub fn all_available(st: &State) -> BTreeMap<String, BTreeMap<String, i64>> {
    st.owners_of(balance::TXN_KIND)
        .into_iter()
        .map(|a| {
            let b = balance::balances(st, &a)
                .into_iter()
                .map(|(c, (avail, _))| (c, avail))
                .collect();
            (a, b)
        })
        .collect()
}

/// After the clock moved: marks newly available transactions `available` and emits
/// `balance.available` on every account whose available balance grew. Returns how many.
pub fn announce_available(
    st: &mut State,
    before: &BTreeMap<String, BTreeMap<String, i64>>,
    request: &EventRequest,
) -> usize {
    let now = st.now();
    let now_available: Vec<String> = st
        .scan(balance::TXN_KIND)
        .filter(|o| {
            o.json["status"] == "pending"
                && o.json["available_on"].as_i64().is_some_and(|a| a <= now)
        })
        .map(|o| o.id.clone())
        .collect();
    for id in now_available {
        if let Some(o) = st.get_mut(&id) {
            o.json["status"] = json!("available");
        }
    }
    let after = all_available(st);
    let mut announced = 0;
    for (account, currencies) in &after {
        let grew = currencies.iter().any(|(c, amount)| {
            let was = before
                .get(account)
                .and_then(|b| b.get(c))
                .copied()
                .unwrap_or(0);
            *amount > was
        });
        if grew {
            let balance = balance::balance_json(st, account);
            events::emit(
                st,
                account,
                "balance.available",
                &balance,
                None,
                request.clone(),
            );
            announced += 1;
        }
    }
    announced
}

/// Seven days after authorization an uncaptured manual-capture PaymentIntent is canceled, as
/// card networks release the hold. Returns how many expired.
pub fn expire_authorizations(st: &mut State, request: &EventRequest) -> usize {
    const AUTHORIZATION_SECS: i64 = 7 * 24 * 3600;
    let now = st.now();
    let due: Vec<(String, String)> = st
        .scan("payment_intent")
        .filter(|o| {
            o.json["status"] == "requires_capture"
                && o.json["created"]
                    .as_i64()
                    .is_some_and(|c| c + AUTHORIZATION_SECS <= now)
        })
        .map(|o| (o.owner.clone(), o.id.clone()))
        .collect();
    let mut expired = 0;
    for (account, id) in due {
        if crate::resources::payment_intents::expire_authorization(
            st,
            &account,
            &id,
            request.clone(),
        )
        .is_ok()
        {
            expired += 1;
        }
    }
    expired
}
