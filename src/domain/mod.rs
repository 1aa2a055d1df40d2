//! Pure types and business rules: no I/O, no framework types.

pub mod audit;
pub mod email;
pub mod fees;
pub mod ids;
pub mod images;
pub mod money;
pub mod orders;
pub mod password;
pub mod payouts;
pub mod product;
pub mod refunds;
pub mod reports;
pub mod role;
pub mod seller_fee;
pub mod seller_state;
pub mod time;

pub use email::{Email, EmailError};
pub use fees::PlatformFee;
pub use ids::{ProductId, UserId};
pub use money::{Currency, Money, MoneyError};
pub use password::{Password, PasswordError};
pub use role::Role;
