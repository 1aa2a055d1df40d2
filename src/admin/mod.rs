//! The operator's back office. Every handler takes the `Admin` extractor
//! (anonymous → log-in, other roles → 403) and every POST a `CsrfForm`; each
//! action writes exactly one audit-log entry in its own transaction
//! (`db::audit`).

mod audit;
mod disputes;
mod events;
mod fees;
mod onboarding;
mod orders;
mod sellers;
mod view;

pub mod mail;
pub mod overview;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(overview::show));
    mail::configure(cfg);
    sellers::configure(cfg);
    orders::configure(cfg);
    disputes::configure(cfg);
    audit::configure(cfg);
    events::configure(cfg);
    fees::configure(cfg);
}

/// Which entry of the admin navigation (templates/admin/layout.html) is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Sellers,
    Events,
    Fees,
    Orders,
    Disputes,
    Audit,
    Mail,
}
