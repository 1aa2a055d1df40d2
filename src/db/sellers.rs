//! Seller profiles: one row per seller account, holding the connected Stripe
//! account and the last snapshot of its onboarding state.

use sqlx::AnyConnection;

use super::DbError;
use crate::domain::UserId;

/// Creates the seller's profile in the sign-up transaction; a second call is a no-op.
pub async fn insert(
    conn: &mut AnyConnection,
    user_id: &UserId,
    display_name: &str,
    now: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO sellers (user_id, display_name, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id.as_str())
    .bind(display_name)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
