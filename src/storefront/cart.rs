//! The cart: in the database for a logged-in buyer, in the (encrypted cookie) session before
//! log-in, merged into the database at log-in. Quantities are checked against stock here and
//! again, atomically, when the order is placed.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::auth::extractors::MaybeUser;
use crate::db::checkout::{self as store, CartLine, SavedCard};
use crate::db::users::User;
use crate::db::{self, Db, catalog};
use crate::domain::ids::random_token;
use crate::domain::{Money, Role};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};

const SESSION_KEY: &str = "cart";
const MAX_QUANTITY: i64 = 1000;
const MAX_SESSION_LINES: usize = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/cart", web::get().to(show))
        .route("/cart/add", web::post().to(add))
        .route("/cart/update", web::post().to(update))
        .route("/cart/remove", web::post().to(remove));
}

fn session_items(session: &Session) -> Vec<(String, i64)> {
    session
        .get::<Vec<(String, i64)>>(SESSION_KEY)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Takes the visitor's cart out of the session (call before the log-in clears the session).
pub fn take_session_cart(session: &Session) -> Vec<(String, i64)> {
    let items = session_items(session);
    session.remove(SESSION_KEY);
    items
}

/// Adds a visitor's cart to the buyer's cart in the database.
pub async fn merge_into(db: &Db, buyer: &User, items: Vec<(String, i64)>) -> Result<(), AppError> {
    if buyer.role != Role::Buyer {
        return Ok(());
    }
    let now = db::now_unix();
    for (product, qty) in items {
        if catalog::find_sellable(db, &product).await?.is_some() {
            store::cart_add(
                db,
                buyer.id.as_str(),
                &product,
                qty.clamp(1, MAX_QUANTITY),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// One seller's lines with subtotals (one per currency).
pub struct SellerGroup {
    pub seller_id: String,
    pub seller_name: String,
    pub lines: Vec<CartLine>,
    pub subtotals: Vec<Money>,
}

pub fn group(lines: Vec<CartLine>) -> Vec<SellerGroup> {
    let mut groups: Vec<SellerGroup> = Vec::new();
    for line in lines {
        let at = match groups.iter().position(|g| g.seller_id == line.seller_id) {
            Some(i) => i,
            None => {
                groups.push(SellerGroup {
                    seller_id: line.seller_id.clone(),
                    seller_name: line.seller_name.clone(),
                    lines: Vec::new(),
                    subtotals: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[at];
        let amount = line
            .unit_price
            .checked_mul(line.quantity)
            .unwrap_or(line.unit_price);
        match g
            .subtotals
            .iter_mut()
            .find(|m| m.currency == amount.currency)
        {
            Some(m) => *m = m.checked_add(amount).unwrap_or(*m),
            None => g.subtotals.push(amount),
        }
        g.lines.push(line);
    }
    groups
}

#[derive(Template)]
#[template(path = "storefront/cart.html")]
struct CartPage {
    page: Page,
    groups: Vec<SellerGroup>,
    cards: Vec<SavedCard>,
    is_buyer: bool,
    blocked: bool,
    checkout_token: String,
    error: Option<String>,
}

async fn lines_of(
    state: &AppState,
    user: &Option<User>,
    session: &Session,
) -> Result<Vec<CartLine>, AppError> {
    match user {
        Some(u) if u.role == Role::Buyer => Ok(store::cart(&state.db, u.id.as_str()).await?),
        _ => Ok(store::lines_for(&state.db, &session_items(session)).await?),
    }
}

pub async fn render_cart(
    page: Page,
    state: &AppState,
    user: &Option<User>,
    session: &Session,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let lines = lines_of(state, user, session).await?;
    let blocked = lines.iter().any(|l| !l.sellable || l.quantity > l.stock);
    let (is_buyer, cards) = match user {
        Some(u) if u.role == Role::Buyer => (true, store::cards(&state.db, u.id.as_str()).await?),
        _ => (false, Vec::new()),
    };
    render_with_status(
        status,
        &CartPage {
            page,
            groups: group(lines),
            cards,
            is_buyer,
            blocked,
            checkout_token: format!("chk_{}", random_token(22)),
            error,
        },
    )
}

async fn show(
    page: Page,
    state: web::Data<AppState>,
    MaybeUser(user): MaybeUser,
    session: Session,
) -> Result<HttpResponse, AppError> {
    render_cart(page, &state, &user, &session, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct LineInput {
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    quantity: String,
}

fn quantity(raw: &str) -> Option<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|q| (1..=MAX_QUANTITY).contains(q))
}

/// Refuses with the cart page and a clear message (422).
async fn refuse(
    req: &actix_web::HttpRequest,
    state: &AppState,
    user: &Option<User>,
    session: &Session,
    message: String,
) -> Result<HttpResponse, AppError> {
    let page = Page::load(req).await?;
    render_cart(
        page,
        state,
        user,
        session,
        Some(message),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn add(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    MaybeUser(user): MaybeUser,
    session: Session,
    CsrfForm(input): CsrfForm<LineInput>,
) -> Result<HttpResponse, AppError> {
    if user.as_ref().is_some_and(|u| u.role != Role::Buyer) {
        return Err(AppError::Forbidden);
    }
    let Some(product) = catalog::find_sellable(&state.db, input.product_id.trim()).await? else {
        return refuse(
            &req,
            &state,
            &user,
            &session,
            "That product is not for sale any more.".into(),
        )
        .await;
    };
    let Some(qty) = quantity(&input.quantity) else {
        return refuse(
            &req,
            &state,
            &user,
            &session,
            "The quantity must be a whole number from 1 to 1000.".into(),
        )
        .await;
    };
    let already = match &user {
        Some(u) => store::cart_quantity(&state.db, u.id.as_str(), &product.id).await?,
        None => session_items(&session)
            .iter()
            .find(|(p, _)| *p == product.id)
            .map_or(0, |(_, q)| *q),
    };
    if already + qty > product.stock {
        return refuse(
            &req,
            &state,
            &user,
            &session,
            format!(
                "Only {} of {} in stock (you have {already} in your cart).",
                product.stock, product.title
            ),
        )
        .await;
    }
    match &user {
        Some(u) => {
            store::cart_add(&state.db, u.id.as_str(), &product.id, qty, db::now_unix()).await?
        }
        None => {
            let mut items = session_items(&session);
            let full = items.len() >= MAX_SESSION_LINES;
            match items.iter_mut().find(|(p, _)| *p == product.id) {
                Some((_, q)) => *q = (*q + qty).min(MAX_QUANTITY),
                None if !full => items.push((product.id.clone(), qty)),
                None => {
                    return refuse(&req, &state, &user, &session, "Your cart is full.".into())
                        .await;
                }
            }
            session.insert(SESSION_KEY, items)?;
        }
    }
    flash::success(
        &session,
        format!("Added {qty} × {} to your cart.", product.title),
    )?;
    Ok(see_other("/cart"))
}

async fn update(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    MaybeUser(user): MaybeUser,
    session: Session,
    CsrfForm(input): CsrfForm<LineInput>,
) -> Result<HttpResponse, AppError> {
    if user.as_ref().is_some_and(|u| u.role != Role::Buyer) {
        return Err(AppError::Forbidden);
    }
    let Some(qty) = quantity(&input.quantity) else {
        return refuse(
            &req,
            &state,
            &user,
            &session,
            "The quantity must be a whole number from 1 to 1000.".into(),
        )
        .await;
    };
    let product = catalog::find_sellable(&state.db, input.product_id.trim()).await?;
    if let Some(p) = &product
        && qty > p.stock
    {
        return refuse(
            &req,
            &state,
            &user,
            &session,
            format!("Only {} of {} in stock.", p.stock, p.title),
        )
        .await;
    }
    let id = input.product_id.trim();
    let found = match &user {
        Some(u) => store::cart_set(&state.db, u.id.as_str(), id, qty).await?,
        None => {
            let mut items = session_items(&session);
            let found = items
                .iter_mut()
                .find(|(p, _)| p == id)
                .map(|(_, q)| *q = qty)
                .is_some();
            session.insert(SESSION_KEY, items)?;
            found
        }
    };
    if !found {
        return refuse(
            &req,
            &state,
            &user,
            &session,
            "That product is not in your cart.".into(),
        )
        .await;
    }
    Ok(see_other("/cart"))
}

#[derive(Deserialize)]
struct RemoveInput {
    #[serde(default)]
    product_id: String,
}

async fn remove(
    state: web::Data<AppState>,
    MaybeUser(user): MaybeUser,
    session: Session,
    CsrfForm(input): CsrfForm<RemoveInput>,
) -> Result<HttpResponse, AppError> {
    let id = input.product_id.trim();
    match &user {
        Some(u) if u.role == Role::Buyer => {
            store::cart_remove(&state.db, u.id.as_str(), id).await?
        }
        Some(_) => return Err(AppError::Forbidden),
        None => {
            let mut items = session_items(&session);
            items.retain(|(p, _)| p != id);
            session.insert(SESSION_KEY, items)?;
        }
    }
    flash::info(&session, "Removed from your cart.")?;
    Ok(see_other("/cart"))
}
