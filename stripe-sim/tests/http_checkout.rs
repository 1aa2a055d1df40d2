//! Checkout Sessions in setup mode over raw HTTP: the API (create, retrieve with expansion,
//! list, expire, errors) and the hosted card page a browser sees (form, errors kept on the
//! page, a good card → success_url, 3-D Secure, cancel, expired and completed sessions).

mod s3_support;

use s3_support::{Api, fast_config, run, start_sim};
use serde_json::Value;

/// What a browser gets from a hosted page.
struct Page {
    status: u16,
    location: Option<String>,
    html: String,
}

async fn browse(api: &Api, method: reqwest::Method, url: &str, form: &[(&str, &str)]) -> Page {
    let url = if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{}{url}", api.base)
    };
    let mut req = api.http.request(method, &url);
    if !form.is_empty() {
        req = req.form(form);
    }
    let resp = req.send().await.expect("page request");
    Page {
        status: resp.status().as_u16(),
        location: resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        html: resp.text().await.expect("page body"),
    }
}

async fn submit_card(api: &Api, url: &str, number: &str, expiry: &str, cvc: &str) -> Page {
    browse(
        api,
        reqwest::Method::POST,
        url,
        &[
            ("number", number),
            ("expiry", expiry),
            ("cvc", cvc),
            ("name", "Jenny Rosen"),
        ],
    )
    .await
}

/// A customer and an open setup-mode session for it (on `acct` when given).
async fn open_session(api: &Api, acct: Option<&str>) -> (String, Value) {
    let cus = api
        .call(
            reqwest::Method::POST,
            "/v1/customers",
            &[("email", "buyer@example.com")],
            acct,
        )
        .await
        .ok("customer");
    let cus = cus["id"].as_str().unwrap().to_string();
    let cs = api
        .call(
            reqwest::Method::POST,
            "/v1/checkout/sessions",
            &[
                ("mode", "setup"),
                ("customer", &cus),
                ("currency", "usd"),
                (
                    "success_url",
                    "https://shop.example/cards/saved?session_id={CHECKOUT_SESSION_ID}",
                ),
                ("cancel_url", "https://shop.example/cards"),
                ("metadata[buyer]", "42"),
            ],
            acct,
        )
        .await
        .ok("create session");
    (cus, cs)
}

async fn event_types(api: &Api, acct: Option<&str>) -> Vec<String> {
    let list = api
        .call(
            reqwest::Method::GET,
            "/v1/events",
            &[("limit", "100")],
            acct,
        )
        .await
        .ok("events");
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_setup_session_is_created_open_with_stripes_shape() {
    run(|| async {
        let sim = start_sim(fast_config()).await;
        let api = Api::new(&sim.base_url);
        let (cus, cs) = open_session(&api, None).await;
        let id = cs["id"].as_str().unwrap();
        assert!(id.starts_with("cs_test_"), "{id}");
        assert_eq!(cs["object"], "checkout.session");
        assert_eq!(cs["mode"], "setup");
        assert_eq!(cs["status"], "open");
        assert_eq!(cs["payment_status"], "no_payment_required");
        assert_eq!(cs["customer"], cus.as_str());
        assert_eq!(cs["currency"], "usd");
        assert_eq!(cs["metadata"]["buyer"], "42");
        assert_eq!(
            cs["setup_intent"],
            Value::Null,
            "created only when a card is submitted"
        );
        assert_eq!(cs["payment_intent"], Value::Null);
        assert_eq!(
            cs["expires_at"].as_i64().unwrap() - cs["created"].as_i64().unwrap(),
            24 * 3600
        );
        let url = cs["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/hosted/checkout/{id}", sim.base_url)),
            "{url}"
        );
        // The success URL keeps its template: it is filled in on the redirect.
        assert!(
            cs["success_url"]
                .as_str()
                .unwrap()
                .ends_with("{CHECKOUT_SESSION_ID}")
        );

        let got = api
            .get(&format!("/v1/checkout/sessions/{id}"), &[])
            .await
            .ok("retrieve");
        assert_eq!(got, cs);
        let list = api
            .get(
                "/v1/checkout/sessions",
                &[("customer", &cus), ("status", "open")],
            )
            .await
            .ok("list");
        assert_eq!(list["data"][0]["id"], id);
        assert_eq!(list["url"], "/v1/checkout/sessions");
        let none = api
            .get("/v1/checkout/sessions", &[("status", "complete")])
            .await
            .ok("list complete");
        assert_eq!(none["data"].as_array().unwrap().len(), 0);
        sim.stop().await;
    });
}

#[test]
fn bad_create_parameters_are_400s_naming_the_param() {
    run(|| async {
        let sim = start_sim(fast_config()).await;
        let api = Api::new(&sim.base_url);
        let ok_url = ("success_url", "https://shop.example/ok");
        for (form, param, status) in [
            (vec![ok_url, ("currency", "usd")], "mode", 400),
            (
                vec![("mode", "payment"), ok_url, ("currency", "usd")],
                "mode",
                400,
            ),
            (
                vec![("mode", "setup"), ("currency", "usd")],
                "success_url",
                400,
            ),
            (
                vec![
                    ("mode", "setup"),
                    ("success_url", "shop/ok"),
                    ("currency", "usd"),
                ],
                "success_url",
                400,
            ),
            (vec![("mode", "setup"), ok_url], "currency", 400),
            (
                vec![("mode", "setup"), ok_url, ("currency", "dollars")],
                "currency",
                400,
            ),
            (
                vec![
                    ("mode", "setup"),
                    ok_url,
                    ("currency", "usd"),
                    ("customer", "cus_nope"),
                ],
                "customer",
                404,
            ),
            (
                vec![
                    ("mode", "setup"),
                    ok_url,
                    ("currency", "usd"),
                    ("line_items[0][price]", "p"),
                ],
                "line_items",
                400,
            ),
        ] {
            let r = api.post("/v1/checkout/sessions", &form).await;
            assert_eq!(r.status, status, "{form:?}: {}", r.body);
            assert_eq!(r.body["error"]["param"], param, "{form:?}: {}", r.body);
        }
        let missing = api.get("/v1/checkout/sessions/cs_test_nope", &[]).await;
        assert_eq!(missing.status, 404);
        sim.stop().await;
    });
}

#[test]
fn a_good_card_on_the_hosted_page_completes_the_session_and_redirects() {
    run(|| async {
        let sim = start_sim(fast_config()).await;
        let api = Api::new(&sim.base_url);
        let (cus, cs) = open_session(&api, None).await;
        let id = cs["id"].as_str().unwrap();
        let url = cs["url"].as_str().unwrap();

        let form = browse(&api, reqwest::Method::GET, url, &[]).await;
        assert_eq!(form.status, 200);
        for needle in [
            "name=\"number\"",
            "name=\"expiry\"",
            "name=\"cvc\"",
            "name=\"name\"",
            "buyer@example.com",
            "href=\"https://shop.example/cards\"",
        ] {
            assert!(
                form.html.contains(needle),
                "{needle} missing: {}",
                form.html
            );
        }
        assert!(
            !form.html.contains("<script"),
            "the page needs no JavaScript"
        );

        let done = submit_card(&api, url, "4242 4242 4242 4242", "12 / 34", "123").await;
        assert_eq!(done.status, 303, "{}", done.html);
        assert_eq!(
            done.location.as_deref(),
            Some(format!("https://shop.example/cards/saved?session_id={id}").as_str())
        );

        let got = api
            .get(
                &format!("/v1/checkout/sessions/{id}"),
                &[("expand[]", "setup_intent.payment_method")],
            )
            .await
            .ok("retrieve expanded");
        assert_eq!(got["status"], "complete");
        assert_eq!(got["url"], Value::Null);
        assert_eq!(got["customer_details"]["email"], "buyer@example.com");
        assert_eq!(got["customer_details"]["name"], "Jenny Rosen");
        let si = &got["setup_intent"];
        assert_eq!(si["status"], "succeeded");
        assert_eq!(si["customer"], cus.as_str());
        assert_eq!(si["usage"], "off_session");
        let pm = &si["payment_method"];
        assert_eq!(pm["customer"], cus.as_str());
        assert_eq!(pm["card"]["last4"], "4242");
        assert_eq!(pm["card"]["exp_month"], 12);
        assert_eq!(pm["card"]["exp_year"], 2034);
        assert_eq!(pm["billing_details"]["name"], "Jenny Rosen");

        // The saved card is the customer's, ready for later payments.
        let pms = api
            .get(&format!("/v1/customers/{cus}/payment_methods"), &[])
            .await
            .ok("customer's cards");
        assert_eq!(pms["data"][0]["id"], pm["id"]);

        let types = event_types(&api, None).await;
        for t in [
            "checkout.session.completed",
            "setup_intent.succeeded",
            "payment_method.attached",
        ] {
            assert!(types.iter().any(|x| x == t), "{t} missing from {types:?}");
        }
        // A completed session's page says so, and cannot be expired.
        let again = browse(&api, reqwest::Method::GET, url, &[]).await;
        assert_eq!(again.status, 200);
        assert!(again.html.contains("Card already saved"), "{}", again.html);
        let resubmit = submit_card(&api, url, "4242424242424242", "12/34", "123").await;
        assert!(resubmit.html.contains("Card already saved"));
        let expire = api
            .post(&format!("/v1/checkout/sessions/{id}/expire"), &[])
            .await;
        assert_eq!(expire.status, 400, "{}", expire.body);
        sim.stop().await;
    });
}

#[test]
fn bad_cards_are_refused_on_the_page_with_the_values_kept() {
    run(|| async {
        let sim = start_sim(fast_config()).await;
        let api = Api::new(&sim.base_url);
        let (cus, cs) = open_session(&api, None).await;
        let id = cs["id"].as_str().unwrap();
        let url = cs["url"].as_str().unwrap();
        for (number, expiry, cvc, message) in [
            (
                "4242 4242 4242 4241",
                "12/34",
                "123",
                "Your card number is invalid.",
            ),
            ("4111 1111 1111 1111", "12/34", "123", "test card numbers"),
            ("", "12/34", "123", "Your card number is incomplete."),
            (
                "4242424242424242",
                "01/20",
                "123",
                "expiration year is in the past",
            ),
            (
                "4242424242424242",
                "13/34",
                "123",
                "expiration date is invalid",
            ),
            (
                "4242424242424242",
                "1234x",
                "123",
                "expiration date is incomplete",
            ),
            (
                "4242424242424242",
                "12/34",
                "12",
                "security code is incomplete",
            ),
            (
                "4000 0000 0000 0002",
                "12/34",
                "123",
                "Your card was declined.",
            ),
            ("4000000000009995", "12/34", "123", "insufficient funds"),
        ] {
            let page = submit_card(&api, url, number, expiry, cvc).await;
            assert_eq!(page.status, 422, "{number} {expiry} {cvc}");
            assert!(
                page.html.contains(message),
                "{message} not in: {}",
                page.html
            );
            if !number.is_empty() {
                assert!(
                    page.html.contains(&format!("value=\"{number}\"")),
                    "number kept"
                );
            }
            assert!(
                page.html.contains(&format!("value=\"{expiry}\"")),
                "expiry kept"
            );
            assert!(page.html.contains("value=\"Jenny Rosen\""), "name kept");
        }
        let got = api
            .get(&format!("/v1/checkout/sessions/{id}"), &[])
            .await
            .ok("retrieve");
        assert_eq!(got["status"], "open");
        // Cards refused on the page never reached the API; the declined ones left no card on
        // the customer.
        let pms = api
            .get(&format!("/v1/customers/{cus}/payment_methods"), &[])
            .await
            .ok("customer's cards");
        assert_eq!(pms["data"].as_array().unwrap().len(), 0);
        // A good card after the declines still completes the session, with the same intent.
        let first_si = got["setup_intent"].as_str().unwrap().to_string();
        let done = submit_card(&api, url, "5555555555554444", "12/34", "123").await;
        assert_eq!(done.status, 303);
        let got = api
            .get(&format!("/v1/checkout/sessions/{id}"), &[])
            .await
            .ok("retrieve");
        assert_eq!(got["status"], "complete");
        assert_eq!(got["setup_intent"], first_si.as_str());
        sim.stop().await;
    });
}

#[test]
fn a_card_needing_3ds_goes_through_the_challenge_then_to_success_url() {
    run(|| async {
        let sim = start_sim(fast_config()).await;
        let api = Api::new(&sim.base_url);
        let (_, cs) = open_session(&api, None).await;
        let id = cs["id"].as_str().unwrap();
        let url = cs["url"].as_str().unwrap();
        // Failing the challenge brings the form back with the reason.
        let challenge = submit_card(&api, url, "4000002500003155", "12/34", "123").await;
        assert_eq!(challenge.status, 303);
        let challenge_url = challenge.location.unwrap();
        assert!(challenge_url.contains("/hosted/3ds/"), "{challenge_url}");
        let back = browse(
            &api,
            reqwest::Method::POST,
            &challenge_url,
            &[("result", "fail")],
        )
        .await;
        let back = browse(&api, reqwest::Method::GET, &back.location.unwrap(), &[]).await;
        assert_eq!(back.status, 200);
        assert!(
            back.html.contains("unable to authenticate"),
            "{}",
            back.html
        );
        // Approving it completes the session.
        let challenge = submit_card(&api, url, "4000002500003155", "12/34", "123").await;
        let back = browse(
            &api,
            reqwest::Method::POST,
            &challenge.location.unwrap(),
            &[("result", "approve")],
        )
        .await;
        let done = browse(&api, reqwest::Method::GET, &back.location.unwrap(), &[]).await;
        assert_eq!(done.status, 303, "{}", done.html);
        assert!(
            done.location
                .unwrap()
                .ends_with(&format!("session_id={id}"))
        );
        let got = api
            .get(&format!("/v1/checkout/sessions/{id}"), &[])
            .await
            .ok("retrieve");
        assert_eq!(got["status"], "complete");
        sim.stop().await;
    });
}

#[test]
fn expired_sessions_refuse_the_page_and_the_clock_expires_them() {
    run(|| async {
        let sim = start_sim(fast_config()).await;
        let api = Api::new(&sim.base_url);
        let (_, cs) = open_session(&api, None).await;
        let id = cs["id"].as_str().unwrap();
        let url = cs["url"].as_str().unwrap();
        let expired = api
            .post(&format!("/v1/checkout/sessions/{id}/expire"), &[])
            .await
            .ok("expire");
        assert_eq!(expired["status"], "expired");
        assert_eq!(expired["url"], Value::Null);
        let page = browse(&api, reqwest::Method::GET, url, &[]).await;
        assert!(page.html.contains("This link has expired"), "{}", page.html);
        assert!(page.html.contains("href=\"https://shop.example/cards\""));
        let post = submit_card(&api, url, "4242424242424242", "12/34", "123").await;
        assert!(post.html.contains("This link has expired"));
        let twice = api
            .post(&format!("/v1/checkout/sessions/{id}/expire"), &[])
            .await;
        assert_eq!(twice.status, 400);
        assert!(
            event_types(&api, None)
                .await
                .contains(&"checkout.session.expired".to_string())
        );

        // An open session is expired by the clock once `expires_at` has passed.
        let (_, cs) = open_session(&api, None).await;
        let id = cs["id"].as_str().unwrap();
        api.post("/v1/test_helpers/advance_time", &[("seconds", "86401")])
            .await
            .ok("advance");
        let got = api
            .get(&format!("/v1/checkout/sessions/{id}"), &[])
            .await
            .ok("retrieve");
        assert_eq!(got["status"], "expired");

        let unknown = browse(
            &api,
            reqwest::Method::GET,
            "/hosted/checkout/cs_test_nope",
            &[],
        )
        .await;
        assert_eq!(unknown.status, 404);
        sim.stop().await;
    });
}

#[test]
fn sessions_on_a_connected_account_save_the_card_there() {
    run(|| async {
        let sim = start_sim(fast_config()).await;
        let api = Api::new(&sim.base_url);
        let acct = api.onboarded_account().await;
        let (cus, cs) = open_session(&api, Some(&acct)).await;
        let id = cs["id"].as_str().unwrap();
        // Invisible from the platform.
        let r = api.get(&format!("/v1/checkout/sessions/{id}"), &[]).await;
        assert_eq!(r.status, 404);
        let done = submit_card(
            &api,
            cs["url"].as_str().unwrap(),
            "4242424242424242",
            "12/34",
            "123",
        )
        .await;
        assert_eq!(done.status, 303);
        let got = api
            .get_on(
                &acct,
                &format!("/v1/checkout/sessions/{id}"),
                &[("expand[]", "setup_intent")],
            )
            .await
            .ok("retrieve on account");
        assert_eq!(got["status"], "complete");
        assert_eq!(got["setup_intent"]["customer"], cus.as_str());
        let events = api
            .get_on(
                &acct,
                "/v1/events",
                &[("type", "checkout.session.completed")],
            )
            .await
            .ok("events");
        assert_eq!(events["data"][0]["account"], acct.as_str());
        assert_eq!(events["data"][0]["data"]["object"]["id"], id);
        sim.stop().await;
    });
}
