//! Creating accounts: shared by sign-up, the `create-admin` command and tests.

use crate::auth::password::{self, HashError};
use crate::db::{self, Db, DbError, users::User};
use crate::domain::{Email, Password, Role};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Db(#[from] DbError),
}

pub async fn register(
    db: &Db,
    email: &Email,
    password: &Password,
    role: Role,
) -> Result<User, RegisterError> {
    let hash = password::hash(password).await?;
    db::users::insert(db, email, &hash, role, db::now_unix())
        .await?
        .ok_or(RegisterError::EmailTaken)
}
