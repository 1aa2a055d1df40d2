//! The operator's back office. Every handler takes the `Admin` extractor
//! (anonymous → log-in, other roles → 403) and every POST a `CsrfForm`; each
//! action writes exactly one audit-log entry in its own transaction
//! (`db::audit`).

mod audit;
mod disputes;
mod onboarding;
mod orders;
mod sellers;
mod view;

pub mod mail;

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Admin;
use crate::db::{self, users::RoleCounts};
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;

/// One screen of accounts on the overview.
const USERS_PER_PAGE: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(users));
    mail::configure(cfg);
    sellers::configure(cfg);
    orders::configure(cfg);
    disputes::configure(cfg);
    audit::configure(cfg);
}

/// Which entry of the admin navigation (templates/admin/layout.html) is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Sellers,
    Orders,
    Disputes,
    Audit,
    Mail,
}

struct UserRow {
    id: String,
    email: String,
    role: &'static str,
    joined: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: Page,
    section: Section,
    users: Vec<UserRow>,
    counts: RoleCounts,
}

async fn users(
    page: Page,
    _admin: Admin,
    state: web::Data<AppState>,
) -> Result<UsersPage, AppError> {
    let users = db::users::list(&state.db, USERS_PER_PAGE)
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            email: u.email,
            role: u.role.as_str(),
            joined: time::ymd(u.created_at),
        })
        .collect();
    let counts = db::users::count_by_role(&state.db).await?;
    Ok(UsersPage {
        page,
        section: Section::Overview,
        users,
        counts,
    })
}
