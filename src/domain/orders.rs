//! Order parts (one direct charge per seller) and how their states read to people.

use std::fmt;
use std::str::FromStr;

/// Where one seller's part of an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStatus {
    /// Written with its stock reserved; Stripe not called yet.
    Pending,
    /// Sent to Stripe; the outcome is not known yet (re-read until it is).
    Processing,
    /// Waiting for the buyer's 3-D Secure check.
    RequiresAction,
    /// Authorized, waiting for the seller to capture (manual capture).
    Authorized,
    Paid,
    /// Declined or authentication failed; stock released; may be retried with another card.
    Failed,
    /// Authorization canceled by the seller or expired; stock released.
    Canceled,
}

impl PartStatus {
    pub const ALL: [PartStatus; 7] = [
        PartStatus::Pending,
        PartStatus::Processing,
        PartStatus::RequiresAction,
        PartStatus::Authorized,
        PartStatus::Paid,
        PartStatus::Failed,
        PartStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartStatus::Pending => "pending",
            PartStatus::Processing => "processing",
            PartStatus::RequiresAction => "requires_action",
            PartStatus::Authorized => "authorized",
            PartStatus::Paid => "paid",
            PartStatus::Failed => "failed",
            PartStatus::Canceled => "canceled",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            PartStatus::Pending => "Waiting to be paid",
            PartStatus::Processing => "Payment in progress",
            PartStatus::RequiresAction => "Waiting for your card's security check",
            PartStatus::Authorized => "Authorized (charged when the seller ships)",
            PartStatus::Paid => "Paid",
            PartStatus::Failed => "Payment failed",
            PartStatus::Canceled => "Canceled",
        }
    }

    /// Whether the outcome of the current attempt is still open.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            PartStatus::Pending | PartStatus::Processing | PartStatus::RequiresAction
        )
    }
}

impl fmt::Display for PartStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an order part status")]
pub struct PartStatusError(String);

impl FromStr for PartStatus {
    type Err = PartStatusError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PartStatus::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| PartStatusError(s.to_string()))
    }
}

/// Stripe's decline and error codes in words a buyer understands.
pub fn decline_reason(code: Option<&str>, decline_code: Option<&str>) -> &'static str {
    match decline_code.or(code) {
        Some("insufficient_funds") => "Your card has insufficient funds.",
        Some("expired_card") => "Your card has expired.",
        Some("incorrect_cvc") | Some("invalid_cvc") => {
            "The card's security code (CVC) is incorrect."
        }
        Some("incorrect_number") | Some("invalid_number") => "The card number is incorrect.",
        Some("lost_card") | Some("stolen_card") => "Your card was declined.",
        Some("payment_intent_authentication_failure") | Some("authentication_required") => {
            "Your bank's security check (3-D Secure) was not completed, so the card was not charged."
        }
        Some("processing_error") => "The card could not be processed. Please try again.",
        _ => "Your card was declined.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in PartStatus::ALL {
            assert_eq!(s.as_str().parse::<PartStatus>().unwrap(), s);
        }
        assert!("paid ".parse::<PartStatus>().is_err());
    }

    #[test]
    fn declines_read_in_words() {
        assert_eq!(
            decline_reason(Some("card_declined"), Some("insufficient_funds")),
            "Your card has insufficient funds."
        );
        assert_eq!(
            decline_reason(Some("expired_card"), None),
            "Your card has expired."
        );
        assert_eq!(
            decline_reason(Some("incorrect_cvc"), None),
            "The card's security code (CVC) is incorrect."
        );
        assert_eq!(
            decline_reason(Some("card_declined"), Some("generic_decline")),
            "Your card was declined."
        );
    }
}
