//! Creating accounts: shared by sign-up, the `create-admin` command and tests.

use crate::auth::password::{self, HashError};
use crate::db::{self, Db, DbError, users::User};
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
    #[error("welcome mail: {0}")]
    Template(#[from] askama::Error),
    #[error("welcome mail: {0}")]
    Queue(#[from] JobError),
}

/// Creates the account and queues its welcome mail in one transaction: either
/// both happen or neither does.
pub async fn register(
    db: &Db,
    base_url: &str,
    email: &Email,
    password: &Password,
    role: Role,
) -> Result<User, RegisterError> {
    let hash = password::hash(password).await?;
    let now = db::now_unix();
    let mut tx = db.begin().await.map_err(DbError::from)?;
    let user = db::users::insert(&mut tx, email, &hash, role, now)
        .await?
        .ok_or(RegisterError::EmailTaken)?;
    if role == Role::Seller {
        // The shop name starts as the email's local part; the seller can change it later.
        let name = email.as_str().split('@').next().unwrap_or_default();
        db::sellers::insert(&mut tx, &user.id, name, now).await?;
    }
    let welcome = templates::welcome(&user, base_url)?;
    let dedupe = format!("welcome:{}", user.id);
    jobs::enqueue_email(&mut tx, &welcome, Some(&dedupe), now).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(user)
}
