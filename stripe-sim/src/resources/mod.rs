//! One module per Stripe resource. Each exposes `routes()`; [`routes`] joins them into the
//! table the dispatcher matches in order.

use crate::api::Route;

pub mod account_links;
pub mod accounts;
pub mod customers;
pub mod payment_methods;

// S3's resources
pub mod events_api;
pub mod webhook_endpoints;

pub fn routes() -> Vec<Route> {
    let mut r = Vec::new();
    r.extend(accounts::routes());
    r.extend(account_links::routes());
    r.extend(customers::routes());
    r.extend(payment_methods::routes());
    r.extend(events_api::routes());
    r.extend(webhook_endpoints::routes());
    r.extend(crate::faults::routes());
    r
}
