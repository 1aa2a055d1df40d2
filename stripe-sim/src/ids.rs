//! Stripe-style object ids: a type prefix and random alphanumerics.

use rand::Rng;

fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `prefix_` + 24 random alphanumerics, like `cus_NffrFeUfNV2Hib9Wd2jBt1qy`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_alnum(24))
}

/// Accounts use 16 characters after `acct_`, as Stripe does.
pub fn account_id() -> String {
    format!("acct_1{}", random_alnum(15))
}

pub fn request_id() -> String {
    format!("req_{}", random_alnum(14))
}

/// Secrets embedded in client secrets, links and webhook signing secrets.
pub fn secret(len: usize) -> String {
    random_alnum(len)
}
