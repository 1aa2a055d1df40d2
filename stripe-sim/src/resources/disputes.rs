//! Disputes (chargebacks) and their evidence.
//!
//! A dispute is opened on a succeeded charge — by the test card 4000000000000259 /
//! `pm_card_createDispute` right after the charge succeeds, or by the test helper. Opening it
//! withdraws the amount plus Stripe's dispute fee from the account's balance. The account can
//! update evidence (and `submit` it), or accept the loss with `close`; the test helper decides
//! the bank's verdict: won (funds and fee reinstated) or lost.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, EventRequest};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::resources::sim_ledger;
use crate::store::State;

pub const KIND: &str = "dispute";
/// Stripe's dispute fee in the US, in cents.
pub const DISPUTE_FEE: i64 = 1500;
const EVIDENCE_WINDOW_SECS: i64 = 7 * 24 * 3600;

pub const REASONS: &[&str] = &[
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
];

const TEXT_EVIDENCE: &[&str] = &[
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
];
/// Evidence fields holding File ids (`file_…`); accepted as given, since the emulator has no
/// file uploads.
const FILE_EVIDENCE: &[&str] = &[
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/v1/disputes", list),
        Route::get("/v1/disputes/{id}", retrieve),
        Route::post("/v1/disputes/{id}", update),
        Route::post("/v1/disputes/{id}/close", close),
    ]
}

fn request_of(ctx: &Ctx) -> EventRequest {
    EventRequest {
        id: Some(ctx.request_id.clone()),
        idempotency_key: ctx.idempotency_key.clone(),
    }
}

fn empty_evidence() -> Value {
    let mut m = Map::new();
    for f in TEXT_EVIDENCE.iter().chain(FILE_EVIDENCE) {
        m.insert((*f).to_string(), Value::Null);
    }
    m.insert("enhanced_evidence".into(), json!({}));
    Value::Object(m)
}

fn network_reason_code(reason: &str) -> &'static str {
    match reason {
        "fraudulent" => "10.4",
        "duplicate" => "12.6.1",
        "product_not_received" => "13.1",
        "product_unacceptable" => "13.3",
        "credit_not_processed" => "13.7",
        "subscription_canceled" => "13.2",
        _ => "13.6",
    }
}

fn set_charge_disputed(st: &mut State, account: &str, charge_id: &str, request: &EventRequest) {
    let Some(charge) = st.find_mut(account, "charge", charge_id) else {
        return;
    };
    if charge.json["disputed"] == true {
        return;
    }
    let old = charge.json.clone();
    charge.json["disputed"] = json!(true);
    let new = charge.json.clone();
    events::emit(
        st,
        account,
        "charge.updated",
        &new,
        Some(events::diff(&old, &new)),
        request.clone(),
    );
}

/// Opens a dispute on a succeeded charge of `account`; emits charge.dispute.created and
/// charge.dispute.funds_withdrawn. Called by the charge flow for the dispute test card and by
/// the test helper.
pub fn open_for_charge(
    st: &mut State,
    account: &str,
    charge_id: &str,
    reason: &str,
    amount: Option<i64>,
    request: EventRequest,
) -> ApiResult<Value> {
    let charge = st
        .find(account, "charge", charge_id)
        .ok_or_else(|| ApiError::no_such("charge", charge_id, "charge"))?;
    let c = &charge.json;
    if c["status"] != "succeeded" || c["captured"] != true {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} cannot be disputed: only captured, succeeded charges can be."
        ))
        .with_param("charge"));
    }
    if c["disputed"] == true {
        return Err(
            ApiError::invalid(format!("Charge {charge_id} is already disputed."))
                .with_code("charge_disputed")
                .with_param("charge"),
        );
    }
    let captured = c["amount_captured"]
        .as_i64()
        .or_else(|| c["amount"].as_i64())
        .unwrap_or(0);
    let refunded = c["amount_refunded"].as_i64().unwrap_or(0);
    let disputable = captured - refunded;
    let amount = amount.unwrap_or(disputable);
    if amount <= 0 || amount > disputable {
        return Err(ApiError::invalid(format!(
            "Dispute amount must be between 1 and {disputable} (the unrefunded amount)."
        ))
        .with_param("amount"));
    }
    let currency = c["currency"].as_str().unwrap_or("usd").to_string();
    let payment_intent = c["payment_intent"].clone();
    let brand = c["payment_method_details"]["card"]["brand"]
        .as_str()
        .unwrap_or("visa")
        .to_string();
    let network = c["payment_method_details"]["card"]["network"]
        .as_str()
        .unwrap_or(&brand)
        .to_string();
    let now = st.now();
    let id = ids::new_id("dp");
    let txn = sim_ledger::record_expanded(
        st,
        account,
        sim_ledger::Entry {
            amount: -amount,
            currency: currency.clone(),
            fee: DISPUTE_FEE,
            kind: "adjustment",
            reporting_category: "dispute",
            source: id.clone(),
            description: Some(format!("Chargeback withdrawal for {charge_id}")),
            available_on: now,
        },
    );
    let reason_code = network_reason_code(reason);
    let json = json!({
        "id": id,
        "object": KIND,
        "amount": amount,
        "balance_transactions": [txn],
        "charge": charge_id,
        "created": now,
        "currency": currency,
        "enhanced_eligibility_types": [],
        "evidence": empty_evidence(),
        "evidence_details": {
            "due_by": now + EVIDENCE_WINDOW_SECS,
            "enhanced_eligibility": {},
            "has_evidence": false,
            "past_due": false,
            "submission_count": 0,
        },
        "is_charge_refundable": false,
        "livemode": false,
        "metadata": {},
        "network_reason_code": reason_code,
        "payment_intent": payment_intent,
        "payment_method_details": {
            "card": {
                "brand": brand,
                "case_type": "chargeback",
                "network": network,
                "network_reason_code": reason_code,
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    });
    let out = st.insert(account, json, Map::new()).json.clone();
    set_charge_disputed(st, account, charge_id, &request);
    events::emit(
        st,
        account,
        "charge.dispute.created",
        &out,
        None,
        request.clone(),
    );
    events::emit(
        st,
        account,
        "charge.dispute.funds_withdrawn",
        &out,
        None,
        request,
    );
    Ok(out)
}

/// Closes a dispute with the bank's verdict. `won` reinstates the amount and the fee.
pub fn decide(
    st: &mut State,
    account: &str,
    id: &str,
    won: bool,
    request: EventRequest,
) -> ApiResult<Value> {
    let obj = st
        .find(account, KIND, id)
        .ok_or_else(|| ApiError::no_such(KIND, id, "dispute"))?;
    let status = obj.json["status"].as_str().unwrap_or_default().to_string();
    if matches!(status.as_str(), "won" | "lost" | "warning_closed") {
        return Err(ApiError::invalid(format!(
            "Dispute {id} is already closed ({status})."
        )));
    }
    let amount = obj.json["amount"].as_i64().unwrap_or(0);
    let currency = obj.json["currency"].as_str().unwrap_or("usd").to_string();
    let now = st.now();
    let reinstated = if won {
        Some(sim_ledger::record_expanded(
            st,
            account,
            sim_ledger::Entry {
                amount,
                currency,
                fee: -DISPUTE_FEE,
                kind: "adjustment",
                reporting_category: "dispute_reversal",
                source: id.to_string(),
                description: Some(format!("Chargeback reversal for dispute {id}")),
                available_on: now,
            },
        ))
    } else {
        None
    };
    let obj = st
        .find_mut(account, KIND, id)
        .ok_or_else(|| ApiError::no_such(KIND, id, "dispute"))?;
    let old = obj.json.clone();
    obj.json["status"] = json!(if won { "won" } else { "lost" });
    if let Some(txn) = reinstated
        && let Some(list) = obj.json["balance_transactions"].as_array_mut()
    {
        list.push(txn);
    }
    let new = obj.json.clone();
    let prev = events::diff(&old, &new);
    if won {
        events::emit(
            st,
            account,
            "charge.dispute.funds_reinstated",
            &new,
            None,
            request.clone(),
        );
    }
    events::emit(
        st,
        account,
        "charge.dispute.closed",
        &new,
        Some(prev),
        request,
    );
    Ok(new)
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    Ok(ctx.get(KIND, &id, "dispute")?.json.clone())
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["evidence", "metadata", "submit"])?;
    let id = ctx.path(0).to_string();
    let submit = p.bool("submit")?.unwrap_or(false);
    let evidence = p.obj("evidence")?;
    let obj = ctx.get(KIND, &id, "dispute")?;
    let old = obj.json.clone();
    let mut new = old.clone();
    let open = matches!(
        old["status"].as_str(),
        Some("needs_response") | Some("warning_needs_response")
    );
    if (evidence.is_some() || submit) && !open {
        return Err(ApiError::invalid(format!(
            "This dispute is {} and its evidence can no longer be changed.",
            old["status"].as_str().unwrap_or("closed")
        ))
        .with_param(if submit { "submit" } else { "evidence" }));
    }
    if let Some(ev) = &evidence {
        let mut allowed: Vec<&str> = TEXT_EVIDENCE.iter().chain(FILE_EVIDENCE).copied().collect();
        allowed.push("enhanced_evidence");
        ev.known(&allowed)?;
        for f in TEXT_EVIDENCE.iter().chain(FILE_EVIDENCE) {
            if let Some(v) = ev.str(f)? {
                if v.chars().count() > 20_000 {
                    return Err(ApiError::invalid(
                        "Evidence text is limited to 20,000 characters.",
                    )
                    .with_param(ev.name(f)));
                }
                new["evidence"][*f] = if v.is_empty() { Value::Null } else { json!(v) };
            }
        }
        if ev.obj("enhanced_evidence")?.is_some() {
            // Accepted but not modelled: Visa CE 3.0 / compliance evidence shapes are large and
            // nothing in the marketplace depends on them.
        }
        let has_evidence = TEXT_EVIDENCE
            .iter()
            .chain(FILE_EVIDENCE)
            .any(|f| !new["evidence"][*f].is_null());
        new["evidence_details"]["has_evidence"] = json!(has_evidence);
    }
    let mut md = new["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    new["metadata"] = Value::Object(md);
    if submit {
        let n = new["evidence_details"]["submission_count"]
            .as_u64()
            .unwrap_or(0);
        new["evidence_details"]["submission_count"] = json!(n + 1);
        new["status"] = json!(if old["status"] == "warning_needs_response" {
            "warning_under_review"
        } else {
            "under_review"
        });
    }
    if let Ok(o) = ctx.get_mut(KIND, &id, "dispute") {
        o.json = new.clone().into();
    }
    if new != old {
        ctx.emit(
            "charge.dispute.updated",
            &new,
            Some(events::diff(&old, &new)),
        );
    }
    Ok(new)
}

/// The account accepts the dispute: it is lost, funds stay withdrawn.
fn close(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let obj = ctx.get(KIND, &id, "dispute")?;
    if !matches!(
        obj.json["status"].as_str(),
        Some("needs_response") | Some("warning_needs_response")
    ) {
        return Err(ApiError::invalid(format!(
            "This dispute is {} and can no longer be closed.",
            obj.json["status"].as_str().unwrap_or("closed")
        )));
    }
    let account = ctx.account.clone();
    let request = request_of(ctx);
    decide(ctx.st, &account, &id, false, request)
}

fn list(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["charge", "payment_intent"]);
    p.known(&allowed)?;
    let charge = p.str_nonempty("charge")?;
    let pi = p.str_nonempty("payment_intent")?;
    let account = ctx.account.clone();
    list::list_objects(ctx, &account, p, KIND, "/v1/disputes", |o| {
        charge.as_deref().is_none_or(|c| o.json["charge"] == c)
            && pi.as_deref().is_none_or(|x| o.json["payment_intent"] == x)
    })
}

/// Disputes whose evidence deadline passed without a submission are lost, as on Stripe.
pub fn expire_unanswered(st: &mut State, request: &EventRequest) -> usize {
    let now = st.now();
    let due: Vec<(String, String)> = st
        .scan(KIND)
        .filter(|o| {
            matches!(
                o.json["status"].as_str(),
                Some("needs_response") | Some("warning_needs_response")
            ) && o.json["evidence_details"]["due_by"]
                .as_i64()
                .is_some_and(|d| d <= now)
        })
        .map(|o| (o.owner.clone(), o.id.clone()))
        .collect();
    let mut lost = 0;
    for (account, id) in due {
        if let Some(o) = st.find_mut(&account, KIND, &id) {
            o.json["evidence_details"]["past_due"] = json!(true);
        }
        if decide(st, &account, &id, false, request.clone()).is_ok() {
            lost += 1;
        }
    }
    lost
}
