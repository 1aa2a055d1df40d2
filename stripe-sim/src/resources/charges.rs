//! Charges: created by PaymentIntent confirmation; retrieve, list, update. Capture settles
//! money: the balance transaction and, for direct charges with a fee, the ApplicationFee.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::resources::{application_fees, balance};
use crate::testcards::Behavior;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/v1/charges", list_charges),
        Route::get("/v1/charges/{id}", retrieve),
        Route::post("/v1/charges/{id}", update),
    ]
}

/// The Connect application id of a platform (`ca_…`), stable per platform.
pub fn application_id(platform: &str) -> String {
    format!("ca_{}", platform.trim_start_matches("acct_"))
}

/// How the card network answered.
pub enum Answer {
    Approved,
    Declined {
        code: &'static str,
        decline_code: Option<&'static str>,
        message: &'static str,
    },
}

pub fn decline_of(b: Behavior) -> Answer {
    match b {
        Behavior::Decline("insufficient_funds") => Answer::Declined {
            code: "card_declined",
            decline_code: Some("insufficient_funds"),
            message: "Your card has insufficient funds.",
        },
        Behavior::Decline(_) => Answer::Declined {
            code: "card_declined",
            decline_code: Some("generic_decline"),
            message: "Your card was declined.",
        },
        Behavior::ExpiredCard => Answer::Declined {
            code: "expired_card",
            decline_code: Some("expired_card"),
            message: "Your card has expired.",
        },
        Behavior::IncorrectCvc => Answer::Declined {
            code: "incorrect_cvc",
            decline_code: Some("incorrect_cvc"),
            message: "Your card's security code is incorrect.",
        },
        _ => Answer::Approved,
    }
}

fn outcome(answer: &Answer) -> Value {
    match answer {
        Answer::Approved => json!({
            "advice_code": null, "network_advice_code": null, "network_decline_code": null,
            "network_status": "approved_by_network", "reason": null, "risk_level": "normal",
            "risk_score": 20, "seller_message": "Payment complete.", "type": "authorized"
        }),
        Answer::Declined { decline_code, .. } => json!({
            "advice_code": "try_again_later", "network_advice_code": null, "network_decline_code": null,
            "network_status": "declined_by_network", "reason": decline_code, "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined"
        }),
    }
}

/// Creates the charge of a PaymentIntent confirmation (succeeded-uncaptured, succeeded or failed).
/// Does not settle money; see [`settle`].
pub fn create_for_pi(
    ctx: &mut Ctx,
    pi: &Value,
    pm: &Value,
    answer: &Answer,
    capture: bool,
) -> Value {
    let amount = pi["amount"].as_i64().unwrap_or(0);
    let approved = matches!(answer, Answer::Approved);
    let card = &pm["card"];
    let (failure_code, failure_message) = match answer {
        Answer::Approved => (Value::Null, Value::Null),
        Answer::Declined { code, message, .. } => (json!(code), json!(message)),
    };
    let id = ids::new_id("ch");
    let application = if ctx.is_connected() {
        json!(application_id(&ctx.platform))
    } else {
        Value::Null
    };
    let mut json = json!({
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": application,
        "application_fee": null,
        "application_fee_amount": pi["application_fee_amount"],
        "balance_transaction": null,
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "STRIPE-SIM",
        "captured": false,
        "created": ctx.now,
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": {},
        "livemode": false,
        "metadata": pi["metadata"],
        "on_behalf_of": null,
        "outcome": outcome(answer),
        "paid": approved,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {
            "card": {
                "amount_authorized": if approved { json!(amount) } else { Value::Null },
                "authorization_code": if approved { json!("123456") } else { Value::Null },
                "brand": card["brand"],
                "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": card["checks"]["cvc_check"]},
                "country": card["country"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "extended_authorization": {"status": "disabled"},
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "incremental_authorization": {"status": "unavailable"},
                "installments": null,
                "last4": card["last4"],
                "mandate": null,
                "multicapture": {"status": "unavailable"},
                "network": card["brand"],
                "network_token": {"used": false},
                "network_transaction_id": ids::secret(15),
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "regulated_status": "unregulated",
                "three_d_secure": null,
                "wallet": null
            },
            "type": "card"
        },
        "radar_options": {},
        "receipt_email": pi["receipt_email"],
        "receipt_number": null,
        "receipt_url": format!("{}/hosted/receipts/{id}", ctx.base_url),
        "refunded": false,
        "review": null,
        "shipping": pi["shipping"],
        "source": null,
        "source_transfer": null,
        "statement_descriptor": pi["statement_descriptor"],
        "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
        "status": if approved { "succeeded" } else { "failed" },
        "transfer_data": null,
        "transfer_group": pi["transfer_group"],
    });
    // Only an authorized, not yet captured charge has `capture_before`; Stripe omits it
    // otherwise (it is never null).
    if approved
        && !capture
        && let Some(card) = json["payment_method_details"]["card"].as_object_mut()
    {
        card.insert("capture_before".into(), json!(ctx.now + 7 * 24 * 3600));
    }
    let mut internal = Map::new();
    internal.insert(
        "behavior".into(),
        json!(
            crate::resources::payment_methods::behavior_of(
                ctx,
                pm["id"].as_str().unwrap_or_default()
            )
            .as_str()
        ),
    );
    ctx.insert(json, internal)
}

/// Captures `amount` of an authorized charge: balance transaction, application fee (direct
/// charges), `captured`. The uncaptured rest is released (shown in `amount_refunded`).
/// Returns the updated charge; emits nothing (the caller emits charge.succeeded/captured).
pub fn settle(
    ctx: &mut Ctx,
    charge_id: &str,
    amount: i64,
    fee_amount: Option<i64>,
) -> ApiResult<Value> {
    let charge = ctx.get("charge", charge_id, "charge")?.json.clone();
    let total = charge["amount"].as_i64().unwrap_or(0);
    let currency = charge["currency"].as_str().unwrap_or("usd").to_string();
    let behavior = ctx
        .get("charge", charge_id, "charge")?
        .internal
        .get("behavior")
        .and_then(Value::as_str)
        .map(Behavior::parse)
        .unwrap_or(Behavior::Succeed);
    let available_on = if behavior == Behavior::BypassPending {
        ctx.now
    } else {
        ctx.now + balance::PENDING_SECS
    };
    let mut fees = vec![balance::FeeLine {
        amount: balance::stripe_fee(amount),
        kind: "stripe_fee",
        application: None,
        description: "Stripe processing fees",
    }];
    let fee_amount = fee_amount.filter(|f| *f > 0 && ctx.is_connected());
    if let Some(f) = fee_amount {
        fees.push(balance::FeeLine {
            amount: f,
            kind: "application_fee",
            application: Some(application_id(&ctx.platform)),
            description: "Application fee",
        });
    }
    let account = ctx.account.clone();
    let txn = balance::record_txn(
        ctx.st,
        &account,
        balance::Txn {
            amount,
            currency: currency.clone(),
            fees,
            kind: "charge",
            reporting_category: "charge",
            source: charge_id.to_string(),
            description: charge["description"].as_str().map(str::to_string),
            available_on,
        },
    );
    let fee_id =
        fee_amount.map(|f| application_fees::create_for_charge(ctx, &charge, f, available_on));
    let c = ctx.get_mut("charge", charge_id, "charge")?;
    c.json["captured"] = json!(true);
    c.json["amount_captured"] = json!(amount);
    c.json["amount_refunded"] = json!(total - amount);
    c.json["balance_transaction"] = json!(txn);
    c.json["application_fee_amount"] = fee_amount.map(|f| json!(f)).unwrap_or(Value::Null);
    if let Some(fee) = &fee_id {
        c.json["application_fee"] = json!(fee);
    }
    // Stripe omits `capture_before` once the charge is captured (it is never null).
    if let Some(card) = c.json["payment_method_details"]["card"].as_object_mut() {
        card.remove("capture_before");
    }
    Ok(c.json.clone())
}

/// Amount of a charge that can still be refunded.
pub fn refundable(charge: &Value) -> i64 {
    let amount = charge["amount"].as_i64().unwrap_or(0);
    let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
    (amount - refunded).max(0)
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    Ok(ctx.get("charge", &id, "id")?.json.clone())
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "description",
        "metadata",
        "receipt_email",
        "shipping",
        "fraud_details",
        "transfer_group",
    ])?;
    let id = ctx.path(0).to_string();
    let old = ctx.get("charge", &id, "id")?.json.clone();
    let mut json = old.clone();
    for f in ["description", "receipt_email", "transfer_group"] {
        if let Some(v) = p.str(f)? {
            json[f] = if v.is_empty() { Value::Null } else { json!(v) };
        }
    }
    let mut md = json["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    json["metadata"] = Value::Object(md);
    ctx.get_mut("charge", &id, "id")?.json = json.clone().into();
    if json != old {
        ctx.emit("charge.updated", &json, Some(events::diff(&old, &json)));
    }
    Ok(json)
}

fn list_charges(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["customer", "payment_intent", "transfer_group"]);
    p.known(&allowed)?;
    let customer = p.str_nonempty("customer")?;
    let pi = p.str_nonempty("payment_intent")?;
    let tg = p.str_nonempty("transfer_group")?;
    let account = ctx.account.clone();
    list::list_objects(ctx, &account, p, "charge", "/v1/charges", |o| {
        customer
            .as_ref()
            .is_none_or(|c| o.json["customer"] == c.as_str())
            && pi
                .as_ref()
                .is_none_or(|c| o.json["payment_intent"] == c.as_str())
            && tg
                .as_ref()
                .is_none_or(|c| o.json["transfer_group"] == c.as_str())
    })
}

/// Guard used by capture/refund paths when a charge id is given by the client.
pub fn require_charge(ctx: &Ctx, id: &str, param: &str) -> ApiResult<Value> {
    ctx.get("charge", id, param)
        .map(|o| o.json.clone())
        .map_err(|_| ApiError::no_such("charge", id, param))
}
