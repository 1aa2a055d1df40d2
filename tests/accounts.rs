//! Sign up, log in, log out, CSRF and throttling over real HTTP.

mod common;

use common::{PASSWORD, csrf_from, location, spawn_app, unique_email};
use marketplace::domain::Role;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

#[tokio::test]
async fn buyer_signs_up_checks_their_inbox_then_logs_in() {
    let app = spawn_app().await;
    let email = unique_email("buyer");

    let res = app.signup(&email, PASSWORD, "buyer").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/signup/sent");
    let (status, html) = app.get_html("/signup/sent").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Check your inbox"));
    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::SEE_OTHER,
        "sign-up alone does not log in (a taken address must look the same)"
    );

    // Unverified people may log in and browse; the layout asks them to confirm.
    let res = app.login(&email, PASSWORD).await;
    assert_eq!(location(&res), "/account");
    let (status, html) = app.get_html("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&email), "account page shows the email");
    assert!(html.contains("You are logged in."), "flash shown once");
    assert!(html.contains("Please confirm your email address"));
    let (_, again) = app.get_html("/account").await;
    assert!(!again.contains("You are logged in."), "flash is gone");
    assert!(again.contains("Log out"), "nav offers log-out");

    app.mark_verified(&email).await;
    let (_, html) = app.get_html("/account").await;
    assert!(!html.contains("Please confirm your email address"));
}

#[tokio::test]
async fn seller_signs_up_and_reaches_the_dashboard_after_log_in() {
    let app = spawn_app().await;
    let email = unique_email("seller");
    let res = app.signup(&email, PASSWORD, "seller").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/signup/sent");
    let res = app.login(&email, PASSWORD).await;
    assert_eq!(location(&res), "/seller");
    let (status, html) = app.get_html("/seller").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Seller dashboard"));
}

#[tokio::test]
async fn invalid_sign_up_re_renders_values_and_field_errors() {
    let app = spawn_app().await;
    let res = app.signup("not-an-email", "short", "buyer").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"value="not-an-email""#),
        "email re-rendered"
    );
    assert!(html.contains("Enter an email address like name@example.com."));
    assert!(html.contains("Use at least 10 characters."));
    assert!(!html.contains("short"), "the password is never echoed back");
}

#[tokio::test]
async fn nobody_can_sign_up_as_admin() {
    let app = spawn_app().await;
    let email = unique_email("sneaky");
    let res = app.signup(&email, PASSWORD, "admin").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.login(&email, PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no account was created"
    );
}

#[tokio::test]
async fn duplicate_email_in_any_case_creates_nothing_and_looks_the_same() {
    let app = spawn_app().await;
    let email = unique_email("dup");
    let first = app.signup(&email, PASSWORD, "buyer").await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);

    // The same answer as a new account: nothing tells that the address is taken.
    let shouted = format!("  {}  ", email.to_uppercase());
    let res = app.signup(&shouted, "another password 123", "seller").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), location(&first));

    // The original account is untouched: its password works, the second one does not.
    let res = app.login(&email, "another password 123").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.login(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account", "still a buyer");
}

#[tokio::test]
async fn log_in_and_log_out() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;
    let res = app.get("/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "logged out");
    assert_eq!(location(&res), "/login");

    let res = app.login(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);

    let res = app.logout().await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, home) = app.get_html("/").await;
    assert!(home.contains("You are logged out."));
    assert!(home.contains(r#"href="/login""#), "anonymous nav again");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;

    let wrong = app.login(&user.email, "wrong password!!").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains("Email or password is incorrect."));
    assert!(
        wrong.contains(&format!(r#"value="{}""#, user.email)),
        "email re-rendered"
    );

    let unknown = app.login(&unique_email("nobody"), "wrong password!!").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Email or password is incorrect.")
    );
    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::SEE_OTHER,
        "not logged in"
    );
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;
    let res = app.login(&user.email, &user.password).await;
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mp_session="))
        .expect("session cookie set at log-in")
        .to_string();
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http in tests");
}

#[tokio::test]
async fn https_base_url_makes_the_cookie_secure() {
    let app = common::spawn_app_with(&[
        ("BASE_URL", "https://shop.example"),
        ("ALLOW_OUTBOX_IN_PRODUCTION", "true"),
    ])
    .await;
    let res = app.get("/login").await;
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mp_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("Secure"));
}

#[tokio::test]
async fn log_in_starts_a_new_session_with_a_new_csrf_token() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Seller).await;
    app.logout().await;
    let before = app.csrf_token().await;
    app.login(&user.email, &user.password).await;
    let (_, html) = app.get_html("/seller").await;
    let after = csrf_from(&html).expect("logout form has a token");
    assert_ne!(before, after);
}

#[tokio::test]
async fn post_without_csrf_token_is_a_403_page() {
    let app = spawn_app().await;
    let email = unique_email("csrf");
    app.get("/signup").await; // a session exists, but the form omits the token
    let res = app
        .post_raw(
            "/signup",
            &[("email", &email), ("password", PASSWORD), ("role", "buyer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert!(html.contains("This form has expired"));
    assert!(html.contains("<html"), "a page, not a bare error");

    let res = app
        .post_raw(
            "/login",
            &[
                ("email", &email),
                ("password", PASSWORD),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "wrong token");

    // A client that never had a session (e.g. another site posting cross-origin).
    let stranger = common::client();
    let res = stranger
        .post(app.url("/logout"))
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Nothing was created by the rejected sign-up.
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn five_failures_for_one_email_pause_log_in_with_a_429_page() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;
    for _ in 0..5 {
        let res = app.login(&user.email, "wrong password!!").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Even the right password is refused now, and the page says when to retry.
    let res = app.login(&user.email.to_uppercase(), &user.password).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After header");
    assert!(retry_after > 0 && retry_after <= 15 * 60);
    let html = res.text().await.unwrap();
    assert!(html.contains("try again after"), "{html}");
    assert!(html.contains("UTC"));
}

#[tokio::test]
async fn five_failures_from_one_address_pause_log_in_for_every_email() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;
    for i in 0..5 {
        let res = app
            .login(&unique_email(&format!("guess{i}")), "wrong password!!")
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let res = app.login(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_successful_log_in_forgives_earlier_typos() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;
    for _ in 0..3 {
        app.login(&user.email, "wrong password!!").await;
    }
    assert_eq!(
        app.login(&user.email, &user.password).await.status(),
        StatusCode::SEE_OTHER
    );
    app.logout().await;
    // The counter for this email restarted: two more typos do not lock the account.
    for _ in 0..2 {
        app.login(&user.email, "wrong password!!").await;
    }
    assert_eq!(
        app.login(&user.email, &user.password).await.status(),
        StatusCode::SEE_OTHER
    );
}
