//! Refunds of order parts and the admin's order search.
//!
//! A refund first RESERVES its amount on the part with a conditional UPDATE
//! (`refunded_minor + x <= captured_minor`), in the transaction that writes the refund row and
//! its audit entry, and only then is Stripe called: two admins refunding at once can never
//! pass what was captured, on either database. A definite failure gives the amount back
//! exactly once (the refund row's status change is the guard).

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::audit::{self, NewEntry};
use super::rows::{corrupt, currency, part_status};
use super::{Db, DbError};
use crate::domain::audit::AuditAction;
use crate::domain::ids::RefundId;
use crate::domain::orders::PartStatus;
use crate::domain::refunds::{RefundReason, RefundStatus};
use crate::domain::{Money, UserId};
use crate::email::OutgoingEmail;

/// The audit log's `subject_kind` for refunds (the subject is the order part).
pub const SUBJECT: &str = "order_part";

/// An order part with everything the admin's order pages and the refund path need.
#[derive(Debug, Clone)]
pub struct PartMoney {
    pub id: String,
    pub order_id: String,
    pub buyer_id: String,
    pub buyer_email: String,
    pub seller_id: String,
    pub seller_name: String,
    pub seller_email: String,
    pub seller_account: Option<String>,
    pub amount: Money,
    pub fee: Money,
    pub captured: Money,
    pub refunded: Money,
    pub status: PartStatus,
    pub payment_intent_id: Option<String>,
    pub charge_id: Option<String>,
    pub dispute_status: Option<String>,
    pub created_at: i64,
}

impl PartMoney {
    /// What can still be refunded: captured, less refunds succeeded, pending or reserved.
    pub fn refundable(&self) -> Money {
        Money::new(
            (self.captured.minor - self.refunded.minor).max(0),
            self.captured.currency,
        )
    }
}

const PART_SELECT: &str = "SELECT op.id, op.order_id, op.buyer_id, u.email AS buyer_email,
      op.seller_id, s.display_name, su.email AS seller_email, s.stripe_account_id, op.currency,
      op.amount_minor, op.fee_minor, op.captured_minor, op.refunded_minor, op.status,
      op.stripe_payment_intent_id, op.stripe_charge_id, op.dispute_status, op.created_at
    FROM order_parts op
    JOIN sellers s ON s.user_id = op.seller_id
    JOIN users su ON su.id = op.seller_id
    JOIN users u ON u.id = op.buyer_id";

fn part_from_row(r: &AnyRow) -> Result<PartMoney, DbError> {
    let cur = currency(r)?;
    Ok(PartMoney {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        buyer_id: r.try_get("buyer_id")?,
        buyer_email: r.try_get("buyer_email")?,
        seller_id: r.try_get("seller_id")?,
        seller_name: r.try_get("display_name")?,
        seller_email: r.try_get("seller_email")?,
        seller_account: r.try_get("stripe_account_id")?,
        amount: Money::new(r.try_get("amount_minor")?, cur),
        fee: Money::new(r.try_get("fee_minor")?, cur),
        captured: Money::new(r.try_get("captured_minor")?, cur),
        refunded: Money::new(r.try_get("refunded_minor")?, cur),
        status: part_status(r)?,
        payment_intent_id: r.try_get("stripe_payment_intent_id")?,
        charge_id: r.try_get("stripe_charge_id")?,
        dispute_status: r.try_get("dispute_status")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Any part, for admins (their pages are not scoped to an owner).
pub async fn part(db: &Db, part_id: &str) -> Result<Option<PartMoney>, DbError> {
    let row = sqlx::query(&format!("{PART_SELECT} WHERE op.id = $1"))
        .bind(part_id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(part_from_row).transpose()
}

/// The part paid by `charge` on the seller account `account` (events name both).
pub async fn part_by_charge(
    db: &Db,
    account: &str,
    charge: &str,
) -> Result<Option<PartMoney>, DbError> {
    let row = sqlx::query(&format!(
        "{PART_SELECT} WHERE op.stripe_charge_id = $1 AND s.stripe_account_id = $2"
    ))
    .bind(charge)
    .bind(account)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(part_from_row).transpose()
}

// ------------------------------------------------------------------ search

/// The admin's order search; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Part of the buyer's email.
    pub buyer: String,
    /// Part of the seller's shop name or email.
    pub seller: String,
    /// A part status, or `refunded` / `disputed`.
    pub status: String,
    /// Unix seconds, inclusive from, exclusive to.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Minor units of the part's amount, inclusive.
    pub min_minor: Option<i64>,
    pub max_minor: Option<i64>,
}

/// Where a page of results starts: strictly older than this part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn of(p: &PartMoney) -> Cursor {
        Cursor {
            created_at: p.created_at,
            id: p.id.clone(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('.')?;
        let ok = id.strip_prefix("opt_").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        ok.then(|| {
            Some(Cursor {
                created_at: at.parse().ok()?,
                id: id.to_owned(),
            })
        })
        .flatten()
    }
}

/// Escapes LIKE wildcards (with `ESCAPE '!'`) and lowercases.
fn like_pattern(word: &str) -> String {
    let mut out = String::from("%");
    for c in word.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Newest parts first matching `q`, `limit` of them after `after`. Every filter is one fixed
/// clause that a blank value switches off, so the statement never contains user text.
pub async fn search(
    db: &Db,
    q: &Search,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<PartMoney>, DbError> {
    let sql = format!(
        "{PART_SELECT}
         WHERE ($1 = '' OR LOWER(u.email) LIKE $1 ESCAPE '!')
           AND ($2 = '' OR LOWER(s.display_name) LIKE $2 ESCAPE '!'
                OR LOWER(su.email) LIKE $2 ESCAPE '!')
           AND ($3 = '' OR op.status = $3
                OR ($3 = 'refunded' AND op.refunded_minor > 0)
                OR ($3 = 'disputed' AND op.dispute_status IS NOT NULL))
           AND ($4 = 0 OR op.created_at >= $5)
           AND ($6 = 0 OR op.created_at < $7)
           AND ($8 = 0 OR op.amount_minor >= $9)
           AND ($10 = 0 OR op.amount_minor <= $11)
           AND ($12 = 0 OR op.created_at < $13 OR (op.created_at = $13 AND op.id < $14))
         ORDER BY op.created_at DESC, op.id DESC
         LIMIT $15"
    );
    let pat = |s: &str| {
        if s.trim().is_empty() {
            String::new()
        } else {
            like_pattern(s)
        }
    };
    let flag = |o: Option<i64>| i64::from(o.is_some());
    let rows = sqlx::query(&sql)
        .bind(pat(&q.buyer))
        .bind(pat(&q.seller))
        .bind(q.status.clone())
        .bind(flag(q.from))
        .bind(q.from.unwrap_or(0))
        .bind(flag(q.to))
        .bind(q.to.unwrap_or(0))
        .bind(flag(q.min_minor))
        .bind(q.min_minor.unwrap_or(0))
        .bind(flag(q.max_minor))
        .bind(q.max_minor.unwrap_or(0))
        .bind(i64::from(after.is_some()))
        .bind(after.map(|c| c.created_at).unwrap_or(0))
        .bind(after.map(|c| c.id.clone()).unwrap_or_default())
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(part_from_row).collect()
}

// ----------------------------------------------------------------- refunds

#[derive(Debug, Clone)]
pub struct RefundRow {
    pub id: RefundId,
    pub part_id: String,
    pub admin_id: Option<String>,
    pub admin_email: Option<String>,
    pub amount: Money,
    pub reason: Option<String>,
    pub refund_application_fee: bool,
    pub preview_fee_refund: Money,
    pub fee_refunded_before: Option<Money>,
    pub stripe_refund_id: Option<String>,
    pub status: RefundStatus,
    pub stripe_amount: Option<Money>,
    pub fee_amount_refunded: Option<Money>,
    pub failure_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RefundRow {
    /// What Stripe gave back of the platform's fee for this refund, when both figures are known.
    pub fn fee_refunded(&self) -> Option<Money> {
        let after = self.fee_amount_refunded?;
        let before = self.fee_refunded_before?;
        after.checked_sub(before).ok()
    }

    /// Whether Stripe's figures differ from the preview (only once Stripe answered).
    pub fn differs_from_preview(&self) -> bool {
        let amount_differs = self.stripe_amount.is_some_and(|a| a != self.amount);
        let fee_differs = self
            .fee_refunded()
            .is_some_and(|f| f != self.preview_fee_refund);
        amount_differs || fee_differs
    }
}

const REFUND_SELECT: &str = "SELECT r.id, r.part_id, r.admin_id, a.email AS admin_email,
      r.currency, r.amount_minor, r.reason, r.refund_application_fee,
      r.preview_fee_refund_minor, r.fee_refunded_before_minor, r.stripe_refund_id, r.status,
      r.stripe_amount_minor, r.fee_amount_refunded_minor, r.failure_reason, r.created_at,
      r.updated_at
    FROM refunds r LEFT JOIN users a ON a.id = r.admin_id";

fn refund_from_row(r: &AnyRow) -> Result<RefundRow, DbError> {
    let cur = currency(r)?;
    let id: String = r.try_get("id")?;
    let status: String = r.try_get("status")?;
    let money = |col: &str| -> Result<Option<Money>, DbError> {
        Ok(r.try_get::<Option<i64>, _>(col)?
            .map(|m| Money::new(m, cur)))
    };
    Ok(RefundRow {
        id: RefundId::try_from(id).map_err(|e| corrupt("refunds.id")(e.to_string()))?,
        part_id: r.try_get("part_id")?,
        admin_id: r.try_get("admin_id")?,
        admin_email: r.try_get("admin_email")?,
        amount: Money::new(r.try_get("amount_minor")?, cur),
        reason: r.try_get("reason")?,
        refund_application_fee: r.try_get::<i64, _>("refund_application_fee")? != 0,
        preview_fee_refund: Money::new(r.try_get("preview_fee_refund_minor")?, cur),
        fee_refunded_before: money("fee_refunded_before_minor")?,
        stripe_refund_id: r.try_get("stripe_refund_id")?,
        status: status
            .parse()
            .map_err(|e: crate::domain::refunds::RefundReasonError| {
                corrupt("refunds.status")(e.to_string())
            })?,
        stripe_amount: money("stripe_amount_minor")?,
        fee_amount_refunded: money("fee_amount_refunded_minor")?,
        failure_reason: r.try_get("failure_reason")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The refunds of a part, oldest first.
pub async fn of_part(db: &Db, part_id: &str) -> Result<Vec<RefundRow>, DbError> {
    let rows = sqlx::query(&format!(
        "{REFUND_SELECT} WHERE r.part_id = $1 ORDER BY r.created_at, r.id"
    ))
    .bind(part_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(refund_from_row).collect()
}

/// The refunds of a buyer's order (all its parts), oldest first: scoped by the buyer.
pub async fn of_buyer_order(
    db: &Db,
    buyer_id: &str,
    order_id: &str,
) -> Result<Vec<RefundRow>, DbError> {
    let rows = sqlx::query(&format!(
        "{REFUND_SELECT} JOIN order_parts op ON op.id = r.part_id
         WHERE op.order_id = $1 AND op.buyer_id = $2
         ORDER BY r.created_at, r.id"
    ))
    .bind(order_id)
    .bind(buyer_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(refund_from_row).collect()
}

pub async fn find(db: &Db, id: &str) -> Result<Option<RefundRow>, DbError> {
    let row = sqlx::query(&format!("{REFUND_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(refund_from_row).transpose()
}

/// Our row of a Stripe refund: by its id, or by our id kept in its metadata (the answer to
/// our create call may not have been recorded yet).
pub async fn find_for_stripe(
    db: &Db,
    stripe_refund_id: &str,
    our_id: Option<&str>,
) -> Result<Option<RefundRow>, DbError> {
    let row = sqlx::query(&format!(
        "{REFUND_SELECT} WHERE r.stripe_refund_id = $1 OR r.id = $2"
    ))
    .bind(stripe_refund_id)
    .bind(our_id.unwrap_or(""))
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(refund_from_row).transpose()
}

/// A refund an admin asks for, as previewed.
pub struct NewRefund<'a> {
    pub part: &'a PartMoney,
    pub admin_id: &'a UserId,
    pub admin_email: &'a str,
    pub amount: Money,
    pub reason: RefundReason,
    pub refund_application_fee: bool,
    pub preview_fee_refund: Money,
    pub fee_refunded_before: Money,
}

#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// The amount is more than what is left to refund (or the part is not paid).
    #[error("only {refundable} can still be refunded")]
    TooMuch { refundable: Money },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ReserveError {
    fn from(e: sqlx::Error) -> Self {
        ReserveError::Db(e.into())
    }
}

/// Reserves the amount on the part and writes the refund row and its audit entry, all or
/// nothing. Stripe is called only after this committed.
pub async fn reserve(db: &Db, new: &NewRefund<'_>, now: i64) -> Result<RefundId, ReserveError> {
    let part = new.part;
    let mut tx = db.begin().await?;
    let reserved = sqlx::query(
        "UPDATE order_parts SET refunded_minor = refunded_minor + $2, updated_at = $3
         WHERE id = $1 AND status = 'paid' AND currency = $4
           AND refunded_minor + $2 <= captured_minor",
    )
    .bind(&part.id)
    .bind(new.amount.minor)
    .bind(now)
    .bind(new.amount.currency.code())
    .execute(&mut *tx)
    .await?;
    if reserved.rows_affected() != 1 {
        tx.rollback().await?;
        let refundable = match self::part(db, &part.id).await? {
            Some(p) if p.status == PartStatus::Paid => p.refundable(),
            _ => Money::zero(part.captured.currency),
        };
        return Err(ReserveError::TooMuch { refundable });
    }
    let id = RefundId::generate();
    sqlx::query(
        "INSERT INTO refunds (id, part_id, admin_id, currency, amount_minor, reason,
            refund_application_fee, preview_fee_refund_minor, fee_refunded_before_minor,
            status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'requested', $10, $10)",
    )
    .bind(id.as_str())
    .bind(&part.id)
    .bind(new.admin_id.as_str())
    .bind(new.amount.currency.code())
    .bind(new.amount.minor)
    .bind(new.reason.as_str())
    .bind(i64::from(new.refund_application_fee))
    .bind(new.preview_fee_refund.minor)
    .bind(new.fee_refunded_before.minor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let after_refunded = part.refunded.minor + new.amount.minor;
    audit::record(
        &mut tx,
        &NewEntry {
            actor_id: new.admin_id,
            actor_email: new.admin_email,
            action: AuditAction::OrderRefund,
            subject_kind: SUBJECT,
            subject_id: &part.id,
            reason: Some(new.reason.as_str()),
            before: json!({ "refunded_minor": part.refunded.minor }),
            after: json!({
                "refunded_minor": after_refunded,
                "refund_id": id.as_str(),
                "amount_minor": new.amount.minor,
                "currency": new.amount.currency.code(),
                "refund_application_fee": new.refund_application_fee,
                "preview_fee_refund_minor": new.preview_fee_refund.minor,
            }),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Gives a refund's reserved amount back, once: only the call that moves the row out of a
/// live status releases it.
async fn release_if_moved(
    conn: &mut AnyConnection,
    moved: bool,
    part_id: &str,
    amount_minor: i64,
    now: i64,
) -> Result<(), DbError> {
    if moved {
        sqlx::query(
            "UPDATE order_parts SET refunded_minor = refunded_minor - $2, updated_at = $3
             WHERE id = $1 AND refunded_minor >= $2",
        )
        .bind(part_id)
        .bind(amount_minor)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Stripe refused the refund outright (a definite error): the refund is failed and its
/// amount released. Returns whether this call did it.
pub async fn mark_refused(
    db: &Db,
    refund: &RefundRow,
    reason: &str,
    now: i64,
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let moved = sqlx::query(
        "UPDATE refunds SET status = 'failed', failure_reason = $2, updated_at = $3
         WHERE id = $1 AND status = 'requested'",
    )
    .bind(refund.id.as_str())
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    release_if_moved(&mut tx, moved, &refund.part_id, refund.amount.minor, now).await?;
    tx.commit().await?;
    Ok(moved)
}

/// Stripe's view of one refund, to store on our row.
pub struct StripeRefund<'a> {
    pub id: &'a str,
    pub amount_minor: i64,
    pub status: RefundStatus,
    pub failure_reason: Option<&'a str>,
    /// The ApplicationFee's `amount_refunded` read right after (the create path only).
    pub fee_amount_refunded_minor: Option<i64>,
}

/// Mails to queue with a change, each with its dedupe key.
pub type Mails = Vec<(OutgoingEmail, String)>;

/// What [`apply_stripe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Stored; the refund is live (pending or succeeded).
    Live,
    /// The refund failed or was canceled now: amount released, `failed` mails queued.
    Released,
    /// Nothing new (already failed or canceled).
    Unchanged,
}

/// Stores Stripe's view of our refund row: its id, status and figures. A move to failed or
/// canceled releases the amount and queues `failed_mails`, once; a live refund queues
/// `issued_mails` (deduplicated, so the create path and the webhook send them once).
pub async fn apply_stripe(
    db: &Db,
    refund: &RefundRow,
    stripe: &StripeRefund<'_>,
    issued_mails: &Mails,
    failed_mails: &Mails,
    now: i64,
) -> Result<Applied, DbError> {
    let mut tx = db.begin().await?;
    let moved = sqlx::query(
        "UPDATE refunds SET stripe_refund_id = COALESCE(stripe_refund_id, $2), status = $3,
            stripe_amount_minor = $4,
            fee_amount_refunded_minor = COALESCE($5, fee_amount_refunded_minor),
            failure_reason = COALESCE($6, failure_reason), updated_at = $7
         WHERE id = $1 AND status NOT IN ('failed', 'canceled')",
    )
    .bind(refund.id.as_str())
    .bind(stripe.id)
    .bind(stripe.status.as_str())
    .bind(stripe.amount_minor)
    .bind(stripe.fee_amount_refunded_minor)
    .bind(stripe.failure_reason)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let applied = if !moved {
        Applied::Unchanged
    } else if stripe.status.releases_amount() {
        release_if_moved(&mut tx, true, &refund.part_id, refund.amount.minor, now).await?;
        queue(&mut tx, failed_mails, now).await?;
        Applied::Released
    } else {
        queue(&mut tx, issued_mails, now).await?;
        Applied::Live
    };
    tx.commit().await?;
    Ok(applied)
}

/// A refund made outside the marketplace (the Stripe Dashboard), first seen in a webhook:
/// recorded with its amount counted on the part (never above what was captured). `None` when
/// a concurrent run recorded it first.
pub async fn record_external(
    db: &Db,
    part: &PartMoney,
    stripe: &StripeRefund<'_>,
    reason: Option<&str>,
    issued_mails: &Mails,
    now: i64,
) -> Result<Option<RefundId>, DbError> {
    let mut tx = db.begin().await?;
    let id = RefundId::generate();
    let inserted = sqlx::query(
        "INSERT INTO refunds (id, part_id, admin_id, currency, amount_minor, reason,
            refund_application_fee, preview_fee_refund_minor, stripe_refund_id, status,
            stripe_amount_minor, failure_reason, created_at, updated_at)
         VALUES ($1, $2, NULL, $3, $4, $5, 0, 0, $6, $7, $4, $8, $9, $9)
         ON CONFLICT (stripe_refund_id) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(&part.id)
    .bind(part.captured.currency.code())
    .bind(stripe.amount_minor)
    .bind(reason)
    .bind(stripe.id)
    .bind(stripe.status.as_str())
    .bind(stripe.failure_reason)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    if !stripe.status.releases_amount() {
        let counted = sqlx::query(
            "UPDATE order_parts SET refunded_minor = refunded_minor + $2, updated_at = $3
             WHERE id = $1 AND refunded_minor + $2 <= captured_minor",
        )
        .bind(&part.id)
        .bind(stripe.amount_minor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if counted.rows_affected() != 1 {
            tracing::warn!(part = %part.id, refund = stripe.id,
                "a refund seen in Stripe passes what we recorded as captured; not counted");
        }
        queue(&mut tx, issued_mails, now).await?;
    }
    tx.commit().await?;
    Ok(Some(id))
}

async fn queue(conn: &mut AnyConnection, mails: &Mails, now: i64) -> Result<(), DbError> {
    super::jobs::enqueue_mails(conn, mails, now).await
}

/// Queues mails in their own transaction (for causes already committed).
pub async fn queue_mails(db: &Db, mails: &Mails, now: i64) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    queue(&mut tx, mails, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Every administrator's email address (refund failures and disputes alert them).
pub async fn admin_emails(db: &Db) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query("SELECT email FROM users WHERE role = 'admin' ORDER BY email")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| r.try_get("email").map_err(Into::into))
        .collect()
}

/// The webhook events about any of `object_ids` (a part's PaymentIntent, charge, refunds,
/// disputes), oldest first, for the order's timeline.
pub async fn events_about(
    db: &Db,
    object_ids: &[String],
    limit: i64,
) -> Result<Vec<(String, String, i64)>, DbError> {
    if object_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=object_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, type, created FROM webhook_events WHERE object_id IN ({})
         ORDER BY created, id LIMIT ${}",
        placeholders.join(", "),
        object_ids.len() + 1
    );
    let mut q = sqlx::query(&sql);
    for id in object_ids {
        q = q.bind(id.clone());
    }
    let rows = q.bind(limit).fetch_all(db.reader()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("type")?, r.try_get("created")?)))
        .collect()
}
