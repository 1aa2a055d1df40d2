//! Fault injection: make chosen requests slow, fail with a 5xx or 429, or execute and then lose
//! their response, so a client can prove its timeouts, retries and idempotency keys.
//!
//! Rules belong to a platform (the secret key that created them) and only affect requests made
//! with that platform's keys. They are configured with `/v1/test_helpers/faults` and are not
//! persisted: a restarted emulator starts healthy.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::form::Params;
use crate::ids;
use crate::server::SharedSim;

const CONFIG_PATH: &str = "/v1/test_helpers/faults";
const MAX_LATENCY_MS: i64 = 120_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Wait this long, then handle the request normally.
    Latency(Duration),
    /// Answer with this 5xx status without executing the request.
    ServerError(u16),
    /// Answer 429 without executing the request.
    RateLimit,
    /// Execute the request (objects created, idempotency key stored), then close the connection
    /// without answering — what a client sees when a response is lost on the network.
    DropResponse,
}

#[derive(Debug, Clone)]
pub struct FaultRule {
    pub id: String,
    pub platform: String,
    /// Upper-case HTTP method, or None for any.
    pub method: Option<String>,
    /// Exact path, or a prefix when it ends with `*`.
    pub path: String,
    pub kind: FaultKind,
    /// How many more requests it affects; None = until removed.
    pub remaining: Option<u64>,
    pub created: i64,
}

impl FaultRule {
    fn matches(&self, platform: &str, method: &str, path: &str) -> bool {
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path.trim_end_matches('/') == self.path.trim_end_matches('/'),
        };
        self.platform == platform
            && path_ok
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }

    fn to_json(&self) -> Value {
        let (kind, status, latency_ms) = match &self.kind {
            FaultKind::Latency(d) => ("latency", Value::Null, json!(d.as_millis() as u64)),
            FaultKind::ServerError(s) => ("server_error", json!(s), Value::Null),
            FaultKind::RateLimit => ("rate_limit", json!(429), Value::Null),
            FaultKind::DropResponse => ("drop_response", Value::Null, Value::Null),
        };
        json!({
            "id": self.id,
            "object": "test_helpers.fault",
            "created": self.created,
            "kind": kind,
            "method": self.method,
            "path": self.path,
            "status": status,
            "latency_ms": latency_ms,
            "remaining": self.remaining,
        })
    }
}

/// The rules of every platform, kept in the store but never written to the snapshot.
#[derive(Debug, Default, Clone)]
pub struct FaultRules {
    rules: Vec<FaultRule>,
}

impl FaultRules {
    /// Consumes one use of the first rule matching the request.
    fn take(&mut self, platform: &str, method: &str, path: &str) -> Option<FaultKind> {
        let i = self
            .rules
            .iter()
            .position(|r| r.matches(platform, method, path))?;
        let kind = self.rules[i].kind.clone();
        if let Some(n) = self.rules[i].remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.rules.remove(i);
            }
        }
        Some(kind)
    }
}

pub fn routes() -> Vec<Route> {
    vec![
        Route::post(CONFIG_PATH, create),
        Route::get(CONFIG_PATH, list),
        Route::delete(CONFIG_PATH, reset),
        Route::post("/v1/test_helpers/faults/reset", reset),
        Route::delete("/v1/test_helpers/faults/{id}", remove),
    ]
}

fn platform_only(ctx: &Ctx) -> ApiResult<()> {
    if ctx.is_connected() {
        return Err(ApiError::invalid(
            "Fault injection is configured by the platform, without a Stripe-Account header.",
        ));
    }
    Ok(())
}

fn create(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["path", "method", "kind", "status", "latency_ms", "count"])?;
    platform_only(ctx)?;
    let path = p.req_str("path")?;
    if !path.starts_with('/') {
        return Err(
            ApiError::invalid("path must start with '/', e.g. /v1/payment_intents")
                .with_code("parameter_invalid_string")
                .with_param("path"),
        );
    }
    if path.starts_with(CONFIG_PATH) {
        return Err(
            ApiError::invalid("Faults cannot be injected into the fault helpers.")
                .with_param("path"),
        );
    }
    let method = p
        .enum_str(
            "method",
            &["GET", "POST", "DELETE", "get", "post", "delete"],
        )?
        .map(|m| m.to_ascii_uppercase());
    let kind_name = p
        .enum_str(
            "kind",
            &["latency", "server_error", "rate_limit", "drop_response"],
        )?
        .ok_or_else(|| ApiError::missing("kind"))?;
    let kind = match kind_name.as_str() {
        "latency" => {
            let ms = p.req_i64("latency_ms")?;
            if !(0..=MAX_LATENCY_MS).contains(&ms) {
                return Err(ApiError::invalid(format!(
                    "latency_ms must be between 0 and {MAX_LATENCY_MS}"
                ))
                .with_param("latency_ms"));
            }
            FaultKind::Latency(Duration::from_millis(ms as u64))
        }
        "server_error" => {
            let status = p.i64("status")?.unwrap_or(500);
            if !(500..=599).contains(&status) {
                return Err(
                    ApiError::invalid("status must be a 5xx status code").with_param("status")
                );
            }
            FaultKind::ServerError(status as u16)
        }
        "rate_limit" => FaultKind::RateLimit,
        _ => FaultKind::DropResponse,
    };
    let remaining = match p.i64("count")? {
        None => None,
        Some(n) if n >= 1 => Some(n as u64),
        Some(_) => {
            return Err(ApiError::invalid("count must be at least 1").with_param("count"));
        }
    };
    let rule = FaultRule {
        id: ids::new_id("fault"),
        platform: ctx.platform.clone(),
        method,
        path,
        kind,
        remaining,
        created: ctx.now,
    };
    let json = rule.to_json();
    ctx.st.faults.rules.push(rule);
    Ok(json)
}

fn list(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    platform_only(ctx)?;
    let data: Vec<Value> = ctx
        .st
        .faults
        .rules
        .iter()
        .filter(|r| r.platform == ctx.platform)
        .map(FaultRule::to_json)
        .collect();
    Ok(json!({ "object": "list", "data": data, "has_more": false, "url": CONFIG_PATH }))
}

fn reset(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    platform_only(ctx)?;
    let platform = ctx.platform.clone();
    let before = ctx.st.faults.rules.len();
    ctx.st.faults.rules.retain(|r| r.platform != platform);
    let removed = before - ctx.st.faults.rules.len();
    Ok(json!({ "object": "test_helpers.fault_reset", "removed": removed }))
}

fn remove(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    platform_only(ctx)?;
    let id = ctx.path(0).to_string();
    let platform = ctx.platform.clone();
    let pos = ctx
        .st
        .faults
        .rules
        .iter()
        .position(|r| r.id == id && r.platform == platform)
        .ok_or_else(|| ApiError::no_such("fault", &id, "id"))?;
    ctx.st.faults.rules.remove(pos);
    Ok(json!({ "id": id, "object": "test_helpers.fault", "deleted": true }))
}

/// A duplicate of the connection's socket, so a request can shut the connection down.
struct ConnSocket(OwnedFd);

/// `HttpServer::on_connect` hook: remembers each TCP connection's socket.
pub fn on_connect(conn: &dyn std::any::Any, ext: &mut Extensions) {
    if let Some(sock) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
        && let Ok(fd) = sock.as_fd().try_clone_to_owned()
    {
        ext.insert(ConnSocket(fd));
    }
}

fn injected_error(status: u16, kind: &'static str, code: &str, message: &str) -> HttpResponse {
    let request_id = ids::request_id();
    let err = ApiError::new(status, kind, message).with_code(code);
    HttpResponse::build(err.status_code())
        .insert_header(("Request-Id", request_id.as_str()))
        .insert_header(("Content-Type", "application/json"))
        .body(err.body(&request_id).to_string())
}

/// Middleware applying the first matching rule of the request's platform.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let fault = if req.path().starts_with("/v1/") && !req.path().starts_with(CONFIG_PATH) {
        find_fault(&req)
    } else {
        None
    };
    match fault {
        None => Ok(next.call(req).await?.map_into_boxed_body()),
        Some(FaultKind::Latency(d)) => {
            tokio::time::sleep(d).await;
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Some(FaultKind::ServerError(status)) => {
            let resp = injected_error(
                status,
                "api_error",
                "api_error",
                "An unknown error occurred while processing your request. (injected by stripe-sim)",
            );
            Ok(req.into_response(resp))
        }
        Some(FaultKind::RateLimit) => {
            let resp = injected_error(
                429,
                "invalid_request_error",
                "rate_limit",
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits. (injected by stripe-sim)",
            );
            Ok(req.into_response(resp))
        }
        Some(FaultKind::DropResponse) => {
            let socket = req
                .request()
                .conn_data::<ConnSocket>()
                .and_then(|s| s.0.try_clone().ok());
            let resp = next.call(req).await?;
            match socket {
                Some(fd) => {
                    // Shutting the socket down makes the client read EOF where the response
                    // should be; actix then fails to write it and drops the connection.
                    let stream = std::net::TcpStream::from(fd);
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                }
                None => tracing::warn!("drop_response fault without a TCP socket; answering"),
            }
            Ok(resp.map_into_boxed_body())
        }
    }
}

fn find_fault(req: &ServiceRequest) -> Option<FaultKind> {
    let sim = req.app_data::<web::Data<SharedSim>>()?;
    let (key, _) = crate::auth::extract_key(req.request()).ok()?;
    let secret = match key.strip_prefix("pk_test_") {
        Some(rest) => format!("sk_test_{rest}"),
        None => key,
    };
    let mut st = sim.state.lock();
    if st.faults.rules.is_empty() {
        return None;
    }
    let platform = st.platforms_by_key.get(&secret)?.clone();
    st.faults.take(&platform, req.method().as_str(), req.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, method: Option<&str>, remaining: Option<u64>) -> FaultRule {
        FaultRule {
            id: "fault_1".into(),
            platform: "acct_p".into(),
            method: method.map(str::to_string),
            path: path.into(),
            kind: FaultKind::RateLimit,
            remaining,
            created: 0,
        }
    }

    #[test]
    fn matching_by_platform_method_and_path() {
        let r = rule("/v1/payment_intents*", Some("POST"), None);
        assert!(r.matches("acct_p", "POST", "/v1/payment_intents"));
        assert!(r.matches("acct_p", "post", "/v1/payment_intents/pi_1/confirm"));
        assert!(!r.matches("acct_p", "GET", "/v1/payment_intents"));
        assert!(!r.matches("acct_other", "POST", "/v1/payment_intents"));
        let exact = rule("/v1/customers", None, None);
        assert!(exact.matches("acct_p", "GET", "/v1/customers/"));
        assert!(!exact.matches("acct_p", "GET", "/v1/customers/cus_1"));
    }

    #[test]
    fn counted_rules_expire() {
        let mut rules = FaultRules {
            rules: vec![rule("/v1/customers", None, Some(2))],
        };
        assert!(rules.take("acct_p", "POST", "/v1/customers").is_some());
        assert!(rules.take("acct_p", "POST", "/v1/customers").is_some());
        assert!(rules.take("acct_p", "POST", "/v1/customers").is_none());
        let mut forever = FaultRules {
            rules: vec![rule("/v1/customers", None, None)],
        };
        for _ in 0..5 {
            assert!(forever.take("acct_p", "GET", "/v1/customers").is_some());
        }
    }
}
