//! HTTP front: one dispatcher for every `/v1/…` request (auth, parameters, idempotency,
//! routing, expansion, errors, `Request-Id`), plus the hosted pages.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use parking_lot::Mutex;
use serde_json::Value;

use crate::SimConfig;
use crate::api::{Ctx, Route};
use crate::auth::{self, KeyKind};
use crate::error::{ApiError, ApiResult};
use crate::form::{self, Params};
use crate::idempotency::{self, IdemRecord, IdemState};
use crate::store::State;
use crate::{expand, ids};

/// Shared by every worker: the store, the route table and configuration.
pub struct Sim {
    pub state: Mutex<State>,
    pub routes: Vec<Route>,
    pub base_url: String,
    pub config: SimConfig,
    /// Woken whenever new events are pending, for the webhook dispatcher.
    pub events_notify: tokio::sync::Notify,
    /// Webhook delivery worker (see `webhooks::attach`).
    pub dispatcher: std::sync::OnceLock<crate::webhooks::Dispatcher>,
    /// Debounced snapshot writer when `data_file` is set (see `persistence::attach`).
    pub snapshot: std::sync::OnceLock<crate::persistence::Snapshotter>,
}

pub type SharedSim = Arc<Sim>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::pages::configure(cfg);
    crate::checkout_page::configure(cfg);
    cfg.default_service(web::to(api));
}

/// A finished API response before it becomes an `HttpResponse`.
struct Outcome {
    status: u16,
    body: String,
    replayed: bool,
    idempotency_key: Option<String>,
}

fn error_outcome(e: &ApiError, request_id: &str) -> Outcome {
    Outcome {
        status: e.status,
        body: e.body(request_id).to_string(),
        replayed: false,
        idempotency_key: None,
    }
}

async fn api(req: HttpRequest, body: web::Bytes, sim: web::Data<SharedSim>) -> HttpResponse {
    let request_id = ids::request_id();
    let out = match handle(&req, &body, &sim, &request_id).await {
        Ok(o) => o,
        Err(e) => error_outcome(&e, &request_id),
    };
    let status = actix_web::http::StatusCode::from_u16(out.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = HttpResponse::build(status);
    resp.insert_header(("Request-Id", request_id.as_str()))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Stripe-Version", crate::events::API_VERSION));
    if let Some(k) = &out.idempotency_key {
        resp.insert_header(("Idempotency-Key", k.as_str()));
    }
    if out.replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    // Stripe names the connected account a request acted on (clients expose it, e.g.
    // stripe-node's `lastResponse.stripeAccount`); not when the account was refused.
    if !matches!(out.status, 401 | 403)
        && let Some(acct) = header(&req, "stripe-account")
    {
        resp.insert_header(("Stripe-Account", acct));
    }
    resp.body(out.body)
}

fn unrecognized(method: &Method, path: &str) -> ApiError {
    ApiError::new(
        404,
        "invalid_request_error",
        format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
        ),
    )
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(
    req: &HttpRequest,
    body: &[u8],
    sim: &SharedSim,
    request_id: &str,
) -> ApiResult<Outcome> {
    let method = req.method().clone();
    let path = req.path().to_string();
    let (route, captures) = sim
        .routes
        .iter()
        .filter(|r| r.method == method)
        .find_map(|r| r.matches(&path).map(|c| (r.clone(), c)))
        .ok_or_else(|| unrecognized(&method, &path))?;

    let (key, key_kind) = auth::extract_key(req)?;
    let raw = if method == Method::POST && !body.is_empty() {
        body
    } else {
        req.query_string().as_bytes()
    };
    let params = form::parse(raw)?;
    let idem_key = if method == Method::POST {
        header(req, "idempotency-key")
            .map(str::to_string)
            .filter(|k| !k.is_empty())
    } else {
        None
    };
    if idem_key.as_ref().is_some_and(|k| k.len() > 255) {
        return Err(ApiError::invalid(
            "Idempotency-Key must be at most 255 characters long.",
        ));
    }

    // Phase 1: authenticate and claim the idempotency key.
    let (platform, account) = {
        let mut st = sim.state.lock();
        let platform = auth::platform_for_key(&mut st, &key);
        if key_kind == KeyKind::Publishable && !route.publishable {
            return Err(ApiError::new(
                401,
                "invalid_request_error",
                "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
            ));
        }
        let account = auth::acting_account(&st, &platform, header(req, "stripe-account"))?;
        if let Some(k) = &idem_key {
            let now = st.now();
            let rk = idempotency::record_key(&account, k);
            let fp = idempotency::fingerprint(method.as_str(), &path, &params);
            match st.idempotency.get(&rk) {
                Some(rec) if rec.created + idempotency::TTL_SECS > now => {
                    if rec.fingerprint != fp {
                        return Err(ApiError::new(
                            400,
                            "idempotency_error",
                            format!(
                                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{k}' if you meant to execute a different request."
                            ),
                        ));
                    }
                    match &rec.state {
                        IdemState::InFlight => {
                            return Err(ApiError::new(
                                409,
                                "idempotency_error",
                                "There is currently another in-progress request using this Stripe token (probably the same idempotency key). Please retry in a few seconds.",
                            ));
                        }
                        IdemState::Done { status, body } => {
                            let body = body.unpack().map_err(|_| {
                                ApiError::new(
                                    500,
                                    "api_error",
                                    "An unknown error occurred while processing your request.",
                                )
                            })?;
                            return Ok(Outcome {
                                status: *status,
                                body,
                                replayed: true,
                                idempotency_key: idem_key.clone(),
                            });
                        }
                    }
                }
                _ => {
                    st.idempotency.insert(
                        rk,
                        IdemRecord {
                            fingerprint: fp,
                            created: now,
                            state: IdemState::InFlight,
                        },
                    );
                }
            }
        }
        (platform, account)
    };

    // Phase 2: execute with the store locked.
    let outcome = {
        let mut st = sim.state.lock();
        crate::resources::refunds::process_due_failures(&mut st);
        let now = st.now();
        let p = Params::new(params);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut ctx = Ctx {
                st: &mut st,
                platform: platform.clone(),
                account: account.clone(),
                key_kind,
                request_id: request_id.to_string(),
                idempotency_key: idem_key.clone(),
                path: captures,
                base_url: sim.base_url.clone(),
                now,
            };
            let expand_paths = p.expand()?;
            let mut value = (route.handler)(&mut ctx, &p)?;
            expand::apply(ctx.st, &account, &mut value, &expand_paths);
            Ok::<Value, ApiError>(value)
        }));
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(ApiError::new(
                500,
                "api_error",
                "An unknown error occurred while processing your request.",
            )),
        };
        let out = match result {
            Ok(v) => Outcome {
                status: 200,
                body: v.to_string(),
                replayed: false,
                idempotency_key: idem_key.clone(),
            },
            Err(e) => {
                let mut o = error_outcome(&e, request_id);
                o.idempotency_key = idem_key.clone();
                o
            }
        };
        if let Some(k) = &idem_key {
            let rk = idempotency::record_key(&account, k);
            if idempotency::should_store(out.status) {
                if let Some(rec) = st.idempotency.get_mut(&rk) {
                    rec.state = IdemState::Done {
                        status: out.status,
                        body: crate::store::packed::Packed::pack(&out.body),
                    };
                }
            } else {
                st.idempotency.remove(&rk);
            }
        }
        crate::webhooks::dispatch_pending(sim, &mut st);
        st.freeze_touched();
        if method != Method::GET {
            crate::persistence::mark_dirty(sim);
        }
        if !st.pending_events.is_empty() {
            sim.events_notify.notify_one();
        }
        out
    };
    Ok(outcome)
}

/// After a change made outside an API request (hosted pages, the ticker): hand new events to
/// the webhook dispatcher and schedule a snapshot, as the dispatcher does after each request.
pub fn after_change(sim: &Sim, st: &mut State) {
    crate::webhooks::dispatch_pending(sim, st);
    st.freeze_touched();
    crate::persistence::mark_dirty(sim);
    if !st.pending_events.is_empty() {
        sim.events_notify.notify_one();
    }
}

/// Background work that is due by the clock rather than by a request (refund failures of the
/// refund-fail card). Runs until the emulator stops.
pub async fn ticker(sim: SharedSim) {
    let mut interval = tokio::time::interval(std::time::Duration::from_millis(500));
    loop {
        interval.tick().await;
        let mut st = sim.state.lock();
        if !st.due_refund_failures.is_empty()
            && crate::resources::refunds::process_due_failures(&mut st) > 0
        {
            after_change(&sim, &mut st);
        }
        // Anything thawed outside a request (there should be nothing) is packed again here.
        st.freeze_touched();
    }
}
