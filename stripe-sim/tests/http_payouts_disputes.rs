//! Payouts, disputes and early fraud warnings on a connected account, with their balance
//! effects and events.

mod http_support;

use http_support::*;
use serde_json::Value;

async fn available_usd(api: &Api, acct: &str) -> i64 {
    let b = api.get_on(acct, "/v1/balance", &[]).await.ok("balance");
    usd(&b, "available")
}

/// A connected account with `amount` usd charged on a card whose funds are available at once.
async fn funded_account(api: &Api, amount: i64) -> (String, i64) {
    let acct = api.onboarded_account().await;
    let pi = api
        .charge_on(Some(&acct), amount, "pm_card_bypassPending")
        .await;
    assert_eq!(pi["status"], "succeeded", "{pi}");
    let available = available_usd(api, &acct).await;
    assert!(available > 0, "bypassPending funds should be available");
    (acct, available)
}

#[test]
fn payout_is_pending_then_paid_when_the_clock_reaches_its_arrival() {
    run(|| async {
        let api = start().await;
        let (acct, available) = funded_account(&api, 10_000).await;
        let po = api
            .post_on(
                &acct,
                "/v1/payouts",
                &[
                    ("amount", "4000"),
                    ("currency", "usd"),
                    ("metadata[run]", "1"),
                ],
            )
            .await
            .ok("create payout");
        let id = po["id"].as_str().expect("id").to_string();
        assert!(id.starts_with("po_"));
        assert_eq!(po["status"], "pending");
        assert_eq!(po["automatic"], false);
        let _: stripe_shared::Payout = shape(&po, "payout");
        assert_eq!(
            available_usd(&api, &acct).await,
            available - 4000,
            "a payout debits at once"
        );

        let too_much = (available * 2).to_string();
        let refused = api
            .post_on(
                &acct,
                "/v1/payouts",
                &[("amount", &too_much), ("currency", "usd")],
            )
            .await;
        assert_eq!(refused.status, 400);
        assert_eq!(refused.body["error"]["code"], "balance_insufficient");

        api.post("/v1/test_helpers/advance_time", &[("days", "3")])
            .await
            .ok("advance");
        let paid = api
            .get_on(&acct, &format!("/v1/payouts/{id}"), &[])
            .await
            .ok("retrieve");
        assert_eq!(paid["status"], "paid");
        let _: stripe_shared::Payout = shape(&paid, "paid payout");
        let types = api.event_types(Some(&acct), Some("payout.*")).await;
        assert!(
            types.contains(&"payout.created".to_string())
                && types.contains(&"payout.paid".to_string()),
            "{types:?}"
        );

        let listed = api
            .get_on(&acct, "/v1/payouts", &[("status", "paid")])
            .await
            .ok("list");
        assert_eq!(listed["data"][0]["id"], id.as_str());
        assert_eq!(
            api.get(&format!("/v1/payouts/{id}"), &[]).await.status,
            404,
            "not on the platform"
        );
        api.stop().await;
    });
}

#[test]
fn failed_payout_returns_the_money_with_a_failure_code() {
    run(|| async {
        let api = start().await;
        let rx = Receiver::start(&[]);
        let (_, secret) = api
            .webhook_endpoint(&rx.url, &["payout.failed"], true)
            .await;
        let (acct, available) = funded_account(&api, 5_000).await;
        let po = api
            .post_on(
                &acct,
                "/v1/test_helpers/payouts",
                &[
                    ("amount", "1500"),
                    ("currency", "usd"),
                    ("status", "failed"),
                    ("failure_code", "account_closed"),
                ],
            )
            .await
            .ok("helper payout");
        assert_eq!(po["status"], "failed");
        assert_eq!(po["failure_code"], "account_closed");
        assert_eq!(po["failure_message"], "The bank account has been closed.");
        assert!(
            po["failure_balance_transaction"]
                .as_str()
                .is_some_and(|t| t.starts_with("txn_"))
        );
        assert_eq!(
            available_usd(&api, &acct).await,
            available,
            "the money came back"
        );
        let delivered = rx.wait_for_type("payout.failed").await;
        let typed = stripe_webhook::Webhook::construct_event(
            &delivered.body,
            &delivered.signature,
            &secret,
        )
        .expect("async-stripe parses the payout.failed delivery");
        assert!(matches!(
            typed.data.object,
            stripe_webhook::EventObject::PayoutFailed(_)
        ));
        assert_eq!(delivered.json["account"], acct.as_str());
        assert_eq!(
            delivered.json["data"]["object"]["failure_code"],
            "account_closed"
        );

        // A pending one failed later through its own helper, by id alone.
        let pending = api
            .post_on(
                &acct,
                "/v1/payouts",
                &[("amount", "1000"), ("currency", "usd")],
            )
            .await
            .ok("payout");
        let pid = pending["id"].as_str().expect("id");
        let failed = api
            .post(
                &format!("/v1/test_helpers/payouts/{pid}/fail"),
                &[("failure_code", "no_account")],
            )
            .await
            .ok("fail");
        assert_eq!(failed["status"], "failed");
        let bad = api
            .post(
                &format!("/v1/test_helpers/payouts/{pid}/fail"),
                &[("failure_code", "made_up")],
            )
            .await;
        assert_eq!(bad.status, 400);

        let cancelable = api
            .post_on(
                &acct,
                "/v1/payouts",
                &[("amount", "500"), ("currency", "usd")],
            )
            .await
            .ok("payout");
        let cid = cancelable["id"].as_str().expect("id");
        let canceled = api
            .post_on(&acct, &format!("/v1/payouts/{cid}/cancel"), &[])
            .await
            .ok("cancel");
        assert_eq!(canceled["status"], "canceled");
        assert_eq!(available_usd(&api, &acct).await, available);
        let again = api
            .post_on(&acct, &format!("/v1/payouts/{cid}/cancel"), &[])
            .await;
        assert_eq!(again.status, 400);
        api.post(&format!("/v1/test_helpers/accounts/{acct}/disable"), &[])
            .await
            .ok("disable");
        let disabled = api
            .post_on(
                &acct,
                "/v1/payouts",
                &[("amount", "100"), ("currency", "usd")],
            )
            .await;
        assert_eq!(disabled.status, 400);
        assert_eq!(disabled.body["error"]["code"], "payouts_not_allowed");
        rx.stop().await;
        api.stop().await;
    });
}

fn charge_id(pi: &Value) -> String {
    match &pi["latest_charge"] {
        Value::String(s) => s.clone(),
        other => other["id"].as_str().unwrap_or_default().to_string(),
    }
}

#[test]
fn dispute_card_opens_a_dispute_that_evidence_can_win() {
    run(|| async {
        let api = start().await;
        let rx = Receiver::start(&[]);
        let (_, secret) = api
            .webhook_endpoint(
                &rx.url,
                &["charge.dispute.created", "charge.dispute.closed"],
                true,
            )
            .await;
        let (acct, _) = funded_account(&api, 20_000).await;
        let before = available_usd(&api, &acct).await;
        let pi = api
            .charge_on(Some(&acct), 3_000, "pm_card_createDispute")
            .await;
        assert_eq!(pi["status"], "succeeded");
        let ch = charge_id(&pi);
        let listed = api
            .get_on(&acct, "/v1/disputes", &[("charge", ch.as_str())])
            .await
            .ok("disputes");
        let dispute = listed["data"][0].clone();
        let dp = dispute["id"]
            .as_str()
            .expect("a dispute was opened")
            .to_string();
        assert_eq!(dispute["status"], "needs_response");
        assert_eq!(dispute["amount"], 3000);
        assert_eq!(dispute["reason"], "fraudulent");
        let _: stripe_shared::Dispute = shape(&dispute, "dispute");
        let charge = api
            .get_on(&acct, &format!("/v1/charges/{ch}"), &[])
            .await
            .ok("charge");
        assert_eq!(charge["disputed"], true);
        let created = rx.wait_for_type("charge.dispute.created").await;
        let typed =
            stripe_webhook::Webhook::construct_event(&created.body, &created.signature, &secret)
                .expect("async-stripe parses the charge.dispute.created delivery");
        assert!(matches!(
            typed.data.object,
            stripe_webhook::EventObject::ChargeDisputeCreated(_)
        ));
        assert_eq!(created.json["account"], acct.as_str());
        // The disputed charge's own funds are still pending; the dispute withdraws its amount
        // plus the dispute fee from the available balance at once.
        let after = available_usd(&api, &acct).await;
        assert_eq!(after, before - 3000 - 1500);

        let updated = api
            .post_on(
                &acct,
                &format!("/v1/disputes/{dp}"),
                &[
                    ("evidence[customer_name]", "Jane Buyer"),
                    ("evidence[uncategorized_text]", "Delivered, signed for."),
                    ("metadata[case]", "7"),
                ],
            )
            .await
            .ok("update evidence");
        assert_eq!(updated["evidence"]["customer_name"], "Jane Buyer");
        assert_eq!(updated["evidence_details"]["has_evidence"], true);
        assert_eq!(updated["status"], "needs_response");
        let submitted = api
            .post_on(&acct, &format!("/v1/disputes/{dp}"), &[("submit", "true")])
            .await
            .ok("submit");
        assert_eq!(submitted["status"], "under_review");
        assert_eq!(submitted["evidence_details"]["submission_count"], 1);
        let locked = api
            .post_on(
                &acct,
                &format!("/v1/disputes/{dp}"),
                &[("evidence[customer_name]", "X")],
            )
            .await;
        assert_eq!(locked.status, 400, "evidence is frozen once submitted");

        let won = api
            .post(
                &format!("/v1/test_helpers/disputes/{dp}/close"),
                &[("outcome", "won")],
            )
            .await
            .ok("won");
        assert_eq!(won["status"], "won");
        let _: stripe_shared::Dispute = shape(&won, "won dispute");
        assert_eq!(
            available_usd(&api, &acct).await,
            after + 3000 + 1500,
            "funds and fee reinstated"
        );
        let closed = rx.wait_for_type("charge.dispute.closed").await;
        assert_eq!(closed.json["data"]["object"]["status"], "won");
        let types = api.event_types(Some(&acct), Some("charge.dispute.*")).await;
        for t in [
            "charge.dispute.created",
            "charge.dispute.updated",
            "charge.dispute.closed",
            "charge.dispute.funds_reinstated",
        ] {
            assert!(types.contains(&t.to_string()), "missing {t} in {types:?}");
        }
        let twice = api
            .post(
                &format!("/v1/test_helpers/disputes/{dp}/close"),
                &[("outcome", "lost")],
            )
            .await;
        assert_eq!(twice.status, 400);
        rx.stop().await;
        api.stop().await;
    });
}

#[test]
fn accepting_a_helper_dispute_loses_it() {
    run(|| async {
        let api = start().await;
        let acct = api.onboarded_account().await;
        let pi = api.charge_on(Some(&acct), 2_500, "pm_card_visa").await;
        let ch = charge_id(&pi);
        let dp = api
            .post(
                &format!("/v1/test_helpers/charges/{ch}/dispute"),
                &[("reason", "product_not_received")],
            )
            .await
            .ok("helper dispute");
        assert_eq!(dp["reason"], "product_not_received");
        let id = dp["id"].as_str().expect("id");
        let again = api
            .post(&format!("/v1/test_helpers/charges/{ch}/dispute"), &[])
            .await;
        assert_eq!(again.status, 400, "a charge is disputed once");
        let lost = api
            .post_on(&acct, &format!("/v1/disputes/{id}/close"), &[])
            .await
            .ok("close");
        assert_eq!(lost["status"], "lost");
        let closed = api
            .get_on(&acct, "/v1/events", &[("type", "charge.dispute.closed")])
            .await
            .ok("events");
        assert_eq!(closed["data"][0]["data"]["object"]["id"], id);
        assert_eq!(
            api.get(&format!("/v1/disputes/{id}"), &[]).await.status,
            404,
            "not on the platform"
        );
        api.stop().await;
    });
}

#[test]
fn unanswered_dispute_is_lost_after_its_deadline() {
    run(|| async {
        let api = start().await;
        let acct = api.onboarded_account().await;
        let pi = api.charge_on(Some(&acct), 1_000, "pm_card_visa").await;
        let ch = charge_id(&pi);
        let dp = api
            .post(&format!("/v1/test_helpers/charges/{ch}/dispute"), &[])
            .await
            .ok("dispute");
        let id = dp["id"].as_str().expect("id");
        api.post("/v1/test_helpers/advance_time", &[("days", "8")])
            .await
            .ok("advance");
        let d = api
            .get_on(&acct, &format!("/v1/disputes/{id}"), &[])
            .await
            .ok("dispute");
        assert_eq!(d["status"], "lost");
        assert_eq!(d["evidence_details"]["past_due"], true);
        api.stop().await;
    });
}

#[test]
fn early_fraud_warnings_are_listed_and_retrievable() {
    run(|| async {
        let api = start().await;
        let acct = api.onboarded_account().await;
        let pi = api.charge_on(Some(&acct), 1_200, "pm_card_visa").await;
        let ch = charge_id(&pi);
        let efw = api
            .post(
                &format!("/v1/test_helpers/charges/{ch}/early_fraud_warning"),
                &[("fraud_type", "unauthorized_use_of_card")],
            )
            .await
            .ok("efw");
        let id = efw["id"].as_str().expect("id").to_string();
        assert!(id.starts_with("issfr_"));
        assert_eq!(efw["actionable"], true);
        let _: stripe_fraud::RadarEarlyFraudWarning = shape(&efw, "early fraud warning");
        let got = api
            .get_on(&acct, &format!("/v1/radar/early_fraud_warnings/{id}"), &[])
            .await
            .ok("retrieve");
        assert_eq!(got["charge"], ch.as_str());
        let listed = api
            .get_on(
                &acct,
                "/v1/radar/early_fraud_warnings",
                &[("charge", ch.as_str())],
            )
            .await
            .ok("list");
        assert_eq!(listed["data"][0]["id"], id.as_str());
        let events = api
            .get_on(
                &acct,
                "/v1/events",
                &[("type", "radar.early_fraud_warning.created")],
            )
            .await
            .ok("events");
        assert_eq!(events["data"][0]["data"]["object"]["id"], id.as_str());
        api.post_on(&acct, "/v1/refunds", &[("charge", ch.as_str())])
            .await
            .ok("refund");
        let after = api
            .get_on(&acct, &format!("/v1/radar/early_fraud_warnings/{id}"), &[])
            .await
            .ok("retrieve");
        assert_eq!(
            after["actionable"], false,
            "a refunded charge needs no action"
        );
        assert_eq!(
            api.get(&format!("/v1/radar/early_fraud_warnings/{id}"), &[])
                .await
                .status,
            404
        );
        api.stop().await;
    });
}

#[test]
fn balance_moves_from_pending_to_available_as_the_clock_passes_and_keeps_counting() {
    run(|| async {
        let api = start().await;
        let acct = api.onboarded_account().await;
        let balance = || async { api.get_on(&acct, "/v1/balance", &[]).await.ok("balance") };
        api.charge_on(Some(&acct), 1000, "pm_card_visa").await;
        let one = balance().await;
        let net = usd(&one, "pending");
        assert!(net > 0 && net < 1000, "{one}");
        assert_eq!(usd(&one, "available"), 0);
        // A second charge is added to what was already counted.
        api.charge_on(Some(&acct), 1000, "pm_card_visa").await;
        let two = balance().await;
        assert_eq!((usd(&two, "available"), usd(&two, "pending")), (0, 2 * net));
        // Two days later the funds are available.
        api.post("/v1/test_helpers/advance_time", &[("days", "3")])
            .await
            .ok("advance");
        let later = balance().await;
        assert_eq!(
            (usd(&later, "available"), usd(&later, "pending")),
            (2 * net, 0)
        );
        // A new charge is pending again, on top of what is available.
        api.charge_on(Some(&acct), 1000, "pm_card_visa").await;
        let three = balance().await;
        assert_eq!(
            (usd(&three, "available"), usd(&three, "pending")),
            (2 * net, net)
        );
        api.stop().await;
    })
}
