//! API keys and the `Stripe-Account` header.
//!
//! Every distinct `sk_test_X` is its own platform, created on first use; `pk_test_X` is the
//! publishable key of that same platform.

use actix_web::HttpRequest;
use base64::Engine;

use crate::error::{ApiError, ApiResult};
use crate::resources::accounts;
use crate::store::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Secret,
    Publishable,
}

fn unauthorized(message: String) -> ApiError {
    ApiError::new(401, "invalid_request_error", message)
}

fn masked(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head = if key.starts_with("pk_") {
        "pk_test_"
    } else {
        "sk_test_"
    };
    format!("{head}****{tail}")
}

/// Reads the key from `Authorization: Bearer KEY` or `Basic base64(KEY:)`.
pub fn extract_key(req: &HttpRequest) -> ApiResult<(String, KeyKind)> {
    let Some(header) = req.headers().get("authorization") else {
        return Err(unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.".into(),
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| unauthorized("Invalid API Key provided.".into()))?;
    let key = if let Some(rest) = header.strip_prefix("Bearer ") {
        rest.trim().to_string()
    } else if let Some(rest) = header.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthorized("Invalid API Key provided.".into()))?;
        decoded.split(':').next().unwrap_or_default().to_string()
    } else {
        return Err(unauthorized(
            "Invalid authorization header. Use Bearer auth with your secret key.".into(),
        ));
    };
    let kind = if key.starts_with("sk_test_") && key.len() > "sk_test_".len() {
        KeyKind::Secret
    } else if key.starts_with("pk_test_") && key.len() > "pk_test_".len() {
        KeyKind::Publishable
    } else {
        return Err(unauthorized(format!(
            "Invalid API Key provided: {}",
            masked(&key)
        )));
    };
    Ok((key, kind))
}

/// The platform account id of a key, creating the platform on first use.
pub fn platform_for_key(st: &mut State, key: &str) -> String {
    let secret = match key.strip_prefix("pk_test_") {
        Some(rest) => format!("sk_test_{rest}"),
        None => key.to_string(),
    };
    if let Some(p) = st.platforms_by_key.get(&secret) {
        return p.clone();
    }
    let id = accounts::create_platform(st);
    st.platforms_by_key.insert(secret, id.clone());
    id
}

/// Resolves `Stripe-Account`: the connected account must belong to `platform` and still be
/// connected; otherwise Stripe answers 403.
pub fn acting_account(st: &State, platform: &str, header: Option<&str>) -> ApiResult<String> {
    let Some(acct) = header.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(platform.to_string());
    };
    if acct == platform {
        return Ok(platform.to_string());
    }
    let ok = st.find(platform, "account", acct).is_some_and(|o| {
        !o.internal
            .get("deleted")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
            && !o
                .internal
                .get("deauthorized")
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
    });
    if ok {
        Ok(acct.to_string())
    } else {
        Err(ApiError::new(
            403,
            "invalid_request_error",
            format!(
                "The provided key does not have access to account '{acct}' (or that account does not exist). Application access may have been revoked."
            ),
        )
        .with_code("account_invalid"))
    }
}
