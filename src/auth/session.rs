//! Session cookie configuration and the keys stored in it.
//!
//! Sessions use actix-session's cookie store (private = encrypted and signed):
//! no session table to clean up, and any number of app instances can read the
//! cookie with the shared key. A cookie only names the user id; every request
//! re-loads the user from the database, so a deleted account is logged out at once.

use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::{Key, SameSite, time::Duration};

use crate::config::Settings;
use crate::domain::UserId;
use crate::error::AppError;
use crate::keyfile::KeyFileError;

pub const COOKIE_NAME: &str = "mp_session";
const USER_KEY: &str = "uid";

#[derive(Debug, thiserror::Error)]
pub enum SessionKeyError {
    #[error("cannot read or write the session key at {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the session key file {0} is damaged; restore it, or delete it to generate a new one \
         (which logs everybody out)"
    )]
    Damaged(String),
}

/// Hex of a whole key: actix's `Key::generate` has a 64-byte master key (longer keys put in
/// the file by hand are fine, shorter ones are a truncated file).
const KEY_HEX_LEN: usize = 128;

/// SESSION_KEY when set; otherwise a key generated once and kept in
/// DATA_DIR/session.key (0600, written atomically), so restarts keep people logged in and
/// instances sharing DATA_DIR share the key.
pub fn load_or_create_key(settings: &Settings) -> Result<Key, SessionKeyError> {
    if let Some(bytes) = &settings.session_key {
        return Ok(Key::from(bytes));
    }
    let path = settings.data_dir.join("session.key");
    let text = crate::keyfile::load_or_create(
        &path,
        || hex::encode(Key::generate().master()),
        |text| text.len() >= KEY_HEX_LEN && hex::decode(text).is_ok(),
    )
    .map_err(|e| match e {
        KeyFileError::Io { path, source } => SessionKeyError::Io {
            path: path.display().to_string(),
            source,
        },
        KeyFileError::Damaged { path } => SessionKeyError::Damaged(path.display().to_string()),
    })?;
    let bytes =
        hex::decode(text).map_err(|_| SessionKeyError::Damaged(path.display().to_string()))?;
    Ok(Key::from(&bytes))
}

pub fn middleware(settings: &Settings, key: Key) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name(COOKIE_NAME.to_string())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_secure(settings.cookies_secure())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(14)))
        .build()
}

pub fn user_id(session: &Session) -> Option<UserId> {
    session
        .get::<String>(USER_KEY)
        .ok()
        .flatten()
        .and_then(|s| UserId::try_from(s).ok())
}

/// Starts a fresh session for `user`: a new cookie and a new CSRF token, so
/// nothing planted before log-in survives it.
pub fn log_in(session: &Session, user: &UserId) -> Result<(), AppError> {
    session.clear();
    session.renew();
    session.insert(USER_KEY, user.as_str())?;
    crate::auth::csrf::rotate(session)?;
    Ok(())
}

pub fn log_out(session: &Session) {
    session.clear();
    session.renew();
}
