//! The seller's money: balance per currency and payouts, read live from their connected
//! account, and the way into Stripe (a login link for Express, the Dashboard for Standard).

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::onboarding::{NoFields, stripe_trouble};
use crate::auth::Seller;
use crate::auth::csrf::CsrfForm;
use crate::domain::payouts::{BalanceLine, PayoutSummary};
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::see_other;

/// Where Standard accounts manage their money: their own Stripe Dashboard.
const STRIPE_DASHBOARD: &str = "https://dashboard.stripe.com/";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/seller/money", web::get().to(money))
        .route("/seller/stripe", web::post().to(open_stripe));
}

#[derive(Template, WebTemplate)]
#[template(path = "seller/money.html")]
struct MoneyPage {
    page: Page,
    connected: bool,
    express: bool,
    /// Set when Stripe could not be read.
    trouble: Option<String>,
    balance: Vec<BalanceLine>,
    payouts: Vec<PayoutSummary>,
}

impl MoneyPage {
    fn date(&self, unix: &i64) -> String {
        time::ymd(*unix)
    }
}

async fn money(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
) -> Result<MoneyPage, AppError> {
    let profile = super::profile(&state, &seller).await?;
    let account = profile
        .stripe_account_id
        .clone()
        .filter(|_| profile.disconnected_at.is_none());
    let mut out = MoneyPage {
        page,
        connected: account.is_some(),
        express: profile.stripe_account_type.as_deref() == Some("express"),
        trouble: None,
        balance: Vec::new(),
        payouts: Vec::new(),
    };
    let Some(account) = account else {
        return Ok(out);
    };
    let (balance, payouts) = tokio::join!(
        state.stripe.account_balance(&account),
        state.stripe.account_payouts(&account, 20)
    );
    match (balance, payouts) {
        (Ok(b), Ok(p)) => {
            out.balance = b;
            out.payouts = p;
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "could not read the seller's money from Stripe");
            out.trouble = Some(
                "We could not read your balance and payouts from Stripe just now. Please try again in a moment."
                    .into(),
            );
        }
    }
    Ok(out)
}

/// "Open Stripe": a one-time login link for Express accounts, the Stripe Dashboard otherwise.
async fn open_stripe(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let profile = super::profile(&state, &seller).await?;
    let Some(account) = profile
        .stripe_account_id
        .filter(|_| profile.disconnected_at.is_none())
    else {
        return Ok(see_other("/seller"));
    };
    if profile.stripe_account_type.as_deref() != Some("express") {
        return Ok(see_other(STRIPE_DASHBOARD));
    }
    match state.stripe.login_link(&account).await {
        Ok(url) => Ok(see_other(&url)),
        Err(e) => stripe_trouble(&session, &e),
    }
}
