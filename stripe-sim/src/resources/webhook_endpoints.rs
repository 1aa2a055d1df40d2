//! `/v1/webhook_endpoints`: where events are delivered.
//!
//! An endpoint lives on the account that created it. A platform endpoint with `connect: true`
//! receives the events of the platform's connected accounts instead of the platform's own. The
//! signing secret is shown once, in the create response, and kept private afterwards.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::form::Params;
use crate::ids;
use crate::list::{self, LIST_PARAMS};
use crate::webhooks::event_types;

pub const KIND: &str = "webhook_endpoint";

pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/v1/webhook_endpoints", create),
        Route::get("/v1/webhook_endpoints", list),
        Route::get("/v1/webhook_endpoints/{id}", retrieve),
        Route::post("/v1/webhook_endpoints/{id}", update),
        Route::delete("/v1/webhook_endpoints/{id}", delete),
    ]
}

fn validate_url(p: &Params) -> ApiResult<Option<String>> {
    let Some(url) = p.str("url")? else {
        return Ok(None);
    };
    let well_formed = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/') && !rest.contains(' '));
    if !well_formed {
        return Err(ApiError::invalid(format!("Invalid URL: {url}"))
            .with_code("url_invalid")
            .with_param("url"));
    }
    Ok(Some(url))
}

fn validate_events(p: &Params) -> ApiResult<Option<Vec<String>>> {
    let Some(events) = p.str_list("enabled_events")? else {
        return Ok(None);
    };
    if events.is_empty() {
        return Err(
            ApiError::invalid("Invalid enabled_events: must contain at least one event")
                .with_code("parameter_invalid_empty")
                .with_param("enabled_events"),
        );
    }
    for (i, e) in events.iter().enumerate() {
        if !event_types::is_known(e) {
            return Err(ApiError::invalid(format!(
                "Invalid enabled_events[{i}]: must be one of the event types Stripe sends, or '*'"
            ))
            .with_code("parameter_invalid_string")
            .with_param(format!("enabled_events[{i}]")));
        }
    }
    Ok(Some(events))
}

fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "url",
        "enabled_events",
        "api_version",
        "connect",
        "description",
        "metadata",
    ])?;
    let url = validate_url(p)?.ok_or_else(|| ApiError::missing("url"))?;
    let events = validate_events(p)?.ok_or_else(|| ApiError::missing("enabled_events"))?;
    let connect = p.bool("connect")?.unwrap_or(false);
    if connect && ctx.is_connected() {
        return Err(ApiError::invalid(
            "Connect webhook endpoints can only be created by the platform account.",
        )
        .with_param("connect"));
    }
    let api_version = p.str_nonempty("api_version")?;
    let metadata = p.metadata()?;
    let secret = format!("whsec_{}", ids::secret(32));
    let mut json = json!({
        "id": ids::new_id("we"),
        "object": KIND,
        "api_version": api_version,
        "application": Value::Null,
        "created": ctx.now,
        "description": p.str_nonempty("description")?,
        "enabled_events": events,
        "livemode": false,
        "metadata": metadata,
        "status": "enabled",
        "url": url,
    });
    let mut internal = Map::new();
    internal.insert("secret".into(), json!(secret));
    internal.insert("connect".into(), json!(connect));
    let stored = ctx.insert(json.clone(), internal);
    json = stored;
    // Only the create response reveals the secret, as on Stripe.
    json["secret"] = json!(secret);
    Ok(json)
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    Ok(ctx.get(KIND, &id, "id")?.json.clone())
}

fn update(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[
        "url",
        "enabled_events",
        "description",
        "metadata",
        "disabled",
    ])?;
    let id = ctx.path(0).to_string();
    let url = validate_url(p)?;
    let events = validate_events(p)?;
    let disabled = p.bool("disabled")?;
    let description = p.str("description")?;
    let obj = ctx.get_mut(KIND, &id, "id")?;
    let mut json = obj.json.clone();
    if let Some(url) = url {
        json["url"] = json!(url);
    }
    if let Some(events) = events {
        json["enabled_events"] = json!(events);
    }
    if let Some(d) = disabled {
        json["status"] = json!(if d { "disabled" } else { "enabled" });
    }
    if let Some(d) = description {
        json["description"] = if d.is_empty() { Value::Null } else { json!(d) };
    }
    let mut metadata = json["metadata"].as_object().cloned().unwrap_or_default();
    if p.metadata_into(&mut metadata)? {
        json["metadata"] = Value::Object(metadata);
    }
    obj.json = json.clone().into();
    Ok(json)
}

fn delete(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    ctx.get(KIND, &id, "id")?;
    ctx.st.remove(&id);
    Ok(json!({ "id": id, "object": KIND, "deleted": true }))
}

fn list(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(LIST_PARAMS)?;
    let account = ctx.account.clone();
    list::list_objects(ctx, &account, p, KIND, "/v1/webhook_endpoints", |_| true)
}
