//! Refunds from the admin's order page against the embedded emulator: the preview in money
//! and words, then Stripe's own Refund and ApplicationFee figures; partial, repeated and final
//! refunds with and without the platform fee; over-refunds and two admins at once; the
//! audit entry, the mails, the buyer's page; a refund that fails later.

mod common;

use common::checkout::order_id_from;
use common::webhooks::wait_until;
use common::{TestApp, location, spawn_app};
use marketplace::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Row;

struct Paid {
    part: String,
    order: String,
    charge: String,
    account: String,
    buyer_email: String,
    seller_email: String,
}

/// A buyer (logged in on `app`) pays a $100.00 order with `card`; the platform fee is the
/// default 5% + 30¢ = $5.30.
async fn paid_order(app: &TestApp, card_token: &str) -> Paid {
    let seller = app.active_seller("Owl Lamps").await;
    let lamp = app.product(&seller, "Lamp", 10_000, "usd", 5).await;
    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, card_token).await;
    assert_eq!(app.add_to_cart(&lamp, 1).await.status(), 303);
    let res = app.checkout(&card).await;
    assert_eq!(res.status(), 303);
    let order = order_id_from(&location(&res));
    let row = sqlx::query(
        "SELECT id, status, stripe_charge_id, fee_minor FROM order_parts WHERE order_id = $1",
    )
    .bind(&order)
    .fetch_one(app.db.writer())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("status"), "paid");
    assert_eq!(row.get::<i64, _>("fee_minor"), 530);
    Paid {
        part: row.get("id"),
        order,
        charge: row.get("stripe_charge_id"),
        account: seller.account,
        buyer_email: buyer.email,
        seller_email: seller.email,
    }
}

/// Another person on the same app, logged in as an admin.
async fn admin(app: &TestApp) -> TestApp {
    let admin = app.shallow();
    admin.login_as(Role::Admin).await;
    admin
}

async fn preview(admin: &TestApp, part: &str, amount: &str, fee: &str) -> (StatusCode, String) {
    admin
        .get_html(&format!(
            "/admin/orders/{part}?preview=1&amount={amount}&reason=requested_by_customer&fee={fee}"
        ))
        .await
}

async fn confirm(admin: &TestApp, part: &str, amount: &str, fee: &str) -> reqwest::Response {
    admin
        .post_form(
            &format!("/admin/orders/{part}/refunds"),
            &[
                ("amount", amount),
                ("reason", "requested_by_customer"),
                ("fee", fee),
            ],
        )
        .await
}

/// (stripe refund id, status, stripe amount, preview fee, fee amount_refunded after, before)
async fn refund_rows(app: &TestApp, part: &str) -> Vec<(String, String, i64, i64, i64, i64)> {
    sqlx::query(
        "SELECT stripe_refund_id, status, stripe_amount_minor, preview_fee_refund_minor,
                fee_amount_refunded_minor, fee_refunded_before_minor
         FROM refunds WHERE part_id = $1 ORDER BY created_at, id",
    )
    .bind(part)
    .fetch_all(app.db.writer())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("stripe_refund_id"),
            r.get("status"),
            r.get("stripe_amount_minor"),
            r.get("preview_fee_refund_minor"),
            r.get("fee_amount_refunded_minor"),
            r.get("fee_refunded_before_minor"),
        )
    })
    .collect()
}

async fn refunded_minor(app: &TestApp, part: &str) -> i64 {
    sqlx::query("SELECT refunded_minor FROM order_parts WHERE id = $1")
        .bind(part)
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("refunded_minor")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("n")
}

async fn fee_of(app: &TestApp, charge: &str) -> Value {
    let fees = app
        .sim(
            Method::GET,
            "/v1/application_fees",
            None,
            &[("charge", charge)],
        )
        .await;
    fees["data"][0].clone()
}

/// One refund through preview and confirmation; checks the preview's words, then that our
/// row, the emulator's Refund and its ApplicationFee all say what the preview said.
/// One refund step: what the admin types, what the preview must say, what Stripe must do.
struct Step<'a> {
    amount: &'a str,
    fee: &'a str,
    words: &'a str,
    expect_minor: i64,
    expect_fee_back: i64,
}

async fn refund_and_check(app: &TestApp, admin: &TestApp, paid: &Paid, step: Step<'_>) {
    let Step {
        amount,
        fee,
        words,
        expect_minor,
        expect_fee_back,
    } = step;
    let (status, page) = preview(admin, &paid.part, amount, fee).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(words), "preview says {words:?}");
    let earlier = refund_rows(app, &paid.part).await;
    let res = confirm(admin, &paid.part, amount, fee).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/admin/orders/{}", paid.part));
    let rows = refund_rows(app, &paid.part).await;
    assert_eq!(rows.len(), earlier.len() + 1, "one refund row");
    // Rows written within the same second have no order between them: the new one is the
    // one that was not there before.
    let (re, status, stripe_amount, preview_fee, fee_after, fee_before) = rows
        .into_iter()
        .find(|r| !earlier.iter().any(|e| e.0 == r.0))
        .unwrap();
    assert_eq!(status, "succeeded");
    assert_eq!(stripe_amount, expect_minor);
    assert_eq!(preview_fee, expect_fee_back, "preview of the fee refund");
    let refund = app
        .sim(
            Method::GET,
            &format!("/v1/refunds/{re}"),
            Some(&paid.account),
            &[],
        )
        .await;
    assert_eq!(refund["amount"], expect_minor, "the emulator's Refund");
    assert_eq!(refund["metadata"]["part_id"], paid.part.as_str());
    let fee = fee_of(app, &paid.charge).await;
    assert_eq!(
        fee["amount_refunded"].as_i64().unwrap(),
        fee_after,
        "our copy of the ApplicationFee's amount_refunded"
    );
    assert_eq!(
        fee_after - fee_before,
        expect_fee_back,
        "the preview equals what Stripe refunded of the fee"
    );
    let (_, page) = admin
        .get_html(&format!("/admin/orders/{}", paid.part))
        .await;
    assert!(page.contains("As previewed") && !page.contains("Differs from the preview"));
}

#[tokio::test]
async fn partial_second_partial_and_final_refunds_with_and_without_the_fee_match_stripe() {
    let app = spawn_app().await;
    let paid = paid_order(&app, "pm_card_visa").await;
    let admin = admin(&app).await;

    // $33.33 of $100.00 with the fee: 530 × 3333 / 10000 = 176.6 → $1.77.
    refund_and_check(
        &app,
        &admin,
        &paid,
        Step {
            amount: "33.33",
            fee: "yes",
            words: "The buyer gets $33.33 back. The seller&#39;s balance goes down by $31.56. The platform returns $1.77 of its fee.",
            expect_minor: 3333,
            expect_fee_back: 177,
        },
    )
    .await;
    // $20.00 without the fee: the seller carries all of it.
    refund_and_check(
        &app,
        &admin,
        &paid,
        Step {
            amount: "20.00",
            fee: "no",
            words: "The buyer gets $20.00 back. The seller&#39;s balance goes down by $20.00. The platform keeps its whole fee.",
            expect_minor: 2000,
            expect_fee_back: 0,
        },
    )
    .await;

    // More than is left: a clear error and nothing recorded (no row, no audit, no Stripe call).
    let audit_before = count(&app, "SELECT COUNT(*) AS n FROM audit_log").await;
    let res = confirm(&admin, &paid.part, "50.00", "yes").await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("only $46.67 is left to refund"),
        "over-refund explained"
    );
    let (status, page) = preview(&admin, &paid.part, "50.00", "yes").await;
    assert_eq!(status, 422);
    assert!(page.contains("only $46.67 is left to refund"));
    assert_eq!(refund_rows(&app, &paid.part).await.len(), 2);
    assert_eq!(refunded_minor(&app, &paid.part).await, 5333);
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM audit_log").await,
        audit_before
    );
    let charge = app
        .sim(
            Method::GET,
            &format!("/v1/charges/{}", paid.charge),
            Some(&paid.account),
            &[],
        )
        .await;
    assert_eq!(charge["amount_refunded"], 5333);

    // The rest, with the fee: the whole fee is back in the end (530 − 177 = $3.53).
    refund_and_check(
        &app,
        &admin,
        &paid,
        Step {
            amount: "46.67",
            fee: "yes",
            words: "The platform returns $3.53 of its fee.",
            expect_minor: 4667,
            expect_fee_back: 353,
        },
    )
    .await;
    assert_eq!(fee_of(&app, &paid.charge).await["amount_refunded"], 530);
    assert_eq!(refunded_minor(&app, &paid.part).await, 10_000);
    let (_, page) = admin
        .get_html(&format!("/admin/orders/{}", paid.part))
        .await;
    assert!(page.contains("it is fully refunded"));
    let res = confirm(&admin, &paid.part, "0.01", "yes").await;
    assert_eq!(res.status(), 422);

    // Exactly one audit entry per refund, naming the order part.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'order.refund'"
        )
        .await,
        3
    );
    let (_, audit) = admin.get_html("/admin/audit").await;
    assert!(audit.contains(&format!("/admin/orders/{}", paid.part)));

    // Buyer and seller are mailed about each refund, once.
    for to in [&paid.buyer_email, &paid.seller_email] {
        let n = sqlx::query(
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'send_email'
             AND dedupe_key LIKE 'mail:refund:%' AND dedupe_key LIKE $1",
        )
        .bind(format!("%:refund_issued:{}", to.to_lowercase()))
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get::<i64, _>("n");
        assert_eq!(n, 3, "refund mails to {to}");
    }

    // The buyer sees what came back.
    let (_, order_page) = app.get_html(&format!("/orders/{}", paid.order)).await;
    for amount in ["$33.33", "$20.00", "$46.67"] {
        assert!(order_page.contains(amount), "{amount} on the buyer's page");
    }

    // The search finds it by buyer, by the refunded filter, and not by a wrong seller.
    let buyer_part = &paid.buyer_email[..8];
    let (status, found) = admin
        .get_html(&format!("/admin/orders?buyer={buyer_part}&status=refunded"))
        .await;
    assert_eq!(status, 200);
    assert!(found.contains(&paid.order));
    let (_, none) = admin
        .get_html("/admin/orders?seller=nobody-sells-this")
        .await;
    assert!(!none.contains(&paid.order));
    let (_, by_amount) = admin.get_html("/admin/orders?min=99&max=100").await;
    assert!(by_amount.contains(&paid.order));
    let (_, too_cheap) = admin.get_html("/admin/orders?max=99").await;
    assert!(!too_cheap.contains(&paid.order));
    let (status, _) = admin.get_html("/admin/orders?from=yesterday").await;
    assert_eq!(status, 422, "a bad date is explained, not a 500");
}

#[tokio::test]
async fn two_admins_refunding_at_once_never_pass_the_charge() {
    let app = spawn_app().await;
    let paid = paid_order(&app, "pm_card_visa").await;
    let first = admin(&app).await;
    let second = admin(&app).await;
    // Each alone fits; together they would pass $100.00.
    let (a, b) = tokio::join!(
        confirm(&first, &paid.part, "60.00", "yes"),
        confirm(&second, &paid.part, "60.00", "yes")
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 422], "one succeeds, one is refused");
    assert_eq!(refunded_minor(&app, &paid.part).await, 6000);
    assert_eq!(refund_rows(&app, &paid.part).await.len(), 1);
    let charge = app
        .sim(
            Method::GET,
            &format!("/v1/charges/{}", paid.charge),
            Some(&paid.account),
            &[],
        )
        .await;
    assert_eq!(charge["amount_refunded"], 6000);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'order.refund'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn admin_order_pages_are_for_admins_only() {
    let app = spawn_app().await;
    let paid = paid_order(&app, "pm_card_visa").await;
    let part = &paid.part;
    let pages = [
        "/admin/orders".to_string(),
        format!("/admin/orders/{part}"),
        "/admin/disputes".to_string(),
    ];
    // The buyer who paid: 403, and the refund POST does nothing.
    for p in &pages {
        assert_eq!(app.get(p).await.status(), 403, "buyer {p}");
    }
    let res = confirm(&app, part, "10.00", "yes").await;
    assert_eq!(res.status(), 403);
    let visitor = app.shallow();
    for p in &pages {
        let res = visitor.get(p).await;
        assert_eq!(res.status(), 303, "visitor {p}");
        assert_eq!(location(&res), "/login");
    }
    let admin = admin(&app).await;
    assert_eq!(
        admin
            .post_raw(
                &format!("/admin/orders/{part}/refunds"),
                &[("amount", "10.00"), ("reason", "duplicate"), ("fee", "yes")]
            )
            .await
            .status(),
        403,
        "no CSRF token, no refund"
    );
    assert_eq!(refunded_minor(&app, part).await, 0);
    for p in &pages {
        assert_eq!(admin.get(p).await.status(), 200, "admin {p}");
    }
    assert_eq!(
        admin.get("/admin/orders/opt_doesnotexist").await.status(),
        404
    );
    assert_eq!(admin.get("/admin/orders?after=garbage").await.status(), 400);
    // A reason Stripe does not know is a form error, not a refund.
    let res = admin
        .post_form(
            &format!("/admin/orders/{part}/refunds"),
            &[("amount", "10.00"), ("reason", "because"), ("fee", "yes")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(refunded_minor(&app, part).await, 0);
}

#[tokio::test]
async fn a_refund_that_fails_later_gives_the_amount_back_and_alerts_admins() {
    let app = spawn_app().await;
    let paid = paid_order(&app, "pm_card_refundFail").await;
    let admin_app = admin(&app).await;
    let res = confirm(&admin_app, &paid.part, "25.00", "yes").await;
    assert_eq!(res.status(), 303);
    // Stripe accepted it, then fails it (refund.updated + refund.failed by webhook).
    wait_until("the refund to be marked failed", || async {
        refund_rows(&app, &paid.part)
            .await
            .first()
            .is_some_and(|r| r.1 == "failed")
    })
    .await;
    assert_eq!(
        refunded_minor(&app, &paid.part).await,
        0,
        "the amount can be refunded again"
    );
    let reason: Option<String> =
        sqlx::query("SELECT failure_reason FROM refunds WHERE part_id = $1")
            .bind(&paid.part)
            .fetch_one(app.db.writer())
            .await
            .unwrap()
            .get("failure_reason");
    assert_eq!(reason.as_deref(), Some("expired_or_canceled_card"));
    wait_until("the admins' alert", || async {
        count(
            &app,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'send_email'
             AND dedupe_key LIKE 'mail:refund_failed:%'",
        )
        .await
            == 1
    })
    .await;
    let (_, page) = admin_app
        .get_html(&format!("/admin/orders/{}", paid.part))
        .await;
    assert!(page.contains("Failed") && page.contains("expired_or_canceled_card"));
    // Replaying every refund event changes nothing more (one alert, amount released once).
    common::webhooks::wait_for_jobs(&app.db).await;
    assert_eq!(refunded_minor(&app, &paid.part).await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM jobs WHERE dedupe_key LIKE 'mail:refund_failed:%'"
        )
        .await,
        1
    );
}
