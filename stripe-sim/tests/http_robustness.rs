//! No input makes the emulator answer 500: every route is called with missing, unknown,
//! ill-typed and oddly nested parameters, against both unknown and real ids.

mod http_support;
use http_support::*;

const NASTY: &[&[(&str, &str)]] = &[
    &[],
    &[("amount", "abc")],
    &[("amount", "-5"), ("currency", "usd")],
    &[("amount", "99999999999999999999999")],
    &[("metadata", "x")],
    &[("metadata[a][b]", "1")],
    &[("expand[]", "data.customer.nope.deeper.still")],
    &[("card", "x"), ("type", "card")],
    &[
        ("type", "card"),
        ("card[number]", "4242424242424242"),
        ("card[exp_month]", "13"),
        ("card[exp_year]", "2040"),
    ],
    &[("customer", "cus_nope"), ("payment_method", "pm_nope")],
    &[
        ("payment_method", "pm_card_visa"),
        ("amount", "1000"),
        ("currency", "usd"),
        ("confirm", "maybe"),
    ],
    &[("limit", "1000"), ("starting_after", "nope")],
    &[("created[gt]", "x")],
    &[("capabilities[card_payments][requested]", "yes")],
    &[("payment_method_types[]", "ideal")],
    &[("amount_to_capture", "x")],
    &[("refund_application_fee", "1")],
    &[("\u{0}", "\u{0}")],
];

#[tokio::test]
async fn no_route_answers_500() {
    let api = start().await;
    let acct = api.onboarded_account().await;
    let cus = api.post("/v1/customers", &[]).await.id();
    let pi = api
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1000"),
                ("currency", "usd"),
                ("customer", &cus),
                ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
            ],
        )
        .await;
    let real_ids = [
        acct.clone(),
        cus.clone(),
        pi.id(),
        pi.body["latest_charge"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        "nope_123".to_string(),
    ];
    for route in stripe_sim::resources::routes() {
        for id in &real_ids {
            let path = route
                .pattern
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        id.as_str()
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for params in NASTY {
                for account in [None, Some(acct.as_str())] {
                    let r = api
                        .send_opts(
                            route.method.as_str(),
                            &path,
                            params,
                            Opts {
                                account,
                                ..Default::default()
                            },
                        )
                        .await;
                    assert!(
                        r.status < 500 || path.contains("faults"),
                        "{} {path} {params:?} → {} {}",
                        route.method,
                        r.status,
                        r.body
                    );
                    assert!(
                        r.header("request-id")
                            .is_some_and(|h| h.starts_with("req_"))
                    );
                    if r.status >= 400 {
                        assert!(
                            r.body["error"]["type"].is_string(),
                            "{} {path}: {}",
                            route.method,
                            r.body
                        );
                    }
                }
            }
        }
    }
    api.stop().await;
}
