//! The seller's money page: balance per currency, payouts with failures explained, the way into
//! Stripe.

mod common;

use common::sellers::{active_seller, signup_seller, sim_helper};
use common::{location, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn a_failed_payout_is_explained_in_words() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    // Sales whose funds are available at once, in two currencies.
    for currency in ["usd", "eur"] {
        sim_helper(
            &app,
            "/v1/payment_intents",
            &[
                ("amount", "10000"),
                ("currency", currency),
                ("payment_method", "pm_card_bypassPending"),
                ("payment_method_types[]", "card"),
                ("confirm", "true"),
            ],
            Some(seller.account()),
        )
        .await;
    }
    sim_helper(
        &app,
        "/v1/test_helpers/payouts",
        &[
            ("amount", "4200"),
            ("currency", "usd"),
            ("status", "failed"),
            ("failure_code", "account_closed"),
        ],
        Some(seller.account()),
    )
    .await;
    sim_helper(
        &app,
        "/v1/test_helpers/payouts",
        &[("amount", "1500"), ("currency", "eur"), ("status", "paid")],
        Some(seller.account()),
    )
    .await;
    let (status, html) = seller.get_html("/seller/money").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("$42.00"), "{html}");
    assert!(html.contains("Failed"));
    assert!(html.contains("Your bank account has been closed. Add a new bank account in Stripe."));
    assert!(html.contains("€15.00"));
    assert!(html.contains("Paid"));
    // The balance: both currencies, net of the payouts and Stripe's fees.
    assert!(
        html.contains("<td>USD</td>") && html.contains("<td>EUR</td>"),
        "{html}"
    );
    assert!(html.contains("Open the Stripe Dashboard"));
}

#[tokio::test]
async fn the_balance_shows_each_currency_and_the_stripe_link_fits_the_account_type() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    let (_, html) = seller.get_html("/seller/money").await;
    assert!(html.contains("Balance"));
    assert!(!html.contains("could not read"), "{html}");
    // Standard accounts manage money in their own Stripe Dashboard.
    let res = seller.post_form("/seller/stripe", &[]).await;
    assert_eq!(location(&res), "https://dashboard.stripe.com/");
}

#[tokio::test]
async fn express_sellers_get_a_login_link() {
    let app = common::spawn_app_with(&[("SELLER_ACCOUNT_TYPE", "express")]).await;
    let seller = active_seller(&app).await;
    let (_, html) = seller.get_html("/seller/money").await;
    assert!(html.contains("Open your Stripe Express dashboard"));
    let res = seller.post_form("/seller/stripe", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let url = location(&res);
    assert!(url.contains("/hosted/express/"), "{url}");
    assert!(url.ends_with(seller.account()));
}

#[tokio::test]
async fn without_an_account_the_money_page_points_to_set_up() {
    let app = spawn_app().await;
    let seller = signup_seller(&app).await;
    let (status, html) = seller.get_html("/seller/money").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Connect a Stripe account to see your balance"));
    assert_eq!(
        location(&seller.post_form("/seller/stripe", &[]).await),
        "/seller"
    );
}
