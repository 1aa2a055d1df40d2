//! Checkout and the buyer's orders: place and pay, 3-D Secure return, retry a failed part
//! with another card, order history and the order page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::Buyer;
use crate::auth::csrf::CsrfForm;
use crate::auth::extractors::MaybeUser;
use crate::checkout::{self, CheckoutError};
use crate::db::checkout::{self as store, Item, Part, SavedCard};
use crate::domain::orders::PartStatus;
use crate::domain::{Money, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::{flash, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/checkout", web::post().to(place))
        .route("/checkout/return/{part}", web::get().to(action_return))
        .route("/orders", web::get().to(history))
        .route("/orders/{id}", web::get().to(order))
        .route("/orders/{id}/parts/{part}/retry", web::post().to(retry));
}

#[derive(Deserialize)]
struct PlaceInput {
    #[serde(default)]
    card_id: String,
    #[serde(default)]
    checkout_token: String,
}

fn valid_token(t: &str) -> bool {
    t.starts_with("chk_") && t.len() <= 64 && t[4..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Refusals a person can act on go back to the cart with the reason (422); infrastructure
/// failures become the generic error page.
async fn cart_with_error(
    req: &HttpRequest,
    state: &AppState,
    message: String,
) -> Result<HttpResponse, AppError> {
    let page = Page::load(req).await?;
    let MaybeUser(user) = MaybeUser(crate::auth::extractors::load_user(req).await?);
    let session = actix_session::SessionExt::get_session(req);
    crate::storefront::cart::render_cart(
        page,
        state,
        &user,
        &session,
        Some(message),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn to_app(e: CheckoutError) -> AppError {
    match e {
        CheckoutError::Db(d) => AppError::Db(d),
        other => AppError::Internal(other.to_string()),
    }
}

/// Where the buyer goes after paying: the first 3-D Secure page still waiting, else the order.
async fn next_stop(state: &AppState, buyer_id: &str, order_id: &str) -> Result<String, AppError> {
    let parts = store::parts_of_order(&state.db, buyer_id, order_id).await?;
    Ok(parts
        .iter()
        .find(|p| p.status == PartStatus::RequiresAction)
        .and_then(|p| p.action_url.clone())
        .unwrap_or_else(|| format!("/orders/{order_id}")))
}

async fn place(
    req: HttpRequest,
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<PlaceInput>,
) -> Result<HttpResponse, AppError> {
    // Money moves only for people we can reach about it.
    if !buyer.email_verified() {
        return Err(AppError::EmailNotVerified);
    }
    if !valid_token(&input.checkout_token) {
        return cart_with_error(
            &req,
            &state,
            "This checkout form has expired; please try again.".into(),
        )
        .await;
    }
    match checkout::place_and_pay(&state, &buyer, &input.checkout_token, input.card_id.trim()).await
    {
        Ok(order_id) => Ok(see_other(
            &next_stop(&state, buyer.id.as_str(), order_id.as_str()).await?,
        )),
        Err(
            e @ (CheckoutError::EmptyCart
            | CheckoutError::NoSuchCard
            | CheckoutError::Unavailable(_)
            | CheckoutError::BadQuantity),
        ) => {
            let msg = match e {
                CheckoutError::NoSuchCard => {
                    "Choose one of your saved cards. Nothing was charged.".to_string()
                }
                other => other.to_string(),
            };
            cart_with_error(&req, &state, msg).await
        }
        Err(e) => Err(to_app(e)),
    }
}

/// Stripe sends the buyer back here after the 3-D Secure page: re-read the intent.
async fn action_return(
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
    part_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let part = store::part_of_buyer(&state.db, buyer.id.as_str(), &part_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Err(e) = checkout::refresh(&state, &part).await {
        tracing::warn!(part = %part.id, error = %e, "could not re-read the payment after 3-D Secure");
    }
    Ok(see_other(
        &next_stop(&state, buyer.id.as_str(), &part.order_id).await?,
    ))
}

#[derive(Deserialize)]
struct RetryInput {
    #[serde(default)]
    card_id: String,
}

async fn retry(
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    CsrfForm(input): CsrfForm<RetryInput>,
) -> Result<HttpResponse, AppError> {
    if !buyer.email_verified() {
        return Err(AppError::EmailNotVerified);
    }
    let (order_id, part_id) = path.into_inner();
    let part = store::part_of_buyer(&state.db, buyer.id.as_str(), &part_id)
        .await?
        .filter(|p| p.order_id == order_id)
        .ok_or(AppError::NotFound)?;
    match checkout::retry(&state, &buyer, &part.id, input.card_id.trim()).await {
        Ok(true) => {}
        Ok(false) => flash::info(&session, "That payment is not waiting for another card.")?,
        Err(CheckoutError::NoSuchCard) => flash::info(
            &session,
            "Choose one of your saved cards. Nothing was charged.",
        )?,
        Err(CheckoutError::Unavailable(m)) => flash::info(&session, m)?,
        Err(e) => return Err(to_app(e)),
    }
    Ok(see_other(
        &next_stop(&state, buyer.id.as_str(), &order_id).await?,
    ))
}

pub struct PartView {
    pub part: Part,
    pub items: Vec<(Item, Money)>,
    pub label: &'static str,
    /// Refunds on their way or received: (date, amount, words).
    pub refunds: Vec<(String, Money, &'static str)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "storefront/order.html")]
struct OrderPage {
    page: Page,
    order_id: String,
    placed: String,
    parts: Vec<PartView>,
    cards: Vec<SavedCard>,
    any_open: bool,
}

async fn order(
    page: Page,
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<OrderPage, AppError> {
    let mut parts = store::parts_of_order(&state.db, buyer.id.as_str(), &id).await?;
    if parts.is_empty() {
        return Err(AppError::NotFound);
    }
    // A part whose answer never came is re-read from Stripe when its buyer looks.
    for p in parts.iter_mut() {
        if matches!(p.status, PartStatus::Pending | PartStatus::Processing)
            && let Ok(fresh) = checkout::drive(&state, &p.id).await
        {
            *p = fresh;
        }
    }
    let placed = time::ymd(parts[0].created_at);
    let refunds = crate::db::refunds::of_buyer_order(&state.db, buyer.id.as_str(), &id).await?;
    let mut views = Vec::new();
    for p in parts {
        let part_refunds = refunds
            .iter()
            .filter(|r| r.part_id == p.id && !r.status.releases_amount())
            .map(|r| {
                let words = if r.status == crate::domain::refunds::RefundStatus::Succeeded {
                    "refunded to your card"
                } else {
                    "refund on its way to your card"
                };
                (time::ymd(r.created_at), r.amount, words)
            })
            .collect();
        let items = store::items_of_part(&state.db, &p.id)
            .await?
            .into_iter()
            .map(|i| {
                let price = Money::new(i.unit_price_minor, p.amount.currency);
                (i, price)
            })
            .collect();
        views.push(PartView {
            label: p.status.label(),
            refunds: part_refunds,
            items,
            part: p,
        });
    }
    Ok(OrderPage {
        page,
        order_id: id.into_inner(),
        placed,
        any_open: views.iter().any(|v| v.part.status.is_open()),
        parts: views,
        cards: store::cards(&state.db, buyer.id.as_str()).await?,
    })
}

pub struct OrderSummary {
    pub id: String,
    pub placed: String,
    pub parts: Vec<(String, Money, &'static str)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "storefront/orders.html")]
struct HistoryPage {
    page: Page,
    orders: Vec<OrderSummary>,
}

async fn history(
    page: Page,
    Buyer(buyer): Buyer,
    state: web::Data<AppState>,
) -> Result<HistoryPage, AppError> {
    let parts = store::parts_of_buyer(&state.db, buyer.id.as_str(), 50).await?;
    let mut orders: Vec<OrderSummary> = Vec::new();
    for p in parts {
        let entry = (p.seller_name.clone(), p.amount, p.status.label());
        match orders.iter_mut().find(|o| o.id == p.order_id) {
            Some(o) => o.parts.push(entry),
            None => orders.push(OrderSummary {
                id: p.order_id.clone(),
                placed: time::ymd(p.created_at),
                parts: vec![entry],
            }),
        }
    }
    Ok(HistoryPage { page, orders })
}
