//! Checkout helpers: an active seller with products (driving the emulator's API and test
//! helpers directly), a buyer with a saved card, and reads from the emulator's API.

use marketplace::db::checkout as store;
use marketplace::domain::ids::random_token;
use marketplace::domain::{Email, Role};
use marketplace::stripe::payments::IdemKey;
use serde_json::Value;

use super::{TestApp, TestUser, client};

pub struct ActiveSeller {
    pub user_id: String,
    pub account: String,
    pub email: String,
}

impl TestApp {
    /// The embedded emulator's platform key.
    pub fn sim_key(&self) -> String {
        std::fs::read_to_string(self.test_db.data_dir.join("stripe-sim.key"))
            .expect("embedded emulator key")
            .trim()
            .to_string()
    }

    /// A raw call to the emulator as the platform (or as `account`).
    pub async fn sim(
        &self,
        method: reqwest::Method,
        path: &str,
        account: Option<&str>,
        form: &[(&str, &str)],
    ) -> Value {
        let mut url = format!("{}{}", self.stripe.api_base(), path.trim_start_matches('/'));
        if method == reqwest::Method::GET && !form.is_empty() {
            url.push('?');
            url.push_str(&serde_urlencoded::to_string(form).unwrap());
        }
        let mut req = reqwest::Client::new()
            .request(method.clone(), url)
            .bearer_auth(self.sim_key());
        if let Some(a) = account {
            req = req.header("Stripe-Account", a);
        }
        if method != reqwest::Method::GET {
            req = req.form(form);
        }
        let res = req.send().await.expect("emulator answers");
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    pub async fn user_id(&self, email: &str) -> String {
        marketplace::db::users::credentials_by_email(&self.db, &Email::parse(email).unwrap())
            .await
            .unwrap()
            .expect("user exists")
            .user
            .id
            .to_string()
    }

    /// An active seller through the sellers helpers (sign-up form, our onboarding routes, the
    /// emulator's hosted onboarding page), with its shop name set.
    pub async fn active_seller(&self, name: &str) -> ActiveSeller {
        let session = super::sellers::active_seller(self).await;
        let user_id = session.user_id.to_string();
        sqlx::query("UPDATE sellers SET display_name = $1 WHERE user_id = $2")
            .bind(name)
            .bind(&user_id)
            .execute(self.db.writer())
            .await
            .unwrap();
        marketplace::db::catalog::invalidate();
        ActiveSeller {
            user_id,
            account: session.account().to_string(),
            email: session.email.clone(),
        }
    }

    /// A published product of `seller`.
    pub async fn product(
        &self,
        seller: &ActiveSeller,
        title: &str,
        price_minor: i64,
        currency: &str,
        stock: i64,
    ) -> String {
        let id = format!("prd_{}", random_token(22));
        let now = marketplace::db::now_unix();
        sqlx::query(
            "INSERT INTO products (id, seller_id, title, description, price_minor, currency, stock, published, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
        )
        .bind(&id)
        .bind(&seller.user_id)
        .bind(title)
        .bind(format!("A fine {title}, made by hand."))
        .bind(price_minor)
        .bind(currency)
        .bind(stock)
        .bind(now)
        .execute(self.db.writer())
        .await
        .unwrap();
        marketplace::db::catalog::invalidate();
        id
    }

    pub async fn stock_of(&self, product: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT stock FROM products WHERE id = $1")
            .bind(product)
            .fetch_one(self.db.writer())
            .await
            .unwrap()
            .try_get("stock")
            .unwrap()
    }

    /// Saves a card for the logged-in buyer the way the hosted page's return does: a platform
    /// Customer, the card attached to it by Stripe, our row. `token` is a `pm_card_*` token.
    pub async fn save_test_card(&self, buyer: &TestUser, token: &str) -> String {
        assert_eq!(buyer.role, Role::Buyer);
        let buyer_id = self.user_id(&buyer.email).await;
        let customer = match store::platform_customer(&self.db, &buyer_id).await.unwrap() {
            Some(c) => c,
            None => {
                let c = self
                    .stripe
                    .create_platform_customer(
                        &buyer_id,
                        &buyer.email,
                        &IdemKey::new(&[&buyer_id, "platform-customer"]),
                    )
                    .await
                    .unwrap();
                store::save_platform_customer(&self.db, &buyer_id, &c, 0)
                    .await
                    .unwrap()
            }
        };
        let card = self
            .stripe
            .attach_card(
                &customer,
                token,
                &IdemKey::new(&[&buyer_id, token, &random_token(6)]),
            )
            .await
            .unwrap();
        store::save_card(
            &self.db,
            &buyer_id,
            &card.payment_method_id,
            &card.brand,
            &card.last4,
            card.exp_month,
            card.exp_year,
            0,
        )
        .await
        .unwrap()
    }

    pub async fn add_to_cart(&self, product: &str, quantity: i64) -> reqwest::Response {
        self.post_form(
            "/cart/add",
            &[("product_id", product), ("quantity", &quantity.to_string())],
        )
        .await
    }

    /// The checkout token of the cart page's form.
    pub async fn checkout_token(&self) -> String {
        let (_, html) = self.get_html("/cart").await;
        let at = html
            .find(r#"name="checkout_token" value=""#)
            .expect("checkout form");
        let rest = &html[at + r#"name="checkout_token" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    pub async fn checkout(&self, card: &str) -> reqwest::Response {
        let token = self.checkout_token().await;
        self.post_form(
            "/checkout",
            &[("card_id", card), ("checkout_token", &token)],
        )
        .await
    }

    /// A handle on the same app and database with its own cookie jar (another person).
    pub fn shallow(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            db: self.db.clone(),
            client: client(),
            settings: self.settings.clone(),
            stripe: self.stripe.clone(),
            test_db: self.test_db.handle(),
        }
    }

    pub async fn parts(&self, order_id: &str) -> Vec<(String, String, Option<String>, i64)> {
        use sqlx::Row;
        sqlx::query("SELECT id, status, stripe_payment_intent_id, fee_minor FROM order_parts WHERE order_id = $1 ORDER BY amount_minor")
            .bind(order_id)
            .fetch_all(self.db.writer())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("id"), r.get("status"), r.get("stripe_payment_intent_id"), r.get("fee_minor")))
            .collect()
    }
}

/// The order id in a `/orders/ord_…` location.
pub fn order_id_from(location: &str) -> String {
    location
        .trim_start_matches("/orders/")
        .split(['/', '?'])
        .next()
        .unwrap()
        .to_string()
}
