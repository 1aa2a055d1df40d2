//! The password policy. Hashing lives in `auth::password`; this is only the rule.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Use at least {min} characters.", min = Password::MIN_CHARS)]
    TooShort,
    #[error("Use at most {max} characters.", max = Password::MAX_CHARS)]
    TooLong,
}

/// A new password that satisfies the policy. Deliberately not `Display` or `Debug`-printable.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(input: String) -> Result<Password, PasswordError> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            Err(PasswordError::TooShort)
        } else if n > Self::MAX_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(Password(input))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(
            Password::parse("123456789".into()).unwrap_err(),
            PasswordError::TooShort
        );
        assert!(Password::parse("1234567890".into()).is_ok());
        assert!(Password::parse("ééééééééé".into()).is_err());
        assert!(Password::parse("x".repeat(256)).is_ok());
        assert_eq!(
            Password::parse("x".repeat(257)).unwrap_err(),
            PasswordError::TooLong
        );
    }
}
