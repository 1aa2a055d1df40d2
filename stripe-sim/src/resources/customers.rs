//! Customers.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/customers", create),
        Route::get("/v1/customers", list_customers),
        Route::get("/v1/customers/{id}", retrieve),
        Route::post("/v1/customers/{id}", update),
        Route::delete("/v1/customers/{id}", delete),
    ]
}

const FIELDS: &[&str] = &[
    "email",
    "name",
    "description",
    "phone",
    "metadata",
    "payment_method",
    "invoice_settings",
    "address",
    "shipping",
    "preferred_locales",
    "tax_exempt",
    "balance",
];

fn invoice_prefix() -> String {
    ids::secret(8).to_uppercase()
}

fn address(p: &Params, key: &str) -> ApiResult<Option<Value>> {
    let Some(a) = p.obj(key)? else {
        return Ok(if p.str(key).ok().flatten().is_some_and(|s| s.is_empty()) {
            Some(Value::Null)
        } else {
            None
        });
    };
    let fields = ["city", "country", "line1", "line2", "postal_code", "state"];
    a.known(&fields)?;
    let mut out = Map::new();
    for f in fields {
        out.insert(
            f.into(),
            a.str_nonempty(f)?.map(Value::String).unwrap_or(Value::Null),
        );
    }
    Ok(Some(Value::Object(out)))
}

/// Applies the writable fields of create/update to `json`.
fn apply(ctx: &Ctx, json: &mut Value, p: &Params) -> ApiResult<()> {
    for f in ["email", "name", "description", "phone"] {
        if let Some(v) = p.str(f)? {
            json[f] = if v.is_empty() { Value::Null } else { json!(v) };
        }
    }
    if let Some(a) = address(p, "address")? {
        json["address"] = a;
    }
    if let Some(s) = p.obj("shipping")? {
        s.known(&["address", "name", "phone"])?;
        let addr = address(&s, "address")?.unwrap_or(Value::Null);
        json["shipping"] = json!({
            "address": addr,
            "name": s.req_str("name")?,
            "phone": s.str_nonempty("phone")?,
        });
    }
    if let Some(b) = p.i64("balance")? {
        json["balance"] = json!(b);
    }
    if let Some(t) = p.enum_str("tax_exempt", &["none", "exempt", "reverse"])? {
        json["tax_exempt"] = json!(t);
    }
    if let Some(l) = p.str_list("preferred_locales")? {
        json["preferred_locales"] = json!(l);
    }
    if let Some(inv) = p.obj("invoice_settings")? {
        inv.known(&[
            "default_payment_method",
            "custom_fields",
            "footer",
            "rendering_options",
        ])?;
        if let Some(pm) = inv.str("default_payment_method")? {
            if pm.is_empty() {
                json["invoice_settings"]["default_payment_method"] = Value::Null;
            } else {
                let cus = json["id"].as_str().unwrap_or_default();
                let attached = ctx
                    .st
                    .find(&ctx.account, "payment_method", &pm)
                    .is_some_and(|o| o.json["customer"] == cus);
                if !attached {
                    return Err(ApiError::invalid(format!(
                        "No such PaymentMethod: '{pm}'; The payment method must be attached to the customer before it can be set as default."
                    ))
                    .with_code("resource_missing")
                    .with_param("invoice_settings[default_payment_method]"));
                }
                json["invoice_settings"]["default_payment_method"] = json!(pm);
            }
        }
        if let Some(f) = inv.str("footer")? {
            json["invoice_settings"]["footer"] = if f.is_empty() { Value::Null } else { json!(f) };
        }
    }
    let mut md = json["metadata"].as_object().cloned().unwrap_or_default();
    p.metadata_into(&mut md)?;
    json["metadata"] = Value::Object(md);
    Ok(())
}

fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(FIELDS)?;
    let id = ids::new_id("cus");
    let mut json = json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": ctx.now,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "discount": null,
        "email": null,
        "invoice_prefix": invoice_prefix(),
        "invoice_settings": {
            "custom_fields": null, "default_payment_method": null, "footer": null,
            "rendering_options": null
        },
        "livemode": false,
        "metadata": {},
        "name": null,
        "next_invoice_sequence": 1,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    });
    // The default payment method is checked after the payment method is attached below.
    let pm = p.str_nonempty("payment_method")?;
    let mut without_default = p.clone();
    if let Some(Value::Object(inv)) = without_default.map.get_mut("invoice_settings") {
        inv.remove("default_payment_method");
    }
    apply(ctx, &mut json, &without_default)?;
    if let Some(pm) = &pm {
        // Validate before anything is stored, so a bad id leaves no customer behind.
        ctx.get("payment_method", pm, "payment_method")?;
    }
    let json = ctx.insert(json, Map::new());
    ctx.emit("customer.created", &json, None);
    if let Some(pm) = pm {
        crate::resources::payment_methods::attach(ctx, &pm, &id, "payment_method")?;
    }
    if let Some(inv) = p.obj("invoice_settings")?
        && inv.has("default_payment_method")
    {
        let mut only_default = Params::default();
        only_default
            .map
            .insert("invoice_settings".into(), json!(inv.map));
        return update_customer(ctx, &id, &only_default);
    }
    Ok(ctx.get("customer", &id, "id")?.json.clone())
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let o = ctx.get("customer", &id, "id")?;
    if o.internal
        .get("deleted")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Ok(json!({"id": id, "object": "customer", "deleted": true}));
    }
    Ok(o.json.clone())
}

/// Updates a live customer and emits `customer.updated` when something changed.
pub fn update_customer(ctx: &mut Ctx, id: &str, p: &Params) -> ApiResult<Value> {
    let o = ctx.get("customer", id, "id")?;
    if o.internal
        .get("deleted")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Err(ApiError::no_such("customer", id, "id"));
    }
    let old = o.json.clone();
    let mut json = old.clone();
    apply(ctx, &mut json, p)?;
    ctx.get_mut("customer", id, "id")?.json = json.clone().into();
    if json != old {
        let prev = events::diff(&old, &json);
        ctx.emit("customer.updated", &json, Some(prev));
    }
    Ok(json)
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(FIELDS)?;
    let id = ctx.path(0).to_string();
    if let Some(pm) = p.str_nonempty("payment_method")? {
        crate::resources::payment_methods::attach(ctx, &pm, &id, "payment_method")?;
    }
    let mut rest = p.clone();
    rest.map.remove("payment_method");
    update_customer(ctx, &id, &rest)
}

fn delete(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let o = ctx.get_mut("customer", &id, "id")?;
    if o.internal
        .get("deleted")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Err(ApiError::no_such("customer", &id, "id"));
    }
    // Kept as a tombstone: retrieving a deleted customer answers `deleted: true`, as Stripe does.
    o.internal.insert("deleted".into(), json!(true));
    let json = o.json.clone();
    ctx.emit("customer.deleted", &json, None);
    Ok(json!({"id": id, "object": "customer", "deleted": true}))
}

fn list_customers(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["email", "test_clock"]);
    p.known(&allowed)?;
    let email = p.str_nonempty("email")?;
    let account = ctx.account.clone();
    list::list_objects(ctx, &account, p, "customer", "/v1/customers", |o| {
        !o.internal
            .get("deleted")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            && email.as_ref().is_none_or(|e| o.json["email"] == e.as_str())
    })
}
