//! Carts, the buyer's Stripe customers and saved cards, orders and their per-seller parts.
//! Every buyer-facing query takes the buyer's id and uses it in its WHERE.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::products::SELLABLE;
use super::rows::{corrupt, currency, part_status};
use super::{Db, DbError};
use crate::domain::ids::{CardId, OrderId, OrderPartId, random_token};
use crate::domain::orders::PartStatus;
use crate::domain::{Currency, Money, MoneyError};

// ---------------------------------------------------------------- cart

/// A cart line as the cart page and checkout see it, priced from the product row now.
#[derive(Debug, Clone)]
pub struct CartLine {
    pub product_id: String,
    pub seller_id: String,
    pub seller_name: String,
    pub title: String,
    pub unit_price: Money,
    pub quantity: i64,
    pub stock: i64,
    /// The product can be bought now (published, seller active).
    pub sellable: bool,
}

const LINE_COLUMNS: &str =
    "p.id, p.seller_id, s.display_name, p.title, p.price_minor, p.currency, p.stock";

fn line_from_row(row: &AnyRow, quantity: i64) -> Result<CartLine, DbError> {
    let sellable: i64 = row.try_get("sellable")?;
    Ok(CartLine {
        product_id: row.try_get("id")?,
        seller_id: row.try_get("seller_id")?,
        seller_name: row.try_get("display_name")?,
        title: row.try_get("title")?,
        unit_price: Money::new(row.try_get("price_minor")?, currency(row)?),
        quantity,
        stock: row.try_get("stock")?,
        sellable: sellable == 1,
    })
}

/// The logged-in buyer's cart.
pub async fn cart(db: &Db, buyer_id: &str) -> Result<Vec<CartLine>, DbError> {
    let sql = format!(
        "SELECT {LINE_COLUMNS}, c.quantity, CASE WHEN {SELLABLE} THEN 1 ELSE 0 END AS sellable \
         FROM cart_items c JOIN products p ON p.id = c.product_id \
         JOIN sellers s ON s.user_id = p.seller_id \
         WHERE c.buyer_id = $1 ORDER BY s.display_name, c.added_at, p.id"
    );
    let rows = sqlx::query(&sql)
        .bind(buyer_id)
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| line_from_row(r, r.try_get("quantity")?))
        .collect()
}

/// Prices a visitor's session cart the same way (unknown products are dropped).
pub async fn lines_for(db: &Db, items: &[(String, i64)]) -> Result<Vec<CartLine>, DbError> {
    let sql = format!(
        "SELECT {LINE_COLUMNS}, CASE WHEN {SELLABLE} THEN 1 ELSE 0 END AS sellable \
         FROM products p JOIN sellers s ON s.user_id = p.seller_id WHERE p.id = $1"
    );
    let mut out = Vec::new();
    for (id, qty) in items {
        if let Some(row) = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(db.reader())
            .await?
        {
            out.push(line_from_row(&row, *qty)?);
        }
    }
    out.sort_by(|a, b| a.seller_name.cmp(&b.seller_name));
    Ok(out)
}

/// Adds `quantity` to the line (creating it), capped at 1000 by the caller.
pub async fn cart_add(
    db: &Db,
    buyer_id: &str,
    product_id: &str,
    quantity: i64,
    now: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO cart_items (buyer_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (buyer_id, product_id)
         DO UPDATE SET quantity = CASE WHEN cart_items.quantity + excluded.quantity > 1000
           THEN 1000 ELSE cart_items.quantity + excluded.quantity END",
    )
    .bind(buyer_id)
    .bind(product_id)
    .bind(quantity)
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Sets a line's quantity (the row must exist for this buyer).
pub async fn cart_set(
    db: &Db,
    buyer_id: &str,
    product_id: &str,
    quantity: i64,
) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE cart_items SET quantity = $3 WHERE buyer_id = $1 AND product_id = $2")
            .bind(buyer_id)
            .bind(product_id)
            .bind(quantity)
            .execute(db.writer())
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn cart_remove(db: &Db, buyer_id: &str, product_id: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM cart_items WHERE buyer_id = $1 AND product_id = $2")
        .bind(buyer_id)
        .bind(product_id)
        .execute(db.writer())
        .await?;
    Ok(())
}

pub async fn cart_quantity(db: &Db, buyer_id: &str, product_id: &str) -> Result<i64, DbError> {
    let row =
        sqlx::query("SELECT quantity FROM cart_items WHERE buyer_id = $1 AND product_id = $2")
            .bind(buyer_id)
            .bind(product_id)
            .fetch_optional(db.reader())
            .await?;
    Ok(match row {
        Some(r) => r.try_get("quantity")?,
        None => 0,
    })
}

// ---------------------------------------------------------------- customers and cards

pub async fn platform_customer(db: &Db, buyer_id: &str) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT stripe_customer_id FROM buyer_customers WHERE buyer_id = $1")
        .bind(buyer_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("stripe_customer_id")).transpose()?)
}

/// Keeps the first customer stored for the buyer; returns the one that is kept.
pub async fn save_platform_customer(
    db: &Db,
    buyer_id: &str,
    customer_id: &str,
    now: i64,
) -> Result<String, DbError> {
    sqlx::query(
        "INSERT INTO buyer_customers (buyer_id, stripe_customer_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (buyer_id) DO NOTHING",
    )
    .bind(buyer_id)
    .bind(customer_id)
    .bind(now)
    .execute(db.writer())
    .await?;
    platform_customer(db, buyer_id)
        .await?
        .ok_or_else(|| corrupt("buyer_customers")("row vanished".into()))
}

/// The buyer whose platform Customer is `customer_id`.
pub async fn buyer_of_platform_customer(
    db: &Db,
    customer_id: &str,
) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT buyer_id FROM buyer_customers WHERE stripe_customer_id = $1")
        .bind(customer_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.try_get("buyer_id")).transpose()?)
}

pub async fn connected_customer(
    db: &Db,
    buyer_id: &str,
    seller_id: &str,
) -> Result<Option<String>, DbError> {
    let row = sqlx::query(
        "SELECT stripe_customer_id FROM connected_customers WHERE buyer_id = $1 AND seller_id = $2",
    )
    .bind(buyer_id)
    .bind(seller_id)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.map(|r| r.try_get("stripe_customer_id")).transpose()?)
}

pub async fn save_connected_customer(
    db: &Db,
    buyer_id: &str,
    seller_id: &str,
    customer_id: &str,
    now: i64,
) -> Result<String, DbError> {
    sqlx::query(
        "INSERT INTO connected_customers (buyer_id, seller_id, stripe_customer_id, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (buyer_id, seller_id) DO NOTHING",
    )
    .bind(buyer_id)
    .bind(seller_id)
    .bind(customer_id)
    .bind(now)
    .execute(db.writer())
    .await?;
    connected_customer(db, buyer_id, seller_id)
        .await?
        .ok_or_else(|| corrupt("connected_customers")("row vanished".into()))
}

#[derive(Debug, Clone)]
pub struct SavedCard {
    pub id: String,
    pub payment_method_id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

fn card_from_row(r: &AnyRow) -> Result<SavedCard, DbError> {
    Ok(SavedCard {
        id: r.try_get("id")?,
        payment_method_id: r.try_get("stripe_payment_method_id")?,
        brand: r.try_get("brand")?,
        last4: r.try_get("last4")?,
        exp_month: r.try_get("exp_month")?,
        exp_year: r.try_get("exp_year")?,
    })
}

const CARD_COLUMNS: &str = "id, stripe_payment_method_id, brand, last4, exp_month, exp_year";

pub async fn cards(db: &Db, buyer_id: &str) -> Result<Vec<SavedCard>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {CARD_COLUMNS} FROM saved_cards WHERE buyer_id = $1 AND removed_at IS NULL
         ORDER BY created_at DESC, id"
    ))
    .bind(buyer_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(card_from_row).collect()
}

/// One of this buyer's current cards (another buyer's card id answers `None`).
pub async fn card(db: &Db, buyer_id: &str, card_id: &str) -> Result<Option<SavedCard>, DbError> {
    let row = sqlx::query(&format!(
        "SELECT {CARD_COLUMNS} FROM saved_cards WHERE id = $1 AND buyer_id = $2 AND removed_at IS NULL"
    ))
    .bind(card_id)
    .bind(buyer_id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(card_from_row).transpose()
}

/// Stores a card once per PaymentMethod; returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn save_card(
    db: &Db,
    buyer_id: &str,
    payment_method_id: &str,
    brand: &str,
    last4: &str,
    exp_month: i64,
    exp_year: i64,
    now: i64,
) -> Result<String, DbError> {
    let id = CardId::generate();
    sqlx::query(
        "INSERT INTO saved_cards (id, buyer_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (stripe_payment_method_id) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(buyer_id)
    .bind(payment_method_id)
    .bind(brand)
    .bind(last4)
    .bind(exp_month)
    .bind(exp_year)
    .bind(now)
    .execute(db.writer())
    .await?;
    let row = sqlx::query(
        "SELECT id FROM saved_cards WHERE stripe_payment_method_id = $1 AND buyer_id = $2",
    )
    .bind(payment_method_id)
    .bind(buyer_id)
    .fetch_optional(db.reader())
    .await?
    .ok_or_else(|| corrupt("saved_cards")("card belongs to another buyer".into()))?;
    Ok(row.try_get("id")?)
}

pub async fn remove_card(
    db: &Db,
    buyer_id: &str,
    card_id: &str,
    now: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE saved_cards SET removed_at = $3 WHERE id = $1 AND buyer_id = $2 AND removed_at IS NULL",
    )
    .bind(card_id)
    .bind(buyer_id)
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn cloned_card(
    db: &Db,
    card_id: &str,
    seller_id: &str,
) -> Result<Option<String>, DbError> {
    let row = sqlx::query(
        "SELECT stripe_payment_method_id FROM cloned_cards WHERE card_id = $1 AND seller_id = $2",
    )
    .bind(card_id)
    .bind(seller_id)
    .fetch_optional(db.reader())
    .await?;
    Ok(row
        .map(|r| r.try_get("stripe_payment_method_id"))
        .transpose()?)
}

pub async fn save_cloned_card(
    db: &Db,
    card_id: &str,
    seller_id: &str,
    payment_method_id: &str,
    now: i64,
) -> Result<String, DbError> {
    sqlx::query(
        "INSERT INTO cloned_cards (card_id, seller_id, stripe_payment_method_id, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (card_id, seller_id) DO NOTHING",
    )
    .bind(card_id)
    .bind(seller_id)
    .bind(payment_method_id)
    .bind(now)
    .execute(db.writer())
    .await?;
    cloned_card(db, card_id, seller_id)
        .await?
        .ok_or_else(|| corrupt("cloned_cards")("row vanished".into()))
}

// ---------------------------------------------------------------- orders

/// One seller's share of a checkout, priced from the product rows inside the transaction.
pub struct NewPart {
    pub seller_id: String,
    pub currency: Currency,
    /// (product id, quantity)
    pub items: Vec<(String, i64)>,
    pub fee_bps: i64,
    pub fee_fixed_minor: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("{title} is sold out or no longer available")]
    Unavailable { title: String },
    #[error("{0}")]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for PlaceError {
    fn from(e: sqlx::Error) -> Self {
        PlaceError::Db(e.into())
    }
}

pub enum Placed {
    New(OrderId),
    /// The same checkout form was submitted before: its order.
    Existing(OrderId),
}

/// Reserves one product's stock if it is still sellable; returns its title and price.
async fn reserve(
    conn: &mut AnyConnection,
    product_id: &str,
    quantity: i64,
    now: i64,
) -> Result<Option<(String, i64, String)>, sqlx::Error> {
    let sql = format!(
        "UPDATE products SET stock = stock - $1, updated_at = $3
         WHERE id = $2 AND stock >= $1 AND id IN
           (SELECT p.id FROM products p JOIN sellers s ON s.user_id = p.seller_id WHERE p.id = $2 AND {SELLABLE})
         RETURNING title, price_minor, currency"
    );
    let row = sqlx::query(&sql)
        .bind(quantity)
        .bind(product_id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    if row.is_some() {
        super::catalog::invalidate();
    }
    row.map(|r| {
        Ok((
            r.try_get("title")?,
            r.try_get("price_minor")?,
            r.try_get("currency")?,
        ))
    })
    .transpose()
}

async fn title_of(conn: &mut AnyConnection, product_id: &str) -> Result<String, sqlx::Error> {
    let row = sqlx::query("SELECT title FROM products WHERE id = $1")
        .bind(product_id)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get("title")?,
        None => "A product".into(),
    })
}

async fn add_event(
    conn: &mut AnyConnection,
    part_id: &str,
    status: PartStatus,
    detail: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_part_events (id, part_id, status, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(format!("ope_{}", random_token(22)))
    .bind(part_id)
    .bind(status.as_str())
    .bind(detail)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the order, its parts and items and reserves every item's stock in ONE transaction;
/// nothing is written when any item is sold out. A second submit of the same checkout form
/// (same token) returns the first order.
pub async fn place_order(
    db: &Db,
    buyer_id: &str,
    checkout_token: &str,
    card_id: &str,
    parts: &[NewPart],
    now: i64,
) -> Result<Placed, PlaceError> {
    let mut tx = db.begin().await?;
    let order_id = OrderId::generate();
    let inserted = sqlx::query(
        "INSERT INTO orders (id, buyer_id, checkout_token, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (buyer_id, checkout_token) DO NOTHING",
    )
    .bind(order_id.as_str())
    .bind(buyer_id)
    .bind(checkout_token)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        tx.rollback().await?;
        let row = sqlx::query("SELECT id FROM orders WHERE buyer_id = $1 AND checkout_token = $2")
            .bind(buyer_id)
            .bind(checkout_token)
            .fetch_one(db.reader())
            .await?;
        let id: String = row.try_get("id")?;
        return Ok(Placed::Existing(
            OrderId::try_from(id).map_err(|e| corrupt("orders.id")(e.to_string()))?,
        ));
    }
    for part in parts {
        let part_id = OrderPartId::generate();
        let mut total = Money::zero(part.currency);
        let mut items = Vec::new();
        for (product_id, qty) in &part.items {
            let Some((title, price, cur)) = reserve(&mut tx, product_id, *qty, now).await? else {
                let title = title_of(&mut tx, product_id).await?;
                tx.rollback().await?;
                return Err(PlaceError::Unavailable { title });
            };
            if cur != part.currency.code() {
                let title = title_of(&mut tx, product_id).await?;
                tx.rollback().await?;
                return Err(PlaceError::Unavailable { title });
            }
            total = total.checked_add(Money::new(price, part.currency).checked_mul(*qty)?)?;
            items.push((product_id.clone(), title, price, *qty));
        }
        let fee = crate::domain::PlatformFee {
            bps: u32::try_from(part.fee_bps).unwrap_or(0),
            fixed_minor: part.fee_fixed_minor,
        }
        .fee_for(total)?;
        sqlx::query(
            "INSERT INTO order_parts (id, order_id, buyer_id, seller_id, currency, amount_minor, fee_minor,
               status, card_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(part_id.as_str())
        .bind(order_id.as_str())
        .bind(buyer_id)
        .bind(&part.seller_id)
        .bind(part.currency.code())
        .bind(total.minor)
        .bind(fee.minor)
        .bind(PartStatus::Pending.as_str())
        .bind(card_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (product_id, title, price, qty) in items {
            sqlx::query(
                "INSERT INTO order_items (part_id, product_id, title, unit_price_minor, quantity)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(part_id.as_str())
            .bind(product_id)
            .bind(title)
            .bind(price)
            .bind(qty)
            .execute(&mut *tx)
            .await?;
        }
        add_event(&mut tx, part_id.as_str(), PartStatus::Pending, None, now).await?;
    }
    tx.commit().await?;
    Ok(Placed::New(order_id))
}

pub async fn order_by_token(
    db: &Db,
    buyer_id: &str,
    checkout_token: &str,
) -> Result<Option<OrderId>, DbError> {
    let row = sqlx::query("SELECT id FROM orders WHERE buyer_id = $1 AND checkout_token = $2")
        .bind(buyer_id)
        .bind(checkout_token)
        .fetch_optional(db.reader())
        .await?;
    match row {
        Some(r) => {
            let id: String = r.try_get("id")?;
            Ok(Some(
                OrderId::try_from(id).map_err(|e| corrupt("orders.id")(e.to_string()))?,
            ))
        }
        None => Ok(None),
    }
}

#[derive(Debug, Clone)]
pub struct Part {
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
    pub status: PartStatus,
    pub attempt: i64,
    pub card_id: Option<String>,
    pub payment_intent_id: Option<String>,
    pub charge_id: Option<String>,
    pub failure_reason: Option<String>,
    pub action_url: Option<String>,
    pub authorized_at: Option<i64>,
    pub shipped_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const PART_SELECT: &str = "SELECT op.id, op.order_id, op.buyer_id, u.email, op.seller_id, s.display_name,
      su.email AS seller_email, s.stripe_account_id, op.currency, op.amount_minor, op.fee_minor, op.captured_minor, op.status,
      op.attempt, op.card_id, op.stripe_payment_intent_id, op.stripe_charge_id, op.failure_reason,
      op.action_url, op.authorized_at, op.shipped_at, op.created_at, op.updated_at
    FROM order_parts op JOIN sellers s ON s.user_id = op.seller_id JOIN users u ON u.id = op.buyer_id
      JOIN users su ON su.id = op.seller_id";

fn part_from_row(r: &AnyRow) -> Result<Part, DbError> {
    let cur = currency(r)?;
    Ok(Part {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        buyer_id: r.try_get("buyer_id")?,
        buyer_email: r.try_get("email")?,
        seller_id: r.try_get("seller_id")?,
        seller_name: r.try_get("display_name")?,
        seller_email: r.try_get("seller_email")?,
        seller_account: r.try_get("stripe_account_id")?,
        amount: Money::new(r.try_get("amount_minor")?, cur),
        fee: Money::new(r.try_get("fee_minor")?, cur),
        captured: Money::new(r.try_get("captured_minor")?, cur),
        status: part_status(r)?,
        attempt: r.try_get("attempt")?,
        card_id: r.try_get("card_id")?,
        payment_intent_id: r.try_get("stripe_payment_intent_id")?,
        charge_id: r.try_get("stripe_charge_id")?,
        failure_reason: r.try_get("failure_reason")?,
        action_url: r.try_get("action_url")?,
        authorized_at: r.try_get("authorized_at")?,
        shipped_at: r.try_get("shipped_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Any part by id: for the payment driver only (callers facing people use the scoped ones).
pub async fn part(db: &Db, part_id: &str) -> Result<Option<Part>, DbError> {
    let row = sqlx::query(&format!("{PART_SELECT} WHERE op.id = $1"))
        .bind(part_id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(part_from_row).transpose()
}

/// The part paid by PaymentIntent `intent_id` on connected account `account`, for webhook
/// events: scoped by the account, so an event of one seller's account never moves another's
/// part. An intent of an earlier attempt (cleared by a retry) finds nothing.
pub async fn part_by_intent(
    db: &Db,
    account: &str,
    intent_id: &str,
) -> Result<Option<Part>, DbError> {
    let row = sqlx::query(&format!(
        "{PART_SELECT} WHERE op.stripe_payment_intent_id = $1 AND s.stripe_account_id = $2"
    ))
    .bind(intent_id)
    .bind(account)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(part_from_row).transpose()
}

pub async fn part_of_buyer(
    db: &Db,
    buyer_id: &str,
    part_id: &str,
) -> Result<Option<Part>, DbError> {
    let row = sqlx::query(&format!(
        "{PART_SELECT} WHERE op.id = $1 AND op.buyer_id = $2"
    ))
    .bind(part_id)
    .bind(buyer_id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(part_from_row).transpose()
}

pub async fn part_of_seller(
    db: &Db,
    seller_id: &str,
    part_id: &str,
) -> Result<Option<Part>, DbError> {
    let row = sqlx::query(&format!(
        "{PART_SELECT} WHERE op.id = $1 AND op.seller_id = $2"
    ))
    .bind(part_id)
    .bind(seller_id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(part_from_row).transpose()
}

pub async fn parts_of_order(db: &Db, buyer_id: &str, order_id: &str) -> Result<Vec<Part>, DbError> {
    let rows = sqlx::query(&format!(
        "{PART_SELECT} WHERE op.order_id = $1 AND op.buyer_id = $2 ORDER BY s.display_name, op.id"
    ))
    .bind(order_id)
    .bind(buyer_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(part_from_row).collect()
}

/// The buyer's orders, newest first, with their parts.
pub async fn parts_of_buyer(db: &Db, buyer_id: &str, limit: i64) -> Result<Vec<Part>, DbError> {
    let rows = sqlx::query(&format!(
        "{PART_SELECT} WHERE op.buyer_id = $1 AND op.order_id IN
           (SELECT id FROM orders WHERE buyer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)
         ORDER BY op.created_at DESC, op.order_id DESC, s.display_name"
    ))
    .bind(buyer_id)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(part_from_row).collect()
}

/// A seller's parts, newest first, optionally of some statuses.
pub async fn parts_of_seller(
    db: &Db,
    seller_id: &str,
    statuses: &[PartStatus],
    limit: i64,
) -> Result<Vec<Part>, DbError> {
    let mut sql = format!("{PART_SELECT} WHERE op.seller_id = $1");
    if !statuses.is_empty() {
        let list: Vec<String> = statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        sql.push_str(&format!(" AND op.status IN ({})", list.join(",")));
    }
    sql.push_str(" ORDER BY op.created_at DESC, op.id DESC LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(seller_id)
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(part_from_row).collect()
}

/// Parts whose outcome is open and that nobody touched since `before` (for the re-read sweep).
pub async fn stuck_parts(db: &Db, before: i64, limit: i64) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query(
        "SELECT id FROM order_parts WHERE status IN ('pending', 'processing') AND updated_at < $1
         ORDER BY updated_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| r.try_get("id").map_err(Into::into))
        .collect()
}

/// Parts whose PaymentIntent Stripe had not decided when we last read it (`processing`, or
/// waiting for 3-D Secure), oldest first: reconciliation re-reads them.
pub async fn parts_awaiting_intent(db: &Db, limit: i64) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query(
        "SELECT id FROM order_parts WHERE status IN ('processing', 'requires_action')
           AND stripe_payment_intent_id IS NOT NULL
         ORDER BY updated_at, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| r.try_get("id").map_err(Into::into))
        .collect()
}

/// Authorizations older than `before` (to be canceled before Stripe lets them expire).
pub async fn aging_authorizations(
    db: &Db,
    before: i64,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query(
        "SELECT id FROM order_parts WHERE status = 'authorized' AND authorized_at < $1
         ORDER BY authorized_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| r.try_get("id").map_err(Into::into))
        .collect()
}

#[derive(Debug, Clone)]
pub struct Item {
    pub product_id: String,
    pub title: String,
    pub unit_price_minor: i64,
    pub quantity: i64,
}

pub async fn items_of_part(db: &Db, part_id: &str) -> Result<Vec<Item>, DbError> {
    let rows = sqlx::query(
        "SELECT product_id, title, unit_price_minor, quantity FROM order_items WHERE part_id = $1 ORDER BY title",
    )
    .bind(part_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Item {
                product_id: r.try_get("product_id")?,
                title: r.try_get("title")?,
                unit_price_minor: r.try_get("unit_price_minor")?,
                quantity: r.try_get("quantity")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct PartEvent {
    pub status: String,
    pub detail: Option<String>,
    pub at: i64,
}

pub async fn events_of_part(db: &Db, part_id: &str) -> Result<Vec<PartEvent>, DbError> {
    let rows = sqlx::query(
        // Times are in seconds, so one checkout writes several events in the same second; the
        // life cycle's order breaks those ties (ids are random).
        "SELECT status, detail, created_at FROM order_part_events WHERE part_id = $1
         ORDER BY created_at,
            CASE status WHEN 'pending' THEN 0 WHEN 'processing' THEN 1 WHEN 'requires_action' THEN 2
                WHEN 'authorized' THEN 3 WHEN 'paid' THEN 4 ELSE 5 END,
            id",
    )
    .bind(part_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PartEvent {
                status: r.try_get("status")?,
                detail: r.try_get("detail")?,
                at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Stores the PaymentIntent id of the current attempt (only if none is stored yet).
pub async fn set_intent(
    db: &Db,
    part_id: &str,
    attempt: i64,
    intent_id: &str,
    now: i64,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE order_parts SET stripe_payment_intent_id = $3, status = 'processing', updated_at = $4
         WHERE id = $1 AND attempt = $2 AND stripe_payment_intent_id IS NULL",
    )
    .bind(part_id)
    .bind(attempt)
    .bind(intent_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        add_event(
            &mut tx,
            part_id,
            PartStatus::Processing,
            Some(intent_id),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What Stripe said about the current attempt, to be written if the part is still where the
/// caller saw it (same attempt, an open or the expected status).
pub struct Outcome<'a> {
    pub status: PartStatus,
    pub charge_id: Option<&'a str>,
    pub captured_minor: Option<i64>,
    pub failure_reason: Option<&'a str>,
    pub action_url: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// Moves a part to `outcome.status` when it is in one of `from` and still on `attempt`; releases
/// its stock when the outcome is failed or canceled, and drops its products from the buyer's
/// cart once paid or authorized. `mails` (each with its dedupe key) are queued in the same
/// transaction when the move happened, never otherwise. Returns whether the part moved.
pub async fn transition(
    db: &Db,
    part_id: &str,
    attempt: i64,
    from: &[PartStatus],
    outcome: &Outcome<'_>,
    now: i64,
    mails: &[(crate::email::OutgoingEmail, String)],
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let list: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let authorized_at = (outcome.status == PartStatus::Authorized).then_some(now);
    let done = sqlx::query(&format!(
        "UPDATE order_parts SET status = $3,
            stripe_charge_id = COALESCE($4, stripe_charge_id),
            captured_minor = COALESCE($5, captured_minor),
            failure_reason = $6, action_url = $7,
            authorized_at = COALESCE($8, authorized_at), updated_at = $9
         WHERE id = $1 AND attempt = $2 AND status IN ({})",
        list.join(",")
    ))
    .bind(part_id)
    .bind(attempt)
    .bind(outcome.status.as_str())
    .bind(outcome.charge_id)
    .bind(outcome.captured_minor)
    .bind(outcome.failure_reason)
    .bind(outcome.action_url)
    .bind(authorized_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    add_event(
        &mut tx,
        part_id,
        outcome.status,
        outcome.detail.or(outcome.failure_reason),
        now,
    )
    .await?;
    if matches!(outcome.status, PartStatus::Failed | PartStatus::Canceled) {
        release_stock(&mut tx, part_id, now).await?;
    }
    if matches!(outcome.status, PartStatus::Paid | PartStatus::Authorized) {
        sqlx::query(
            "DELETE FROM cart_items WHERE buyer_id = (SELECT buyer_id FROM order_parts WHERE id = $1)
             AND product_id IN (SELECT product_id FROM order_items WHERE part_id = $1)",
        )
        .bind(part_id)
        .execute(&mut *tx)
        .await?;
    }
    super::jobs::enqueue_mails(&mut tx, mails, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records a capture: the authorized part becomes paid with what Stripe captured and the fee it
/// collected on it (smaller than the planned fee after a partial capture). Conditional on the
/// part still being authorized on `attempt`, so a double submit records once. Returns whether
/// the part moved.
pub async fn record_capture(
    db: &Db,
    part_id: &str,
    attempt: i64,
    charge_id: Option<&str>,
    captured: Money,
    fee: Money,
    now: i64,
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE order_parts SET status = 'paid', stripe_charge_id = COALESCE($3, stripe_charge_id),
            captured_minor = $4, fee_minor = $5, updated_at = $6
         WHERE id = $1 AND attempt = $2 AND status = 'authorized' AND currency = $7",
    )
    .bind(part_id)
    .bind(attempt)
    .bind(charge_id)
    .bind(captured.minor)
    .bind(fee.minor)
    .bind(now)
    .bind(captured.currency.code())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    add_event(
        &mut tx,
        part_id,
        PartStatus::Paid,
        Some(&format!("captured {captured} (platform fee {fee})")),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

async fn release_stock(conn: &mut AnyConnection, part_id: &str, now: i64) -> Result<(), DbError> {
    let held =
        sqlx::query("UPDATE order_parts SET stock_held = 0 WHERE id = $1 AND stock_held = 1")
            .bind(part_id)
            .execute(&mut *conn)
            .await?;
    if held.rows_affected() == 1 {
        sqlx::query(
            "UPDATE products SET stock = stock + (SELECT quantity FROM order_items i
                WHERE i.part_id = $1 AND i.product_id = products.id), updated_at = $2
             WHERE id IN (SELECT product_id FROM order_items WHERE part_id = $1)",
        )
        .bind(part_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        super::catalog::invalidate();
    }
    Ok(())
}

/// Starts a new attempt for a failed part with another card: re-reserves its stock (all or
/// nothing) and clears the previous attempt's intent.
pub async fn retry_part(
    db: &Db,
    buyer_id: &str,
    part_id: &str,
    card_id: &str,
    now: i64,
) -> Result<bool, PlaceError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE order_parts SET status = 'pending', attempt = attempt + 1, card_id = $3,
            stripe_payment_intent_id = NULL, stripe_charge_id = NULL, failure_reason = NULL,
            action_url = NULL, stock_held = 1, updated_at = $4
         WHERE id = $1 AND buyer_id = $2 AND status = 'failed' AND stock_held = 0",
    )
    .bind(part_id)
    .bind(buyer_id)
    .bind(card_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    let rows = sqlx::query("SELECT product_id, quantity FROM order_items WHERE part_id = $1")
        .bind(part_id)
        .fetch_all(&mut *tx)
        .await?;
    for r in rows {
        let product_id: String = r.try_get("product_id")?;
        let qty: i64 = r.try_get("quantity")?;
        if reserve(&mut tx, &product_id, qty, now).await?.is_none() {
            let title = title_of(&mut tx, &product_id).await?;
            tx.rollback().await?;
            return Err(PlaceError::Unavailable { title });
        }
    }
    add_event(
        &mut tx,
        part_id,
        PartStatus::Pending,
        Some("retried with another card"),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The seller marks a paid or authorized part shipped.
pub async fn mark_shipped(
    db: &Db,
    seller_id: &str,
    part_id: &str,
    now: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE order_parts SET shipped_at = $3, updated_at = $3
         WHERE id = $1 AND seller_id = $2 AND shipped_at IS NULL AND status = 'paid'",
    )
    .bind(part_id)
    .bind(seller_id)
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected() == 1)
}
