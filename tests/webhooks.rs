//! Stripe webhooks end to end against the embedded emulator: refused deliveries store
//! nothing, duplicates and out-of-order arrivals end in one right state, failures are retried,
//! two instances process each event once, the ledger matches Stripe's balance transactions,
//! and reconciliation brings in what was never delivered.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::webhooks::*;
use common::{TestDb, spawn_app, spawn_app_with, test_settings};
use marketplace::db::{self, webhook_events};
use marketplace::email::Mailer;
use marketplace::jobs::{Worker, WorkerConfig};
use marketplace::startup::Application;
use marketplace::webhooks::{WebhookCtx, ledger, reconcile};
use reqwest::StatusCode;

fn ctx(app: &common::TestApp) -> WebhookCtx {
    WebhookCtx {
        db: app.db.clone(),
        stripe: app.stripe.clone(),
        settings: Arc::new(app.settings.clone()),
    }
}

fn now() -> i64 {
    db::now_unix()
}

fn fake_event(id: &str, account: Option<&str>, livemode: bool) -> String {
    let mut e = serde_json::json!({
        "id": id, "object": "event", "api_version": "2026-09-30.endive", "created": now(),
        "livemode": livemode, "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null},
        "type": "customer.created",
        "data": {"object": {"id": "cus_test", "object": "customer", "created": now(), "livemode": livemode}}
    });
    if let Some(a) = account {
        e["account"] = serde_json::json!(a);
    }
    e.to_string()
}

#[tokio::test]
async fn refused_deliveries_answer_400_and_store_nothing() {
    let app = spawn_app().await;
    set_deliveries(&app, false).await;
    let eps = endpoints(&app);
    let (platform, connect) = (eps.platform.secret, eps.connect.secret);
    let body = fake_event("evt_refused1", None, false);
    let connect_body = fake_event("evt_refused2", Some("acct_123"), false);
    let t = now();

    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "/webhooks/stripe",
            &body,
            "t=1,v1=deadbeef".into(),
            "bad signature",
        ),
        (
            "/webhooks/stripe",
            &body,
            signature(&platform, t - 301, &body),
            "stale timestamp",
        ),
        (
            "/webhooks/stripe",
            &body,
            signature(&platform, t, &body.replace("cus_test", "cus_evil")),
            "tampered body",
        ),
        (
            "/webhooks/stripe/connect",
            &connect_body,
            signature(&platform, t, &connect_body),
            "the platform's secret on the Connect endpoint",
        ),
        (
            "/webhooks/stripe",
            &body,
            signature(&connect, t, &body),
            "the Connect secret on the platform endpoint",
        ),
        ("/webhooks/stripe", &body, String::new(), "no signature"),
        (
            "/webhooks/stripe",
            &connect_body,
            signature(&platform, t, &connect_body),
            "a Connect event on the platform endpoint",
        ),
    ];
    for (path, body, header, what) in &cases {
        let res = deliver(&app, path, body, header).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
    }
    let live = fake_event("evt_live1", None, true);
    let res = deliver(
        &app,
        "/webhooks/stripe",
        &live,
        &signature(&platform, t, &live),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "livemode event with a test key"
    );

    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let res = deliver(
        &app,
        "/webhooks/stripe",
        &huge,
        &signature(&platform, t, &huge),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(
        webhook_events::count(&app.db).await.unwrap(),
        0,
        "nothing stored"
    );
    assert_eq!(
        db::jobs::count_pending(&app.db).await.unwrap(),
        0,
        "nothing queued"
    );

    // The same bodies, properly signed, are accepted (and an unknown type is ignored).
    let ok = deliver(
        &app,
        "/webhooks/stripe",
        &body,
        &signature(&platform, t, &body),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let ok = deliver(
        &app,
        "/webhooks/stripe/connect",
        &connect_body,
        &signature(&connect, t, &connect_body),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    wait_for_jobs(&app.db).await;
    let stored = webhook_events::get(&app.db, "evt_refused1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, webhook_events::IGNORED);
}

#[tokio::test]
async fn the_same_event_three_times_has_one_effect() {
    let app = spawn_app().await;
    let acct = onboarded_account(&app).await;
    set_deliveries(&app, false).await;
    let (_, ch) = charge(&app, &acct, 2000, 200).await;
    let secret = endpoints(&app).connect.secret;
    let events = sim_events(&app, Some(&acct), "charge.succeeded").await;
    assert_eq!(events.len(), 1);
    let body = &events[0];
    for _ in 0..3 {
        let res = deliver(
            &app,
            "/webhooks/stripe/connect",
            body,
            &signature(&secret, now(), body),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    wait_for_jobs(&app.db).await;
    let stored: Vec<_> = webhook_events::list_recent(&app.db, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "charge.succeeded")
        .collect();
    assert_eq!(stored.len(), 1, "stored once");
    let entries = db::ledger::entries_of(&app.db, &acct).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].source_id, ch);
    assert_eq!(entries[0].amount, 2000);
    let event = &stored[0];
    assert_eq!(event.status, webhook_events::APPLIED);
    assert_eq!(event.attempts, 1, "handled once");
}

#[tokio::test]
async fn charge_refunded_before_charge_succeeded_ends_in_the_right_state() {
    let app = spawn_app().await;
    let acct = onboarded_account(&app).await;
    set_deliveries(&app, false).await;
    let (_, ch) = charge(&app, &acct, 5000, 300).await;
    sim_post(
        &app,
        "refunds",
        &[("charge", &ch), ("amount", "1500")],
        Some(&acct),
    )
    .await;
    let secret = endpoints(&app).connect.secret;
    let refunded = sim_events(&app, Some(&acct), "charge.refunded").await;
    let succeeded = sim_events(&app, Some(&acct), "charge.succeeded").await;
    for body in [&refunded[0], &succeeded[0]] {
        let res = deliver(
            &app,
            "/webhooks/stripe/connect",
            body,
            &signature(&secret, now(), body),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    wait_for_jobs(&app.db).await;
    let entries = db::ledger::entries_of(&app.db, &acct).await.unwrap();
    let mut kinds: Vec<_> = entries
        .iter()
        .map(|e| (e.kind.as_str(), e.amount))
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec![("charge", 5000), ("refund", -1500)]);
    assert!(
        ledger::check_account(&app.db, &app.stripe, Some(&acct))
            .await
            .unwrap()
            .is_empty(),
        "the connected account's ledger matches Stripe"
    );
}

#[tokio::test]
async fn a_handler_failing_twice_then_succeeding_is_applied_once() {
    // No workers of its own: the test drives one with immediate retries.
    let app = spawn_app_with(&[("JOB_WORKERS", "0")]).await;
    let acct = onboarded_account(&app).await;
    let (_, ch) = charge(&app, &acct, 1000, 100).await;
    // Reading the charge back fails twice (Stripe 500s), then works.
    sim_post(
        &app,
        "test_helpers/faults",
        &[
            ("path", &format!("/v1/charges/{ch}")),
            ("method", "GET"),
            ("kind", "server_error"),
            ("status", "500"),
            ("count", "2"),
        ],
        None,
    )
    .await;
    wait_until("the charge.succeeded delivery", || async {
        webhook_events::list_recent(&app.db, 100)
            .await
            .unwrap()
            .iter()
            .any(|e| e.event_type == "charge.succeeded")
    })
    .await;
    let settings = test_settings(&app.test_db, &[]);
    let worker = Worker::new(
        app.db.clone(),
        Arc::new(Mailer::from_settings(&settings).unwrap()),
    )
    .with_stripe(app.stripe.clone(), Arc::new(settings.clone()))
    .with_config(WorkerConfig {
        first_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        ..WorkerConfig::default()
    });
    while worker.run_once().await.unwrap() {}
    let event = webhook_events::list_recent(&app.db, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event_type == "charge.succeeded")
        .unwrap();
    assert_eq!(event.status, webhook_events::APPLIED);
    assert_eq!(event.attempts, 3, "two failures, then applied");
    let job =
        db::jobs::status_by_dedupe_key(&app.db, &format!("process_webhook_event:{}", event.id))
            .await
            .unwrap()
            .unwrap();
    assert!(job.done);
    assert_eq!(job.attempts, 3);
    assert_eq!(
        db::ledger::entries_of(&app.db, &acct).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn two_app_instances_on_one_database_process_each_event_once() {
    let app = spawn_app().await;
    // A second instance: same database, same Stripe platform (through its API), own data dir.
    let other_dir = TestDb::new();
    let mut settings = test_settings(
        &other_dir,
        &[
            ("STRIPE_SECRET_KEY", &sim_key(&app)),
            ("STRIPE_API_BASE", app.stripe.api_base()),
        ],
    );
    settings.database_url = app.test_db.url.clone();
    let second = Application::build(settings).await.expect("second instance");
    tokio::spawn(second.run_until_stopped());

    let acct = onboarded_account(&app).await;
    for i in 0..8 {
        charge(&app, &acct, 1000 + i, 100).await;
    }
    wait_until("every charge event stored", || async {
        let events = webhook_events::list_recent(&app.db, 1000).await.unwrap();
        events
            .iter()
            .filter(|e| e.event_type == "charge.succeeded")
            .count()
            == 8
    })
    .await;
    wait_for_jobs(&app.db).await;
    let events = webhook_events::list_recent(&app.db, 1000).await.unwrap();
    for e in &events {
        assert!(
            e.status == webhook_events::APPLIED || e.status == webhook_events::IGNORED,
            "{} {}",
            e.event_type,
            e.status
        );
        assert_eq!(e.attempts, 1, "{} handled once", e.event_type);
        let job =
            db::jobs::status_by_dedupe_key(&app.db, &format!("process_webhook_event:{}", e.id))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(job.attempts, 1, "{} claimed once", e.event_type);
    }
    let charges: Vec<_> = db::ledger::entries_of(&app.db, &acct)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "charge")
        .collect();
    assert_eq!(charges.len(), 8);
}

#[tokio::test]
async fn the_ledger_equals_the_balance_transactions_after_charge_refund_dispute_payout() {
    let app = spawn_app().await;
    let acct = onboarded_account(&app).await;
    let (_, ch) = charge(&app, &acct, 10_000, 1_000).await;
    sim_post(
        &app,
        "refunds",
        &[
            ("charge", &ch),
            ("amount", "2500"),
            ("refund_application_fee", "true"),
        ],
        Some(&acct),
    )
    .await;
    let (_, disputed) = charge(&app, &acct, 4_000, 400).await;
    sim_post(
        &app,
        &format!("test_helpers/charges/{disputed}/dispute"),
        &[],
        None,
    )
    .await;
    sim_post(
        &app,
        "test_helpers/payouts",
        &[("amount", "3000"), ("currency", "usd"), ("status", "paid")],
        Some(&acct),
    )
    .await;
    wait_until("the payout.paid delivery", || async {
        webhook_events::list_recent(&app.db, 1000)
            .await
            .unwrap()
            .iter()
            .any(|e| e.event_type == "payout.paid")
    })
    .await;
    // Deliveries may still trickle in; the ledger must converge to Stripe's figures.
    let mut diffs = Vec::new();
    for _ in 0..100 {
        wait_for_jobs(&app.db).await;
        diffs = ledger::check(&app.db, &app.stripe).await.unwrap();
        if diffs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(diffs.is_empty(), "differences: {diffs:#?}");
    let mut kinds: Vec<String> = db::ledger::entries_of(&app.db, &acct)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    kinds.extend(
        db::ledger::entries_of(&app.db, "platform")
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind),
    );
    for kind in [
        "charge",
        "refund",
        "application_fee",
        "application_fee_refund",
        "adjustment",
        "payout",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "a {kind} entry in {kinds:?}"
        );
    }
}

#[tokio::test]
async fn reconciliation_ingests_events_that_were_never_delivered() {
    let app = spawn_app().await;
    let acct = onboarded_account(&app).await;
    wait_until("the account's onboarding event", || async {
        webhook_events::list_recent(&app.db, 100)
            .await
            .unwrap()
            .iter()
            .any(|e| e.account.as_deref() == Some(acct.as_str()))
    })
    .await;
    wait_for_jobs(&app.db).await;
    set_deliveries(&app, false).await;
    let before = webhook_events::count(&app.db).await.unwrap();
    let (_, ch) = charge(&app, &acct, 3000, 300).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        webhook_events::count(&app.db).await.unwrap(),
        before,
        "nothing delivered"
    );

    let run = reconcile::run(&ctx(&app), "rec_test1").await.unwrap();
    assert_eq!(run.status, "done");
    assert!(run.counts.events_new >= 3, "{:?}", run.counts);
    assert_eq!(run.counts.events_applied, run.counts.events_new);
    assert_eq!(run.counts.events_failed, 0);
    assert_eq!(run.counts.accounts_done, run.counts.accounts_total);
    let events = webhook_events::list_recent(&app.db, 1000).await.unwrap();
    for t in [
        "payment_intent.succeeded",
        "charge.succeeded",
        "application_fee.created",
    ] {
        let e = events
            .iter()
            .find(|e| e.event_type == t)
            .unwrap_or_else(|| panic!("{t}"));
        assert_eq!(e.source, "reconcile");
        assert_eq!(e.status, webhook_events::APPLIED);
    }
    let entries = db::ledger::entries_of(&app.db, &acct).await.unwrap();
    assert!(entries.iter().any(|e| e.source_id == ch));

    // A second run finds nothing new.
    let again = reconcile::run(&ctx(&app), "rec_test2").await.unwrap();
    assert_eq!(again.counts.events_new, 0);
}

#[tokio::test]
async fn endpoints_are_registered_once_and_reused_after_a_restart() {
    let test_db = TestDb::new();
    let settings = test_settings(&test_db, &[]);
    let first = Application::build(settings.clone()).await.unwrap();
    let file = test_db.data_dir.join("webhook-endpoints.json");
    let saved = std::fs::read_to_string(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let first_port = first.port();
    first.stripe().shutdown().await;
    drop(first);
    let second = Application::build(settings).await.unwrap();
    assert_ne!(second.port(), first_port);
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let before: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(again["platform"]["id"], before["platform"]["id"], "reused");
    assert_eq!(again["connect"]["secret"], before["connect"]["secret"]);
    assert!(
        again["platform"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{}/webhooks/stripe", second.port())),
        "pointed at the new port"
    );
    second.stripe().shutdown().await;
}

/// Stripe's own account events, delivered to the Connect endpoint, move the seller's stored
/// state without the seller doing anything: requirements due, then deauthorization (products
/// off the storefront).
#[tokio::test]
async fn account_events_update_the_seller_without_a_page_visit() {
    let app = spawn_app().await;
    let seller = common::sellers::active_seller(&app).await;
    let state = || async {
        db::sellers::find(&app.db, &seller.user_id)
            .await
            .unwrap()
            .expect("seller row")
    };
    assert_eq!(state().await.account_state, "active");

    common::sellers::sim_helper(
        &app,
        &format!(
            "/v1/test_helpers/accounts/{}/requirements_due",
            seller.account()
        ),
        &[],
        None,
    )
    .await;
    wait_until("account.updated applied", || async {
        state().await.account_state == "requirements_due"
    })
    .await;

    common::sellers::sim_helper(
        &app,
        &format!("/v1/test_helpers/accounts/{}/deauthorize", seller.account()),
        &[],
        None,
    )
    .await;
    wait_until("deauthorization applied", || async {
        state().await.disconnected_at.is_some()
    })
    .await;
}

// ── Order payments through webhooks and reconciliation ──────────────────────

/// The status of an order part as stored.
async fn part_status(app: &common::TestApp, part: &str) -> String {
    use sqlx::Row;
    sqlx::query("SELECT status FROM order_parts WHERE id = $1")
        .bind(part)
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("status")
}

/// A checkout with a card that needs 3-D Secure, approved on the bank's page WITHOUT the
/// browser coming back to our return route: Stripe has the payment, our only ways to learn of
/// it are its events and reconciliation. Returns the part's id.
async fn paid_at_the_bank_only(
    app: &common::TestApp,
    seller: &common::checkout::ActiveSeller,
    card: &str,
) -> String {
    use sqlx::Row;
    let item = app.product(seller, "Vase", 2500, "usd", 5).await;
    assert_eq!(app.add_to_cart(&item, 1).await.status(), 303);
    let res = app.checkout(card).await;
    assert_eq!(res.status(), 303);
    let challenge = common::location(&res);
    assert!(challenge.contains("/hosted/3ds/"), "{challenge}");
    let part: String = sqlx::query(
        "SELECT op.id FROM order_parts op JOIN order_items i ON i.part_id = op.id
         WHERE i.product_id = $1",
    )
    .bind(&item)
    .fetch_one(app.db.writer())
    .await
    .unwrap()
    .get("id");
    assert_eq!(part_status(app, &part).await, "requires_action");
    let bank = common::client();
    assert_eq!(bank.get(&challenge).send().await.unwrap().status(), 200);
    let res = bank
        .post(&challenge)
        .form(&[("result", "approve")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    part
}

#[tokio::test]
async fn payment_intent_succeeded_three_times_pays_the_part_once_with_one_receipt() {
    let sink = common::email::SmtpSink::start().await;
    let app = spawn_app_with(&[("SMTP_URL", &sink.url())]).await;
    let seller = app.active_seller("Bank Vases").await;
    let buyer = app.login_as(marketplace::domain::Role::Buyer).await;
    let card = app
        .save_test_card(&buyer, "pm_card_authenticationRequired")
        .await;
    wait_for_jobs(&app.db).await;
    set_deliveries(&app, false).await;
    let part = paid_at_the_bank_only(&app, &seller, &card).await;

    let events = sim_events(&app, Some(&seller.account), "payment_intent.succeeded").await;
    assert_eq!(events.len(), 1);
    let secret = endpoints(&app).connect.secret;
    for _ in 0..3 {
        let res = deliver(
            &app,
            "/webhooks/stripe/connect",
            &events[0],
            &signature(&secret, now(), &events[0]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    wait_for_jobs(&app.db).await;
    assert_eq!(part_status(&app, &part).await, "paid", "the event paid it");
    let stored: Vec<_> = webhook_events::list_recent(&app.db, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "payment_intent.succeeded")
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].attempts, 1);
    assert!(
        stored[0]
            .outcome
            .as_deref()
            .unwrap_or_default()
            .contains("→ paid"),
        "{:?}",
        stored[0].outcome
    );

    let receipts = sink.settled(&buyer.email, "Your order ").await;
    assert_eq!(receipts.len(), 1, "one receipt");
    let text = receipts[0].part("text/plain").unwrap();
    assert!(text.contains("1 x Vase: $25.00"), "{text}");
    assert!(text.contains("Total: $25.00"), "{text}");
    let notices = sink.settled(&seller.email, "New order ").await;
    assert_eq!(notices.len(), 1, "one new-order mail");
    let text = notices[0].part("text/plain").unwrap();
    // 5% of $25.00 + 30¢
    assert!(text.contains("Platform fee: $1.55"), "{text}");
    assert!(text.contains("You receive: $23.45"), "{text}");
}

#[tokio::test]
async fn deliveries_off_during_a_checkout_reconciliation_brings_the_order_to_paid() {
    let app = spawn_app().await;
    let seller = app.active_seller("Quiet Vases").await;
    let buyer = app.login_as(marketplace::domain::Role::Buyer).await;
    let card = app
        .save_test_card(&buyer, "pm_card_authenticationRequired")
        .await;
    wait_for_jobs(&app.db).await;
    set_deliveries(&app, false).await;
    let before = webhook_events::count(&app.db).await.unwrap();

    // 1. The events exist at Stripe, never delivered: reconciliation ingests and applies them.
    let first = paid_at_the_bank_only(&app, &seller, &card).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(webhook_events::count(&app.db).await.unwrap(), before);
    assert_eq!(
        part_status(&app, &first).await,
        "requires_action",
        "nothing but Stripe knows it was paid"
    );
    let run = reconcile::run(&ctx(&app), "rec_paid1").await.unwrap();
    assert_eq!(run.status, "done");
    assert_eq!(part_status(&app, &first).await, "paid");
    let applied = webhook_events::list_recent(&app.db, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event_type == "payment_intent.succeeded")
        .expect("the missed event");
    assert_eq!(applied.source, "reconcile");
    assert_eq!(
        run.counts.payments_checked, 0,
        "the event settled it, not the re-read: {:?}",
        run.counts
    );

    // 2. Events reconciliation will not page (as if older than its cursor): the re-read of
    //    payments still undecided finds the outcome.
    let second = paid_at_the_bank_only(&app, &seller, &card).await;
    db::reconcile::advance_cursor(&app.db, &seller.account, now() + 3600, now())
        .await
        .unwrap();
    let run = reconcile::run(&ctx(&app), "rec_paid2").await.unwrap();
    assert_eq!(run.status, "done");
    assert_eq!(part_status(&app, &second).await, "paid");
    assert_eq!(run.counts.payments_checked, 1, "{:?}", run.counts);
    assert_eq!(run.counts.payments_settled, 1, "{:?}", run.counts);
    let receipts: i64 = {
        use sqlx::Row;
        sqlx::query(
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'send_email' AND dedupe_key LIKE 'mail:%:order_receipt:%'",
        )
        .fetch_one(app.db.writer())
        .await
        .unwrap()
        .get("n")
    };
    assert_eq!(receipts, 2, "one receipt per paid part");
}

#[tokio::test]
async fn a_worker_killed_mid_job_leaves_the_event_to_be_processed_once_after_its_lease() {
    let app = spawn_app_with(&[("JOB_WORKERS", "0")]).await;
    set_deliveries(&app, false).await;
    let acct = onboarded_account(&app).await;
    let (_, ch) = charge(&app, &acct, 1200, 120).await;
    let events = sim_events(&app, Some(&acct), "charge.succeeded").await;
    let secret = endpoints(&app).connect.secret;
    let res = deliver(
        &app,
        "/webhooks/stripe/connect",
        &events[0],
        &signature(&secret, now(), &events[0]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(db::jobs::count_pending(&app.db).await.unwrap(), 1);
    let event_id = webhook_events::list_recent(&app.db, 10).await.unwrap()[0]
        .id
        .clone();
    let job_key = format!("process_webhook_event:{event_id}");

    // The handler's read of the charge hangs long enough for the worker to die inside it.
    sim_post(
        &app,
        "test_helpers/faults",
        &[
            ("path", &format!("/v1/charges/{ch}")),
            ("method", "GET"),
            ("kind", "latency"),
            ("latency_ms", "3000"),
            ("count", "1"),
        ],
        None,
    )
    .await;
    let settings = Arc::new(test_settings(&app.test_db, &[]));
    let mailer = Arc::new(Mailer::from_settings(&settings).unwrap());
    let short_lease = WorkerConfig {
        lease: Duration::from_secs(1),
        first_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        ..WorkerConfig::default()
    };
    let doomed = Worker::new(app.db.clone(), mailer.clone())
        .with_stripe(app.stripe.clone(), settings.clone())
        .with_config(short_lease.clone());
    let running = tokio::spawn(async move { doomed.run_once().await });
    wait_until("the job claimed", || async {
        db::jobs::status_by_dedupe_key(&app.db, &job_key)
            .await
            .unwrap()
            .is_some_and(|j| j.attempts == 1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.abort();
    let _ = running.await;
    let event = webhook_events::get(&app.db, &event_id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(event.status, webhook_events::APPLIED, "died before the end");
    assert!(
        db::ledger::entries_of(&app.db, &acct)
            .await
            .unwrap()
            .is_empty()
    );

    // Another worker takes it once the dead one's lease has run out (nothing extends it now).
    let survivor = Worker::new(app.db.clone(), mailer)
        .with_stripe(app.stripe.clone(), settings)
        .with_config(short_lease);
    wait_until("the survivor takes the job over", || async {
        survivor.run_once().await.unwrap()
    })
    .await;
    while survivor.run_once().await.unwrap() {}

    let event = webhook_events::get(&app.db, &event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.status, webhook_events::APPLIED);
    let job = db::jobs::status_by_dedupe_key(&app.db, &job_key)
        .await
        .unwrap()
        .unwrap();
    assert!(job.done);
    assert_eq!(
        job.attempts, 2,
        "claimed by the dead worker, then by the survivor"
    );
    let entries = db::ledger::entries_of(&app.db, &acct).await.unwrap();
    assert_eq!(entries.len(), 1, "one effect: {entries:?}");
    assert_eq!(entries[0].source_id, ch);
}

#[tokio::test]
async fn a_card_saved_on_the_hosted_page_is_kept_when_the_buyer_never_comes_back() {
    use sqlx::Row;
    let app = spawn_app().await;
    app.login_as(marketplace::domain::Role::Buyer).await;
    let (_, cards) = app.get_html("/cards").await;
    let at =
        cards.find(r#"name="add_token" value=""#).unwrap() + r#"name="add_token" value=""#.len();
    let add_token = cards[at..at + 22].to_string();
    let res = app
        .post_form("/cards/add", &[("add_token", &add_token)])
        .await;
    let hosted = common::location(&res);
    assert!(hosted.contains("/hosted/checkout/cs_"), "{hosted}");
    let browser = common::client();
    assert_eq!(browser.get(&hosted).send().await.unwrap().status(), 200);
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
    let back = common::location(&done);
    // The tab is closed here: only checkout.session.completed tells us of the card.
    wait_until("checkout.session.completed applied", || async {
        webhook_events::list_recent(&app.db, 1000)
            .await
            .unwrap()
            .iter()
            .any(|e| {
                e.event_type == "checkout.session.completed" && e.status == webhook_events::APPLIED
            })
    })
    .await;
    let (_, cards) = app.get_html("/cards").await;
    assert!(cards.contains("visa ending in 4242"), "{cards}");

    // Coming back later, or the event again, saves nothing twice.
    let path = back
        .split_once("/cards/return")
        .map(|(_, rest)| format!("/cards/return{rest}"))
        .expect("our return route");
    assert_eq!(app.get(&path).await.status(), 303);
    let count = || async {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM saved_cards WHERE removed_at IS NULL")
            .fetch_one(app.db.writer())
            .await
            .unwrap()
            .get("n");
        n
    };
    assert_eq!(count().await, 1);
    let body = sim_events(&app, None, "checkout.session.completed").await;
    let secret = endpoints(&app).platform.secret;
    let res = deliver(
        &app,
        "/webhooks/stripe",
        &body[0],
        &signature(&secret, now(), &body[0]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    wait_for_jobs(&app.db).await;
    assert_eq!(count().await, 1);
}
