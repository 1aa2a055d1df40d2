//! Seller profiles: one row per seller account, holding the connected Stripe
//! account and the last snapshot of its onboarding state.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, DbError};
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

/// A seller's profile and the last stored snapshot of their Stripe account.
#[derive(Debug, Clone)]
pub struct SellerRow {
    pub user_id: UserId,
    pub display_name: String,
    pub stripe_account_id: Option<String>,
    pub stripe_account_type: Option<String>,
    pub account_generation: i64,
    /// `not_started`, `details_pending`, `requirements_due`, `restricted`, `active`.
    pub account_state: String,
    pub details_submitted: bool,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    /// The account's requirements hash as JSON text.
    pub requirements: Option<String>,
    pub account_read_at: Option<i64>,
    pub disconnected_at: Option<i64>,
    pub suspended_at: Option<i64>,
}

const COLUMNS: &str = "user_id, display_name, stripe_account_id, stripe_account_type, \
     account_generation, account_state, details_submitted, charges_enabled, payouts_enabled, \
     requirements, account_read_at, disconnected_at, suspended_at";

fn seller_from_row(row: &AnyRow) -> Result<SellerRow, DbError> {
    let id: String = row.try_get("user_id")?;
    Ok(SellerRow {
        user_id: UserId::try_from(id).map_err(|e| DbError::Corrupt {
            column: "sellers.user_id",
            detail: e.to_string(),
        })?,
        display_name: row.try_get("display_name")?,
        stripe_account_id: row.try_get("stripe_account_id")?,
        stripe_account_type: row.try_get("stripe_account_type")?,
        account_generation: row.try_get("account_generation")?,
        account_state: row.try_get("account_state")?,
        details_submitted: row.try_get::<i64, _>("details_submitted")? != 0,
        charges_enabled: row.try_get::<i64, _>("charges_enabled")? != 0,
        payouts_enabled: row.try_get::<i64, _>("payouts_enabled")? != 0,
        requirements: row.try_get("requirements")?,
        account_read_at: row.try_get("account_read_at")?,
        disconnected_at: row.try_get("disconnected_at")?,
        suspended_at: row.try_get("suspended_at")?,
    })
}

pub async fn find(db: &Db, user_id: &UserId) -> Result<Option<SellerRow>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sellers WHERE user_id = $1"))
        .bind(user_id.as_str())
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(seller_from_row).transpose()
}

pub async fn find_by_account(
    db: &Db,
    stripe_account_id: &str,
) -> Result<Option<SellerRow>, DbError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sellers WHERE stripe_account_id = $1"
    ))
    .bind(stripe_account_id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(seller_from_row).transpose()
}

/// Stores the seller's connected account unless one is already stored (a twin request got
/// there first). Returns whether this call stored it.
pub async fn set_account_if_none(
    db: &Db,
    user_id: &UserId,
    stripe_account_id: &str,
    account_type: Option<&str>,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE sellers SET stripe_account_id = $1, stripe_account_type = $2,
             account_state = 'details_pending'
         WHERE user_id = $3 AND stripe_account_id IS NULL AND disconnected_at IS NULL",
    )
    .bind(stripe_account_id)
    .bind(account_type)
    .bind(user_id.as_str())
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The snapshot columns written by [`apply_snapshot`].
pub struct SnapshotUpdate<'a> {
    pub stripe_account_id: &'a str,
    pub account_type: Option<&'a str>,
    pub account_state: &'a str,
    pub details_submitted: bool,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub requirements_json: &'a str,
    pub read_at: i64,
}

/// The seller a snapshot or disconnection was written for, and what was stored before.
#[derive(Debug, Clone)]
pub struct Replaced {
    pub user_id: UserId,
    pub display_name: String,
    pub previous_state: String,
}

/// Takes the seller row's write lock for the rest of the transaction (a row lock on
/// PostgreSQL, the database write lock on SQLite), so what is read next is what this
/// transaction replaces even when two writers race.
async fn lock_by_account(
    conn: &mut AnyConnection,
    stripe_account_id: &str,
) -> Result<Option<Replaced>, DbError> {
    sqlx::query("UPDATE sellers SET user_id = user_id WHERE stripe_account_id = $1")
        .bind(stripe_account_id)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(
        "SELECT user_id, display_name, account_state FROM sellers WHERE stripe_account_id = $1",
    )
    .bind(stripe_account_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| -> Result<Replaced, DbError> {
        let id: String = r.try_get("user_id")?;
        Ok(Replaced {
            user_id: UserId::try_from(id).map_err(|e| DbError::Corrupt {
                column: "sellers.user_id",
                detail: e.to_string(),
            })?,
            display_name: r.try_get("display_name")?,
            previous_state: r.try_get("account_state")?,
        })
    })
    .transpose()
}

/// Writes a snapshot of the account unless a newer one is stored: the condition on
/// `account_read_at` sits in the UPDATE itself, so two writers racing cannot let the older win.
/// Returns the seller and the state the snapshot replaced when the row was updated. Run it in
/// a transaction: the row stays locked until it ends, so the mails a state change causes are
/// queued once, by the writer that made the change.
pub async fn apply_snapshot(
    conn: &mut AnyConnection,
    s: &SnapshotUpdate<'_>,
) -> Result<Option<Replaced>, DbError> {
    let Some(before) = lock_by_account(conn, s.stripe_account_id).await? else {
        return Ok(None);
    };
    let done = sqlx::query(
        "UPDATE sellers SET account_state = $1, details_submitted = $2, charges_enabled = $3,
             payouts_enabled = $4, requirements = $5, account_read_at = $6,
             stripe_account_type = COALESCE($7, stripe_account_type)
         WHERE stripe_account_id = $8
           AND (account_read_at IS NULL OR account_read_at <= $6)",
    )
    .bind(s.account_state)
    .bind(i64::from(s.details_submitted))
    .bind(i64::from(s.charges_enabled))
    .bind(i64::from(s.payouts_enabled))
    .bind(s.requirements_json)
    .bind(s.read_at)
    .bind(s.account_type)
    .bind(s.stripe_account_id)
    .execute(&mut *conn)
    .await?;
    super::catalog::invalidate();
    Ok((done.rows_affected() == 1).then_some(before))
}

/// Marks the seller owning `stripe_account_id` disconnected (first time only); their products
/// leave the storefront through `products::SELLABLE`. Returns the seller when marked now.
pub async fn mark_disconnected(
    conn: &mut AnyConnection,
    stripe_account_id: &str,
    at: i64,
) -> Result<Option<Replaced>, DbError> {
    let Some(before) = lock_by_account(conn, stripe_account_id).await? else {
        return Ok(None);
    };
    let done = sqlx::query(
        "UPDATE sellers SET disconnected_at = $1, charges_enabled = 0, payouts_enabled = 0
         WHERE stripe_account_id = $2 AND disconnected_at IS NULL",
    )
    .bind(at)
    .bind(stripe_account_id)
    .execute(&mut *conn)
    .await?;
    super::catalog::invalidate();
    Ok((done.rows_affected() == 1).then_some(before))
}

/// After a disconnection, starts over: the old account moves to `seller_past_accounts`, the
/// snapshot is cleared and the generation goes up (a new idempotency key for the new account).
/// Returns false when the seller is not disconnected (a twin request already reset it).
pub async fn reset_for_reconnect(db: &Db, user_id: &UserId, now: i64) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    // Write first: on SQLite a transaction that read before writing fails at once (busy
    // snapshot) when a webhook's snapshot committed in between, instead of waiting its turn.
    sqlx::query("UPDATE sellers SET user_id = user_id WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *tx)
        .await?;
    let old = sqlx::query(
        "SELECT stripe_account_id, disconnected_at FROM sellers
         WHERE user_id = $1 AND disconnected_at IS NOT NULL",
    )
    .bind(user_id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(old) = old else {
        return Ok(false);
    };
    let account: Option<String> = old.try_get("stripe_account_id")?;
    let disconnected_at: i64 = old.try_get("disconnected_at")?;
    let reset = sqlx::query(
        "UPDATE sellers SET stripe_account_id = NULL, stripe_account_type = NULL,
             account_generation = account_generation + 1, account_state = 'not_started',
             details_submitted = 0, charges_enabled = 0, payouts_enabled = 0,
             requirements = NULL, account_read_at = NULL, disconnected_at = NULL
         WHERE user_id = $1 AND disconnected_at = $2",
    )
    .bind(user_id.as_str())
    .bind(disconnected_at)
    .execute(&mut *tx)
    .await?;
    super::catalog::invalidate();
    if reset.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(account) = account {
        sqlx::query(
            "INSERT INTO seller_past_accounts (stripe_account_id, seller_id, disconnected_at, replaced_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (stripe_account_id) DO NOTHING",
        )
        .bind(account)
        .bind(user_id.as_str())
        .bind(disconnected_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}
