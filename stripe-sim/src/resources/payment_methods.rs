//! PaymentMethods: cards from test numbers or `pm_card_*` tokens, attach/detach, cloning a
//! platform customer's card onto a connected account.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::testcards::{self, Behavior, TestCard};

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/payment_methods", create).publishable(),
        Route::get("/v1/payment_methods", list_pms),
        Route::get("/v1/payment_methods/{id}", retrieve),
        Route::post("/v1/payment_methods/{id}", update),
        Route::post("/v1/payment_methods/{id}/attach", attach_route),
        Route::post("/v1/payment_methods/{id}/detach", detach_route),
        Route::get("/v1/customers/{id}/payment_methods", list_customer_pms),
        Route::get(
            "/v1/customers/{cus}/payment_methods/{id}",
            retrieve_customer_pm,
        ),
    ]
}

fn empty_address() -> Value {
    json!({"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null})
}

fn billing_details(p: Option<Params>) -> ApiResult<Value> {
    let mut bd = json!({"address": empty_address(), "email": null, "name": null, "phone": null, "tax_id": null});
    if let Some(b) = p {
        b.known(&["address", "email", "name", "phone", "tax_id"])?;
        for f in ["email", "name", "phone", "tax_id"] {
            if let Some(v) = b.str_nonempty(f)? {
                bd[f] = json!(v);
            }
        }
        if let Some(a) = b.obj("address")? {
            let fields = ["city", "country", "line1", "line2", "postal_code", "state"];
            a.known(&fields)?;
            for f in fields {
                if let Some(v) = a.str_nonempty(f)? {
                    bd["address"][f] = json!(v);
                }
            }
        }
    }
    Ok(bd)
}

fn fingerprint(number: &str) -> String {
    let digest = Sha256::digest(format!("stripe-sim:{number}").as_bytes());
    let hex = hex::encode(digest);
    let mut out = String::new();
    for (i, c) in hex.chars().take(16).enumerate() {
        // Mixed case like Stripe's fingerprints.
        out.push(if i % 3 == 0 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

fn card_json(
    card: &TestCard,
    number: &str,
    exp_month: i64,
    exp_year: i64,
    cvc_given: bool,
) -> Value {
    let last4 = &number[number.len().saturating_sub(4)..];
    json!({
        "brand": card.brand,
        "checks": {
            "address_line1_check": null,
            "address_postal_code_check": null,
            "cvc_check": if cvc_given { json!("unchecked") } else { Value::Null },
        },
        "country": "US",
        "display_brand": card.brand,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": fingerprint(number),
        "funding": card.funding,
        "generated_from": null,
        "last4": last4,
        "networks": {"available": [card.brand], "preferred": null},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": true},
        "wallet": null,
    })
}

fn new_pm_json(ctx: &Ctx, card: Value, billing: Value, metadata: Map<String, Value>) -> Value {
    json!({
        "id": ids::new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing,
        "card": card,
        "created": ctx.now,
        "customer": null,
        "livemode": false,
        "metadata": metadata,
        "type": "card",
    })
}

fn behavior_internal(b: Behavior) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("behavior".into(), json!(b.as_str()));
    m
}

/// Stores a new card PaymentMethod for a test card on the acting account.
fn store_card(
    ctx: &mut Ctx,
    card: &TestCard,
    number: &str,
    exp: (i64, i64),
    cvc: bool,
    billing: Value,
    metadata: Map<String, Value>,
) -> Value {
    let json = new_pm_json(
        ctx,
        card_json(card, number, exp.0, exp.1, cvc),
        billing,
        metadata,
    );
    ctx.insert(json, behavior_internal(card.behavior))
}

/// A card PaymentMethod entered on a hosted page (already checked there), with the
/// cardholder's name when given.
pub fn store_entered_card(
    ctx: &mut Ctx,
    card: &TestCard,
    exp: (i64, i64),
    name: Option<&str>,
) -> Value {
    let mut billing = json!({"address": empty_address(), "email": null, "name": null, "phone": null, "tax_id": null});
    if let Some(n) = name {
        billing["name"] = json!(n);
    }
    store_card(ctx, card, card.number, exp, true, billing, Map::new())
}

/// A PaymentMethod id from a `pm_…` id or a magic `pm_card_*` token (which creates a new one).
pub fn resolve(ctx: &mut Ctx, id: &str, param: &str) -> ApiResult<String> {
    if ctx.st.find(&ctx.account, "payment_method", id).is_some() {
        return Ok(id.to_string());
    }
    if let Some(card) = testcards::by_token(id) {
        let year = 2034;
        let json = store_card(
            ctx,
            &card,
            card.number,
            (12, year),
            true,
            billing_details(None)?,
            Map::new(),
        );
        return Ok(json["id"].as_str().unwrap_or_default().to_string());
    }
    Err(ApiError::no_such("PaymentMethod", id, param))
}

/// The test behaviour of a stored PaymentMethod.
pub fn behavior_of(ctx: &Ctx, pm: &str) -> Behavior {
    ctx.st
        .get(pm)
        .and_then(|o| o.internal.get("behavior").and_then(Value::as_str))
        .map(Behavior::parse)
        .unwrap_or(Behavior::Succeed)
}

/// Attaches `pm` (id or magic token) to customer `cus` on the acting account; emits
/// `payment_method.attached`. Returns the PaymentMethod.
pub fn attach(ctx: &mut Ctx, pm: &str, cus: &str, param: &str) -> ApiResult<Value> {
    let cus_obj = ctx.get("customer", cus, "customer")?;
    if cus_obj
        .internal
        .get("deleted")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Err(ApiError::no_such("customer", cus, "customer"));
    }
    let pm = resolve(ctx, pm, param)?;
    let o = ctx.get_mut("payment_method", &pm, param)?;
    match o.json["customer"].as_str() {
        Some(c) if c == cus => return Ok(o.json.clone()),
        Some(_) => {
            return Err(ApiError::invalid(
                "The payment method you provided has already been attached to a customer.",
            )
            .with_code("payment_method_unexpected_state")
            .with_param(param));
        }
        None => {}
    }
    if o.internal
        .get("consumed")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Err(ApiError::invalid(
            "This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.",
        )
        .with_code("payment_method_unexpected_state")
        .with_param(param));
    }
    o.json["customer"] = json!(cus);
    let json = o.json.clone();
    ctx.emit("payment_method.attached", &json, None);
    Ok(json)
}

fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "type",
        "card",
        "billing_details",
        "metadata",
        "customer",
        "payment_method",
        "allow_redisplay",
    ])?;
    if let Some(source) = p.str_nonempty("payment_method")? {
        return clone_pm(ctx, p, &source);
    }
    if p.has("customer") {
        return Err(ApiError::missing("payment_method"));
    }
    let kind = p
        .str_nonempty("type")?
        .ok_or_else(|| ApiError::missing("type"))?;
    if kind != "card" {
        return Err(ApiError::invalid(format!(
            "The payment method type provided: {kind} is invalid. This simulator supports: card."
        ))
        .with_code("parameter_invalid_string")
        .with_param("type"));
    }
    let card = p.obj("card")?.ok_or_else(|| ApiError::missing("card"))?;
    card.known(&[
        "number",
        "exp_month",
        "exp_year",
        "cvc",
        "token",
        "networks",
    ])?;
    let billing = billing_details(p.obj("billing_details")?)?;
    let metadata = p.metadata()?;
    if let Some(token) = card.str_nonempty("token")? {
        let tc = testcards::by_token(&token)
            .ok_or_else(|| ApiError::no_such("token", &token, "card[token]"))?;
        return Ok(store_card(
            ctx,
            &tc,
            tc.number,
            (12, 2034),
            true,
            billing,
            metadata,
        ));
    }
    let number: String = card
        .req_str("number")?
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let exp_month = card.req_i64("exp_month")?;
    let exp_year = card.req_i64("exp_year")?;
    let exp_year = if exp_year < 100 {
        2000 + exp_year
    } else {
        exp_year
    };
    let tc = match testcards::by_number(&number) {
        Some(tc) => tc,
        None if testcards::luhn_valid(&number) => TestCard {
            number: "",
            brand: testcards::brand_of(&number),
            funding: "credit",
            behavior: Behavior::Succeed,
        },
        None => {
            return Err(ApiError::card_error(
                "incorrect_number",
                None,
                "Your card number is incorrect.",
            )
            .with_param("card[number]"));
        }
    };
    if !(1..=12).contains(&exp_month) {
        return Err(ApiError::card_error(
            "invalid_expiry_month",
            None,
            "Your card's expiration month is invalid.",
        )
        .with_param("card[exp_month]"));
    }
    let this_year = 1970 + ctx.now / 31_556_952;
    if exp_year < this_year || exp_year > this_year + 50 {
        return Err(ApiError::card_error(
            "invalid_expiry_year",
            None,
            "Your card's expiration year is invalid.",
        )
        .with_param("card[exp_year]"));
    }
    let cvc = card.str_nonempty("cvc")?;
    if cvc
        .as_ref()
        .is_some_and(|c| !(3..=4).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::card_error(
            "invalid_cvc",
            None,
            "Your card's security code is invalid.",
        )
        .with_param("card[cvc]"));
    }
    Ok(store_card(
        ctx,
        &tc,
        &number,
        (exp_month, exp_year),
        cvc.is_some(),
        billing,
        metadata,
    ))
}

/// Copies a platform customer's PaymentMethod onto the connected account in `Stripe-Account`.
fn clone_pm(ctx: &mut Ctx, p: &Params, source: &str) -> ApiResult<Value> {
    let customer = p.str_nonempty("customer")?;
    let platform = ctx.platform.clone();
    let src = match ctx.st.find(&platform, "payment_method", source) {
        Some(o) => o.clone(),
        None => {
            // A magic token can be cloned directly.
            if let Some(tc) = testcards::by_token(source) {
                let billing = billing_details(p.obj("billing_details")?)?;
                return Ok(store_card(
                    ctx,
                    &tc,
                    tc.number,
                    (12, 2034),
                    true,
                    billing,
                    p.metadata()?,
                ));
            }
            return Err(ApiError::no_such("PaymentMethod", source, "payment_method"));
        }
    };
    match (&customer, src.json["customer"].as_str()) {
        (Some(c), Some(owner)) if c == owner => {}
        (Some(c), _) => {
            if ctx.st.find(&platform, "customer", c).is_none() {
                return Err(ApiError::no_such("customer", c, "customer"));
            }
            return Err(ApiError::invalid(format!(
                "The payment method {source} is not attached to the customer {c}."
            ))
            .with_param("payment_method"));
        }
        (None, Some(_)) => return Err(ApiError::missing("customer")),
        (None, None) => {}
    }
    let mut json = src.json.clone();
    json["id"] = json!(ids::new_id("pm"));
    json["customer"] = Value::Null;
    json["created"] = json!(ctx.now);
    json["metadata"] = json!(p.metadata()?);
    if let Some(b) = p.obj("billing_details")? {
        json["billing_details"] = billing_details(Some(b))?;
    }
    Ok(ctx.insert(json, src.internal.clone()))
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let id = resolve(ctx, &id, "payment_method")?;
    Ok(ctx
        .get("payment_method", &id, "payment_method")?
        .json
        .clone())
}

fn retrieve_customer_pm(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let cus = ctx.path(0).to_string();
    let id = ctx.path(1).to_string();
    ctx.get("customer", &cus, "customer")?;
    let pm = ctx.get("payment_method", &id, "payment_method")?;
    if pm.json["customer"] != cus.as_str() {
        return Err(ApiError::no_such("PaymentMethod", &id, "payment_method"));
    }
    Ok(pm.json.clone())
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["billing_details", "metadata", "card", "allow_redisplay"])?;
    let id = ctx.path(0).to_string();
    let mut json = ctx
        .get("payment_method", &id, "payment_method")?
        .json
        .clone();
    let old = json.clone();
    if let Some(b) = p.obj("billing_details")? {
        json["billing_details"] = billing_details(Some(b))?;
    }
    if let Some(c) = p.obj("card")? {
        c.known(&["exp_month", "exp_year", "networks"])?;
        if let Some(m) = c.i64("exp_month")? {
            if !(1..=12).contains(&m) {
                return Err(
                    ApiError::invalid("Your card's expiration month is invalid.")
                        .with_param("card[exp_month]"),
                );
            }
            json["card"]["exp_month"] = json!(m);
        }
        if let Some(y) = c.i64("exp_year")? {
            json["card"]["exp_year"] = json!(y);
        }
    }
    if let Some(a) = p.enum_str("allow_redisplay", &["always", "limited", "unspecified"])? {
        json["allow_redisplay"] = json!(a);
    }
    let mut md = json["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    json["metadata"] = Value::Object(md);
    ctx.get_mut("payment_method", &id, "payment_method")?.json = json.clone().into();
    if json != old {
        let prev = crate::events::diff(&old, &json);
        ctx.emit("payment_method.updated", &json, Some(prev));
    }
    Ok(json)
}

fn attach_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["customer"])?;
    let id = ctx.path(0).to_string();
    let cus = p.req_str("customer")?;
    attach(ctx, &id, &cus, "payment_method")
}

fn detach_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let o = ctx.get_mut("payment_method", &id, "payment_method")?;
    let Some(cus) = o.json["customer"].as_str().map(str::to_string) else {
        return Err(ApiError::invalid("The payment method you provided is not attached to a customer so detachment is impossible.")
            .with_code("payment_method_unexpected_state"));
    };
    o.json["customer"] = Value::Null;
    o.internal.insert("consumed".into(), json!(true));
    let json = o.json.clone();
    let prev = json!({"customer": cus});
    ctx.emit("payment_method.detached", &json, Some(prev));
    // A detached default payment method stops being the customer's default.
    if let Some(c) = ctx.st.find_mut(&ctx.account.clone(), "customer", &cus)
        && c.json["invoice_settings"]["default_payment_method"] == id.as_str()
    {
        c.json["invoice_settings"]["default_payment_method"] = Value::Null;
    }
    Ok(json)
}

fn list_for(ctx: &mut Ctx, p: &Params, cus: Option<String>, url: &str) -> ApiResult<Value> {
    let kind = p.str_nonempty("type")?;
    if let Some(c) = &cus {
        ctx.get("customer", c, "customer")?;
    }
    let account = ctx.account.clone();
    list::list_objects(ctx, &account, p, "payment_method", url, |o| {
        cus.as_ref()
            .is_none_or(|c| o.json["customer"] == c.as_str())
            && kind.as_ref().is_none_or(|t| o.json["type"] == t.as_str())
    })
}

fn list_pms(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["customer", "type"]);
    p.known(&allowed)?;
    let cus = p.str_nonempty("customer")?;
    list_for(ctx, p, cus, "/v1/payment_methods")
}

fn list_customer_pms(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["type", "allow_redisplay"]);
    p.known(&allowed)?;
    let cus = ctx.path(0).to_string();
    let url = format!("/v1/customers/{cus}/payment_methods");
    list_for(ctx, p, Some(cus), &url)
}
