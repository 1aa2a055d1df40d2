//! The seller's view of their order parts: a filtered, keyset-paginated list and daily sales
//! totals for the chart. Every query takes the seller's id and uses it in its WHERE, so
//! another seller's part is simply not found.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::rows::{corrupt, currency, part_status};
use super::{Db, DbError};
use crate::domain::ids::OrderPartId;
use crate::domain::orders::PartStatus;
use crate::domain::{Currency, Money, MoneyError, UserId};

/// What the seller's orders list can be narrowed to. Refund and dispute filters read the
/// summaries kept on the part (`refunded_minor`, `dispute_status`), not the refunds table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderFilter {
    All,
    /// Paid and nothing refunded.
    Paid,
    /// Authorized, waiting for the seller to capture (manual capture).
    AwaitingCapture,
    RefundedInPart,
    RefundedInWhole,
    /// Ever disputed, whatever the dispute's outcome.
    Disputed,
    Failed,
    Canceled,
}

impl OrderFilter {
    pub const ALL: [OrderFilter; 8] = [
        OrderFilter::All,
        OrderFilter::Paid,
        OrderFilter::AwaitingCapture,
        OrderFilter::RefundedInPart,
        OrderFilter::RefundedInWhole,
        OrderFilter::Disputed,
        OrderFilter::Failed,
        OrderFilter::Canceled,
    ];

    /// The value in the page's query string (`?status=…`).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderFilter::All => "",
            OrderFilter::Paid => "paid",
            OrderFilter::AwaitingCapture => "authorized",
            OrderFilter::RefundedInPart => "refunded_part",
            OrderFilter::RefundedInWhole => "refunded",
            OrderFilter::Disputed => "disputed",
            OrderFilter::Failed => "failed",
            OrderFilter::Canceled => "canceled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrderFilter::All => "All orders",
            OrderFilter::Paid => "Paid",
            OrderFilter::AwaitingCapture => "Awaiting capture",
            OrderFilter::RefundedInPart => "Refunded in part",
            OrderFilter::RefundedInWhole => "Refunded in whole",
            OrderFilter::Disputed => "Disputed",
            OrderFilter::Failed => "Failed",
            OrderFilter::Canceled => "Canceled",
        }
    }

    pub fn parse(text: &str) -> Option<OrderFilter> {
        OrderFilter::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// A fixed SQL condition per filter (never built from input).
    fn condition(self) -> &'static str {
        match self {
            OrderFilter::All => "1 = 1",
            OrderFilter::Paid => "op.status = 'paid' AND op.refunded_minor = 0",
            OrderFilter::AwaitingCapture => "op.status = 'authorized'",
            OrderFilter::RefundedInPart => {
                "op.refunded_minor > 0 AND op.refunded_minor < op.captured_minor"
            }
            OrderFilter::RefundedInWhole => {
                "op.refunded_minor > 0 AND op.refunded_minor >= op.captured_minor"
            }
            OrderFilter::Disputed => "op.dispute_status IS NOT NULL",
            OrderFilter::Failed => "op.status = 'failed'",
            OrderFilter::Canceled => "op.status = 'canceled'",
        }
    }
}

/// One of the seller's parts as their orders pages show it.
#[derive(Debug, Clone)]
pub struct SellerOrder {
    pub id: String,
    pub order_id: String,
    pub buyer_email: String,
    pub amount: Money,
    /// The platform's fee: planned until captured, then what Stripe collected.
    pub fee: Money,
    pub captured: Money,
    pub refunded: Money,
    pub status: PartStatus,
    pub dispute_status: Option<String>,
    pub shipped_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "op.id, op.order_id, u.email, op.currency, op.amount_minor, op.fee_minor,
    op.captured_minor, op.refunded_minor, op.status, op.dispute_status, op.shipped_at, op.created_at";

fn order_from_row(r: &AnyRow) -> Result<SellerOrder, DbError> {
    let cur = currency(r)?;
    Ok(SellerOrder {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        buyer_email: r.try_get("email")?,
        amount: Money::new(r.try_get("amount_minor")?, cur),
        fee: Money::new(r.try_get("fee_minor")?, cur),
        captured: Money::new(r.try_get("captured_minor")?, cur),
        refunded: Money::new(r.try_get("refunded_minor")?, cur),
        status: part_status(r)?,
        dispute_status: r.try_get("dispute_status")?,
        shipped_at: r.try_get("shipped_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Where a page of the list starts: strictly older than this part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn of(o: &SellerOrder) -> Cursor {
        Cursor {
            created_at: o.created_at,
            id: o.id.clone(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('.')?;
        let id = OrderPartId::try_from(id.to_string()).ok()?;
        Some(Cursor {
            created_at: at.parse().ok()?,
            id: id.as_str().to_string(),
        })
    }
}

/// The seller's parts, newest first, `limit` of them after `after` (keyset on
/// `(created_at, id)`, served by the `order_parts_seller` index).
pub async fn list(
    db: &Db,
    seller: &UserId,
    filter: OrderFilter,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<SellerOrder>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM order_parts op JOIN users u ON u.id = op.buyer_id
         WHERE op.seller_id = $1 AND {}
           AND ($2 = 0 OR op.created_at < $3 OR (op.created_at = $3 AND op.id < $4))
         ORDER BY op.created_at DESC, op.id DESC
         LIMIT $5",
        filter.condition()
    );
    let rows = sqlx::query(&sql)
        .bind(seller.as_str())
        .bind(i64::from(after.is_some()))
        .bind(after.map(|c| c.created_at).unwrap_or(0))
        .bind(after.map(|c| c.id.as_str()).unwrap_or(""))
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(order_from_row).collect()
}

/// One of the seller's parts (another seller's id answers `None`).
pub async fn find(db: &Db, seller: &UserId, part_id: &str) -> Result<Option<SellerOrder>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM order_parts op JOIN users u ON u.id = op.buyer_id
         WHERE op.id = $1 AND op.seller_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(part_id)
        .bind(seller.as_str())
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(order_from_row).transpose()
}

/// One day's paid sales of a seller in one currency.
#[derive(Debug, Clone)]
pub struct DayTotals {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub sales: Money,
    pub fees: Money,
    pub orders: i64,
}

/// Captured sales and collected fees per UTC day and currency, for parts placed on or after
/// day `since_day`. The day is computed as `created_at / 86400` (integer division of unix
/// seconds), which both databases evaluate the same way; sums are cast back to BIGINT because
/// PostgreSQL widens a BIGINT sum to NUMERIC.
pub async fn daily_totals(
    db: &Db,
    seller: &UserId,
    since_day: i64,
) -> Result<Vec<DayTotals>, DbError> {
    let rows = sqlx::query(
        "SELECT currency, created_at / 86400 AS day,
                CAST(SUM(captured_minor) AS BIGINT) AS sales,
                CAST(SUM(fee_minor) AS BIGINT) AS fees,
                COUNT(*) AS n
         FROM order_parts
         WHERE seller_id = $1 AND status = 'paid' AND created_at >= $2
         GROUP BY currency, created_at / 86400
         ORDER BY currency, day",
    )
    .bind(seller.as_str())
    .bind(since_day.saturating_mul(86_400))
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            let code: String = r.try_get("currency")?;
            let cur: Currency = code
                .parse()
                .map_err(|e: MoneyError| corrupt("order_parts.currency")(e.to_string()))?;
            Ok(DayTotals {
                day: r.try_get("day")?,
                sales: Money::new(r.try_get("sales")?, cur),
                fees: Money::new(r.try_get("fees")?, cur),
                orders: r.try_get("n")?,
            })
        })
        .collect()
}
