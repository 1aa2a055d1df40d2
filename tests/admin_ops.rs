//! The admin's operations pages: the overview's figures after real checkouts, webhook events
//! (list, payload, replay), reconciliation from its button, the ledger check and the fees
//! report with its CSV; each replay and reconciliation start writes one audit row.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::admin::audit_count;
use common::checkout::{ActiveSeller, order_id_from};
use common::webhooks::{deliver, endpoints, onboarded_account, signature, wait_until};
use common::{TestApp, location, spawn_app, spawn_app_with, test_settings};
use marketplace::db::{self, audit, webhook_events};
use marketplace::domain::audit::AuditAction;
use marketplace::domain::{Role, time};
use marketplace::email::Mailer;
use marketplace::jobs::{Worker, WorkerConfig};
use reqwest::{Method, StatusCode};

/// A worker of the test's own (the app runs none with JOB_WORKERS=0) that retries at once.
fn worker(app: &TestApp) -> Worker {
    let settings = test_settings(&app.test_db, &[]);
    Worker::new(
        app.db.clone(),
        Arc::new(Mailer::from_settings(&settings).unwrap()),
    )
    .with_stripe(app.stripe.clone(), Arc::new(app.settings.clone()))
    .with_config(WorkerConfig {
        first_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        ..WorkerConfig::default()
    })
}

async fn drain(worker: &Worker) {
    while worker.run_once().await.unwrap() {}
}

/// A buyer (logged in on `app` afterwards) pays for `quantity` of each product in one order.
async fn buy(app: &TestApp, items: &[(&str, i64)]) -> String {
    let buyer = app.login_as(Role::Buyer).await;
    let card = app.save_test_card(&buyer, "pm_card_visa").await;
    for (product, quantity) in items {
        assert_eq!(app.add_to_cart(product, *quantity).await.status(), 303);
    }
    let res = app.checkout(&card).await;
    assert_eq!(res.status(), 303);
    let order = order_id_from(&location(&res));
    for (_, status, _, _) in app.parts(&order).await {
        assert_eq!(status, "paid");
    }
    app.logout().await;
    order
}

/// The application fees the emulator holds for the charges on `seller`'s account: (amount,
/// amount refunded) summed.
async fn emulator_fees(app: &TestApp, seller: &ActiveSeller) -> (i64, i64) {
    let list = app
        .sim(
            Method::GET,
            "/v1/application_fees",
            None,
            &[("limit", "100")],
        )
        .await;
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["account"] == seller.account.as_str())
        .fold((0, 0), |(a, r), f| {
            (
                a + f["amount"].as_i64().unwrap(),
                r + f["amount_refunded"].as_i64().unwrap(),
            )
        })
}

async fn last_audit(app: &TestApp) -> audit::Entry {
    audit::page(&app.db, None, None, 1)
        .await
        .unwrap()
        .pop()
        .expect("an audit entry")
}

#[tokio::test]
async fn the_overview_shows_what_was_paid_in_the_period() {
    let app = spawn_app().await;
    let owl = app.active_seller("Owl Ceramics").await;
    let mug = app.product(&owl, "Mug", 2000, "usd", 5).await;
    let fox = app.active_seller("Fox Prints").await;
    let print = app.product(&fox, "Print", 1500, "jpy", 5).await;
    buy(&app, &[(&mug, 2), (&print, 1)]).await;
    let (owl_fees, _) = emulator_fees(&app, &owl).await;
    let (fox_fees, _) = emulator_fees(&app, &fox).await;
    assert_eq!(owl_fees, 230, "5% of $40.00 + 30¢");

    app.login_as(Role::Admin).await;
    let (status, html) = app.get_html("/admin?days=7").await;
    assert_eq!(status, StatusCode::OK);
    let today = time::ymd(db::now_unix());
    assert!(html.contains(&format!("to {today}")), "{html}");
    // USD: one charge of $40.00, fee $2.30 and nothing refunded; JPY: ¥1,500 with its fee.
    assert!(html.contains("$40.00") && html.contains("$2.30"), "{html}");
    assert!(html.contains("¥1,500"), "{html}");
    let jpy_fee = format!("¥{fox_fees}");
    assert!(html.contains(&jpy_fee), "{jpy_fee} in {html}");
    assert!(html.contains("<strong>0</strong> open disputes"));
    assert!(
        html.contains("<strong>2</strong> Active"),
        "sellers by state"
    );
    assert!(
        html.contains(&format!(r#"data-label="Day"><div>{today}</div>"#)),
        "the daily table"
    );
    assert!(html.contains("buyers"), "the accounts are still listed");
    // One chart per currency, drawn on the server; today's USD bar carries its amount.
    assert!(html.contains("overview-sales-usd-title"), "{html}");
    assert!(html.contains("overview-sales-jpy-title"), "{html}");
    assert!(html.contains(&format!("{today}: Sales $40.00")), "{html}");

    // The same figures from the view model the chart is drawn from: every day of the period.
    let totals = db::admin_reports::sales_totals(&app.db, 0, i64::MAX)
        .await
        .unwrap();
    let usd = totals.iter().find(|t| t.currency.code() == "usd").unwrap();
    assert_eq!(
        (usd.charges, usd.captured.minor, usd.fees.minor),
        (1, 4000, 230)
    );

    // A period before the sales shows none of them.
    let (status, html) = app.get_html("/admin?from=2026-01-01&to=2026-01-31").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No sales in this period."), "{html}");
}

#[tokio::test]
async fn a_bad_period_is_a_clear_error() {
    let app = spawn_app().await;
    app.login_as(Role::Admin).await;
    for (query, says) in [
        ("days=14", "Choose the last 7, 30 or 90 days"),
        ("from=2026-01-01", "Give both a start and an end date"),
        ("from=2026-02-30&to=2026-03-01", "is not a date"),
        ("from=2026-03-01&to=2026-02-01", "is after the end"),
        ("from=2020-01-01&to=2026-01-01", "choose at most 366"),
    ] {
        let (status, html) = app.get_html(&format!("/admin?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(html.contains(says), "{query}: {html}");
        assert!(html.contains(r#"aria-invalid="true""#), "{query}");
    }
    let (status, html) = app.get_html("/admin/fees?from=2026-13&to=2026-12").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("is not a month"));
    assert_eq!(
        app.get("/admin/fees.csv?from=2026-05&to=2026-04")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn events_are_listed_and_their_payload_is_escaped() {
    let app = spawn_app().await;
    let id = format!("evt_adminops{}", db::now_unix());
    let body = serde_json::json!({
        "id": id, "object": "event", "api_version": "2026-09-30.endive",
        "created": db::now_unix(), "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null}, "type": "customer.created",
        "data": {"object": {"id": "cus_x", "object": "customer",
                            "description": "<script>alert('owned')</script>"}}
    })
    .to_string();
    let secret = endpoints(&app).platform.secret;
    let header = signature(&secret, db::now_unix(), &body);
    assert_eq!(
        deliver(&app, "/webhooks/stripe", &body, &header)
            .await
            .status(),
        StatusCode::OK
    );
    wait_until("the event is processed", || async {
        webhook_events::get(&app.db, &id)
            .await
            .unwrap()
            .is_some_and(|e| e.status == webhook_events::IGNORED)
    })
    .await;

    app.login_as(Role::Admin).await;
    let (status, html) = app.get_html("/admin/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&id) && html.contains("customer.created"),
        "{html}"
    );
    let (_, html) = app
        .get_html("/admin/events?type=customer.created&status=ignored")
        .await;
    assert!(html.contains(&id));
    let (_, html) = app.get_html("/admin/events?status=failed").await;
    assert!(!html.contains(&id), "filtered out");
    for bad in ["status=bogus", "type=%3Cb%3E", "before=nonsense"] {
        assert_eq!(
            app.get(&format!("/admin/events?{bad}")).await.status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }

    let (status, html) = app.get_html(&format!("/admin/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("alert("), "the payload is shown");
    assert!(!html.contains("<script>alert"), "and escaped: {html}");
    assert!(html.contains("&#34;description&#34;") || html.contains("&quot;description&quot;"));
    assert!(
        html.contains("\n  &#34;") || html.contains("\n  &quot;"),
        "pretty-printed"
    );
    assert_eq!(
        app.get("/admin/events/evt_nosuchevent").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(audit_count(&app.db).await, 0, "reading logs nothing");
}

#[tokio::test]
async fn replaying_a_failed_event_runs_it_once_more_and_is_logged_once() {
    let app = spawn_app_with(&[("JOB_WORKERS", "0")]).await;
    let worker = worker(&app);
    // Every read of a charge fails (Stripe 500s) until the fault is removed.
    app.sim(
        Method::POST,
        "/v1/test_helpers/faults",
        None,
        &[
            ("path", "/v1/charges/*"),
            ("method", "GET"),
            ("kind", "server_error"),
            ("status", "500"),
        ],
    )
    .await;
    let acct = onboarded_account(&app).await;
    common::webhooks::charge(&app, &acct, 1000, 100).await;
    let find = || async {
        webhook_events::list_recent(&app.db, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.event_type == "charge.succeeded")
    };
    wait_until("the charge.succeeded delivery", || async {
        find().await.is_some()
    })
    .await;
    drain(&worker).await;
    let event = find().await.unwrap();
    assert_eq!(event.status, webhook_events::FAILED);
    assert_eq!(event.attempts, 10, "parked after its last attempt");
    assert!(
        db::ledger::entries_of(&app.db, &acct)
            .await
            .unwrap()
            .is_empty()
    );
    app.sim(Method::DELETE, "/v1/test_helpers/faults", None, &[])
        .await;

    let admin = app.login_as(Role::Admin).await;
    let page = format!("/admin/events/{}", event.id);
    let (_, html) = app.get_html(&page).await;
    assert!(
        html.contains("Replay event") && html.contains("failed"),
        "{html}"
    );
    let res = app.post_form(&format!("{page}/replay"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), page);
    assert_eq!(audit_count(&app.db).await, 1);
    let entry = last_audit(&app).await;
    assert_eq!(entry.action, AuditAction::EventReplay);
    assert_eq!(entry.subject_id, event.id);
    assert_eq!(entry.actor_email, admin.email);
    assert!(
        entry.before_json.contains("failed"),
        "{}",
        entry.before_json
    );

    // A second click while it is queued changes nothing and logs nothing.
    let res = app.post_form(&format!("{page}/replay"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&app.db).await, 1);
    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("already queued"), "{html}");

    drain(&worker).await;
    let after = find().await.unwrap();
    assert_eq!(after.status, webhook_events::APPLIED);
    assert_eq!(after.attempts, 11, "run exactly once more");
    let charges = |entries: Vec<db::ledger::LedgerEntry>| {
        entries.into_iter().filter(|e| e.kind == "charge").count()
    };
    assert_eq!(
        charges(db::ledger::entries_of(&app.db, &acct).await.unwrap()),
        1
    );

    // Replaying an applied event runs the handler again and records nothing twice.
    let res = app.post_form(&format!("{page}/replay"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&app.db).await, 2);
    drain(&worker).await;
    let again = find().await.unwrap();
    assert_eq!((again.status.as_str(), again.attempts), ("applied", 12));
    assert_eq!(
        charges(db::ledger::entries_of(&app.db, &acct).await.unwrap()),
        1
    );
    let (_, html) = app
        .get_html("/admin/audit?action=webhook_event.replay")
        .await;
    assert!(html.contains(&format!("/admin/events/{}", event.id)));
}

#[tokio::test]
async fn reconciliation_from_the_button_is_logged_once_and_ends_with_a_summary() {
    let app = spawn_app_with(&[("JOB_WORKERS", "0")]).await;
    common::webhooks::set_deliveries(&app, false).await;
    let acct = onboarded_account(&app).await;
    common::webhooks::charge(&app, &acct, 2500, 250).await;

    app.login_as(Role::Admin).await;
    let (_, html) = app.get_html("/admin/events").await;
    assert!(html.contains("Reconcile now"));
    let res = app.post_form("/admin/reconcile", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let run_page = location(&res);
    assert!(run_page.starts_with("/admin/reconcile/rec_"), "{run_page}");
    let run_id = run_page.trim_start_matches("/admin/reconcile/").to_owned();
    assert_eq!(audit_count(&app.db).await, 1);
    let entry = last_audit(&app).await;
    assert_eq!(entry.action, AuditAction::ReconcileStart);
    assert_eq!(entry.subject_id, run_id);

    // Queued: the page says so and reloads itself; a second click shows the same run.
    let res = app.get(&run_page).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("refresh").is_some());
    assert!(res.text().await.unwrap().contains("queued"));
    let res = app.post_form("/admin/reconcile", &[]).await;
    assert_eq!(location(&res), run_page);
    assert_eq!(audit_count(&app.db).await, 1, "nothing new was started");

    drain(&worker(&app)).await;
    let run = db::reconcile::get_run(&app.db, &run_id)
        .await
        .unwrap()
        .expect("the run recorded itself");
    assert_eq!(run.status, "done");
    assert!(run.counts.events_new > 0, "{:?}", run.counts);
    let res = app.get(&run_page).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get("refresh").is_none(),
        "finished: no reload"
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("Summary: {} missing event", run.counts.events_new)),
        "{html}"
    );
    let (_, list) = app.get_html("/admin/events").await;
    assert!(list.contains(&run_page), "listed among recent runs");
    assert_eq!(
        app.get("/admin/reconcile/rec_nosuchrun").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(audit_count(&app.db).await, 1);
}

/// One paid order from a seller, a partial refund with the fee, the ledger caught up.
async fn sold_and_partly_refunded(app: &TestApp) -> ActiveSeller {
    let seller = app.active_seller("Owl Ceramics").await;
    let mug = app.product(&seller, "Mug", 2000, "usd", 5).await;
    let order = buy(app, &[(&mug, 2)]).await;
    let (_, _, pi, _) = app.parts(&order).await.remove(0);
    let intent = app
        .sim(
            Method::GET,
            &format!("/v1/payment_intents/{}", pi.unwrap()),
            Some(&seller.account),
            &[],
        )
        .await;
    let charge = intent["latest_charge"].as_str().unwrap().to_owned();
    app.sim(
        Method::POST,
        "/v1/refunds",
        Some(&seller.account),
        &[
            ("charge", &charge),
            ("amount", "1000"),
            ("refund_application_fee", "true"),
        ],
    )
    .await;
    wait_until("the fee refund in the ledger", || async {
        db::ledger::entries_of(&app.db, &seller.account)
            .await
            .unwrap()
            .iter()
            .any(|e| e.kind == "application_fee_refund")
    })
    .await;
    seller
}

fn csv_lines(text: &str) -> Vec<String> {
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_fees_report_equals_the_emulators_application_fees() {
    let app = spawn_app().await;
    let seller = sold_and_partly_refunded(&app).await;
    let (fees, refunded) = emulator_fees(&app, &seller).await;
    assert_eq!(fees, 230);
    assert!(refunded > 0 && refunded < fees, "part of the fee went back");
    let cents = |minor: i64| format!("{}.{:02}", minor / 100, minor % 100);
    let net = fees - refunded;

    app.login_as(Role::Admin).await;
    let (status, html) = app.get_html("/admin/fees").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Owl Ceramics"), "{html}");
    for amount in [fees, refunded, net] {
        assert!(html.contains(&format!("${}", cents(amount))), "{html}");
    }

    let res = app.get("/admin/fees.csv").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let lines = csv_lines(&res.text().await.unwrap());
    assert_eq!(
        lines[0],
        "month,seller_id,seller,currency,charges,charged,fees,fee_refunds,net"
    );
    let month = marketplace::domain::reports::month_of(db::now_unix());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[1],
        format!(
            "{month},{},Owl Ceramics,usd,1,40.00,2.30,{},{}",
            seller.user_id,
            cents(refunded),
            cents(net)
        )
    );
    // The overview agrees: fees net of the fee refund.
    let (_, html) = app.get_html("/admin").await;
    assert!(
        html.contains(&format!("<strong>${}</strong>", cents(net))),
        "{html}"
    );
}

#[tokio::test]
async fn the_csv_neutralises_formulas_in_shop_names_and_quotes_commas() {
    let app = spawn_app().await;
    let seller = app.active_seller("Owl Ceramics").await;
    let mug = app.product(&seller, "Mug", 2000, "usd", 5).await;
    buy(&app, &[(&mug, 1)]).await;
    app.login_as(Role::Admin).await;
    for (name, cell) in [
        (
            "=HYPERLINK(\"http://x\")",
            "\"'=HYPERLINK(\"\"http://x\"\")\"",
        ),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("Pots, pans and more", "\"Pots, pans and more\""),
    ] {
        sqlx::query("UPDATE sellers SET display_name = $1 WHERE user_id = $2")
            .bind(name)
            .bind(&seller.user_id)
            .execute(app.db.writer())
            .await
            .unwrap();
        marketplace::db::catalog::invalidate();
        let text = app.get("/admin/fees.csv").await.text().await.unwrap();
        let lines = csv_lines(&text);
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[1].contains(&format!(",{},usd,1,20.00,1.30,0.00,1.30", cell)),
            "{name}: {}",
            lines[1]
        );
    }
}

#[tokio::test]
async fn the_ledger_page_shows_no_differences_after_a_sale() {
    let app = spawn_app().await;
    sold_and_partly_refunded(&app).await;
    common::webhooks::wait_for_jobs(&app.db).await;
    app.login_as(Role::Admin).await;
    let mut html = String::new();
    // Deliveries may still trickle in; the ledger converges to Stripe's figures.
    for _ in 0..50 {
        let (status, page) = app.get_html("/admin/ledger").await;
        assert_eq!(status, StatusCode::OK);
        html = page;
        if html.contains("No differences") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(html.contains("No differences"), "{html}");
}

#[tokio::test]
async fn only_admins_open_the_operations_pages() {
    let app = spawn_app().await;
    let event = format!("evt_matrix{}", db::now_unix());
    let body = serde_json::json!({
        "id": event, "object": "event", "created": db::now_unix(), "livemode": false,
        "type": "customer.created", "data": {"object": {"id": "cus_y", "object": "customer"}}
    })
    .to_string();
    let header = signature(&endpoints(&app).platform.secret, db::now_unix(), &body);
    deliver(&app, "/webhooks/stripe", &body, &header).await;
    let gets = [
        format!("/admin/events/{event}"),
        "/admin/reconcile/rec_whatever".to_owned(),
        "/admin/events".to_owned(),
        "/admin/ledger".to_owned(),
        "/admin/fees".to_owned(),
        "/admin/fees.csv".to_owned(),
    ];
    let posts = [
        format!("/admin/events/{event}/replay"),
        "/admin/reconcile".to_owned(),
    ];
    for role in [Some(Role::Buyer), Some(Role::Seller), None] {
        if let Some(r) = role {
            app.login_as(r).await;
        }
        for path in &gets {
            let res = app.get(path).await;
            check(&res, role, path);
        }
        for path in &posts {
            let res = app.post_form(path, &[]).await;
            check(&res, role, path);
        }
        if role.is_some() {
            app.logout().await;
        }
    }
    assert_eq!(audit_count(&app.db).await, 0);
    let kinds = db::jobs::counts_by_kind(&app.db, db::now_unix())
        .await
        .unwrap();
    assert!(
        kinds
            .iter()
            .all(|k| k.kind != marketplace::webhooks::RECONCILE),
        "no run was queued"
    );
}

fn check(res: &reqwest::Response, role: Option<Role>, path: &str) {
    match role {
        Some(r) => assert_eq!(res.status(), StatusCode::FORBIDDEN, "{r:?} {path}"),
        None => {
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "anonymous {path}");
            assert_eq!(location(res), "/login", "anonymous {path}");
        }
    }
}
