//! Emulator-only controls: fault injection proven against idempotency, the clock, account
//! states and `trigger`.

mod http_support;

use http_support::*;
use serde_json::Value;

async fn customers(api: &Api) -> usize {
    let list = api
        .get("/v1/customers", &[("limit", "100")])
        .await
        .ok("list customers");
    list["data"].as_array().map(Vec::len).unwrap_or(0)
}

async fn fault(api: &Api, form: &[(&str, &str)]) -> Value {
    api.post("/v1/test_helpers/faults", form)
        .await
        .ok("create fault")
}

async fn post_keyed(api: &Api, path: &str, form: &[(&str, &str)], key: &str) -> Sent {
    api.send(reqwest::Method::POST, path, form, None, Some(key))
        .await
}

#[test]
fn injected_500_is_not_applied_and_a_retry_succeeds_once() {
    run(|| async {
        let api = start().await;
        let rule = fault(
            &api,
            &[
                ("path", "/v1/customers"),
                ("method", "POST"),
                ("kind", "server_error"),
                ("status", "503"),
                ("count", "1"),
            ],
        )
        .await;
        assert_eq!(rule["remaining"], 1);
        let Sent::Answered(first) =
            post_keyed(&api, "/v1/customers", &[("name", "A")], "order-1:customer").await
        else {
            panic!("expected an answer");
        };
        assert_eq!(first.status, 503);
        assert_eq!(first.body["error"]["type"], "api_error");
        assert!(
            first
                .header("request-id")
                .is_some_and(|r| r.starts_with("req_"))
        );
        assert_eq!(customers(&api).await, 0, "an injected 5xx executes nothing");
        let Sent::Answered(retry) =
            post_keyed(&api, "/v1/customers", &[("name", "A")], "order-1:customer").await
        else {
            panic!("expected an answer");
        };
        assert_eq!(retry.status, 200, "{}", retry.body);
        assert_eq!(customers(&api).await, 1);
        api.stop().await;
    });
}

#[test]
fn injected_429_then_success() {
    run(|| async {
        let api = start().await;
        fault(
            &api,
            &[
                ("path", "/v1/customers*"),
                ("kind", "rate_limit"),
                ("count", "2"),
            ],
        )
        .await;
        for _ in 0..2 {
            let r = api.get("/v1/customers", &[]).await;
            assert_eq!(r.status, 429);
            assert_eq!(r.body["error"]["code"], "rate_limit");
        }
        assert_eq!(
            api.get("/v1/customers", &[]).await.status,
            200,
            "count exhausted"
        );
        let listed = api
            .get("/v1/test_helpers/faults", &[])
            .await
            .ok("list faults");
        assert_eq!(listed["data"], Value::Array(vec![]));
        api.stop().await;
    });
}

#[test]
fn dropped_response_is_applied_and_replayed_on_retry_with_the_same_key() {
    run(|| async {
        let api = start().await;
        fault(
            &api,
            &[
                ("path", "/v1/customers"),
                ("method", "POST"),
                ("kind", "drop_response"),
                ("count", "1"),
            ],
        )
        .await;
        let form = [("email", "dropped@example.com")];
        match post_keyed(&api, "/v1/customers", &form, "order-7:customer").await {
            Sent::Lost(_) => {}
            Sent::Answered(r) => panic!(
                "the response should have been lost, got {} {}",
                r.status, r.body
            ),
        }
        assert_eq!(
            customers(&api).await,
            1,
            "the request was applied before the response was lost"
        );
        let Sent::Answered(retry) =
            post_keyed(&api, "/v1/customers", &form, "order-7:customer").await
        else {
            panic!("retry must be answered");
        };
        assert_eq!(retry.status, 200);
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        assert_eq!(
            customers(&api).await,
            1,
            "the retry did not create a second customer"
        );
        api.stop().await;
    });
}

#[test]
fn faults_are_scoped_to_their_platform_and_can_be_reset() {
    run(|| async {
        let a = start().await;
        let b = a.other_platform();
        b.get("/v1/customers", &[]).await.ok("b exists");
        fault(&a, &[("path", "/v1/*"), ("kind", "server_error")]).await;
        fault(
            &a,
            &[
                ("path", "/v1/balance"),
                ("kind", "latency"),
                ("latency_ms", "30"),
            ],
        )
        .await;
        assert_eq!(a.get("/v1/customers", &[]).await.status, 500);
        assert_eq!(
            b.get("/v1/customers", &[]).await.status,
            200,
            "platform B is unaffected"
        );
        let listed = a.get("/v1/test_helpers/faults", &[]).await.ok("list");
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));
        let reset = a.delete("/v1/test_helpers/faults").await.ok("reset");
        assert_eq!(reset["removed"], 2);
        assert_eq!(a.get("/v1/customers", &[]).await.status, 200);
        let bad = a
            .post(
                "/v1/test_helpers/faults",
                &[("path", "/v1/x"), ("kind", "explode")],
            )
            .await;
        assert_eq!(bad.status, 400);
        assert_eq!(bad.body["error"]["param"], "kind");
        a.stop().await;
    });
}

#[test]
fn latency_fault_delays_but_answers() {
    run(|| async {
        let api = start().await;
        fault(
            &api,
            &[
                ("path", "/v1/customers"),
                ("kind", "latency"),
                ("latency_ms", "20"),
                ("count", "1"),
            ],
        )
        .await;
        assert_eq!(api.get("/v1/customers", &[]).await.status, 200);
        let listed = api.get("/v1/test_helpers/faults", &[]).await.ok("list");
        assert_eq!(
            listed["data"],
            Value::Array(vec![]),
            "the single use was consumed"
        );
        api.stop().await;
    });
}

#[test]
fn advancing_time_expires_uncaptured_authorizations() {
    run(|| async {
        let api = start().await;
        let acct = api.onboarded_account().await;
        let pi = api
            .call(
                reqwest::Method::POST,
                "/v1/payment_intents",
                &[
                    ("amount", "5000"),
                    ("currency", "usd"),
                    ("payment_method", "pm_card_visa"),
                    ("payment_method_types[]", "card"),
                    ("capture_method", "manual"),
                    ("confirm", "true"),
                ],
                Some(&acct),
            )
            .await
            .ok("authorize");
        assert_eq!(pi["status"], "requires_capture");
        let id = pi["id"].as_str().expect("id").to_string();
        let clock = api.get("/v1/test_helpers/clock", &[]).await.ok("clock");
        let t0 = clock["now"].as_i64().expect("now");

        let early = api
            .post("/v1/test_helpers/advance_time", &[("days", "6")])
            .await
            .ok("advance 6d");
        assert!(early["now"].as_i64().expect("now") >= t0 + 6 * 86400);
        let still = api
            .get_on(&acct, &format!("/v1/payment_intents/{id}"), &[])
            .await
            .ok("pi");
        assert_eq!(
            still["status"], "requires_capture",
            "authorizations last 7 days"
        );

        let later = api
            .post("/v1/test_helpers/advance_time", &[("days", "2")])
            .await
            .ok("advance 2d");
        assert_eq!(later["expired_authorizations"], 1);
        let expired = api
            .get_on(&acct, &format!("/v1/payment_intents/{id}"), &[])
            .await
            .ok("pi");
        assert_eq!(expired["status"], "canceled");
        assert_eq!(expired["cancellation_reason"], "automatic");
        let events = api
            .get_on(&acct, "/v1/events", &[("type", "payment_intent.canceled")])
            .await
            .ok("events");
        assert_eq!(events["data"][0]["data"]["object"]["id"], id.as_str());
        let capture = api
            .post_on(&acct, &format!("/v1/payment_intents/{id}/capture"), &[])
            .await;
        assert_eq!(
            capture.status, 400,
            "an expired authorization cannot be captured"
        );

        let back = api
            .post("/v1/test_helpers/advance_time", &[("seconds", "-5")])
            .await;
        assert_eq!(back.status, 400, "the clock never goes back");
        api.stop().await;
    });
}

#[test]
fn requirements_due_disable_and_deauthorize() {
    run(|| async {
        let api = start().await;
        let rx = Receiver::start(&[]);
        api.post(
            "/v1/webhook_endpoints",
            &[
                ("url", rx.url.as_str()),
                ("enabled_events[]", "*"),
                ("connect", "true"),
            ],
        )
        .await
        .ok("connect endpoint");
        let acct = api.onboarded_account().await;

        let due = api
            .post(
                &format!("/v1/test_helpers/accounts/{acct}/requirements_due"),
                &[("fields[]", "individual.id_number")],
            )
            .await
            .ok("requirements due");
        assert_eq!(
            due["requirements"]["currently_due"],
            serde_json::json!(["individual.id_number"])
        );
        assert!(due["requirements"]["current_deadline"].as_i64().is_some());
        assert_eq!(due["charges_enabled"], true);

        let disabled = api
            .post(
                &format!("/v1/test_helpers/accounts/{acct}/disable"),
                &[("reason", "rejected.fraud")],
            )
            .await
            .ok("disable");
        assert_eq!(disabled["charges_enabled"], false);
        assert_eq!(disabled["payouts_enabled"], false);
        assert_eq!(
            disabled["requirements"]["disabled_reason"],
            "rejected.fraud"
        );
        let updated = rx
            .wait_for(|r| {
                r.json["type"] == "account.updated"
                    && r.json["data"]["object"]["charges_enabled"] == false
            })
            .await;
        assert_eq!(updated.json["account"], acct.as_str());
        assert_eq!(
            updated.json["data"]["previous_attributes"]["charges_enabled"],
            true
        );

        let deauth = api
            .post(
                &format!("/v1/test_helpers/accounts/{acct}/deauthorize"),
                &[],
            )
            .await
            .ok("deauthorize");
        assert_eq!(deauth["object"], "application");
        let event = rx.wait_for_type("account.application.deauthorized").await;
        assert_eq!(event.json["account"], acct.as_str());
        let after = api.get_on(&acct, "/v1/customers", &[]).await;
        assert_eq!(
            after.status, 403,
            "a deauthorized account refuses the platform: {}",
            after.body
        );

        let other = api.other_platform();
        let foreign = other
            .post(&format!("/v1/test_helpers/accounts/{acct}/disable"), &[])
            .await;
        assert_eq!(
            foreign.status, 404,
            "another platform cannot touch the account"
        );
        rx.stop().await;
        api.stop().await;
    });
}

#[test]
fn trigger_creates_real_events() {
    run(|| async {
        let api = start().await;
        let acct = api.onboarded_account().await;
        for event in [
            "customer.created",
            "payment_intent.succeeded",
            "charge.refunded",
            "payout.paid",
            "charge.dispute.created",
            "radar.early_fraud_warning.created",
        ] {
            let r = api
                .post_on(&acct, "/v1/test_helpers/trigger", &[("event", event)])
                .await;
            assert_eq!(r.status, 200, "trigger {event}: {}", r.body);
            let listed = api
                .get_on(&acct, "/v1/events", &[("type", event)])
                .await
                .ok("events");
            assert!(
                !listed["data"].as_array().expect("data").is_empty(),
                "trigger {event} produced no such event"
            );
        }
        let unknown = api
            .post(
                "/v1/test_helpers/trigger",
                &[("event", "issuing_card.created")],
            )
            .await;
        assert_eq!(unknown.status, 400);
        assert_eq!(unknown.body["error"]["param"], "event");
        api.stop().await;
    });
}

#[test]
fn advancing_time_makes_pending_funds_available() {
    run(|| async {
        let api = start().await;
        let acct = api.onboarded_account().await;
        api.charge_on(Some(&acct), 10_000, "pm_card_visa").await;
        let before = api.get_on(&acct, "/v1/balance", &[]).await.ok("balance");
        assert!(
            usd(&before, "pending") > 0,
            "card funds start pending: {before}"
        );
        let moved = api
            .post("/v1/test_helpers/advance_time", &[("days", "3")])
            .await
            .ok("advance");
        assert!(moved["balances_available"].as_i64().unwrap_or(0) >= 1);
        let after = api.get_on(&acct, "/v1/balance", &[]).await.ok("balance");
        assert_eq!(usd(&after, "pending"), 0);
        assert_eq!(
            usd(&after, "available"),
            usd(&before, "available") + usd(&before, "pending")
        );
        let events = api
            .get_on(&acct, "/v1/events", &[("type", "balance.available")])
            .await
            .ok("events");
        assert_eq!(
            usd(&events["data"][0]["data"]["object"], "available"),
            usd(&after, "available")
        );
        api.stop().await;
    });
}

#[test]
fn store_stats_count_objects_and_sealed_ones_stay_readable_and_writable() {
    run(|| async {
        // fast_config keeps only 4 objects hot: 150 customers fill two sealed blocks.
        let api = start().await;
        let mut ids = Vec::new();
        for i in 0..150 {
            let name = format!("n{i}");
            let c = api
                .post("/v1/customers", &[("name", name.as_str())])
                .await
                .ok("create customer");
            ids.push(c["id"].as_str().expect("id").to_string());
        }
        let stats = api.get("/v1/test_helpers/store", &[]).await.ok("stats");
        assert_eq!(stats["object"], "test_helpers.store");
        assert!(
            stats["objects"].as_u64().expect("objects") >= 150,
            "{stats}"
        );
        assert!(
            stats["sealed_blocks"].as_u64().expect("blocks") >= 2,
            "{stats}"
        );
        assert!(stats["hot_objects"].as_u64().expect("hot") < 150, "{stats}");

        // The oldest customer sits in a block: it reads, updates and lists like any other.
        let first = &ids[0];
        let got = api
            .get(&format!("/v1/customers/{first}"), &[])
            .await
            .ok("get");
        assert_eq!(got["name"], "n0");
        let upd = api
            .post(&format!("/v1/customers/{first}"), &[("name", "renamed")])
            .await
            .ok("update");
        assert_eq!(upd["name"], "renamed");
        let again = api
            .get(&format!("/v1/customers/{first}"), &[])
            .await
            .ok("get again");
        assert_eq!(again["name"], "renamed");
        let mut listed = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q = vec![("limit", "100")];
            if let Some(a) = &after {
                q.push(("starting_after", a.as_str()));
            }
            let page = api.get("/v1/customers", &q).await.ok("list");
            let data = page["data"].as_array().expect("data").clone();
            listed.extend(
                data.iter()
                    .filter_map(|c| c["id"].as_str().map(String::from)),
            );
            after = listed.last().cloned();
            if page["has_more"] != true {
                break;
            }
        }
        listed.reverse();
        assert_eq!(listed, ids, "every customer, newest first");
        // A page just newer than a cursor deep in the sealed part, newest first.
        let page = api
            .get(
                "/v1/customers",
                &[("limit", "5"), ("ending_before", ids[10].as_str())],
            )
            .await
            .ok("page before");
        let got: Vec<&str> = page["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        let want: Vec<&str> = ids[11..16].iter().rev().map(String::as_str).collect();
        assert_eq!(got, want);
        assert_eq!(page["has_more"], true);

        // Only the platform may ask.
        let connected = api
            .post("/v1/accounts", &[("type", "express")])
            .await
            .ok("account");
        let acct = connected["id"].as_str().expect("acct");
        let refused = api.get_on(acct, "/v1/test_helpers/store", &[]).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        api.stop().await;
    })
}
