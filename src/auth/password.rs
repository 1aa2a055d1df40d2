//! argon2id hashing. Hashing is deliberately slow, so it runs on the blocking
//! thread pool instead of stalling an async worker.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::domain::Password;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Argon2id v19 with the OWASP-recommended defaults (19 MiB, 2 passes).
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

pub async fn hash(password: &Password) -> Result<String, HashError> {
    let plain = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(plain.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Hash(e.to_string()))
    })
    .await?
}

/// Hash checked when the email is unknown, so both failure paths cost the same
/// time and response timing does not reveal which emails have accounts.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(b"not-a-real-password", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// `true` when `plain` matches `stored`; `None` for `stored` checks a dummy hash.
pub async fn verify(plain: String, stored: Option<String>) -> Result<bool, HashError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&stored).map_err(|e| HashError::Hash(e.to_string()))?;
        let ok = hasher().verify_password(plain.as_bytes(), &parsed).is_ok();
        Ok(known && ok)
    })
    .await?
}
