//! Hosted pages a browser sees: Account Link onboarding and the 3-D Secure challenge.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::events::EventRequest;
use crate::resources::accounts;
use crate::server::SharedSim;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/hosted/onboarding/{token}", web::get().to(onboarding_form))
        .route(
            "/hosted/onboarding/{token}",
            web::post().to(onboarding_submit),
        )
        .route("/hosted/express/{acct}", web::get().to(express_dashboard))
        .route("/hosted/3ds/{token}", web::get().to(challenge_form))
        .route("/hosted/3ds/{token}", web::post().to(challenge_submit));
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><p><strong>Test mode — simulated Stripe</strong></p><h1>{t}</h1>{body}</body></html>",
            t = escape(title)
        ))
}

fn redirect(url: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", url))
        .finish()
}

fn not_found() -> HttpResponse {
    html(
        actix_web::http::StatusCode::NOT_FOUND,
        "Link not found",
        "<p>This link is not valid.</p>",
    )
}

/// Where the link stands: usable (account, return_url, refresh_url) or to be refreshed.
enum LinkState {
    Usable {
        link_id: String,
        account: String,
        return_url: String,
    },
    Refresh(String),
    Missing,
}

fn link_state(sim: &SharedSim, token: &str) -> LinkState {
    let st = sim.state.lock();
    let Some(link) = st.tokens.get(token).and_then(|id| st.get(id)) else {
        return LinkState::Missing;
    };
    if link.kind != "account_link" {
        return LinkState::Missing;
    }
    let s = |k: &str| {
        link.internal
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let used = link
        .internal
        .get("used")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let expired = link.json["expires_at"].as_i64().unwrap_or(0) <= st.now();
    if used || expired {
        return LinkState::Refresh(s("refresh_url"));
    }
    LinkState::Usable {
        link_id: link.id.clone(),
        account: s("account"),
        return_url: s("return_url"),
    }
}

async fn onboarding_form(path: web::Path<String>, sim: web::Data<SharedSim>) -> HttpResponse {
    let token = path.into_inner();
    match link_state(&sim, &token) {
        LinkState::Missing => not_found(),
        LinkState::Refresh(url) => redirect(&url),
        LinkState::Usable { account, .. } => html(
            actix_web::http::StatusCode::OK,
            "Set up your account",
            &format!(
                "<p>Account <code>{acct}</code></p>\
                 <form method=\"post\" action=\"/hosted/onboarding/{tok}\">\
                 <label>Legal name <input name=\"name\" value=\"Jenny Rosen\"></label>\
                 <label>Website <input name=\"url\" value=\"https://example.com\"></label>\
                 <label><input type=\"checkbox\" name=\"tos\" checked> I accept the Stripe Services Agreement</label>\
                 <button type=\"submit\">Submit</button></form>",
                acct = escape(&account),
                tok = escape(&token)
            ),
        ),
    }
}

async fn onboarding_submit(path: web::Path<String>, sim: web::Data<SharedSim>) -> HttpResponse {
    let token = path.into_inner();
    let (link_id, account, return_url) = match link_state(&sim, &token) {
        LinkState::Missing => return not_found(),
        LinkState::Refresh(url) => return redirect(&url),
        LinkState::Usable {
            link_id,
            account,
            return_url,
        } => (link_id, account, return_url),
    };
    {
        let mut st = sim.state.lock();
        if let Some(link) = st.get_mut(&link_id) {
            link.internal.insert("used".into(), json!(true));
        }
        accounts::complete_onboarding(&mut st, &account, EventRequest::default());
        crate::server::after_change(&sim, &mut st);
    }
    redirect(&return_url)
}

async fn express_dashboard(path: web::Path<String>, sim: web::Data<SharedSim>) -> HttpResponse {
    let acct = path.into_inner();
    let exists = sim
        .state
        .lock()
        .get(&acct)
        .is_some_and(|o| o.kind == "account");
    if !exists {
        return not_found();
    }
    html(
        actix_web::http::StatusCode::OK,
        "Express dashboard",
        &format!("<p>Account <code>{}</code></p>", escape(&acct)),
    )
}

/// The PaymentIntent (owner account, id) a 3-D Secure token belongs to, if still awaiting it.
fn challenge_target(sim: &SharedSim, token: &str) -> Option<(String, String, Value)> {
    let st = sim.state.lock();
    let id = st.tokens.get(token)?;
    let pi = st
        .get(id)
        .filter(|o| o.kind == "payment_intent" || o.kind == "setup_intent")?;
    Some((pi.owner.clone(), pi.id.clone(), pi.json.clone()))
}

async fn challenge_form(path: web::Path<String>, sim: web::Data<SharedSim>) -> HttpResponse {
    let token = path.into_inner();
    let Some((_, id, pi)) = challenge_target(&sim, &token) else {
        return not_found();
    };
    if pi["status"] != "requires_action" {
        return html(
            actix_web::http::StatusCode::OK,
            "Authentication complete",
            "<p>This authentication has already been completed.</p>",
        );
    }
    let amount = pi["amount"].as_i64().unwrap_or(0);
    let currency = pi["currency"].as_str().unwrap_or("usd").to_uppercase();
    html(
        actix_web::http::StatusCode::OK,
        "3D Secure 2 Test Page",
        &format!(
            "<p>Payment <code>{id}</code>: {major}.{minor:02} {currency}</p>\
             <form method=\"post\" action=\"/hosted/3ds/{tok}\"><input type=\"hidden\" name=\"result\" value=\"approve\">\
             <button type=\"submit\">Complete authentication</button></form>\
             <form method=\"post\" action=\"/hosted/3ds/{tok}\"><input type=\"hidden\" name=\"result\" value=\"fail\">\
             <button type=\"submit\">Fail authentication</button></form>",
            id = escape(&id),
            major = amount / 100,
            minor = amount % 100,
            currency = escape(&currency),
            tok = escape(&token)
        ),
    )
}

fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{q}")
}

async fn challenge_submit(
    path: web::Path<String>,
    body: web::Bytes,
    sim: web::Data<SharedSim>,
) -> HttpResponse {
    let token = path.into_inner();
    let approved = form_urlencoded::parse(&body).any(|(k, v)| k == "result" && v == "approve");
    let Some((owner, id, _)) = challenge_target(&sim, &token) else {
        return not_found();
    };
    let result = {
        let mut st = sim.state.lock();
        let platform = st.platform_of(&owner).unwrap_or_else(|| owner.clone());
        let now = st.now();
        let return_url = st.get(&id).and_then(|o| {
            o.internal
                .get("return_url")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let mut ctx = crate::api::Ctx {
            st: &mut st,
            platform,
            account: owner,
            key_kind: crate::auth::KeyKind::Secret,
            request_id: crate::ids::request_id(),
            idempotency_key: None,
            path: vec![],
            base_url: sim.base_url.clone(),
            now,
        };
        let pi = if id.starts_with("seti_") {
            crate::resources::setup_intents::complete_authentication(&mut ctx, &id, approved)
        } else {
            crate::resources::payment_intents::complete_authentication(&mut ctx, &id, approved)
        };
        st.tokens.remove(&token);
        crate::server::after_change(&sim, &mut st);
        pi.map(|pi| (pi, return_url))
    };
    match result {
        Ok((pi, Some(url))) => {
            let status = if pi["status"] == "succeeded" || pi["status"] == "requires_capture" {
                "succeeded"
            } else {
                "failed"
            };
            let secret = pi["client_secret"].as_str().unwrap_or_default();
            let (id_key, secret_key) = if id.starts_with("seti_") {
                ("setup_intent", "setup_intent_client_secret")
            } else {
                ("payment_intent", "payment_intent_client_secret")
            };
            redirect(&with_query(
                &url,
                &[
                    (id_key, &id),
                    (secret_key, secret),
                    ("redirect_status", status),
                ],
            ))
        }
        Ok((pi, None)) => html(
            actix_web::http::StatusCode::OK,
            "Authentication complete",
            &format!(
                "<p>Payment <code>{}</code> is now {}.</p>",
                escape(&id),
                escape(pi["status"].as_str().unwrap_or_default())
            ),
        ),
        Err(_) => not_found(),
    }
}
