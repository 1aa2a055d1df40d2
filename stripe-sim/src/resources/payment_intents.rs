//! PaymentIntents and their state machine:
//! requires_payment_method → requires_confirmation → (requires_action) → requires_capture /
//! succeeded, or canceled. Declines return to requires_payment_method with
//! `last_payment_error` and answer 402.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::auth::KeyKind;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, EventRequest};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::resources::charges::{self, Answer};
use crate::resources::payment_methods;
use crate::store::State;
use crate::testcards::Behavior;

/// Card authorizations are held for seven days.
pub const AUTHORIZATION_SECS: i64 = 7 * 24 * 3600;
const MIN_AMOUNT: i64 = 50;
const MAX_AMOUNT: i64 = 99_999_999;

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/payment_intents", create),
        Route::get("/v1/payment_intents", list_pis),
        Route::get("/v1/payment_intents/{id}", retrieve).publishable(),
        Route::post("/v1/payment_intents/{id}", update),
        Route::post("/v1/payment_intents/{id}/confirm", confirm_route).publishable(),
        Route::post("/v1/payment_intents/{id}/capture", capture_route),
        Route::post("/v1/payment_intents/{id}/cancel", cancel_route),
    ]
}

fn unexpected_state(message: String) -> ApiError {
    ApiError::invalid(message).with_code("payment_intent_unexpected_state")
}

fn doc_url(code: &str) -> String {
    format!(
        "https://stripe.com/docs/error-codes/{}",
        code.replace('_', "-")
    )
}

/// `payment_method_types[]` / `allowed_payment_method_types[]` / `automatic_payment_methods`.
pub fn method_types(p: &Params) -> ApiResult<(Vec<String>, Value)> {
    let mut types = None;
    for key in ["payment_method_types", "allowed_payment_method_types"] {
        if let Some(t) = p.str_list(key)? {
            for one in &t {
                if one != "card" {
                    return Err(ApiError::invalid(format!(
                        "The payment method type \"{one}\" is invalid. Please ensure the provided type is activated in your dashboard (https://dashboard.stripe.com/account/payments/settings) and your account is enabled for any preview features that you are trying to use. This simulator supports: card."
                    ))
                    .with_code("payment_intent_invalid_parameter")
                    .with_param(key));
                }
            }
            if !t.is_empty() {
                types = Some(t);
            }
        }
    }
    let mut automatic = Value::Null;
    if let Some(a) = p.obj("automatic_payment_methods")? {
        a.known(&["enabled", "allow_redirects"])?;
        if a.bool("enabled")?.unwrap_or(false) {
            let redirects = a
                .enum_str("allow_redirects", &["always", "never"])?
                .unwrap_or_else(|| "always".into());
            automatic = json!({"allow_redirects": redirects, "enabled": true});
        }
    }
    Ok((types.unwrap_or_else(|| vec!["card".to_string()]), automatic))
}

fn validate_amount(amount: i64, param: &str) -> ApiResult<()> {
    if amount < MIN_AMOUNT {
        return Err(ApiError::invalid("Amount must be at least $0.50 usd")
            .with_code("amount_too_small")
            .with_param(param));
    }
    if amount > MAX_AMOUNT {
        return Err(ApiError::invalid("Amount must be no more than $999,999.99")
            .with_code("amount_too_large")
            .with_param(param));
    }
    Ok(())
}

pub(crate) fn currency(p: &Params) -> ApiResult<Option<String>> {
    match p.str("currency")? {
        None => Ok(None),
        Some(c) if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            Ok(Some(c.to_lowercase()))
        }
        Some(c) => Err(ApiError::invalid(format!("Invalid currency: {c}."))
            .with_code("parameter_invalid_string")
            .with_param("currency")),
    }
}

fn check_fee(ctx: &Ctx, fee: Option<i64>, amount: i64) -> ApiResult<()> {
    if let Some(f) = fee {
        if !ctx.is_connected() {
            return Err(ApiError::invalid(
                "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).",
            )
            .with_param("application_fee_amount"));
        }
        if f > amount {
            return Err(ApiError::invalid(format!(
                "The application fee amount ({f}) cannot be greater than the amount of the PaymentIntent ({amount})."
            ))
            .with_code("amount_too_large")
            .with_param("application_fee_amount"));
        }
    }
    Ok(())
}

/// The customer must exist (and not be deleted) on the acting account.
fn check_customer(ctx: &Ctx, cus: &str) -> ApiResult<()> {
    let o = ctx.get("customer", cus, "customer")?;
    if o.internal
        .get("deleted")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Err(ApiError::no_such("customer", cus, "customer"));
    }
    Ok(())
}

const CREATE_PARAMS: &[&str] = &[
    "amount",
    "currency",
    "customer",
    "payment_method",
    "payment_method_types",
    "allowed_payment_method_types",
    "automatic_payment_methods",
    "confirm",
    "off_session",
    "capture_method",
    "confirmation_method",
    "application_fee_amount",
    "description",
    "metadata",
    "receipt_email",
    "setup_future_usage",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "return_url",
    "transfer_group",
    "on_behalf_of",
    "shipping",
    "payment_method_options",
    "error_on_requires_action",
    "mandate_data",
    "use_stripe_sdk",
    "payment_method_data",
];

fn shipping(p: &Params) -> ApiResult<Option<Value>> {
    let Some(s) = p.obj("shipping")? else {
        return Ok(None);
    };
    s.known(&["address", "name", "phone", "carrier", "tracking_number"])?;
    let mut addr = json!({"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null});
    if let Some(a) = s.obj("address")? {
        let fields = ["city", "country", "line1", "line2", "postal_code", "state"];
        a.known(&fields)?;
        for f in fields {
            if let Some(v) = a.str_nonempty(f)? {
                addr[f] = json!(v);
            }
        }
    }
    Ok(Some(json!({
        "address": addr,
        "carrier": s.str_nonempty("carrier")?,
        "name": s.req_str("name")?,
        "phone": s.str_nonempty("phone")?,
        "tracking_number": s.str_nonempty("tracking_number")?,
    })))
}

fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(CREATE_PARAMS)?;
    let amount = p.req_i64("amount")?;
    validate_amount(amount, "amount")?;
    let currency = currency(p)?.ok_or_else(|| ApiError::missing("currency"))?;
    let (types, automatic) = method_types(p)?;
    let capture_method = p
        .enum_str(
            "capture_method",
            &["automatic", "automatic_async", "manual"],
        )?
        .unwrap_or_else(|| "automatic_async".into());
    let confirmation_method = p
        .enum_str("confirmation_method", &["automatic", "manual"])?
        .unwrap_or_else(|| "automatic".into());
    let fee = p.amount("application_fee_amount")?;
    check_fee(ctx, fee, amount)?;
    let customer = p.str_nonempty("customer")?;
    if let Some(c) = &customer {
        check_customer(ctx, c)?;
    }
    let sfu = p.enum_str("setup_future_usage", &["on_session", "off_session"])?;
    if sfu.is_some() && customer.is_none() {
        // Stripe allows this, but the saved method needs a customer to be reusable.
    }
    let confirm_now = p.bool("confirm")?.unwrap_or(false);
    let off_session = p.str("off_session")?;
    if off_session.is_some() && !confirm_now {
        return Err(
            ApiError::invalid("off_session can only be used with confirm=true.")
                .with_param("off_session"),
        );
    }
    let return_url = p.str_nonempty("return_url")?;
    if return_url.is_some() && !confirm_now {
        return Err(
            ApiError::invalid("return_url can only be used with confirm=true.")
                .with_param("return_url"),
        );
    }
    if p.has("payment_method_data") {
        return Err(ApiError::invalid(
            "payment_method_data is not supported by this simulator; create a PaymentMethod first.",
        )
        .with_param("payment_method_data"));
    }
    let pm = match p.str_nonempty("payment_method")? {
        Some(pm) => Some(payment_methods::resolve(ctx, &pm, "payment_method")?),
        None => None,
    };
    let mut md = Map::new();
    p.metadata_into(&mut md)?;
    let id = ids::new_id("pi");
    let client_secret = format!("{id}_secret_{}", ids::secret(25));
    let application = if ctx.is_connected() {
        json!(charges::application_id(&ctx.platform))
    } else {
        Value::Null
    };
    let json = json!({
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": application,
        "application_fee_amount": fee,
        "automatic_payment_methods": automatic,
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": capture_method,
        "client_secret": client_secret,
        "confirmation_method": confirmation_method,
        "created": ctx.now,
        "currency": currency,
        "customer": customer,
        "description": p.str_nonempty("description")?,
        "excluded_payment_method_types": null,
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "metadata": md,
        "next_action": null,
        "on_behalf_of": p.str_nonempty("on_behalf_of")?,
        "payment_method": pm,
        "payment_method_configuration_details": null,
        "payment_method_options": {
            "card": {"installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": types,
        "processing": null,
        "receipt_email": p.str_nonempty("receipt_email")?,
        "review": null,
        "setup_future_usage": sfu,
        "shipping": shipping(p)?,
        "source": null,
        "statement_descriptor": p.str_nonempty("statement_descriptor")?,
        "statement_descriptor_suffix": p.str_nonempty("statement_descriptor_suffix")?,
        "status": if pm.is_some() { "requires_confirmation" } else { "requires_payment_method" },
        "transfer_data": null,
        "transfer_group": p.str_nonempty("transfer_group")?,
    });
    let json = ctx.insert(json, Map::new());
    ctx.emit("payment_intent.created", &json, None);
    if confirm_now {
        let opts = ConfirmOpts {
            payment_method: None,
            return_url,
            off_session: off_session.map(|s| s != "false"),
        };
        return confirm(ctx, &id, opts);
    }
    Ok(json)
}

pub struct ConfirmOpts {
    pub payment_method: Option<String>,
    pub return_url: Option<String>,
    pub off_session: Option<bool>,
}

fn set_pi(ctx: &mut Ctx, id: &str, json: &Value) -> ApiResult<()> {
    ctx.get_mut("payment_intent", id, "intent")?.json = json.clone().into();
    Ok(())
}

/// Confirms a PaymentIntent: authenticates, charges, and (automatic capture) settles.
pub fn confirm(ctx: &mut Ctx, id: &str, opts: ConfirmOpts) -> ApiResult<Value> {
    let mut pi = ctx.get("payment_intent", id, "intent")?.json.clone();
    let status = pi["status"].as_str().unwrap_or_default().to_string();
    if ![
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
    ]
    .contains(&status.as_str())
    {
        return Err(unexpected_state(format!(
            "You cannot confirm this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_payment_method, requires_action."
        ))
        .with_extra("payment_intent", pi));
    }
    if let Some(pm) = &opts.payment_method {
        let pm = payment_methods::resolve(ctx, pm, "payment_method")?;
        if pi["payment_method"] != pm.as_str() {
            // A new payment method starts a fresh authentication.
            if let Some(o) = ctx.st.get_mut(id) {
                o.internal.remove("authenticated");
            }
        }
        pi["payment_method"] = json!(pm);
    }
    let Some(pm_id) = pi["payment_method"].as_str().map(str::to_string) else {
        return Err(unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.".into(),
        ));
    };
    let pm = ctx.get("payment_method", &pm_id, "payment_method")?;
    let pm_json = pm.json.clone();
    let consumed = pm
        .internal
        .get("consumed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(owner) = pm_json["customer"].as_str() {
        if pi["customer"] != owner {
            return Err(ApiError::invalid(format!(
                "The provided PaymentMethod {pm_id} is attached to customer {owner}; set customer={owner} on the PaymentIntent to use it."
            ))
            .with_param("payment_method"));
        }
    } else if consumed {
        return Err(ApiError::invalid(
            "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.",
        )
        .with_param("payment_method"));
    }
    let account = ctx
        .st
        .get(&ctx.account)
        .map(|o| o.json.clone())
        .unwrap_or(Value::Null);
    if account["charges_enabled"] != true {
        return Err(ApiError::invalid(format!(
            "Your account cannot currently make charges. To find out why charge creation is currently disabled, look at the `requirements.disabled_reason` property on this account (/v1/accounts/{}).",
            ctx.account
        )));
    }
    let return_url = opts.return_url.clone().or_else(|| {
        ctx.st.get(id).and_then(|o| {
            o.internal
                .get("return_url")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    });
    if let Some(o) = ctx.st.get_mut(id)
        && let Some(u) = &return_url
    {
        o.internal.insert("return_url".into(), json!(u));
    }
    let behavior = payment_methods::behavior_of(ctx, &pm_id);
    let authenticated = ctx
        .st
        .get(id)
        .and_then(|o| o.internal.get("authenticated").and_then(Value::as_bool))
        .unwrap_or(false);
    pi["last_payment_error"] = Value::Null;

    let setup_authenticated = ctx
        .st
        .get(&pm_id)
        .and_then(|o| {
            o.internal
                .get("setup_authenticated")
                .and_then(Value::as_bool)
        })
        .unwrap_or(false);
    let authenticated = authenticated || (setup_authenticated && opts.off_session == Some(true));
    if behavior == Behavior::Authenticate && !authenticated {
        if opts.off_session == Some(true) {
            let answer = Answer::Declined {
                code: "authentication_required",
                decline_code: Some("authentication_required"),
                message: "Your card was declined. This transaction requires authentication.",
            };
            return fail(ctx, pi, &pm_json, &answer);
        }
        let token = ids::secret(32);
        ctx.st.tokens.insert(token.clone(), id.to_string());
        pi["status"] = json!("requires_action");
        pi["next_action"] = json!({
            "redirect_to_url": {
                "return_url": return_url,
                "url": format!("{}/hosted/3ds/{token}", ctx.base_url),
            },
            "type": "redirect_to_url",
        });
        set_pi(ctx, id, &pi)?;
        ctx.emit("payment_intent.requires_action", &pi, None);
        return Ok(pi);
    }
    let answer = charges::decline_of(behavior);
    if matches!(answer, Answer::Declined { .. }) {
        return fail(ctx, pi, &pm_json, &answer);
    }
    succeed(ctx, pi, &pm_json, behavior)
}

/// A declined confirmation: failed charge, PaymentIntent back to requires_payment_method, 402.
fn fail(ctx: &mut Ctx, mut pi: Value, pm: &Value, answer: &Answer) -> ApiResult<Value> {
    let id = pi["id"].as_str().unwrap_or_default().to_string();
    let Answer::Declined {
        code,
        decline_code,
        message,
    } = answer
    else {
        return Ok(pi);
    };
    let charge = charges::create_for_pi(ctx, &pi, pm, answer, true);
    let charge_id = charge["id"].as_str().unwrap_or_default().to_string();
    let error = json!({
        "charge": charge_id,
        "code": code,
        "decline_code": decline_code,
        "doc_url": doc_url(code),
        "message": message,
        "payment_method": pm,
        "type": "card_error",
    });
    pi["status"] = json!("requires_payment_method");
    pi["next_action"] = Value::Null;
    pi["latest_charge"] = json!(charge_id);
    pi["last_payment_error"] = error;
    // Stripe detaches the failed payment method from the intent.
    pi["payment_method"] = Value::Null;
    set_pi(ctx, &id, &pi)?;
    ctx.emit("charge.failed", &charge, None);
    ctx.emit("payment_intent.payment_failed", &pi, None);
    let mut err = ApiError::card_error(code, *decline_code, message)
        .with_extra("charge", json!(charge_id))
        .with_extra("payment_intent", pi.clone())
        .with_extra("payment_method", pm.clone());
    err.extra.insert("doc_url".into(), json!(doc_url(code)));
    Err(err)
}

fn succeed(ctx: &mut Ctx, mut pi: Value, pm: &Value, behavior: Behavior) -> ApiResult<Value> {
    let id = pi["id"].as_str().unwrap_or_default().to_string();
    let manual = pi["capture_method"] == "manual";
    let mut charge = charges::create_for_pi(ctx, &pi, pm, &Answer::Approved, !manual);
    let charge_id = charge["id"].as_str().unwrap_or_default().to_string();
    let amount = pi["amount"].as_i64().unwrap_or(0);
    pi["latest_charge"] = json!(charge_id);
    pi["next_action"] = Value::Null;
    let pm_id = pm["id"].as_str().unwrap_or_default().to_string();
    // Saving for later: attach to the customer, as setup_future_usage asks.
    if !pi["setup_future_usage"].is_null()
        && pm["customer"].is_null()
        && let Some(cus) = pi["customer"].as_str().map(str::to_string)
    {
        payment_methods::attach(ctx, &pm_id, &cus, "payment_method")?;
    }
    let still_unattached = ctx
        .st
        .get(&pm_id)
        .is_some_and(|o| o.json["customer"].is_null());
    if still_unattached && let Some(o) = ctx.st.get_mut(&pm_id) {
        o.internal.insert("consumed".into(), json!(true));
    }
    if manual {
        pi["status"] = json!("requires_capture");
        pi["amount_capturable"] = json!(amount);
        set_pi(ctx, &id, &pi)?;
        ctx.emit("charge.succeeded", &charge, None);
        ctx.emit("payment_intent.amount_capturable_updated", &pi, None);
        return Ok(pi);
    }
    let fee = pi["application_fee_amount"].as_i64();
    charge = charges::settle(ctx, &charge_id, amount, fee)?;
    pi["status"] = json!("succeeded");
    pi["amount_received"] = json!(amount);
    set_pi(ctx, &id, &pi)?;
    ctx.emit("charge.succeeded", &charge, None);
    ctx.emit("payment_intent.succeeded", &pi, None);
    if behavior == Behavior::Dispute {
        let request = EventRequest {
            id: Some(ctx.request_id.clone()),
            idempotency_key: ctx.idempotency_key.clone(),
        };
        let account = ctx.account.clone();
        crate::resources::disputes::open_for_charge(
            ctx.st,
            &account,
            &charge_id,
            "fraudulent",
            None,
            request,
        )?;
    }
    Ok(ctx.get("payment_intent", &id, "intent")?.json.clone())
}

/// The outcome of the hosted 3-D Secure challenge.
pub fn complete_authentication(ctx: &mut Ctx, id: &str, approved: bool) -> ApiResult<Value> {
    let pi = ctx.get("payment_intent", id, "intent")?.json.clone();
    if pi["status"] != "requires_action" {
        return Ok(pi);
    }
    if approved {
        if let Some(o) = ctx.st.get_mut(id) {
            o.internal.insert("authenticated".into(), json!(true));
        }
        let opts = ConfirmOpts {
            payment_method: None,
            return_url: None,
            off_session: None,
        };
        // A decline after authentication is recorded on the PaymentIntent; the page only redirects.
        return match confirm(ctx, id, opts) {
            Ok(v) => Ok(v),
            Err(_) => Ok(ctx.get("payment_intent", id, "intent")?.json.clone()),
        };
    }
    let mut pi = pi;
    let pm = pi["payment_method"]
        .as_str()
        .and_then(|p| ctx.st.get(p))
        .map(|o| o.json.clone());
    pi["status"] = json!("requires_payment_method");
    pi["next_action"] = Value::Null;
    pi["payment_method"] = Value::Null;
    pi["last_payment_error"] = json!({
        "code": "payment_intent_authentication_failure",
        "doc_url": doc_url("payment_intent_authentication_failure"),
        "message": "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
        "payment_method": pm,
        "type": "invalid_request_error",
    });
    set_pi(ctx, id, &pi)?;
    ctx.emit("payment_intent.payment_failed", &pi, None);
    Ok(pi)
}

fn capture(ctx: &mut Ctx, id: &str, p: &Params) -> ApiResult<Value> {
    let mut pi = ctx.get("payment_intent", id, "intent")?.json.clone();
    let status = pi["status"].as_str().unwrap_or_default().to_string();
    if status != "requires_capture" {
        return Err(unexpected_state(format!(
            "This PaymentIntent could not be captured because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture."
        )));
    }
    let capturable = pi["amount_capturable"].as_i64().unwrap_or(0);
    if pi["created"].as_i64().unwrap_or(0) + AUTHORIZATION_SECS <= ctx.now {
        return Err(ApiError::invalid(
            "This PaymentIntent's authorization has expired and can no longer be captured.",
        )
        .with_code("charge_expired_for_capture"));
    }
    let amount = p.amount("amount_to_capture")?.unwrap_or(capturable);
    if amount > capturable {
        return Err(ApiError::invalid(format!(
            "The amount to capture ({amount}) is greater than the amount capturable ({capturable})."
        ))
        .with_code("amount_too_large")
        .with_param("amount_to_capture"));
    }
    if amount < 1 {
        return Err(ApiError::invalid("Amount to capture must be at least 1.")
            .with_code("amount_too_small")
            .with_param("amount_to_capture"));
    }
    let fee = match p.amount("application_fee_amount")? {
        Some(f) => {
            check_fee(ctx, Some(f), amount)?;
            Some(f)
        }
        None => pi["application_fee_amount"].as_i64(),
    };
    if fee.is_some_and(|f| f > amount) {
        return Err(ApiError::invalid(
            "The application fee cannot be greater than the captured amount.",
        )
        .with_code("amount_too_large")
        .with_param("application_fee_amount"));
    }
    let mut md = pi["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    pi["metadata"] = Value::Object(md);
    let charge_id = pi["latest_charge"].as_str().unwrap_or_default().to_string();
    let old_charge = ctx.get("charge", &charge_id, "charge")?.json.clone();
    let charge = charges::settle(ctx, &charge_id, amount, fee)?;
    pi["status"] = json!("succeeded");
    pi["amount_received"] = json!(amount);
    pi["amount_capturable"] = json!(0);
    pi["application_fee_amount"] = fee.map(|f| json!(f)).unwrap_or(Value::Null);
    set_pi(ctx, id, &pi)?;
    ctx.emit(
        "charge.captured",
        &charge,
        Some(events::diff(&old_charge, &charge)),
    );
    ctx.emit("payment_intent.succeeded", &pi, None);
    let behavior =
        payment_methods::behavior_of(ctx, pi["payment_method"].as_str().unwrap_or_default());
    if behavior == Behavior::Dispute {
        let request = EventRequest {
            id: Some(ctx.request_id.clone()),
            idempotency_key: ctx.idempotency_key.clone(),
        };
        let account = ctx.account.clone();
        crate::resources::disputes::open_for_charge(
            ctx.st,
            &account,
            &charge_id,
            "fraudulent",
            None,
            request,
        )?;
    }
    Ok(ctx.get("payment_intent", id, "intent")?.json.clone())
}

/// Cancels a PaymentIntent of `account`; an authorized charge is released (refunded).
/// `expired` marks the seven-day authorization expiry (events charge.expired).
fn cancel_core(
    st: &mut State,
    account: &str,
    id: &str,
    reason: Option<String>,
    expired: bool,
    request: EventRequest,
) -> ApiResult<Value> {
    let pi_obj = st
        .find(account, "payment_intent", id)
        .ok_or_else(|| ApiError::no_such("payment_intent", id, "intent"))?;
    let mut pi = pi_obj.json.clone();
    let status = pi["status"].as_str().unwrap_or_default().to_string();
    let cancellable = [
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
        "processing",
    ];
    if !cancellable.contains(&status.as_str()) {
        return Err(unexpected_state(format!(
            "You cannot cancel this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing."
        )));
    }
    let now = st.now();
    if status == "requires_capture"
        && let Some(ch_id) = pi["latest_charge"].as_str()
        && let Some(ch) = st.find_mut(account, "charge", ch_id)
    {
        let old = ch.json.clone();
        let amount = ch.json["amount"].as_i64().unwrap_or(0);
        ch.json["amount_refunded"] = json!(amount);
        ch.json["refunded"] = json!(true);
        let new = ch.json.clone();
        let kind = if expired {
            "charge.expired"
        } else {
            "charge.refunded"
        };
        events::emit(
            st,
            account,
            kind,
            &new,
            Some(events::diff(&old, &new)),
            request.clone(),
        );
    }
    pi["status"] = json!("canceled");
    pi["canceled_at"] = json!(now);
    pi["cancellation_reason"] = match reason {
        Some(r) => json!(r),
        None if expired => json!("automatic"),
        None => Value::Null,
    };
    pi["amount_capturable"] = json!(0);
    pi["next_action"] = Value::Null;
    if let Some(o) = st.find_mut(account, "payment_intent", id) {
        o.json = pi.clone().into();
    }
    events::emit(st, account, "payment_intent.canceled", &pi, None, request);
    Ok(pi)
}

/// Seven days after authorization an uncaptured PaymentIntent is canceled (reason
/// `automatic`) and its charge released. Used by the advance-time test helper.
pub fn expire_authorization(
    st: &mut State,
    account: &str,
    id: &str,
    request: EventRequest,
) -> ApiResult<Value> {
    cancel_core(st, account, id, None, true, request)
}

fn check_client_secret(ctx: &Ctx, p: &Params, pi: &Value) -> ApiResult<()> {
    let given = p.str_nonempty("client_secret")?;
    if ctx.key_kind == KeyKind::Publishable && given.is_none() {
        return Err(ApiError::missing("client_secret"));
    }
    if let Some(s) = given
        && pi["client_secret"] != s.as_str()
    {
        return Err(ApiError::invalid(
            "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
        )
        .with_code("payment_intent_invalid_parameter")
        .with_param("client_secret"));
    }
    Ok(())
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["client_secret"])?;
    let id = ctx.path(0).to_string();
    let pi = ctx.get("payment_intent", &id, "intent")?.json.clone();
    check_client_secret(ctx, p, &pi)?;
    Ok(pi)
}

fn confirm_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "payment_method",
        "return_url",
        "off_session",
        "client_secret",
        "setup_future_usage",
        "payment_method_options",
        "receipt_email",
        "mandate_data",
        "use_stripe_sdk",
        "error_on_requires_action",
        "shipping",
        "capture_method",
        "payment_method_types",
    ])?;
    let id = ctx.path(0).to_string();
    let pi = ctx.get("payment_intent", &id, "intent")?.json.clone();
    check_client_secret(ctx, p, &pi)?;
    let mut pi_updates = pi.clone();
    if let Some(s) = p.enum_str("setup_future_usage", &["on_session", "off_session"])? {
        pi_updates["setup_future_usage"] = json!(s);
    }
    if let Some(r) = p.str_nonempty("receipt_email")? {
        pi_updates["receipt_email"] = json!(r);
    }
    if let Some(c) = p.enum_str(
        "capture_method",
        &["automatic", "automatic_async", "manual"],
    )? {
        pi_updates["capture_method"] = json!(c);
    }
    if let Some(s) = shipping(p)? {
        pi_updates["shipping"] = s;
    }
    if pi_updates != pi
        && [
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        ]
        .contains(&pi["status"].as_str().unwrap_or_default())
    {
        set_pi(ctx, &id, &pi_updates)?;
    }
    let opts = ConfirmOpts {
        payment_method: p.str_nonempty("payment_method")?,
        return_url: p.str_nonempty("return_url")?,
        off_session: p.str("off_session")?.map(|s| s != "false"),
    };
    confirm(ctx, &id, opts)
}

fn capture_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "amount_to_capture",
        "application_fee_amount",
        "final_capture",
        "metadata",
        "statement_descriptor",
        "statement_descriptor_suffix",
    ])?;
    let id = ctx.path(0).to_string();
    capture(ctx, &id, p)
}

fn cancel_route(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["cancellation_reason"])?;
    let id = ctx.path(0).to_string();
    let reason = p.enum_str(
        "cancellation_reason",
        &[
            "duplicate",
            "fraudulent",
            "requested_by_customer",
            "abandoned",
        ],
    )?;
    let request = EventRequest {
        id: Some(ctx.request_id.clone()),
        idempotency_key: ctx.idempotency_key.clone(),
    };
    let account = ctx.account.clone();
    cancel_core(ctx.st, &account, &id, reason, false, request)
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "amount",
        "currency",
        "customer",
        "description",
        "metadata",
        "payment_method",
        "payment_method_types",
        "receipt_email",
        "setup_future_usage",
        "shipping",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "application_fee_amount",
        "capture_method",
        "transfer_group",
        "payment_method_options",
    ])?;
    let id = ctx.path(0).to_string();
    let old = ctx.get("payment_intent", &id, "intent")?.json.clone();
    let status = old["status"].as_str().unwrap_or_default().to_string();
    let mut pi = old.clone();
    let only_metadata = p
        .map
        .keys()
        .all(|k| k == "metadata" || k == "expand" || k == "description");
    if ![
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
    ]
    .contains(&status.as_str())
        && !only_metadata
    {
        return Err(unexpected_state(format!(
            "This PaymentIntent's {} could not be updated because it has a status of {status}. You may only update the {} of a PaymentIntent with one of the following statuses: requires_payment_method, requires_confirmation, requires_action.",
            p.map
                .keys()
                .find(|k| *k != "metadata")
                .cloned()
                .unwrap_or_default(),
            p.map
                .keys()
                .find(|k| *k != "metadata")
                .cloned()
                .unwrap_or_default(),
        )));
    }
    if let Some(a) = p.i64("amount")? {
        validate_amount(a, "amount")?;
        pi["amount"] = json!(a);
    }
    if let Some(c) = currency(p)? {
        pi["currency"] = json!(c);
    }
    if let Some(c) = p.str("customer")? {
        if !c.is_empty() {
            check_customer(ctx, &c)?;
        }
        pi["customer"] = if c.is_empty() { Value::Null } else { json!(c) };
    }
    for f in [
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_group",
    ] {
        if let Some(v) = p.str(f)? {
            pi[f] = if v.is_empty() { Value::Null } else { json!(v) };
        }
    }
    if let Some(s) = p.enum_str("setup_future_usage", &["on_session", "off_session", ""])? {
        pi["setup_future_usage"] = if s.is_empty() { Value::Null } else { json!(s) };
    }
    if let Some(c) = p.enum_str(
        "capture_method",
        &["automatic", "automatic_async", "manual"],
    )? {
        pi["capture_method"] = json!(c);
    }
    if p.has("payment_method_types") {
        let (types, _) = method_types(p)?;
        pi["payment_method_types"] = json!(types);
    }
    if let Some(s) = shipping(p)? {
        pi["shipping"] = s;
    }
    if let Some(f) = p.amount("application_fee_amount")? {
        check_fee(ctx, Some(f), pi["amount"].as_i64().unwrap_or(0))?;
        pi["application_fee_amount"] = json!(f);
    }
    if let Some(pm) = p.str_nonempty("payment_method")? {
        let pm = payment_methods::resolve(ctx, &pm, "payment_method")?;
        pi["payment_method"] = json!(pm);
        if status == "requires_payment_method" || status == "requires_action" {
            pi["status"] = json!("requires_confirmation");
            pi["next_action"] = Value::Null;
        }
    }
    let mut md = pi["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    pi["metadata"] = Value::Object(md);
    set_pi(ctx, &id, &pi)?;
    Ok(pi)
}

fn list_pis(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.push("customer");
    p.known(&allowed)?;
    let customer = p.str_nonempty("customer")?;
    let account = ctx.account.clone();
    list::list_objects(
        ctx,
        &account,
        p,
        "payment_intent",
        "/v1/payment_intents",
        |o| {
            customer
                .as_ref()
                .is_none_or(|c| o.json["customer"] == c.as_str())
        },
    )
}
