//! What the storefront reads: sellable products only (through [`SELLABLE`]), newest first,
//! with keyset pagination on (created_at, id) so page 1,000 costs what page 1 costs.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Row;
use sqlx::any::AnyRow;

use super::products::SELLABLE;
use super::{Db, DbError};
use crate::domain::{Currency, Money};

/// Moves on at every write of this process to what the storefront shows (products, stock,
/// sellers' ability to sell), so `storefront::cache` drops what it read before. Process-wide
/// on purpose: several app states in one process (tests) only ever over-invalidate.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current catalog generation (see [`invalidate`]).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Records that products or sellers changed. The functions of this module's siblings that
/// write them call it; anything else that writes those tables (a test's direct SQL) must too.
/// A write inside a transaction calls it before the commit: a page read in between may keep
/// the old data until the cache's TTL, the same bound other instances' writes have.
pub fn invalidate() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub id: String,
    pub seller_id: String,
    pub seller_name: String,
    pub title: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
    pub has_image: bool,
    pub created_at: i64,
}

/// Where a page starts: the last (created_at, id) of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    /// `<created_at>_<id>` in URLs.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at, self.id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (t, id) = s.split_once('_')?;
        let created_at = t.parse().ok()?;
        let ok = id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        ok.then(|| Cursor {
            created_at,
            id: id.to_string(),
        })
    }
}

const COLUMNS: &str = "p.id, p.seller_id, s.display_name, p.title, p.description, p.price_minor, \
     p.currency, p.stock, p.image_file, p.created_at";

pub(crate) fn listing_from_row(row: &AnyRow) -> Result<Listing, DbError> {
    let currency: String = row.try_get("currency")?;
    let currency: Currency =
        currency
            .parse()
            .map_err(|e: crate::domain::MoneyError| DbError::Corrupt {
                column: "products.currency",
                detail: e.to_string(),
            })?;
    let image: Option<String> = row.try_get("image_file")?;
    Ok(Listing {
        id: row.try_get("id")?,
        seller_id: row.try_get("seller_id")?,
        seller_name: row.try_get("display_name")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        price: Money::new(row.try_get("price_minor")?, currency),
        stock: row.try_get("stock")?,
        has_image: image.is_some(),
        created_at: row.try_get("created_at")?,
    })
}

/// Escapes LIKE wildcards in a search word (with `ESCAPE '!'`).
fn like_pattern(word: &str) -> String {
    let mut out = String::from("%");
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

pub struct Query<'a> {
    pub seller_id: Option<&'a str>,
    /// Every word must appear in the title or the description (case-insensitive).
    pub words: &'a [String],
    pub after: Option<&'a Cursor>,
    pub limit: i64,
}

/// One page of sellable products, newest first; `limit + 1` rows are read to know whether a
/// next page exists.
pub async fn list(db: &Db, q: &Query<'_>) -> Result<(Vec<Listing>, Option<Cursor>), DbError> {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM products p JOIN sellers s ON s.user_id = p.seller_id WHERE {SELLABLE}"
    );
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if q.seller_id.is_some() {
        sql.push_str(&format!(" AND p.seller_id = ${}", next()));
    }
    for _ in q.words {
        sql.push_str(&format!(
            " AND (LOWER(p.title) LIKE ${i} ESCAPE '!' OR LOWER(p.description) LIKE ${i} ESCAPE '!')",
            i = next()
        ));
    }
    if q.after.is_some() {
        let (a, b) = (next(), next());
        sql.push_str(&format!(" AND (p.created_at, p.id) < (${a}, ${b})"));
    }
    sql.push_str(&format!(
        " ORDER BY p.published DESC, p.created_at DESC, p.id DESC LIMIT ${}",
        next()
    ));
    let mut query = sqlx::query(&sql);
    if let Some(s) = q.seller_id {
        query = query.bind(s.to_string());
    }
    for w in q.words {
        query = query.bind(like_pattern(w));
    }
    if let Some(c) = q.after {
        query = query.bind(c.created_at).bind(c.id.clone());
    }
    query = query.bind(q.limit + 1);
    let rows = query.fetch_all(db.reader()).await?;
    let mut items = rows
        .iter()
        .map(listing_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let cursor = if items.len() as i64 > q.limit {
        items.truncate(q.limit as usize);
        items.last().map(|l| Cursor {
            created_at: l.created_at,
            id: l.id.clone(),
        })
    } else {
        None
    };
    Ok((items, cursor))
}

/// A product that can be bought now, or `None`.
pub async fn find_sellable(db: &Db, product_id: &str) -> Result<Option<Listing>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM products p JOIN sellers s ON s.user_id = p.seller_id \
         WHERE p.id = $1 AND {SELLABLE}"
    );
    let row = sqlx::query(&sql)
        .bind(product_id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(listing_from_row).transpose()
}

/// The stored image of a sellable product: (file name under uploads/, content type).
pub async fn image_of(db: &Db, product_id: &str) -> Result<Option<(String, String)>, DbError> {
    let sql = format!(
        "SELECT p.image_file, p.image_type FROM products p JOIN sellers s ON s.user_id = p.seller_id \
         WHERE p.id = $1 AND p.image_file IS NOT NULL AND {SELLABLE}"
    );
    let row = sqlx::query(&sql)
        .bind(product_id)
        .fetch_optional(db.reader())
        .await?;
    match row {
        Some(r) => {
            let file: String = r.try_get("image_file")?;
            let kind: Option<String> = r.try_get("image_type")?;
            Ok(Some((file, kind.unwrap_or_else(|| "image/jpeg".into()))))
        }
        None => Ok(None),
    }
}

/// A seller's shop name, if the shop can sell now.
pub async fn shop_name(db: &Db, seller_id: &str) -> Result<Option<String>, DbError> {
    let row = sqlx::query(
        "SELECT display_name FROM sellers s WHERE s.user_id = $1 AND s.charges_enabled = 1 \
         AND s.disconnected_at IS NULL AND s.suspended_at IS NULL",
    )
    .bind(seller_id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| r.try_get("display_name"))
        .transpose()
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let c = Cursor {
            created_at: 1700000000,
            id: "prd_abc".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("x_prd"), None);
        assert_eq!(Cursor::decode("1_prd'; DROP"), None);
    }

    #[test]
    fn search_words_cannot_be_wildcards() {
        assert_eq!(like_pattern("50%_off"), "%50!%!_off%");
    }
}
