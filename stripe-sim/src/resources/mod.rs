//! One module per Stripe resource. Each exposes `routes()`; [`routes`] joins them into the
//! table the dispatcher matches in order.

use crate::api::Route;

pub mod account_links;
pub mod accounts;
pub mod application_fees;
pub mod balance;
pub mod charges;
pub mod checkout_sessions;
pub mod customers;
pub mod payment_intents;
pub mod payment_methods;
pub mod refunds;
pub mod setup_intents;

// S3's resources
pub mod disputes;
pub mod early_fraud_warnings;
pub mod events_api;
pub mod payouts;
pub mod sim_helpers;
pub mod sim_ledger;
pub mod webhook_endpoints;

pub fn routes() -> Vec<Route> {
    let mut r = Vec::new();
    r.extend(accounts::routes());
    r.extend(account_links::routes());
    r.extend(customers::routes());
    r.extend(payment_methods::routes());
    r.extend(payment_intents::routes());
    r.extend(charges::routes());
    r.extend(refunds::routes());
    r.extend(application_fees::routes());
    r.extend(balance::routes());
    r.extend(setup_intents::routes());
    r.extend(checkout_sessions::routes());
    r.extend(webhook_endpoints::routes());
    r.extend(events_api::routes());
    r.extend(disputes::routes());
    r.extend(payouts::routes());
    r.extend(early_fraud_warnings::routes());
    r.extend(sim_helpers::routes());
    r.extend(crate::faults::routes());
    r
}
