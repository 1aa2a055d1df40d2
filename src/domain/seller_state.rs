//! Where a seller's Stripe account stands, in words a person understands.
//!
//! [`account_state`] is the one rule mapping what Stripe says about a connected
//! account (`details_submitted`, `charges_enabled`, `payouts_enabled` and the
//! `requirements` hash) to one of five states. It is pure: the return route,
//! the "refresh status" button and the `account.updated` webhook all read the
//! account, build an [`AccountSnapshot`] and store what this function says.

use serde::{Deserialize, Serialize};

use crate::domain::time;

/// Which kind of connected account new sellers get (`SELLER_ACCOUNT_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// The seller's own full Stripe account and Dashboard (seed 001).
    Standard,
    /// A Stripe-hosted light dashboard, reached through login links.
    Express,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Standard => "standard",
            AccountKind::Express => "express",
        }
    }
}

impl std::str::FromStr for AccountKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "standard" => Ok(AccountKind::Standard),
            "express" => Ok(AccountKind::Express),
            _ => Err(()),
        }
    }
}

/// The `requirements` hash of a Stripe account, as far as we use it. Stored as
/// JSON beside the seller so the dashboard can explain it without calling Stripe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirements {
    #[serde(default)]
    pub currently_due: Vec<String>,
    #[serde(default)]
    pub past_due: Vec<String>,
    #[serde(default)]
    pub eventually_due: Vec<String>,
    #[serde(default)]
    pub pending_verification: Vec<String>,
    /// Unix seconds by which `currently_due` must be provided.
    #[serde(default)]
    pub current_deadline: Option<i64>,
    /// Why the account cannot take charges (`requirements.past_due`, `rejected.fraud`…).
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

/// What Stripe said about a connected account at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSnapshot {
    /// `acct_…`
    pub account_id: String,
    /// `standard`, `express` or `custom` (None when Stripe did not say).
    pub account_type: Option<String>,
    pub details_submitted: bool,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub requirements: Requirements,
}

/// One requirement explained: the sentence for people, the key for support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub words: String,
    pub key: String,
}

/// The five states a seller can be in, with what the dashboard needs to explain each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    /// No Stripe account yet.
    NotStarted,
    /// An account exists but Stripe's onboarding form is unfinished (`submitted` false), or
    /// it was sent and Stripe is still checking it (`submitted` true).
    DetailsPending { submitted: bool },
    /// Stripe needs more information; the shop keeps selling until the deadline (if any).
    RequirementsDue {
        items: Vec<Requirement>,
        deadline: Option<i64>,
        overdue: bool,
    },
    /// The account cannot take charges: why, and what (if anything) would fix it.
    Restricted {
        reason: String,
        items: Vec<Requirement>,
    },
    /// Charges (and normally payouts) enabled, nothing due.
    Active,
}

impl AccountState {
    /// The stored spelling (`sellers.account_state`).
    pub fn code(&self) -> &'static str {
        match self {
            AccountState::NotStarted => "not_started",
            AccountState::DetailsPending { .. } => "details_pending",
            AccountState::RequirementsDue { .. } => "requirements_due",
            AccountState::Restricted { .. } => "restricted",
            AccountState::Active => "active",
        }
    }

    /// A short label for badges.
    pub fn label(&self) -> &'static str {
        match self {
            AccountState::NotStarted => "Not connected",
            AccountState::DetailsPending { submitted: false } => "Setup not finished",
            AccountState::DetailsPending { submitted: true } => "Being checked by Stripe",
            AccountState::RequirementsDue { .. } => "Information needed",
            AccountState::Restricted { .. } => "Restricted",
            AccountState::Active => "Active",
        }
    }

    /// One or two sentences saying where the seller stands and what to do next.
    pub fn summary(&self) -> String {
        match self {
            AccountState::NotStarted => "Your shop has no Stripe account yet. Set up payouts so buyers' \
                 payments go straight to you."
                .into(),
            AccountState::DetailsPending { submitted: false } => {
                "You started setting up payouts but Stripe's form is not finished yet. \
                 Continue where you left off; it takes a few minutes."
                    .into()
            }
            AccountState::DetailsPending { submitted: true } => {
                "Stripe has your details and is checking them. This usually takes a few minutes; \
                 refresh the status to see if it is done."
                    .into()
            }
            AccountState::RequirementsDue {
                deadline, overdue, ..
            } => match (overdue, deadline) {
                (true, _) => "Stripe needs the information below, and it is overdue. \
                     Provide it now to keep taking orders."
                    .into(),
                (false, Some(d)) => format!(
                    "Stripe needs the information below by {}. Your shop keeps selling \
                     until then.",
                    time::ymd(*d)
                ),
                (false, None) => "Stripe needs the information below. Your shop keeps selling \
                     in the meantime."
                    .into(),
            },
            AccountState::Restricted { reason, .. } => {
                format!("Your Stripe account cannot take payments right now. {reason}")
            }
            AccountState::Active => {
                "Your Stripe account is active: buyers can pay you and Stripe pays out to your bank."
                    .into()
            }
        }
    }

    /// Whether a (new) onboarding link would help: everything but "active" with nothing due.
    pub fn wants_onboarding_link(&self) -> bool {
        !matches!(self, AccountState::Active)
    }
}

/// The rule: where a seller stands, from the last snapshot of their account (None = no account).
pub fn account_state(snapshot: Option<&AccountSnapshot>) -> AccountState {
    let Some(s) = snapshot else {
        return AccountState::NotStarted;
    };
    let r = &s.requirements;
    let reason = r.disabled_reason.as_deref().filter(|x| !x.is_empty());
    // Stripe rejected or closed the account: nothing the seller fills in changes that.
    if let Some(code) = reason.filter(|c| is_final_rejection(c)) {
        return AccountState::Restricted {
            reason: disabled_reason_words(code),
            items: Vec::new(),
        };
    }
    if !s.details_submitted {
        return AccountState::DetailsPending { submitted: false };
    }
    let mut due: Vec<&str> = r.past_due.iter().map(String::as_str).collect();
    for k in &r.currently_due {
        if !due.contains(&k.as_str()) {
            due.push(k);
        }
    }
    let items = requirements_in_words(&due);
    if !s.charges_enabled {
        return match reason {
            // Stripe is verifying what was sent; nothing to do but wait.
            Some("requirements.pending_verification") if due.is_empty() => {
                AccountState::DetailsPending { submitted: true }
            }
            Some(code) => AccountState::Restricted {
                reason: disabled_reason_words(code),
                items,
            },
            None if !due.is_empty() => AccountState::RequirementsDue {
                items,
                deadline: r.current_deadline,
                overdue: !r.past_due.is_empty(),
            },
            None => AccountState::DetailsPending { submitted: true },
        };
    }
    if !due.is_empty() {
        return AccountState::RequirementsDue {
            items,
            deadline: r.current_deadline,
            overdue: !r.past_due.is_empty(),
        };
    }
    AccountState::Active
}

fn is_final_rejection(code: &str) -> bool {
    code.starts_with("rejected.")
}

/// Why Stripe disabled an account, for the seller. Unknown codes still read sensibly.
pub fn disabled_reason_words(code: &str) -> String {
    let text = match code {
        "requirements.past_due" => {
            "Stripe asked for information that was not provided in time. Provide it to lift the restriction."
        }
        "requirements.pending_verification" => {
            "Stripe is verifying the information you sent and will lift the restriction once it is checked."
        }
        "action_required.requested_capabilities" => {
            "A payment method the marketplace asked for needs your action in Stripe."
        }
        "listed" => {
            "Stripe is reviewing the account because it may match a name on a sanctions or restricted-persons list."
        }
        "under_review" => {
            "Stripe is reviewing the account. They will contact you if they need anything."
        }
        "platform_paused" => {
            "The marketplace has paused payments on your account. Contact us to find out why."
        }
        "rejected.fraud" => "Stripe closed the account because of suspected fraud.",
        "rejected.terms_of_service" => {
            "Stripe closed the account for a breach of its terms of service."
        }
        "rejected.listed" => {
            "Stripe closed the account because it matches a name on a sanctions or restricted-persons list."
        }
        "rejected.incomplete_verification" => {
            "Stripe closed the account because the identity checks could not be completed."
        }
        "rejected.platform_fraud"
        | "rejected.platform_terms_of_service"
        | "rejected.platform_other" => {
            "The marketplace closed this Stripe account. Contact us if you think this is a mistake."
        }
        "rejected.other" => "Stripe closed the account. Contact Stripe support for the details.",
        "other" => "Stripe restricted the account. Contact Stripe support for the details.",
        _ => "",
    };
    if text.is_empty() {
        format!(
            "Stripe restricted the account (reason: {}). Contact Stripe support for the details.",
            humanize(code)
        )
    } else {
        text.to_string()
    }
}

/// Requirement keys (`individual.verification.document`, `person_abc.dob.day`…) as sentences,
/// without duplicates (the three `dob.*` keys are one date of birth).
pub fn requirements_in_words(keys: &[&str]) -> Vec<Requirement> {
    let mut out: Vec<Requirement> = Vec::new();
    for key in keys {
        let words = requirement_words(key);
        if !out.iter().any(|r| r.words == words) {
            out.push(Requirement {
                words,
                key: (*key).to_string(),
            });
        }
    }
    out
}

fn requirement_words(key: &str) -> String {
    // Whose detail it is: the seller, the company, or one of the company's people.
    let (owner, rest) = match key.split_once('.') {
        Some((first, rest)) if first == "individual" || first == "representative" => ("your", rest),
        Some((first, rest)) if first.starts_with("person_") => ("a company representative's", rest),
        Some(("company", rest)) => ("your company's", rest),
        _ => ("", key),
    };
    let personal = |what: &str| -> String {
        if owner.is_empty() {
            capitalise(what)
        } else {
            capitalise(&format!("{owner} {what}"))
        }
    };
    let field = rest.split('.').next().unwrap_or(rest);
    let known = match (owner, field, rest) {
        ("", "business_profile", r) if r.ends_with("mcc") => {
            Some("Your business category (what you sell)".into())
        }
        ("", "business_profile", r) if r.ends_with("url") || r.ends_with("product_description") => {
            Some("Your shop's website or a description of what you sell".into())
        }
        ("", "business_profile", _) => Some("Details of your business profile".into()),
        ("", "business_type", _) => {
            Some("Whether you sell as an individual or as a company".into())
        }
        ("", "external_account", _) => Some("A bank account for your payouts".into()),
        ("", "tos_acceptance", _) => Some("Acceptance of Stripe's services agreement".into()),
        ("", "settings", r) if r.contains("statement_descriptor") => {
            Some("The shop name shown on buyers' card statements".into())
        }
        (_, "verification", r) if r.contains("additional_document") => {
            Some(personal("proof of address (such as a utility bill)"))
        }
        (_, "verification", _) => Some(personal(
            "identity document (passport, ID card or driving licence)",
        )),
        (_, "first_name", _) | (_, "last_name", _) => Some(personal("full name")),
        (_, "dob", _) => Some(personal("date of birth")),
        (_, "address", _) => Some(personal("address")),
        (_, "email", _) => Some(personal("email address")),
        (_, "phone", _) => Some(personal("phone number")),
        (_, "id_number", _) => Some(personal("national ID or tax number")),
        (_, "ssn_last_4", _) => Some(personal("last 4 digits of the social security number")),
        (_, "tax_id", _) => Some(personal("tax ID")),
        (_, "name", _) => Some(personal("legal name")),
        (_, "relationship", r) if r.contains("title") => Some(personal("job title")),
        ("your company's", "owners_provided", _) | ("your company's", "directors_provided", _) => {
            Some("Confirmation of who owns and directs your company".into())
        }
        _ => None,
    };
    known.unwrap_or_else(|| {
        // Unknown keys: still a sentence a person can read and act on.
        let what = humanize(rest);
        if owner.is_empty() {
            format!("{} (asked for by Stripe)", capitalise(&what))
        } else {
            format!("{} (asked for by Stripe)", personal(&what))
        }
    })
}

/// `company.structure_type` → `company › structure type`.
fn humanize(key: &str) -> String {
    key.split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.replace('_', " "))
        .collect::<Vec<_>>()
        .join(" › ")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(details: bool, charges: bool, payouts: bool, r: Requirements) -> AccountSnapshot {
        AccountSnapshot {
            account_id: "acct_1".into(),
            account_type: Some("standard".into()),
            details_submitted: details,
            charges_enabled: charges,
            payouts_enabled: payouts,
            requirements: r,
        }
    }

    fn keys(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_account_is_not_started() {
        assert_eq!(account_state(None), AccountState::NotStarted);
        assert_eq!(AccountState::NotStarted.code(), "not_started");
    }

    #[test]
    fn a_fresh_account_has_unfinished_details() {
        // What Stripe returns right after creation: everything past due, disabled for it.
        let r = Requirements {
            currently_due: keys(&["business_type", "external_account", "tos_acceptance.date"]),
            past_due: keys(&["business_type", "external_account", "tos_acceptance.date"]),
            disabled_reason: Some("requirements.past_due".into()),
            ..Default::default()
        };
        let s = account_state(Some(&snap(false, false, false, r)));
        assert_eq!(s, AccountState::DetailsPending { submitted: false });
        assert_eq!(s.code(), "details_pending");
        assert!(s.summary().contains("not finished"));
    }

    #[test]
    fn onboarded_with_nothing_due_is_active() {
        let s = account_state(Some(&snap(true, true, true, Requirements::default())));
        assert_eq!(s, AccountState::Active);
        assert!(!s.wants_onboarding_link());
    }

    #[test]
    fn submitted_and_verifying_is_details_pending() {
        let r = Requirements {
            pending_verification: keys(&["individual.verification.document"]),
            disabled_reason: Some("requirements.pending_verification".into()),
            ..Default::default()
        };
        let s = account_state(Some(&snap(true, false, false, r)));
        assert_eq!(s, AccountState::DetailsPending { submitted: true });
        assert!(s.summary().contains("checking"));
    }

    #[test]
    fn requirements_due_with_a_deadline_in_words() {
        let r = Requirements {
            currently_due: keys(&["individual.verification.document", "individual.dob.day"]),
            eventually_due: keys(&["individual.verification.document"]),
            current_deadline: Some(1_796_083_200), // 2026-12-01
            ..Default::default()
        };
        let s = account_state(Some(&snap(true, true, true, r)));
        let AccountState::RequirementsDue {
            items,
            deadline,
            overdue,
        } = &s
        else {
            panic!("expected requirements due, got {s:?}");
        };
        assert_eq!(*deadline, Some(1_796_083_200));
        assert!(!overdue);
        assert_eq!(
            items[0].words,
            "Your identity document (passport, ID card or driving licence)"
        );
        assert_eq!(items[1].words, "Your date of birth");
        assert!(s.summary().contains("by 2026-12-01"), "{}", s.summary());
    }

    #[test]
    fn disabled_for_past_due_is_restricted_with_reason_and_items() {
        let r = Requirements {
            currently_due: keys(&["individual.verification.document"]),
            past_due: keys(&["individual.verification.document"]),
            disabled_reason: Some("requirements.past_due".into()),
            ..Default::default()
        };
        let s = account_state(Some(&snap(true, false, false, r)));
        let AccountState::Restricted { reason, items } = &s else {
            panic!("expected restricted, got {s:?}");
        };
        assert!(reason.contains("not provided in time"));
        assert_eq!(items.len(), 1);
        assert_eq!(s.code(), "restricted");
    }

    #[test]
    fn rejected_accounts_are_restricted_even_before_onboarding() {
        let r = Requirements {
            disabled_reason: Some("rejected.fraud".into()),
            ..Default::default()
        };
        let s = account_state(Some(&snap(false, false, false, r)));
        assert!(
            matches!(s, AccountState::Restricted { ref reason, .. } if reason.contains("fraud"))
        );
    }

    #[test]
    fn unknown_reasons_and_keys_still_read_sensibly() {
        assert_eq!(
            disabled_reason_words("paused.inactivity"),
            "Stripe restricted the account (reason: paused › inactivity). Contact Stripe support for the details."
        );
        let words = requirements_in_words(&[
            "company.structure_type",
            "person_1AbC.verification.document",
            "mystery_field",
            "individual.dob.day",
            "individual.dob.month",
        ]);
        let w: Vec<&str> = words.iter().map(|r| r.words.as_str()).collect();
        assert_eq!(
            w,
            vec![
                "Your company's structure type (asked for by Stripe)",
                "A company representative's identity document (passport, ID card or driving licence)",
                "Mystery field (asked for by Stripe)",
                "Your date of birth",
            ]
        );
    }

    #[test]
    fn emulator_onboarding_fields_all_have_words() {
        for key in [
            "business_profile.mcc",
            "business_profile.url",
            "business_type",
            "external_account",
            "representative.first_name",
            "representative.last_name",
            "tos_acceptance.date",
            "tos_acceptance.ip",
        ] {
            let w = requirement_words(key);
            assert!(!w.contains("asked for by Stripe"), "{key} → {w}");
        }
        // first/last name and the two tos keys collapse into one line each.
        let all = requirements_in_words(&[
            "representative.first_name",
            "representative.last_name",
            "tos_acceptance.date",
            "tos_acceptance.ip",
        ]);
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn charges_off_without_reason_but_items_due_is_requirements_due() {
        let r = Requirements {
            currently_due: keys(&["external_account"]),
            past_due: keys(&["external_account"]),
            ..Default::default()
        };
        let s = account_state(Some(&snap(true, false, false, r)));
        assert!(matches!(
            s,
            AccountState::RequirementsDue { overdue: true, .. }
        ));
        assert!(s.summary().contains("overdue"));
    }

    #[test]
    fn requirements_round_trip_as_json_and_tolerate_missing_keys() {
        let r: Requirements = serde_json::from_str(r#"{"currently_due":["x"]}"#).unwrap();
        assert_eq!(r.currently_due, vec!["x"]);
        assert!(r.disabled_reason.is_none());
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Requirements>(&text).unwrap(), r);
    }
}
