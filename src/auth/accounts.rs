//! Account life cycle: creating accounts (sign-up, the `create-admin` command,
//! tests), email verification, password reset and change. Every mail is queued
//! in the transaction of the change that causes it.

use sha2::{Digest, Sha256};

use crate::auth::password::{self, HashError};
use crate::db::account_tokens::{self, Purpose};
use crate::db::{self, Db, DbError, users::User};
use crate::domain::ids::random_token;
use crate::domain::{Email, Password, Role};
use crate::email::templates;
use crate::jobs::{self, JobError};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("mail: {0}")]
    Template(#[from] askama::Error),
    #[error("mail: {0}")]
    Queue(#[from] JobError),
}

impl From<sqlx::Error> for RegisterError {
    fn from(e: sqlx::Error) -> Self {
        RegisterError::Db(e.into())
    }
}

/// A fresh token for a mailed link, and the hash that is stored.
fn new_token() -> (String, String) {
    let raw = random_token(43);
    let hash = token_hash(&raw);
    (raw, hash)
}

/// Only this digest of a mailed token is ever stored or compared.
pub fn token_hash(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.trim().as_bytes()))
}

/// Creates an account and queues its welcome mail in one transaction: either
/// both happen or neither does. Admin accounts (created from the command line
/// by the operator) count as verified; other roles sign up through [`sign_up`].
pub async fn register(
    db: &Db,
    base_url: &str,
    email: &Email,
    password: &Password,
    role: Role,
) -> Result<User, RegisterError> {
    let hash = password::hash(password).await?;
    let now = db::now_unix();
    let mut tx = db.begin().await?;
    let mut user = db::users::insert(&mut tx, email, &hash, role, now)
        .await?
        .ok_or(RegisterError::EmailTaken)?;
    if role == Role::Seller {
        // The shop name starts as the email's local part; the seller can change it later.
        let name = email.as_str().split('@').next().unwrap_or_default();
        db::sellers::insert(&mut tx, &user.id, name, now).await?;
    }
    if role == Role::Admin {
        db::users::mark_email_verified(&mut tx, &user.id, now).await?;
        user.email_verified_at = Some(now);
    }
    let welcome = templates::welcome(&user, base_url)?;
    let dedupe = format!("welcome:{}", user.id);
    jobs::enqueue_email(&mut tx, &welcome, Some(&dedupe), now).await?;
    tx.commit().await?;
    Ok(user)
}

/// What sign-up did. The page shows the same "check your inbox" either way.
pub enum SignUp {
    /// A new, unverified account; a verification link was mailed.
    Created(User),
    /// The email already had an account: its owner was mailed instead.
    AlreadyRegistered,
}

/// Sign-up through the form. The password is hashed in both cases, so the
/// answer takes as long whether or not the email is registered.
pub async fn sign_up(
    db: &Db,
    base_url: &str,
    email: &Email,
    password: &Password,
    role: Role,
) -> Result<SignUp, RegisterError> {
    let hash = password::hash(password).await?;
    let now = db::now_unix();
    let mut tx = db.begin().await?;
    let Some(user) = db::users::insert(&mut tx, email, &hash, role, now).await? else {
        let notice = templates::account_exists(email.as_str(), base_url)?;
        jobs::enqueue_email(&mut tx, &notice, None, now).await?;
        tx.commit().await?;
        return Ok(SignUp::AlreadyRegistered);
    };
    if role == Role::Seller {
        let name = email.as_str().split('@').next().unwrap_or_default();
        db::sellers::insert(&mut tx, &user.id, name, now).await?;
    }
    queue_verification(&mut tx, base_url, &user, now).await?;
    tx.commit().await?;
    Ok(SignUp::Created(user))
}

async fn queue_verification(
    conn: &mut sqlx::AnyConnection,
    base_url: &str,
    user: &User,
    now: i64,
) -> Result<(), RegisterError> {
    let (raw, hash) = new_token();
    let expires = now + templates::VERIFY_HOURS * 3600;
    account_tokens::insert(conn, &hash, &user.id, Purpose::VerifyEmail, expires, now).await?;
    let link = format!("{base_url}/email/verify?token={raw}");
    let mail = templates::verify_email(&user.email, &link, user.role)?;
    let dedupe = format!("verify:{}", &hash[..32]);
    jobs::enqueue_email(conn, &mail, Some(&dedupe), now).await?;
    Ok(())
}

/// Mails a new verification link (the resend button). Older links keep working
/// until they expire.
pub async fn resend_verification(
    db: &Db,
    base_url: &str,
    user: &User,
) -> Result<(), RegisterError> {
    let now = db::now_unix();
    let mut tx = db.begin().await?;
    queue_verification(&mut tx, base_url, user, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Uses up a verification token; the account it verified, or `None` when the
/// token is unknown, used or expired. The first verification queues the welcome mail.
pub async fn verify_email(
    db: &Db,
    base_url: &str,
    raw_token: &str,
) -> Result<Option<User>, RegisterError> {
    let now = db::now_unix();
    let mut tx = db.begin().await?;
    let Some(user_id) =
        account_tokens::consume(&mut tx, &token_hash(raw_token), Purpose::VerifyEmail, now).await?
    else {
        return Ok(None);
    };
    let first = db::users::mark_email_verified(&mut tx, &user_id, now).await?;
    tx.commit().await?;
    let Some(user) = db::users::find_by_id(db, &user_id).await? else {
        return Ok(None);
    };
    if first {
        let mut tx = db.begin().await?;
        let welcome = templates::welcome(&user, base_url)?;
        let dedupe = format!("welcome:{}", user.id);
        jobs::enqueue_email(&mut tx, &welcome, Some(&dedupe), now).await?;
        tx.commit().await?;
    }
    Ok(Some(user))
}

/// Mails a reset link when `email` has an account; does nothing otherwise.
/// The caller answers the same in both cases.
pub async fn request_password_reset(
    db: &Db,
    base_url: &str,
    email: &Email,
) -> Result<(), RegisterError> {
    let Some(user) = db::users::find_by_email(db, email).await? else {
        return Ok(());
    };
    let now = db::now_unix();
    let (raw, hash) = new_token();
    let mut tx = db.begin().await?;
    let expires = now + templates::RESET_MINUTES * 60;
    account_tokens::insert(
        &mut tx,
        &hash,
        &user.id,
        Purpose::ResetPassword,
        expires,
        now,
    )
    .await?;
    let link = format!("{base_url}/password/reset?token={raw}");
    let mail = templates::reset_password(&user.email, &link)?;
    let dedupe = format!("reset:{}", &hash[..32]);
    jobs::enqueue_email(&mut tx, &mail, Some(&dedupe), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a reset link still works (to show the form or an "expired" page).
pub async fn reset_token_is_valid(db: &Db, raw_token: &str) -> Result<bool, DbError> {
    Ok(account_tokens::peek(
        db,
        &token_hash(raw_token),
        Purpose::ResetPassword,
        db::now_unix(),
    )
    .await?
    .is_some())
}

/// Sets a new password from a reset link: uses the token up, ends every
/// session of the account, voids its other reset links, counts the address as
/// verified (the owner read our mail) and tells the owner. `None` when the
/// token is unknown, used or expired.
pub async fn reset_password(
    db: &Db,
    base_url: &str,
    raw_token: &str,
    new_password: &Password,
) -> Result<Option<User>, RegisterError> {
    let hash_of_token = token_hash(raw_token);
    // Cheap check first, so a bad link costs no argon2 hash.
    if account_tokens::peek(db, &hash_of_token, Purpose::ResetPassword, db::now_unix())
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let hash = password::hash(new_password).await?;
    let now = db::now_unix();
    let mut tx = db.begin().await?;
    let Some(user_id) =
        account_tokens::consume(&mut tx, &hash_of_token, Purpose::ResetPassword, now).await?
    else {
        return Ok(None);
    };
    db::users::set_password(&mut tx, &user_id, &hash).await?;
    account_tokens::revoke_all(&mut tx, &user_id, Purpose::ResetPassword, now).await?;
    db::users::mark_email_verified(&mut tx, &user_id, now).await?;
    let user = db::users::find_by_id_in(&mut tx, &user_id).await?;
    if let Some(user) = &user {
        let mail = templates::password_changed(&user.email, base_url)?;
        jobs::enqueue_email(
            &mut tx,
            &mail,
            Some(&format!("pwchanged:{}", &hash_of_token[..32])),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// A logged-in person's new password: every other session ends. Returns the
/// new session epoch, for re-issuing the current session.
pub async fn change_password(
    db: &Db,
    base_url: &str,
    user: &User,
    new_password: &Password,
) -> Result<i64, RegisterError> {
    let hash = password::hash(new_password).await?;
    let now = db::now_unix();
    let mut tx = db.begin().await?;
    let epoch = db::users::set_password(&mut tx, &user.id, &hash)
        .await?
        .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))?;
    account_tokens::revoke_all(&mut tx, &user.id, Purpose::ResetPassword, now).await?;
    let mail = templates::password_changed(&user.email, base_url)?;
    jobs::enqueue_email(
        &mut tx,
        &mail,
        Some(&format!("pwchanged:{}:{epoch}", user.id)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(epoch)
}
