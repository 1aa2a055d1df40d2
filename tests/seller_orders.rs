//! The seller's side of orders: their list (own parts only, filters, keyset pages), the order
//! page with its payment timeline, "mark shipped", capture (in full or in part, with the fee
//! for the captured share) and cancel of authorizations, the expiry sweep, and the 30-day
//! sales chart. Checked against the embedded emulator's objects.

mod common;

use std::sync::Arc;

use common::checkout::{ActiveSeller, order_id_from};
use common::sellers::{SellerSession, active_seller, signup_seller};
use common::{TestApp, location, spawn_app, spawn_app_with};
use marketplace::domain::{PlatformFee, Role};
use reqwest::Method;
use serde_json::Value;
use sqlx::Row;

/// An active seller whose session we keep (to look at their pages) and its checkout handle.
async fn seller(app: &TestApp) -> (SellerSession, ActiveSeller) {
    let session = active_seller(app).await;
    let handle = ActiveSeller {
        user_id: session.user_id.to_string(),
        account: session.account().to_string(),
        email: session.email.clone(),
    };
    (session, handle)
}

/// A new buyer (own cookie jar) with a saved card of `token`.
async fn buyer(app: &TestApp, token: &str) -> (TestApp, String, String) {
    let shopper = app.shallow();
    let user = shopper.login_as(Role::Buyer).await;
    let card = shopper.save_test_card(&user, token).await;
    (shopper, user.email, card)
}

/// Buys `quantity` of `product` and returns the (only) part's id.
async fn buy(shopper: &TestApp, card: &str, product: &str, quantity: i64) -> String {
    assert_eq!(shopper.add_to_cart(product, quantity).await.status(), 303);
    let res = shopper.checkout(card).await;
    assert_eq!(res.status(), 303, "checkout redirects");
    let order = order_id_from(&location(&res));
    let parts = shopper.parts(&order).await;
    assert_eq!(parts.len(), 1);
    parts[0].0.clone()
}

struct PartRow {
    status: String,
    captured: i64,
    fee: i64,
    pi: String,
    shipped_at: Option<i64>,
}

async fn part_row(app: &TestApp, part: &str) -> PartRow {
    let r = sqlx::query(
        "SELECT status, captured_minor, fee_minor, stripe_payment_intent_id, shipped_at
         FROM order_parts WHERE id = $1",
    )
    .bind(part)
    .fetch_one(app.db.writer())
    .await
    .unwrap();
    PartRow {
        status: r.get("status"),
        captured: r.get("captured_minor"),
        fee: r.get("fee_minor"),
        pi: r.get("stripe_payment_intent_id"),
        shipped_at: r.get("shipped_at"),
    }
}

async fn intent(app: &TestApp, account: &str, pi: &str) -> Value {
    app.sim(
        Method::GET,
        &format!("/v1/payment_intents/{pi}"),
        Some(account),
        &[],
    )
    .await
}

async fn fees_of(app: &TestApp, charge: &str) -> Vec<Value> {
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

/// Email jobs queued for `to` whose dedupe key starts with `prefix`.
async fn mails(app: &TestApp, prefix: &str, to: &str) -> usize {
    let rows =
        sqlx::query("SELECT payload FROM jobs WHERE kind = 'send_email' AND dedupe_key LIKE $1")
            .bind(format!("{prefix}%"))
            .fetch_all(app.db.writer())
            .await
            .unwrap();
    rows.iter()
        .filter(|r| r.get::<String, _>("payload").contains(to))
        .count()
}

fn today() -> String {
    marketplace::domain::time::ymd(marketplace::db::now_unix())
}

#[tokio::test]
async fn the_seller_sees_their_own_order_with_the_fee_and_another_seller_gets_404() {
    let app = spawn_app().await;
    let (owner, handle) = seller(&app).await;
    let mug = app.product(&handle, "Blue mug", 2000, "usd", 5).await;
    let (shopper, email, card) = buyer(&app, "pm_card_visa").await;
    let part = buy(&shopper, &card, &mug, 2).await;
    assert_eq!(part_row(&app, &part).await.status, "paid");

    let (status, list) = owner.get_html("/seller/orders").await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("/seller/orders/{part}")), "{list}");
    assert!(list.contains(&email));
    // $40.00, 5% + 30¢ = $2.30, net $37.70
    for shown in ["$40.00", "$2.30", "$37.70", ">Paid<"] {
        assert!(list.contains(shown), "list shows {shown}");
    }
    // The chart: an SVG with today's bar and the 30-day totals.
    assert!(list.contains("<svg"), "a server-drawn chart");
    assert!(list.contains(&format!("<title>{}: Sales $40.00</title>", today())));
    assert!(list.contains(&format!("<title>{}: Fees $2.30</title>", today())));
    assert!(list.contains("Sales <strong>$40.00</strong>"));
    assert!(list.contains("Platform fees <strong>$2.30</strong>"));
    assert!(list.contains("Net <strong>$37.70</strong>"));

    let (status, page) = owner.get_html(&format!("/seller/orders/{part}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Blue mug") && page.contains(&email));
    assert!(page.contains(r#"<dd id="fee">$2.30</dd>"#), "{page}");
    assert!(page.contains(r#"<dd id="net">$37.70</dd>"#));
    assert!(page.contains(r#"<dd id="captured">$40.00</dd>"#));
    assert!(page.contains("Payment timeline") && page.contains("Order placed, stock reserved"));
    assert!(page.contains("Mark shipped"));
    assert!(!page.contains("/capture\""), "nothing to capture once paid");

    // The dashboard links to the orders.
    let (_, dashboard) = owner.get_html("/seller").await;
    assert!(dashboard.contains(r#"href="/seller/orders""#));

    // Another seller: not in their list, 404 on the page and on every action.
    let stranger = signup_seller(&app).await;
    let (_, theirs) = stranger.get_html("/seller/orders").await;
    assert!(!theirs.contains(&part) && !theirs.contains(&email));
    assert!(theirs.contains("No orders yet"));
    assert_eq!(
        stranger
            .get(&format!("/seller/orders/{part}"))
            .await
            .status(),
        404
    );
    for action in ["ship", "capture", "cancel"] {
        let res = stranger
            .post_form(
                &format!("/seller/orders/{part}/{action}"),
                &[("amount", "1.00")],
            )
            .await;
        assert_eq!(res.status(), 404, "{action}");
    }
    assert!(part_row(&app, &part).await.shipped_at.is_none());
    // A buyer is not a seller.
    assert_ne!(shopper.get("/seller/orders").await.status(), 200);
}

#[tokio::test]
async fn mark_shipped_sets_the_date_once() {
    let app = spawn_app().await;
    let (owner, handle) = seller(&app).await;
    let lamp = app.product(&handle, "Lamp", 4500, "usd", 3).await;
    let (shopper, _, card) = buy_setup(&app).await;
    let part = buy(&shopper, &card, &lamp, 1).await;

    let res = owner
        .post_form(&format!("/seller/orders/{part}/ship"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/seller/orders/{part}"));
    let first = part_row(&app, &part).await.shipped_at.expect("shipped");
    sqlx::query("UPDATE order_parts SET shipped_at = shipped_at - 3600 WHERE id = $1")
        .bind(&part)
        .execute(app.db.writer())
        .await
        .unwrap();
    let res = owner
        .post_form(&format!("/seller/orders/{part}/ship"), &[])
        .await;
    assert_eq!(res.status(), 303, "a second click is fine");
    assert_eq!(
        part_row(&app, &part).await.shipped_at,
        Some(first - 3600),
        "and changes nothing"
    );
    let (_, page) = owner.get_html(&format!("/seller/orders/{part}")).await;
    assert!(page.contains("already marked shipped"));
    assert!(!page.contains("Mark shipped</button>"));
    let (_, list) = owner.get_html("/seller/orders").await;
    assert!(list.contains("Paid and shipped"));
}

async fn buy_setup(app: &TestApp) -> (TestApp, String, String) {
    buyer(app, "pm_card_visa").await
}

#[tokio::test]
async fn filters_narrow_the_list_and_pages_continue_after_the_cursor() {
    let app = spawn_app().await;
    let (owner, handle) = seller(&app).await;
    let item = app.product(&handle, "Bowl", 1000, "usd", 50).await;
    let (shopper, _, card) = buy_setup(&app).await;
    let paid = buy(&shopper, &card, &item, 1).await;
    let part_refund = buy(&shopper, &card, &item, 2).await;
    let whole_refund = buy(&shopper, &card, &item, 3).await;
    let disputed = buy(&shopper, &card, &item, 4).await;
    // Refund and dispute summaries are kept by the refunds and disputes code; set as given.
    for (part, refunded, dispute) in [
        (&part_refund, 500_i64, None),
        (&whole_refund, 3000, None),
        (&disputed, 0, Some("needs_response")),
    ] {
        sqlx::query(
            "UPDATE order_parts SET refunded_minor = $1, dispute_status = $2 WHERE id = $3",
        )
        .bind(refunded)
        .bind(dispute)
        .bind(part)
        .execute(app.db.writer())
        .await
        .unwrap();
    }
    let (decliner, _, bad_card) = buyer(&app, "pm_card_chargeDeclined").await;
    let failed = buy(&decliner, &bad_card, &item, 1).await;
    assert_eq!(part_row(&app, &failed).await.status, "failed");

    let all = [&paid, &part_refund, &whole_refund, &disputed, &failed];
    let cases: [(&str, Vec<&String>); 7] = [
        ("", all.to_vec()),
        ("paid", vec![&paid, &disputed]),
        ("refunded_part", vec![&part_refund]),
        ("refunded", vec![&whole_refund]),
        ("disputed", vec![&disputed]),
        ("failed", vec![&failed]),
        ("authorized", vec![]),
    ];
    for (filter, expected) in cases {
        let (status, html) = owner
            .get_html(&format!("/seller/orders?status={filter}"))
            .await;
        assert_eq!(status, 200, "{filter}");
        for p in all {
            assert_eq!(
                html.contains(&format!("/seller/orders/{p}\"")),
                expected.contains(&p),
                "filter {filter:?} and part {p}"
            );
        }
    }
    let (_, html) = owner.get_html("/seller/orders").await;
    assert!(html.contains("Refunded in part ($5.00)"));
    assert!(html.contains("Refunded in whole"));
    assert!(html.contains("Disputed (needs your response)"));
    assert!(html.contains("Payment failed"));

    // Keyset: after the newest row, every other row and not that one.
    let newest: (i64, String) = {
        let r = sqlx::query(
            "SELECT created_at, id FROM order_parts WHERE seller_id = $1
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(&handle.user_id)
        .fetch_one(app.db.writer())
        .await
        .unwrap();
        (r.get("created_at"), r.get("id"))
    };
    let (status, html) = owner
        .get_html(&format!("/seller/orders?after={}.{}", newest.0, newest.1))
        .await;
    assert_eq!(status, 200);
    for p in all {
        assert_eq!(
            html.contains(&format!("/seller/orders/{p}\"")),
            **p != newest.1,
            "page after the newest, part {p}"
        );
    }
    assert!(html.contains(">Newest</a>"));
    assert_eq!(owner.get("/seller/orders?status=bogus").await.status(), 400);
    assert_eq!(
        owner.get("/seller/orders?after=garbage").await.status(),
        400
    );
}

#[tokio::test]
async fn manual_capture_in_part_collects_the_fee_for_the_captured_share() {
    let app = spawn_app_with(&[("CAPTURE_METHOD", "manual")]).await;
    let (owner, handle) = seller(&app).await;
    let chair = app.product(&handle, "Chair", 10_000, "usd", 5).await;
    let (shopper, _, card) = buy_setup(&app).await;
    let part = buy(&shopper, &card, &chair, 1).await;
    let row = part_row(&app, &part).await;
    assert_eq!(row.status, "authorized");
    // 5% of $100.00 + 30¢
    assert_eq!(row.fee, 530);

    let (_, list) = owner.get_html("/seller/orders?status=authorized").await;
    assert!(list.contains(&format!("/seller/orders/{part}\"")));
    assert!(list.contains("Awaiting capture"));
    let (_, page) = owner.get_html(&format!("/seller/orders/{part}")).await;
    assert!(page.contains(r#"name="amount" type="text" inputmode="decimal" value="100.00""#));
    assert!(page.contains("Cancel the payment"));
    assert!(!page.contains("Mark shipped</button>"), "capture first");

    let res = owner
        .post_form(
            &format!("/seller/orders/{part}/capture"),
            &[("amount", "40.00")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let row = part_row(&app, &part).await;
    assert_eq!(row.status, "paid");
    assert_eq!(row.captured, 4000);
    let expected_fee = PlatformFee::captured_share(
        marketplace::domain::Money::new(530, marketplace::domain::Currency::Usd),
        marketplace::domain::Money::new(10_000, marketplace::domain::Currency::Usd),
        marketplace::domain::Money::new(4000, marketplace::domain::Currency::Usd),
    )
    .unwrap()
    .minor;
    assert_eq!(expected_fee, 212);
    assert_eq!(row.fee, 212);

    // What Stripe holds: the intent, its charge, and the platform's application fee.
    let pi = intent(&app, &handle.account, &row.pi).await;
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount_received"], 4000);
    assert_eq!(pi["application_fee_amount"], 212);
    let charge_id = pi["latest_charge"].as_str().unwrap();
    let charge = app
        .sim(
            Method::GET,
            &format!("/v1/charges/{charge_id}"),
            Some(&handle.account),
            &[],
        )
        .await;
    assert_eq!(charge["amount_captured"], 4000);
    assert_eq!(charge["amount_refunded"], 6000, "the rest is released");
    let fees = fees_of(&app, charge_id).await;
    assert_eq!(fees.len(), 1);
    assert_eq!(fees[0]["amount"], 212);

    let (_, page) = owner.get_html(&format!("/seller/orders/{part}")).await;
    assert!(page.contains("Paid ($40.00 of $100.00 captured)"), "{page}");
    assert!(page.contains(r#"<dd id="captured">$40.00</dd>"#));
    assert!(page.contains(r#"<dd id="fee">$2.12</dd>"#));
    assert!(page.contains(r#"<dd id="net">$37.88</dd>"#));
    assert!(page.contains("captured $40.00 (platform fee $2.12)"));
    assert!(page.contains("Captured $40.00."));
    // Capturing again does nothing; shipping is now possible.
    let res = owner
        .post_form(
            &format!("/seller/orders/{part}/capture"),
            &[("amount", "10.00")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(part_row(&app, &part).await.captured, 4000);
    let res = owner
        .post_form(&format!("/seller/orders/{part}/ship"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert!(part_row(&app, &part).await.shipped_at.is_some());
}

#[tokio::test]
async fn manual_capture_in_full_keeps_the_whole_fee() {
    let app = spawn_app_with(&[("CAPTURE_METHOD", "manual")]).await;
    let (owner, handle) = seller(&app).await;
    let desk = app.product(&handle, "Desk", 25_000, "usd", 2).await;
    let (shopper, _, card) = buy_setup(&app).await;
    let part = buy(&shopper, &card, &desk, 1).await;
    let res = owner
        .post_form(
            &format!("/seller/orders/{part}/capture"),
            &[("amount", "250")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let row = part_row(&app, &part).await;
    assert_eq!((row.status.as_str(), row.captured), ("paid", 25_000));
    // 5% of $250.00 + 30¢
    assert_eq!(row.fee, 1280);
    let pi = intent(&app, &handle.account, &row.pi).await;
    assert_eq!(pi["amount_received"], 25_000);
    assert_eq!(pi["application_fee_amount"], 1280);
    let fees = fees_of(&app, pi["latest_charge"].as_str().unwrap()).await;
    assert_eq!(fees[0]["amount"], 1280);
}

#[tokio::test]
async fn a_capture_above_the_authorized_amount_is_a_form_error_and_nothing_is_captured() {
    let app = spawn_app_with(&[("CAPTURE_METHOD", "manual")]).await;
    let (owner, handle) = seller(&app).await;
    let vase = app.product(&handle, "Vase", 3000, "usd", 2).await;
    let (shopper, _, card) = buy_setup(&app).await;
    let part = buy(&shopper, &card, &vase, 1).await;
    for (typed, message) in [
        ("30.01", "You can capture at most $30.00"),
        ("0", "must be more than zero"),
        ("-5", "must be more than zero"),
        ("ten", "Enter an amount in USD like 30.00"),
        ("1.234", "Enter an amount in USD like 30.00"),
        ("", "Enter the amount to capture"),
    ] {
        let res = owner
            .post_form(
                &format!("/seller/orders/{part}/capture"),
                &[("amount", typed)],
            )
            .await;
        assert_eq!(res.status(), 422, "{typed:?}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{typed:?}: {html}");
        assert!(
            html.contains(&format!(r#"inputmode="decimal" value="{typed}""#)),
            "the typed value comes back"
        );
        assert!(html.contains(r#"aria-invalid="true""#));
    }
    let row = part_row(&app, &part).await;
    assert_eq!((row.status.as_str(), row.captured), ("authorized", 0));
    let pi = intent(&app, &handle.account, &row.pi).await;
    assert_eq!(pi["status"], "requires_capture");
    assert_eq!(pi["amount_received"], 0);
    // Without the CSRF token nothing happens either.
    let res = owner
        .client
        .post(owner.url(&format!("/seller/orders/{part}/capture")))
        .form(&[("amount", "30.00")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(part_row(&app, &part).await.status, "authorized");
}

#[tokio::test]
async fn cancel_releases_the_stock_and_tells_the_buyer() {
    let app = spawn_app_with(&[("CAPTURE_METHOD", "manual")]).await;
    let (owner, handle) = seller(&app).await;
    let clock = app.product(&handle, "Clock", 6000, "usd", 3).await;
    let (shopper, email, card) = buy_setup(&app).await;
    let part = buy(&shopper, &card, &clock, 2).await;
    assert_eq!(app.stock_of(&clock).await, 1);
    let res = owner
        .post_form(&format!("/seller/orders/{part}/cancel"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let row = part_row(&app, &part).await;
    assert_eq!(row.status, "canceled");
    assert_eq!(app.stock_of(&clock).await, 3, "stock released");
    let pi = intent(&app, &handle.account, &row.pi).await;
    assert_eq!(pi["status"], "canceled");
    assert_eq!(mails(&app, &format!("canceled:{part}:"), &email).await, 1);
    let (_, page) = owner.get_html(&format!("/seller/orders/{part}")).await;
    assert!(page.contains("The buyer was not charged"));
    assert!(page.contains(">Canceled<"));
    let (_, list) = owner.get_html("/seller/orders?status=canceled").await;
    assert!(list.contains(&format!("/seller/orders/{part}\"")));
    // A second cancel changes nothing and sends nothing.
    owner
        .post_form(&format!("/seller/orders/{part}/cancel"), &[])
        .await;
    assert_eq!(app.stock_of(&clock).await, 3);
    assert_eq!(mails(&app, &format!("canceled:{part}:"), &email).await, 1);
}

#[tokio::test]
async fn the_sweep_cancels_authorizations_older_than_the_keep_time_and_tells_the_buyer() {
    let app = spawn_app_with(&[("CAPTURE_METHOD", "manual")]).await;
    let (_owner, handle) = seller(&app).await;
    let rug = app.product(&handle, "Rug", 9000, "usd", 4).await;
    let (shopper, email, card) = buy_setup(&app).await;
    let old = buy(&shopper, &card, &rug, 1).await;
    let fresh = buy(&shopper, &card, &rug, 1).await;
    assert_eq!(app.stock_of(&rug).await, 2);
    let keep = marketplace::checkout::AUTHORIZATION_KEEP_SECS;
    sqlx::query("UPDATE order_parts SET authorized_at = authorized_at - $1 WHERE id = $2")
        .bind(keep + 60)
        .bind(&old)
        .execute(app.db.writer())
        .await
        .unwrap();

    let state = marketplace::state::AppState::new(
        app.db.clone(),
        app.stripe.clone(),
        Arc::new(app.settings.clone()),
    );
    marketplace::checkout::sweep(&state, marketplace::db::now_unix())
        .await
        .unwrap();

    let row = part_row(&app, &old).await;
    assert_eq!(row.status, "canceled");
    let pi = intent(&app, &handle.account, &row.pi).await;
    assert_eq!(pi["status"], "canceled");
    assert_eq!(part_row(&app, &fresh).await.status, "authorized");
    assert_eq!(
        app.stock_of(&rug).await,
        3,
        "the expired one's stock is back"
    );
    assert_eq!(mails(&app, &format!("canceled:{old}:"), &email).await, 1);
    let payload: String =
        sqlx::query("SELECT payload FROM jobs WHERE kind = 'send_email' AND dedupe_key LIKE $1")
            .bind(format!("canceled:{old}:%"))
            .fetch_one(app.db.writer())
            .await
            .unwrap()
            .get("payload");
    assert!(payload.contains("did not ship within 6 days"), "{payload}");
    assert_eq!(mails(&app, &format!("canceled:{fresh}:"), &email).await, 0);
}

#[tokio::test]
async fn adding_a_card_says_what_stripe_refused() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    let buyer_id = app.user_id(&user.email).await;
    // A platform Customer Stripe does not know: a definite refusal, not an outage.
    sqlx::query(
        "INSERT INTO buyer_customers (buyer_id, stripe_customer_id, created_at) VALUES ($1, $2, 0)",
    )
    .bind(&buyer_id)
    .bind("cus_missing0000000000")
    .execute(app.db.writer())
    .await
    .unwrap();
    let res = app.post_form("/cards/add", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/cards");
    let (_, html) = app.get_html("/cards").await;
    assert!(
        html.contains("Stripe refused to open the card page: No such customer"),
        "{html}"
    );
    assert!(!html.contains("cannot be reached"));
}

#[tokio::test]
async fn the_cart_table_stacks_on_phones() {
    let app = spawn_app().await;
    let (_owner, handle) = seller(&app).await;
    let item = app.product(&handle, "Spoon", 800, "usd", 5).await;
    let (shopper, _, _) = buy_setup(&app).await;
    shopper.add_to_cart(&item, 1).await;
    let (_, cart) = shopper.get_html("/cart").await;
    assert!(cart.contains(r#"<table class="stack-on-phone">"#));
    assert!(cart.contains(r#"<td data-label="Quantity">"#));
}
