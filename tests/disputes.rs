//! Disputes and early fraud warnings against the embedded emulator: the webhook sets the
//! part's dispute status and mails the seller and admins; the seller's evidence reaches the
//! emulator's dispute (and is refused after the deadline); the outcome when closed; a warning
//! leads to a full refund through the refund preview.

mod common;

use common::checkout::{ActiveSeller, order_id_from};
use common::sellers::{SellerSession, active_seller};
use common::webhooks::{sim_get, sim_post, wait_until};
use common::{TestApp, location, spawn_app};
use marketplace::domain::Role;
use sqlx::Row;

struct Paid {
    part: String,
    order: String,
    charge: String,
    seller: SellerSession,
}

/// A $100.00 order paid to a seller whose logged-in session we keep.
async fn paid_order(app: &TestApp) -> Paid {
    let seller = active_seller(app).await;
    let shop = ActiveSeller {
        user_id: seller.user_id.to_string(),
        account: seller.account().to_string(),
        email: seller.email.clone(),
    };
    let lamp = app.product(&shop, "Lamp", 10_000, "usd", 5).await;
    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, "pm_card_visa").await;
    assert_eq!(app.add_to_cart(&lamp, 1).await.status(), 303);
    let res = app.checkout(&card).await;
    assert_eq!(res.status(), 303);
    let order = order_id_from(&location(&res));
    let row =
        sqlx::query("SELECT id, status, stripe_charge_id FROM order_parts WHERE order_id = $1")
            .bind(&order)
            .fetch_one(app.db.writer())
            .await
            .unwrap();
    assert_eq!(row.get::<String, _>("status"), "paid");
    Paid {
        part: row.get("id"),
        order,
        charge: row.get("stripe_charge_id"),
        seller,
    }
}

async fn dispute_status(app: &TestApp, part: &str) -> Option<String> {
    sqlx::query("SELECT dispute_status FROM order_parts WHERE id = $1")
        .bind(part)
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("dispute_status")
}

async fn mails_like(app: &TestApp, pattern: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'send_email' AND dedupe_key LIKE $1")
        .bind(pattern)
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("n")
}

#[tokio::test]
async fn a_dispute_is_tracked_mailed_answered_with_evidence_and_closed() {
    let app = spawn_app().await;
    let paid = paid_order(&app).await;
    let admin = app.shallow();
    let admin_user = admin.login_as(Role::Admin).await;

    let dp = sim_post(
        &app,
        &format!("test_helpers/charges/{}/dispute", paid.charge),
        &[("reason", "product_not_received")],
        None,
    )
    .await;
    let dp_id = dp["id"].as_str().unwrap().to_string();
    wait_until("the dispute webhook", || async {
        dispute_status(&app, &paid.part).await.as_deref() == Some("needs_response")
    })
    .await;
    common::webhooks::wait_for_jobs(&app.db).await;

    // The seller and every admin are told once, with the deadline.
    let cause = format!("mail:dispute:{dp_id}:dispute_opened:%");
    assert_eq!(mails_like(&app, &cause).await, 2);
    assert_eq!(
        mails_like(
            &app,
            &format!(
                "mail:dispute:{dp_id}:dispute_opened:{}",
                admin_user.email.to_lowercase()
            )
        )
        .await,
        1
    );
    let payload: String = sqlx::query("SELECT payload FROM jobs WHERE dedupe_key = $1")
        .bind(format!(
            "mail:dispute:{dp_id}:dispute_opened:{}",
            paid.seller.email.to_lowercase()
        ))
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("payload");
    assert!(payload.contains("evidence due") && payload.contains("$100.00"));

    // Admins see it with its deadline.
    let (status, list) = admin.get_html("/admin/disputes").await;
    assert_eq!(status, 200);
    assert!(list.contains(&paid.order) && list.contains("Waiting for evidence"));

    // The seller's side.
    let (status, mine) = paid.seller.get_html("/seller/disputes").await;
    assert_eq!(status, 200);
    assert!(mine.contains(&paid.order));
    let our_id: String = sqlx::query("SELECT id FROM disputes WHERE stripe_dispute_id = $1")
        .bind(&dp_id)
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("id");
    let (status, form) = paid
        .seller
        .get_html(&format!("/seller/disputes/{our_id}"))
        .await;
    assert_eq!(status, 200);
    assert!(form.contains("name=\"shipping_tracking_number\""));

    // Another seller cannot see or answer it.
    let other = active_seller(&app).await;
    assert_eq!(
        other
            .get(&format!("/seller/disputes/{our_id}"))
            .await
            .status(),
        404
    );
    let res = other
        .post_form(
            &format!("/seller/disputes/{our_id}/evidence"),
            &[("uncategorized_text", "not mine")],
        )
        .await;
    assert_eq!(res.status(), 404);

    // Nothing to say is a form error, not a submission.
    let res = paid
        .seller
        .post_form(&format!("/seller/disputes/{our_id}/evidence"), &[])
        .await;
    assert_eq!(res.status(), 422);

    // After the deadline the form is refused and Stripe is not called.
    let due: i64 = sqlx::query("SELECT evidence_due_by FROM disputes WHERE id = $1")
        .bind(&our_id)
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("evidence_due_by");
    sqlx::query("UPDATE disputes SET evidence_due_by = 1 WHERE id = $1")
        .bind(&our_id)
        .execute(app.db.writer())
        .await
        .unwrap();
    let res = paid
        .seller
        .post_form(
            &format!("/seller/disputes/{our_id}/evidence"),
            &[("uncategorized_text", "too late")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("deadline"));
    let in_stripe = sim_get(
        &app,
        &format!("disputes/{dp_id}"),
        Some(paid.seller.account()),
    )
    .await;
    assert!(in_stripe["evidence"]["uncategorized_text"].is_null());
    assert_eq!(in_stripe["evidence_details"]["submission_count"], 0);
    sqlx::query("UPDATE disputes SET evidence_due_by = $2 WHERE id = $1")
        .bind(&our_id)
        .bind(due)
        .execute(app.db.writer())
        .await
        .unwrap();

    // In time: the evidence reaches the emulator's dispute, submitted.
    let res = paid
        .seller
        .post_form(
            &format!("/seller/disputes/{our_id}/evidence"),
            &[
                ("product_description", "A brass desk lamp"),
                ("customer_name", "Ada Buyer"),
                ("shipping_carrier", "UPS"),
                ("shipping_tracking_number", "1Z999AA10123456784"),
                ("uncategorized_text", "Delivered and signed for."),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let in_stripe = sim_get(
        &app,
        &format!("disputes/{dp_id}"),
        Some(paid.seller.account()),
    )
    .await;
    assert_eq!(
        in_stripe["evidence"]["product_description"],
        "A brass desk lamp"
    );
    assert_eq!(
        in_stripe["evidence"]["shipping_tracking_number"],
        "1Z999AA10123456784"
    );
    assert_eq!(in_stripe["evidence"]["customer_name"], "Ada Buyer");
    assert_eq!(in_stripe["evidence_details"]["submission_count"], 1);
    assert_eq!(in_stripe["status"], "under_review");
    assert_eq!(
        dispute_status(&app, &paid.part).await.as_deref(),
        Some("under_review")
    );
    let submitted: Option<i64> =
        sqlx::query("SELECT evidence_submitted_at FROM disputes WHERE id = $1")
            .bind(&our_id)
            .fetch_one(app.db.writer())
            .await
            .unwrap()
            .get("evidence_submitted_at");
    assert!(submitted.is_some());

    // The bank decides: the outcome follows.
    sim_post(
        &app,
        &format!("test_helpers/disputes/{dp_id}/close"),
        &[("outcome", "won")],
        None,
    )
    .await;
    wait_until("the closed dispute", || async {
        dispute_status(&app, &paid.part).await.as_deref() == Some("won")
    })
    .await;
    common::webhooks::wait_for_jobs(&app.db).await;
    let outcome: Option<String> = sqlx::query("SELECT outcome FROM disputes WHERE id = $1")
        .bind(&our_id)
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("outcome");
    assert_eq!(outcome.as_deref(), Some("won"));
    // Still one mail each, however many dispute events came.
    assert_eq!(mails_like(&app, &cause).await, 2);
    let (_, page) = admin
        .get_html(&format!("/admin/orders/{}", paid.part))
        .await;
    assert!(page.contains(&dp_id) && page.contains("Outcome: won"));
}

#[tokio::test]
async fn an_early_fraud_warning_offers_a_full_refund_through_the_preview() {
    let app = spawn_app().await;
    let paid = paid_order(&app).await;
    let admin = app.shallow();
    admin.login_as(Role::Admin).await;
    sim_post(
        &app,
        &format!("test_helpers/charges/{}/early_fraud_warning", paid.charge),
        &[],
        None,
    )
    .await;
    wait_until("the warning", || async {
        sqlx::query("SELECT COUNT(*) AS n FROM early_fraud_warnings WHERE part_id = $1")
            .bind(&paid.part)
            .fetch_one(app.db.writer())
            .await
            .unwrap()
            .get::<i64, _>("n")
            == 1
    })
    .await;
    let (_, list) = admin.get_html("/admin/disputes").await;
    assert!(list.contains("made with stolen card"));
    let needle = format!("href=\"/admin/orders/{}?", paid.part);
    let at = list.find(&needle).expect("a full-refund link") + 6;
    let link = list[at..at + list[at..].find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(link.contains("reason=fraudulent"), "{link}");
    // One click opens the preview; nothing is refunded until it is confirmed.
    let (status, page) = admin.get_html(&link).await;
    assert_eq!(status, 200);
    assert!(page.contains("The buyer gets $100.00 back"), "{link}");
    assert!(page.contains("Confirm: refund $100.00"));
    let refunded = || async {
        sqlx::query("SELECT refunded_minor FROM order_parts WHERE id = $1")
            .bind(&paid.part)
            .fetch_one(app.db.writer())
            .await
            .unwrap()
            .get::<i64, _>("refunded_minor")
    };
    assert_eq!(refunded().await, 0);
    let res = admin
        .post_form(
            &format!("/admin/orders/{}/refunds", paid.part),
            &[
                ("amount", "100.00"),
                ("reason", "fraudulent"),
                ("fee", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(refunded().await, 10_000);
    let (_, list) = admin.get_html("/admin/disputes").await;
    assert!(list.contains("Fully refunded"));
}
