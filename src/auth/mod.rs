//! Accounts, passwords, sessions, CSRF and the role extractors that let a
//! handler's signature say who may call it.

pub mod accounts;
pub mod csrf;
pub mod extractors;
pub mod password;
pub mod recovery;
pub mod routes;
pub mod security;
pub mod session;
pub mod throttle;

pub use extractors::{Admin, Buyer, CurrentUser, MaybeUser, Seller};
pub use routes::configure;
