//! What the admin overview and fees report read. A part counts as a sale from the moment it
//! was first marked paid (its `order_part_events` row), with what was captured; fees are the
//! application fees we asked for on those charges; fee refunds come from the money ledger
//! (`ledger_entries`), where the webhook handlers record each `application_fee_refund`.
//! Sums are grouped by UTC day in SQL (`/ 86400` is integer division on both databases);
//! months are formed from days in Rust, so no date function differs between backends.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::ledger::PLATFORM;
use super::{Db, DbError};
use crate::domain::{Currency, Money};

/// When each part was first paid.
const PAID_AT: &str = "(SELECT part_id, MIN(created_at) AS paid_at FROM order_part_events
                        WHERE status = 'paid' GROUP BY part_id)";

/// Stripe's dispute statuses that still need the seller or are being decided.
pub const OPEN_DISPUTE_STATUSES: [&str; 4] = [
    "warning_needs_response",
    "warning_under_review",
    "needs_response",
    "under_review",
];

fn currency(row: &AnyRow, column: &'static str) -> Result<Currency, DbError> {
    let code: String = row.try_get(column)?;
    code.parse()
        .map_err(|e: crate::domain::MoneyError| DbError::Corrupt {
            column,
            detail: e.to_string(),
        })
}

fn money(row: &AnyRow, column: &str, cur: Currency) -> Result<Money, DbError> {
    Ok(Money::new(row.try_get::<i64, _>(column)?, cur))
}

/// Sales of one currency in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesTotals {
    pub currency: Currency,
    /// Parts (one charge each) paid.
    pub charges: i64,
    pub captured: Money,
    pub fees: Money,
    /// Refunded so far on those sales (`order_parts.refunded_minor`).
    pub refunded: Money,
}

pub async fn sales_totals(db: &Db, from: i64, to: i64) -> Result<Vec<SalesTotals>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT op.currency AS currency, COUNT(*) AS n,
                CAST(COALESCE(SUM(op.captured_minor), 0) AS BIGINT) AS captured,
                CAST(COALESCE(SUM(op.fee_minor), 0) AS BIGINT) AS fees,
                CAST(COALESCE(SUM(op.refunded_minor), 0) AS BIGINT) AS refunded
         FROM order_parts op JOIN {PAID_AT} p ON p.part_id = op.id
         WHERE op.captured_minor > 0 AND p.paid_at >= $1 AND p.paid_at < $2
         GROUP BY op.currency ORDER BY op.currency"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| -> Result<SalesTotals, DbError> {
            let cur = currency(r, "currency")?;
            Ok(SalesTotals {
                currency: cur,
                charges: r.try_get("n")?,
                captured: money(r, "captured", cur)?,
                fees: money(r, "fees", cur)?,
                refunded: money(r, "refunded", cur)?,
            })
        })
        .collect()
}

/// Sales of one currency on one UTC day (`day` = the unix second it starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailySales {
    pub day: i64,
    pub charges: i64,
    pub captured: Money,
}

pub async fn daily_sales(db: &Db, from: i64, to: i64) -> Result<Vec<DailySales>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT p.paid_at / 86400 AS d, op.currency AS currency, COUNT(*) AS n,
                CAST(COALESCE(SUM(op.captured_minor), 0) AS BIGINT) AS captured
         FROM order_parts op JOIN {PAID_AT} p ON p.part_id = op.id
         WHERE op.captured_minor > 0 AND p.paid_at >= $1 AND p.paid_at < $2
         GROUP BY p.paid_at / 86400, op.currency
         ORDER BY d, currency"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| -> Result<DailySales, DbError> {
            let cur = currency(r, "currency")?;
            Ok(DailySales {
                day: r.try_get::<i64, _>("d")? * 86_400,
                charges: r.try_get("n")?,
                captured: money(r, "captured", cur)?,
            })
        })
        .collect()
}

/// Application fees the platform gave back in a period, per currency (positive amounts), as
/// the platform's ledger recorded them.
pub async fn fee_refunds(db: &Db, from: i64, to: i64) -> Result<Vec<Money>, DbError> {
    let rows = sqlx::query(
        "SELECT currency, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total
         FROM ledger_entries
         WHERE account = $1 AND kind = 'application_fee_refund'
           AND occurred_at >= $2 AND occurred_at < $3
         GROUP BY currency ORDER BY currency",
    )
    .bind(PLATFORM)
    .bind(from)
    .bind(to)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| -> Result<Money, DbError> {
            let cur = currency(r, "currency")?;
            // The platform's side of a fee refund is money going out: a negative amount.
            Ok(Money::new(-r.try_get::<i64, _>("total")?, cur))
        })
        .collect()
}

/// Parts whose latest dispute is still open, whenever it was opened.
pub async fn open_disputes(db: &Db) -> Result<i64, DbError> {
    let list: Vec<String> = OPEN_DISPUTE_STATUSES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect();
    let row = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM order_parts WHERE dispute_status IN ({})",
        list.join(", ")
    ))
    .fetch_one(db.reader())
    .await?;
    Ok(row.try_get("n")?)
}

/// One line of the fees report before months are formed: a seller's figures of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerDay {
    pub day: i64,
    pub seller_id: String,
    pub seller_name: String,
    pub currency: Currency,
    pub charges: i64,
    pub charged: Money,
    pub fees: Money,
    pub fee_refunds: Money,
}

/// Per seller and day: charges paid (count, amount, fee asked) and fee refunds (from the
/// ledger entries of the seller's connected accounts, current or past).
pub async fn seller_days(db: &Db, from: i64, to: i64) -> Result<Vec<SellerDay>, DbError> {
    let charges = sqlx::query(&format!(
        "SELECT p.paid_at / 86400 AS d, op.seller_id AS seller_id, s.display_name AS name,
                op.currency AS currency, COUNT(*) AS n,
                CAST(COALESCE(SUM(op.captured_minor), 0) AS BIGINT) AS charged,
                CAST(COALESCE(SUM(op.fee_minor), 0) AS BIGINT) AS fees
         FROM order_parts op JOIN {PAID_AT} p ON p.part_id = op.id
              JOIN sellers s ON s.user_id = op.seller_id
         WHERE op.captured_minor > 0 AND p.paid_at >= $1 AND p.paid_at < $2
         GROUP BY p.paid_at / 86400, op.seller_id, s.display_name, op.currency"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(db.reader())
    .await?;
    let refunds = sqlx::query(
        "SELECT l.occurred_at / 86400 AS d, a.seller_id AS seller_id, s.display_name AS name,
                l.currency AS currency,
                CAST(COALESCE(SUM(l.amount), 0) AS BIGINT) AS refunded
         FROM ledger_entries l
              JOIN (SELECT user_id AS seller_id, stripe_account_id AS account FROM sellers
                    WHERE stripe_account_id IS NOT NULL
                    UNION SELECT seller_id, stripe_account_id AS account
                    FROM seller_past_accounts) a ON a.account = l.account
              JOIN sellers s ON s.user_id = a.seller_id
         WHERE l.kind = 'application_fee_refund' AND l.account <> $1
           AND l.occurred_at >= $2 AND l.occurred_at < $3
         GROUP BY l.occurred_at / 86400, a.seller_id, s.display_name, l.currency",
    )
    .bind(PLATFORM)
    .bind(from)
    .bind(to)
    .fetch_all(db.reader())
    .await?;
    let mut out = Vec::with_capacity(charges.len() + refunds.len());
    for r in &charges {
        let cur = currency(r, "currency")?;
        out.push(SellerDay {
            day: r.try_get::<i64, _>("d")? * 86_400,
            seller_id: r.try_get("seller_id")?,
            seller_name: r.try_get("name")?,
            currency: cur,
            charges: r.try_get("n")?,
            charged: money(r, "charged", cur)?,
            fees: money(r, "fees", cur)?,
            fee_refunds: Money::zero(cur),
        });
    }
    for r in &refunds {
        let cur = currency(r, "currency")?;
        out.push(SellerDay {
            day: r.try_get::<i64, _>("d")? * 86_400,
            seller_id: r.try_get("seller_id")?,
            seller_name: r.try_get("name")?,
            currency: cur,
            charges: 0,
            charged: Money::zero(cur),
            fees: Money::zero(cur),
            // The connected account's side of a fee refund is money coming back: positive.
            fee_refunds: money(r, "refunded", cur)?,
        });
    }
    Ok(out)
}
