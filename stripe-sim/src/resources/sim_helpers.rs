//! Emulator-only controls under `/v1/test_helpers/` (platform secret key): account states,
//! the clock, payouts, disputes, early fraud warnings and `stripe trigger`-like events.
//!
//! Objects are found across the caller's platform family (the platform and its connected
//! accounts), so a test can act on a connected account's payout or charge without repeating
//! `Stripe-Account`; another platform's objects stay invisible (404).

use serde_json::{Value, json};

use crate::api::{Ctx, Route};
use crate::error::{ApiError, ApiResult};
use crate::events::{self, EventRequest};
use crate::form::{self, Params};
use crate::resources::{disputes, early_fraud_warnings, payouts, sim_ledger};
use crate::store::State;

pub fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/v1/test_helpers/accounts/{id}/requirements_due",
            requirements_due,
        ),
        Route::post("/v1/test_helpers/accounts/{id}/disable", disable),
        Route::post("/v1/test_helpers/accounts/{id}/deauthorize", deauthorize),
        Route::post("/v1/test_helpers/advance_time", advance_time),
        Route::get("/v1/test_helpers/clock", clock),
        Route::get("/v1/test_helpers/store", store_stats),
        Route::post("/v1/test_helpers/payouts", create_payout),
        Route::post("/v1/test_helpers/payouts/{id}/pay", pay_payout),
        Route::post("/v1/test_helpers/payouts/{id}/fail", fail_payout),
        Route::post("/v1/test_helpers/charges/{id}/dispute", dispute_charge),
        Route::post(
            "/v1/test_helpers/charges/{id}/early_fraud_warning",
            warn_charge,
        ),
        Route::post("/v1/test_helpers/disputes/{id}/close", close_dispute),
        Route::post("/v1/test_helpers/trigger", trigger),
    ]
}

fn request_of(ctx: &Ctx) -> EventRequest {
    EventRequest {
        id: Some(ctx.request_id.clone()),
        idempotency_key: ctx.idempotency_key.clone(),
    }
}

fn platform_only(ctx: &Ctx) -> ApiResult<()> {
    if ctx.is_connected() {
        return Err(ApiError::invalid(
            "This test helper acts for the platform: call it without a Stripe-Account header.",
        ));
    }
    Ok(())
}

/// A connected account of the caller's platform.
fn connected_account(ctx: &Ctx, id: &str) -> ApiResult<()> {
    platform_only(ctx)?;
    ctx.st
        .find(&ctx.platform, "account", id)
        .map(|_| ())
        .ok_or_else(|| ApiError::no_such("account", id, "account"))
}

/// The account (platform or connected) of the caller's family holding `id` of `kind`.
fn owner_in_family(ctx: &Ctx, kind: &str, id: &str, param: &str) -> ApiResult<String> {
    let obj = ctx
        .st
        .get(id)
        .filter(|o| o.kind == kind)
        .ok_or_else(|| ApiError::no_such(kind, id, param))?;
    let family = ctx.st.platform_of(&obj.owner);
    if family.as_deref() != Some(ctx.platform.as_str()) {
        return Err(ApiError::no_such(kind, id, param));
    }
    if ctx.is_connected() && obj.owner != ctx.account {
        return Err(ApiError::no_such(kind, id, param));
    }
    Ok(obj.owner.clone())
}

fn update_account(
    st: &mut State,
    id: &str,
    request: EventRequest,
    apply: impl FnOnce(&mut Value),
) -> ApiResult<Value> {
    let obj = st
        .get_mut(id)
        .ok_or_else(|| ApiError::no_such("account", id, "account"))?;
    let old = obj.json.clone();
    apply(&mut obj.json);
    let new = obj.json.clone();
    if new != old {
        events::emit(
            st,
            id,
            "account.updated",
            &new,
            Some(events::diff(&old, &new)),
            request,
        );
    }
    Ok(new)
}

const DEFAULT_DUE: &[&str] = &["individual.verification.document"];

/// New requirements become due (with a deadline); the account keeps working until then.
fn requirements_due(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["fields", "deadline_days"])?;
    let id = ctx.path(0).to_string();
    connected_account(ctx, &id)?;
    let fields = p
        .str_list("fields")?
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| DEFAULT_DUE.iter().map(|s| s.to_string()).collect());
    let days = p.i64("deadline_days")?.unwrap_or(14);
    if !(0..=365).contains(&days) {
        return Err(ApiError::invalid("deadline_days must be between 0 and 365")
            .with_param("deadline_days"));
    }
    let deadline = ctx.now + days * 24 * 3600;
    let request = request_of(ctx);
    update_account(ctx.st, &id, request, |a| {
        let req = &mut a["requirements"];
        req["currently_due"] = json!(fields);
        req["eventually_due"] = json!(fields);
        req["past_due"] = json!([]);
        req["current_deadline"] = json!(deadline);
        req["disabled_reason"] = Value::Null;
    })
}

const DISABLED_REASONS: &[&str] = &[
    "requirements.past_due",
    "requirements.pending_verification",
    "listed",
    "platform_paused",
    "rejected.fraud",
    "rejected.incomplete_verification",
    "rejected.listed",
    "rejected.other",
    "rejected.platform_fraud",
    "rejected.platform_other",
    "rejected.platform_terms_of_service",
    "rejected.terms_of_service",
    "under_review",
    "other",
];

/// The account can no longer take charges or receive payouts.
fn disable(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["reason", "fields"])?;
    let id = ctx.path(0).to_string();
    connected_account(ctx, &id)?;
    let reason = p
        .enum_str("reason", DISABLED_REASONS)?
        .unwrap_or_else(|| "requirements.past_due".into());
    let fields = p
        .str_list("fields")?
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| DEFAULT_DUE.iter().map(|s| s.to_string()).collect());
    let request = request_of(ctx);
    update_account(ctx.st, &id, request, |a| {
        a["charges_enabled"] = json!(false);
        a["payouts_enabled"] = json!(false);
        let req = &mut a["requirements"];
        req["disabled_reason"] = json!(reason);
        if reason == "requirements.past_due" {
            req["currently_due"] = json!(fields);
            req["eventually_due"] = json!(fields);
            req["past_due"] = json!(fields);
        }
        if let Some(caps) = a["capabilities"].as_object_mut() {
            for v in caps.values_mut() {
                *v = json!("inactive");
            }
        }
    })
}

/// The account disconnects the platform: account.application.deauthorized, then 403 for
/// every request the platform makes on it.
fn deauthorize(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    connected_account(ctx, &id)?;
    let application = json!({
        "id": format!("ca_{}", ctx.platform.trim_start_matches("acct_")),
        "object": "application",
        "name": "Simulated platform",
    });
    if let Some(obj) = ctx.st.get_mut(&id) {
        if obj.internal.get("deauthorized").and_then(Value::as_bool) == Some(true) {
            return Err(ApiError::invalid(format!(
                "Account {id} has already deauthorized this platform."
            )));
        }
        obj.internal.insert("deauthorized".into(), json!(true));
    }
    let request = request_of(ctx);
    events::emit(
        ctx.st,
        &id,
        "account.application.deauthorized",
        &application,
        None,
        request,
    );
    Ok(application)
}

fn clock_json(st: &State) -> Value {
    json!({
        "object": "test_helpers.clock",
        "now": st.now(),
        "offset_seconds": st.clock_offset,
    })
}

fn clock(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    Ok(clock_json(ctx.st))
}

/// What the emulator holds, across all accounts (counts only): for benchmarks and for sizing
/// `--hot-objects`.
fn store_stats(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    platform_only(ctx)?;
    let o = &ctx.st.objects;
    Ok(json!({
        "object": "test_helpers.store",
        "objects": o.len(),
        "hot_objects": o.hot_count(),
        "sealed_blocks": o.block_count(),
        "idempotency_records": ctx.st.idempotency.len(),
    }))
}

/// Moves the emulator clock forward and lets everything that was waiting for the time happen:
/// authorizations expire, pending funds become available, payouts arrive, unanswered disputes
/// are lost.
fn advance_time(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["seconds", "days", "to"])?;
    platform_only(ctx)?;
    let now = ctx.st.now();
    let target = match (p.i64("seconds")?, p.i64("days")?, p.i64("to")?) {
        (Some(s), None, None) => now.saturating_add(s),
        (None, Some(d), None) => now.saturating_add(d.saturating_mul(24 * 3600)),
        (None, None, Some(t)) => t,
        (None, None, None) => return Err(ApiError::missing("seconds")),
        _ => {
            return Err(
                ApiError::invalid("Pass exactly one of seconds, days or to.").with_param("seconds"),
            );
        }
    };
    if target < now {
        return Err(ApiError::invalid("The emulator clock only moves forward.").with_param("to"));
    }
    let request = request_of(ctx);
    let before = sim_ledger::all_available(ctx.st);
    ctx.st.clock_offset += target - now;
    let expired = sim_ledger::expire_authorizations(ctx.st, &request);
    let paid = payouts::pay_due(ctx.st, &request);
    let lost = disputes::expire_unanswered(ctx.st, &request);
    let failed_refunds = crate::resources::refunds::process_due_failures(ctx.st);
    let available = sim_ledger::announce_available(ctx.st, &before, &request);
    let mut out = clock_json(ctx.st);
    out["expired_authorizations"] = json!(expired);
    out["paid_payouts"] = json!(paid);
    out["lost_disputes"] = json!(lost);
    out["failed_refunds"] = json!(failed_refunds);
    out["balances_available"] = json!(available);
    Ok(out)
}

/// Creates a payout on the acting account (Stripe-Account) and optionally settles it at once:
/// `status=paid`, or `status=failed` with `failure_code`.
fn create_payout(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let new = payouts::parse_new(p, &["status", "failure_code"])?;
    let status = p.enum_str("status", &["pending", "paid", "failed"])?;
    let failure_code = p.str_nonempty("failure_code")?;
    if failure_code.is_some() && status.as_deref() != Some("failed") {
        return Err(
            ApiError::invalid("failure_code needs status=failed").with_param("failure_code")
        );
    }
    let account = ctx.account.clone();
    let request = request_of(ctx);
    let payout = payouts::create_payout(ctx.st, &account, new, true, request.clone())?;
    let id = payout["id"].as_str().unwrap_or_default().to_string();
    match status.as_deref() {
        Some("paid") => payouts::mark_paid(ctx.st, &account, &id, request),
        Some("failed") => {
            let code = failure_code.unwrap_or_else(|| "could_not_process".into());
            payouts::mark_failed(ctx.st, &account, &id, &code, request)
        }
        _ => Ok(payout),
    }
}

fn pay_payout(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&[])?;
    let id = ctx.path(0).to_string();
    let owner = owner_in_family(ctx, payouts::KIND, &id, "payout")?;
    let request = request_of(ctx);
    payouts::mark_paid(ctx.st, &owner, &id, request)
}

fn fail_payout(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["failure_code"])?;
    let id = ctx.path(0).to_string();
    let owner = owner_in_family(ctx, payouts::KIND, &id, "payout")?;
    let code = p
        .str_nonempty("failure_code")?
        .unwrap_or_else(|| "could_not_process".into());
    let request = request_of(ctx);
    payouts::mark_failed(ctx.st, &owner, &id, &code, request)
}

fn dispute_charge(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["reason", "amount"])?;
    let id = ctx.path(0).to_string();
    let owner = owner_in_family(ctx, "charge", &id, "charge")?;
    let reason = p
        .enum_str("reason", disputes::REASONS)?
        .unwrap_or_else(|| "fraudulent".into());
    let amount = p.amount("amount")?;
    let request = request_of(ctx);
    disputes::open_for_charge(ctx.st, &owner, &id, &reason, amount, request)
}

fn warn_charge(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["fraud_type"])?;
    let id = ctx.path(0).to_string();
    let owner = owner_in_family(ctx, "charge", &id, "charge")?;
    let fraud_type = p
        .enum_str("fraud_type", early_fraud_warnings::FRAUD_TYPES)?
        .unwrap_or_else(|| "made_with_stolen_card".into());
    let request = request_of(ctx);
    early_fraud_warnings::create_for_charge(ctx.st, &owner, &id, &fraud_type, request)
}

fn close_dispute(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["outcome"])?;
    let id = ctx.path(0).to_string();
    let owner = owner_in_family(ctx, disputes::KIND, &id, "dispute")?;
    let outcome = p
        .enum_str("outcome", &["won", "lost"])?
        .ok_or_else(|| ApiError::missing("outcome"))?;
    let request = request_of(ctx);
    disputes::decide(ctx.st, &owner, &id, outcome == "won", request)
}

/// Runs one API call through the route table, as if the client had made it, on `ctx.account`.
fn call(ctx: &mut Ctx, method: &str, path: &str, form: &[(&str, &str)]) -> ApiResult<Value> {
    let encoded: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let params = Params::new(form::parse(encoded.as_bytes())?);
    let routes = crate::resources::routes();
    let (route, captures) = routes
        .iter()
        .filter(|r| r.method.as_str() == method)
        .find_map(|r| r.matches(path).map(|c| (r, c)))
        .ok_or_else(|| ApiError::invalid(format!("trigger: no route for {method} {path}")))?;
    let saved = std::mem::replace(&mut ctx.path, captures);
    let result = (route.handler)(ctx, &params);
    ctx.path = saved;
    result
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

/// A succeeded payment on the acting account with `pm` (a `pm_card_*` token).
fn paid_intent(ctx: &mut Ctx, pm: &str, capture_method: &str) -> ApiResult<Value> {
    paid_intent_of(ctx, pm, capture_method, 2000)
}

fn paid_intent_of(ctx: &mut Ctx, pm: &str, capture_method: &str, amount: i64) -> ApiResult<Value> {
    let amount = amount.to_string();
    call(
        ctx,
        "POST",
        "/v1/payment_intents",
        &[
            ("amount", &amount),
            ("currency", "usd"),
            ("payment_method", pm),
            ("payment_method_types[]", "card"),
            ("capture_method", capture_method),
            ("confirm", "true"),
            ("description", "(created by stripe-sim trigger)"),
        ],
    )
}

fn charge_of(pi: &Value) -> String {
    match &pi["latest_charge"] {
        Value::String(s) => s.clone(),
        other => id_of(other),
    }
}

/// Event types `trigger` can produce.
pub const TRIGGERS: &[&str] = &[
    "account.updated",
    "account.application.deauthorized",
    "balance.available",
    "charge.captured",
    "charge.dispute.closed",
    "charge.dispute.created",
    "charge.failed",
    "charge.refunded",
    "charge.succeeded",
    "customer.created",
    "customer.deleted",
    "customer.updated",
    "payment_intent.amount_capturable_updated",
    "payment_intent.canceled",
    "payment_intent.created",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.succeeded",
    "payment_method.attached",
    "payout.created",
    "payout.failed",
    "payout.paid",
    "radar.early_fraud_warning.created",
    "refund.created",
];

/// Like `stripe trigger EVENT`: creates the real objects whose life produces that event on the
/// acting account, and returns the objects it made.
fn trigger(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    p.known(&["event"])?;
    let event = p.req_str("event")?;
    if !TRIGGERS.contains(&event.as_str()) {
        return Err(ApiError::invalid(format!(
            "Unsupported event for trigger: {event}. Supported: {}",
            TRIGGERS.join(", ")
        ))
        .with_param("event"));
    }
    let request = request_of(ctx);
    let account = ctx.account.clone();
    let created: Vec<Value> = match event.as_str() {
        "customer.created" => vec![call(
            ctx,
            "POST",
            "/v1/customers",
            &[("name", "Trigger Customer")],
        )?],
        "customer.updated" => {
            let c = call(
                ctx,
                "POST",
                "/v1/customers",
                &[("name", "Trigger Customer")],
            )?;
            let path = format!("/v1/customers/{}", id_of(&c));
            vec![call(
                ctx,
                "POST",
                &path,
                &[("description", "updated by trigger")],
            )?]
        }
        "customer.deleted" => {
            let c = call(
                ctx,
                "POST",
                "/v1/customers",
                &[("name", "Trigger Customer")],
            )?;
            let path = format!("/v1/customers/{}", id_of(&c));
            vec![call(ctx, "DELETE", &path, &[])?]
        }
        "payment_method.attached" => {
            let c = call(
                ctx,
                "POST",
                "/v1/customers",
                &[("name", "Trigger Customer")],
            )?;
            let path = "/v1/payment_methods/pm_card_visa/attach".to_string();
            let pm = call(ctx, "POST", &path, &[("customer", &id_of(&c))])?;
            vec![c, pm]
        }
        "payment_intent.created" => vec![call(
            ctx,
            "POST",
            "/v1/payment_intents",
            &[
                ("amount", "2000"),
                ("currency", "usd"),
                ("payment_method_types[]", "card"),
            ],
        )?],
        "payment_intent.succeeded" | "charge.succeeded" => {
            vec![paid_intent(ctx, "pm_card_visa", "automatic")?]
        }
        "payment_intent.amount_capturable_updated" => {
            vec![paid_intent(ctx, "pm_card_visa", "manual")?]
        }
        "charge.captured" => {
            let pi = paid_intent(ctx, "pm_card_visa", "manual")?;
            let path = format!("/v1/payment_intents/{}/capture", id_of(&pi));
            vec![call(ctx, "POST", &path, &[])?]
        }
        "payment_intent.canceled" => {
            let pi = paid_intent(ctx, "pm_card_visa", "manual")?;
            let path = format!("/v1/payment_intents/{}/cancel", id_of(&pi));
            vec![call(ctx, "POST", &path, &[])?]
        }
        "payment_intent.payment_failed" | "charge.failed" => {
            // A decline is an error response for the client, but the objects and events exist.
            match paid_intent(ctx, "pm_card_chargeDeclined", "automatic") {
                Ok(pi) => vec![pi],
                Err(e) => vec![json!({"declined": e.message})],
            }
        }
        "payment_intent.requires_action" => vec![paid_intent(
            ctx,
            "pm_card_authenticationRequired",
            "automatic",
        )?],
        "charge.refunded" | "refund.created" => {
            let pi = paid_intent(ctx, "pm_card_visa", "automatic")?;
            vec![call(
                ctx,
                "POST",
                "/v1/refunds",
                &[("payment_intent", &id_of(&pi))],
            )?]
        }
        "charge.dispute.created" => {
            let pi = paid_intent(ctx, "pm_card_visa", "automatic")?;
            let charge = charge_of(&pi);
            vec![
                pi,
                disputes::open_for_charge(ctx.st, &account, &charge, "fraudulent", None, request)?,
            ]
        }
        "charge.dispute.closed" => {
            let pi = paid_intent(ctx, "pm_card_visa", "automatic")?;
            let charge = charge_of(&pi);
            let d = disputes::open_for_charge(
                ctx.st,
                &account,
                &charge,
                "fraudulent",
                None,
                request.clone(),
            )?;
            vec![disputes::decide(
                ctx.st,
                &account,
                &id_of(&d),
                true,
                request,
            )?]
        }
        "radar.early_fraud_warning.created" => {
            let pi = paid_intent(ctx, "pm_card_visa", "automatic")?;
            let charge = charge_of(&pi);
            vec![early_fraud_warnings::create_for_charge(
                ctx.st,
                &account,
                &charge,
                "made_with_stolen_card",
                request,
            )?]
        }
        "payout.created" | "payout.paid" | "payout.failed" | "balance.available" => {
            // Funds that are available at once (enough to cover earlier refunds and the
            // card fee), then a payout of them.
            let available = sim_ledger::available(ctx.st, &account, "usd");
            let amount = ((1100 - available) * 104 / 100).max(2000);
            let pi = paid_intent_of(ctx, "pm_card_bypassPending", "automatic", amount)?;
            if event == "balance.available" {
                let balance = sim_ledger::balance_json(ctx.st, &account);
                events::emit(
                    ctx.st,
                    &account,
                    "balance.available",
                    &balance,
                    None,
                    request,
                );
                vec![pi, balance]
            } else {
                let new = payouts::NewPayout {
                    amount: 1000,
                    currency: "usd".into(),
                    description: Some("(created by stripe-sim trigger)".into()),
                    statement_descriptor: None,
                    method: "standard".into(),
                    metadata: Default::default(),
                };
                let po = payouts::create_payout(ctx.st, &account, new, true, request.clone())?;
                let id = id_of(&po);
                match event.as_str() {
                    "payout.paid" => vec![payouts::mark_paid(ctx.st, &account, &id, request)?],
                    "payout.failed" => vec![payouts::mark_failed(
                        ctx.st,
                        &account,
                        &id,
                        "account_closed",
                        request,
                    )?],
                    _ => vec![po],
                }
            }
        }
        "account.updated" => {
            if !ctx.is_connected() {
                return Err(ApiError::invalid(
                    "account.updated is triggered on a connected account: pass Stripe-Account.",
                ));
            }
            let path = format!("/v1/accounts/{account}");
            let stamp = ctx.now.to_string();
            vec![call(
                ctx,
                "POST",
                &path,
                &[("metadata[stripe_sim_trigger]", &stamp)],
            )?]
        }
        "account.application.deauthorized" => {
            if !ctx.is_connected() {
                return Err(ApiError::invalid(
                    "account.application.deauthorized needs a connected account: pass Stripe-Account.",
                ));
            }
            let saved = std::mem::replace(&mut ctx.account, ctx.platform.clone());
            let result = call(
                ctx,
                "POST",
                &format!("/v1/test_helpers/accounts/{saved}/deauthorize"),
                &[],
            );
            ctx.account = saved;
            vec![result?]
        }
        _ => {
            return Err(
                ApiError::invalid(format!("Unsupported event: {event}")).with_param("event")
            );
        }
    };
    Ok(json!({
        "object": "test_helpers.trigger",
        "event": event,
        "account": account,
        "objects": created,
    }))
}
