//! Pages for visitors and buyers.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Buyer;
use crate::db::users::User;
use crate::domain::{Currency, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(landing))
        .route("/account", web::get().to(account));
}

#[derive(Template, WebTemplate)]
#[template(path = "storefront/landing.html")]
struct LandingPage {
    page: Page,
    fee: String,
}

async fn landing(page: Page, state: web::Data<AppState>) -> LandingPage {
    LandingPage {
        page,
        fee: state.platform_fee.describe(Currency::Usd),
    }
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
