//! Wire-level behaviour: auth, isolation, errors, Request-Id, idempotency, pagination.

mod http_support;
use http_support::*;

#[tokio::test]
async fn auth_errors() {
    let api = start().await;
    let r = api.http.get(api.url("/v1/customers")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()
            .get("request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let r = api
        .send_opts(
            "GET",
            "/v1/customers",
            &[],
            Opts {
                key: Some("sk_live_nope"),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(r.status, 401);
    let r = api
        .send_opts(
            "GET",
            "/v1/customers",
            &[],
            Opts {
                key: Some("pk_test_x"),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(r.status, 401, "publishable keys cannot list customers");

    // Basic auth with the key as user name works like Bearer.
    let r = api
        .http
        .get(api.url("/v1/customers"))
        .basic_auth(&api.key, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    api.stop().await;
}

#[tokio::test]
async fn errors_name_the_param() {
    let api = start().await;
    let r = api.post("/v1/customers", &[("bogus", "1")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["param"], "bogus");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Received unknown parameter: bogus")
    );

    let r = api.post("/v1/customers", &[("balance", "ten")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["param"], "balance");

    let r = api
        .post(
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2040"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "parameter_missing");
    assert_eq!(r.body["error"]["param"], "card[number]");

    let r = api.get("/v1/nothing_here", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
    assert!(r.header("request-id").is_some());

    let r = api.get("/v1/customers/cus_missing", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["code"], "resource_missing");

    // Malformed bodies are a 400, never a 500.
    for body in ["a=%ZZ", "metadata=1&metadata[x]=2", "a[b=1"] {
        let r = api
            .http
            .post(api.url("/v1/customers"))
            .bearer_auth(&api.key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
    }
    let r = api
        .http
        .post(api.url("/v1/customers"))
        .bearer_auth(&api.key)
        .body(vec![0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    api.stop().await;
}

#[tokio::test]
async fn metadata_limits() {
    let api = start().await;
    let long_key = "k".repeat(41);
    let r = api
        .post("/v1/customers", &[(&format!("metadata[{long_key}]"), "v")])
        .await;
    assert_eq!(r.status, 400);
    let long_val = "v".repeat(501);
    let r = api
        .post("/v1/customers", &[("metadata[k]", &long_val)])
        .await;
    assert_eq!(r.status, 400);
    let keys: Vec<String> = (0..51).map(|i| format!("metadata[k{i}]")).collect();
    let form: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
    assert_eq!(api.post("/v1/customers", &form).await.status, 400);
    assert_eq!(api.post("/v1/customers", &form[..50]).await.status, 200);

    let c = api
        .post(
            "/v1/customers",
            &[("metadata[a]", "1"), ("metadata[b]", "2")],
        )
        .await;
    let id = c.id();
    let u = api
        .post(&format!("/v1/customers/{id}"), &[("metadata[a]", "")])
        .await;
    assert_eq!(u.body["metadata"], serde_json::json!({"b": "2"}));
    api.stop().await;
}

#[tokio::test]
async fn accounts_are_isolated() {
    let api = start().await;
    let acct = api.onboarded_account().await;
    let on_acct = api
        .post_on(&acct, "/v1/customers", &[("email", "a@example.com")])
        .await;
    assert_eq!(on_acct.status, 200);
    assert_eq!(on_acct.body["livemode"], false);
    assert_eq!(on_acct.body["object"], "customer");
    let cus = on_acct.id();
    assert!(cus.starts_with("cus_") && cus.len() == 28);
    assert_eq!(
        api.get_on(&acct, &format!("/v1/customers/{cus}"), &[])
            .await
            .status,
        200
    );
    // The platform cannot see the connected account's customer.
    assert_eq!(
        api.get(&format!("/v1/customers/{cus}"), &[]).await.status,
        404
    );
    // Another platform cannot act on this account.
    let other = Opts {
        key: Some("sk_test_someone_else"),
        account: Some(&acct),
        ..Default::default()
    };
    assert_eq!(
        api.send_opts("GET", "/v1/customers", &[], other)
            .await
            .status,
        403
    );
    // Another connected account of the same platform cannot see it either.
    let acct2 = api.onboarded_account().await;
    assert_eq!(
        api.get_on(&acct2, &format!("/v1/customers/{cus}"), &[])
            .await
            .status,
        404
    );
    assert_eq!(
        api.get_on("acct_1doesnotexist00", "/v1/customers", &[])
            .await
            .status,
        403
    );
    api.stop().await;
}

#[tokio::test]
async fn idempotent_replay_and_mismatch() {
    let api = start().await;
    let o = Opts {
        idem: Some("key-1"),
        ..Default::default()
    };
    let a = api
        .send_opts(
            "POST",
            "/v1/customers",
            &[("email", "x@example.com")],
            o.clone(),
        )
        .await;
    let b = api
        .send_opts(
            "POST",
            "/v1/customers",
            &[("email", "x@example.com")],
            o.clone(),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.id(), b.id());
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert!(a.header("idempotent-replayed").is_none());
    let c = api
        .send_opts(
            "POST",
            "/v1/customers",
            &[("email", "y@example.com")],
            o.clone(),
        )
        .await;
    assert_eq!(c.status, 400);
    assert_eq!(c.body["error"]["type"], "idempotency_error");
    let list = api.get("/v1/customers", &[("limit", "100")]).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    api.stop().await;
}

#[tokio::test]
async fn concurrent_idempotent_requests_create_one_object() {
    let api = start().await;
    let mut handles = Vec::new();
    let api = std::sync::Arc::new(api);
    for _ in 0..16 {
        let api = api.clone();
        handles.push(tokio::spawn(async move {
            let o = Opts {
                idem: Some("same-key"),
                ..Default::default()
            };
            api.send_opts("POST", "/v1/customers", &[("name", "Twin")], o)
                .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for h in handles {
        let r = h.await.unwrap();
        assert!(r.status == 200 || r.status == 409, "{}", r.status);
        if r.status == 200 {
            ids.insert(r.id());
        }
    }
    assert_eq!(ids.len(), 1);
    let list = api.get("/v1/customers", &[("limit", "100")]).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn pagination_newest_first() {
    let api = start().await;
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(
            api.post("/v1/customers", &[("name", &format!("c{i}"))])
                .await
                .id(),
        );
    }
    created.reverse();
    let page1 = api.get("/v1/customers", &[]).await;
    assert_eq!(page1.body["object"], "list");
    assert_eq!(page1.body["url"], "/v1/customers");
    let ids1: Vec<String> = page1.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids1, created[..10]);
    assert_eq!(page1.body["has_more"], true);
    let mut all = ids1.clone();
    let mut last = ids1.last().unwrap().clone();
    loop {
        let p = api
            .get(
                "/v1/customers",
                &[("limit", "7"), ("starting_after", &last)],
            )
            .await;
        let ids: Vec<String> = p.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        all.extend(ids.clone());
        if p.body["has_more"] == false {
            break;
        }
        last = ids.last().unwrap().clone();
    }
    assert_eq!(all, created);
    let back = api
        .get(
            "/v1/customers",
            &[("limit", "3"), ("ending_before", &created[5])],
        )
        .await;
    let ids: Vec<&str> = back.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        created[2..5].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        api.get("/v1/customers", &[("limit", "0")]).await.status,
        400
    );
    assert_eq!(
        api.get("/v1/customers", &[("limit", "101")]).await.status,
        400
    );
    assert_eq!(
        api.get("/v1/customers", &[("created[gte]", "abc")])
            .await
            .status,
        400
    );
    let future = api
        .get("/v1/customers", &[("created[gt]", "99999999999")])
        .await;
    assert_eq!(future.body["data"].as_array().unwrap().len(), 0);
    api.stop().await;
}
