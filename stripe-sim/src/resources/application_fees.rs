//! Application fees (on the platform, one per direct charge with `application_fee_amount`)
//! and their refunds.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, EventRequest};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::resources::balance;
use crate::store::State;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/v1/application_fees", list_fees),
        Route::get("/v1/application_fees/{id}", retrieve),
        Route::post("/v1/application_fees/{id}/refunds", create_refund),
        Route::get("/v1/application_fees/{id}/refunds", list_refunds),
        Route::get("/v1/application_fees/{id}/refunds/{rid}", retrieve_refund),
        Route::post("/v1/application_fees/{id}/refunds/{rid}", update_refund),
    ]
}

fn refunds_url(fee: &str) -> String {
    format!("/v1/application_fees/{fee}/refunds")
}

/// The fee's embedded `refunds` list, rebuilt from its fee refunds (newest first).
/// The fee's own refund ids are kept in its `internal.refund_ids`, so this never scans the
/// platform's other fee refunds.
fn refresh_refunds(st: &mut State, platform: &str, fee_id: &str) {
    let ids: Vec<String> = st
        .find(platform, "application_fee", fee_id)
        .and_then(|f| f.internal.get("refund_ids"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut items: Vec<(i64, u64, Value)> = ids
        .iter()
        .filter_map(|id| st.get(id))
        .map(|o| (o.created, o.seq, o.json.clone()))
        .collect();
    items.sort_by_key(|(c, s, _)| std::cmp::Reverse((*c, *s)));
    let list = list::embedded(
        items.into_iter().map(|(_, _, v)| v).collect(),
        refunds_url(fee_id),
    );
    if let Some(f) = st.find_mut(platform, "application_fee", fee_id) {
        f.json["refunds"] = list;
    }
}

/// Creates the platform's ApplicationFee for a direct charge on the acting (connected)
/// account; records the platform's balance transaction; emits `application_fee.created`.
pub fn create_for_charge(ctx: &mut Ctx, charge: &Value, amount: i64, available_on: i64) -> String {
    let id = ids::new_id("fee");
    let platform = ctx.platform.clone();
    let currency = charge["currency"].as_str().unwrap_or("usd").to_string();
    let txn = balance::record_txn(
        ctx.st,
        &platform,
        balance::Txn {
            amount,
            currency: currency.clone(),
            fees: vec![],
            kind: "application_fee",
            reporting_category: "platform_earning",
            source: id.clone(),
            description: None,
            available_on,
        },
    );
    let json = json!({
        "id": id,
        "object": "application_fee",
        "account": ctx.account,
        "amount": amount,
        "amount_refunded": 0,
        "application": super::charges::application_id(&platform),
        "balance_transaction": txn,
        "charge": charge["id"],
        "created": ctx.now,
        "currency": currency,
        "fee_source": {"charge": charge["id"], "type": "charge"},
        "livemode": false,
        "originating_transaction": null,
        "refunded": false,
        "refunds": list::embedded(vec![], refunds_url(&id)),
    });
    let json = ctx.st.insert(&platform, json, Map::new()).json.clone();
    ctx.emit_on(&platform, "application_fee.created", &json, None);
    id
}

/// Refunds `amount` (default: the rest) of fee `fee_id` on `platform`: creates the
/// `fee_refund`, moves the money back to the connected account, emits
/// `application_fee.refunded`. Returns the fee refund.
pub fn refund_fee(
    st: &mut State,
    platform: &str,
    fee_id: &str,
    amount: Option<i64>,
    metadata: Map<String, Value>,
    request: EventRequest,
) -> ApiResult<Value> {
    let fee = st
        .find(platform, "application_fee", fee_id)
        .ok_or_else(|| ApiError::no_such("application_fee", fee_id, "id"))?
        .json
        .clone();
    let total = fee["amount"].as_i64().unwrap_or(0);
    let refunded = fee["amount_refunded"].as_i64().unwrap_or(0);
    let remaining = total - refunded;
    let amount = amount.unwrap_or(remaining);
    if remaining <= 0 {
        return Err(ApiError::invalid(format!(
            "Application fee {fee_id} has already been refunded."
        ))
        .with_code("charge_already_refunded"));
    }
    if amount <= 0 || amount > remaining {
        return Err(ApiError::invalid(format!(
            "Refund amount ({amount}) is greater than the unrefunded amount on the application fee ({remaining})."
        ))
        .with_code("amount_too_large")
        .with_param("amount"));
    }
    let currency = fee["currency"].as_str().unwrap_or("usd").to_string();
    let connected = fee["account"].as_str().unwrap_or_default().to_string();
    let id = ids::new_id("fr");
    let now = st.now();
    let txn = balance::record_txn(
        st,
        platform,
        balance::Txn {
            amount: -amount,
            currency: currency.clone(),
            fees: vec![],
            kind: "application_fee_refund",
            reporting_category: "platform_earning_refund",
            source: id.clone(),
            description: None,
            available_on: now,
        },
    );
    if st.get(&connected).is_some() {
        balance::record_txn(
            st,
            &connected,
            balance::Txn {
                amount,
                currency: currency.clone(),
                fees: vec![],
                kind: "application_fee_refund",
                reporting_category: "fee",
                source: id.clone(),
                description: Some("Application fee refund".into()),
                available_on: now,
            },
        );
    }
    let json = json!({
        "id": id,
        "object": "fee_refund",
        "amount": amount,
        "balance_transaction": txn,
        "created": now,
        "currency": currency,
        "fee": fee_id,
        "metadata": metadata,
    });
    let refund = st.insert(platform, json, Map::new()).json.clone();
    let new_refunded = refunded + amount;
    if let Some(f) = st.find_mut(platform, "application_fee", fee_id) {
        let ids = f.internal.entry("refund_ids").or_insert_with(|| json!([]));
        if let Some(a) = ids.as_array_mut() {
            a.push(json!(id));
        }
        f.json["amount_refunded"] = json!(new_refunded);
        f.json["refunded"] = json!(new_refunded >= total);
    }
    refresh_refunds(st, platform, fee_id);
    let new_fee = st
        .get(fee_id)
        .map(|o| o.json.clone())
        .unwrap_or(Value::Null);
    let prev = events::diff(&fee, &new_fee);
    events::emit(
        st,
        platform,
        "application_fee.refunded",
        &new_fee,
        Some(prev),
        request,
    );
    Ok(refund)
}

fn platform_only(ctx: &Ctx) -> ApiResult<()> {
    if ctx.is_connected() {
        return Err(ApiError::invalid(
            "Application fees belong to the platform; do not send a Stripe-Account header.",
        ));
    }
    Ok(())
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    Ok(ctx.get("application_fee", &id, "id")?.json.clone())
}

fn list_fees(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.push("charge");
    p.known(&allowed)?;
    let charge = p.str_nonempty("charge")?;
    let account = ctx.account.clone();
    list::list_objects(
        ctx,
        &account,
        p,
        "application_fee",
        "/v1/application_fees",
        |o| {
            charge
                .as_ref()
                .is_none_or(|c| o.json["charge"] == c.as_str())
        },
    )
}

fn create_refund(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["amount", "metadata"])?;
    platform_only(ctx)?;
    let id = ctx.path(0).to_string();
    ctx.get("application_fee", &id, "id")?;
    let amount = p.amount("amount")?;
    let metadata = p.metadata()?;
    let request = EventRequest {
        id: Some(ctx.request_id.clone()),
        idempotency_key: ctx.idempotency_key.clone(),
    };
    let platform = ctx.platform.clone();
    refund_fee(ctx.st, &platform, &id, amount, metadata, request)
}

fn list_refunds(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(LIST_PARAMS)?;
    let id = ctx.path(0).to_string();
    ctx.get("application_fee", &id, "id")?;
    let account = ctx.account.clone();
    let by = list::ByRef {
        field: "fee",
        value: &id,
    };
    let url = refunds_url(&id);
    list::list_objects_by_ref(ctx, &account, p, "fee_refund", Some(by), &url, |_| true)
}

fn get_refund(ctx: &Ctx) -> ApiResult<Value> {
    let fee = ctx.path(0);
    let rid = ctx.path(1);
    ctx.get("application_fee", fee, "id")?;
    let r = ctx.get("fee_refund", rid, "id")?;
    if r.json["fee"] != fee {
        return Err(ApiError::no_such("fee_refund", rid, "id"));
    }
    Ok(r.json.clone())
}

fn retrieve_refund(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    get_refund(ctx)
}

fn update_refund(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["metadata"])?;
    let mut json = get_refund(ctx)?;
    let mut md = json["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    json["metadata"] = Value::Object(md);
    let rid = ctx.path(1).to_string();
    let fee = ctx.path(0).to_string();
    ctx.get_mut("fee_refund", &rid, "id")?.json = json.clone().into();
    let platform = ctx.platform.clone();
    refresh_refunds(ctx.st, &platform, &fee);
    Ok(json)
}
