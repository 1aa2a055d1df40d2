//! Checkout Sessions in `setup` mode: a hosted page (see `crate::checkout_page`) collects a
//! card, saves it to the session's customer through a SetupIntent and sends the browser to
//! `success_url`. As since API version 2022-08-01, the SetupIntent is created when the card is
//! submitted, so `setup_intent` is null until then.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::resources::payment_intents;

pub const KIND: &str = "checkout.session";

/// Sessions expire 24 hours after creation unless `expires_at` says otherwise.
const DEFAULT_TTL_SECS: i64 = 24 * 3600;
const MIN_TTL_SECS: i64 = 30 * 60;

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/checkout/sessions", create),
        Route::get("/v1/checkout/sessions", list_sessions),
        Route::get("/v1/checkout/sessions/{id}", retrieve),
        Route::post("/v1/checkout/sessions/{id}", update),
        Route::post("/v1/checkout/sessions/{id}/expire", expire_route),
    ]
}

fn valid_url(name: &str, url: &str) -> ApiResult<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        _ => Err(ApiError::invalid(format!("Not a valid URL: {url}"))
            .with_code("url_invalid")
            .with_param(name)),
    }
}

fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "mode",
        "customer",
        "customer_email",
        "currency",
        "success_url",
        "cancel_url",
        "metadata",
        "client_reference_id",
        "payment_method_types",
        "expires_at",
        "locale",
        "ui_mode",
        "billing_address_collection",
        "setup_intent_data",
        "payment_method_options",
    ])?;
    let mode = p
        .str_nonempty("mode")?
        .ok_or_else(|| ApiError::missing("mode"))?;
    if mode != "setup" {
        if ["payment", "subscription"].contains(&mode.as_str()) {
            return Err(ApiError::invalid(format!(
                "This emulator supports Checkout Sessions in setup mode only, not mode={mode}."
            ))
            .with_code("parameter_invalid_string")
            .with_param("mode"));
        }
        return Err(ApiError::invalid_value(
            "mode",
            format!("Invalid mode: must be one of payment, setup, or subscription (got {mode})."),
        ));
    }
    if let Some(ui) = p.str_nonempty("ui_mode")?
        && ui != "hosted"
    {
        return Err(ApiError::invalid(format!(
            "This emulator supports ui_mode=hosted only, not ui_mode={ui}."
        ))
        .with_code("parameter_invalid_string")
        .with_param("ui_mode"));
    }
    let success_url = p
        .str_nonempty("success_url")?
        .ok_or_else(|| ApiError::missing("success_url"))?;
    valid_url("success_url", &success_url)?;
    let cancel_url = p.str_nonempty("cancel_url")?;
    if let Some(u) = &cancel_url {
        valid_url("cancel_url", u)?;
    }
    let currency = payment_intents::currency(p)?;
    let types = p.str_list("payment_method_types")?.unwrap_or_default();
    for t in &types {
        if t != "card" {
            return Err(ApiError::invalid(format!(
                "The payment method type provided: {t} is invalid. This simulator supports: card."
            ))
            .with_code("parameter_invalid_string")
            .with_param("payment_method_types"));
        }
    }
    if currency.is_none() && types.is_empty() {
        return Err(ApiError::invalid(
            "You must provide `currency` when creating a Checkout Session in setup mode without `payment_method_types`.",
        )
        .with_code("parameter_missing")
        .with_param("currency"));
    }
    let customer = p.str_nonempty("customer")?;
    let customer_email = p.str_nonempty("customer_email")?;
    if customer.is_some() && customer_email.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: customer, customer_email.",
        )
        .with_param("customer_email"));
    }
    if let Some(c) = &customer {
        let o = ctx.get("customer", c, "customer")?;
        if o.internal
            .get("deleted")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            return Err(ApiError::no_such("customer", c, "customer"));
        }
    }
    let expires_at = match p.i64("expires_at")? {
        None => ctx.now + DEFAULT_TTL_SECS,
        Some(t) if (ctx.now + MIN_TTL_SECS..=ctx.now + DEFAULT_TTL_SECS).contains(&t) => t,
        Some(_) => {
            return Err(ApiError::invalid(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
            )
            .with_code("parameter_invalid_integer")
            .with_param("expires_at"));
        }
    };
    let billing = p
        .enum_str("billing_address_collection", &["auto", "required"])?
        .unwrap_or_else(|| "auto".into());
    let locale = p.str_nonempty("locale")?;
    let mut internal = Map::new();
    if let Some(sd) = p.obj("setup_intent_data")? {
        sd.known(&["metadata", "description", "on_behalf_of"])?;
        internal.insert("si_metadata".into(), Value::Object(sd.metadata()?));
        if let Some(d) = sd.str_nonempty("description")? {
            internal.insert("si_description".into(), json!(d));
        }
        if let Some(o) = sd.str_nonempty("on_behalf_of")? {
            internal.insert("si_on_behalf_of".into(), json!(o));
        }
    }
    let id = format!("cs_test_a1{}", ids::secret(56));
    let json = json!({
        "id": id,
        "object": KIND,
        "adaptive_pricing": null,
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": null,
        "amount_total": null,
        "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
        "billing_address_collection": if billing == "auto" { Value::Null } else { json!(billing) },
        "cancel_url": cancel_url,
        "client_reference_id": p.str_nonempty("client_reference_id")?,
        "client_secret": null,
        "collected_information": null,
        "consent": null,
        "consent_collection": null,
        "created": ctx.now,
        "currency": currency,
        "currency_conversion": null,
        "custom_fields": [],
        "custom_text": {
            "after_submit": null,
            "shipping_address": null,
            "submit": null,
            "terms_of_service_acceptance": null,
        },
        "customer": customer,
        "customer_creation": null,
        "customer_details": customer_email.as_ref().map(|e| json!({
            "address": null,
            "email": e,
            "name": null,
            "phone": null,
            "tax_exempt": "none",
            "tax_ids": null,
        })),
        "customer_email": customer_email,
        "discounts": [],
        "expires_at": expires_at,
        "invoice": null,
        "invoice_creation": null,
        "livemode": false,
        "locale": locale,
        "metadata": p.metadata()?,
        "mode": "setup",
        "origin_context": null,
        "payment_intent": null,
        "payment_link": null,
        "payment_method_collection": "always",
        "payment_method_configuration_details": null,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "no_payment_required",
        "permissions": null,
        "phone_number_collection": {"enabled": false},
        "recovered_from": null,
        "saved_payment_method_options": null,
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_options": [],
        "status": "open",
        "submit_type": null,
        "subscription": null,
        "success_url": success_url,
        "total_details": null,
        "ui_mode": "hosted",
        "url": format!("{}/hosted/checkout/{id}", ctx.base_url),
        "wallet_options": null,
    });
    Ok(ctx.insert(json, internal))
}

/// Expires an open session whose `expires_at` has passed (Stripe does it within minutes;
/// here whenever the session is next read).
pub fn expire_if_due(ctx: &mut Ctx, id: &str) -> ApiResult<Value> {
    let cs = ctx.get(KIND, id, "session")?.json.clone();
    if cs["status"] == "open" && cs["expires_at"].as_i64().is_some_and(|t| t <= ctx.now) {
        return expire(ctx, id);
    }
    Ok(cs)
}

fn expire(ctx: &mut Ctx, id: &str) -> ApiResult<Value> {
    let mut cs = ctx.get(KIND, id, "session")?.json.clone();
    if cs["status"] != "open" {
        return Err(ApiError::invalid(format!(
            "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of {}.",
            cs["status"].as_str().unwrap_or_default()
        ))
        .with_code("checkout_session_unexpected_state"));
    }
    cs["status"] = json!("expired");
    cs["url"] = Value::Null;
    ctx.get_mut(KIND, id, "session")?.json = cs.clone().into();
    ctx.emit("checkout.session.expired", &cs, None);
    Ok(cs)
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    expire_if_due(ctx, &id)
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["metadata"])?;
    let id = ctx.path(0).to_string();
    let mut cs = expire_if_due(ctx, &id)?;
    let mut md = cs["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    cs["metadata"] = Value::Object(md);
    ctx.get_mut(KIND, &id, "session")?.json = cs.clone().into();
    Ok(cs)
}

fn expire_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    expire_if_due(ctx, &id)?;
    expire(ctx, &id)
}

fn list_sessions(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["customer", "status", "payment_intent", "subscription"]);
    p.known(&allowed)?;
    let customer = p.str_nonempty("customer")?;
    let status = p.enum_str("status", &["open", "complete", "expired"])?;
    let pi = p.str_nonempty("payment_intent")?;
    let sub = p.str_nonempty("subscription")?;
    let account = ctx.account.clone();
    // Sessions past their expiry answer as expired in lists too.
    let due: Vec<String> = ctx
        .st
        .ids_of(&account, KIND)
        .iter()
        .map(|s| s.to_string())
        .collect();
    for id in due {
        expire_if_due(ctx, &id)?;
    }
    list::list_objects(ctx, &account, p, KIND, "/v1/checkout/sessions", |o| {
        customer
            .as_ref()
            .is_none_or(|c| o.json["customer"] == c.as_str())
            && status
                .as_ref()
                .is_none_or(|s| o.json["status"] == s.as_str())
            && pi
                .as_ref()
                .is_none_or(|v| o.json["payment_intent"] == v.as_str())
            && sub
                .as_ref()
                .is_none_or(|v| o.json["subscription"] == v.as_str())
    })
}

/// Saves the card of a hosted-page submission: a SetupIntent for the session's customer is
/// created (first attempt) and confirmed with `pm`. On success the session completes; on a
/// decline the error is returned and the session stays open for another card. A card that
/// asks for 3-D Secure returns the SetupIntent in `requires_action`.
pub fn submit_card(ctx: &mut Ctx, id: &str, pm: &str, return_url: &str) -> ApiResult<Value> {
    let cs = ctx.get(KIND, id, "session")?.json.clone();
    let internal = ctx.get(KIND, id, "session")?.internal.clone();
    let si_id = match cs["setup_intent"].as_str() {
        Some(si) => si.to_string(),
        None => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("payment_method_types[]", "card")
                .append_pair("usage", "off_session");
            if let Some(c) = cs["customer"].as_str() {
                form.append_pair("customer", c);
            }
            if let Some(d) = internal.get("si_description").and_then(Value::as_str) {
                form.append_pair("description", d);
            }
            if let Some(o) = internal.get("si_on_behalf_of").and_then(Value::as_str) {
                form.append_pair("on_behalf_of", o);
            }
            if let Some(md) = internal.get("si_metadata").and_then(Value::as_object) {
                for (k, v) in md {
                    form.append_pair(&format!("metadata[{k}]"), v.as_str().unwrap_or_default());
                }
            }
            let p = Params::new(crate::form::parse(form.finish().as_bytes())?);
            let si = crate::resources::setup_intents::create(ctx, &p)?;
            let si_id = si["id"].as_str().unwrap_or_default().to_string();
            let o = ctx.get_mut(KIND, id, "session")?;
            o.json["setup_intent"] = json!(si_id);
            si_id
        }
    };
    let si = crate::resources::setup_intents::confirm(
        ctx,
        &si_id,
        Some(pm.to_string()),
        Some(return_url.to_string()),
    )?;
    if si["status"] == "succeeded" {
        complete(ctx, id)?;
    }
    Ok(si)
}

/// Marks the session complete once its SetupIntent succeeded; emits
/// `checkout.session.completed`.
pub fn complete(ctx: &mut Ctx, id: &str) -> ApiResult<Value> {
    let mut cs = ctx.get(KIND, id, "session")?.json.clone();
    if cs["status"] != "open" {
        return Ok(cs);
    }
    let si_id = cs["setup_intent"].as_str().unwrap_or_default().to_string();
    let si = ctx
        .get("setup_intent", &si_id, "setup_intent")?
        .json
        .clone();
    if si["status"] != "succeeded" {
        return Ok(cs);
    }
    let pm = si["payment_method"]
        .as_str()
        .and_then(|p| ctx.st.get(p))
        .map(|o| o.json.clone())
        .unwrap_or(Value::Null);
    let customer = cs["customer"]
        .as_str()
        .and_then(|c| ctx.st.get(c))
        .map(|o| o.json.clone())
        .unwrap_or(Value::Null);
    let email = cs["customer_email"]
        .as_str()
        .map(|e| json!(e))
        .unwrap_or_else(|| customer["email"].clone());
    let name = match &pm["billing_details"]["name"] {
        Value::Null => customer["name"].clone(),
        n => n.clone(),
    };
    cs["customer_details"] = json!({
        "address": pm["billing_details"]["address"].clone(),
        "email": email,
        "name": name,
        "phone": customer["phone"].clone(),
        "tax_exempt": customer["tax_exempt"].as_str().unwrap_or("none"),
        "tax_ids": [],
    });
    cs["status"] = json!("complete");
    cs["url"] = Value::Null;
    ctx.get_mut(KIND, id, "session")?.json = cs.clone().into();
    ctx.emit("checkout.session.completed", &cs, None);
    Ok(cs)
}
