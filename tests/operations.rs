//! Probes, security headers, error pages, body cap, static assets.

mod common;

use common::spawn_app;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_follows_the_database() {
    let app = spawn_app().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");

    app.db.close().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        res.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "stays JSON"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/login", "/no-such-page", "/healthz"] {
        let res = app.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert!(
            !csp.contains("form-action"),
            "forms must be able to go to Stripe: {path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn pages_have_no_inline_script() {
    let app = spawn_app().await;
    for path in ["/", "/login", "/signup"] {
        let (_, html) = app.get_html(path).await;
        assert!(!html.contains("<script"), "{path}");
        assert!(!html.contains(" style=\""), "{path}");
    }
}

#[tokio::test]
async fn landing_page_explains_the_marketplace() {
    let app = spawn_app().await;
    let (status, html) = app.get_html("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("independent sellers"));
    assert!(
        html.contains("5% + $0.30"),
        "default platform fee from config"
    );
    assert!(html.contains(r#"href="/signup?role=seller""#));
    // Tests run without a Stripe key, so payments go to the embedded emulator.
    assert!(
        html.contains("Test mode — simulated Stripe"),
        "banner says payments are simulated"
    );
}

#[tokio::test]
async fn unknown_pages_get_a_friendly_404_page() {
    let app = spawn_app().await;
    let (status, html) = app.get_html("/definitely/not/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
    assert!(html.contains("<html"));
}

#[tokio::test]
async fn wrong_method_gets_an_html_error_page() {
    let app = spawn_app().await;
    let res = app.client.delete(app.url("/login")).send().await.unwrap();
    assert!(res.status().is_client_error());
    assert!(
        res.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn oversized_bodies_get_a_413_page() {
    let app = common::spawn_app_with(&[("MAX_BODY_BYTES", "2048")]).await;
    let token = app.csrf_token().await;
    let big = "x".repeat(4096);
    let res = app
        .post_raw("/login", &[("email", big.as_str()), ("csrf_token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let html = res.text().await.unwrap();
    assert!(html.contains("That was too much to send"));
    // Under the cap the same form is processed normally.
    let res = app
        .post_raw(
            "/login",
            &[
                ("email", "a@example.com"),
                ("password", "x"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn stylesheet_is_served_with_long_cache_headers() {
    let app = spawn_app().await;
    let (_, html) = app.get_html("/").await;
    let start = html
        .find("/static/app.css?v=")
        .expect("versioned stylesheet link");
    let href = &html[start..start + html[start..].find('"').unwrap()];
    let res = app.get(href).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        res.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    assert!(res.text().await.unwrap().contains(":focus-visible"));
}
