//! Every seller route is the logged-in seller's own: another seller's product id answers 404,
//! buyers get 403, visitors are sent to log in.

mod common;

use common::sellers::{ProductForm, Upload, active_seller, create_product, multipart_body};
use common::{location, spawn_app};
use marketplace::db;
use marketplace::domain::Role;
use reqwest::StatusCode;

/// (method, path, multipart?) for every seller route; `{id}` is the owner's product.
const ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/seller", false),
    ("GET", "/seller/products", false),
    ("GET", "/seller/products/new", false),
    ("POST", "/seller/products/new", true),
    ("GET", "/seller/products/{id}", false),
    ("GET", "/seller/products/{id}/edit", false),
    ("POST", "/seller/products/{id}/edit", true),
    ("POST", "/seller/products/{id}/publish", false),
    ("POST", "/seller/products/{id}/unpublish", false),
    ("POST", "/seller/products/{id}/delete", false),
    ("GET", "/seller/money", false),
    ("POST", "/seller/stripe", false),
    ("POST", "/seller/payouts/setup", false),
    ("GET", "/seller/payouts/refresh", false),
    ("GET", "/seller/payouts/return", false),
    ("POST", "/seller/payouts/status", false),
    // `{id}` is a product id here, so these answer 404 to another seller like any unknown
    // dispute; tests/disputes.rs opens them with a real one.
    ("GET", "/seller/disputes", false),
    ("GET", "/seller/disputes/{id}", false),
    ("POST", "/seller/disputes/{id}/evidence", false),
    ("GET", "/seller/orders", false),
    ("GET", "/seller/orders/{id}", false),
    ("POST", "/seller/orders/{id}/ship", false),
    ("POST", "/seller/orders/{id}/capture", false),
    ("POST", "/seller/orders/{id}/cancel", false),
];

async fn send(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    multipart: bool,
    token: Option<&str>,
) -> reqwest::Response {
    let url = format!("{base}{path}");
    if method == "GET" {
        return client.get(url).send().await.unwrap();
    }
    let form = ProductForm::new("Hijack", "1", "usd");
    let mut fields: Vec<(String, String)> = form
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(t) = token {
        fields.push(("csrf_token".into(), t.to_string()));
    }
    if multipart {
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (ct, body) = multipart_body(&borrowed, Some(&Upload::png()));
        client
            .post(url)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap()
    } else {
        client.post(url).form(&fields).send().await.unwrap()
    }
}

#[tokio::test]
async fn another_sellers_product_is_not_found_on_every_route() {
    let app = spawn_app().await;
    let owner = active_seller(&app).await;
    let id = create_product(&owner, &ProductForm::new("Mine", "5", "usd")).await;
    let other = active_seller(&app).await;
    let token = other.csrf_token().await;
    for (method, path, multipart) in ROUTES.iter().filter(|r| r.1.contains("{id}")) {
        let path = path.replace("{id}", &id);
        let res = send(
            &other.client,
            &other.url(""),
            method,
            &path,
            *multipart,
            Some(&token),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    // Nothing changed for the owner.
    let owned = db::products::list_owned(&app.db, &owner.user_id)
        .await
        .unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].title, "Mine");
    assert!(!owned[0].published);
    assert!(
        db::products::list_owned(&app.db, &other.user_id)
            .await
            .unwrap()
            .is_empty()
    );
    // A malformed id is a 404 too.
    assert_eq!(
        other.get("/seller/products/prd_nope").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn buyers_get_403_and_visitors_are_sent_to_log_in_on_every_route() {
    let app = spawn_app().await;
    let owner = active_seller(&app).await;
    let id = create_product(&owner, &ProductForm::new("Mine", "5", "usd")).await;

    // Visitors: log in first (no CSRF token needed to learn that).
    let visitor = common::client();
    for (method, path, multipart) in ROUTES {
        let path = path.replace("{id}", &id);
        let res = send(&visitor, &app.address, method, &path, *multipart, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{method} {path}");
        assert_eq!(location(&res), "/login", "{method} {path}");
    }

    app.login_as(Role::Buyer).await;
    let token = app.csrf_token().await;
    for (method, path, multipart) in ROUTES {
        let path = path.replace("{id}", &id);
        let res = send(
            &app.client,
            &app.address,
            method,
            &path,
            *multipart,
            Some(&token),
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    let owned = db::products::list_owned(&app.db, &owner.user_id)
        .await
        .unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].title, "Mine");
}
