//! The seller's side of the marketplace. Every data function here takes the
//! seller from the `Seller` extractor, never from the URL.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Seller;
use crate::db::users::User;
use crate::domain::{Currency, time};
use crate::state::AppState;
use crate::web::page::Page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/seller", web::get().to(dashboard));
}

#[derive(Template, WebTemplate)]
#[template(path = "seller/dashboard.html")]
struct DashboardPage {
    page: Page,
    seller: User,
    member_since: String,
    fee: String,
}

async fn dashboard(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
) -> DashboardPage {
    DashboardPage {
        page,
        member_since: time::ymd(seller.created_at),
        seller,
        fee: state.platform_fee.describe(Currency::Usd),
    }
}
