//! What the admin panel reads and changes about sellers. Every change here
//! runs in one transaction with its audit-log entry (`db::audit::record`),
//! after taking the seller row's write lock, so two admins acting at once are
//! serialised: the second sees the first's result, and the log's before/after
//! values chain without gaps. An action that changes nothing logs nothing.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::audit::{self, NewEntry};
use super::products::SELLABLE;
use super::seller_fees::override_from_row;
use super::{Db, DbError};
use crate::domain::UserId;
use crate::domain::audit::AuditAction;
use crate::domain::seller_fee::FeeOverride;

/// The audit log's `subject_kind` for seller actions.
pub const SUBJECT: &str = "seller";

#[derive(Debug, Clone)]
pub struct SellerRow {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub stripe_account_id: Option<String>,
    pub stripe_account_type: Option<String>,
    pub account_generation: i64,
    /// `domain::seller_state::AccountState` as stored (e.g. `requirements_due`).
    pub account_state: String,
    pub details_submitted: bool,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    /// The account's `requirements` hash as Stripe sent it (JSON text).
    pub requirements: Option<String>,
    pub account_read_at: Option<i64>,
    pub disconnected_at: Option<i64>,
    pub suspended_at: Option<i64>,
    pub fee_override: FeeOverride,
    pub created_at: i64,
}

impl SellerRow {
    /// The seller's profile as `db::sellers` reads it, for the onboarding rule
    /// (`seller::accounts::standing`).
    pub fn profile(&self) -> super::sellers::SellerRow {
        super::sellers::SellerRow {
            user_id: self.user_id.clone(),
            display_name: self.display_name.clone(),
            stripe_account_id: self.stripe_account_id.clone(),
            stripe_account_type: self.stripe_account_type.clone(),
            account_generation: self.account_generation,
            account_state: self.account_state.clone(),
            details_submitted: self.details_submitted,
            charges_enabled: self.charges_enabled,
            payouts_enabled: self.payouts_enabled,
            requirements: self.requirements.clone(),
            account_read_at: self.account_read_at,
            disconnected_at: self.disconnected_at,
            suspended_at: self.suspended_at,
        }
    }
}

const COLUMNS: &str = "s.user_id, u.email, s.display_name, s.stripe_account_id, \
     s.stripe_account_type, s.account_generation, s.account_state, \
     s.details_submitted, s.charges_enabled, s.payouts_enabled, s.requirements, \
     s.account_read_at, s.disconnected_at, s.suspended_at, s.fee_bps, s.fee_fixed_minor, \
     s.created_at";

fn seller_from_row(row: &AnyRow) -> Result<SellerRow, DbError> {
    let id: String = row.try_get("user_id")?;
    let flag = |col: &str| -> Result<bool, DbError> { Ok(row.try_get::<i64, _>(col)? != 0) };
    Ok(SellerRow {
        user_id: UserId::try_from(id).map_err(|e| DbError::Corrupt {
            column: "sellers.user_id",
            detail: e.to_string(),
        })?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        stripe_account_id: row.try_get("stripe_account_id")?,
        stripe_account_type: row.try_get("stripe_account_type")?,
        account_generation: row.try_get("account_generation")?,
        account_state: row.try_get("account_state")?,
        details_submitted: flag("details_submitted")?,
        charges_enabled: flag("charges_enabled")?,
        payouts_enabled: flag("payouts_enabled")?,
        requirements: row.try_get("requirements")?,
        account_read_at: row.try_get("account_read_at")?,
        disconnected_at: row.try_get("disconnected_at")?,
        suspended_at: row.try_get("suspended_at")?,
        fee_override: override_from_row(row)?,
        created_at: row.try_get("created_at")?,
    })
}

/// Which sellers the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter<'a> {
    All,
    /// One onboarding state (`sellers.account_state`).
    State(&'a str),
    /// Suspended by an admin, whatever their onboarding state.
    Suspended,
}

/// Where a page of the list starts: strictly older than this seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub user_id: UserId,
}

impl Cursor {
    pub fn of(s: &SellerRow) -> Cursor {
        Cursor {
            created_at: s.created_at,
            user_id: s.user_id.clone(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.user_id)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('.')?;
        Some(Cursor {
            created_at: at.parse().ok()?,
            user_id: UserId::try_from(id.to_string()).ok()?,
        })
    }
}

/// Newest sellers first, `limit` of them after `after` (keyset).
pub async fn list(
    db: &Db,
    filter: ListFilter<'_>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<SellerRow>, DbError> {
    let (state, suspended_only) = match filter {
        ListFilter::All => ("", 0_i64),
        ListFilter::State(s) => (s, 0),
        ListFilter::Suspended => ("", 1),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM sellers s JOIN users u ON u.id = s.user_id
         WHERE ($1 = '' OR s.account_state = $1)
           AND ($2 = 0 OR s.suspended_at IS NOT NULL)
           AND ($3 = 0 OR s.created_at < $4 OR (s.created_at = $4 AND s.user_id < $5))
         ORDER BY s.created_at DESC, s.user_id DESC
         LIMIT $6"
    );
    let rows = sqlx::query(&sql)
        .bind(state)
        .bind(suspended_only)
        .bind(i64::from(after.is_some()))
        .bind(after.map(|c| c.created_at).unwrap_or(0))
        .bind(after.map(|c| c.user_id.as_str()).unwrap_or(""))
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(seller_from_row).collect()
}

/// How many sellers are in each onboarding state, and how many are suspended.
pub struct StateCounts {
    pub by_state: Vec<(String, i64)>,
    pub suspended: i64,
}

pub async fn state_counts(db: &Db) -> Result<StateCounts, DbError> {
    let rows = sqlx::query(
        "SELECT account_state, COUNT(*) AS n FROM sellers GROUP BY account_state ORDER BY account_state",
    )
    .fetch_all(db.reader())
    .await?;
    let by_state = rows
        .iter()
        .map(|r| Ok((r.try_get("account_state")?, r.try_get("n")?)))
        .collect::<Result<Vec<_>, DbError>>()?;
    let suspended: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM sellers WHERE suspended_at IS NOT NULL")
            .fetch_one(db.reader())
            .await?
            .try_get("n")?;
    Ok(StateCounts {
        by_state,
        suspended,
    })
}

pub async fn find(db: &Db, seller: &UserId) -> Result<Option<SellerRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sellers s JOIN users u ON u.id = s.user_id WHERE s.user_id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(seller.as_str())
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(seller_from_row).transpose()
}

pub struct ProductCounts {
    /// Not deleted.
    pub listed: i64,
    pub published: i64,
    /// Buyable right now, by `db::products::SELLABLE`.
    pub sellable: i64,
}

pub async fn product_counts(db: &Db, seller: &UserId) -> Result<ProductCounts, DbError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS listed,
                COALESCE(SUM(CASE WHEN published = 1 THEN 1 ELSE 0 END), 0) AS published
         FROM products WHERE seller_id = $1 AND deleted_at IS NULL",
    )
    .bind(seller.as_str())
    .fetch_one(db.reader())
    .await?;
    let sellable: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM products p JOIN sellers s ON s.user_id = p.seller_id
         WHERE p.seller_id = $1 AND {SELLABLE}"
    ))
    .bind(seller.as_str())
    .fetch_one(db.reader())
    .await?
    .try_get("n")?;
    Ok(ProductCounts {
        listed: row.try_get("listed")?,
        published: row.try_get("published")?,
        sellable,
    })
}

/// The admin performing an action, as the audit log records them.
pub struct Actor<'a> {
    pub id: &'a UserId,
    pub email: &'a str,
}

/// What an admin action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Changed and logged.
    Changed,
    /// Already so (e.g. suspending a suspended seller): nothing changed or logged.
    Unchanged,
    /// No such seller.
    NotFound,
}

/// Takes the seller row's write lock for the rest of the transaction (a row
/// lock on PostgreSQL, the database write lock on SQLite) before anything is
/// read, so the "before" an action logs is the value it replaced even when two
/// admins act at once. `false` when there is no such seller.
async fn lock_seller(conn: &mut AnyConnection, seller: &UserId) -> Result<bool, DbError> {
    let locked = sqlx::query("UPDATE sellers SET user_id = user_id WHERE user_id = $1")
        .bind(seller.as_str())
        .execute(conn)
        .await?
        .rows_affected();
    Ok(locked == 1)
}

async fn read_suspended_at(
    conn: &mut AnyConnection,
    seller: &UserId,
) -> Result<Option<i64>, DbError> {
    let row = sqlx::query("SELECT suspended_at FROM sellers WHERE user_id = $1")
        .bind(seller.as_str())
        .fetch_one(conn)
        .await?;
    Ok(row.try_get("suspended_at")?)
}

async fn set_suspended_at(
    conn: &mut AnyConnection,
    seller: &UserId,
    value: Option<i64>,
) -> Result<(), DbError> {
    sqlx::query("UPDATE sellers SET suspended_at = $1 WHERE user_id = $2")
        .bind(value)
        .bind(seller.as_str())
        .execute(conn)
        .await?;
    super::catalog::invalidate();
    Ok(())
}

/// Suspends the shop: its products leave `SELLABLE` at once, so they are hidden
/// and cannot be charged for. Logged with the reason.
pub async fn suspend(
    db: &Db,
    seller: &UserId,
    actor: &Actor<'_>,
    reason: &str,
    now: i64,
) -> Result<Outcome, DbError> {
    let mut tx = db.begin().await?;
    if !lock_seller(&mut tx, seller).await? {
        return Ok(Outcome::NotFound);
    }
    if read_suspended_at(&mut tx, seller).await?.is_some() {
        return Ok(Outcome::Unchanged);
    }
    set_suspended_at(&mut tx, seller, Some(now)).await?;
    audit::record(
        &mut tx,
        &NewEntry {
            actor_id: actor.id,
            actor_email: actor.email,
            action: AuditAction::SellerSuspend,
            subject_kind: SUBJECT,
            subject_id: seller.as_str(),
            reason: Some(reason),
            before: json!({ "suspended_at": null }),
            after: json!({ "suspended_at": now }),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Changed)
}

/// Lifts a suspension: the products that are otherwise sellable return.
pub async fn restore(
    db: &Db,
    seller: &UserId,
    actor: &Actor<'_>,
    reason: &str,
    now: i64,
) -> Result<Outcome, DbError> {
    let mut tx = db.begin().await?;
    if !lock_seller(&mut tx, seller).await? {
        return Ok(Outcome::NotFound);
    }
    let Some(since) = read_suspended_at(&mut tx, seller).await? else {
        return Ok(Outcome::Unchanged);
    };
    set_suspended_at(&mut tx, seller, None).await?;
    audit::record(
        &mut tx,
        &NewEntry {
            actor_id: actor.id,
            actor_email: actor.email,
            action: AuditAction::SellerRestore,
            subject_kind: SUBJECT,
            subject_id: seller.as_str(),
            reason: Some(reason),
            before: json!({ "suspended_at": since }),
            after: json!({ "suspended_at": null }),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Changed)
}

/// Sets (or, with an empty override, clears) the seller's fee override.
pub async fn set_fee_override(
    db: &Db,
    seller: &UserId,
    actor: &Actor<'_>,
    new: FeeOverride,
    now: i64,
) -> Result<Outcome, DbError> {
    let mut tx = db.begin().await?;
    if !lock_seller(&mut tx, seller).await? {
        return Ok(Outcome::NotFound);
    }
    let row = sqlx::query("SELECT fee_bps, fee_fixed_minor FROM sellers WHERE user_id = $1")
        .bind(seller.as_str())
        .fetch_one(&mut *tx)
        .await?;
    let before = override_from_row(&row)?;
    if before == new {
        return Ok(Outcome::Unchanged);
    }
    sqlx::query("UPDATE sellers SET fee_bps = $1, fee_fixed_minor = $2 WHERE user_id = $3")
        .bind(new.bps.map(i64::from))
        .bind(new.fixed_minor)
        .bind(seller.as_str())
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &NewEntry {
            actor_id: actor.id,
            actor_email: actor.email,
            action: AuditAction::SellerFeeChange,
            subject_kind: SUBJECT,
            subject_id: seller.as_str(),
            reason: None,
            before: json!({ "fee_bps": before.bps, "fee_fixed_minor": before.fixed_minor }),
            after: json!({ "fee_bps": new.bps, "fee_fixed_minor": new.fixed_minor }),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Changed)
}
