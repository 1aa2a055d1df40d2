//! Session cookie configuration and the keys stored in it.
//!
//! Sessions use actix-session's cookie store (private = encrypted and signed):
//! no session table to clean up, and any number of app instances can read the
//! cookie with the shared key. A cookie names the user id, the account's session
//! epoch and when it was issued and last used. Every request re-loads the user
//! and checks all three (see [`check`]): a cookie dies after SESSION_IDLE_SECS
//! unused, SESSION_MAX_AGE_SECS after log-in, and as soon as the account's epoch
//! moves on (log out everywhere, password change or reset), even when someone
//! kept a copy of it.

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
const EPOCH_KEY: &str = "ep";
const ISSUED_KEY: &str = "iat";
const SEEN_KEY: &str = "seen";
/// Last-use times are refreshed at most this often, so a busy page does not
/// re-send the cookie on every request.
const SEEN_GRANULARITY_SECS: i64 = 60;

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
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(Duration::seconds(settings.session_max_age_secs)),
        )
        .build()
}

pub fn user_id(session: &Session) -> Option<UserId> {
    session
        .get::<String>(USER_KEY)
        .ok()
        .flatten()
        .and_then(|s| UserId::try_from(s).ok())
}

/// Starts a fresh session for `user` under the account's current `epoch`: a
/// new cookie and a new CSRF token, so nothing planted before log-in survives it.
pub fn log_in(session: &Session, user: &UserId, epoch: i64) -> Result<(), AppError> {
    let now = crate::db::now_unix();
    session.clear();
    session.renew();
    session.insert(USER_KEY, user.as_str())?;
    session.insert(EPOCH_KEY, epoch)?;
    session.insert(ISSUED_KEY, now)?;
    session.insert(SEEN_KEY, now)?;
    crate::auth::csrf::rotate(session)?;
    Ok(())
}

/// Why a session cookie no longer logs anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Idle,
    MaxAge,
    /// Issued before the account's last log-out-everywhere, password change or reset.
    Revoked,
    /// Written by an older version without issue time or epoch.
    Incomplete,
}

/// Decides whether the session of `user` (whose cookie claims `user.id`) is
/// still good at `now`; refreshes its last-use time when it is.
pub fn check(
    session: &Session,
    user: &crate::db::users::User,
    settings: &Settings,
    now: i64,
) -> Result<(), Ended> {
    let get = |key: &str| session.get::<i64>(key).ok().flatten();
    let (Some(epoch), Some(issued), Some(seen)) = (get(EPOCH_KEY), get(ISSUED_KEY), get(SEEN_KEY))
    else {
        return Err(Ended::Incomplete);
    };
    if now - issued >= settings.session_max_age_secs {
        return Err(Ended::MaxAge);
    }
    if now - seen >= settings.session_idle_secs {
        return Err(Ended::Idle);
    }
    if epoch != user.session_epoch {
        return Err(Ended::Revoked);
    }
    if now - seen >= SEEN_GRANULARITY_SECS {
        let _ = session.insert(SEEN_KEY, now);
    }
    Ok(())
}

pub fn log_out(session: &Session) {
    session.clear();
    session.renew();
}
