//! A seller's onboarding in words for the operator, from the sellers' own rule
//! (`seller::accounts::standing` → `domain::seller_state`): the same state and
//! requirement sentences the seller sees on their dashboard.

use crate::db::seller_admin::SellerRow;
use crate::domain::seller_state::{
    AccountState, Requirements, disabled_reason_words, requirements_in_words,
};
use crate::seller::accounts::standing;

/// The stored states (`sellers.account_state`), in onboarding order, with the
/// list filter's wording.
pub const STATES: [(&str, &str); 5] = [
    ("not_started", "Not connected"),
    ("details_pending", "Setup unfinished or being checked"),
    ("requirements_due", "Information needed"),
    ("restricted", "Restricted"),
    ("active", "Active"),
];

pub struct Onboarding {
    pub label: &'static str,
    /// CSS modifier for the state badge.
    pub tone: &'static str,
    /// What Stripe still wants or why it stopped the account, one line each.
    pub lines: Vec<String>,
    /// Requirements due now (past due and currently due).
    pub open: usize,
}

pub fn describe(seller: &SellerRow) -> Onboarding {
    let state = standing(&seller.profile());
    let req: Requirements = seller
        .requirements
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let words = |keys: &[String]| -> Vec<String> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        requirements_in_words(&keys)
            .into_iter()
            .map(|r| r.words)
            .collect()
    };
    let mut lines = Vec::new();
    if let AccountState::Restricted { reason, .. } = &state {
        lines.push(reason.clone());
    } else if let Some(code) = req.disabled_reason.as_deref().filter(|c| !c.is_empty()) {
        lines.push(disabled_reason_words(code));
    }
    let due = match &state {
        AccountState::RequirementsDue { items, .. } | AccountState::Restricted { items, .. } => {
            items.iter().map(|r| r.words.clone()).collect()
        }
        _ => Vec::new(),
    };
    let open = due.len();
    for (label, items) in [
        ("Due now", due),
        ("Being verified", words(&req.pending_verification)),
        ("Due later", words(&req.eventually_due)),
    ] {
        if !items.is_empty() {
            lines.push(format!("{label}: {}", items.join("; ")));
        }
    }
    Onboarding {
        label: state.label(),
        tone: match state {
            AccountState::Active => "ok",
            AccountState::Restricted { .. } => "bad",
            _ => "pending",
        },
        lines,
        open,
    }
}
