//! Checkout Sessions in setup mode through async-stripe's typed requests, as the marketplace
//! saves a buyer's card: create for a customer, the buyer fills the hosted page, retrieve with
//! `setup_intent.payment_method` expanded, list, expire; on the platform and on a connected
//! account.

mod common;

use common::{Ctx, api_error, meta, run, shape, typed};
use stripe::StripeRequest;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, ExpireCheckoutSession, ListCheckoutSession, RetrieveCheckoutSession,
};
use stripe_core::customer::CreateCustomer;
use stripe_shared::{
    CheckoutSession, CheckoutSessionMode, CheckoutSessionPaymentStatus, CheckoutSessionStatus,
    SetupIntentStatus,
};
use stripe_types::{Currency, Expandable};

/// Fills the session's hosted page with `number` the way a browser posts it; returns the
/// redirect target.
async fn fill_hosted_page(ctx: &Ctx, url: &str, number: &str) -> String {
    let resp = ctx
        .http
        .post(url)
        .form(&[("number", number), ("expiry", "12/34"), ("cvc", "123")])
        .send()
        .await
        .expect("post hosted page");
    assert_eq!(
        resp.status().as_u16(),
        303,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    resp.headers()["location"].to_str().unwrap().to_string()
}

fn create_request(customer: &str) -> CreateCheckoutSession {
    CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Setup)
        .customer(customer)
        .currency(Currency::USD)
        .success_url("https://shop.example/cards/saved?session_id={CHECKOUT_SESSION_ID}")
        .cancel_url("https://shop.example/cards")
        .metadata(meta(&[("buyer", "7")]))
}

#[test]
fn typed_setup_session_saves_a_card_for_the_customer() {
    run(|| async {
        let ctx = Ctx::start("checkout").await;
        let cus = typed(
            CreateCustomer::new()
                .email("buyer@example.com")
                .send(&ctx.client)
                .await,
            "customer",
        );
        let cs = typed(
            create_request(cus.id.as_str()).send(&ctx.client).await,
            "create",
        );
        assert_eq!(cs.mode, CheckoutSessionMode::Setup);
        assert_eq!(cs.status, Some(CheckoutSessionStatus::Open));
        assert_eq!(
            cs.payment_status,
            CheckoutSessionPaymentStatus::NoPaymentRequired
        );
        assert_eq!(cs.currency, Some(Currency::USD));
        assert!(cs.setup_intent.is_none());
        assert_eq!(cs.metadata.as_ref().unwrap()["buyer"], "7");
        assert_eq!(
            cs.customer.as_ref().map(|c| c.id().as_str()),
            Some(cus.id.as_str())
        );
        shape::<CheckoutSession>(
            &ctx.raw_get(&format!("/v1/checkout/sessions/{}", cs.id), None)
                .await
                .body,
            "open session",
        );

        let to = fill_hosted_page(&ctx, cs.url.as_deref().unwrap(), "4242424242424242").await;
        assert_eq!(
            to,
            format!("https://shop.example/cards/saved?session_id={}", cs.id)
        );

        // What the app does on return: read the session with its SetupIntent and card.
        let done = typed(
            RetrieveCheckoutSession::new(cs.id.clone())
                .expand(vec!["setup_intent.payment_method".to_string()])
                .send(&ctx.client)
                .await,
            "retrieve expanded",
        );
        assert_eq!(done.status, Some(CheckoutSessionStatus::Complete));
        let Some(Expandable::Object(si)) = &done.setup_intent else {
            panic!("setup_intent not expanded: {:?}", done.setup_intent);
        };
        assert_eq!(si.status, SetupIntentStatus::Succeeded);
        let Some(Expandable::Object(pm)) = &si.payment_method else {
            panic!("payment_method not expanded");
        };
        let card = pm.card.as_ref().expect("card");
        assert_eq!(card.last4, "4242");
        assert_eq!(card.exp_month, 12);
        assert_eq!(
            pm.customer.as_ref().map(|c| c.id().as_str()),
            Some(cus.id.as_str())
        );
        let details = done.customer_details.as_ref().expect("customer_details");
        assert_eq!(details.email.as_deref(), Some("buyer@example.com"));
        shape::<CheckoutSession>(
            &ctx.raw(
                reqwest::Method::GET,
                &format!("/v1/checkout/sessions/{}", cs.id),
                &[("expand[]", "setup_intent.payment_method")],
                None,
            )
            .await
            .body,
            "completed session, expanded",
        );

        let list = typed(
            ListCheckoutSession::new()
                .customer(cus.id.as_str())
                .send(&ctx.client)
                .await,
            "list",
        );
        assert_eq!(list.data.len(), 1);
        assert_eq!(list.data[0].id, cs.id);

        // The completed event carries the session.
        let events = ctx
            .raw(
                reqwest::Method::GET,
                "/v1/events",
                &[("type", "checkout.session.completed")],
                None,
            )
            .await;
        let ev: CheckoutSession = shape(&events.body["data"][0]["data"]["object"], "event object");
        assert_eq!(ev.id, cs.id);

        // A completed session cannot be expired.
        let (err, status) = api_error(
            ExpireCheckoutSession::new(cs.id.clone())
                .send(&ctx.client)
                .await,
            "expire",
        );
        assert_eq!(status, 400);
        assert!(
            err.message
                .unwrap_or_default()
                .contains("status of complete")
        );
        ctx.stop().await;
    });
}

#[test]
fn typed_expire_and_connected_account_sessions() {
    run(|| async {
        let ctx = Ctx::start("checkout_acct").await;
        let acct = ctx.onboarded_account().await;
        let cus = typed(
            CreateCustomer::new()
                .email("buyer@example.com")
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "connected customer",
        );
        let cs = typed(
            create_request(cus.id.as_str())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "create on account",
        );
        let expired = typed(
            ExpireCheckoutSession::new(cs.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "expire",
        );
        assert_eq!(expired.status, Some(CheckoutSessionStatus::Expired));
        assert!(expired.url.is_none());
        // Not visible from the platform.
        let (_, status) = api_error(
            RetrieveCheckoutSession::new(cs.id.clone())
                .send(&ctx.client)
                .await,
            "retrieve from platform",
        );
        assert_eq!(status, 404);

        // A second session on the account completes there.
        let cs = typed(
            create_request(cus.id.as_str())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "create again",
        );
        fill_hosted_page(&ctx, cs.url.as_deref().unwrap(), "5555555555554444").await;
        let done = typed(
            RetrieveCheckoutSession::new(cs.id.clone())
                .expand(vec!["setup_intent".to_string()])
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve on account",
        );
        let Some(Expandable::Object(si)) = &done.setup_intent else {
            panic!("setup_intent not expanded");
        };
        assert_eq!(si.status, SetupIntentStatus::Succeeded);
        assert_eq!(
            si.customer.as_ref().map(|c| c.id().as_str()),
            Some(cus.id.as_str())
        );
        ctx.stop().await;
    });
}
