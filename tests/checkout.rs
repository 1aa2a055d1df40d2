//! Storefront, cart and checkout against the embedded emulator: one direct charge per seller
//! on the seller's connected account, with the platform's fee; every outcome.

mod common;

use common::checkout::order_id_from;
use common::{location, spawn_app, spawn_app_with};
use marketplace::domain::Role;
use reqwest::Method;
use serde_json::Value;

/// Places an order and returns its id (following the redirect to the order page).
async fn pay(app: &common::TestApp, card: &str) -> String {
    let res = app.checkout(card).await;
    assert_eq!(res.status(), 303, "checkout redirects");
    let to = location(&res);
    assert!(to.starts_with("/orders/ord_"), "went to {to}");
    order_id_from(&to)
}

async fn intent(app: &common::TestApp, account: &str, pi: &str) -> Value {
    app.sim(
        Method::GET,
        &format!("/v1/payment_intents/{pi}"),
        Some(account),
        &[],
    )
    .await
}

async fn fees_of(app: &common::TestApp, charge: &str) -> Vec<Value> {
    app.sim(
        Method::GET,
        "/v1/application_fees",
        None,
        &[("charge", charge)],
    )
    .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn storefront_lists_searches_and_pages_sellable_products_only() {
    let app = spawn_app().await;
    let seller = app.active_seller("Pottery Barn Owl").await;
    let mug = app
        .product(&seller, "Blue ceramic mug", 1850, "usd", 3)
        .await;
    let _bowl = app.product(&seller, "Salad bowl", 4200, "eur", 1).await;
    let teapot = app.product(&seller, "Tea pot", 500, "jpy", 2).await;
    sqlx::query("UPDATE products SET published = 0 WHERE id = $1")
        .bind(&teapot)
        .execute(app.db.writer())
        .await
        .unwrap();
    marketplace::db::catalog::invalidate();

    let (status, home) = app.get_html("/").await;
    assert_eq!(status, 200);
    assert!(home.contains("Blue ceramic mug") && home.contains("$18.50"));
    assert!(home.contains("€42.00"));
    assert!(
        !home.contains("Tea pot"),
        "unpublished products are not listed"
    );

    let (_, found) = app.get_html("/search?q=CERAMIC+mug").await;
    assert!(found.contains("Blue ceramic mug") && !found.contains("Salad bowl"));
    let (_, none) = app.get_html("/search?q=%25").await;
    assert!(
        !none.contains("Blue ceramic mug"),
        "% is a character, not a wildcard"
    );

    let (status, page) = app.get_html(&format!("/products/{mug}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("3 in stock") && page.contains("Pottery Barn Owl"));
    assert_eq!(app.get(&format!("/products/{teapot}")).await.status(), 404);

    // JPY has no decimals.
    sqlx::query("UPDATE products SET published = 1 WHERE id = $1")
        .bind(&teapot)
        .execute(app.db.writer())
        .await
        .unwrap();
    marketplace::db::catalog::invalidate();
    let (_, shop) = app.get_html(&format!("/shops/{}", seller.user_id)).await;
    assert!(shop.contains("¥500") && !shop.contains("¥5.00"));

    // Keyset pages: 30 more products → two pages, no product twice.
    for i in 0..30 {
        app.product(&seller, &format!("Plate number {i}"), 100 + i, "usd", 1)
            .await;
    }
    let (_, first) = app.get_html("/search?q=plate").await;
    let next = first
        .split("href=\"/search?")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a next-page link")
        .replace("&amp;", "&");
    let (_, second) = app.get_html(&format!("/search?{next}")).await;
    let count = |html: &str| html.matches("Plate number").count();
    assert_eq!(count(&first), 24);
    assert_eq!(count(&second), 6);
    for i in 0..30 {
        let name = format!("Plate number {i}<");
        assert_eq!(
            first.contains(&name) as u8 + second.contains(&name) as u8,
            1,
            "{name}"
        );
    }

    // A suspended seller's products vanish at once.
    sqlx::query("UPDATE sellers SET suspended_at = 1 WHERE user_id = $1")
        .bind(&seller.user_id)
        .execute(app.db.writer())
        .await
        .unwrap();
    marketplace::db::catalog::invalidate();
    let (_, home) = app.get_html("/").await;
    assert!(!home.contains("Blue ceramic mug"));
}

#[tokio::test]
async fn one_seller_direct_charge_on_the_connected_account_with_the_platform_fee() {
    let app = spawn_app().await;
    let seller = app.active_seller("Owl Ceramics").await;
    let mug = app.product(&seller, "Mug", 2000, "usd", 5).await;
    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, "pm_card_visa").await;
    assert_eq!(app.add_to_cart(&mug, 2).await.status(), 303);
    let order = pay(&app, &card).await;

    let parts = app.parts(&order).await;
    assert_eq!(parts.len(), 1);
    let (_, status, pi, fee) = &parts[0];
    assert_eq!(status, "paid");
    // 5% of $40.00 + 30¢
    assert_eq!(*fee, 230);
    let pi = pi.clone().unwrap();
    let intent = intent(&app, &seller.account, &pi).await;
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount"], 4000);
    assert_eq!(intent["application_fee_amount"], 230);
    assert_eq!(intent["metadata"]["order_id"], order.as_str());
    // Not on the platform: a direct charge lives on the seller's account.
    let res = reqwest::Client::new()
        .get(format!("{}v1/payment_intents/{pi}", app.stripe.api_base()))
        .bearer_auth(app.sim_key())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let charge = intent["latest_charge"].as_str().unwrap();
    let fees = fees_of(&app, charge).await;
    assert_eq!(fees.len(), 1);
    assert_eq!(fees[0]["amount"], 230);
    assert_eq!(fees[0]["account"], seller.account.as_str());

    assert_eq!(app.stock_of(&mug).await, 3);
    let (status, page) = app.get_html(&format!("/orders/{order}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Paid") && page.contains("$40.00"));
    let (_, cart) = app.get_html("/cart").await;
    assert!(
        cart.contains("Your cart is empty"),
        "paid items leave the cart"
    );
    let (_, history) = app.get_html("/orders").await;
    assert!(history.contains(&order));

    use sqlx::Row;
    let receipts: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'send_email' AND dedupe_key LIKE 'mail:%:order_receipt:%'",
    )
    .fetch_one(app.db.writer())
    .await
    .unwrap()
    .get("n");
    assert_eq!(receipts, 1, "a receipt is queued");
    let notices: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'send_email' AND dedupe_key LIKE 'mail:%:new_order:%'",
    )
    .fetch_one(app.db.writer())
    .await
    .unwrap()
    .get("n");
    assert_eq!(notices, 1, "the seller's new-order mail is queued");
}

#[tokio::test]
async fn a_two_seller_cart_makes_two_charges_and_two_fees_and_reuses_customer_and_clone() {
    let app = spawn_app().await;
    let a = app.active_seller("Alpha").await;
    let b = app.active_seller("Beta").await;
    let pa = app.product(&a, "Apple", 1000, "usd", 10).await;
    let pb = app.product(&b, "Banana", 3000, "usd", 10).await;
    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, "pm_card_visa").await;
    app.add_to_cart(&pa, 1).await;
    app.add_to_cart(&pb, 1).await;
    let (_, cart) = app.get_html("/cart").await;
    assert!(cart.contains("From <a") && cart.contains("Alpha") && cart.contains("Beta"));
    let order = pay(&app, &card).await;
    let parts = app.parts(&order).await;
    assert_eq!(parts.len(), 2);
    let mut customers = Vec::new();
    for ((_, status, pi, fee), (acct, expected_fee)) in
        parts.iter().zip([(&a.account, 80), (&b.account, 180)])
    {
        assert_eq!(status, "paid");
        assert_eq!(*fee, expected_fee);
        let intent = intent(&app, acct, pi.as_ref().unwrap()).await;
        let fees = fees_of(&app, intent["latest_charge"].as_str().unwrap()).await;
        assert_eq!(fees[0]["amount"], expected_fee);
        customers.push((intent["customer"].clone(), intent["payment_method"].clone()));
    }

    // The next order from seller A reuses the connected customer and the cloned card.
    app.add_to_cart(&pa, 2).await;
    let again = pay(&app, &card).await;
    let parts = app.parts(&again).await;
    let intent = intent(&app, &a.account, parts[0].2.as_ref().unwrap()).await;
    assert_eq!(intent["customer"], customers[0].0);
    assert_eq!(intent["payment_method"], customers[0].1);
    let listed = app
        .sim(
            Method::GET,
            "/v1/customers",
            Some(&a.account),
            &[("limit", "100")],
        )
        .await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "one customer per buyer and seller"
    );
}

#[tokio::test]
async fn each_decline_fails_only_its_part_with_the_reason_in_words_and_can_be_retried() {
    let app = spawn_app().await;
    let seller = app.active_seller("Decliner").await;
    let ok = app.active_seller("Fine shop").await;
    let item = app.product(&seller, "Lamp", 5000, "usd", 10).await;
    let other = app.product(&ok, "Shade", 1500, "usd", 10).await;
    let buyer = app.login_as(Role::Buyer).await;
    for (token, words) in [
        ("pm_card_chargeDeclined", "Your card was declined."),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "Your card has insufficient funds.",
        ),
        (
            "pm_card_chargeDeclinedExpiredCard",
            "Your card has expired.",
        ),
        (
            "pm_card_chargeDeclinedIncorrectCvc",
            "security code (CVC) is incorrect.",
        ),
    ] {
        let card = app.save_test_card(&buyer, token).await;
        app.add_to_cart(&item, 1).await;
        let order = pay(&app, &card).await;
        let parts = app.parts(&order).await;
        assert_eq!(parts[0].1, "failed", "{token}");
        assert_eq!(
            app.stock_of(&item).await,
            10,
            "stock released after {token}"
        );
        let (_, page) = app.get_html(&format!("/orders/{order}")).await;
        assert!(page.contains("Payment failed"), "{token}");
        assert!(page.contains(words), "{token}: {words}");
        let (_, cart) = app.get_html("/cart").await;
        assert!(cart.contains("Lamp"), "the cart keeps declined items");
        app.post_form("/cart/remove", &[("product_id", &item)])
            .await;
    }

    // Retry just that part with another card.
    let bad = app.save_test_card(&buyer, "pm_card_chargeDeclined").await;
    app.add_to_cart(&item, 1).await;
    let order = pay(&app, &bad).await;
    let lamp = app.parts(&order).await[0].clone();
    assert_eq!(lamp.1, "failed");
    let good = app.save_test_card(&buyer, "pm_card_mastercard").await;
    let res = app
        .post_form(
            &format!("/orders/{order}/parts/{}/retry", lamp.0),
            &[("card_id", &good)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.parts(&order).await[0].1, "paid");
    assert_eq!(app.stock_of(&item).await, 9);

    // Two sellers, one whose account can no longer charge: the other is paid regardless.
    // Deliveries are held back so our copy of the account stays "active", as when the
    // account.updated webhook is late; otherwise the app would stop selling the lamp first.
    common::webhooks::set_deliveries(&app, false).await;
    app.sim(
        Method::POST,
        &format!("/v1/test_helpers/accounts/{}/disable", seller.account),
        None,
        &[("reason", "rejected.fraud")],
    )
    .await;
    app.add_to_cart(&item, 1).await;
    app.add_to_cart(&other, 1).await;
    let order = pay(&app, &good).await;
    let parts = app.parts(&order).await;
    let (shade, lamp) = (&parts[0], &parts[1]);
    assert_eq!(shade.1, "paid");
    assert_eq!(lamp.1, "failed");
    let (_, page) = app.get_html(&format!("/orders/{order}")).await;
    assert!(page.contains("Paid") && page.contains("Payment failed"));
    let pis = app
        .sim(
            Method::GET,
            "/v1/payment_intents",
            Some(&ok.account),
            &[("limit", "100")],
        )
        .await;
    assert_eq!(pis["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.stock_of(&item).await,
        9,
        "the failed part's stock is back"
    );
}

async fn three_d_secure(approve: bool) {
    let app = spawn_app().await;
    let seller = app.active_seller("Secure shop").await;
    let item = app.product(&seller, "Vase", 2500, "usd", 2).await;
    let buyer = app.login_as(Role::Buyer).await;
    let card = app
        .save_test_card(&buyer, "pm_card_authenticationRequired")
        .await;
    app.add_to_cart(&item, 1).await;
    let res = app.checkout(&card).await;
    assert_eq!(res.status(), 303);
    let challenge = location(&res);
    assert!(
        challenge.contains("/hosted/3ds/"),
        "sent to the bank's page: {challenge}"
    );
    let browser = common::client();
    let page = browser.get(&challenge).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let res = browser
        .post(&challenge)
        .form(&[("result", if approve { "approve" } else { "fail" })])
        .send()
        .await
        .unwrap();
    let back = location(&res);
    let path = back
        .split_once("/checkout/return/")
        .map(|(_, rest)| format!("/checkout/return/{rest}"))
        .expect("back to our return route");
    let res = app.get(&path).await;
    assert_eq!(res.status(), 303);
    let order = order_id_from(&location(&res));
    let parts = app.parts(&order).await;
    let (_, page) = app.get_html(&format!("/orders/{order}")).await;
    if approve {
        assert_eq!(parts[0].1, "paid");
        assert_eq!(app.stock_of(&item).await, 1);
    } else {
        assert_eq!(parts[0].1, "failed");
        assert!(page.contains("3-D Secure"), "{page}");
        assert_eq!(app.stock_of(&item).await, 2);
    }
}

#[tokio::test]
async fn three_d_secure_approved_pays() {
    three_d_secure(true).await;
}

#[tokio::test]
async fn three_d_secure_failed_fails_the_part() {
    three_d_secure(false).await;
}

#[tokio::test]
async fn the_checkout_form_submitted_twice_charges_once() {
    let app = spawn_app().await;
    let seller = app.active_seller("Twice").await;
    let item = app.product(&seller, "Clock", 9900, "usd", 5).await;
    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, "pm_card_visa").await;
    app.add_to_cart(&item, 1).await;
    let token = app.checkout_token().await;
    let form = [
        ("card_id", card.as_str()),
        ("checkout_token", token.as_str()),
    ];
    let (a, b) = tokio::join!(
        app.post_form("/checkout", &form),
        app.post_form("/checkout", &form)
    );
    assert_eq!(a.status(), 303);
    assert_eq!(b.status(), 303);
    assert_eq!(order_id_from(&location(&a)), order_id_from(&location(&b)));
    let again = app.post_form("/checkout", &form).await;
    assert_eq!(
        order_id_from(&location(&again)),
        order_id_from(&location(&a))
    );
    let pis = app
        .sim(
            Method::GET,
            "/v1/payment_intents",
            Some(&seller.account),
            &[("limit", "100")],
        )
        .await;
    assert_eq!(pis["data"].as_array().unwrap().len(), 1, "one charge");
    assert_eq!(app.stock_of(&item).await, 4);
}

#[tokio::test]
async fn a_dropped_response_after_charging_is_retried_with_the_same_key_and_charges_once() {
    let app = spawn_app().await;
    let seller = app.active_seller("Flaky").await;
    let item = app.product(&seller, "Rug", 12000, "usd", 5).await;
    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, "pm_card_visa").await;
    app.add_to_cart(&item, 1).await;
    // The confirm (which charges) is applied, then its connection dropped; the create of the
    // intent too, and a 500 on top.
    for (path, kind) in [
        ("/v1/payment_intents/*", "drop_response"),
        ("/v1/payment_intents", "drop_response"),
        ("/v1/payment_methods", "server_error"),
    ] {
        app.sim(
            Method::POST,
            "/v1/test_helpers/faults",
            None,
            &[
                ("path", path),
                ("method", "POST"),
                ("kind", kind),
                ("count", "1"),
            ],
        )
        .await;
    }
    let order = pay(&app, &card).await;
    let parts = app.parts(&order).await;
    assert_eq!(parts[0].1, "paid");
    let pis = app
        .sim(
            Method::GET,
            "/v1/payment_intents",
            Some(&seller.account),
            &[("limit", "100")],
        )
        .await;
    let all = pis["data"].as_array().unwrap();
    assert_eq!(all.len(), 1, "one intent");
    let charges = app
        .sim(
            Method::GET,
            "/v1/charges",
            Some(&seller.account),
            &[("limit", "100")],
        )
        .await;
    assert_eq!(charges["data"].as_array().unwrap().len(), 1, "one charge");
}

#[tokio::test]
async fn two_buyers_race_for_the_last_item_one_order_and_one_sold_out() {
    let app = spawn_app().await;
    let seller = app.active_seller("Last one").await;
    let item = app
        .product(&seller, "Unique painting", 50000, "usd", 1)
        .await;
    let first = app.shallow();
    let second = app.shallow();
    let b1 = first.login_as(Role::Buyer).await;
    let b2 = second.login_as(Role::Buyer).await;
    let c1 = first.save_test_card(&b1, "pm_card_visa").await;
    let c2 = second.save_test_card(&b2, "pm_card_visa").await;
    first.add_to_cart(&item, 1).await;
    second.add_to_cart(&item, 1).await;
    // Both forms are read before either is sent: once one buyer has paid, the other's cart
    // page no longer offers checkout, and the race is between the two submits.
    let (t1, t2) = (first.checkout_token().await, second.checkout_token().await);
    let f1 = [("card_id", c1.as_str()), ("checkout_token", t1.as_str())];
    let f2 = [("card_id", c2.as_str()), ("checkout_token", t2.as_str())];
    let (r1, r2) = tokio::join!(
        first.post_form("/checkout", &f1),
        second.post_form("/checkout", &f2)
    );
    let statuses = [r1.status().as_u16(), r2.status().as_u16()];
    assert!(
        statuses.contains(&303) && statuses.contains(&422),
        "{statuses:?}"
    );
    let loser = if r1.status() == 422 { r1 } else { r2 };
    let html = loser.text().await.unwrap();
    assert!(html.contains("Sold out"), "a clear sold-out message");
    assert_eq!(app.stock_of(&item).await, 0);
    let pis = app
        .sim(
            Method::GET,
            "/v1/payment_intents",
            Some(&seller.account),
            &[("limit", "100")],
        )
        .await;
    assert_eq!(pis["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tampered_forms_are_refused_and_nothing_is_charged() {
    let app = spawn_app().await;
    let seller = app.active_seller("Careful").await;
    let item = app.product(&seller, "Kettle", 3000, "usd", 5).await;
    let other = app.shallow();
    let victim = other.login_as(Role::Buyer).await;
    let victim_card = other.save_test_card(&victim, "pm_card_visa").await;
    other.add_to_cart(&item, 1).await;
    let victim_order = pay(&other, &victim_card).await;
    let victim_part = other.parts(&victim_order).await[0].0.clone();

    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, "pm_card_visa").await;
    // Quantity zero, negative, absurd.
    for q in ["0", "-1", "1001", "two"] {
        let res = app
            .post_form("/cart/add", &[("product_id", &item), ("quantity", q)])
            .await;
        assert_eq!(res.status(), 422, "quantity {q}");
        assert!(res.text().await.unwrap().contains("whole number"));
    }
    // More than the stock.
    let res = app.add_to_cart(&item, 5).await;
    assert_eq!(res.status(), 422);
    app.add_to_cart(&item, 1).await;
    // Another buyer's card.
    let token = app.checkout_token().await;
    let res = app
        .post_form(
            "/checkout",
            &[("card_id", &victim_card), ("checkout_token", &token)],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Choose one of your saved cards")
    );
    // A price and a seller id in the form change nothing: the amount comes from our database.
    let res = app
        .post_form(
            "/checkout",
            &[
                ("card_id", &card),
                ("checkout_token", &token),
                ("price", "1"),
                ("amount_minor", "1"),
                ("seller_id", "usr_evil"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let order = order_id_from(&location(&res));
    let parts = app.parts(&order).await;
    let intent = intent(&app, &seller.account, parts[0].2.as_ref().unwrap()).await;
    assert_eq!(intent["amount"], 3000);
    // Another buyer's order and part.
    assert_eq!(
        app.get(&format!("/orders/{victim_order}")).await.status(),
        404
    );
    let res = app
        .post_form(
            &format!("/orders/{victim_order}/parts/{victim_part}/retry"),
            &[("card_id", &card)],
        )
        .await;
    assert_eq!(res.status(), 404);
    let pis = app
        .sim(
            Method::GET,
            "/v1/payment_intents",
            Some(&seller.account),
            &[("limit", "100")],
        )
        .await;
    assert_eq!(
        pis["data"].as_array().unwrap().len(),
        2,
        "the victim's and ours, nothing else"
    );
}

#[tokio::test]
async fn a_visitors_cart_is_kept_through_log_in() {
    let app = spawn_app().await;
    let seller = app.active_seller("Visitor shop").await;
    let item = app.product(&seller, "Spoon", 300, "usd", 5).await;
    let buyer = app.shallow().login_as(Role::Buyer).await;
    assert_eq!(app.add_to_cart(&item, 2).await.status(), 303);
    let (_, cart) = app.get_html("/cart").await;
    assert!(cart.contains("Spoon") && cart.contains("Log in to pay"));
    app.login(&buyer.email, &buyer.password).await;
    let (_, cart) = app.get_html("/cart").await;
    assert!(
        cart.contains("Spoon") && cart.contains(r#"value="2""#),
        "{cart}"
    );
}

#[tokio::test]
async fn manual_capture_authorizes_then_captures_in_part() {
    let app = spawn_app_with(&[("CAPTURE_METHOD", "manual")]).await;
    let seller = app.active_seller("Later").await;
    let item = app.product(&seller, "Chair", 10000, "usd", 2).await;
    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, "pm_card_visa").await;
    app.add_to_cart(&item, 1).await;
    let order = pay(&app, &card).await;
    let parts = app.parts(&order).await;
    assert_eq!(parts[0].1, "authorized");
    let pi = intent(&app, &seller.account, parts[0].2.as_ref().unwrap()).await;
    assert_eq!(pi["status"], "requires_capture");
}

#[tokio::test]
async fn a_card_saved_on_the_hosted_page_is_listed_used_and_removed() {
    let app = spawn_app().await;
    let seller = app.active_seller("Hosted").await;
    let item = app.product(&seller, "Teacup", 1200, "usd", 3).await;
    app.login_as(Role::Buyer).await;
    let (_, cards) = app.get_html("/cards").await;
    assert!(cards.contains("no saved card"));
    let add_token = {
        let at = cards.find(r#"name="add_token" value=""#).unwrap()
            + r#"name="add_token" value=""#.len();
        cards[at..at + 22].to_string()
    };
    let res = app
        .post_form("/cards/add", &[("add_token", &add_token)])
        .await;
    assert_eq!(res.status(), 303);
    let hosted = location(&res);
    assert!(hosted.contains("/hosted/checkout/cs_"), "{hosted}");
    // A double click opens the same Stripe page.
    let again = app
        .post_form("/cards/add", &[("add_token", &add_token)])
        .await;
    assert_eq!(location(&again), hosted);

    let browser = common::client();
    let page = browser.get(&hosted).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let bad = browser
        .post(&hosted)
        .form(&[
            ("number", "4242 4242 4242 4241"),
            ("expiry", "12 / 34"),
            ("cvc", "123"),
            ("name", "Jo"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad.status(),
        422,
        "a bad number is refused on Stripe's page"
    );
    let done = browser
        .post(&hosted)
        .form(&[
            ("number", "4242 4242 4242 4242"),
            ("expiry", "12 / 34"),
            ("cvc", "123"),
            ("name", "Jo"),
        ])
        .send()
        .await
        .unwrap();
    let back = location(&done);
    let path = back
        .split_once("/cards/return")
        .map(|(_, rest)| format!("/cards/return{rest}"))
        .expect("back to our return route");
    // Another buyer cannot claim this session's card.
    let other = app.shallow();
    other.login_as(Role::Buyer).await;
    assert_eq!(other.get(&path).await.status(), 404);

    let res = app.get(&path).await;
    assert_eq!(res.status(), 303);
    let (_, cards) = app.get_html("/cards").await;
    assert!(cards.contains("visa ending in 4242"), "{cards}");
    assert!(cards.contains("12/2034"));

    app.add_to_cart(&item, 1).await;
    let (_, cart) = app.get_html("/cart").await;
    let at = cart.find(r#"name="card_id" value=""#).unwrap() + r#"name="card_id" value=""#.len();
    let card_id = cart[at..].split('"').next().unwrap().to_string();
    let order = pay(&app, &card_id).await;
    assert_eq!(app.parts(&order).await[0].1, "paid");

    let res = app
        .post_form(&format!("/cards/{card_id}/remove"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let (_, cards) = app.get_html("/cards").await;
    assert!(!cards.contains("ending in 4242"));
    let res = other
        .post_form(&format!("/cards/{card_id}/remove"), &[])
        .await;
    assert_eq!(res.status(), 404, "nobody removes another buyer's card");
}
