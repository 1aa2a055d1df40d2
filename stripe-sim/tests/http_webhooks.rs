//! Webhook endpoints, signed delivery with retries, Connect routing and the Events API, over
//! raw HTTP, with a local receiver standing in for the app.

mod http_support;

use http_support::*;
use serde_json::Value;
use stripe_webhook::Webhook;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The client library's own check: signature, timestamp and the typed event object.
fn verify_with_client(received: &Received, secret: &str) -> stripe_webhook::Event {
    Webhook::construct_event(&received.body, &received.signature, secret).unwrap_or_else(|e| {
        panic!(
            "async-stripe rejects the delivery ({e:?}): {}\n{}",
            received.signature, received.body
        )
    })
}

#[test]
fn endpoint_crud_reveals_the_secret_only_on_create() {
    run(|| async {
        let api = start().await;
        let created = api
            .post(
                "/v1/webhook_endpoints",
                &[
                    ("url", "https://example.com/hooks"),
                    ("enabled_events[]", "charge.succeeded"),
                    ("enabled_events[]", "payout.failed"),
                    ("api_version", "2026-09-30.endive"),
                    ("metadata[env]", "test"),
                ],
            )
            .await
            .ok("create");
        let id = created["id"].as_str().expect("id").to_string();
        assert!(id.starts_with("we_"));
        assert!(
            created["secret"]
                .as_str()
                .is_some_and(|s| s.starts_with("whsec_"))
        );
        assert_eq!(created["status"], "enabled");
        assert_eq!(created["api_version"], "2026-09-30.endive");
        assert_eq!(created["metadata"]["env"], "test");
        let _: stripe_misc::WebhookEndpoint = shape(&created, "created endpoint");

        let fetched = api
            .get(&format!("/v1/webhook_endpoints/{id}"), &[])
            .await
            .ok("retrieve");
        assert!(
            fetched.get("secret").is_none(),
            "secret must not be shown again: {fetched}"
        );
        let _: stripe_misc::WebhookEndpoint = shape(&fetched, "retrieved endpoint");

        let updated = api
            .post(
                &format!("/v1/webhook_endpoints/{id}"),
                &[
                    ("disabled", "true"),
                    ("url", "https://example.com/other"),
                    ("enabled_events[]", "*"),
                ],
            )
            .await
            .ok("update");
        assert_eq!(updated["status"], "disabled");
        assert_eq!(updated["url"], "https://example.com/other");
        assert_eq!(updated["enabled_events"], serde_json::json!(["*"]));

        let listed = api.get("/v1/webhook_endpoints", &[]).await.ok("list");
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
        assert!(listed["data"][0].get("secret").is_none());

        let deleted = api
            .delete(&format!("/v1/webhook_endpoints/{id}"))
            .await
            .ok("delete");
        assert_eq!(deleted["deleted"], true);
        let gone = api.get(&format!("/v1/webhook_endpoints/{id}"), &[]).await;
        assert_eq!(gone.status, 404);
        assert_eq!(gone.body["error"]["code"], "resource_missing");

        let other = api.other_platform();
        let mine = api
            .webhook_endpoint("https://example.com/x", &["*"], false)
            .await
            .0;
        let theirs = other
            .get(&format!("/v1/webhook_endpoints/{mine}"), &[])
            .await;
        assert_eq!(
            theirs.status, 404,
            "another platform must not see the endpoint"
        );
        api.stop().await;
    });
}

#[test]
fn endpoint_validation_names_the_parameter() {
    run(|| async {
        let api = start().await;
        let bad_event = api
            .post(
                "/v1/webhook_endpoints",
                &[
                    ("url", "https://example.com/h"),
                    ("enabled_events[]", "charge.succeeded"),
                    ("enabled_events[]", "nope.never"),
                ],
            )
            .await;
        assert_eq!(bad_event.status, 400, "{}", bad_event.body);
        assert_eq!(bad_event.body["error"]["param"], "enabled_events[1]");
        let no_url = api
            .post("/v1/webhook_endpoints", &[("enabled_events[]", "*")])
            .await;
        assert_eq!(no_url.status, 400);
        assert_eq!(no_url.body["error"]["param"], "url");
        let bad_url = api
            .post(
                "/v1/webhook_endpoints",
                &[("url", "ftp://x"), ("enabled_events[]", "*")],
            )
            .await;
        assert_eq!(bad_url.status, 400);
        assert_eq!(bad_url.body["error"]["param"], "url");
        let no_events = api
            .post("/v1/webhook_endpoints", &[("url", "https://example.com/h")])
            .await;
        assert_eq!(no_events.status, 400);
        assert_eq!(no_events.body["error"]["param"], "enabled_events");
        api.stop().await;
    });
}

#[test]
fn platform_events_are_delivered_signed_and_counted_down() {
    run(|| async {
        let api = start().await;
        let rx = Receiver::start(&[]);
        let (_, secret) = api
            .webhook_endpoint(&rx.url, &["customer.created"], false)
            .await;
        let cus = api
            .post("/v1/customers", &[("email", "a@example.com")])
            .await
            .ok("customer");
        // Not subscribed: must not be delivered.
        api.post(
            &format!("/v1/customers/{}", cus["id"].as_str().expect("id")),
            &[("name", "N")],
        )
        .await
        .ok("update customer");

        let got = rx.wait_for_type("customer.created").await;
        assert!(
            stripe_sim::webhooks::signing::verify(&secret, &got.signature, &got.body, now(), 300),
            "signature {}",
            got.signature
        );
        let event = verify_with_client(&got, &secret);
        assert_eq!(event.type_.as_str(), "customer.created");
        assert!(event.account.is_none(), "platform events carry no account");
        assert_eq!(got.json["data"]["object"]["id"], cus["id"]);
        assert_eq!(got.json["pending_webhooks"], 1);

        let id = got.json["id"].as_str().expect("event id").to_string();
        let stored = api
            .wait_for(None, &format!("/v1/events/{id}"), |e| {
                e["pending_webhooks"] == 0
            })
            .await;
        assert_eq!(stored["type"], "customer.created");

        let updates = api
            .get("/v1/events", &[("type", "customer.updated")])
            .await
            .ok("list");
        let upd = &updates["data"][0];
        assert_eq!(
            upd["pending_webhooks"], 0,
            "no endpoint wants customer.updated"
        );
        assert!(
            rx.received()
                .iter()
                .all(|r| r.json["type"] != "customer.updated")
        );
        rx.stop().await;
        api.stop().await;
    });
}

#[test]
fn failed_delivery_is_retried_until_it_succeeds() {
    run(|| async {
        let api = start().await;
        // First attempt 500, second 503, third 200 (the fast config allows two retries).
        let rx = Receiver::start(&[500, 503]);
        let (_, secret) = api.webhook_endpoint(&rx.url, &["*"], false).await;
        api.post("/v1/customers", &[("name", "Retry")])
            .await
            .ok("customer");
        let first = rx.wait_for_type("customer.created").await;
        let id = first.json["id"].as_str().expect("id").to_string();

        let stored = api
            .wait_for(None, &format!("/v1/events/{id}"), |e| {
                e["pending_webhooks"] == 0
            })
            .await;
        assert_eq!(stored["id"], id.as_str());
        let attempts: Vec<_> = rx
            .received()
            .into_iter()
            .filter(|r| r.json["id"] == id.as_str())
            .collect();
        assert_eq!(attempts.len(), 3, "two failures then one success");
        for a in &attempts {
            verify_with_client(a, &secret);
            assert_eq!(a.body, first.body, "every attempt sends the same payload");
        }
        rx.stop().await;
        api.stop().await;
    });
}

#[test]
fn exhausted_retries_leave_the_event_pending() {
    run(|| async {
        let api = start().await;
        let rx = Receiver::start(&[500, 500, 500, 500]);
        api.webhook_endpoint(&rx.url, &["customer.created"], false)
            .await;
        api.post("/v1/customers", &[("name", "Never")])
            .await
            .ok("customer");
        rx.wait_count(3).await;
        let id = rx.received()[0].json["id"]
            .as_str()
            .expect("id")
            .to_string();
        let ev = api.get(&format!("/v1/events/{id}"), &[]).await.ok("event");
        assert_eq!(ev["pending_webhooks"], 1);
        let undelivered = api
            .get("/v1/events", &[("delivery_success", "false")])
            .await
            .ok("list");
        assert!(
            undelivered["data"]
                .as_array()
                .expect("data")
                .iter()
                .any(|e| e["id"] == id.as_str())
        );
        rx.stop().await;
        api.stop().await;
    });
}

#[test]
fn connect_endpoints_get_connected_account_events_with_account() {
    run(|| async {
        let api = start().await;
        let platform_rx = Receiver::start(&[]);
        let connect_rx = Receiver::start(&[]);
        let (_, platform_secret) = api.webhook_endpoint(&platform_rx.url, &["*"], false).await;
        let (_, connect_secret) = api.webhook_endpoint(&connect_rx.url, &["*"], true).await;
        let acct = api.onboarded_account().await;
        let cus = api
            .post_on(&acct, "/v1/customers", &[("name", "On connected")])
            .await
            .ok("customer");

        let got = connect_rx
            .wait_for(|r| {
                r.json["type"] == "customer.created" && r.json["data"]["object"]["id"] == cus["id"]
            })
            .await;
        assert_eq!(got.json["account"], acct.as_str());
        let event = verify_with_client(&got, &connect_secret);
        assert_eq!(event.account.as_deref(), Some(acct.as_str()));
        assert!(
            Webhook::construct_event(&got.body, &got.signature, &platform_secret).is_err(),
            "each endpoint signs with its own secret"
        );
        let onboarded = connect_rx.wait_for_type("account.updated").await;
        assert_eq!(onboarded.json["account"], acct.as_str());

        // A platform event afterwards: the platform endpoint gets it, and only platform events.
        let own = api
            .post("/v1/customers", &[("name", "Platform's own")])
            .await
            .ok("customer");
        let mine = platform_rx
            .wait_for(|r| r.json["data"]["object"]["id"] == own["id"])
            .await;
        verify_with_client(&mine, &platform_secret);
        assert!(
            platform_rx
                .received()
                .iter()
                .all(|r| r.json.get("account").is_none())
        );
        assert!(
            connect_rx
                .received()
                .iter()
                .all(|r| r.json["account"] == acct.as_str())
        );

        // Events API: per account.
        let on_acct = api
            .get_on(&acct, "/v1/events", &[("type", "customer.created")])
            .await
            .ok("acct events");
        assert_eq!(on_acct["data"][0]["data"]["object"]["id"], cus["id"]);
        let on_platform = api
            .get("/v1/events", &[("type", "customer.created")])
            .await
            .ok("platform events");
        assert!(
            on_platform["data"]
                .as_array()
                .expect("data")
                .iter()
                .all(|e| e["data"]["object"]["id"] != cus["id"])
        );
        let evt = got.json["id"].as_str().expect("id");
        assert_eq!(api.get(&format!("/v1/events/{evt}"), &[]).await.status, 404);
        assert_eq!(
            api.get_on(&acct, &format!("/v1/events/{evt}"), &[])
                .await
                .status,
            200
        );
        platform_rx.stop().await;
        connect_rx.stop().await;
        api.stop().await;
    });
}

#[test]
fn other_platforms_and_disabled_endpoints_receive_nothing() {
    run(|| async {
        let a = start().await;
        let b = a.other_platform();
        let rx_b = Receiver::start(&[]);
        let rx_disabled = Receiver::start(&[]);
        let rx_a = Receiver::start(&[]);
        b.webhook_endpoint(&rx_b.url, &["*"], true).await;
        b.webhook_endpoint(&rx_b.url, &["*"], false).await;
        let (dis, _) = a.webhook_endpoint(&rx_disabled.url, &["*"], false).await;
        a.post(
            &format!("/v1/webhook_endpoints/{dis}"),
            &[("disabled", "true")],
        )
        .await
        .ok("disable");
        a.webhook_endpoint(&rx_a.url, &["*"], false).await;
        let acct = a.onboarded_account().await;
        a.post_on(&acct, "/v1/customers", &[("name", "x")])
            .await
            .ok("customer");
        let marker = a
            .post("/v1/customers", &[("name", "marker")])
            .await
            .ok("customer");
        rx_a.wait_for(|r| r.json["data"]["object"]["id"] == marker["id"])
            .await;
        assert!(
            rx_b.received().is_empty(),
            "another platform's endpoints got {:?}",
            rx_b.received()
        );
        assert!(rx_disabled.received().is_empty());
        let evt = rx_a.received()[0].json["id"]
            .as_str()
            .expect("id")
            .to_string();
        assert_eq!(b.get(&format!("/v1/events/{evt}"), &[]).await.status, 404);
        rx_a.stop().await;
        rx_b.stop().await;
        rx_disabled.stop().await;
        a.stop().await;
    });
}

#[test]
fn events_list_filters_and_paginates_newest_first() {
    run(|| async {
        let api = start().await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let c = api
                .post("/v1/customers", &[("name", &format!("c{i}"))])
                .await
                .ok("customer");
            ids.push(c["id"].clone());
        }
        let page1 = api
            .get(
                "/v1/events",
                &[("type", "customer.created"), ("limit", "2")],
            )
            .await
            .ok("page1");
        assert_eq!(page1["object"], "list");
        assert_eq!(page1["url"], "/v1/events");
        assert_eq!(page1["has_more"], true);
        let data1 = page1["data"].as_array().expect("data");
        assert_eq!(data1[0]["data"]["object"]["id"], ids[2], "newest first");
        assert_eq!(data1[1]["data"]["object"]["id"], ids[1]);
        let last = data1[1]["id"].as_str().expect("id");
        let page2 = api
            .get(
                "/v1/events",
                &[
                    ("type", "customer.created"),
                    ("limit", "2"),
                    ("starting_after", last),
                ],
            )
            .await
            .ok("page2");
        assert_eq!(page2["has_more"], false);
        assert_eq!(page2["data"][0]["data"]["object"]["id"], ids[0]);
        for e in data1 {
            let _: stripe_shared::Event = shape(e, "listed event");
        }

        let wildcard = api
            .get("/v1/events", &[("type", "customer.*")])
            .await
            .ok("wildcard");
        assert_eq!(wildcard["data"].as_array().map(Vec::len), Some(3));
        let typed = api
            .get(
                "/v1/events",
                &[
                    ("types[]", "customer.created"),
                    ("types[]", "customer.deleted"),
                ],
            )
            .await
            .ok("types");
        assert_eq!(typed["data"].as_array().map(Vec::len), Some(3));
        let future = (now() + 3600).to_string();
        let none = api
            .get("/v1/events", &[("created[gte]", future.as_str())])
            .await
            .ok("created");
        assert_eq!(none["data"], Value::Array(vec![]));
        let bad = api
            .get(
                "/v1/events",
                &[("type", "customer.created"), ("types[]", "x")],
            )
            .await;
        assert_eq!(bad.status, 400);
        let missing = api.get("/v1/events/evt_nope", &[]).await;
        assert_eq!(missing.status, 404);
        api.stop().await;
    });
}

#[test]
fn events_recorded_outside_requests_are_delivered_too() {
    run(|| async {
        let api = start().await;
        let rx = Receiver::start(&[]);
        let (_, secret) = api
            .webhook_endpoint(&rx.url, &["refund.failed"], false)
            .await;
        let pi = api.charge_on(None, 1_500, "pm_card_refundFail").await;
        let refund = api
            .post(
                "/v1/refunds",
                &[("payment_intent", pi["id"].as_str().expect("pi id"))],
            )
            .await
            .ok("refund");
        // The refund fails later, by the clock, with no request to carry the event out.
        let got = rx.wait_for_type("refund.failed").await;
        assert_eq!(got.json["data"]["object"]["id"], refund["id"]);
        verify_with_client(&got, &secret);
        rx.stop().await;
        api.stop().await;
    });
}
