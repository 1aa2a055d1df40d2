//! Each role reaches its own pages and no one else's.

mod common;

use common::{location, spawn_app};
use marketplace::domain::Role;
use reqwest::StatusCode;

#[tokio::test]
async fn anonymous_visitors_are_sent_to_log_in() {
    let app = spawn_app().await;
    for path in ["/account", "/seller", "/admin"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), "/login", "{path}");
    }
}

#[tokio::test]
async fn buyer_cannot_open_seller_or_admin_pages() {
    let app = spawn_app().await;
    app.login_as(Role::Buyer).await;
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);
    for path in ["/seller", "/admin"] {
        let (status, html) = app.get_html(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("You cannot open this page"), "{path}");
    }
}

#[tokio::test]
async fn seller_cannot_open_admin_or_buyer_pages() {
    let app = spawn_app().await;
    app.login_as(Role::Seller).await;
    assert_eq!(app.get("/seller").await.status(), StatusCode::OK);
    assert_eq!(app.get("/admin").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/account").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_sees_every_account_with_its_role() {
    let app = spawn_app().await;
    let buyer = app.login_as(Role::Buyer).await;
    app.logout().await;
    let seller = app.login_as(Role::Seller).await;
    app.logout().await;
    let admin = app.login_as(Role::Admin).await;

    let (status, html) = app.get_html("/admin").await;
    assert_eq!(status, StatusCode::OK);
    for user in [&buyer, &seller, &admin] {
        assert!(html.contains(&user.email), "{} listed", user.email);
    }
    assert!(html.contains("<strong>1</strong> buyers"));
    assert!(html.contains("<strong>1</strong> sellers"));
    assert!(html.contains("<strong>1</strong> admins"));
    assert!(html.contains(r#"href="/admin""#), "admin nav");
    assert_eq!(app.get("/seller").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn logged_in_people_skip_the_sign_up_and_log_in_forms() {
    let app = spawn_app().await;
    app.login_as(Role::Seller).await;
    for path in ["/signup", "/login"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/seller");
    }
}

#[tokio::test]
async fn user_supplied_text_is_escaped() {
    let app = spawn_app().await;
    let res = app
        .signup("<script>alert(1)</script>@x.com", "short", "buyer")
        .await;
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
}
