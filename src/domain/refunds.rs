//! Refunds and disputes as rules: what a refund does to whom (the preview an admin confirms),
//! Stripe's refund reasons and statuses, and the dispute states and evidence fields we use.

use std::fmt;
use std::str::FromStr;

use super::{Money, MoneyError};

/// Stripe's `reason` values for a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundReason {
    RequestedByCustomer,
    Duplicate,
    Fraudulent,
}

impl RefundReason {
    pub const ALL: [RefundReason; 3] = [
        RefundReason::RequestedByCustomer,
        RefundReason::Duplicate,
        RefundReason::Fraudulent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundReason::RequestedByCustomer => "requested_by_customer",
            RefundReason::Duplicate => "duplicate",
            RefundReason::Fraudulent => "fraudulent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RefundReason::RequestedByCustomer => "Requested by the customer",
            RefundReason::Duplicate => "Duplicate payment",
            RefundReason::Fraudulent => "Fraudulent payment",
        }
    }
}

impl fmt::Display for RefundReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a refund reason")]
pub struct RefundReasonError(pub String);

impl FromStr for RefundReason {
    type Err = RefundReasonError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RefundReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| RefundReasonError(s.to_string()))
    }
}

/// Where one of our refund rows stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// The amount is reserved on the part; Stripe has not given a definite answer yet.
    Requested,
    Pending,
    RequiresAction,
    Succeeded,
    Failed,
    Canceled,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Requested => "requested",
            RefundStatus::Pending => "pending",
            RefundStatus::RequiresAction => "requires_action",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
            RefundStatus::Canceled => "canceled",
        }
    }

    /// Stripe's refund `status`; anything unknown counts as still pending.
    pub fn from_stripe(status: &str) -> RefundStatus {
        match status {
            "succeeded" => RefundStatus::Succeeded,
            "failed" => RefundStatus::Failed,
            "canceled" => RefundStatus::Canceled,
            "requires_action" => RefundStatus::RequiresAction,
            _ => RefundStatus::Pending,
        }
    }

    /// A failed or canceled refund gives its amount back to what can be refunded.
    pub fn releases_amount(self) -> bool {
        matches!(self, RefundStatus::Failed | RefundStatus::Canceled)
    }

    pub fn label(self) -> &'static str {
        match self {
            RefundStatus::Requested => "Sent to Stripe, no answer yet",
            RefundStatus::Pending => "Pending",
            RefundStatus::RequiresAction => "Needs action in Stripe",
            RefundStatus::Succeeded => "Refunded",
            RefundStatus::Failed => "Failed",
            RefundStatus::Canceled => "Canceled",
        }
    }
}

impl FromStr for RefundStatus {
    type Err = RefundReasonError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            RefundStatus::Requested,
            RefundStatus::Pending,
            RefundStatus::RequiresAction,
            RefundStatus::Succeeded,
            RefundStatus::Failed,
            RefundStatus::Canceled,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| RefundReasonError(s.to_string()))
    }
}

/// The money behind a charge as Stripe reports it, in minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeFigures {
    /// The charge's `amount` (authorized).
    pub amount: i64,
    pub amount_captured: i64,
    /// Includes an uncaptured remainder released by a partial capture, as on Stripe.
    pub amount_refunded: i64,
    /// The ApplicationFee's `amount` and `amount_refunded` (0 when the charge has no fee).
    pub fee: i64,
    pub fee_refunded: i64,
}

/// Application fee Stripe gives back for a refund with `refund_application_fee`: the fee
/// refunded so far is kept proportional to the captured amount refunded so far, rounded half
/// up, and the last refund returns what is left of the fee. Checked against the emulator's
/// `proportional_fee_refund`, which the same figures must reproduce exactly.
pub fn fee_refund_for(figures: ChargeFigures, amount: i64) -> i64 {
    let captured = figures.amount_captured;
    if captured <= 0 || figures.fee <= 0 {
        return 0;
    }
    let released = figures.amount - captured;
    let refunded_of_captured = figures.amount_refunded + amount - released;
    let target = if refunded_of_captured >= captured {
        figures.fee
    } else {
        // i128: fee × refunded cannot overflow whatever the amounts.
        let fee = i128::from(figures.fee);
        let cap = i128::from(captured);
        ((2 * fee * i128::from(refunded_of_captured) + cap) / (2 * cap)) as i64
    };
    (target - figures.fee_refunded).clamp(0, figures.fee - figures.fee_refunded)
}

/// Who gets what from one refund, before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundImpact {
    /// What goes back to the buyer's card.
    pub buyer_gets: Money,
    /// What leaves the seller's Stripe balance: the refund, less the fee the platform returns.
    pub seller_pays: Money,
    /// What the platform gives back of its application fee.
    pub platform_returns: Money,
    /// The ApplicationFee's `amount_refunded` after this refund.
    pub fee_refunded_after: Money,
}

impl RefundImpact {
    pub fn of(
        figures: ChargeFigures,
        amount: Money,
        refund_fee: bool,
    ) -> Result<RefundImpact, MoneyError> {
        let cur = amount.currency;
        let fee_back = if refund_fee {
            fee_refund_for(figures, amount.minor)
        } else {
            0
        };
        let platform_returns = Money::new(fee_back, cur);
        Ok(RefundImpact {
            buyer_gets: amount,
            seller_pays: amount.checked_sub(platform_returns)?,
            platform_returns,
            fee_refunded_after: Money::new(figures.fee_refunded, cur)
                .checked_add(platform_returns)?,
        })
    }

    /// The preview in words, as the admin reads it before confirming.
    pub fn words(&self) -> String {
        if self.platform_returns.minor > 0 {
            format!(
                "The buyer gets {} back. The seller's balance goes down by {}. The platform returns {} of its fee.",
                self.buyer_gets, self.seller_pays, self.platform_returns
            )
        } else {
            format!(
                "The buyer gets {} back. The seller's balance goes down by {}. The platform keeps its whole fee.",
                self.buyer_gets, self.seller_pays
            )
        }
    }
}

/// Dispute statuses in which the seller may still send evidence.
pub fn dispute_is_open(status: &str) -> bool {
    matches!(status, "needs_response" | "warning_needs_response")
}

pub fn dispute_is_closed(status: &str) -> bool {
    matches!(status, "won" | "lost" | "warning_closed")
}

pub fn dispute_status_words(status: &str) -> &'static str {
    match status {
        "needs_response" | "warning_needs_response" => "Waiting for evidence",
        "under_review" | "warning_under_review" => "Evidence submitted, under review",
        "won" => "Won",
        "lost" => "Lost",
        "warning_closed" => "Closed (inquiry)",
        _ => "Open",
    }
}

/// The text fields of Stripe's dispute `evidence` the seller's form offers, with their labels.
pub const EVIDENCE_FIELDS: [(&str, &str); 9] = [
    ("product_description", "What was sold"),
    ("customer_name", "Customer name"),
    ("customer_email_address", "Customer email address"),
    ("billing_address", "Billing address"),
    ("shipping_address", "Shipping address"),
    ("shipping_carrier", "Shipping carrier"),
    ("shipping_tracking_number", "Tracking number"),
    ("shipping_date", "Shipping date"),
    ("uncategorized_text", "Anything else the bank should know"),
];

/// Stripe's limit on the evidence text of one dispute, all fields together.
pub const EVIDENCE_MAX_CHARS: usize = 150_000;
/// Our limit per field (Stripe's per-field limits are lower for some short fields).
pub const EVIDENCE_FIELD_MAX_CHARS: usize = 20_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn figures(fee_refunded: i64, refunded: i64) -> ChargeFigures {
        ChargeFigures {
            amount: 1000,
            amount_captured: 1000,
            amount_refunded: refunded,
            fee: 123,
            fee_refunded,
        }
    }

    #[test]
    fn fee_refunds_match_the_emulators_proportional_rule() {
        // The emulator's own cases (stripe-sim refunds::proportional_fee_refund).
        assert_eq!(fee_refund_for(figures(0, 0), 333), 41);
        assert_eq!(fee_refund_for(figures(41, 333), 333), 41);
        assert_eq!(fee_refund_for(figures(82, 666), 334), 41);
        let half = ChargeFigures {
            fee: 5,
            ..figures(0, 0)
        };
        assert_eq!(fee_refund_for(half, 100), 1, "half up");
        let no_fee = ChargeFigures {
            fee: 0,
            ..figures(0, 0)
        };
        assert_eq!(fee_refund_for(no_fee, 500), 0);
        // A partial capture: 400 of 1000 captured, 600 released (counted as refunded).
        let partial = ChargeFigures {
            amount: 1000,
            amount_captured: 400,
            amount_refunded: 600,
            fee: 100,
            fee_refunded: 0,
        };
        assert_eq!(fee_refund_for(partial, 100), 25);
        assert_eq!(fee_refund_for(partial, 400), 100);
    }

    #[test]
    fn the_impact_reads_in_money_and_words() {
        let amount = Money::new(333, Currency::Usd);
        let with_fee = RefundImpact::of(figures(0, 0), amount, true).unwrap();
        assert_eq!(with_fee.platform_returns.minor, 41);
        assert_eq!(with_fee.seller_pays.minor, 292);
        assert_eq!(with_fee.fee_refunded_after.minor, 41);
        assert_eq!(
            with_fee.words(),
            "The buyer gets $3.33 back. The seller's balance goes down by $2.92. The platform returns $0.41 of its fee."
        );
        let without = RefundImpact::of(figures(0, 0), amount, false).unwrap();
        assert_eq!(without.seller_pays, amount);
        assert!(without.words().contains("keeps its whole fee"));
    }

    #[test]
    fn reasons_round_trip() {
        for r in RefundReason::ALL {
            assert_eq!(r.as_str().parse::<RefundReason>().unwrap(), r);
        }
        assert!("expired_uncaptured_charge".parse::<RefundReason>().is_err());
    }
}
