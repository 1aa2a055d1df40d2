//! The seller's side of the marketplace. Every data function here takes the
//! seller from the `Seller` extractor, never from the URL.

pub mod accounts;
mod disputes;
mod money;
mod onboarding;
mod orders;
mod products;

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Seller;
use crate::db::sellers::SellerRow;
use crate::db::users::User;
use crate::domain::seller_state::AccountState;
use crate::domain::{Currency, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/seller", web::get().to(dashboard));
    onboarding::configure(cfg);
    money::configure(cfg);
    orders::configure(cfg);
    products::configure(cfg);
    disputes::configure(cfg);
}

/// The seller's profile row; every seller has one from sign-up.
pub(crate) async fn profile(state: &AppState, seller: &User) -> Result<SellerRow, AppError> {
    crate::db::sellers::find(&state.db, &seller.id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("seller {} has no profile", seller.id)))
}

#[derive(Template, WebTemplate)]
#[template(path = "seller/dashboard.html")]
struct DashboardPage {
    page: Page,
    seller: User,
    profile: SellerRow,
    standing: AccountState,
    member_since: String,
    checked_at: Option<String>,
    disconnected_on: Option<String>,
    fee: String,
}

impl DashboardPage {
    fn deadline(&self) -> Option<String> {
        match &self.standing {
            AccountState::RequirementsDue {
                deadline: Some(d), ..
            } => Some(time::ymd(*d)),
            _ => None,
        }
    }

    fn items(&self) -> Vec<&str> {
        match &self.standing {
            AccountState::RequirementsDue { items, .. }
            | AccountState::Restricted { items, .. } => {
                items.iter().map(|r| r.words.as_str()).collect()
            }
            _ => Vec::new(),
        }
    }

    fn status_class(&self) -> &'static str {
        match self.standing {
            AccountState::Active => "status-ok",
            AccountState::Restricted { .. } => "status-bad",
            _ => "status-pending",
        }
    }
}

async fn dashboard(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
) -> Result<DashboardPage, AppError> {
    let profile = profile(&state, &seller).await?;
    let standing = accounts::standing(&profile);
    Ok(DashboardPage {
        page,
        member_since: time::ymd(seller.created_at),
        checked_at: profile.account_read_at.map(time::ymd_hm),
        disconnected_on: profile.disconnected_at.map(time::ymd),
        standing,
        profile,
        seller,
        fee: state.platform_fee.describe(Currency::Usd),
    })
}
