//! Pages for visitors and buyers.

pub mod cache;
pub mod cards;
pub mod cart;
pub mod catalog;
pub mod orders;

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Buyer;
use crate::db::users::User;
use crate::domain::time;
use crate::error::AppError;
use crate::web::page::Page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(account))
        .configure(catalog::configure)
        .configure(cart::configure)
        .configure(cards::configure)
        .configure(orders::configure);
}

#[derive(Template, WebTemplate)]
#[template(path = "storefront/account.html")]
struct AccountPage {
    page: Page,
    buyer: User,
    member_since: String,
}

async fn account(page: Page, Buyer(buyer): Buyer) -> Result<HttpResponse, AppError> {
    let member_since = time::ymd(buyer.created_at);
    crate::web::render_with_status(
        actix_web::http::StatusCode::OK,
        &AccountPage {
            page,
            buyer,
            member_since,
        },
    )
}
