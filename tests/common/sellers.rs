//! Sellers for tests: sign up, connect Stripe through our routes and the emulator's hosted
//! onboarding page, come back active; create and publish products through the seller pages.
//!
//! Each [`SellerSession`] has its own cookie jar, so a test can hold several sellers and buyers
//! at once next to `app.client`.

use marketplace::db;
use marketplace::domain::{Email, UserId};
use reqwest::StatusCode;

use super::{PASSWORD, TestApp, client, csrf_from, location, unique_email};

/// A logged-in seller with their own browser-like client.
pub struct SellerSession {
    pub client: reqwest::Client,
    pub email: String,
    pub user_id: UserId,
    /// `acct_…` once connected (set by [`connect_stripe`] / [`active_seller`]).
    pub account_id: Option<String>,
    base: String,
}

impl SellerSession {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    pub async fn get_html(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.text().await.expect("body"))
    }

    /// The session's CSRF token, read from the seller dashboard's forms.
    pub async fn csrf_token(&self) -> String {
        let (_, html) = self.get_html("/seller").await;
        csrf_from(&html).expect("the dashboard has a CSRF field")
    }

    /// Posts a url-encoded form with the session's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("POST request")
    }

    /// Posts a multipart form (text fields plus an optional file) with the CSRF token.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<&Upload>,
    ) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        let (content_type, body) = multipart_body(&all, file);
        self.client
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("multipart POST")
    }

    pub fn account(&self) -> &str {
        self.account_id.as_deref().expect("seller is connected")
    }
}

/// A file field of a multipart form.
pub struct Upload {
    pub field: String,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Upload {
    pub fn image(file_name: &str, content_type: &str, bytes: Vec<u8>) -> Upload {
        Upload {
            field: "image".into(),
            file_name: file_name.into(),
            content_type: content_type.into(),
            bytes,
        }
    }

    /// A small valid PNG (1×1, red).
    pub fn png() -> Upload {
        Upload::image("photo.png", "image/png", tiny_png())
    }
}

/// A valid 1×1 PNG.
pub fn tiny_png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
        0x77, 0x53, 0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0xF8,
        0xCF, 0xC0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xDD, 0x8D, 0xB0, 0x00, 0x00, 0x00,
        0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}

/// A multipart/form-data body, built by hand so tests need no extra client features.
pub fn multipart_body(fields: &[(&str, &str)], file: Option<&Upload>) -> (String, Vec<u8>) {
    let boundary = format!(
        "----testboundary{}",
        marketplace::domain::ids::random_token(16)
    );
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(f) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                f.field, f.file_name, f.content_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(&f.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Signs a new seller up through the form, with a fresh client; logged in, not connected.
pub async fn signup_seller(app: &TestApp) -> SellerSession {
    let client = client();
    let email = unique_email("seller");
    let html = client
        .get(app.url("/signup"))
        .send()
        .await
        .expect("GET /signup")
        .text()
        .await
        .expect("body");
    let token = csrf_from(&html).expect("sign-up form has a CSRF field");
    let res = client
        .post(app.url("/signup"))
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("role", "seller"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("POST /signup");
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "seller sign-up redirects"
    );
    let user = db::users::credentials_by_email(&app.db, &Email::parse(&email).expect("email"))
        .await
        .expect("query")
        .expect("the seller exists")
        .user;
    SellerSession {
        client,
        email,
        user_id: user.id,
        account_id: None,
        base: app.address.clone(),
    }
}

/// "Set up payouts" on the dashboard: answers the redirect to the emulator's hosted onboarding
/// page (an Account Link URL).
pub async fn start_onboarding(seller: &SellerSession) -> String {
    let res = seller.post_form("/seller/payouts/setup", &[]).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "set up payouts redirects"
    );
    let link = location(&res);
    assert!(
        link.contains("/hosted/onboarding/"),
        "redirected to the hosted onboarding page, got {link}"
    );
    link
}

/// Fills in the hosted onboarding form at `link` like a person would; answers where Stripe sends
/// the browser afterwards (our return_url).
pub async fn submit_hosted_onboarding(seller: &SellerSession, link: &str) -> String {
    let page = seller.get(link).await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "hosted onboarding page opens"
    );
    let html = page.text().await.expect("body");
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the hosted page has a form")
        .to_string();
    let origin = link
        .find("/hosted/")
        .map(|i| &link[..i])
        .expect("link origin");
    let res = seller
        .client
        .post(format!("{origin}{action}"))
        .form(&[
            ("name", "Jenny Rosen"),
            ("url", "https://example.com"),
            ("tos", "on"),
        ])
        .send()
        .await
        .expect("submit hosted onboarding");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "hosted form redirects");
    location(&res)
}

/// Connects the seller's Stripe account through our routes and the hosted page, comes back
/// through return_url, and checks the dashboard says "Active". Sets `account_id`.
pub async fn connect_stripe(app: &TestApp, seller: &mut SellerSession) {
    let link = start_onboarding(seller).await;
    let back = submit_hosted_onboarding(seller, &link).await;
    assert!(
        back.ends_with("/seller/payouts/return"),
        "back to our return_url, got {back}"
    );
    let res = seller.get(&back).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/seller");
    let (_, html) = seller.get_html("/seller").await;
    assert!(
        html.contains(r#"id="account-state">Active<"#),
        "the dashboard says active"
    );
    let profile = db::sellers::find(&app.db, &seller.user_id)
        .await
        .expect("query")
        .expect("seller profile");
    assert!(profile.charges_enabled);
    seller.account_id = profile.stripe_account_id;
}

/// A new seller, signed up, connected and active: what checkout and storefront tests start from.
pub async fn active_seller(app: &TestApp) -> SellerSession {
    let mut seller = signup_seller(app).await;
    connect_stripe(app, &mut seller).await;
    seller
}

/// Calls an emulator test helper (`/v1/test_helpers/…`) with the platform's key.
pub async fn sim_helper(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    stripe_account: Option<&str>,
) -> serde_json::Value {
    let key = std::fs::read_to_string(app.test_db.data_dir.join("stripe-sim.key"))
        .expect("embedded emulator key");
    let mut req = reqwest::Client::new()
        .post(format!(
            "{}{}",
            app.stripe.api_base(),
            path.trim_start_matches('/')
        ))
        .bearer_auth(key.trim())
        .form(fields);
    if let Some(acct) = stripe_account {
        req = req.header("Stripe-Account", acct);
    }
    let res = req.send().await.expect("emulator helper");
    let status = res.status();
    let body: serde_json::Value = res.json().await.expect("JSON");
    assert!(status.is_success(), "{path} answered {status}: {body}");
    body
}
