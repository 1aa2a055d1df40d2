//! Products. Seller-facing queries take the seller's id and use it in every
//! WHERE, so another seller's product id answers "not found".

/// The one rule for "can be bought now", as a SQL condition over `products p`
/// joined with `sellers s ON s.user_id = p.seller_id`: published, not deleted,
/// and a seller whose Stripe account takes charges and who is neither
/// disconnected nor suspended. The storefront lists and checkout re-checks with
/// it, so a stale page can never sell what is no longer for sale.
pub const SELLABLE: &str = "p.published = 1 AND p.deleted_at IS NULL \
     AND s.charges_enabled = 1 AND s.disconnected_at IS NULL AND s.suspended_at IS NULL";

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbError};
use crate::domain::{Currency, Money, ProductId, UserId};

/// A product as its seller sees it.
#[derive(Debug, Clone)]
pub struct Product {
    pub id: ProductId,
    pub seller_id: UserId,
    pub title: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
    /// Random file name under DATA_DIR/uploads/ and the type read from its bytes.
    pub image_file: Option<String>,
    pub image_type: Option<String>,
    pub published: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Product {
    /// Where the image is served (`/media/<file>`), if there is one.
    pub fn image_url(&self) -> Option<String> {
        self.image_file.as_deref().map(media_url)
    }
}

/// URL of an uploaded image file.
pub fn media_url(file: &str) -> String {
    format!("/media/{file}")
}

/// The fields a seller writes.
pub struct ProductFields<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub price: Money,
    pub stock: i64,
}

const COLUMNS: &str = "id, seller_id, title, description, price_minor, currency, stock, \
     image_file, image_type, published, created_at, updated_at";

fn product_from_row(row: &AnyRow) -> Result<Product, DbError> {
    let corrupt = |column: &'static str, detail: String| DbError::Corrupt { column, detail };
    let id: String = row.try_get("id")?;
    let seller: String = row.try_get("seller_id")?;
    let currency: String = row.try_get("currency")?;
    Ok(Product {
        id: ProductId::try_from(id).map_err(|e| corrupt("products.id", e.to_string()))?,
        seller_id: UserId::try_from(seller)
            .map_err(|e| corrupt("products.seller_id", e.to_string()))?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        price: Money::new(
            row.try_get("price_minor")?,
            currency
                .parse::<Currency>()
                .map_err(|e| corrupt("products.currency", e.to_string()))?,
        ),
        stock: row.try_get("stock")?,
        image_file: row.try_get("image_file")?,
        image_type: row.try_get("image_type")?,
        published: row.try_get::<i64, _>("published")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn insert(
    db: &Db,
    seller: &UserId,
    fields: &ProductFields<'_>,
    image: Option<(&str, &str)>,
    now: i64,
) -> Result<ProductId, DbError> {
    let id = ProductId::generate();
    sqlx::query(
        "INSERT INTO products (id, seller_id, title, description, price_minor, currency, stock,
             image_file, image_type, published, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10)",
    )
    .bind(id.as_str())
    .bind(seller.as_str())
    .bind(fields.title)
    .bind(fields.description)
    .bind(fields.price.minor)
    .bind(fields.price.currency.code())
    .bind(fields.stock)
    .bind(image.map(|i| i.0))
    .bind(image.map(|i| i.1))
    .bind(now)
    .execute(db.writer())
    .await?;
    Ok(id)
}

/// The seller's own product (not deleted); another seller's id is `None`.
pub async fn find_owned(db: &Db, seller: &UserId, id: &str) -> Result<Option<Product>, DbError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM products WHERE id = $1 AND seller_id = $2 AND deleted_at IS NULL"
    ))
    .bind(id)
    .bind(seller.as_str())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(product_from_row).transpose()
}

/// The seller's products, newest first (deleted ones left out).
pub async fn list_owned(db: &Db, seller: &UserId) -> Result<Vec<Product>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM products WHERE seller_id = $1 AND deleted_at IS NULL
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(seller.as_str())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(product_from_row).collect()
}

/// Updates the seller's own product; `image` replaces the stored one when given.
/// Returns false when no such product of this seller exists.
pub async fn update_owned(
    db: &Db,
    seller: &UserId,
    id: &ProductId,
    fields: &ProductFields<'_>,
    image: Option<(&str, &str)>,
    now: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE products SET title = $1, description = $2, price_minor = $3, currency = $4,
             stock = $5, image_file = COALESCE($6, image_file),
             image_type = COALESCE($7, image_type), updated_at = $8
         WHERE id = $9 AND seller_id = $10 AND deleted_at IS NULL",
    )
    .bind(fields.title)
    .bind(fields.description)
    .bind(fields.price.minor)
    .bind(fields.price.currency.code())
    .bind(fields.stock)
    .bind(image.map(|i| i.0))
    .bind(image.map(|i| i.1))
    .bind(now)
    .bind(id.as_str())
    .bind(seller.as_str())
    .execute(db.writer())
    .await?;
    super::catalog::invalidate();
    Ok(done.rows_affected() == 1)
}

pub async fn set_published(
    db: &Db,
    seller: &UserId,
    id: &ProductId,
    published: bool,
    now: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE products SET published = $1, updated_at = $2
         WHERE id = $3 AND seller_id = $4 AND deleted_at IS NULL",
    )
    .bind(i64::from(published))
    .bind(now)
    .bind(id.as_str())
    .bind(seller.as_str())
    .execute(db.writer())
    .await?;
    super::catalog::invalidate();
    Ok(done.rows_affected() == 1)
}

/// Soft delete: the row stays for the orders that point at it, but the product is gone from
/// the seller's list and the storefront.
pub async fn soft_delete(
    db: &Db,
    seller: &UserId,
    id: &ProductId,
    now: i64,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE products SET deleted_at = $1, published = 0, updated_at = $1
         WHERE id = $2 AND seller_id = $3 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(id.as_str())
    .bind(seller.as_str())
    .execute(db.writer())
    .await?;
    super::catalog::invalidate();
    Ok(done.rows_affected() == 1)
}

/// The content type recorded for an uploaded image file, if a product uses it.
pub async fn image_type_of(db: &Db, file: &str) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT image_type FROM products WHERE image_file = $1 LIMIT 1")
        .bind(file)
        .fetch_optional(db.reader())
        .await?;
    Ok(match row {
        Some(r) => r.try_get("image_type")?,
        None => None,
    })
}

/// Whether the product can be bought now (the [`SELLABLE`] rule), for the seller's preview.
pub async fn is_sellable(db: &Db, id: &ProductId) -> Result<bool, DbError> {
    let row = sqlx::query(&format!(
        "SELECT p.id FROM products p JOIN sellers s ON s.user_id = p.seller_id
         WHERE p.id = $1 AND {SELLABLE}"
    ))
    .bind(id.as_str())
    .fetch_optional(db.reader())
    .await?;
    Ok(row.is_some())
}
