//! `/metrics`: who may read it, and that its series move with requests, Stripe calls, jobs
//! and webhook events.

mod common;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use common::{TestApp, spawn_app, spawn_app_with};
use marketplace::db::{self, jobs};
use marketplace::stripe::{GatewayConfig, GatewayError, StripeGateway};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The value of one series (`name{labels}`) in a Prometheus text page; 0 when absent.
fn value(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("metrics page")
}

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("an address"))
        .build()
        .expect("client")
}

#[tokio::test]
async fn metrics_answer_loopback_in_prometheus_format_and_count_requests_by_route() {
    let app = spawn_app().await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );

    let healthz = r#"marketplace_http_requests_total{method="GET",route="/healthz",status="200"}"#;
    let unmatched =
        r#"marketplace_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    let before = scrape(&app).await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/no/such/page-8731").await.status(),
        StatusCode::NOT_FOUND
    );
    let after = scrape(&app).await;
    assert!(
        value(&after, healthz) >= value(&before, healthz) + 2.0,
        "{after}"
    );
    assert!(value(&after, unmatched) >= value(&before, unmatched) + 1.0);
    assert!(
        !after.contains("page-8731"),
        "raw paths never become labels"
    );
    assert!(after.contains("# TYPE marketplace_http_request_duration_seconds histogram"));
    assert!(after.contains(
        r#"marketplace_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="+Inf"}"#
    ));
}

#[tokio::test]
async fn metrics_are_a_404_for_peers_outside_the_allow_list() {
    let app = spawn_app_with(&[("METRICS_ALLOW", "127.0.0.2")]).await;
    // The app listens on 127.0.0.1; a client can connect to it from any loopback address.
    let from_1 = client_from("127.0.0.1")
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(from_1.status(), StatusCode::NOT_FOUND);
    assert!(
        from_1.text().await.unwrap().contains("Page not found"),
        "the same page as any unknown path"
    );

    let from_2 = client_from("127.0.0.2");
    let res = from_2.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("marketplace_"));
    // Through a reverse proxy on an allowed host, the real client is someone else.
    let proxied = from_2
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::NOT_FOUND);

    // The default allow list is loopback only, and excluding loopback really excludes it.
    let app = spawn_app_with(&[("METRICS_ALLOW", "10.0.0.0/8")]).await;
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

/// A Stripe-compatible server that answers each request with the next canned 403.
async fn forbidding_server(bodies: Vec<&'static str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let queue = Arc::new(Mutex::new(VecDeque::from(bodies)));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = queue.lock().unwrap().pop_front().unwrap_or("{}");
                let response = format!(
                    "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    base
}

#[tokio::test]
async fn stripe_calls_are_counted_by_operation_and_outcome_and_a_restricted_key_is_named() {
    let app = spawn_app().await;
    let ok = r#"marketplace_stripe_requests_total{operation="balance.retrieve",outcome="ok"}"#;
    let denied = r#"marketplace_stripe_requests_total{operation="balance.retrieve",outcome="permission_denied"}"#;
    let before = scrape(&app).await;
    app.stripe
        .check()
        .await
        .expect("the embedded emulator answers");

    let base = forbidding_server(vec![
        r#"{"error":{"type":"permission_error","message":"The provided key 'rk_test_***' does not have the required permissions for this endpoint."}}"#,
        r#"{"error":{"type":"invalid_request_error","code":"account_invalid","message":"The provided key does not have access to account 'acct_1'."}}"#,
    ])
    .await;
    let restricted = StripeGateway::connect(&GatewayConfig {
        secret_key: Some("rk_test_restricted".into()),
        api_base: Some(base),
        data_dir: app.test_db.data_dir.clone(),
    })
    .await
    .expect("building a client does not call Stripe");
    let err = restricted.check().await.expect_err("403");
    assert!(
        matches!(&err, GatewayError::PermissionDenied(m) if m.contains("required permissions")),
        "a restricted key is not an account problem: {err:?}"
    );
    let err = restricted.check().await.expect_err("403");
    assert!(
        matches!(err, GatewayError::AccountNotReady(_)),
        "revoked access to a connected account still is: {err:?}"
    );

    let after = scrape(&app).await;
    assert!(value(&after, ok) >= value(&before, ok) + 1.0, "{after}");
    assert!(value(&after, denied) >= value(&before, denied) + 1.0);
    assert!(after.contains(
        r#"marketplace_stripe_request_duration_seconds_count{operation="balance.retrieve",outcome="ok"}"#
    ));
}

#[tokio::test]
async fn job_gauges_show_queued_running_and_failed_jobs_by_kind() {
    // No workers of its own, so only this test claims the probe jobs.
    let app = spawn_app_with(&[("JOB_WORKERS", "0")]).await;
    let kind = "metrics_probe";
    let now = db::now_unix();
    let pool = &app.db;
    let enqueue = |run_at: i64| async move {
        let mut conn = pool.acquire().await.unwrap();
        jobs::enqueue(&mut conn, kind, "{}", None, run_at, now)
            .await
            .unwrap()
            .expect("queued")
    };
    let running = enqueue(now - 60).await;
    let claimed = jobs::claim(&app.db, "probe", 3600)
        .await
        .unwrap()
        .expect("due");
    assert_eq!(claimed.id, running);

    let failed = enqueue(now - 60).await;
    let job = jobs::claim(&app.db, "probe", 3600)
        .await
        .unwrap()
        .expect("the second one is due and not leased");
    assert_eq!(job.id, failed);
    jobs::fail(&app.db, &job.id, &job.token, "boom", 0, true)
        .await
        .unwrap();
    enqueue(now + 1_000_000).await; // stays queued

    let page = scrape(&app).await;
    let series = |state: &str| format!(r#"marketplace_jobs{{kind="{kind}",state="{state}"}}"#);
    assert_eq!(value(&page, &series("queued")), 1.0, "{page}");
    assert_eq!(value(&page, &series("running")), 1.0);
    assert_eq!(value(&page, &series("failed")), 1.0);
}

#[tokio::test]
async fn webhook_events_are_counted_by_type() {
    let app = spawn_app().await;
    let series = r#"marketplace_webhook_events_received_total{type="account.updated"}"#;
    let before = value(&scrape(&app).await, series);
    marketplace::telemetry::metrics::webhook_received("account.updated");
    marketplace::telemetry::metrics::webhook_received("account.updated");
    let after = value(&scrape(&app).await, series);
    assert!(after >= before + 2.0, "{before} → {after}");
}
