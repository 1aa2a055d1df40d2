//! Payments through async-stripe's typed requests, the way the marketplace calls them: customers
//! (platform and connected), payment methods (create, attach, list, clone to a connected
//! account), setup intents, direct charges with an application fee, manual capture, cancel,
//! charges, refunds, declines and idempotency.

mod common;

use common::{Ctx, api_error, meta, run, typed};
use stripe::{
    AccountId, ApiErrorsCode, ApiErrorsType, IdempotencyKey, RequestStrategy, StripeRequest,
};
use stripe_connect::application_fee::ListApplicationFee;
use stripe_core::charge::{ListCharge, RetrieveCharge};
use stripe_core::customer::{
    CreateCustomer, ListCustomer, ListPaymentMethodsCustomer, RetrieveCustomer,
    RetrieveCustomerReturned, UpdateCustomer,
};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CancelPaymentIntentCancellationReason, CapturePaymentIntent,
    ConfirmPaymentIntent, CreatePaymentIntent, RetrievePaymentIntent,
};
use stripe_core::refund::{CreateRefund, ListRefund, RetrieveRefund};
use stripe_core::setup_intent::{ConfirmSetupIntent, CreateSetupIntent};
use stripe_payment::payment_method::{
    AttachPaymentMethod, CreatePaymentMethod, CreatePaymentMethodCard,
    CreatePaymentMethodCardDetailsParams, CreatePaymentMethodType, ListPaymentMethod,
    ListPaymentMethodType, RetrievePaymentMethod,
};
use stripe_shared::{
    Charge, PaymentIntent, PaymentIntentAllowedPaymentMethodTypes, PaymentIntentCaptureMethod,
    PaymentIntentStatus, SetupIntentStatus,
};
use stripe_types::Currency;

fn key(k: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(k).expect("idempotency key"))
}

fn card_params(number: &str) -> CreatePaymentMethodCard {
    let mut card = CreatePaymentMethodCardDetailsParams::new(12, 2034, number);
    card.cvc = Some("123".into());
    CreatePaymentMethodCard::CardDetailsParams(card)
}

/// An intent on the connected account, created (not confirmed) the way the app creates it.
async fn connected_intent(
    ctx: &Ctx,
    acct: &AccountId,
    amount: i64,
    fee: i64,
    pm: &str,
    manual: bool,
    idem: &str,
) -> PaymentIntent {
    let mut req = CreatePaymentIntent::new(amount, Currency::USD)
        .allowed_payment_method_types(vec![PaymentIntentAllowedPaymentMethodTypes::Card])
        .application_fee_amount(fee)
        .payment_method(pm)
        .metadata(meta(&[("order_id", idem)]));
    if manual {
        req = req.capture_method(PaymentIntentCaptureMethod::Manual);
    }
    typed(
        req.customize()
            .account_id(acct.clone())
            .request_strategy(key(idem))
            .send(&ctx.client)
            .await,
        "create payment intent",
    )
}

async fn confirm(ctx: &Ctx, acct: &AccountId, pi: &PaymentIntent) -> PaymentIntent {
    typed(
        ConfirmPaymentIntent::new(pi.id.clone())
            .customize()
            .account_id(acct.clone())
            .request_strategy(key(&format!("{}:confirm", pi.id)))
            .send(&ctx.client)
            .await,
        "confirm payment intent",
    )
}

fn charge_id(pi: &PaymentIntent) -> String {
    pi.latest_charge
        .as_ref()
        .expect("latest_charge")
        .id()
        .as_str()
        .to_string()
}

#[test]
fn customers_on_the_platform_and_on_a_connected_account() {
    run(|| async {
        let ctx = Ctx::start("cus").await;
        let cus = typed(
            CreateCustomer::new()
                .email("buyer@example.com")
                .name("Ada Buyer")
                .metadata(meta(&[("user_id", "usr_1")]))
                .send(&ctx.client)
                .await,
            "create customer",
        );
        assert!(cus.id.as_str().starts_with("cus_"));
        assert_eq!(cus.email.as_deref(), Some("buyer@example.com"));
        assert!(!cus.livemode);

        let updated = typed(
            UpdateCustomer::new(cus.id.clone())
                .name("Ada B.")
                .send(&ctx.client)
                .await,
            "update customer",
        );
        assert_eq!(updated.name.as_deref(), Some("Ada B."));
        match typed(
            RetrieveCustomer::new(cus.id.clone())
                .send(&ctx.client)
                .await,
            "retrieve",
        ) {
            RetrieveCustomerReturned::Customer(c) => {
                assert_eq!(c.name.as_deref(), Some("Ada B."));
                assert_eq!(
                    c.metadata
                        .as_ref()
                        .and_then(|m| m.get("user_id"))
                        .map(String::as_str),
                    Some("usr_1")
                );
            }
            RetrieveCustomerReturned::DeletedCustomer(_) => panic!("customer reported deleted"),
        }
        let listed = typed(
            ListCustomer::new()
                .email("buyer@example.com")
                .send(&ctx.client)
                .await,
            "list",
        );
        assert_eq!(listed.data.len(), 1);
        assert_eq!(listed.data[0].id, cus.id);

        let acct = ctx.onboarded_account().await;
        let connected = typed(
            CreateCustomer::new()
                .email("buyer@example.com")
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "create connected customer",
        );
        assert_ne!(connected.id, cus.id);
        let (err, status) = api_error(
            RetrieveCustomer::new(connected.id.clone())
                .send(&ctx.client)
                .await,
            "connected customer seen from the platform",
        );
        assert_eq!(status, 404);
        assert_eq!(err.code, Some(ApiErrorsCode::ResourceMissing));
        let (_, status) = api_error(
            RetrieveCustomer::new(cus.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "platform customer seen from the connected account",
        );
        assert_eq!(status, 404);
        let _: stripe_shared::Customer = ctx
            .assert_shape(
                &format!("/v1/customers/{}", connected.id),
                Some(acct.as_str()),
            )
            .await;
        ctx.stop().await;
    });
}

#[test]
fn payment_methods_create_attach_list_and_clone_to_a_connected_account() {
    run(|| async {
        let ctx = Ctx::start("pm").await;
        let cus = typed(CreateCustomer::new().send(&ctx.client).await, "customer");

        let from_number = typed(
            CreatePaymentMethod::new()
                .type_(CreatePaymentMethodType::Card)
                .card(card_params("4242424242424242"))
                .send(&ctx.client)
                .await,
            "create from card number",
        );
        let card = from_number.card.as_ref().expect("card details");
        assert_eq!(card.last4, "4242");
        assert_eq!(card.brand, "visa");
        assert_eq!(card.exp_month, 12);
        assert_eq!(card.exp_year, 2034);
        assert_eq!(card.funding, "credit");

        // Attaching a magic token creates a new pm_ object for the customer.
        let visa = typed(
            AttachPaymentMethod::new("pm_card_visa")
                .customer(cus.id.as_str())
                .send(&ctx.client)
                .await,
            "attach pm_card_visa",
        );
        assert!(visa.id.as_str().starts_with("pm_") && visa.id.as_str() != "pm_card_visa");
        assert_eq!(
            visa.customer.as_ref().map(|c| c.id().as_str()),
            Some(cus.id.as_str())
        );
        let mc = typed(
            AttachPaymentMethod::new(from_number.id.clone())
                .customer(cus.id.as_str())
                .send(&ctx.client)
                .await,
            "attach a created pm",
        );
        assert_eq!(mc.id, from_number.id);

        let listed = typed(
            ListPaymentMethod::new()
                .customer(cus.id.as_str())
                .type_(ListPaymentMethodType::Card)
                .send(&ctx.client)
                .await,
            "list payment methods",
        );
        let mut ids: Vec<_> = listed
            .data
            .iter()
            .map(|p| p.id.as_str().to_string())
            .collect();
        ids.sort();
        let mut want = vec![
            visa.id.as_str().to_string(),
            from_number.id.as_str().to_string(),
        ];
        want.sort();
        assert_eq!(ids, want);
        let by_customer = typed(
            ListPaymentMethodsCustomer::new(cus.id.clone())
                .send(&ctx.client)
                .await,
            "list customer payment methods",
        );
        assert_eq!(by_customer.data.len(), 2);

        // Clone the platform card to a connected account, then attach it to that account's customer.
        let acct = ctx.onboarded_account().await;
        let clone = typed(
            CreatePaymentMethod::new()
                .customer(cus.id.as_str())
                .payment_method(visa.id.as_str())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "clone payment method",
        );
        assert_ne!(clone.id, visa.id);
        assert_eq!(clone.card.as_ref().map(|c| c.last4.as_str()), Some("4242"));
        assert!(clone.customer.is_none(), "a clone starts unattached");
        let connected_cus = typed(
            CreateCustomer::new()
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "connected customer",
        );
        let attached = typed(
            AttachPaymentMethod::new(clone.id.clone())
                .customer(connected_cus.id.as_str())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "attach the clone",
        );
        assert_eq!(
            attached.customer.as_ref().map(|c| c.id().as_str()),
            Some(connected_cus.id.as_str())
        );
        // The clone is not visible on the platform.
        let (_, status) = api_error(
            RetrievePaymentMethod::new(clone.id.clone())
                .send(&ctx.client)
                .await,
            "clone from the platform",
        );
        assert_eq!(status, 404);
        let _: stripe_shared::PaymentMethod = ctx
            .assert_shape(
                &format!("/v1/payment_methods/{}", clone.id),
                Some(acct.as_str()),
            )
            .await;
        ctx.stop().await;
    });
}

#[test]
fn setup_intent_create_and_confirm() {
    run(|| async {
        let ctx = Ctx::start("seti").await;
        let cus = typed(CreateCustomer::new().send(&ctx.client).await, "customer");
        let si = typed(
            CreateSetupIntent::new()
                .customer(cus.id.as_str())
                .metadata(meta(&[("purpose", "save card")]))
                .send(&ctx.client)
                .await,
            "create setup intent",
        );
        assert_eq!(si.status, SetupIntentStatus::RequiresPaymentMethod);
        assert!(si.client_secret.is_some());
        let confirmed = typed(
            ConfirmSetupIntent::new(si.id.clone())
                .payment_method("pm_card_visa")
                .send(&ctx.client)
                .await,
            "confirm setup intent",
        );
        assert_eq!(confirmed.status, SetupIntentStatus::Succeeded);
        let pm = confirmed
            .payment_method
            .as_ref()
            .expect("payment_method set")
            .id()
            .clone();
        let saved = typed(
            ListPaymentMethodsCustomer::new(cus.id.clone())
                .send(&ctx.client)
                .await,
            "customer payment methods",
        );
        assert!(
            saved.data.iter().any(|p| p.id == pm),
            "the confirmed card is attached to the customer"
        );
        ctx.stop().await;
    });
}

#[test]
fn direct_charge_with_fee_expand_and_charges() {
    run(|| async {
        let ctx = Ctx::start("direct").await;
        let acct = ctx.onboarded_account().await;
        let cus = typed(
            CreateCustomer::new()
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "connected customer",
        );
        let pi = typed(
            CreatePaymentIntent::new(2_000, Currency::USD)
                .allowed_payment_method_types(vec![PaymentIntentAllowedPaymentMethodTypes::Card])
                .application_fee_amount(200)
                .customer(cus.id.as_str())
                .payment_method("pm_card_visa")
                .description("order ord_1")
                .customize()
                .account_id(acct.clone())
                .request_strategy(key("ord_1:charge:v1"))
                .send(&ctx.client)
                .await,
            "create intent",
        );
        assert_eq!(pi.status, PaymentIntentStatus::RequiresConfirmation);
        assert_eq!(pi.payment_method_types, vec!["card".to_string()]);
        assert_eq!(pi.application_fee_amount, Some(200));
        assert!(
            pi.client_secret
                .as_deref()
                .is_some_and(|s| s.starts_with(pi.id.as_str()))
        );

        let done = confirm(&ctx, &acct, &pi).await;
        assert_eq!(done.status, PaymentIntentStatus::Succeeded);
        assert_eq!(done.amount_received, 2_000);

        let expanded = typed(
            RetrievePaymentIntent::new(pi.id.clone())
                .expand(vec!["latest_charge".to_string()])
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve expanded",
        );
        let charge: &Charge = expanded
            .latest_charge
            .as_ref()
            .and_then(|c| c.as_object())
            .expect("latest_charge expanded into an object");
        assert_eq!(charge.amount, 2_000);
        assert_eq!(charge.amount_captured, 2_000);
        assert!(charge.captured && charge.paid && !charge.refunded && !charge.disputed);
        assert_eq!(charge.application_fee_amount, Some(200));
        let fee_id = charge
            .application_fee
            .as_ref()
            .expect("application_fee on the charge")
            .id()
            .clone();

        let charges = typed(
            ListCharge::new()
                .payment_intent(pi.id.as_str())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "list charges",
        );
        assert_eq!(charges.data.len(), 1);
        assert_eq!(charges.data[0].id, charge.id);
        let again = typed(
            RetrieveCharge::new(charge.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve charge",
        );
        assert_eq!(
            again.payment_intent.as_ref().map(|p| p.id().clone()),
            Some(pi.id.clone())
        );

        let fees = typed(
            ListApplicationFee::new().send(&ctx.client).await,
            "platform fees",
        );
        assert!(fees.data.iter().any(|f| f.id == fee_id && f.amount == 200));

        let _: PaymentIntent = ctx
            .assert_shape(
                &format!("/v1/payment_intents/{}?expand[]=latest_charge", pi.id),
                Some(acct.as_str()),
            )
            .await;
        let _: Charge = ctx
            .assert_shape(&format!("/v1/charges/{}", charge.id), Some(acct.as_str()))
            .await;
        ctx.stop().await;
    });
}

#[test]
fn idempotent_replay_returns_the_same_object_and_conflicting_reuse_fails() {
    run(|| async {
        let ctx = Ctx::start("idem").await;
        let acct = ctx.onboarded_account().await;
        let first = connected_intent(
            &ctx,
            &acct,
            1_500,
            150,
            "pm_card_visa",
            false,
            "ord_2:charge:v1",
        )
        .await;
        let replay = connected_intent(
            &ctx,
            &acct,
            1_500,
            150,
            "pm_card_visa",
            false,
            "ord_2:charge:v1",
        )
        .await;
        assert_eq!(first.id, replay.id, "a replay returns the first object");
        assert_eq!(first.created, replay.created);

        // The key is scoped to the account: the same key on the platform is a new request.
        let platform = typed(
            CreatePaymentIntent::new(1_500, Currency::USD)
                .allowed_payment_method_types(vec![PaymentIntentAllowedPaymentMethodTypes::Card])
                .metadata(meta(&[("order_id", "ord_2:charge:v1")]))
                .customize()
                .request_strategy(key("ord_2:charge:v1"))
                .send(&ctx.client)
                .await,
            "same key on the platform",
        );
        assert_ne!(platform.id, first.id);

        let (err, status) = api_error(
            CreatePaymentIntent::new(9_999, Currency::USD)
                .allowed_payment_method_types(vec![PaymentIntentAllowedPaymentMethodTypes::Card])
                .customize()
                .account_id(acct.clone())
                .request_strategy(key("ord_2:charge:v1"))
                .send(&ctx.client)
                .await,
            "same key, other parameters",
        );
        assert_eq!(status, 400);
        assert_eq!(err.type_, ApiErrorsType::IdempotencyError);
        ctx.stop().await;
    });
}

#[test]
fn manual_capture_with_amount_to_capture_and_cancel() {
    run(|| async {
        let ctx = Ctx::start("capture").await;
        let acct = ctx.onboarded_account().await;
        let pi = connected_intent(&ctx, &acct, 5_000, 500, "pm_card_visa", true, "ord_3").await;
        assert_eq!(pi.capture_method, PaymentIntentCaptureMethod::Manual);
        let authorized = confirm(&ctx, &acct, &pi).await;
        assert_eq!(authorized.status, PaymentIntentStatus::RequiresCapture);
        assert_eq!(authorized.amount_capturable, 5_000);
        assert_eq!(authorized.amount_received, 0);

        let captured = typed(
            CapturePaymentIntent::new(pi.id.clone())
                .amount_to_capture(3_000)
                .customize()
                .account_id(acct.clone())
                .request_strategy(key("ord_3:capture"))
                .send(&ctx.client)
                .await,
            "partial capture",
        );
        assert_eq!(captured.status, PaymentIntentStatus::Succeeded);
        assert_eq!(captured.amount_received, 3_000);
        assert_eq!(captured.amount_capturable, 0);
        let charge = typed(
            RetrieveCharge::new(charge_id(&captured))
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "charge of the capture",
        );
        assert_eq!(charge.amount, 5_000);
        assert_eq!(charge.amount_captured, 3_000);
        assert!(charge.captured);

        // Capturing again is a state error.
        let (err, status) = api_error(
            CapturePaymentIntent::new(pi.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "capture twice",
        );
        assert_eq!(status, 400);
        assert_eq!(err.type_, ApiErrorsType::InvalidRequestError);

        let other = connected_intent(&ctx, &acct, 4_000, 0, "pm_card_visa", true, "ord_4").await;
        let held = confirm(&ctx, &acct, &other).await;
        assert_eq!(held.status, PaymentIntentStatus::RequiresCapture);
        let canceled = typed(
            CancelPaymentIntent::new(other.id.clone())
                .cancellation_reason(CancelPaymentIntentCancellationReason::RequestedByCustomer)
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "cancel",
        );
        assert_eq!(canceled.status, PaymentIntentStatus::Canceled);
        assert!(canceled.canceled_at.is_some());
        assert_eq!(
            canceled.cancellation_reason.as_ref().map(|r| r.as_str()),
            Some("requested_by_customer")
        );
        ctx.stop().await;
    });
}

#[test]
fn refunds_partial_several_with_proportional_fee_refund() {
    run(|| async {
        let ctx = Ctx::start("refund").await;
        let acct = ctx.onboarded_account().await;
        let pi = connected_intent(&ctx, &acct, 10_000, 1_000, "pm_card_visa", false, "ord_5").await;
        let pi = confirm(&ctx, &acct, &pi).await;
        let charge = charge_id(&pi);

        let refund = |amount: Option<i64>, idem: &'static str| {
            let mut req = CreateRefund::new()
                .payment_intent(pi.id.as_str())
                .refund_application_fee(true);
            if let Some(a) = amount {
                req = req.amount(a);
            }
            let client = ctx.client.clone();
            let acct = acct.clone();
            async move {
                req.customize()
                    .account_id(acct)
                    .request_strategy(key(idem))
                    .send(&client)
                    .await
            }
        };
        let first = typed(
            refund(Some(2_500), "ord_5:refund:1").await,
            "first partial refund",
        );
        assert_eq!(first.amount, 2_500);
        assert_eq!(first.status.as_deref(), Some("succeeded"));
        assert_eq!(
            first.charge.as_ref().map(|c| c.id().as_str()),
            Some(charge.as_str())
        );
        let second = typed(
            refund(Some(2_500), "ord_5:refund:2").await,
            "second partial refund",
        );
        assert_ne!(second.id, first.id);

        let fees = typed(
            ListApplicationFee::new()
                .charge(charge.as_str())
                .send(&ctx.client)
                .await,
            "fees",
        );
        assert_eq!(fees.data.len(), 1);
        assert_eq!(
            fees.data[0].amount_refunded, 500,
            "half the charge refunded → half the fee"
        );
        assert!(!fees.data[0].refunded);

        let (err, status) = api_error(
            refund(Some(5_001), "ord_5:refund:too-much").await,
            "over-refund",
        );
        assert_eq!(status, 400);
        assert_eq!(err.type_, ApiErrorsType::InvalidRequestError);

        let rest = typed(refund(None, "ord_5:refund:rest").await, "refund the rest");
        assert_eq!(rest.amount, 5_000);
        let ch = typed(
            RetrieveCharge::new(charge.as_str())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "charge after refunds",
        );
        assert_eq!(ch.amount_refunded, 10_000);
        assert!(ch.refunded);
        let fees = typed(
            ListApplicationFee::new()
                .charge(charge.as_str())
                .send(&ctx.client)
                .await,
            "fees",
        );
        assert_eq!(fees.data[0].amount_refunded, 1_000);
        assert!(fees.data[0].refunded);

        let (err, status) = api_error(
            refund(Some(1), "ord_5:refund:after-full").await,
            "refund a refunded charge",
        );
        assert_eq!(status, 400);
        assert_eq!(err.code, Some(ApiErrorsCode::ChargeAlreadyRefunded));

        let listed = typed(
            ListRefund::new()
                .charge(charge.as_str())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "list refunds",
        );
        assert_eq!(listed.data.len(), 3);
        assert_eq!(listed.data.iter().map(|r| r.amount).sum::<i64>(), 10_000);
        let one = typed(
            RetrieveRefund::new(first.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve refund",
        );
        assert_eq!(one.amount, 2_500);
        let _: stripe_shared::Refund = ctx
            .assert_shape(&format!("/v1/refunds/{}", first.id), Some(acct.as_str()))
            .await;
        ctx.stop().await;
    });
}

#[test]
fn declines_map_to_card_errors() {
    run(|| async {
        let ctx = Ctx::start("decline").await;
        let acct = ctx.onboarded_account().await;
        let cases: [(&str, ApiErrorsCode, Option<&str>); 2] = [
            (
                "pm_card_chargeDeclined",
                ApiErrorsCode::CardDeclined,
                Some("generic_decline"),
            ),
            (
                "pm_card_chargeDeclinedInsufficientFunds",
                ApiErrorsCode::CardDeclined,
                Some("insufficient_funds"),
            ),
        ];
        for (i, (pm, code, decline)) in cases.into_iter().enumerate() {
            let pi =
                connected_intent(&ctx, &acct, 1_000, 100, pm, false, &format!("decl_{i}")).await;
            let (err, status) = api_error(
                ConfirmPaymentIntent::new(pi.id.clone())
                    .customize()
                    .account_id(acct.clone())
                    .send(&ctx.client)
                    .await,
                pm,
            );
            assert_eq!(status, 402, "{pm}");
            assert_eq!(err.type_, ApiErrorsType::CardError, "{pm}");
            assert_eq!(err.code, Some(code), "{pm}");
            assert_eq!(err.decline_code.as_deref(), decline, "{pm}");
            let failed = typed(
                RetrievePaymentIntent::new(pi.id.clone())
                    .customize()
                    .account_id(acct.clone())
                    .send(&ctx.client)
                    .await,
                "intent after decline",
            );
            assert_eq!(
                failed.status,
                PaymentIntentStatus::RequiresPaymentMethod,
                "{pm}"
            );
            assert!(failed.last_payment_error.is_some(), "{pm}");
        }

        for (number, code) in [
            ("4000000000000069", ApiErrorsCode::ExpiredCard),
            ("4000000000000127", ApiErrorsCode::IncorrectCvc),
        ] {
            let pm = typed(
                CreatePaymentMethod::new()
                    .type_(CreatePaymentMethodType::Card)
                    .card(card_params(number))
                    .customize()
                    .account_id(acct.clone())
                    .send(&ctx.client)
                    .await,
                number,
            );
            let pi = connected_intent(&ctx, &acct, 1_000, 100, pm.id.as_str(), false, number).await;
            let (err, status) = api_error(
                ConfirmPaymentIntent::new(pi.id.clone())
                    .customize()
                    .account_id(acct.clone())
                    .send(&ctx.client)
                    .await,
                number,
            );
            assert_eq!(status, 402, "{number}");
            assert_eq!(err.type_, ApiErrorsType::CardError, "{number}");
            assert_eq!(err.code, Some(code), "{number}");
        }
        ctx.stop().await;
    });
}

#[test]
fn three_d_secure_requires_action_with_a_redirect() {
    run(|| async {
        let ctx = Ctx::start("3ds").await;
        let acct = ctx.onboarded_account().await;
        let pi = connected_intent(
            &ctx,
            &acct,
            3_000,
            300,
            "pm_card_authenticationRequired",
            false,
            "ord_6",
        )
        .await;
        let pending = typed(
            ConfirmPaymentIntent::new(pi.id.clone())
                .return_url("http://localhost/return")
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "confirm 3DS card",
        );
        assert_eq!(pending.status, PaymentIntentStatus::RequiresAction);
        let next = pending.next_action.as_ref().expect("next_action");
        assert_eq!(next.type_, "redirect_to_url");
        let url = next
            .redirect_to_url
            .as_ref()
            .and_then(|r| r.url.clone())
            .expect("redirect url");
        let page = ctx.http.get(&url).send().await.expect("challenge page");
        assert_eq!(page.status().as_u16(), 200, "challenge page at {url}");
        ctx.stop().await;
    });
}

#[test]
fn charging_an_account_that_cannot_take_charges_fails() {
    run(|| async {
        let ctx = Ctx::start("notready").await;
        let acct = typed(
            stripe_connect::account::CreateAccount::new()
                .type_(stripe_connect::account::CreateAccountType::Express)
                .send(&ctx.client)
                .await,
            "fresh account",
        );
        let pi = connected_intent(&ctx, &acct.id, 1_000, 100, "pm_card_visa", false, "ord_7").await;
        let (err, status) = api_error(
            ConfirmPaymentIntent::new(pi.id.clone())
                .customize()
                .account_id(acct.id.clone())
                .send(&ctx.client)
                .await,
            "confirm on a not-onboarded account",
        );
        assert_eq!(status, 400);
        assert_eq!(err.type_, ApiErrorsType::InvalidRequestError);
        ctx.stop().await;
    });
}

#[test]
fn concurrent_idempotent_twins_create_exactly_one_object() {
    run(|| async {
        let ctx = Ctx::start("twins").await;
        // Slow the first request down so its twins arrive while it is still running.
        let fault = ctx
            .raw_post(
                "/v1/test_helpers/faults",
                &[
                    ("path", "/v1/customers"),
                    ("method", "POST"),
                    ("kind", "latency"),
                    ("latency_ms", "300"),
                    ("count", "1"),
                ],
                None,
            )
            .await;
        assert_eq!(fault.status, 200, "{}", fault.body);
        let attempts = (0..6).map(|_| {
            let client = ctx.client.clone();
            async move {
                CreateCustomer::new()
                    .email("twin@example.com")
                    .customize()
                    .request_strategy(key("cart_9:customer"))
                    .send(&client)
                    .await
            }
        });
        let results = futures_join_all(attempts).await;
        let mut ids = std::collections::HashSet::new();
        for r in results {
            match r {
                Ok(c) => {
                    ids.insert(c.id.as_str().to_string());
                }
                Err(stripe::StripeError::Stripe(_, 409)) => {}
                Err(e) => panic!("twin failed otherwise: {e}"),
            }
        }
        assert_eq!(
            ids.len(),
            1,
            "all successful twins return the same customer: {ids:?}"
        );
        let all = typed(
            ListCustomer::new().send(&ctx.client).await,
            "list customers",
        );
        assert_eq!(all.data.len(), 1, "exactly one customer exists");
        ctx.stop().await;
    });
}

/// Runs the futures concurrently on the runtime and collects their outputs in order.
async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
