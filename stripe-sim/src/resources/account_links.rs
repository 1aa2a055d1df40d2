//! Account Links: single-use, short-lived URLs of the hosted onboarding form.

use serde_json::{Map, Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::ids;

/// Stripe's account links expire after a few minutes.
pub const LINK_TTL_SECS: i64 = 300;

pub fn routes() -> Vec<Route> {
    vec![Route::post("/v1/account_links", create)]
}

fn create(ctx: &mut Ctx, p: &crate::form::Params) -> ApiResult<Value> {
    p.known(&[
        "account",
        "refresh_url",
        "return_url",
        "type",
        "collect",
        "collection_options",
    ])?;
    let account = p.req_str("account")?;
    let kind = p
        .enum_str("type", &["account_onboarding", "account_update"])?
        .ok_or_else(|| ApiError::missing("type"))?;
    let refresh_url = p.req_str("refresh_url")?;
    let return_url = p.req_str("return_url")?;
    for (name, url) in [("refresh_url", &refresh_url), ("return_url", &return_url)] {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ApiError::invalid(format!("Not a valid URL: {url}"))
                .with_code("url_invalid")
                .with_param(name));
        }
    }
    if ctx.is_connected() || ctx.st.find(&ctx.platform, "account", &account).is_none() {
        return Err(ApiError::no_such("account", &account, "account"));
    }
    let token = ids::secret(32);
    let id = ids::new_id("acctlink");
    let expires_at = ctx.now + LINK_TTL_SECS;
    let url = format!("{}/hosted/onboarding/{token}", ctx.base_url);
    let public = json!({
        "object": "account_link",
        "created": ctx.now,
        "expires_at": expires_at,
        "url": url,
    });
    let mut stored = public.clone();
    stored["id"] = json!(id);
    let mut internal = Map::new();
    internal.insert("account".into(), json!(account));
    internal.insert("type".into(), json!(kind));
    internal.insert("refresh_url".into(), json!(refresh_url));
    internal.insert("return_url".into(), json!(return_url));
    internal.insert("used".into(), json!(false));
    let platform = ctx.platform.clone();
    ctx.st.insert(&platform, stored, internal);
    ctx.st.tokens.insert(token, id);
    Ok(public)
}
