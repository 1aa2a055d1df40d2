//! Connect resources through async-stripe's typed requests: accounts, account and login links,
//! application fees and their refunds, balance, balance transactions and payouts. Every response
//! is decoded into async-stripe's structs, which is the proof the emulator emits every field the
//! client requires.

mod common;

use common::{Ctx, api_error, meta, run, shape, typed};
use stripe::{ApiErrorsType, RequestStrategy, StripeRequest};
use stripe_connect::account::{CreateAccount, CreateAccountType, RetrieveAccount, UpdateAccount};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::application_fee::{ListApplicationFee, RetrieveApplicationFee};
use stripe_connect::application_fee_refund::{
    CreateIdApplicationFeeRefund, ListIdApplicationFeeRefund, RetrieveApplicationFeeRefund,
};
use stripe_connect::login_link::CreateAccountLoginLink;
use stripe_core::balance::RetrieveForMyAccountBalance;
use stripe_core::balance_transaction::{ListBalanceTransaction, RetrieveBalanceTransaction};
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::CreatePaymentIntent;
use stripe_core::payout::{CreatePayout, ListPayout, RetrievePayout};
use stripe_shared::{PaymentIntentAllowedPaymentMethodTypes, PaymentIntentStatus};
use stripe_types::Currency;

#[test]
fn accounts_express_and_standard_create_retrieve_update() {
    run(|| async {
        let ctx = Ctx::start("acct").await;
        let express = typed(
            CreateAccount::new()
                .type_(CreateAccountType::Express)
                .country("US")
                .email("express@example.com")
                .metadata(meta(&[("seller_id", "sel_1")]))
                .send(&ctx.client)
                .await,
            "create express account",
        );
        assert!(express.id.as_str().starts_with("acct_"), "{}", express.id);
        assert_eq!(express.email.as_deref(), Some("express@example.com"));
        assert_eq!(express.charges_enabled, Some(false), "not onboarded yet");
        assert_eq!(express.details_submitted, Some(false));
        assert_eq!(
            express
                .metadata
                .as_ref()
                .and_then(|m| m.get("seller_id"))
                .map(String::as_str),
            Some("sel_1")
        );
        let due = express
            .requirements
            .as_ref()
            .and_then(|r| r.currently_due.as_ref())
            .map(Vec::len)
            .unwrap_or_default();
        assert!(due > 0, "a fresh express account has requirements due");

        let standard = typed(
            CreateAccount::new()
                .type_(CreateAccountType::Standard)
                .country("US")
                .email("standard@example.com")
                .send(&ctx.client)
                .await,
            "create standard account",
        );
        assert_ne!(standard.id, express.id);
        assert_eq!(
            standard.type_.as_ref().map(|t| t.as_str()),
            Some("standard")
        );

        let fetched = typed(
            RetrieveAccount::new(express.id.clone())
                .send(&ctx.client)
                .await,
            "retrieve",
        );
        assert_eq!(fetched.id, express.id);
        assert_eq!(fetched.type_.as_ref().map(|t| t.as_str()), Some("express"));

        let updated = typed(
            UpdateAccount::new(express.id.clone())
                .metadata(meta(&[("seller_id", "sel_1"), ("tier", "gold")]))
                .email("renamed@example.com")
                .send(&ctx.client)
                .await,
            "update account",
        );
        assert_eq!(updated.email.as_deref(), Some("renamed@example.com"));
        assert_eq!(
            updated
                .metadata
                .as_ref()
                .and_then(|m| m.get("tier"))
                .map(String::as_str),
            Some("gold")
        );

        // The raw object also parses with serde (path-reporting), as the webhook crate does.
        let _: stripe_shared::Account = ctx
            .assert_shape(&format!("/v1/accounts/{}", express.id), None)
            .await;

        // After the emulator's onboarding helper the account can take charges.
        let onboard = ctx
            .raw_post(
                &format!("/v1/test_helpers/accounts/{}/onboard", express.id),
                &[],
                None,
            )
            .await;
        assert_eq!(onboard.status, 200, "{}", onboard.body);
        let onboarded = typed(
            RetrieveAccount::new(express.id.clone())
                .send(&ctx.client)
                .await,
            "retrieve",
        );
        assert_eq!(onboarded.charges_enabled, Some(true));
        assert_eq!(onboarded.payouts_enabled, Some(true));
        assert_eq!(onboarded.details_submitted, Some(true));
        ctx.stop().await;
    });
}

#[test]
fn account_links_and_login_links() {
    run(|| async {
        let ctx = Ctx::start("links").await;
        let acct = typed(
            CreateAccount::new()
                .type_(CreateAccountType::Express)
                .send(&ctx.client)
                .await,
            "create account",
        );
        let link = typed(
            CreateAccountLink::new(acct.id.as_str(), CreateAccountLinkType::AccountOnboarding)
                .refresh_url("http://localhost/refresh")
                .return_url("http://localhost/return")
                .send(&ctx.client)
                .await,
            "create account link",
        );
        assert!(
            link.expires_at > link.created,
            "a link expires after it is created"
        );
        assert!(link.url.starts_with("http"), "{}", link.url);

        let update_link = typed(
            CreateAccountLink::new(acct.id.as_str(), CreateAccountLinkType::AccountUpdate)
                .refresh_url("http://localhost/refresh")
                .return_url("http://localhost/return")
                .send(&ctx.client)
                .await,
            "create account_update link",
        );
        assert_ne!(update_link.url, link.url);

        // Missing return_url is a parameter error naming the parameter.
        let (err, status) = api_error(
            CreateAccountLink::new(acct.id.as_str(), CreateAccountLinkType::AccountOnboarding)
                .refresh_url("http://localhost/refresh")
                .send(&ctx.client)
                .await,
            "account link without return_url",
        );
        assert_eq!(status, 400);
        assert_eq!(err.type_, ApiErrorsType::InvalidRequestError);
        assert_eq!(err.param.as_deref(), Some("return_url"));

        let onboarded = ctx.onboarded_account().await;
        let login = typed(
            CreateAccountLoginLink::new(onboarded.clone())
                .send(&ctx.client)
                .await,
            "create login link",
        );
        assert!(login.url.starts_with("http"), "{}", login.url);
        ctx.stop().await;
    });
}

/// A confirmed direct charge of `amount` with `fee` on `acct`; returns the charge id.
async fn direct_charge(
    ctx: &Ctx,
    acct: &stripe::AccountId,
    amount: i64,
    fee: i64,
    key: &str,
) -> String {
    let customer = typed(
        CreateCustomer::new()
            .email("buyer@example.com")
            .customize()
            .account_id(acct.clone())
            .send(&ctx.client)
            .await,
        "connected customer",
    );
    let pi = typed(
        CreatePaymentIntent::new(amount, Currency::USD)
            .allowed_payment_method_types(vec![PaymentIntentAllowedPaymentMethodTypes::Card])
            .application_fee_amount(fee)
            .customer(customer.id.as_str())
            .payment_method("pm_card_bypassPending")
            .confirm(true)
            .customize()
            .account_id(acct.clone())
            .request_strategy(RequestStrategy::Idempotent(
                stripe::IdempotencyKey::new(key).expect("idempotency key"),
            ))
            .send(&ctx.client)
            .await,
        "direct charge",
    );
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    pi.latest_charge
        .expect("latest_charge on a succeeded intent")
        .id()
        .as_str()
        .to_string()
}

#[test]
fn application_fees_on_the_platform_and_fee_refunds() {
    run(|| async {
        let ctx = Ctx::start("fees").await;
        let acct = ctx.onboarded_account().await;
        let charge = direct_charge(&ctx, &acct, 10_000, 1_000, "fees-order-1").await;

        let fees = typed(
            ListApplicationFee::new()
                .charge(charge.as_str())
                .send(&ctx.client)
                .await,
            "list application fees",
        );
        assert_eq!(fees.data.len(), 1, "exactly one fee for the charge");
        let fee = &fees.data[0];
        assert_eq!(fee.amount, 1_000);
        assert_eq!(fee.amount_refunded, 0);
        assert!(!fee.refunded);
        assert_eq!(fee.account.id(), &acct);
        assert_eq!(fee.charge.id().as_str(), charge);
        assert_eq!(fee.currency, Currency::USD);
        assert!(fee.refunds.data.is_empty());

        // The fee belongs to the platform: the connected account cannot see it.
        let hidden = ctx
            .raw_get(
                &format!("/v1/application_fees/{}", fee.id),
                Some(acct.as_str()),
            )
            .await;
        assert_eq!(hidden.status, 404, "{}", hidden.body);

        let fetched = typed(
            RetrieveApplicationFee::new(fee.id.clone())
                .send(&ctx.client)
                .await,
            "retrieve application fee",
        );
        assert_eq!(fetched.id, fee.id);
        let _: stripe_shared::ApplicationFee = ctx
            .assert_shape(&format!("/v1/application_fees/{}", fee.id), None)
            .await;

        let fee_refund = typed(
            CreateIdApplicationFeeRefund::new(fee.id.clone())
                .amount(300)
                .metadata(meta(&[("reason", "goodwill")]))
                .send(&ctx.client)
                .await,
            "refund part of the fee",
        );
        assert_eq!(fee_refund.amount, 300);
        assert_eq!(fee_refund.currency, Currency::USD);

        let refunds = typed(
            ListIdApplicationFeeRefund::new(fee.id.clone())
                .send(&ctx.client)
                .await,
            "list fee refunds",
        );
        assert_eq!(refunds.data.len(), 1);
        assert_eq!(refunds.data[0].id, fee_refund.id);
        let again = typed(
            RetrieveApplicationFeeRefund::new(fee.id.as_str(), fee_refund.id.as_str())
                .send(&ctx.client)
                .await,
            "retrieve fee refund",
        );
        assert_eq!(again.amount, 300);

        let after = typed(
            RetrieveApplicationFee::new(fee.id.clone())
                .send(&ctx.client)
                .await,
            "retrieve",
        );
        assert_eq!(after.amount_refunded, 300);
        assert!(!after.refunded);

        // Refunding more than what is left of the fee is refused.
        let (err, status) = api_error(
            CreateIdApplicationFeeRefund::new(fee.id.clone())
                .amount(701)
                .send(&ctx.client)
                .await,
            "over-refund the fee",
        );
        assert_eq!(status, 400);
        assert_eq!(err.type_, ApiErrorsType::InvalidRequestError);

        let rest = typed(
            CreateIdApplicationFeeRefund::new(fee.id.clone())
                .send(&ctx.client)
                .await,
            "refund the rest of the fee",
        );
        assert_eq!(rest.amount, 700);
        let done = typed(
            RetrieveApplicationFee::new(fee.id.clone())
                .send(&ctx.client)
                .await,
            "retrieve",
        );
        assert_eq!(done.amount_refunded, 1_000);
        assert!(done.refunded);
        ctx.stop().await;
    });
}

#[test]
fn balance_balance_transactions_and_payouts() {
    run(|| async {
        let ctx = Ctx::start("balance").await;
        let platform = typed(
            RetrieveForMyAccountBalance::new().send(&ctx.client).await,
            "platform balance",
        );
        assert!(!platform.livemode);

        let acct = ctx.onboarded_account().await;
        let charge = direct_charge(&ctx, &acct, 5_000, 500, "balance-order-1").await;

        let balance = typed(
            RetrieveForMyAccountBalance::new()
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "connected balance",
        );
        let available_usd: i64 = balance
            .available
            .iter()
            .filter(|a| a.currency == Currency::USD)
            .map(|a| a.amount)
            .sum();
        let pending_usd: i64 = balance
            .pending
            .iter()
            .filter(|a| a.currency == Currency::USD)
            .map(|a| a.amount)
            .sum();
        // pm_card_bypassPending puts funds in `available` at once; Stripe's processing fee and
        // the platform's application fee are deducted from the gross 5000.
        assert!(
            available_usd > 0 && available_usd < 4_500,
            "available {available_usd}"
        );
        assert_eq!(pending_usd, 0, "bypassPending funds skip pending");

        let txns = typed(
            ListBalanceTransaction::new()
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "list balance transactions",
        );
        let charge_txn = txns
            .data
            .iter()
            .find(|t| t.source.as_ref().map(|s| s.id().as_str()) == Some(charge.as_str()))
            .expect("a balance transaction for the charge");
        assert_eq!(charge_txn.amount, 5_000);
        assert!(charge_txn.fee > 0, "the charge carries fees");
        assert_eq!(charge_txn.net, charge_txn.amount - charge_txn.fee);
        let one = typed(
            RetrieveBalanceTransaction::new(charge_txn.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve balance transaction",
        );
        assert_eq!(one.id, charge_txn.id);

        let payout = typed(
            CreatePayout::new(1_000, Currency::USD)
                .customize()
                .account_id(acct.clone())
                .request_strategy(RequestStrategy::Idempotent(
                    stripe::IdempotencyKey::new("payout-1").expect("key"),
                ))
                .send(&ctx.client)
                .await,
            "create payout",
        );
        assert_eq!(payout.amount, 1_000);
        let payouts = typed(
            ListPayout::new()
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "list payouts",
        );
        assert!(payouts.data.iter().any(|p| p.id == payout.id));
        let fetched = typed(
            RetrievePayout::new(payout.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve payout",
        );
        assert_eq!(fetched.id, payout.id);

        // A payout larger than the available balance is refused.
        let (err, status) = api_error(
            CreatePayout::new(available_usd + 1_000_000, Currency::USD)
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "payout beyond the balance",
        );
        assert_eq!(status, 400);
        assert_eq!(err.type_, ApiErrorsType::InvalidRequestError);
        ctx.stop().await;
    });
}

#[test]
fn unconnected_account_is_forbidden_and_foreign_objects_missing() {
    run(|| async {
        let ctx = Ctx::start("iso").await;
        let mine = ctx.onboarded_account().await;
        let theirs = ctx
            .onboarded_account_of(&common::fresh_key("iso_other"))
            .await;

        let (err, status) = api_error(
            RetrieveForMyAccountBalance::new()
                .customize()
                .account_id(theirs.clone())
                .send(&ctx.client)
                .await,
            "act on another platform's account",
        );
        assert_eq!(status, 403, "{err:?}");

        let cus = typed(
            CreateCustomer::new()
                .customize()
                .account_id(mine.clone())
                .send(&ctx.client)
                .await,
            "customer on my account",
        );
        let from_platform = ctx
            .raw_get(&format!("/v1/customers/{}", cus.id), None)
            .await;
        assert_eq!(from_platform.status, 404, "{}", from_platform.body);
        assert_eq!(from_platform.body["error"]["code"], "resource_missing");
        let body = &from_platform.body;
        let parsed: stripe_shared::Error = shape(body, "404 error body");
        assert_eq!(parsed.error.type_, ApiErrorsType::InvalidRequestError);
        ctx.stop().await;
    });
}
