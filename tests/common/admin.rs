//! Helpers for the admin panel tests: seller rows in a given onboarding state,
//! products that are for sale, and what the audit log holds.

use marketplace::db::Db;
use marketplace::db::products::SELLABLE;
use marketplace::domain::UserId;
use marketplace::domain::ids::{ProductId, random_token};
use sqlx::Row;

use super::TestApp;

/// The user id of an account, by email.
pub async fn user_id(db: &Db, email: &str) -> UserId {
    let id: String = sqlx::query("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(db.writer())
        .await
        .expect("user exists")
        .try_get("id")
        .unwrap();
    UserId::try_from(id).unwrap()
}

/// A seller account and profile written straight to the database (no password
/// hashing, so a test can make dozens), joined at `created_at`.
pub async fn insert_seller(db: &Db, name: &str, state: &str, created_at: i64) -> UserId {
    let id = UserId::generate();
    let email = format!("{name}-{}@example.com", random_token(6).to_lowercase());
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, created_at)
         VALUES ($1, $2, 'no-login', 'seller', $3)",
    )
    .bind(id.as_str())
    .bind(&email)
    .bind(created_at)
    .execute(db.writer())
    .await
    .expect("insert user");
    sqlx::query(
        "INSERT INTO sellers (user_id, display_name, account_state, created_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(id.as_str())
    .bind(name)
    .bind(state)
    .bind(created_at)
    .execute(db.writer())
    .await
    .expect("insert seller");
    id
}

/// Makes the seller's Stripe account take charges (as onboarding would) and
/// gives them `n` published products.
pub async fn open_shop(db: &Db, seller: &UserId, n: usize) -> Vec<ProductId> {
    sqlx::query(
        "UPDATE sellers SET stripe_account_id = $1, account_state = 'active',
                details_submitted = 1, charges_enabled = 1, payouts_enabled = 1,
                requirements = $2, account_read_at = $3
         WHERE user_id = $4",
    )
    .bind(format!("acct_{}", random_token(16)))
    .bind(r#"{"currently_due":[],"eventually_due":[],"past_due":[],"pending_verification":[]}"#)
    .bind(1_800_000_000_i64)
    .bind(seller.as_str())
    .execute(db.writer())
    .await
    .expect("open shop");
    let mut ids = Vec::new();
    for i in 0..n {
        let id = ProductId::generate();
        sqlx::query(
            "INSERT INTO products (id, seller_id, title, price_minor, currency, stock, published,
                                   created_at, updated_at)
             VALUES ($1, $2, $3, 1500, 'usd', 5, 1, $4, $4)",
        )
        .bind(id.as_str())
        .bind(seller.as_str())
        .bind(format!("Product {i}"))
        .bind(1_800_000_000_i64 + i as i64)
        .execute(db.writer())
        .await
        .expect("insert product");
        ids.push(id);
    }
    // Direct SQL, not the app's writers: the storefront's catalog cache must hear of it.
    marketplace::db::catalog::invalidate();
    ids
}

/// Ids of the seller's products that can be bought now, by THE rule.
pub async fn sellable_products(db: &Db, seller: &UserId) -> Vec<String> {
    let sql = format!(
        "SELECT p.id FROM products p JOIN sellers s ON s.user_id = p.seller_id
         WHERE p.seller_id = $1 AND {SELLABLE} ORDER BY p.id"
    );
    sqlx::query(&sql)
        .bind(seller.as_str())
        .fetch_all(db.writer())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("id").unwrap())
        .collect()
}

pub async fn audit_count(db: &Db) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM audit_log")
        .fetch_one(db.writer())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// (suspended_at, fee_bps, fee_fixed_minor) of a seller.
pub async fn seller_columns(db: &Db, seller: &UserId) -> (Option<i64>, Option<i64>, Option<i64>) {
    let row = sqlx::query(
        "SELECT suspended_at, fee_bps, fee_fixed_minor FROM sellers WHERE user_id = $1",
    )
    .bind(seller.as_str())
    .fetch_one(db.writer())
    .await
    .unwrap();
    (
        row.try_get("suspended_at").unwrap(),
        row.try_get("fee_bps").unwrap(),
        row.try_get("fee_fixed_minor").unwrap(),
    )
}

impl TestApp {
    /// Posts `fields` with the CSRF token taken from `page` (an admin page's form).
    pub async fn post_from_page(
        &self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let (_, html) = self.get_html(page).await;
        let token = super::csrf_from(&html).expect("page has a CSRF field");
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(action, &all).await
    }
}
