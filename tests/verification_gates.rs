//! An unconfirmed email address may browse but not move money or open a shop: buyers cannot
//! pay, sellers cannot publish. Both answer the explanatory 403 page and change nothing.

mod common;

use common::spawn_app;
use marketplace::domain::Role;
use reqwest::StatusCode;

const EXPLAINS: &str = "Please confirm your email address first";

#[tokio::test]
async fn an_unverified_buyer_cannot_pay() {
    let app = spawn_app().await;
    app.login_as_unverified(Role::Buyer).await;
    let res = app
        .post_form(
            "/checkout",
            &[("card_id", "card_x"), ("checkout_token", "ct_x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains(EXPLAINS));

    let res = app
        .post_form("/orders/ord_x/parts/opt_x/retry", &[("card_id", "card_x")])
        .await;
    assert!(
        matches!(res.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "retry answered {}",
        res.status()
    );
}

#[tokio::test]
async fn an_unverified_seller_cannot_publish_and_a_verified_one_gets_past_the_gate() {
    let app = spawn_app().await;
    let seller = app.login_as_unverified(Role::Seller).await;
    let res = app
        .post_form("/seller/products/prd_doesnotexist/publish", &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains(EXPLAINS));

    // Once confirmed, the same request reaches the ownership check (no such product → 404).
    app.mark_verified(&seller.email).await;
    let res = app
        .post_form("/seller/products/prd_doesnotexist/publish", &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
