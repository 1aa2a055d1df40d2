//! Accounts (the platform's own and connected standard/express/custom), login links,
//! onboarding completion.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, EventRequest};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::store::State;

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/accounts", create),
        Route::get("/v1/accounts", list_accounts),
        Route::get("/v1/account", retrieve_self),
        Route::get("/v1/accounts/{id}", retrieve),
        Route::post("/v1/accounts/{id}", update),
        Route::delete("/v1/accounts/{id}", delete),
        Route::post("/v1/accounts/{id}/login_links", create_login_link),
        Route::post("/v1/test_helpers/accounts/{id}/onboard", onboard),
    ]
}

/// What an account must still provide before it can take charges.
const ONBOARDING_FIELDS: &[&str] = &[
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
];

fn requirements(due: &[&str], disabled_reason: Option<&str>) -> Value {
    json!({
        "alternatives": [],
        "current_deadline": null,
        "currently_due": due,
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": due,
        "past_due": due,
        "pending_verification": [],
    })
}

fn future_requirements() -> Value {
    json!({
        "alternatives": [],
        "current_deadline": null,
        "currently_due": [],
        "disabled_reason": null,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    })
}

fn controller(kind: &str) -> Value {
    match kind {
        "standard" => json!({
            "fees": {"payer": "account"}, "is_controller": true,
            "losses": {"payments": "stripe"}, "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "full"}, "type": "application"
        }),
        "express" => json!({
            "fees": {"payer": "application"}, "is_controller": true,
            "losses": {"payments": "application"}, "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "express"}, "type": "application"
        }),
        _ => json!({
            "fees": {"payer": "application"}, "is_controller": true,
            "losses": {"payments": "application"}, "requirement_collection": "application",
            "stripe_dashboard": {"type": "none"}, "type": "application"
        }),
    }
}

fn base_account(id: &str, kind: &str, created: i64, email: Option<String>, country: &str) -> Value {
    let currency = if country == "US" { "usd" } else { "eur" };
    json!({
        "id": id,
        "object": "account",
        "business_profile": {
            "annual_revenue": null, "estimated_worker_count": null, "mcc": null,
            "minority_owned_business_designation": null, "monthly_estimated_revenue": {"amount": 0, "currency": currency},
            "name": null, "product_description": null, "support_address": null,
            "support_email": null, "support_phone": null, "support_url": null, "url": null
        },
        "business_type": null,
        "capabilities": {},
        "charges_enabled": false,
        "controller": controller(kind),
        "country": country,
        "created": created,
        "default_currency": currency,
        "details_submitted": false,
        "email": email,
        "external_accounts": {
            "object": "list", "data": [], "has_more": false,
            "url": format!("/v1/accounts/{id}/external_accounts")
        },
        "future_requirements": future_requirements(),
        "metadata": {},
        "payouts_enabled": false,
        "requirements": requirements(ONBOARDING_FIELDS, Some("requirements.past_due")),
        "settings": {
            "bacs_debit_payments": {"display_name": null, "service_user_number": null},
            "branding": {"icon": null, "logo": null, "primary_color": null, "secondary_color": null},
            "card_issuing": {"tos_acceptance": {"date": null, "ip": null}},
            "card_payments": {
                "decline_on": {"avs_failure": false, "cvc_failure": false},
                "statement_descriptor_prefix": null,
                "statement_descriptor_prefix_kana": null,
                "statement_descriptor_prefix_kanji": null
            },
            "dashboard": {"display_name": null, "timezone": "Etc/UTC"},
            "invoices": {"default_account_tax_ids": null, "hosted_payment_method_save": "offer"},
            "payments": {
                "statement_descriptor": null, "statement_descriptor_kana": null,
                "statement_descriptor_kanji": null
            },
            "payouts": {
                "debit_negative_balances": true,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": null
            },
            "sepa_debit_payments": {}
        },
        "tos_acceptance": {"date": null, "ip": null, "user_agent": null},
        "type": kind,
    })
}

/// Marks the account fully onboarded in `json` (requirements met, charges and payouts on).
fn set_onboarded(json: &mut Value, now: i64) {
    json["charges_enabled"] = json!(true);
    json["payouts_enabled"] = json!(true);
    json["details_submitted"] = json!(true);
    json["requirements"] = requirements(&[], None);
    // Onboarding collects a payout bank account (Stripe's test account 000123456789).
    let has_bank = json["external_accounts"]["data"]
        .as_array()
        .is_some_and(|d| !d.is_empty());
    if !has_bank {
        let acct = json["id"].clone();
        let currency = json["default_currency"].clone();
        json["external_accounts"]["data"] = json!([{
            "id": ids::new_id("ba"),
            "object": "bank_account",
            "account": acct,
            "account_holder_name": null,
            "account_holder_type": "individual",
            "account_type": null,
            "available_payout_methods": ["standard"],
            "bank_name": "STRIPE TEST BANK",
            "country": json["country"],
            "currency": currency,
            "default_for_currency": true,
            "fingerprint": ids::secret(16),
            "future_requirements": null,
            "last4": "6789",
            "metadata": {},
            "requirements": null,
            "routing_number": "110000000",
            "status": "new",
        }]);
    }
    if json["business_type"].is_null() {
        json["business_type"] = json!("individual");
    }
    if json["business_profile"]["mcc"].is_null() {
        json["business_profile"]["mcc"] = json!("5734");
    }
    if json["business_profile"]["url"].is_null() {
        json["business_profile"]["url"] = json!("https://example.com");
    }
    json["tos_acceptance"] = json!({"date": now, "ip": "127.0.0.1", "user_agent": null});
    let caps: Vec<String> = json["capabilities"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let caps = if caps.is_empty() {
        vec!["card_payments".to_string(), "transfers".to_string()]
    } else {
        caps
    };
    let mut m = Map::new();
    for c in caps {
        m.insert(c, json!("active"));
    }
    json["capabilities"] = Value::Object(m);
}

/// Creates the platform account behind a new secret key.
pub fn create_platform(st: &mut State) -> String {
    let id = ids::account_id();
    let now = st.now();
    let mut json = base_account(&id, "standard", now, None, "US");
    set_onboarded(&mut json, now);
    json["business_profile"]["name"] = json!("Simulated platform");
    let mut internal = Map::new();
    internal.insert("is_platform".into(), json!(true));
    st.insert(&id, json, internal);
    id
}

/// Completes onboarding of a connected account and emits `account.updated`.
/// Returns the updated account, or None if it does not exist.
pub fn complete_onboarding(st: &mut State, acct: &str, request: EventRequest) -> Option<Value> {
    let now = st.now();
    let obj = st.get_mut(acct)?;
    let old = obj.json.clone();
    set_onboarded(&mut obj.json, now);
    let new = obj.json.clone();
    if old != new {
        let prev = events::diff(&old, &new);
        events::emit(st, acct, "account.updated", &new, Some(prev), request);
    }
    Some(new)
}

fn capabilities_from(p: &Params) -> ApiResult<Map<String, Value>> {
    let mut caps = Map::new();
    if let Some(c) = p.obj("capabilities")? {
        for name in c.map.keys() {
            let one = c.obj(name)?.unwrap_or_default();
            one.known(&["requested"])?;
            if one.bool("requested")?.unwrap_or(false) {
                caps.insert(name.clone(), json!("inactive"));
            }
        }
    }
    Ok(caps)
}

/// Copies simple string fields of a nested hash param into the JSON object at `target`.
fn merge_strings(target: &mut Value, p: &Params, key: &str, fields: &[&str]) -> ApiResult<()> {
    if let Some(sub) = p.obj(key)? {
        sub.known(fields)?;
        for f in fields {
            if let Some(v) = sub.str(f)? {
                target[key][*f] = if v.is_empty() { Value::Null } else { json!(v) };
            }
        }
    }
    Ok(())
}

const BUSINESS_PROFILE_FIELDS: &[&str] = &[
    "mcc",
    "name",
    "product_description",
    "support_email",
    "support_phone",
    "support_url",
    "url",
];
const ACCOUNT_EXTRA: &[&str] = &[
    "company",
    "individual",
    "settings",
    "tos_acceptance",
    "external_account",
    "default_currency",
    "business_type",
    "documents",
    "groups",
];

fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = vec![
        "type",
        "country",
        "email",
        "capabilities",
        "business_profile",
        "metadata",
        "controller",
    ];
    allowed.extend_from_slice(ACCOUNT_EXTRA);
    p.known(&allowed)?;
    if ctx.is_connected() {
        return Err(ApiError::invalid(
            "You cannot create accounts on behalf of a connected account.",
        ));
    }
    let kind = match p.enum_str("type", &["standard", "express", "custom"])? {
        Some(k) => k,
        None => match p.obj("controller")? {
            Some(c) => {
                let dash = c
                    .obj("stripe_dashboard")?
                    .and_then(|d| d.str("type").ok().flatten())
                    .unwrap_or_default();
                match dash.as_str() {
                    "express" => "express".to_string(),
                    "none" => "custom".to_string(),
                    _ => "standard".to_string(),
                }
            }
            None => "standard".to_string(),
        },
    };
    let country = p
        .str_nonempty("country")?
        .unwrap_or_else(|| "US".into())
        .to_uppercase();
    if country.len() != 2 {
        return Err(ApiError::invalid_value(
            "country",
            format!("Invalid country: {country}"),
        ));
    }
    let email = p.str_nonempty("email")?;
    let id = ids::account_id();
    let mut json = base_account(&id, &kind, ctx.now, email, &country);
    json["capabilities"] = Value::Object(capabilities_from(p)?);
    if kind == "custom"
        && json["capabilities"]
            .as_object()
            .is_some_and(|m| m.is_empty())
    {
        return Err(ApiError::invalid(
            "You must request at least one capability for a custom account.",
        )
        .with_param("capabilities"));
    }
    merge_strings(&mut json, p, "business_profile", BUSINESS_PROFILE_FIELDS)?;
    if let Some(bt) = p.enum_str(
        "business_type",
        &["individual", "company", "non_profit", "government_entity"],
    )? {
        json["business_type"] = json!(bt);
    }
    if let Some(dc) = p.str_nonempty("default_currency")? {
        json["default_currency"] = json!(dc.to_lowercase());
    }
    let mut md = Map::new();
    p.metadata_into(&mut md)?;
    json["metadata"] = Value::Object(md);
    let mut internal = Map::new();
    internal.insert("platform".into(), json!(ctx.platform));
    let platform = ctx.platform.clone();
    let out = ctx.st.insert(&platform, json, internal).json.clone();
    Ok(out)
}

/// The platform itself or one of its connected accounts.
fn find_account(ctx: &Ctx, id: &str) -> ApiResult<Value> {
    if (id == ctx.platform || id == ctx.account)
        && let Some(o) = ctx.st.get(id)
    {
        return Ok(o.json.clone());
    }
    if ctx.is_connected() {
        // A connected account can only see itself.
        return Err(ApiError::no_such("account", id, "account"));
    }
    ctx.st
        .find(&ctx.platform, "account", id)
        .map(|o| o.json.clone())
        .ok_or_else(|| ApiError::no_such("account", id, "account"))
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    find_account(ctx, &id)
}

fn retrieve_self(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.account.clone();
    find_account(ctx, &id)
}

fn list_accounts(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(LIST_PARAMS)?;
    if ctx.is_connected() {
        return Err(ApiError::invalid(
            "Connected accounts cannot list accounts.",
        ));
    }
    let platform = ctx.platform.clone();
    list::list_objects(ctx, &platform, p, "account", "/v1/accounts", |o| {
        o.id != platform
    })
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = vec!["email", "capabilities", "business_profile", "metadata"];
    allowed.extend_from_slice(ACCOUNT_EXTRA);
    p.known(&allowed)?;
    let id = ctx.path(0).to_string();
    find_account(ctx, &id)?;
    let obj = ctx
        .st
        .get(&id)
        .ok_or_else(|| ApiError::no_such("account", &id, "account"))?;
    let old = obj.json.clone();
    let mut json = old.clone();
    if let Some(e) = p.str("email")? {
        json["email"] = if e.is_empty() { Value::Null } else { json!(e) };
    }
    merge_strings(&mut json, p, "business_profile", BUSINESS_PROFILE_FIELDS)?;
    if let Some(bt) = p.enum_str(
        "business_type",
        &["individual", "company", "non_profit", "government_entity"],
    )? {
        json["business_type"] = json!(bt);
    }
    let onboarded = json["charges_enabled"].as_bool().unwrap_or(false);
    for (name, status) in capabilities_from(p)? {
        if json["capabilities"].get(&name).is_none() {
            json["capabilities"][&name] = if onboarded { json!("active") } else { status };
        }
    }
    let mut md = json["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    json["metadata"] = Value::Object(md);
    if let Some(o) = ctx.st.get_mut(&id) {
        o.json = json.clone().into();
    }
    if json != old {
        let prev = events::diff(&old, &json);
        ctx.emit_on(&id, "account.updated", &json, Some(prev));
    }
    Ok(json)
}

fn delete(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    if id == ctx.platform {
        return Err(ApiError::invalid(
            "You cannot delete your own platform account.",
        ));
    }
    if ctx.is_connected() || ctx.st.find(&ctx.platform, "account", &id).is_none() {
        return Err(ApiError::no_such("account", &id, "account"));
    }
    ctx.st.remove(&id);
    Ok(json!({"id": id, "object": "account", "deleted": true}))
}

fn create_login_link(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let acct = ctx
        .st
        .find(&ctx.platform, "account", &id)
        .ok_or_else(|| ApiError::no_such("account", &id, "account"))?;
    if acct.json["type"] != "express" {
        return Err(ApiError::invalid(
            "Cannot create a login link for an account that is not an Express account.",
        ));
    }
    if !acct.json["details_submitted"].as_bool().unwrap_or(false) {
        return Err(ApiError::invalid(
            "Cannot create a login link for an account that has not completed onboarding.",
        ));
    }
    Ok(json!({
        "object": "login_link",
        "created": ctx.now,
        "url": format!("{}/hosted/express/{id}", ctx.base_url),
    }))
}

fn onboard(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    if ctx.st.find(&ctx.platform, "account", &id).is_none() {
        return Err(ApiError::no_such("account", &id, "account"));
    }
    let request = EventRequest {
        id: Some(ctx.request_id.clone()),
        idempotency_key: ctx.idempotency_key.clone(),
    };
    complete_onboarding(ctx.st, &id, request)
        .ok_or_else(|| ApiError::no_such("account", &id, "account"))
}
