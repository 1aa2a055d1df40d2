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
        .route("/hosted/express/{acct}", web::get().to(express_dashboard));
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
    }
    sim.events_notify.notify_one();
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
