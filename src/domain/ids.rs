//! Typed, prefixed identifiers (`usr_…`), so an order id can never be passed where a
//! user id is expected, and ids are recognisable in logs and URLs.

use rand::Rng;
use rand::distr::Alphanumeric;

/// Random part length: 22 base62 characters ≈ 131 bits.
const RANDOM_LEN: usize = 22;

pub fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id")]
pub struct IdError {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! typed_id {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                $name(format!("{}_{}", $prefix, random_token(RANDOM_LEN)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                let ok = value
                    .strip_prefix(concat!($prefix, "_"))
                    .is_some_and(|rest| {
                        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
                    });
                if ok {
                    Ok($name(value))
                } else {
                    Err(IdError {
                        kind: $prefix,
                        value,
                    })
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

typed_id!(UserId, "usr");
typed_id!(JobId, "job");
typed_id!(LoginFailureId, "lf");
typed_id!(ProductId, "prd");
typed_id!(AuditId, "aud");
typed_id!(OrderId, "ord");
typed_id!(OrderPartId, "opt");
typed_id!(CardId, "card");
typed_id!(RefundId, "rfd");
typed_id!(DisputeId, "dsp");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_parse_back() {
        let id = UserId::generate();
        assert!(id.as_str().starts_with("usr_"));
        assert_eq!(id.as_str().len(), 4 + RANDOM_LEN);
        assert_eq!(UserId::try_from(id.to_string()).unwrap(), id);
        assert_ne!(UserId::generate(), id);
    }

    #[test]
    fn foreign_or_malformed_ids_are_rejected() {
        assert!(UserId::try_from("job_abc".to_string()).is_err());
        assert!(UserId::try_from("usr_".to_string()).is_err());
        assert!(UserId::try_from("usr_a b".to_string()).is_err());
    }
}
