//! A connected account's money as the seller sees it: balances per currency and payouts,
//! with Stripe's codes explained in words.

use std::fmt;

use crate::domain::{Currency, Money};

/// An amount in a currency we may not trade in: sellers' Stripe accounts can hold any
/// currency Stripe supports, and a balance must still be shown, not dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amount {
    Known(Money),
    /// Minor units of a currency outside [`Currency::ALL`], with its ISO code (lower case).
    Other {
        minor: i64,
        code: String,
    },
}

impl Amount {
    pub fn from_minor(minor: i64, code: &str) -> Amount {
        match code.parse::<Currency>() {
            Ok(c) => Amount::Known(Money::new(minor, c)),
            Err(_) => Amount::Other {
                minor,
                code: code.to_ascii_lowercase(),
            },
        }
    }

    pub fn currency_code(&self) -> String {
        match self {
            Amount::Known(m) => m.currency.to_string(),
            Amount::Other { code, .. } => code.to_ascii_uppercase(),
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Known(m) => m.fmt(f),
            Amount::Other { minor, code } => {
                write!(f, "{minor} (smallest unit) {}", code.to_ascii_uppercase())
            }
        }
    }
}

/// Available and pending funds in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceLine {
    pub available: Amount,
    pub pending: Amount,
}

/// One payout to the seller's bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutSummary {
    pub id: String,
    pub amount: Amount,
    /// `paid`, `pending`, `in_transit`, `canceled` or `failed`.
    pub status: String,
    /// Unix seconds: when the money is (expected to be) in the bank.
    pub arrival_date: i64,
    pub created: i64,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

impl PayoutSummary {
    pub fn status_words(&self) -> &'static str {
        payout_status_words(&self.status)
    }

    /// Why a payout failed and what to do, when it did.
    pub fn failure_words(&self) -> Option<String> {
        self.failure_code.as_deref().map(failure_code_words)
    }
}

pub fn payout_status_words(status: &str) -> &'static str {
    match status {
        "paid" => "Paid",
        "pending" => "Pending",
        "in_transit" => "On its way",
        "canceled" => "Cancelled",
        "failed" => "Failed",
        _ => "Unknown status",
    }
}

/// Stripe's payout `failure_code`s (docs: "Payout failures"), explained to the seller.
pub fn failure_code_words(code: &str) -> String {
    let text = match code {
        "account_closed" => "Your bank account has been closed. Add a new bank account in Stripe.",
        "account_frozen" => {
            "Your bank account is frozen. Contact your bank, or add another account in Stripe."
        }
        "bank_account_restricted" => {
            "Your bank account does not accept this kind of payment. Contact your bank or use another account."
        }
        "bank_ownership_changed" => {
            "The bank that holds your account changed owners. Update your bank details in Stripe."
        }
        "could_not_process" => {
            "Your bank could not process the payout. Stripe will tell you when it is retried."
        }
        "debit_not_authorized" => {
            "Your bank does not allow this payout. Contact your bank to authorise Stripe."
        }
        "declined" => "Your bank declined the payout. Contact your bank to find out why.",
        "insufficient_funds" => {
            "There was not enough money in your Stripe balance to cover the payout."
        }
        "invalid_account_number" => {
            "The bank account number is wrong. Check your bank details in Stripe."
        }
        "incorrect_account_holder_name" => {
            "The account holder name does not match your bank's records. Correct it in Stripe."
        }
        "incorrect_account_holder_address" => {
            "The account holder address does not match your bank's records. Correct it in Stripe."
        }
        "incorrect_account_holder_tax_id" => {
            "The tax ID does not match your bank's records. Correct it in Stripe."
        }
        "invalid_currency" => {
            "Your bank account cannot receive this currency. Add an account in this currency."
        }
        "no_account" => "The bank account could not be found. Check your bank details in Stripe.",
        "unsupported_card" => {
            "Your debit card cannot receive payouts. Use a bank account or another card."
        }
        _ => "",
    };
    if text.is_empty() {
        format!(
            "The payout failed ({}). Check your bank details in Stripe or contact Stripe support.",
            code.replace('_', " ")
        )
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_our_currencies_format_as_money() {
        assert_eq!(Amount::from_minor(1250, "usd").to_string(), "$12.50");
        assert_eq!(Amount::from_minor(500, "jpy").to_string(), "¥500");
        let other = Amount::from_minor(1000, "NOK");
        assert_eq!(other.to_string(), "1000 (smallest unit) NOK");
        assert_eq!(other.currency_code(), "NOK");
    }

    #[test]
    fn failure_codes_read_as_advice() {
        assert!(failure_code_words("account_closed").contains("closed"));
        assert!(failure_code_words("insufficient_funds").contains("not enough money"));
        assert_eq!(
            failure_code_words("brand_new_code"),
            "The payout failed (brand new code). Check your bank details in Stripe or contact Stripe support."
        );
    }

    #[test]
    fn statuses_have_words() {
        assert_eq!(payout_status_words("in_transit"), "On its way");
        assert_eq!(payout_status_words("weird"), "Unknown status");
    }
}
