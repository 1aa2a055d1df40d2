//! SetupIntents: save a card for later; on success the PaymentMethod is attached to the
//! customer. Cards that need 3-D Secure go through the same hosted challenge as payments, and
//! a card authenticated at setup may then be charged off-session.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::auth::KeyKind;
use crate::error::{ApiError, ApiResult};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::resources::charges::{self, Answer};
use crate::resources::payment_intents::method_types;
use crate::resources::payment_methods;
use crate::testcards::Behavior;

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/setup_intents", create),
        Route::get("/v1/setup_intents", list_sis),
        Route::get("/v1/setup_intents/{id}", retrieve).publishable(),
        Route::post("/v1/setup_intents/{id}", update),
        Route::post("/v1/setup_intents/{id}/confirm", confirm_route).publishable(),
        Route::post("/v1/setup_intents/{id}/cancel", cancel),
    ]
}

const KIND: &str = "setup_intent";

fn unexpected_state(message: String) -> ApiError {
    ApiError::invalid(message).with_code("setup_intent_unexpected_state")
}

pub(crate) fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "customer",
        "payment_method",
        "payment_method_types",
        "automatic_payment_methods",
        "confirm",
        "usage",
        "metadata",
        "description",
        "return_url",
        "on_behalf_of",
        "payment_method_options",
        "mandate_data",
        "use_stripe_sdk",
        "flow_directions",
        "single_use",
        "attach_to_self",
    ])?;
    let (types, automatic) = method_types(p)?;
    let customer = p.str_nonempty("customer")?;
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
    let usage = p
        .enum_str("usage", &["on_session", "off_session"])?
        .unwrap_or_else(|| "off_session".into());
    let pm = match p.str_nonempty("payment_method")? {
        Some(pm) => Some(payment_methods::resolve(ctx, &pm, "payment_method")?),
        None => None,
    };
    let confirm_now = p.bool("confirm")?.unwrap_or(false);
    let return_url = p.str_nonempty("return_url")?;
    let id = ids::new_id("seti");
    let json = json!({
        "id": id,
        "object": KIND,
        "application": null,
        "automatic_payment_methods": automatic,
        "cancellation_reason": null,
        "client_secret": format!("{id}_secret_{}", ids::secret(25)),
        "created": ctx.now,
        "customer": customer,
        "description": p.str_nonempty("description")?,
        "flow_directions": null,
        "last_setup_error": null,
        "latest_attempt": null,
        "livemode": false,
        "mandate": null,
        "metadata": p.metadata()?,
        "next_action": null,
        "on_behalf_of": p.str_nonempty("on_behalf_of")?,
        "payment_method": pm,
        "payment_method_configuration_details": null,
        "payment_method_options": {
            "card": {"mandate_options": null, "network": null, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": types,
        "single_use_mandate": null,
        "status": if pm.is_some() { "requires_confirmation" } else { "requires_payment_method" },
        "usage": usage,
    });
    let json = ctx.insert(json, Map::new());
    ctx.emit("setup_intent.created", &json, None);
    if confirm_now {
        return confirm(ctx, &id, None, return_url);
    }
    Ok(json)
}

fn set(ctx: &mut Ctx, id: &str, json: &Value) -> ApiResult<()> {
    ctx.get_mut(KIND, id, "intent")?.json = json.clone().into();
    Ok(())
}

/// Confirms a SetupIntent: 3-D Secure when the card asks for it, else attach and succeed.
pub fn confirm(
    ctx: &mut Ctx,
    id: &str,
    pm: Option<String>,
    return_url: Option<String>,
) -> ApiResult<Value> {
    let mut si = ctx.get(KIND, id, "intent")?.json.clone();
    let status = si["status"].as_str().unwrap_or_default().to_string();
    if ![
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
    ]
    .contains(&status.as_str())
    {
        return Err(unexpected_state(format!(
            "You cannot confirm this SetupIntent because it has a status of {status}."
        )));
    }
    if let Some(pm) = pm {
        let pm = payment_methods::resolve(ctx, &pm, "payment_method")?;
        si["payment_method"] = json!(pm);
    }
    let Some(pm_id) = si["payment_method"].as_str().map(str::to_string) else {
        return Err(unexpected_state(
            "You cannot confirm this SetupIntent because it's missing a payment method.".into(),
        ));
    };
    let pm_json = ctx
        .get("payment_method", &pm_id, "payment_method")?
        .json
        .clone();
    if let (Some(owner), Some(cus)) = (pm_json["customer"].as_str(), si["customer"].as_str())
        && owner != cus
    {
        return Err(ApiError::invalid(
            "The payment method you provided has already been attached to a customer.",
        )
        .with_code("payment_method_unexpected_state")
        .with_param("payment_method"));
    }
    let return_url = return_url.or_else(|| {
        ctx.st.get(id).and_then(|o| {
            o.internal
                .get("return_url")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    });
    if let Some(u) = &return_url
        && let Some(o) = ctx.st.get_mut(id)
    {
        o.internal.insert("return_url".into(), json!(u));
    }
    let behavior = payment_methods::behavior_of(ctx, &pm_id);
    let authenticated = ctx
        .st
        .get(id)
        .and_then(|o| o.internal.get("authenticated").and_then(Value::as_bool))
        .unwrap_or(false);
    si["last_setup_error"] = Value::Null;
    if behavior == Behavior::Authenticate && !authenticated {
        let token = ids::secret(32);
        ctx.st.tokens.insert(token.clone(), id.to_string());
        si["status"] = json!("requires_action");
        si["next_action"] = json!({
            "redirect_to_url": {"return_url": return_url, "url": format!("{}/hosted/3ds/{token}", ctx.base_url)},
            "type": "redirect_to_url",
        });
        set(ctx, id, &si)?;
        ctx.emit("setup_intent.requires_action", &si, None);
        return Ok(si);
    }
    if let Answer::Declined {
        code,
        decline_code,
        message,
    } = charges::decline_of(behavior)
    {
        si["status"] = json!("requires_payment_method");
        si["payment_method"] = Value::Null;
        si["next_action"] = Value::Null;
        si["last_setup_error"] = json!({
            "code": code,
            "decline_code": decline_code,
            "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
            "message": message,
            "payment_method": pm_json,
            "type": "card_error",
        });
        set(ctx, id, &si)?;
        ctx.emit("setup_intent.setup_failed", &si, None);
        return Err(ApiError::card_error(code, decline_code, message)
            .with_extra("setup_intent", si)
            .with_extra("payment_method", pm_json));
    }
    if let Some(cus) = si["customer"].as_str().map(str::to_string) {
        payment_methods::attach(ctx, &pm_id, &cus, "payment_method")?;
    }
    if behavior == Behavior::Authenticate
        && let Some(o) = ctx.st.get_mut(&pm_id)
    {
        // Authenticated at setup: later off-session payments need no new challenge.
        o.internal.insert("setup_authenticated".into(), json!(true));
    }
    si["status"] = json!("succeeded");
    si["next_action"] = Value::Null;
    set(ctx, id, &si)?;
    ctx.emit("setup_intent.succeeded", &si, None);
    Ok(si)
}

/// The outcome of the hosted 3-D Secure challenge for a SetupIntent.
pub fn complete_authentication(ctx: &mut Ctx, id: &str, approved: bool) -> ApiResult<Value> {
    let mut si = ctx.get(KIND, id, "intent")?.json.clone();
    if si["status"] != "requires_action" {
        return Ok(si);
    }
    if approved {
        if let Some(o) = ctx.st.get_mut(id) {
            o.internal.insert("authenticated".into(), json!(true));
        }
        return match confirm(ctx, id, None, None) {
            Ok(v) => Ok(v),
            Err(_) => Ok(ctx.get(KIND, id, "intent")?.json.clone()),
        };
    }
    let pm = si["payment_method"]
        .as_str()
        .and_then(|p| ctx.st.get(p))
        .map(|o| o.json.clone());
    si["status"] = json!("requires_payment_method");
    si["next_action"] = Value::Null;
    si["payment_method"] = Value::Null;
    si["last_setup_error"] = json!({
        "code": "setup_intent_authentication_failure",
        "doc_url": "https://stripe.com/docs/error-codes/setup-intent-authentication-failure",
        "message": "The latest attempt to set up the payment method has failed because authentication failed.",
        "payment_method": pm,
        "type": "invalid_request_error",
    });
    set(ctx, id, &si)?;
    ctx.emit("setup_intent.setup_failed", &si, None);
    Ok(si)
}

fn check_client_secret(ctx: &Ctx, p: &Params, si: &Value) -> ApiResult<()> {
    let given = p.str_nonempty("client_secret")?;
    if ctx.key_kind == KeyKind::Publishable && given.is_none() {
        return Err(ApiError::missing("client_secret"));
    }
    if let Some(s) = given
        && si["client_secret"] != s.as_str()
    {
        return Err(ApiError::invalid(
            "The client_secret provided does not match the client_secret associated with the SetupIntent.",
        )
        .with_param("client_secret"));
    }
    Ok(())
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["client_secret"])?;
    let id = ctx.path(0).to_string();
    let si = ctx.get(KIND, &id, "intent")?.json.clone();
    check_client_secret(ctx, p, &si)?;
    Ok(si)
}

fn confirm_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "payment_method",
        "return_url",
        "client_secret",
        "payment_method_options",
        "mandate_data",
        "use_stripe_sdk",
    ])?;
    let id = ctx.path(0).to_string();
    let si = ctx.get(KIND, &id, "intent")?.json.clone();
    check_client_secret(ctx, p, &si)?;
    let pm = p.str_nonempty("payment_method")?;
    let return_url = p.str_nonempty("return_url")?;
    confirm(ctx, &id, pm, return_url)
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "customer",
        "description",
        "metadata",
        "payment_method",
        "payment_method_types",
        "payment_method_options",
        "flow_directions",
        "attach_to_self",
    ])?;
    let id = ctx.path(0).to_string();
    let mut si = ctx.get(KIND, &id, "intent")?.json.clone();
    if let Some(c) = p.str_nonempty("customer")? {
        ctx.get("customer", &c, "customer")?;
        si["customer"] = json!(c);
    }
    if let Some(d) = p.str("description")? {
        si["description"] = if d.is_empty() { Value::Null } else { json!(d) };
    }
    if let Some(pm) = p.str_nonempty("payment_method")? {
        let pm = payment_methods::resolve(ctx, &pm, "payment_method")?;
        si["payment_method"] = json!(pm);
        if si["status"] == "requires_payment_method" {
            si["status"] = json!("requires_confirmation");
        }
    }
    if p.has("payment_method_types") {
        let (types, _) = method_types(p)?;
        si["payment_method_types"] = json!(types);
    }
    let mut md = si["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    si["metadata"] = Value::Object(md);
    set(ctx, &id, &si)?;
    Ok(si)
}

fn cancel(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["cancellation_reason"])?;
    let id = ctx.path(0).to_string();
    let mut si = ctx.get(KIND, &id, "intent")?.json.clone();
    let status = si["status"].as_str().unwrap_or_default().to_string();
    if status == "succeeded" || status == "canceled" || status == "processing" {
        return Err(unexpected_state(format!(
            "You cannot cancel this SetupIntent because it has a status of {status}."
        )));
    }
    si["status"] = json!("canceled");
    si["next_action"] = Value::Null;
    si["cancellation_reason"] = p
        .enum_str(
            "cancellation_reason",
            &["abandoned", "duplicate", "requested_by_customer"],
        )?
        .map(Value::String)
        .unwrap_or(Value::Null);
    set(ctx, &id, &si)?;
    ctx.emit("setup_intent.canceled", &si, None);
    Ok(si)
}

fn list_sis(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["customer", "payment_method", "attach_to_self"]);
    p.known(&allowed)?;
    let customer = p.str_nonempty("customer")?;
    let pm = p.str_nonempty("payment_method")?;
    let account = ctx.account.clone();
    list::list_objects(ctx, &account, p, KIND, "/v1/setup_intents", |o| {
        customer
            .as_ref()
            .is_none_or(|c| o.json["customer"] == c.as_str())
            && pm
                .as_ref()
                .is_none_or(|c| o.json["payment_method"] == c.as_str())
    })
}
