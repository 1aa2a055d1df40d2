//! Mail, verification, password reset, revocable sessions and the race-free
//! throttle, against a real SMTP server over TCP (tests/common/email.rs).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::email::{SmtpSink, free_port, link_in, outbox_for};
use common::{PASSWORD, TestApp, csrf_from, location, spawn_app, spawn_app_with, unique_email};
use marketplace::db::{self, account_tokens};
use marketplace::domain::{Currency, Money, Role};
use marketplace::email::templates::{self, Audience};
use marketplace::jobs;
use reqwest::StatusCode;
use reqwest::cookie::CookieStore;

async fn app_with_smtp(sink: &SmtpSink) -> TestApp {
    spawn_app_with(&[("SMTP_URL", &sink.url())]).await
}

/// The path of the first link to `needle` in the text part of a message.
fn path_of(app: &TestApp, text: &str, needle: &str) -> String {
    let link = link_in(text, needle).unwrap_or_else(|| panic!("a {needle} link in {text}"));
    link.strip_prefix(&app.settings.base_url)
        .expect("links are absolute, on BASE_URL")
        .to_string()
}

#[tokio::test]
async fn sign_up_mails_one_verification_with_both_parts_and_the_link_verifies_once() {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(&sink).await;
    let email = unique_email("verify");
    let res = app.signup(&email, PASSWORD, "buyer").await;
    assert_eq!(location(&res), "/signup/sent");

    let got = sink.wait_for(&email, 1).await;
    assert_eq!(got.len(), 1, "the verification mail arrived");
    let mail = &got[0];
    assert_eq!(mail.rcpt_to, vec![email.clone()]);
    assert_eq!(mail.subject(), "Confirm your email address");
    assert!(
        mail.header("content-type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    let text = mail.part("text/plain").expect("text part");
    let html = mail.part("text/html").expect("html part");
    let path = path_of(&app, &text, "/email/verify?token=");
    assert!(html.contains(&format!("{}{path}", app.settings.base_url)));
    assert!(text.contains("expires in 24 hours"));
    assert!(html.contains("<html"), "{html}");

    // Unverified: logged in, the account says so.
    app.login(&email, PASSWORD).await;
    let user = marketplace::db::users::find_by_email(
        &app.db,
        &marketplace::domain::Email::parse(&email).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!user.email_verified());

    let res = app.get(&path).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account", "the logged-in owner goes home");
    let (_, html) = app.get_html("/account").await;
    assert!(html.contains("Your email address is confirmed."));
    assert!(!html.contains("Please confirm your email address"));
    let user = marketplace::db::users::find_by_id(&app.db, &user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(user.email_verified());

    // Single use.
    let (status, html) = app.get_html(&path).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("This link no longer works"));

    // The welcome mail follows the verification; nothing arrived twice.
    let got = sink.wait_for(&email, 2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].subject(), "Welcome to Marketplace");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.messages_to(&email).len(), 2, "each message once");
}

#[tokio::test]
async fn mail_waits_while_smtp_is_down_and_goes_out_when_it_is_back() {
    let port = free_port();
    let app = spawn_app_with(&[("SMTP_URL", &format!("smtp://127.0.0.1:{port}?tls=none"))]).await;
    let email = unique_email("down");
    let res = app.signup(&email, PASSWORD, "buyer").await;
    assert_eq!(
        location(&res),
        "/signup/sent",
        "sign-up does not wait for SMTP"
    );

    // The first delivery attempt fails (connection refused) and is retried later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sink = SmtpSink::start_on(port).await;
    assert!(sink.messages().is_empty());
    let got = sink.wait_for(&email, 1).await;
    assert_eq!(got.len(), 1, "delivered by the retry");
    assert_eq!(got[0].subject(), "Confirm your email address");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.messages_to(&email).len(), 1);
}

#[tokio::test]
async fn one_cause_processed_three_times_sends_one_mail_with_its_amounts() {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(&sink).await;
    let to = unique_email("seller");
    let payout = templates::PayoutFailed {
        amount: Money::new(123_456, Currency::Eur),
        failure_code: Some("account_closed".into()),
        link: format!("{}/seller/payouts", app.settings.base_url),
    };
    let mail = templates::payout_failed(&to, &payout).unwrap();
    let key = templates::dedupe_key("evt_1PayoutFailed", "payout_failed", &to);
    // Like a webhook event delivered three times, each in its own transaction.
    for _ in 0..3 {
        let mut tx = app.db.begin().await.unwrap();
        jobs::enqueue_email(&mut tx, &mail, Some(&key), db::now_unix())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let got = sink.wait_for(&to, 1).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(sink.messages_to(&to).len(), 1, "one mail for one cause");
    let m = &got[0];
    assert_eq!(m.subject(), "Payout of €1,234.56 failed");
    let text = m.part("text/plain").unwrap();
    let html = m.part("text/html").unwrap();
    for part in [&text, &html] {
        assert!(part.contains("€1,234.56"), "{part}");
        assert!(part.contains("Your bank account has been closed."));
    }
}

#[tokio::test]
async fn receipts_and_refunds_arrive_with_recipient_subject_and_amounts() {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(&sink).await;
    let buyer = unique_email("buyer");
    let usd = |minor| Money::new(minor, Currency::Usd);
    let receipt = templates::OrderReceipt {
        order_id: "ord_123".into(),
        lines: vec![
            templates::OrderLine {
                title: "Mug <b>&</b> saucer".into(),
                quantity: 2,
                amount: usd(2_400),
            },
            templates::OrderLine {
                title: "Tea".into(),
                quantity: 1,
                amount: usd(650),
            },
        ],
        total: usd(3_050),
        link: format!("{}/orders/ord_123", app.settings.base_url),
    };
    let refund = templates::RefundIssued {
        order_id: "ord_123".into(),
        amount: usd(650),
        refunded_total: usd(650),
        order_total: usd(3_050),
        link: format!("{}/orders/ord_123", app.settings.base_url),
    };
    let mut tx = app.db.begin().await.unwrap();
    for mail in [
        templates::order_receipt(&buyer, &receipt).unwrap(),
        templates::refund_issued(&buyer, &refund, Audience::Buyer).unwrap(),
    ] {
        jobs::enqueue_email(&mut tx, &mail, None, db::now_unix())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let got = sink.wait_for(&buyer, 2).await;
    assert_eq!(got.len(), 2);
    let by_subject = |s: &str| got.iter().find(|m| m.subject() == s).expect(s).clone();
    let r = by_subject("Your order ord_123 — $30.50");
    let text = r.part("text/plain").unwrap();
    assert!(text.contains("2 x Mug <b>&</b> saucer: $24.00"), "{text}");
    assert!(text.contains("Total: $30.50"));
    let html = r.part("text/html").unwrap();
    assert!(
        html.contains("Mug &#60;b&#62;&#38;&#60;/b&#62; saucer"),
        "escaped in html: {html}"
    );
    assert!(html.contains("$30.50"));
    let f = by_subject("Your refund of $6.50 for order ord_123");
    assert!(
        f.part("text/plain")
            .unwrap()
            .contains("Refunded so far: $6.50 of $30.50")
    );
}

#[tokio::test]
async fn names_and_subjects_cannot_inject_headers_or_recipients() {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(&sink).await;
    let admin = unique_email("admin");
    let data = templates::SellerDisconnected {
        shop_name: "Evil\r\nBcc: victim@example.com\r\n\r\nforged body".into(),
        seller_email: "evil@example.com".into(),
        account_id: "acct_1".into(),
        at: 1_795_651_200,
        link: format!("{}/admin", app.settings.base_url),
    };
    let mail = templates::seller_disconnected(&admin, &data).unwrap();
    let mut tx = app.db.begin().await.unwrap();
    jobs::enqueue_email(&mut tx, &mail, None, db::now_unix())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let got = sink.wait_for(&admin, 1).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.rcpt_to, vec![admin.clone()], "no extra recipient");
    assert!(m.header("bcc").is_none(), "no injected header");
    assert_eq!(
        m.subject(),
        "Seller Evil Bcc: victim@example.com forged body disconnected from Stripe"
    );
    assert!(sink.messages_to("victim@example.com").is_empty());

    // An address with a line break never reaches a mail: the form refuses it.
    let res = app
        .signup(
            "a@example.com\r\nBcc: victim@example.com",
            PASSWORD,
            "buyer",
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn sign_up_with_a_taken_email_looks_the_same_and_mails_the_owner() {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(&sink).await;
    let owner = app.login_as(Role::Buyer).await;
    app.logout().await;
    let fresh = unique_email("fresh");

    let a = app
        .signup(&owner.email, "an attacker's password", "seller")
        .await;
    let b = app.signup(&fresh, PASSWORD, "seller").await;
    assert_eq!(a.status(), b.status());
    assert_eq!(location(&a), location(&b));

    let to_owner = sink.wait_for(&owner.email, 2).await;
    let notice = to_owner
        .iter()
        .find(|m| m.subject() == "You already have a Marketplace account")
        .expect("the owner is told");
    assert!(
        notice
            .part("text/plain")
            .unwrap()
            .contains("/password/forgot")
    );
    // The account is unchanged: still a buyer with the old password.
    let res = app.login(&owner.email, "an attacker's password").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.login(&owner.email, PASSWORD).await;
    assert_eq!(location(&res), "/account");
}

/// A client with a cookie jar the test can read, logged in as `email`.
async fn logged_in_jar(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let html = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_from(&html).unwrap();
    let res = client
        .post(app.url("/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "logged in");
    (client, jar)
}

/// The raw `Cookie:` header value the jar would send, as someone copying it would.
fn saved_cookie(app: &TestApp, jar: &reqwest::cookie::Jar) -> String {
    let url = app.url("/").parse().unwrap();
    jar.cookies(&url)
        .expect("a cookie")
        .to_str()
        .unwrap()
        .to_string()
}

async fn status_with_cookie(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let res = common::client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, location(&res))
}

#[tokio::test]
async fn password_reset_answers_the_same_for_unknown_emails_and_ends_every_session() {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(&sink).await;
    let user = app.login_as(Role::Buyer).await;
    let (_, jar) = logged_in_jar(&app, &user.email, &user.password).await;
    let saved = saved_cookie(&app, &jar);
    assert_eq!(
        status_with_cookie(&app, &saved, "/account").await.0,
        StatusCode::OK
    );
    app.logout().await;

    let known = app
        .post_form("/password/forgot", &[("email", &user.email)])
        .await;
    let unknown_email = unique_email("nobody");
    let unknown = app
        .post_form("/password/forgot", &[("email", &unknown_email)])
        .await;
    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(unknown.status(), StatusCode::OK);
    let strip = |html: String, email: &str| {
        let html = html.replace(email, "EMAIL");
        // The CSRF token differs per page render only by value.
        match csrf_from(&html) {
            Some(t) => html.replace(&t, "TOKEN"),
            None => html,
        }
    };
    assert_eq!(
        strip(known.text().await.unwrap(), &user.email),
        strip(unknown.text().await.unwrap(), &unknown_email),
        "the same page whether or not the account exists"
    );

    let got = sink.wait_for(&user.email, 2).await;
    let reset = got
        .iter()
        .find(|m| m.subject() == "Reset your Marketplace password")
        .expect("reset mail");
    let path = path_of(
        &app,
        &reset.part("text/plain").unwrap(),
        "/password/reset?token=",
    );
    assert!(
        sink.messages_to(&unknown_email).is_empty(),
        "nobody to mail"
    );

    let (status, html) = app.get_html(&path).await;
    assert_eq!(status, StatusCode::OK);
    let token = path.split("token=").nth(1).unwrap().to_string();
    assert!(html.contains(&token));
    let new_password = "a brand new password 42";
    let res = app
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", new_password)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");

    // The cookie saved before the reset no longer logs anyone in.
    let (status, to) = status_with_cookie(&app, &saved, "/account").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/login");
    // Old password refused, new one works.
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        location(&app.login(&user.email, new_password).await),
        "/account"
    );
    // The link is single-use.
    app.logout().await;
    assert_eq!(app.get(&path).await.status(), StatusCode::BAD_REQUEST);
    let res = app
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", "yet another password 1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.login(&user.email, "yet another password 1")
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The owner is told about the change.
    let got = sink.wait_for(&user.email, 3).await;
    assert!(
        got.iter()
            .any(|m| m.subject() == "Your Marketplace password was changed")
    );
}

#[tokio::test]
async fn an_expired_reset_link_is_refused() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;
    let found = marketplace::db::users::find_by_email(
        &app.db,
        &marketplace::domain::Email::parse(&user.email).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let raw = "expiredtoken0123456789abcdefghijklmnopqrstu";
    let now = db::now_unix();
    let mut conn = app.db.acquire().await.unwrap();
    account_tokens::insert(
        &mut conn,
        &marketplace::auth::accounts::token_hash(raw),
        &found.id,
        account_tokens::Purpose::ResetPassword,
        now - 1,
        now - 3601,
    )
    .await
    .unwrap();
    drop(conn);
    let (status, html) = app.get_html(&format!("/password/reset?token={raw}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("This link no longer works"));
    let res = app
        .post_form(
            "/password/reset",
            &[("token", raw), ("password", "a brand new password 42")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        location(&app.login(&user.email, PASSWORD).await),
        "/account",
        "the password did not change"
    );
}

#[tokio::test]
async fn a_session_older_than_the_absolute_lifetime_no_longer_logs_in() {
    let app = spawn_app_with(&[("SESSION_MAX_AGE_SECS", "2")]).await;
    let user = app.login_as(Role::Buyer).await;
    let (_, jar) = logged_in_jar(&app, &user.email, &user.password).await;
    let saved = saved_cookie(&app, &jar);
    assert_eq!(
        status_with_cookie(&app, &saved, "/account").await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, to) = status_with_cookie(&app, &saved, "/account").await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/login"));
}

#[tokio::test]
async fn an_idle_session_ends() {
    let app = spawn_app_with(&[("SESSION_IDLE_SECS", "2")]).await;
    let user = app.login_as(Role::Buyer).await;
    let (_, jar) = logged_in_jar(&app, &user.email, &user.password).await;
    let saved = saved_cookie(&app, &jar);
    assert_eq!(
        status_with_cookie(&app, &saved, "/account").await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        status_with_cookie(&app, &saved, "/account").await.0,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn log_out_everywhere_and_a_password_change_end_other_sessions() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Seller).await;
    let (_, jar) = logged_in_jar(&app, &user.email, &user.password).await;
    let elsewhere = saved_cookie(&app, &jar);

    // Changing the password keeps this session and ends the other one.
    let new_password = "a changed password 777";
    let res = app
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, html) = app.get_html("/account/security").await;
    assert_eq!(status, StatusCode::OK, "this session continues");
    assert!(html.contains("Every other device was logged out."));
    assert_eq!(
        status_with_cookie(&app, &elsewhere, "/seller").await.0,
        StatusCode::SEE_OTHER
    );

    // A wrong current password changes nothing.
    let res = app
        .post_form(
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "whatever password 1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("That is not your current password.")
    );

    let (_, jar) = logged_in_jar(&app, &user.email, new_password).await;
    let second = saved_cookie(&app, &jar);
    assert_eq!(
        status_with_cookie(&app, &second, "/seller").await.0,
        StatusCode::OK
    );
    let res = app.post_form("/account/logout-everywhere", &[]).await;
    assert_eq!(location(&res), "/login");
    assert_eq!(
        status_with_cookie(&app, &second, "/seller").await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.get("/seller").await.status(),
        StatusCode::SEE_OTHER,
        "this one too"
    );
}

#[tokio::test]
async fn twenty_parallel_wrong_passwords_get_at_most_five_checks() {
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;

    // Every attempt has its own session and token, ready before any is sent.
    let mut ready = Vec::new();
    for _ in 0..20 {
        let client = common::client();
        let html = client
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        ready.push((client, csrf_from(&html).unwrap()));
    }
    let mut set = tokio::task::JoinSet::new();
    for (client, token) in ready {
        let url = app.url("/login");
        let email = user.email.clone();
        set.spawn(async move {
            client
                .post(url)
                .form(&[
                    ("email", email.as_str()),
                    ("password", "wrong password!!"),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let statuses = set.join_all().await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 20, "{statuses:?}");
    assert!(checked <= 5, "{checked} passwords were checked");
    assert_eq!(
        app.login(&user.email, &user.password).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn login_via(app: &TestApp, forwarded_for: &str, email: &str, password: &str) -> StatusCode {
    let token = app.csrf_token().await;
    app.client
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    // Trusted: each client behind the proxy has its own budget.
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;
    for i in 0..5 {
        let s = login_via(
            &app,
            "203.0.113.7",
            &unique_email(&format!("g{i}")),
            "wrong password!!",
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(
        login_via(&app, "203.0.113.7", &user.email, &user.password).await,
        StatusCode::TOO_MANY_REQUESTS,
        "that client is paused"
    );
    assert_eq!(
        login_via(&app, "198.51.100.9", &user.email, &user.password).await,
        StatusCode::SEE_OTHER,
        "another client behind the same proxy is not"
    );

    // Not trusted: the header is ignored, everyone is the TCP peer.
    let app = spawn_app().await;
    let user = app.login_as(Role::Buyer).await;
    app.logout().await;
    for i in 0..5 {
        let s = login_via(
            &app,
            &format!("203.0.113.{i}"),
            &unique_email("g"),
            "wrong password!!",
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(
        login_via(&app, "198.51.100.9", &user.email, &user.password).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged header does not buy a fresh budget"
    );
}

#[tokio::test]
async fn resending_the_verification_link_is_throttled() {
    let app = spawn_app().await;
    let user = app.login_as_unverified(Role::Seller).await;
    let (status, html) = app.get_html("/account/security").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Send a new confirmation link"));
    for _ in 0..3 {
        let res = app.post_form("/email/resend", &[]).await;
        assert_eq!(location(&res), "/account/security");
    }
    let res = app.post_form("/email/resend", &[]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let outbox = app.settings.data_dir.join("outbox");
    let mails = outbox_for(&outbox, &user.email, 4).await;
    assert_eq!(mails.len(), 4, "sign-up + three resends");
    assert!(
        mails
            .iter()
            .all(|m| m.email.subject == "Confirm your email address")
    );
}

#[tokio::test]
async fn admins_see_sent_mail_newest_first_with_the_html_escaped() {
    let app = spawn_app().await;
    let buyer = common::client();
    let email = unique_email("walk");
    let html = buyer
        .get(app.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_from(&html).unwrap();
    buyer
        .post(app.url("/signup"))
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("role", "buyer"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    let outbox = app.settings.data_dir.join("outbox");
    outbox_for(&outbox, &email, 1).await;

    let admin = app.login_as(Role::Admin).await;
    outbox_for(&outbox, &admin.email, 1).await;
    let (status, list) = app.get_html("/admin/mail").await;
    assert_eq!(status, StatusCode::OK);
    let a = list
        .find(&admin.email)
        .expect("the admin's welcome is listed");
    let b = list
        .find(&email)
        .expect("the buyer's verification is listed");
    assert!(a < b, "newest first");
    let mails = outbox_for(&outbox, &email, 1).await;
    let (status, page) = app
        .get_html(&format!("/admin/mail/{}", mails[0].name))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("/email/verify?token="),
        "the text part is shown"
    );
    assert!(
        page.contains("&#60;a href="),
        "the html part is escaped source"
    );
    assert!(
        !page.contains("<a href=\"http://127.0.0.1"),
        "never injected"
    );
    assert_eq!(
        app.get("/admin/mail/..%2Fsession").await.status(),
        StatusCode::NOT_FOUND
    );

    // Only admins.
    let other = spawn_app().await;
    other.login_as(Role::Buyer).await;
    assert_eq!(
        other.get("/admin/mail").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn payout_mails_reach_the_seller_once_each_even_when_the_event_comes_three_times() {
    use common::webhooks::{
        charge, deliver, endpoints, signature, sim_events, sim_post, wait_for_jobs,
    };
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(&sink).await;
    let seller = common::sellers::active_seller(&app).await;
    let acct = seller.account().to_string();
    charge(&app, &acct, 10_000, 500).await;
    sim_post(
        &app,
        "test_helpers/payouts",
        &[("amount", "3000"), ("currency", "usd"), ("status", "paid")],
        Some(&acct),
    )
    .await;
    sim_post(
        &app,
        "test_helpers/payouts",
        &[
            ("amount", "2000"),
            ("currency", "usd"),
            ("status", "failed"),
            ("failure_code", "account_closed"),
        ],
        Some(&acct),
    )
    .await;
    let failed = sink.settled(&seller.email, "Payout of $20.00 failed").await;
    assert_eq!(failed.len(), 1);
    // Stripe retries the delivery twice more; still one mail.
    let events = sim_events(&app, Some(&acct), "payout.failed").await;
    let secret = endpoints(&app).connect.secret;
    for _ in 0..2 {
        let res = deliver(
            &app,
            "/webhooks/stripe/connect",
            &events[0],
            &signature(&secret, db::now_unix(), &events[0]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    wait_for_jobs(&app.db).await;
    let failed = sink.settled(&seller.email, "Payout of $20.00 failed").await;
    assert_eq!(failed.len(), 1, "one mail for one failed payout");
    let m = &failed[0];
    assert_eq!(m.rcpt_to, vec![seller.email.clone()]);
    for part in [m.part("text/plain").unwrap(), m.part("text/html").unwrap()] {
        assert!(part.contains("$20.00"), "{part}");
        assert!(
            part.contains("Your bank account has been closed."),
            "{part}"
        );
    }
    let paid = sink
        .settled(&seller.email, "Payout of $30.00 on its way")
        .await;
    assert_eq!(paid.len(), 1);
    assert!(paid[0].part("text/plain").unwrap().contains("$30.00"));
}

#[tokio::test]
async fn sellers_hear_of_each_change_of_standing_once_and_admins_of_a_disconnection() {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(&sink).await;
    let admins = [unique_email("admin"), unique_email("admin")];
    for email in &admins {
        marketplace::auth::accounts::register(
            &app.db,
            &app.settings.base_url,
            &marketplace::domain::Email::parse(email).unwrap(),
            &marketplace::domain::Password::parse(PASSWORD.into()).unwrap(),
            Role::Admin,
        )
        .await
        .unwrap();
    }
    // Activated through the return route and account.updated events alike: one mail.
    let seller = common::sellers::active_seller(&app).await;
    let ready = sink
        .settled(&seller.email, "You can now receive payments")
        .await;
    assert_eq!(ready.len(), 1, "once, whichever path saw it first");
    assert!(
        ready[0]
            .part("text/plain")
            .unwrap()
            .contains(&format!("{}/seller", app.settings.base_url))
    );

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
    let due = sink
        .settled(&seller.email, "Stripe needs more information")
        .await;
    assert_eq!(due.len(), 1);

    common::sellers::sim_helper(
        &app,
        &format!("/v1/test_helpers/accounts/{}/deauthorize", seller.account()),
        &[],
        None,
    )
    .await;
    for admin in &admins {
        let got = sink.settled(admin, "Seller ").await;
        assert_eq!(got.len(), 1, "{admin}: one mail");
        assert!(got[0].subject().ends_with("disconnected from Stripe"));
        let text = got[0].part("text/plain").unwrap();
        assert!(text.contains(seller.account()), "{text}");
        assert!(text.contains(&seller.email), "{text}");
    }
    assert!(
        sink.messages_to(&seller.email)
            .iter()
            .all(|m| !m.subject().starts_with("Seller ")),
        "only admins hear of it"
    );
}

#[test]
fn a_canceled_authorization_is_told_in_both_parts_with_the_name_escaped() {
    let mail = templates::payment_canceled(
        "buyer@example.com",
        &templates::PaymentCanceled {
            amount: Money::new(4_000, Currency::Usd),
            seller_name: "Owl <b>Ceramics</b>".into(),
            why: "the seller canceled it".into(),
            link: "http://127.0.0.1:8080/orders/ord_1".into(),
        },
    )
    .unwrap();
    assert_eq!(
        mail.subject,
        "Your payment to Owl <b>Ceramics</b> was canceled"
    );
    assert!(mail.text.contains("$40.00") && mail.text.contains("the seller canceled it"));
    assert!(mail.text.contains("/orders/ord_1"));
    assert!(
        mail.html.contains("Owl &#60;b&#62;Ceramics&#60;/b&#62;"),
        "{}",
        mail.html
    );
    assert!(!mail.html.contains("<b>Ceramics"));
}
