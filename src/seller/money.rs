//! The seller's money pages (filled in with the balance and payouts).

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
