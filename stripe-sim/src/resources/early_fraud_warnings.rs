//! Radar early fraud warnings: the card network's notice that a charge is likely fraudulent,
//! usually ahead of a dispute. Created by the test helper (Stripe test mode creates them for a
//! few special cards); listed and retrieved by the account that owns the charge.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, EventRequest};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::store::State;

pub const KIND: &str = "radar.early_fraud_warning";

pub const FRAUD_TYPES: &[&str] = &[
    "card_never_received",
    "fraudulent_card_application",
    "made_with_counterfeit_card",
    "made_with_lost_card",
    "made_with_stolen_card",
    "misc",
    "unauthorized_use_of_card",
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/v1/radar/early_fraud_warnings", list),
        Route::get("/v1/radar/early_fraud_warnings/{id}", retrieve),
    ]
}

/// Records a warning on `account`'s charge and emits radar.early_fraud_warning.created.
pub fn create_for_charge(
    st: &mut State,
    account: &str,
    charge_id: &str,
    fraud_type: &str,
    request: EventRequest,
) -> ApiResult<Value> {
    let charge = st
        .find(account, "charge", charge_id)
        .ok_or_else(|| ApiError::no_such("charge", charge_id, "charge"))?;
    // Actionable while the charge can still be refunded to avoid a dispute.
    let actionable = charge.json["disputed"] != true && charge.json["refunded"] != true;
    let payment_intent = charge.json["payment_intent"].clone();
    let json = json!({
        "id": ids::new_id("issfr"),
        "object": KIND,
        "actionable": actionable,
        "charge": charge_id,
        "created": st.now(),
        "fraud_type": fraud_type,
        "livemode": false,
        "payment_intent": payment_intent,
    });
    let out = st.insert(account, json, Map::new()).json.clone();
    events::emit(
        st,
        account,
        "radar.early_fraud_warning.created",
        &out,
        None,
        request,
    );
    Ok(out)
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let mut out = ctx.get(KIND, &id, "early_fraud_warning")?.json.clone();
    refresh_actionable(ctx.st, &ctx.account, &mut out);
    Ok(out)
}

/// `actionable` turns false once the charge is refunded or disputed, as on Stripe.
fn refresh_actionable(st: &State, account: &str, efw: &mut Value) {
    let Some(charge_id) = efw["charge"].as_str() else {
        return;
    };
    if let Some(c) = st.find(account, "charge", charge_id)
        && (c.json["disputed"] == true || c.json["refunded"] == true)
    {
        efw["actionable"] = json!(false);
    }
}

fn list(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["charge", "payment_intent"]);
    p.known(&allowed)?;
    let charge = p.str_nonempty("charge")?;
    let pi = p.str_nonempty("payment_intent")?;
    let account = ctx.account.clone();
    let mut out = list::list_objects(
        ctx,
        &account,
        p,
        KIND,
        "/v1/radar/early_fraud_warnings",
        |o| {
            charge.as_deref().is_none_or(|c| o.json["charge"] == c)
                && pi.as_deref().is_none_or(|x| o.json["payment_intent"] == x)
        },
    )?;
    if let Some(items) = out["data"].as_array_mut() {
        for item in items {
            refresh_actionable(ctx.st, &account, item);
        }
    }
    Ok(out)
}
