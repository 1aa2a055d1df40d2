//! Refunds: partial and several per charge, never beyond what is left; optional proportional
//! application fee refund; the refund-fail test card fails its refunds shortly afterwards.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, EventRequest};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::resources::{application_fees, balance, charges};
use crate::store::State;
use crate::testcards::Behavior;

/// Seconds after creation at which a refund of the refund-fail card fails.
pub const REFUND_FAIL_DELAY_SECS: i64 = 1;

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/refunds", create_route),
        Route::get("/v1/refunds", list_refunds),
        Route::get("/v1/refunds/{id}", retrieve),
        Route::post("/v1/refunds/{id}", update),
        Route::post("/v1/refunds/{id}/cancel", cancel),
        Route::post("/v1/charges/{id}/refunds", create_for_charge_route),
        Route::get("/v1/charges/{id}/refunds", list_charge_refunds),
    ]
}

fn money(amount: i64, currency: &str) -> String {
    format!(
        "{}{}.{:02}",
        if currency == "usd" { "$" } else { "" },
        amount / 100,
        amount % 100
    )
}

const CREATE_PARAMS: &[&str] = &[
    "charge",
    "payment_intent",
    "amount",
    "reason",
    "metadata",
    "refund_application_fee",
    "reverse_transfer",
    "instructions_email",
    "origin",
    "currency",
    "customer",
];

/// Application fee to give back so that the cumulative fee refund stays proportional to the
/// cumulative refund of the captured amount, rounded half up (a full refund returns the whole fee).
pub fn proportional_fee_refund(
    fee: i64,
    fee_refunded: i64,
    captured: i64,
    refunded_of_captured: i64,
) -> i64 {
    if captured <= 0 {
        return 0;
    }
    let target = if refunded_of_captured >= captured {
        fee
    } else {
        (2 * fee * refunded_of_captured + captured) / (2 * captured)
    };
    (target - fee_refunded).clamp(0, fee - fee_refunded)
}

fn create(ctx: &mut Ctx, p: &Params, charge_from_path: Option<String>) -> ApiResult<Value> {
    let charge_param = charge_from_path.or(p.str_nonempty("charge")?);
    let pi_param = p.str_nonempty("payment_intent")?;
    let charge_id = match (&charge_param, &pi_param) {
        (None, None) => {
            return Err(ApiError::invalid(
                "One of the following params should be provided for this request: charge or payment_intent.",
            )
            .with_code("parameter_missing")
            .with_param("charge"));
        }
        (Some(c), None) => c.clone(),
        (c, Some(pi_id)) => {
            let pi = ctx
                .get("payment_intent", pi_id, "payment_intent")?
                .json
                .clone();
            let latest = pi["latest_charge"].as_str().map(str::to_string);
            let usable = pi["status"] == "succeeded" && latest.is_some();
            let Some(latest) = latest.filter(|_| usable) else {
                return Err(ApiError::invalid(format!(
                    "This PaymentIntent ({pi_id}) does not have a successful charge to refund."
                ))
                .with_code("charge_not_refundable")
                .with_param("payment_intent"));
            };
            if let Some(c) = c
                && *c != latest
            {
                return Err(ApiError::invalid(format!(
                    "The charge {c} does not belong to PaymentIntent {pi_id}."
                ))
                .with_param("charge"));
            }
            latest
        }
    };
    let charge = charges::require_charge(ctx, &charge_id, "charge")?;
    if charge["status"] != "succeeded" {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} did not succeed and cannot be refunded."
        ))
        .with_code("charge_not_refundable")
        .with_param("charge"));
    }
    if charge["captured"] != true {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} has not been captured; cancel its PaymentIntent to release the authorization."
        ))
        .with_code("charge_not_refundable")
        .with_param("charge"));
    }
    let currency = charge["currency"].as_str().unwrap_or("usd").to_string();
    let remaining = charges::refundable(&charge);
    if remaining == 0 {
        return Err(
            ApiError::invalid(format!("Charge {charge_id} has already been refunded."))
                .with_code("charge_already_refunded")
                .with_param("charge"),
        );
    }
    let amount = match p.i64("amount")? {
        Some(a) if a <= 0 => {
            return Err(ApiError::invalid("Invalid positive integer")
                .with_code("parameter_invalid_integer")
                .with_param("amount"));
        }
        Some(a) => a,
        None => remaining,
    };
    if amount > remaining {
        return Err(ApiError::invalid(format!(
            "Refund amount ({}) is greater than unrefunded amount on charge ({})",
            money(amount, &currency),
            money(remaining, &currency)
        ))
        .with_code("amount_too_large")
        .with_param("amount"));
    }
    let reason = p.enum_str(
        "reason",
        &["duplicate", "fraudulent", "requested_by_customer"],
    )?;
    let refund_fee = p.bool("refund_application_fee")?.unwrap_or(false);
    p.bool("reverse_transfer")?;
    let metadata = p.metadata()?;

    let id = ids::new_id("re");
    let account = ctx.account.clone();
    let txn = balance::record_txn(
        ctx.st,
        &account,
        balance::Txn {
            amount: -amount,
            currency: currency.clone(),
            fees: vec![],
            kind: "refund",
            reporting_category: "refund",
            source: id.clone(),
            description: Some("REFUND FOR CHARGE".into()),
            available_on: ctx.now,
        },
    );
    let json = json!({
        "id": id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": txn,
        "charge": charge_id,
        "created": ctx.now,
        "currency": currency,
        "destination_details": {
            // `reference` is omitted (never null) until the acquirer assigns it.
            "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"},
            "type": "card"
        },
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    });
    let behavior = ctx
        .st
        .get(&charge_id)
        .and_then(|o| o.internal.get("behavior").and_then(Value::as_str))
        .map(Behavior::parse)
        .unwrap_or(Behavior::Succeed);
    let refund = ctx.insert(json, Map::new());
    if behavior == Behavior::RefundFail {
        ctx.st.due_refund_failures.push((
            account.clone(),
            id.clone(),
            ctx.now + REFUND_FAIL_DELAY_SECS,
        ));
    }

    // The charge.
    let old_charge = charge.clone();
    let total = charge["amount"].as_i64().unwrap_or(0);
    let captured = charge["amount_captured"].as_i64().unwrap_or(0);
    let new_refunded = charge["amount_refunded"].as_i64().unwrap_or(0) + amount;
    let new_charge = {
        let c = ctx.get_mut("charge", &charge_id, "charge")?;
        c.json["amount_refunded"] = json!(new_refunded);
        c.json["refunded"] = json!(new_refunded >= total);
        c.json.clone()
    };
    ctx.emit(
        "charge.refunded",
        &new_charge,
        Some(events::diff(&old_charge, &new_charge)),
    );
    ctx.emit("refund.created", &refund, None);

    // The platform's application fee, in proportion.
    let platform = ctx.platform.clone();
    let fee = match charge["application_fee"].as_str() {
        Some(fee_id) if refund_fee => ctx
            .st
            .find(&platform, "application_fee", fee_id)
            .map(|o| o.json.clone()),
        _ => None,
    };
    if let Some(fee) = fee {
        let fee_id = fee["id"].as_str().unwrap_or_default().to_string();
        let released = total - captured;
        let x = proportional_fee_refund(
            fee["amount"].as_i64().unwrap_or(0),
            fee["amount_refunded"].as_i64().unwrap_or(0),
            captured,
            new_refunded - released,
        );
        if x > 0 {
            let request = EventRequest {
                id: Some(ctx.request_id.clone()),
                idempotency_key: ctx.idempotency_key.clone(),
            };
            let fr = application_fees::refund_fee(
                ctx.st,
                &platform,
                &fee_id,
                Some(x),
                Map::new(),
                request,
            )?;
            if let Some(o) = ctx.st.get_mut(&id) {
                o.internal.insert("fee_refund".into(), fr["id"].clone());
            }
        }
    }
    Ok(refund)
}

/// Fails the refunds of the refund-fail card whose time has come: status failed, money back
/// on the balance and the charge, events refund.updated + refund.failed. Returns how many.
pub fn process_due_failures(st: &mut State) -> usize {
    let now = st.now();
    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut st.due_refund_failures)
        .into_iter()
        .partition(|(_, _, at)| *at <= now);
    st.due_refund_failures = later;
    let mut n = 0;
    for (account, id, _) in due {
        let Some(refund) = st.find(&account, "refund", &id).map(|o| o.json.clone()) else {
            continue;
        };
        if refund["status"] != "succeeded" {
            continue;
        }
        let amount = refund["amount"].as_i64().unwrap_or(0);
        let currency = refund["currency"].as_str().unwrap_or("usd").to_string();
        let txn = balance::record_txn(
            st,
            &account,
            balance::Txn {
                amount,
                currency,
                fees: vec![],
                kind: "refund_failure",
                reporting_category: "refund_failure",
                source: id.clone(),
                description: Some("REFUND FAILURE".into()),
                available_on: now,
            },
        );
        let mut new = refund.clone();
        new["status"] = json!("failed");
        new["failure_reason"] = json!("expired_or_canceled_card");
        new["failure_balance_transaction"] = json!(txn);
        if let Some(o) = st.find_mut(&account, "refund", &id) {
            o.json = new.clone().into();
        }
        if let Some(ch_id) = refund["charge"].as_str()
            && let Some(ch) = st.find_mut(&account, "charge", ch_id)
        {
            let old = ch.json.clone();
            let refunded = (ch.json["amount_refunded"].as_i64().unwrap_or(0) - amount).max(0);
            ch.json["amount_refunded"] = json!(refunded);
            ch.json["refunded"] = json!(false);
            let newc = ch.json.clone();
            let prev = events::diff(&old, &newc);
            events::emit(
                st,
                &account,
                "charge.updated",
                &newc,
                Some(prev),
                EventRequest::default(),
            );
        }
        let prev = events::diff(&refund, &new);
        events::emit(
            st,
            &account,
            "refund.updated",
            &new,
            Some(prev),
            EventRequest::default(),
        );
        events::emit(
            st,
            &account,
            "refund.failed",
            &new,
            None,
            EventRequest::default(),
        );
        n += 1;
    }
    n
}

fn create_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(CREATE_PARAMS)?;
    create(ctx, p, None)
}

fn create_for_charge_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "amount",
        "reason",
        "metadata",
        "refund_application_fee",
        "reverse_transfer",
        "payment_intent",
    ])?;
    let charge = ctx.path(0).to_string();
    create(ctx, p, Some(charge))
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    Ok(ctx.get("refund", &id, "id")?.json.clone())
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["metadata"])?;
    let id = ctx.path(0).to_string();
    let old = ctx.get("refund", &id, "id")?.json.clone();
    let mut json = old.clone();
    let mut md = json["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    json["metadata"] = Value::Object(md);
    ctx.get_mut("refund", &id, "id")?.json = json.clone().into();
    if json != old {
        ctx.emit("refund.updated", &json, Some(events::diff(&old, &json)));
    }
    Ok(json)
}

fn cancel(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let r = ctx.get("refund", &id, "id")?;
    let status = r.json["status"].as_str().unwrap_or_default().to_string();
    Err(ApiError::invalid(format!(
        "Refund {id} cannot be canceled because it has a status of {status}; only refunds with status requires_action can be canceled."
    ))
    .with_code("refund_cannot_be_canceled"))
}

fn list_refunds(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["charge", "payment_intent"]);
    p.known(&allowed)?;
    let charge = p.str_nonempty("charge")?;
    let pi = p.str_nonempty("payment_intent")?;
    let account = ctx.account.clone();
    let by = charge.as_deref().map(|value| list::ByRef {
        field: "charge",
        value,
    });
    list::list_objects_by_ref(ctx, &account, p, "refund", by, "/v1/refunds", |o| {
        charge
            .as_ref()
            .is_none_or(|c| o.json["charge"] == c.as_str())
            && pi
                .as_ref()
                .is_none_or(|c| o.json["payment_intent"] == c.as_str())
    })
}

fn list_charge_refunds(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(LIST_PARAMS)?;
    let charge = ctx.path(0).to_string();
    charges::require_charge(ctx, &charge, "charge")?;
    let account = ctx.account.clone();
    let url = format!("/v1/charges/{charge}/refunds");
    let by = list::ByRef {
        field: "charge",
        value: &charge,
    };
    list::list_objects_by_ref(ctx, &account, p, "refund", Some(by), &url, |_| true)
}

#[cfg(test)]
mod tests {
    use super::proportional_fee_refund;

    #[test]
    fn fee_refunds_are_proportional_and_sum_to_the_fee() {
        // 1000 charge, fee 123: refund 333 → 41.07 → 41; then 333 → cumulative 82.1 → 82 (41);
        // then the rest → 123 (41).
        assert_eq!(proportional_fee_refund(123, 0, 1000, 333), 41);
        assert_eq!(proportional_fee_refund(123, 41, 1000, 666), 41);
        assert_eq!(proportional_fee_refund(123, 82, 1000, 1000), 41);
        // Half up: 1000 charge, fee 5, refund 100 → 0.5 → 1.
        assert_eq!(proportional_fee_refund(5, 0, 1000, 100), 1);
        assert_eq!(proportional_fee_refund(0, 0, 1000, 500), 0);
    }
}
