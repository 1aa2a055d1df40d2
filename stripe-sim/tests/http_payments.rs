//! The money flows over raw HTTP: direct charges with fees, refunds, capture, declines, 3DS,
//! hosted onboarding.

mod http_support;
use http_support::*;
use serde_json::Value;

/// Platform customer with a saved card, cloned onto `acct`; returns (platform cus, connected pm).
async fn card_on(api: &Api, acct: &str, token: &str) -> (String, String) {
    let cus = api
        .post("/v1/customers", &[("email", "buyer@example.com")])
        .await
        .id();
    let pm = api
        .post(
            "/v1/payment_methods/pm_card_visa/attach",
            &[("customer", &cus)],
        )
        .await;
    let pm = if token == "pm_card_visa" {
        pm
    } else {
        api.post(
            &format!("/v1/payment_methods/{token}/attach"),
            &[("customer", &cus)],
        )
        .await
    };
    assert_eq!(pm.status, 200, "{}", pm.body);
    assert_eq!(pm.body["customer"], cus.as_str());
    let clone = api
        .post_on(
            acct,
            "/v1/payment_methods",
            &[("customer", &cus), ("payment_method", &pm.id())],
        )
        .await;
    assert_eq!(clone.status, 200, "{}", clone.body);
    assert_ne!(clone.id(), pm.id());
    assert_eq!(clone.body["customer"], Value::Null);
    assert_eq!(clone.body["card"]["last4"], pm.body["card"]["last4"]);
    // The clone lives on the connected account only.
    assert_eq!(
        api.get(&format!("/v1/payment_methods/{}", clone.id()), &[])
            .await
            .status,
        404
    );
    (cus, clone.id())
}

#[tokio::test]
async fn direct_charge_fee_and_proportional_fee_refunds() {
    let api = start().await;
    let acct = api.onboarded_account().await;
    let (_cus, pm) = card_on(&api, &acct, "pm_card_visa").await;
    let pi = api
        .post_on(
            &acct,
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("payment_method", &pm),
                ("allowed_payment_method_types[0]", "card"),
                ("application_fee_amount", "123"),
                ("confirm", "true"),
                ("expand[]", "latest_charge"),
            ],
        )
        .await;
    assert_eq!(pi.status, 200, "{}", pi.body);
    assert_eq!(pi.body["status"], "succeeded");
    assert_eq!(pi.body["payment_method_types"], serde_json::json!(["card"]));
    assert_eq!(pi.body["amount_received"], 1000);
    let charge = &pi.body["latest_charge"];
    assert_eq!(charge["object"], "charge");
    assert_eq!(charge["captured"], true);
    let fee_id = charge["application_fee"].as_str().unwrap().to_string();
    let charge_id = charge["id"].as_str().unwrap().to_string();

    // The fee is on the platform, pointing at the connected account and charge.
    let fee = api
        .get(&format!("/v1/application_fees/{fee_id}"), &[])
        .await;
    assert_eq!(fee.status, 200, "{}", fee.body);
    assert_eq!(fee.body["account"], acct.as_str());
    assert_eq!(fee.body["charge"], charge_id.as_str());
    assert_eq!(fee.body["amount"], 123);
    assert_eq!(fee.body["refunds"]["object"], "list");
    assert_eq!(
        api.get_on(&acct, &format!("/v1/application_fees/{fee_id}"), &[])
            .await
            .status,
        404
    );

    // The connected account's balance transaction carries both fees.
    let txn = api
        .get_on(
            &acct,
            &format!(
                "/v1/balance_transactions/{}",
                charge["balance_transaction"].as_str().unwrap()
            ),
            &[],
        )
        .await;
    assert_eq!(txn.body["fee"], 59 + 123);
    assert_eq!(txn.body["net"], 1000 - 59 - 123);
    let bal = api.get_on(&acct, "/v1/balance", &[]).await;
    assert_eq!(bal.body["pending"][0]["amount"], 1000 - 59 - 123);

    // Partial refunds with the fee refunded in proportion (rounded half up, cumulative).
    let r1 = api
        .post_on(
            &acct,
            "/v1/refunds",
            &[
                ("payment_intent", pi.id().as_str()),
                ("amount", "333"),
                ("refund_application_fee", "true"),
            ],
        )
        .await;
    assert_eq!(r1.status, 200, "{}", r1.body);
    assert_eq!(r1.body["status"], "succeeded");
    let fee = api
        .get(&format!("/v1/application_fees/{fee_id}"), &[])
        .await;
    assert_eq!(fee.body["amount_refunded"], 41);
    assert_eq!(fee.body["refunds"]["data"][0]["amount"], 41);
    let r2 = api
        .post_on(
            &acct,
            "/v1/refunds",
            &[
                ("charge", charge_id.as_str()),
                ("amount", "333"),
                ("refund_application_fee", "true"),
            ],
        )
        .await;
    assert_eq!(r2.status, 200);
    assert_eq!(
        api.get(&format!("/v1/application_fees/{fee_id}"), &[])
            .await
            .body["amount_refunded"],
        82
    );
    // Over-refund rejected.
    let over = api
        .post_on(
            &acct,
            "/v1/refunds",
            &[("charge", charge_id.as_str()), ("amount", "335")],
        )
        .await;
    assert_eq!(over.status, 400);
    assert_eq!(over.body["error"]["code"], "amount_too_large");
    assert_eq!(over.body["error"]["param"], "amount");
    // The rest refunds the whole fee.
    let r3 = api
        .post_on(
            &acct,
            "/v1/refunds",
            &[
                ("charge", charge_id.as_str()),
                ("refund_application_fee", "true"),
            ],
        )
        .await;
    assert_eq!(r3.body["amount"], 334);
    let fee = api
        .get(&format!("/v1/application_fees/{fee_id}"), &[])
        .await;
    assert_eq!(fee.body["amount_refunded"], 123);
    assert_eq!(fee.body["refunded"], true);
    let fee_refunds = api
        .get(&format!("/v1/application_fees/{fee_id}/refunds"), &[])
        .await;
    assert_eq!(fee_refunds.body["data"].as_array().unwrap().len(), 3);
    let again = api
        .post_on(&acct, "/v1/refunds", &[("charge", charge_id.as_str())])
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body["error"]["code"], "charge_already_refunded");
    let ch = api
        .get_on(&acct, &format!("/v1/charges/{charge_id}"), &[])
        .await;
    assert_eq!(ch.body["amount_refunded"], 1000);
    assert_eq!(ch.body["refunded"], true);
    let refunds = api
        .get_on(&acct, "/v1/refunds", &[("charge", charge_id.as_str())])
        .await;
    assert_eq!(refunds.body["data"].as_array().unwrap().len(), 3);

    // Events were recorded on the right accounts.
    api.stop().await;
}

/// Ids in a list page, newest first.
fn ids(list: &Resp) -> Vec<String> {
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

/// Lists filtered by the object they refer to (a charge's balance transaction, a payment's
/// refunds, a charge's fee) find exactly that object's among many, page through them, and never
/// show another account's.
#[tokio::test]
async fn lists_filtered_by_a_referenced_object_find_exactly_its_objects() {
    let api = start().await;
    let acct = api.onboarded_account().await;
    let other = api.onboarded_account().await;
    let mut payments = Vec::new();
    for amount in ["1000", "2000", "3000"] {
        // A clone without a Customer is good for one payment.
        let (_cus, pm) = card_on(&api, &acct, "pm_card_visa").await;
        let pi = api
            .post_on(
                &acct,
                "/v1/payment_intents",
                &[
                    ("amount", amount),
                    ("currency", "usd"),
                    ("payment_method", &pm),
                    ("application_fee_amount", "100"),
                    ("confirm", "true"),
                    ("expand[]", "latest_charge"),
                ],
            )
            .await;
        assert_eq!(pi.status, 200, "{}", pi.body);
        let charge = &pi.body["latest_charge"];
        payments.push((
            pi.id(),
            charge["id"].as_str().unwrap().to_string(),
            charge["balance_transaction"].as_str().unwrap().to_string(),
            charge["application_fee"].as_str().unwrap().to_string(),
        ));
    }
    let (pi, charge, txn, fee) = payments[1].clone();

    let by_source = api
        .get_on(&acct, "/v1/balance_transactions", &[("source", &charge)])
        .await;
    assert_eq!(ids(&by_source), [txn.as_str()]);
    assert_eq!(by_source.body["has_more"], false);
    let charges = api
        .get_on(&acct, "/v1/charges", &[("payment_intent", &pi)])
        .await;
    assert_eq!(ids(&charges), [charge.as_str()]);
    let fees = api
        .get("/v1/application_fees", &[("charge", &charge)])
        .await;
    assert_eq!(ids(&fees), [fee.as_str()]);
    let fee_txns = api
        .get("/v1/balance_transactions", &[("source", &fee)])
        .await;
    assert_eq!(ids(&fee_txns).len(), 1);

    // Two refunds of the second payment, one of the third: paged by charge, one at a time.
    let mut refunds = Vec::new();
    for (target, amount) in [(&charge, "100"), (&payments[2].1, "100"), (&charge, "200")] {
        let r = api
            .post_on(
                &acct,
                "/v1/refunds",
                &[("charge", target), ("amount", amount)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        refunds.push(r.id());
    }
    let newest = api
        .get_on(&acct, "/v1/refunds", &[("charge", &charge), ("limit", "1")])
        .await;
    assert_eq!(ids(&newest), [refunds[2].clone()]);
    assert_eq!(newest.body["has_more"], true);
    let older = api
        .get_on(
            &acct,
            "/v1/refunds",
            &[
                ("charge", &charge),
                ("limit", "1"),
                ("starting_after", &refunds[2]),
            ],
        )
        .await;
    assert_eq!(ids(&older), [refunds[0].clone()]);
    assert_eq!(older.body["has_more"], false);
    let by_payment = api
        .get_on(&acct, "/v1/refunds", &[("payment_intent", &pi)])
        .await;
    assert_eq!(ids(&by_payment), [refunds[2].clone(), refunds[0].clone()]);
    // A refund of another charge is not a cursor of this list.
    let wrong_cursor = api
        .get_on(
            &acct,
            "/v1/refunds",
            &[("charge", &charge), ("starting_after", &refunds[1])],
        )
        .await;
    assert_eq!(wrong_cursor.status, 404, "{}", wrong_cursor.body);
    let refund_txn = api
        .get_on(
            &acct,
            "/v1/balance_transactions",
            &[("source", &refunds[1])],
        )
        .await;
    assert_eq!(ids(&refund_txn).len(), 1);

    // Another account sees none of them.
    for (path, key, value) in [
        ("/v1/balance_transactions", "source", &charge),
        ("/v1/refunds", "charge", &charge),
        ("/v1/charges", "payment_intent", &pi),
    ] {
        let seen = api.get_on(&other, path, &[(key, value)]).await;
        assert!(ids(&seen).is_empty(), "{path}: {}", seen.body);
    }
    api.stop().await;
}

#[tokio::test]
async fn fee_needs_a_connected_account_and_charges_need_onboarding() {
    let api = start().await;
    let r = api
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("application_fee_amount", "10"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["param"], "application_fee_amount");
    let acct = api.post("/v1/accounts", &[("type", "express")]).await;
    assert_eq!(acct.body["charges_enabled"], false);
    let acct = acct.id();
    let pi = api
        .post_on(
            &acct,
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
            ],
        )
        .await;
    assert_eq!(pi.status, 400);
    assert_eq!(pi.body["error"]["type"], "invalid_request_error");
    let small = api
        .post(
            "/v1/payment_intents",
            &[("amount", "10"), ("currency", "usd")],
        )
        .await;
    assert_eq!(small.body["error"]["code"], "amount_too_small");
    api.stop().await;
}

#[tokio::test]
async fn declines_are_402_and_recorded() {
    let api = start().await;
    for (token, decline) in [
        ("pm_card_chargeDeclined", "generic_decline"),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
        ),
    ] {
        let r = api
            .post(
                "/v1/payment_intents",
                &[
                    ("amount", "2000"),
                    ("currency", "usd"),
                    ("payment_method", token),
                    ("confirm", "true"),
                ],
            )
            .await;
        assert_eq!(r.status, 402, "{}", r.body);
        let e = &r.body["error"];
        assert_eq!(e["type"], "card_error");
        assert_eq!(e["code"], "card_declined");
        assert_eq!(e["decline_code"], decline);
        let pi_id = e["payment_intent"]["id"].as_str().unwrap();
        let pi = api.get(&format!("/v1/payment_intents/{pi_id}"), &[]).await;
        assert_eq!(pi.body["status"], "requires_payment_method");
        assert_eq!(pi.body["last_payment_error"]["decline_code"], decline);
        let ch = api
            .get(
                &format!("/v1/charges/{}", e["charge"].as_str().unwrap()),
                &[],
            )
            .await;
        assert_eq!(ch.body["status"], "failed");
        assert_eq!(ch.body["paid"], false);
    }
    let card = api
        .post(
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[number]", "4000000000000069"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2040"),
                ("card[cvc]", "123"),
            ],
        )
        .await;
    assert_eq!(card.status, 200, "{}", card.body);
    let r = api
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "2000"),
                ("currency", "usd"),
                ("payment_method", card.id().as_str()),
                ("confirm", "true"),
            ],
        )
        .await;
    assert_eq!(r.body["error"]["code"], "expired_card");
    let bad = api
        .post(
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[number]", "4242424242424241"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2040"),
            ],
        )
        .await;
    assert_eq!(bad.status, 402);
    assert_eq!(bad.body["error"]["code"], "incorrect_number");
    api.stop().await;
}

#[tokio::test]
async fn manual_capture_partial() {
    let api = start().await;
    let acct = api.onboarded_account().await;
    let pi = api
        .post_on(
            &acct,
            "/v1/payment_intents",
            &[
                ("amount", "5000"),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
                ("capture_method", "manual"),
                ("application_fee_amount", "500"),
                ("confirm", "true"),
            ],
        )
        .await;
    assert_eq!(pi.body["status"], "requires_capture", "{}", pi.body);
    assert_eq!(pi.body["amount_capturable"], 5000);
    let id = pi.id();
    let too_much = api
        .post_on(
            &acct,
            &format!("/v1/payment_intents/{id}/capture"),
            &[("amount_to_capture", "6000")],
        )
        .await;
    assert_eq!(too_much.status, 400);
    assert_eq!(too_much.body["error"]["param"], "amount_to_capture");
    let cap = api
        .post_on(
            &acct,
            &format!("/v1/payment_intents/{id}/capture"),
            &[
                ("amount_to_capture", "4000"),
                ("expand[]", "latest_charge.application_fee"),
            ],
        )
        .await;
    assert_eq!(cap.status, 200, "{}", cap.body);
    assert_eq!(cap.body["status"], "succeeded");
    assert_eq!(cap.body["amount_received"], 4000);
    let ch = &cap.body["latest_charge"];
    assert_eq!(ch["amount_captured"], 4000);
    assert_eq!(ch["application_fee"]["amount"], 500);
    // Only the captured amount can be refunded.
    let over = api
        .post_on(
            &acct,
            "/v1/refunds",
            &[("payment_intent", id.as_str()), ("amount", "4001")],
        )
        .await;
    assert_eq!(over.body["error"]["code"], "amount_too_large");
    let full = api
        .post_on(
            &acct,
            "/v1/refunds",
            &[
                ("payment_intent", id.as_str()),
                ("refund_application_fee", "true"),
            ],
        )
        .await;
    assert_eq!(full.body["amount"], 4000);
    let again = api
        .post_on(&acct, &format!("/v1/payment_intents/{id}/capture"), &[])
        .await;
    assert_eq!(
        again.body["error"]["code"],
        "payment_intent_unexpected_state"
    );

    let pi2 = api
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "700"),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
                ("capture_method", "manual"),
                ("confirm", "true"),
            ],
        )
        .await;
    let c = api
        .post(
            &format!("/v1/payment_intents/{}/cancel", pi2.id()),
            &[("cancellation_reason", "requested_by_customer")],
        )
        .await;
    assert_eq!(c.body["status"], "canceled");
    assert_eq!(c.body["cancellation_reason"], "requested_by_customer");
    api.stop().await;
}

#[tokio::test]
async fn three_d_secure_page_flow() {
    let api = start().await;
    for (choice, want) in [
        ("approve", "succeeded"),
        ("fail", "requires_payment_method"),
    ] {
        let pi = api
            .post(
                "/v1/payment_intents",
                &[
                    ("amount", "1500"),
                    ("currency", "usd"),
                    ("payment_method", "pm_card_authenticationRequired"),
                    ("confirm", "true"),
                    ("return_url", "https://shop.example/return"),
                ],
            )
            .await;
        assert_eq!(pi.body["status"], "requires_action", "{}", pi.body);
        assert_eq!(pi.body["next_action"]["type"], "redirect_to_url");
        let url = pi.body["next_action"]["redirect_to_url"]["url"]
            .as_str()
            .unwrap()
            .to_string();
        let page = api.http.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("Complete authentication")
        );
        let r = api
            .http
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("result={choice}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        assert!(
            loc.starts_with("https://shop.example/return?payment_intent="),
            "{loc}"
        );
        let after = api
            .get(&format!("/v1/payment_intents/{}", pi.id()), &[])
            .await;
        assert_eq!(after.body["status"], want);
        // The challenge cannot be answered twice.
        assert_eq!(api.http.get(&url).send().await.unwrap().status(), 404);
    }
    // Off-session, the card cannot be authenticated.
    let cus = api.post("/v1/customers", &[]).await.id();
    let pm = api
        .post(
            "/v1/payment_methods/pm_card_authenticationRequired/attach",
            &[("customer", &cus)],
        )
        .await
        .id();
    let r = api
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1500"),
                ("currency", "usd"),
                ("customer", &cus),
                ("payment_method", &pm),
                ("confirm", "true"),
                ("off_session", "true"),
            ],
        )
        .await;
    assert_eq!(r.status, 402);
    assert_eq!(r.body["error"]["code"], "authentication_required");
    api.stop().await;
}

#[tokio::test]
async fn onboarding_page_flow() {
    let api = start().await;
    let acct = api
        .post(
            "/v1/accounts",
            &[("type", "express"), ("email", "seller@example.com")],
        )
        .await
        .id();
    let link = api
        .post(
            "/v1/account_links",
            &[
                ("account", &acct),
                ("type", "account_onboarding"),
                ("refresh_url", "https://shop.example/refresh"),
                ("return_url", "https://shop.example/return"),
            ],
        )
        .await;
    assert_eq!(link.status, 200, "{}", link.body);
    assert_eq!(link.body["object"], "account_link");
    assert!(link.body["expires_at"].as_i64().unwrap() > link.body["created"].as_i64().unwrap());
    let url = link.body["url"].as_str().unwrap().to_string();
    let form = api.http.get(&url).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let r = api.http.post(&url).body("name=x").send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "https://shop.example/return");
    let a = api.get(&format!("/v1/accounts/{acct}"), &[]).await;
    assert_eq!(a.body["charges_enabled"], true);
    assert_eq!(a.body["details_submitted"], true);
    assert_eq!(
        a.body["requirements"]["currently_due"],
        serde_json::json!([])
    );
    // A used link sends the browser to refresh_url.
    let again = api.http.get(&url).send().await.unwrap();
    assert_eq!(again.status(), 303);
    assert_eq!(again.headers()["location"], "https://shop.example/refresh");
    let events = api.get("/v1/events", &[("type", "account.updated")]).await;
    if events.status == 200 {
        // Connected accounts' events are listed with Stripe-Account.
        let ev = api
            .get_on(&acct, "/v1/events", &[("type", "account.updated")])
            .await;
        assert_eq!(ev.body["data"][0]["account"], acct.as_str());
    }
    let ll = api
        .post(&format!("/v1/accounts/{acct}/login_links"), &[])
        .await;
    assert_eq!(ll.body["object"], "login_link");
    api.stop().await;
}

#[tokio::test]
async fn refund_fail_card_fails_later() {
    let api = start().await;
    let pi = api
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("payment_method", "pm_card_refundFail"),
                ("confirm", "true"),
            ],
        )
        .await;
    assert_eq!(pi.body["status"], "succeeded");
    let r = api
        .post("/v1/refunds", &[("payment_intent", pi.id().as_str())])
        .await;
    assert_eq!(r.body["status"], "succeeded");
    let mut status = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = api.get(&format!("/v1/refunds/{}", r.id()), &[]).await.body["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "failed" {
            break;
        }
    }
    assert_eq!(status, "failed");
    let ch = api
        .get(
            &format!("/v1/charges/{}", pi.body["latest_charge"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(ch.body["amount_refunded"], 0);
    api.stop().await;
}

/// Fields Stripe's 2026-09-30 schema marks optional and never null are present only when they
/// have a value; embedded lists carry no `total_count`.
#[tokio::test]
async fn optional_fields_are_omitted_not_null() {
    let api = start().await;
    let acct = api.onboarded_account().await;
    let card = |ch: &Value| ch["payment_method_details"]["card"].clone();
    let charge_of = |pi: &Resp| pi.body["latest_charge"].clone();
    let pay = |capture: &'static str| {
        let api = &api;
        let acct = acct.clone();
        async move {
            api.post_on(
                &acct,
                "/v1/payment_intents",
                &[
                    ("amount", "5000"),
                    ("currency", "usd"),
                    ("payment_method", "pm_card_visa"),
                    ("capture_method", capture),
                    ("application_fee_amount", "500"),
                    ("confirm", "true"),
                    ("expand[]", "latest_charge"),
                ],
            )
            .await
        }
    };
    let auto = pay("automatic").await;
    assert_eq!(auto.status, 200, "{}", auto.body);
    assert!(card(&charge_of(&auto)).get("capture_before").is_none());

    let manual = pay("manual").await;
    let ch = charge_of(&manual);
    let before = card(&ch)["capture_before"]
        .as_i64()
        .expect("capture_before");
    assert_eq!(before - ch["created"].as_i64().unwrap(), 7 * 24 * 3600);
    let cap = api
        .post_on(
            &acct,
            &format!("/v1/payment_intents/{}/capture", manual.id()),
            &[("expand[]", "latest_charge")],
        )
        .await;
    assert!(
        card(&charge_of(&cap)).get("capture_before").is_none(),
        "{}",
        cap.body
    );

    let refund = api
        .post_on(
            &acct,
            "/v1/refunds",
            &[
                ("payment_intent", manual.id().as_str()),
                ("amount", "1000"),
                ("refund_application_fee", "true"),
            ],
        )
        .await;
    let dest = &refund.body["destination_details"]["card"];
    assert_eq!(dest["reference_status"], "pending");
    assert!(dest.get("reference").is_none(), "{}", refund.body);

    let a = api.get(&format!("/v1/accounts/{acct}"), &[]).await;
    assert_eq!(a.body["external_accounts"]["object"], "list");
    assert!(a.body["external_accounts"].get("total_count").is_none());
    let fees = api.get("/v1/application_fees", &[]).await;
    let fee = &fees.body["data"][0];
    assert_eq!(
        fee["refunds"]["data"].as_array().map(Vec::len),
        Some(1),
        "{fee}"
    );
    assert!(fee["refunds"].get("total_count").is_none());
    // The guard every raw response goes through finds each departure.
    let bad = serde_json::json!({
        "object": "list", "total_count": 1, "data": [{
            "payment_method_details": {"card": {"capture_before": null}},
            "destination_details": {"card": {"reference": null}},
        }],
    });
    assert_eq!(schema_departures(&bad).len(), 3, "{bad}");
    api.stop().await;
}
