//! Sellers connect Stripe through Account Links: the hosted page, refresh_url and return_url,
//! idempotent account creation, requirements and restrictions in words, disconnection.

mod common;

use common::sellers::{
    active_seller, connect_stripe, signup_seller, sim_helper, start_onboarding,
    submit_hosted_onboarding,
};
use common::{location, spawn_app};
use marketplace::db;
use marketplace::domain::seller_state::{AccountSnapshot, AccountState, Requirements};
use marketplace::seller::accounts::{SnapshotOutcome, apply_account_snapshot, mark_disconnected};
use reqwest::StatusCode;

#[tokio::test]
async fn a_new_seller_connects_through_the_hosted_page_and_is_active() {
    let app = spawn_app().await;
    let seller = signup_seller(&app).await;
    let (status, html) = seller.get_html("/seller").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Set up payouts"));
    assert!(html.contains(r#"id="account-state">Not connected<"#));

    let mut seller = seller;
    connect_stripe(&app, &mut seller).await;
    let (_, html) = seller.get_html("/seller").await;
    assert!(html.contains("Your Stripe account is active"));
    assert!(
        !html.contains("Set up payouts"),
        "no set-up button once active"
    );

    let profile = db::sellers::find(&app.db, &seller.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.account_state, "active");
    assert_eq!(profile.stripe_account_type.as_deref(), Some("standard"));
    assert!(profile.account_read_at.is_some());
    assert!(seller.account().starts_with("acct_"));
}

#[tokio::test]
async fn returning_without_finishing_is_not_active() {
    let app = spawn_app().await;
    let seller = signup_seller(&app).await;
    start_onboarding(&seller).await;
    // The seller closes Stripe's form and comes back through return_url.
    let res = seller.get("/seller/payouts/return").await;
    assert_eq!(location(&res), "/seller");
    let (_, html) = seller.get_html("/seller").await;
    assert!(html.contains(r#"id="account-state">Setup not finished<"#));
    assert!(html.contains("Continue setup with Stripe"));
    assert!(html.contains("Refresh status"));
}

#[tokio::test]
async fn a_used_or_expired_link_goes_through_refresh_url_to_a_new_one() {
    let app = spawn_app().await;
    let seller = signup_seller(&app).await;

    // Used: after the form was submitted, the same link sends the browser to refresh_url.
    let used = start_onboarding(&seller).await;
    submit_hosted_onboarding(&seller, &used).await;
    let res = seller.get(&used).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let refresh = location(&res);
    assert!(refresh.ends_with("/seller/payouts/refresh"), "{refresh}");
    let res = seller.get(&refresh).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let fresh = location(&res);
    assert!(fresh.contains("/hosted/onboarding/"));
    assert_ne!(fresh, used, "a new link");
    assert_eq!(seller.get(&fresh).await.status(), StatusCode::OK);

    // Expired: five minutes later the link is dead and refresh_url mints another.
    sim_helper(
        &app,
        "/v1/test_helpers/advance_time",
        &[("seconds", "301")],
        None,
    )
    .await;
    let res = seller.get(&fresh).await;
    assert!(location(&res).ends_with("/seller/payouts/refresh"));
    let again = location(&seller.get("/seller/payouts/refresh").await);
    assert!(again.contains("/hosted/onboarding/") && again != fresh);
    assert_eq!(seller.get(&again).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_double_click_on_set_up_payouts_makes_one_account() {
    let app = spawn_app().await;
    let seller = signup_seller(&app).await;
    let token = seller.csrf_token().await;
    let post = || {
        seller
            .client
            .post(seller.url("/seller/payouts/setup"))
            .form(&[("csrf_token", token.as_str())])
            .send()
    };
    let (a, b, c) = tokio::join!(post(), post(), post());
    for res in [a.unwrap(), b.unwrap(), c.unwrap()] {
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            location(&res).contains("/hosted/onboarding/"),
            "{}",
            location(&res)
        );
    }
    // A fourth click later: still the same account.
    start_onboarding(&seller).await;
    let profile = db::sellers::find(&app.db, &seller.user_id)
        .await
        .unwrap()
        .unwrap();
    let acct = profile.stripe_account_id.expect("account stored");
    let key = std::fs::read_to_string(app.test_db.data_dir.join("stripe-sim.key")).unwrap();
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!("{}v1/accounts?limit=100", app.stripe.api_base()))
        .bearer_auth(key.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![acct.as_str()], "exactly one connected account");
    assert_eq!(
        list["data"][0]["metadata"]["seller_id"],
        seller.user_id.as_str(),
        "our seller id in the account's metadata"
    );
}

#[tokio::test]
async fn requirements_due_are_shown_in_words_with_the_deadline() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    sim_helper(
        &app,
        &format!(
            "/v1/test_helpers/accounts/{}/requirements_due",
            seller.account()
        ),
        &[
            ("fields[]", "individual.verification.document"),
            ("fields[]", "company.mystery_thing"),
            ("deadline_days", "10"),
        ],
        None,
    )
    .await;
    let res = seller.post_form("/seller/payouts/status", &[]).await;
    assert_eq!(location(&res), "/seller");
    let (_, html) = seller.get_html("/seller").await;
    assert!(
        html.contains(r#"id="account-state">Information needed<"#),
        "{html}"
    );
    assert!(html.contains("Your identity document (passport, ID card or driving licence)"));
    assert!(
        html.contains("Your company&#39;s mystery thing (asked for by Stripe)")
            || html.contains("Your company&#x27;s mystery thing (asked for by Stripe)"),
        "{html}"
    );
    assert!(html.contains("Deadline:"));
    assert!(html.contains("Update details with Stripe"));
}

#[tokio::test]
async fn a_disabled_account_is_restricted_with_the_reason_in_words() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    sim_helper(
        &app,
        &format!("/v1/test_helpers/accounts/{}/disable", seller.account()),
        &[("reason", "rejected.terms_of_service")],
        None,
    )
    .await;
    seller.post_form("/seller/payouts/status", &[]).await;
    let (_, html) = seller.get_html("/seller").await;
    assert!(html.contains(r#"id="account-state">Restricted<"#));
    assert!(html.contains("Stripe closed the account for a breach of its terms of service."));
    let profile = db::sellers::find(&app.db, &seller.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!profile.charges_enabled);
    assert_eq!(profile.account_state, "restricted");
}

#[tokio::test]
async fn an_older_snapshot_never_overwrites_a_newer_one() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    let profile = db::sellers::find(&app.db, &seller.user_id)
        .await
        .unwrap()
        .unwrap();
    let read_at = profile.account_read_at.unwrap();
    let older = AccountSnapshot {
        account_id: seller.account().to_string(),
        account_type: Some("standard".into()),
        details_submitted: false,
        charges_enabled: false,
        payouts_enabled: false,
        requirements: Requirements::default(),
    };
    let outcome = apply_account_snapshot(&app.db, &older, read_at - 10, &app.settings.base_url)
        .await
        .unwrap();
    assert_eq!(outcome, SnapshotOutcome::Stale);
    let after = db::sellers::find(&app.db, &seller.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(after.charges_enabled, "the newer state stays");
    assert_eq!(after.account_state, "active");

    let newer = AccountSnapshot {
        requirements: Requirements {
            disabled_reason: Some("under_review".into()),
            ..Requirements::default()
        },
        details_submitted: true,
        ..older
    };
    let outcome = apply_account_snapshot(&app.db, &newer, read_at + 10, &app.settings.base_url)
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        SnapshotOutcome::Applied(AccountState::Restricted { .. })
    ));
    let after = db::sellers::find(&app.db, &seller.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!after.charges_enabled);
    assert_eq!(after.account_read_at, Some(read_at + 10));

    let unknown = AccountSnapshot {
        account_id: "acct_notours".into(),
        ..newer
    };
    assert_eq!(
        apply_account_snapshot(&app.db, &unknown, read_at, &app.settings.base_url)
            .await
            .unwrap(),
        SnapshotOutcome::UnknownAccount
    );
}

#[tokio::test]
async fn a_disconnected_seller_is_told_and_reconnects_with_a_new_account() {
    let app = spawn_app().await;
    let mut seller = active_seller(&app).await;
    let old = seller.account().to_string();
    assert!(
        mark_disconnected(&app.db, &old, db::now_unix(), &app.settings.base_url)
            .await
            .unwrap()
    );
    assert!(
        !mark_disconnected(&app.db, &old, db::now_unix(), &app.settings.base_url)
            .await
            .unwrap(),
        "a second deauthorization is a no-op"
    );
    let (_, html) = seller.get_html("/seller").await;
    assert!(html.contains(r#"id="account-state">Disconnected<"#));
    assert!(html.contains("was disconnected from the marketplace"));
    assert!(html.contains("Reconnect Stripe"));

    connect_stripe(&app, &mut seller).await;
    assert_ne!(seller.account(), old, "a new account");
    let profile = db::sellers::find(&app.db, &seller.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(profile.disconnected_at.is_none());
    assert_eq!(profile.account_generation, 2);
    // A late deauthorization of the old account does not touch the new one.
    assert!(
        !mark_disconnected(&app.db, &old, db::now_unix(), &app.settings.base_url)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn deauthorizing_in_stripe_is_noticed_on_refresh() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    sim_helper(
        &app,
        &format!("/v1/test_helpers/accounts/{}/deauthorize", seller.account()),
        &[],
        None,
    )
    .await;
    seller.post_form("/seller/payouts/status", &[]).await;
    let (_, html) = seller.get_html("/seller").await;
    assert!(
        html.contains(r#"id="account-state">Disconnected<"#),
        "{html}"
    );
}
