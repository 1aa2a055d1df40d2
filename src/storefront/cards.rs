//! Saved cards. Card numbers are typed only on Stripe's hosted page (a Checkout Session in
//! `setup` mode); we keep the PaymentMethod id, brand, last 4 digits and expiry.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::Buyer;
use crate::auth::csrf::CsrfForm;
use crate::checkout::{self, CheckoutError};
use crate::db;
use crate::db::checkout::{self as store, SavedCard};
use crate::domain::Currency;
use crate::domain::ids::random_token;
use crate::error::AppError;
use crate::state::AppState;
use crate::stripe::GatewayError;
use crate::stripe::payments::IdemKey;
use crate::web::page::Page;
use crate::web::{flash, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/cards", web::get().to(list))
        .route("/cards/add", web::post().to(add))
        .route("/cards/return", web::get().to(returned))
        .route("/cards/{id}/remove", web::post().to(remove));
}

#[derive(Template, WebTemplate)]
#[template(path = "storefront/cards.html")]
struct CardsPage {
    page: Page,
    cards: Vec<SavedCard>,
    add_token: String,
}

async fn list(
    page: Page,
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
) -> Result<CardsPage, AppError> {
    Ok(CardsPage {
        page,
        cards: store::cards(&state.db, buyer.id.as_str()).await?,
        add_token: random_token(22),
    })
}

#[derive(Deserialize)]
struct AddInput {
    #[serde(default)]
    return_to: String,
    /// Random per rendered form: a double click opens the same Stripe page.
    #[serde(default)]
    add_token: String,
}

fn gateway_error(e: CheckoutError) -> AppError {
    match e {
        CheckoutError::Db(d) => AppError::Db(d),
        other => AppError::Internal(other.to_string()),
    }
}

async fn add(
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(input): CsrfForm<AddInput>,
) -> Result<HttpResponse, AppError> {
    let back = if input.return_to == "cart" {
        "cart"
    } else {
        "cards"
    };
    let customer = match checkout::platform_customer(&state, &buyer).await {
        Ok(c) => c,
        Err(CheckoutError::Gateway(e)) => {
            tracing::warn!(error = %e, "cannot create the buyer's Stripe customer");
            flash::error(&session, card_page_trouble(&e))?;
            return Ok(see_other(&format!("/{back}")));
        }
        Err(e) => return Err(gateway_error(e)),
    };
    let token = if input.add_token.len() == 22
        && input.add_token.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        input.add_token
    } else {
        random_token(22)
    };
    let base = &state.settings.base_url;
    let key = IdemKey::new(&[buyer.id.as_str(), "setup-session", &token]);
    let created = state
        .stripe
        .create_setup_session(
            &customer,
            Currency::Usd,
            &format!("{base}/cards/return?session_id={{CHECKOUT_SESSION_ID}}&to={back}"),
            &format!("{base}/{back}"),
            &key,
        )
        .await;
    match created {
        Ok(s) => match s.url {
            Some(url) => Ok(see_other(&url)),
            None => Err(AppError::Internal("setup session without a url".into())),
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the card page");
            flash::error(&session, card_page_trouble(&e))?;
            Ok(see_other(&format!("/{back}")))
        }
    }
}

/// Why the card page could not be opened. Only an unknown outcome (timeout, 5xx, rate limit)
/// is "cannot be reached"; a definite refusal says what Stripe refused, since trying again
/// in a moment would not help.
fn card_page_trouble(e: &GatewayError) -> String {
    if e.is_retryable() {
        return "Stripe cannot be reached right now; please try again in a moment.".into();
    }
    match e {
        GatewayError::InvalidRequest { message, .. } => {
            format!("Stripe refused to open the card page: {message}")
        }
        GatewayError::Idempotency(_) => {
            "This card form was already used. Reload the page and try again.".into()
        }
        GatewayError::Authentication(_)
        | GatewayError::PermissionDenied(_)
        | GatewayError::Config(_) => {
            "Cards cannot be saved right now: our connection to Stripe is misconfigured. \
             We have been alerted; please try again later."
                .into()
        }
        other => format!("Stripe refused to open the card page ({other})."),
    }
}

#[derive(Deserialize)]
struct ReturnQuery {
    session_id: Option<String>,
    to: Option<String>,
}

async fn returned(
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<ReturnQuery>,
) -> Result<HttpResponse, AppError> {
    let back = if q.to.as_deref() == Some("cart") {
        "/cart"
    } else {
        "/cards"
    };
    let Some(id) = q
        .session_id
        .as_deref()
        .filter(|s| s.starts_with("cs_") && s.len() < 200)
    else {
        return Err(AppError::BadRequest("missing session id".into()));
    };
    let customer = store::platform_customer(&state.db, buyer.id.as_str()).await?;
    let s = match state.stripe.retrieve_setup_session(id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the setup session");
            return Err(AppError::NotFound);
        }
    };
    // Only a session of this buyer's own Customer counts.
    if customer.is_none() || s.customer_id != customer {
        return Err(AppError::NotFound);
    }
    let Some(pm) = s.payment_method_id.filter(|_| s.complete) else {
        flash::info(&session, "No card was saved.")?;
        return Ok(see_other(back));
    };
    checkout::save_card(&state, &buyer, &pm)
        .await
        .map_err(gateway_error)?;
    flash::success(&session, "Your card was saved.")?;
    Ok(see_other(back))
}

#[derive(Deserialize)]
struct NoFields {}

async fn remove(
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    if !store::remove_card(&state.db, buyer.id.as_str(), &id, db::now_unix()).await? {
        return Err(AppError::NotFound);
    }
    flash::info(&session, "The card was removed.")?;
    Ok(see_other("/cards"))
}
