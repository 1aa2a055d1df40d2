//! Email addresses, normalised once so uniqueness is case-insensitive everywhere.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("Enter an email address like name@example.com.")]
    Invalid,
    #[error("That email address is too long.")]
    TooLong,
}

/// A syntactically plausible address, trimmed and lower-cased. Deliverability is
/// proven later by a verification mail, not by a stricter regex here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let normalised = Self::normalise(input);
        if normalised.is_empty() {
            return Err(EmailError::Empty);
        }
        if normalised.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let Some((local, domain)) = normalised.rsplit_once('@') else {
            return Err(EmailError::Invalid);
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
        if domain_ok && local_ok {
            Ok(Email(normalised))
        } else {
            Err(EmailError::Invalid)
        }
    }

    /// The key used for look-ups and throttling, also for input that is not a
    /// valid address (so a typo cannot dodge the failure counter).
    pub fn normalise(input: &str) -> String {
        input.trim().to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let e = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "alice.smith@example.com");
        assert_eq!(e, Email::parse("alice.smith@example.com").unwrap());
    }

    #[test]
    fn rejects_implausible_addresses() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "a b@example.com",
            "alice@exa mple.com",
            "alice@.example.com",
            "alice@example..com",
            "<a>@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Invalid), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
