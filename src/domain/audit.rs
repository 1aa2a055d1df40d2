//! What the audit log can record. Every admin action has one variant here, so
//! the log's filter and its wording come from one list.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    SellerSuspend,
    SellerRestore,
    SellerFeeChange,
    EventReplay,
    ReconcileStart,
    OrderRefund,
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an audit action")]
pub struct AuditActionError(pub String);

impl AuditAction {
    pub const ALL: [AuditAction; 6] = [
        AuditAction::SellerSuspend,
        AuditAction::SellerRestore,
        AuditAction::SellerFeeChange,
        AuditAction::EventReplay,
        AuditAction::ReconcileStart,
        AuditAction::OrderRefund,
    ];

    /// Stored in `audit_log.action`; never change a value once written.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SellerSuspend => "seller.suspend",
            AuditAction::SellerRestore => "seller.restore",
            AuditAction::SellerFeeChange => "seller.fee_change",
            AuditAction::EventReplay => "webhook_event.replay",
            AuditAction::ReconcileStart => "reconcile.start",
            AuditAction::OrderRefund => "order.refund",
        }
    }

    /// For people: the log's filter and rows.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::SellerSuspend => "Seller suspended",
            AuditAction::SellerRestore => "Seller restored",
            AuditAction::SellerFeeChange => "Seller fee changed",
            AuditAction::EventReplay => "Webhook event replayed",
            AuditAction::ReconcileStart => "Reconciliation started",
            AuditAction::OrderRefund => "Order refunded",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = AuditActionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| AuditActionError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_stored_text() {
        for a in AuditAction::ALL {
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), a);
        }
        assert!("seller.delete".parse::<AuditAction>().is_err());
    }
}
