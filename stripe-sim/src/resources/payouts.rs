//! Payouts: money leaving an account's available balance for its bank account.
//!
//! A payout is `pending` when created, debits the available balance at once, and becomes
//! `paid` when the emulator clock passes its `arrival_date` (see the advance-time helper) or
//! `failed` through the test helper, which returns the money with a `payout_failure` balance
//! transaction, as Stripe does.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, EventRequest};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::resources::sim_ledger;
use crate::store::State;

pub const KIND: &str = "payout";
const DAY: i64 = 24 * 3600;
/// Standard payouts arrive two business days later in test mode; we ignore weekends.
const STANDARD_DELAY_SECS: i64 = 2 * DAY;

/// Failure codes Stripe documents for payouts, with its messages.
pub const FAILURE_CODES: &[(&str, &str)] = &[
    ("account_closed", "The bank account has been closed."),
    ("account_frozen", "The bank account has been frozen."),
    (
        "bank_account_restricted",
        "The bank account has restrictions on either the type, or the number, of payouts allowed.",
    ),
    (
        "bank_ownership_changed",
        "The destination bank account is no longer valid because its branch has changed ownership.",
    ),
    (
        "could_not_process",
        "The bank could not process this payout.",
    ),
    (
        "debit_not_authorized",
        "Debit transactions are not approved on the bank account.",
    ),
    ("declined", "The bank has declined this transfer."),
    (
        "incorrect_account_holder_name",
        "Your bank notified us that the bank account holder name on file is incorrect.",
    ),
    (
        "insufficient_funds",
        "Your Stripe account has insufficient funds to cover the payout.",
    ),
    (
        "invalid_account_number",
        "The routing number seems correct, but the account number is invalid.",
    ),
    (
        "invalid_currency",
        "The bank was unable to process this payout because of its currency.",
    ),
    (
        "no_account",
        "The bank account details on file are probably incorrect. No bank account could be located with those details.",
    ),
    (
        "unsupported_card",
        "The bank no longer supports payouts to this card.",
    ),
];

pub fn failure_message(code: &str) -> Option<&'static str> {
    FAILURE_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, m)| *m)
}

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/payouts", create),
        Route::get("/v1/payouts", list),
        Route::get("/v1/payouts/{id}", retrieve),
        Route::post("/v1/payouts/{id}", update),
        Route::post("/v1/payouts/{id}/cancel", cancel),
    ]
}

fn request_of(ctx: &Ctx) -> EventRequest {
    EventRequest {
        id: Some(ctx.request_id.clone()),
        idempotency_key: ctx.idempotency_key.clone(),
    }
}

/// Validated input of a new payout.
pub struct NewPayout {
    pub amount: i64,
    pub currency: String,
    pub description: Option<String>,
    pub statement_descriptor: Option<String>,
    pub method: String,
    pub metadata: Map<String, Value>,
}

pub fn parse_new(p: &Params, extra: &[&str]) -> ApiResult<NewPayout> {
    let mut allowed = vec![
        "amount",
        "currency",
        "description",
        "metadata",
        "method",
        "statement_descriptor",
        "destination",
        "source_type",
    ];
    allowed.extend_from_slice(extra);
    p.known(&allowed)?;
    let amount = p
        .amount("amount")?
        .ok_or_else(|| ApiError::missing("amount"))?;
    if amount == 0 {
        return Err(ApiError::invalid("Amount must be at least 1.")
            .with_code("amount_too_small")
            .with_param("amount"));
    }
    let currency = p.req_str("currency")?.to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(ApiError::invalid(format!("Invalid currency: {currency}"))
            .with_code("parameter_invalid_string")
            .with_param("currency"));
    }
    p.enum_str("source_type", &["card", "bank_account", "fpx"])?;
    let method = p
        .enum_str("method", &["standard", "instant"])?
        .unwrap_or_else(|| "standard".into());
    Ok(NewPayout {
        amount,
        currency,
        description: p.str_nonempty("description")?,
        statement_descriptor: p.str_nonempty("statement_descriptor")?,
        method,
        metadata: p.metadata()?,
    })
}

/// Creates a pending payout on `account`, debiting its available balance.
pub fn create_payout(
    st: &mut State,
    account: &str,
    new: NewPayout,
    automatic: bool,
    request: EventRequest,
) -> ApiResult<Value> {
    let now = st.now();
    let payouts_enabled = st
        .get(account)
        .filter(|a| a.kind == "account")
        .is_none_or(|a| a.json["payouts_enabled"] != false);
    if !payouts_enabled {
        return Err(ApiError::invalid(
            "Payouts are not enabled for this account: it still has requirements to fulfil or has been disabled.",
        )
        .with_code("payouts_not_allowed"));
    }
    let available = sim_ledger::available(st, account, &new.currency);
    if available < new.amount {
        return Err(ApiError::invalid(
            "You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance).",
        )
        .with_code("balance_insufficient")
        .with_param("amount"));
    }
    let id = ids::new_id("po");
    let arrival = if new.method == "instant" {
        now
    } else {
        now + STANDARD_DELAY_SECS
    };
    let txn = sim_ledger::record(
        st,
        account,
        sim_ledger::Entry {
            amount: -new.amount,
            currency: new.currency.clone(),
            fee: 0,
            kind: "payout",
            reporting_category: "payout",
            source: id.clone(),
            description: new
                .description
                .clone()
                .or_else(|| Some("STRIPE PAYOUT".into())),
            available_on: now,
        },
    );
    let json = json!({
        "id": id,
        "object": KIND,
        "amount": new.amount,
        "application_fee": null,
        "application_fee_amount": null,
        "arrival_date": arrival,
        "automatic": automatic,
        "balance_transaction": txn,
        "created": now,
        "currency": new.currency,
        "description": new.description.unwrap_or_else(|| "STRIPE PAYOUT".into()),
        "destination": external_account_id(account),
        "failure_balance_transaction": null,
        "failure_code": null,
        "failure_message": null,
        "livemode": false,
        "metadata": new.metadata,
        "method": new.method,
        "original_payout": null,
        "payout_method": null,
        "reconciliation_status": "not_applicable",
        "reversed_by": null,
        "source_type": "card",
        "statement_descriptor": new.statement_descriptor,
        "status": "pending",
        "trace_id": {"status": "pending", "value": null},
        "type": "bank_account",
    });
    let out = st.insert(account, json, Map::new()).json.clone();
    events::emit(st, account, "payout.created", &out, None, request);
    Ok(out)
}

/// The simulated bank account every account pays out to (stable per account).
fn external_account_id(account: &str) -> String {
    format!("ba_{}", account.trim_start_matches("acct_"))
}

fn update_status(
    st: &mut State,
    account: &str,
    id: &str,
    apply: impl FnOnce(&mut Value),
) -> Option<(Value, Value)> {
    let obj = st.find_mut(account, KIND, id)?;
    let old = obj.json.clone();
    apply(&mut obj.json);
    Some((old, obj.json.clone()))
}

/// Marks a pending payout paid (arrival reached). Emits payout.updated and payout.paid.
pub fn mark_paid(
    st: &mut State,
    account: &str,
    id: &str,
    request: EventRequest,
) -> ApiResult<Value> {
    let status = st.find(account, KIND, id).map(|o| o.json["status"].clone());
    match status.as_ref().and_then(Value::as_str) {
        None => return Err(ApiError::no_such(KIND, id, "id")),
        Some("pending") | Some("in_transit") => {}
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Payout {id} cannot be paid: its status is {other}."
            )));
        }
    }
    let (old, new) = update_status(st, account, id, |j| {
        j["status"] = json!("paid");
        j["reconciliation_status"] = json!("completed");
        let trace: String = id.chars().skip(3).take(8).collect();
        j["trace_id"] = json!({"status": "supported", "value": format!("SIMTRACE{trace}")});
    })
    .ok_or_else(|| ApiError::no_such(KIND, id, "id"))?;
    events::emit(
        st,
        account,
        "payout.updated",
        &new,
        Some(events::diff(&old, &new)),
        request.clone(),
    );
    events::emit(st, account, "payout.paid", &new, None, request);
    Ok(new)
}

/// Fails a pending (or paid, as banks may return a payout later) payout: the money comes back
/// with a `payout_failure` balance transaction. Emits payout.updated and payout.failed.
pub fn mark_failed(
    st: &mut State,
    account: &str,
    id: &str,
    failure_code: &str,
    request: EventRequest,
) -> ApiResult<Value> {
    let message = failure_message(failure_code).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid failure_code: must be one of {}",
            FAILURE_CODES
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .with_param("failure_code")
    })?;
    let obj = st
        .find(account, KIND, id)
        .ok_or_else(|| ApiError::no_such(KIND, id, "id"))?;
    let status = obj.json["status"].as_str().unwrap_or_default().to_string();
    if !matches!(status.as_str(), "pending" | "in_transit" | "paid") {
        return Err(ApiError::invalid(format!(
            "Payout {id} cannot fail: its status is {status}."
        )));
    }
    let amount = obj.json["amount"].as_i64().unwrap_or(0);
    let currency = obj.json["currency"].as_str().unwrap_or("usd").to_string();
    let now = st.now();
    let txn = sim_ledger::record(
        st,
        account,
        sim_ledger::Entry {
            amount,
            currency,
            fee: 0,
            kind: "payout_failure",
            reporting_category: "payout_reversal",
            source: id.to_string(),
            description: Some(format!("Payout failure ({failure_code})")),
            available_on: now,
        },
    );
    let (old, new) = update_status(st, account, id, |j| {
        j["status"] = json!("failed");
        j["failure_code"] = json!(failure_code);
        j["failure_message"] = json!(message);
        j["failure_balance_transaction"] = json!(txn);
        j["reconciliation_status"] = json!("completed");
    })
    .ok_or_else(|| ApiError::no_such(KIND, id, "id"))?;
    events::emit(
        st,
        account,
        "payout.updated",
        &new,
        Some(events::diff(&old, &new)),
        request.clone(),
    );
    events::emit(st, account, "payout.failed", &new, None, request);
    Ok(new)
}

/// Pays every pending payout whose arrival date the (possibly advanced) clock has reached.
pub fn pay_due(st: &mut State, request: &EventRequest) -> usize {
    let now = st.now();
    let due: Vec<(String, String)> = st
        .scan(KIND)
        .filter(|o| {
            o.json["status"] == "pending"
                && o.json["arrival_date"].as_i64().is_some_and(|a| a <= now)
        })
        .map(|o| (o.owner.clone(), o.id.clone()))
        .collect();
    let mut paid = 0;
    for (account, id) in due {
        if mark_paid(st, &account, &id, request.clone()).is_ok() {
            paid += 1;
        }
    }
    paid
}

fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let new = parse_new(p, &[])?;
    let account = ctx.account.clone();
    let request = request_of(ctx);
    create_payout(ctx.st, &account, new, false, request)
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    Ok(ctx.get(KIND, &id, "payout")?.json.clone())
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["metadata"])?;
    let id = ctx.path(0).to_string();
    let obj = ctx.get_mut(KIND, &id, "payout")?;
    let old = obj.json.clone();
    let mut md = old["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    obj.json["metadata"] = Value::Object(md);
    let new = obj.json.clone();
    if new != old {
        let prev = events::diff(&old, &new);
        ctx.emit("payout.updated", &new, Some(prev));
    }
    Ok(new)
}

fn cancel(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let obj = ctx.get(KIND, &id, "payout")?;
    if obj.json["status"] != "pending" {
        return Err(ApiError::invalid(format!(
            "Payouts can only be canceled while they are pending; this one is {}.",
            obj.json["status"].as_str().unwrap_or("unknown")
        )));
    }
    let amount = obj.json["amount"].as_i64().unwrap_or(0);
    let currency = obj.json["currency"].as_str().unwrap_or("usd").to_string();
    let account = ctx.account.clone();
    let now = ctx.now;
    let txn = sim_ledger::record(
        ctx.st,
        &account,
        sim_ledger::Entry {
            amount,
            currency,
            fee: 0,
            kind: "payout_cancel",
            reporting_category: "payout_reversal",
            source: id.clone(),
            description: Some("Payout cancellation".into()),
            available_on: now,
        },
    );
    let obj = ctx.get_mut(KIND, &id, "payout")?;
    let old = obj.json.clone();
    obj.json["status"] = json!("canceled");
    obj.json["failure_balance_transaction"] = json!(txn);
    obj.json["reconciliation_status"] = json!("completed");
    let new = obj.json.clone();
    ctx.emit("payout.updated", &new, Some(events::diff(&old, &new)));
    ctx.emit("payout.canceled", &new, None);
    Ok(new)
}

fn list(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["status", "arrival_date", "destination"]);
    p.known(&allowed)?;
    let status = p.enum_str(
        "status",
        &["pending", "paid", "failed", "canceled", "in_transit"],
    )?;
    let destination = p.str_nonempty("destination")?;
    let arrival = p.obj("arrival_date")?;
    let mut range = (i64::MIN, i64::MAX);
    if let Some(a) = &arrival {
        a.known(&["gt", "gte", "lt", "lte"])?;
        if let Some(v) = a.i64("gt")? {
            range.0 = range.0.max(v.saturating_add(1));
        }
        if let Some(v) = a.i64("gte")? {
            range.0 = range.0.max(v);
        }
        if let Some(v) = a.i64("lt")? {
            range.1 = range.1.min(v.saturating_sub(1));
        }
        if let Some(v) = a.i64("lte")? {
            range.1 = range.1.min(v);
        }
    } else if let Some(exact) = p.i64("arrival_date").ok().flatten() {
        range = (exact, exact);
    }
    let account = ctx.account.clone();
    list::list_objects(ctx, &account, p, KIND, "/v1/payouts", |o| {
        let arrival = o.json["arrival_date"].as_i64().unwrap_or(0);
        status.as_deref().is_none_or(|s| o.json["status"] == s)
            && destination
                .as_deref()
                .is_none_or(|d| o.json["destination"] == d)
            && (range.0..=range.1).contains(&arrival)
    })
}
