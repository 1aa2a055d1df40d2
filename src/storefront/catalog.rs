//! Browsing: the home page, search, a seller's shop, a product page and product images.
//! Only what `db::products::SELLABLE` allows is ever listed.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use std::sync::Arc;

use crate::db::catalog::{self, Cursor, Listing, Query};
use crate::domain::Currency;
use crate::error::AppError;
use crate::state::AppState;
use crate::storefront::cache::ListingPage;
use crate::web::page::Page;

pub const PAGE_SIZE: i64 = 24;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/search", web::get().to(search))
        .route("/shops/{seller}", web::get().to(shop))
        .route("/products/{id}", web::get().to(product))
        .route("/products/{id}/image", web::get().to(image));
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

/// Up to 8 words of at least one character, at most 40 characters each.
fn words(q: &str) -> Vec<String> {
    q.split_whitespace()
        .filter(|w| w.chars().count() <= 40)
        .take(8)
        .map(|w| w.to_lowercase())
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "storefront/home.html")]
struct HomePage {
    page: Page,
    fee: String,
    heading: String,
    query: String,
    listing: Arc<ListingPage>,
    next: Option<String>,
    base_path: String,
    intro: bool,
}

impl HomePage {
    fn next_href(&self) -> Option<String> {
        let next = self.next.as_ref()?;
        let mut params = vec![("after", next.as_str())];
        if !self.query.is_empty() {
            params.push(("q", self.query.as_str()));
        }
        let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
        Some(format!("{}?{qs}", self.base_path))
    }
}

async fn list_page(
    page: Page,
    state: &AppState,
    q: &ListQuery,
    seller: Option<&str>,
    heading: String,
    base_path: String,
) -> Result<HomePage, AppError> {
    let query = q.q.clone().unwrap_or_default();
    let words = words(&query);
    let after = q.after.as_deref().and_then(Cursor::decode);
    let listing = state
        .catalog
        .list(
            &state.db,
            &Query {
                seller_id: seller,
                words: &words,
                after: after.as_ref(),
                limit: PAGE_SIZE,
            },
        )
        .await?;
    let next = listing.next.as_ref().map(Cursor::encode);
    Ok(HomePage {
        intro: seller.is_none() && query.is_empty() && after.is_none() && page.user.is_none(),
        page,
        fee: state.platform_fee.describe(Currency::Usd),
        heading,
        query,
        listing,
        next,
        base_path,
    })
}

async fn home(
    page: Page,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HomePage, AppError> {
    list_page(
        page,
        &state,
        &q,
        None,
        "New in the shops".into(),
        "/".into(),
    )
    .await
}

async fn search(
    page: Page,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HomePage, AppError> {
    let heading = match q.q.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => format!("Results for “{t}”"),
        _ => "All products".into(),
    };
    list_page(page, &state, &q, None, heading, "/search".into()).await
}

async fn shop(
    page: Page,
    state: web::Data<AppState>,
    seller: web::Path<String>,
    q: web::Query<ListQuery>,
) -> Result<HomePage, AppError> {
    let name = catalog::shop_name(&state.db, &seller)
        .await?
        .ok_or(AppError::NotFound)?;
    let base = format!("/shops/{}", seller.as_str());
    list_page(page, &state, &q, Some(seller.as_str()), name, base).await
}

#[derive(Template, WebTemplate)]
#[template(path = "storefront/product.html")]
struct ProductPage {
    page: Page,
    product: Arc<Listing>,
    max_quantity: i64,
}

async fn product(
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<ProductPage, AppError> {
    let product = state
        .catalog
        .product(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ProductPage {
        page,
        max_quantity: product.stock.clamp(0, 1000),
        product,
    })
}

/// Images live under DATA_DIR/uploads/ with random names chosen by the seller pages; only
/// a sellable product's image is served.
async fn image(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (file, kind) = catalog::image_of(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    if file.is_empty()
        || !file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        || file.starts_with('.')
    {
        return Err(AppError::NotFound);
    }
    let path = state.settings.data_dir.join("uploads").join(&file);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::NotFound)?;
    let kind = match kind.as_str() {
        "image/png" | "image/jpeg" | "image/webp" | "image/gif" => kind,
        _ => return Err(AppError::NotFound),
    };
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn search_takes_a_few_short_words() {
        assert_eq!(words("  Blue  MUG "), vec!["blue", "mug"]);
        assert_eq!(words(&"a ".repeat(20)).len(), 8);
        assert!(words(&"x".repeat(41)).is_empty());
    }
}
