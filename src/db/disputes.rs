//! Disputes and early fraud warnings of order parts.
//!
//! A dispute row is rewritten from the dispute as Stripe has it each time an event about it is
//! processed (the handler re-reads it), so events may come in any order and any number of
//! times. The part's `dispute_status` always follows its latest dispute.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::refunds::Mails;
use super::rows::corrupt;
use super::{Db, DbError};
use crate::domain::ids::DisputeId;
use crate::domain::refunds::dispute_is_closed;
use crate::domain::{Currency, Money, MoneyError};

/// Stripe's view of a dispute, as stored.
pub struct StripeDispute<'a> {
    pub id: &'a str,
    pub amount: Money,
    pub reason: &'a str,
    pub status: &'a str,
    pub due_by: Option<i64>,
    /// Whether evidence was submitted (`evidence_details.submission_count > 0`).
    pub submitted: bool,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct DisputeRow {
    pub id: String,
    pub stripe_dispute_id: String,
    pub part_id: String,
    pub order_id: String,
    pub seller_id: String,
    pub seller_name: String,
    pub seller_account: Option<String>,
    pub buyer_email: String,
    pub amount: Money,
    pub reason: String,
    pub status: String,
    pub evidence_due_by: Option<i64>,
    pub evidence_submitted_at: Option<i64>,
    pub outcome: Option<String>,
    pub stripe_created: i64,
}

const SELECT: &str = "SELECT d.id, d.stripe_dispute_id, d.part_id, op.order_id, d.seller_id,
      s.display_name, s.stripe_account_id, u.email AS buyer_email, d.currency, d.amount_minor,
      d.reason, d.status, d.evidence_due_by, d.evidence_submitted_at, d.outcome,
      d.stripe_created
    FROM disputes d
    JOIN order_parts op ON op.id = d.part_id
    JOIN sellers s ON s.user_id = d.seller_id
    JOIN users u ON u.id = op.buyer_id";

fn from_row(r: &AnyRow) -> Result<DisputeRow, DbError> {
    let c: String = r.try_get("currency")?;
    let cur: Currency = c
        .parse()
        .map_err(|e: MoneyError| corrupt("disputes.currency")(e.to_string()))?;
    Ok(DisputeRow {
        id: r.try_get("id")?,
        stripe_dispute_id: r.try_get("stripe_dispute_id")?,
        part_id: r.try_get("part_id")?,
        order_id: r.try_get("order_id")?,
        seller_id: r.try_get("seller_id")?,
        seller_name: r.try_get("display_name")?,
        seller_account: r.try_get("stripe_account_id")?,
        buyer_email: r.try_get("buyer_email")?,
        amount: Money::new(r.try_get("amount_minor")?, cur),
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        evidence_due_by: r.try_get("evidence_due_by")?,
        evidence_submitted_at: r.try_get("evidence_submitted_at")?,
        outcome: r.try_get("outcome")?,
        stripe_created: r.try_get("stripe_created")?,
    })
}

/// Stores Stripe's view of a dispute of `part_id`. The first time a dispute is seen,
/// `opened_mails` are queued in the same transaction. Returns whether it was new.
pub async fn upsert(
    db: &Db,
    part_id: &str,
    seller_id: &str,
    d: &StripeDispute<'_>,
    opened_mails: &Mails,
    now: i64,
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO disputes (id, stripe_dispute_id, part_id, seller_id, currency, amount_minor,
            reason, status, evidence_due_by, stripe_created, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
         ON CONFLICT (stripe_dispute_id) DO NOTHING",
    )
    .bind(DisputeId::generate().as_str())
    .bind(d.id)
    .bind(part_id)
    .bind(seller_id)
    .bind(d.amount.currency.code())
    .bind(d.amount.minor)
    .bind(d.reason)
    .bind(d.status)
    .bind(d.due_by)
    .bind(d.created)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let outcome = dispute_is_closed(d.status).then_some(d.status);
    sqlx::query(
        "UPDATE disputes SET amount_minor = $2, reason = $3, status = $4, evidence_due_by = $5,
            evidence_submitted_at = CASE WHEN $6 = 1 THEN COALESCE(evidence_submitted_at, $8)
                                         ELSE evidence_submitted_at END,
            outcome = $7, updated_at = $8
         WHERE stripe_dispute_id = $1",
    )
    .bind(d.id)
    .bind(d.amount.minor)
    .bind(d.reason)
    .bind(d.status)
    .bind(d.due_by)
    .bind(i64::from(d.submitted))
    .bind(outcome)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    follow_latest(&mut tx, part_id, now).await?;
    if inserted {
        super::jobs::enqueue_mails(&mut tx, opened_mails, now).await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

/// The part's `dispute_status` is its latest dispute's status.
async fn follow_latest(conn: &mut AnyConnection, part_id: &str, now: i64) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE order_parts SET dispute_status = (SELECT d.status FROM disputes d
            WHERE d.part_id = $1 ORDER BY d.stripe_created DESC, d.id DESC LIMIT 1),
            updated_at = $2
         WHERE id = $1",
    )
    .bind(part_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every dispute, newest first.
pub async fn all(db: &Db, limit: i64) -> Result<Vec<DisputeRow>, DbError> {
    let rows = sqlx::query(&format!(
        "{SELECT} ORDER BY d.stripe_created DESC, d.id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn of_part(db: &Db, part_id: &str) -> Result<Vec<DisputeRow>, DbError> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE d.part_id = $1 ORDER BY d.stripe_created DESC, d.id DESC"
    ))
    .bind(part_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// A seller's disputes, newest first.
pub async fn of_seller(db: &Db, seller_id: &str, limit: i64) -> Result<Vec<DisputeRow>, DbError> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE d.seller_id = $1 ORDER BY d.stripe_created DESC, d.id DESC LIMIT $2"
    ))
    .bind(seller_id)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// One dispute of a seller (never another seller's).
pub async fn one_of_seller(
    db: &Db,
    seller_id: &str,
    id: &str,
) -> Result<Option<DisputeRow>, DbError> {
    let row = sqlx::query(&format!("{SELECT} WHERE d.id = $1 AND d.seller_id = $2"))
        .bind(id)
        .bind(seller_id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

// ------------------------------------------------------ early fraud warnings

#[derive(Debug, Clone)]
pub struct WarningRow {
    pub stripe_warning_id: String,
    pub part_id: String,
    pub order_id: String,
    pub seller_name: String,
    pub buyer_email: String,
    pub fraud_type: String,
    pub actionable: bool,
    pub captured: Money,
    pub refunded: Money,
    pub dispute_status: Option<String>,
    pub stripe_created: i64,
}

/// Records a warning once (it does not change after it is created).
pub async fn record_warning(
    db: &Db,
    id: &str,
    part_id: &str,
    fraud_type: &str,
    actionable: bool,
    created: i64,
    now: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO early_fraud_warnings (stripe_warning_id, part_id, fraud_type, actionable,
            stripe_created, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (stripe_warning_id) DO NOTHING",
    )
    .bind(id)
    .bind(part_id)
    .bind(fraud_type)
    .bind(i64::from(actionable))
    .bind(created)
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every warning, newest first, with what is left to refund on its part.
pub async fn warnings(db: &Db, limit: i64) -> Result<Vec<WarningRow>, DbError> {
    let rows = sqlx::query(
        "SELECT w.stripe_warning_id, w.part_id, op.order_id, s.display_name, u.email,
            w.fraud_type, w.actionable, op.currency, op.captured_minor, op.refunded_minor,
            op.dispute_status, w.stripe_created
         FROM early_fraud_warnings w
         JOIN order_parts op ON op.id = w.part_id
         JOIN sellers s ON s.user_id = op.seller_id
         JOIN users u ON u.id = op.buyer_id
         ORDER BY w.stripe_created DESC, w.stripe_warning_id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            let c: String = r.try_get("currency")?;
            let cur: Currency = c
                .parse()
                .map_err(|e: MoneyError| corrupt("order_parts.currency")(e.to_string()))?;
            Ok(WarningRow {
                stripe_warning_id: r.try_get("stripe_warning_id")?,
                part_id: r.try_get("part_id")?,
                order_id: r.try_get("order_id")?,
                seller_name: r.try_get("display_name")?,
                buyer_email: r.try_get("email")?,
                fraud_type: r.try_get("fraud_type")?,
                actionable: r.try_get::<i64, _>("actionable")? != 0,
                captured: Money::new(r.try_get("captured_minor")?, cur),
                refunded: Money::new(r.try_get("refunded_minor")?, cur),
                dispute_status: r.try_get("dispute_status")?,
                stripe_created: r.try_get("stripe_created")?,
            })
        })
        .collect()
}
