//! `GET /v1/events` and `GET /v1/events/{id}`. Events are recorded by [`crate::events::emit`]
//! on the account they concern; like Stripe, only the last 30 days are visible.

use serde_json::Value;

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::form::Params;
use crate::list::{self, LIST_PARAMS};

pub const KIND: &str = "event";
pub const RETENTION_SECS: i64 = 30 * 24 * 3600;

pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/v1/events", list),
        Route::get("/v1/events/{id}", retrieve),
    ]
}

/// `type` filter: an exact type, or a prefix wildcard such as `charge.*` / `charge.dispute.*`.
fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

fn list(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let mut allowed = LIST_PARAMS.to_vec();
    allowed.extend(["type", "types", "delivery_success"]);
    p.known(&allowed)?;
    let single = p.str_nonempty("type")?;
    let many = p.str_list("types")?;
    if single.is_some() && many.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: type, types.",
        )
        .with_param("types"));
    }
    if many.as_ref().is_some_and(|t| t.len() > 20) {
        return Err(ApiError::invalid("You may pass at most 20 types.").with_param("types"));
    }
    let delivery_success = p.bool("delivery_success")?;
    let oldest = ctx.now - RETENTION_SECS;
    let account = ctx.account.clone();
    list::list_objects(ctx, &account, p, KIND, "/v1/events", |o| {
        let t = o.json["type"].as_str().unwrap_or_default();
        let type_ok = match (&single, &many) {
            (Some(s), _) => type_matches(s, t),
            (None, Some(ts)) => ts.iter().any(|x| x == t),
            (None, None) => true,
        };
        let delivered = o.json["pending_webhooks"].as_i64().unwrap_or(0) == 0;
        type_ok && o.created >= oldest && delivery_success.is_none_or(|want| want == delivered)
    })
}

fn retrieve(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let oldest = ctx.now - RETENTION_SECS;
    let ev = ctx.get(KIND, &id, "id")?;
    if ev.created < oldest {
        return Err(ApiError::no_such(KIND, &id, "id"));
    }
    Ok(ev.json.clone())
}

#[cfg(test)]
mod tests {
    use super::type_matches;

    #[test]
    fn wildcards_match_prefixes_only() {
        assert!(type_matches("charge.*", "charge.succeeded"));
        assert!(type_matches("charge.*", "charge.dispute.created"));
        assert!(type_matches("charge.dispute.*", "charge.dispute.closed"));
        assert!(!type_matches("charge.dispute.*", "charge.refunded"));
        assert!(type_matches("payout.paid", "payout.paid"));
        assert!(!type_matches("payout.paid", "payout.failed"));
    }
}
