//! A seller's onboarding snapshot (`sellers.account_state` and the Stripe
//! `requirements` hash) in words an operator can act on.

use serde_json::Value;

/// The stored states (`sellers.account_state`), in onboarding order.
pub const STATES: [&str; 5] = [
    "not_started",
    "details_pending",
    "requirements_due",
    "restricted",
    "active",
];

pub fn state_label(state: &str) -> &'static str {
    match state {
        "not_started" => "Not started",
        "details_pending" => "Details pending",
        "requirements_due" => "Requirements due",
        "restricted" => "Restricted",
        "active" => "Active",
        _ => "Unknown state",
    }
}

/// CSS modifier for the state badge.
pub fn state_tone(state: &str) -> &'static str {
    match state {
        "active" => "ok",
        "restricted" => "bad",
        _ => "pending",
    }
}

/// What Stripe still wants, one line per list that is not empty.
#[derive(Debug, Default)]
pub struct Requirements {
    pub lines: Vec<String>,
    /// Fields Stripe needs now (past due and currently due), for the list's count.
    pub open: usize,
}

pub fn requirements(json: Option<&str>) -> Requirements {
    let Some(Ok(Value::Object(req))) = json.map(serde_json::from_str::<Value>) else {
        return Requirements::default();
    };
    let list = |key: &str| -> Vec<String> {
        req.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(field_words)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Requirements::default();
    let past_due = list("past_due");
    let currently_due = list("currently_due");
    out.open = past_due.len() + currently_due.len();
    if let Some(reason) = req.get("disabled_reason").and_then(Value::as_str) {
        out.lines
            .push(format!("Payments disabled: {}", snake_words(reason)));
    }
    for (label, items) in [
        ("Past due", past_due),
        ("Due now", currently_due),
        ("Being verified", list("pending_verification")),
        ("Due later", list("eventually_due")),
    ] {
        if !items.is_empty() {
            out.lines.push(format!("{label}: {}", items.join(", ")));
        }
    }
    if let Some(errors) = req.get("errors").and_then(Value::as_array) {
        for e in errors {
            if let Some(reason) = e.get("reason").and_then(Value::as_str) {
                out.lines.push(format!("Error: {reason}"));
            }
        }
    }
    out
}

/// `individual.verification.document` → "individual: verification document".
fn field_words(path: &str) -> String {
    match path {
        "external_account" => "a bank account for payouts".into(),
        "tos_acceptance.date" | "tos_acceptance.ip" => "acceptance of Stripe's terms".into(),
        "business_profile.url" => "business website".into(),
        "business_profile.mcc" => "business category".into(),
        "individual.verification.document" => "identity document".into(),
        "individual.id_number" | "individual.ssn_last_4" => "identity number".into(),
        _ => {
            let mut parts = path.split('.').map(snake_words);
            let head = parts.next().unwrap_or_default();
            let rest: Vec<String> = parts.collect();
            if rest.is_empty() {
                head
            } else {
                format!("{head}: {}", rest.join(" "))
            }
        }
    }
}

fn snake_words(s: &str) -> String {
    s.replace(['_', '.'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_read_as_sentences() {
        let r = requirements(Some(
            r#"{"currently_due":["external_account","individual.first_name"],
                "past_due":[],"eventually_due":["individual.verification.document"],
                "pending_verification":[],"disabled_reason":"requirements.past_due",
                "errors":[{"code":"x","reason":"The document is blurry","requirement":"y"}]}"#,
        ));
        assert_eq!(r.open, 2);
        assert_eq!(
            r.lines,
            vec![
                "Payments disabled: requirements past due",
                "Due now: a bank account for payouts, individual: first name",
                "Due later: identity document",
                "Error: The document is blurry",
            ]
        );
    }

    #[test]
    fn nothing_known_reads_as_nothing() {
        assert!(requirements(None).lines.is_empty());
        assert!(requirements(Some("not json")).lines.is_empty());
        assert_eq!(state_label("active"), "Active");
        assert_eq!(state_label("bogus"), "Unknown state");
    }
}
