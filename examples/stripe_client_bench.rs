//! How fast the app's Stripe client code is in the build it was compiled with: typed round trips
//! to an in-process stripe-sim (retrieve a PaymentIntent with its charge expanded, retrieve a
//! connected Account, the gateway's balance check), and parsing alone (a PaymentIntent, an
//! Account, and a signed webhook Event). Used by `scripts/bench-stripe-profile` to compare the
//! release profile's unoptimised async-stripe crates with fully optimised ones. Figures, not a
//! test. Usage: stripe_client_bench [rounds]   (default 2000)

use std::time::{Duration, Instant};

use marketplace::stripe::{GatewayConfig, StripeGateway};
use stripe::{Client, ClientBuilder};
use stripe_connect::account::RetrieveAccount;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_webhook::Webhook;

const KEY: &str = "sk_test_bench_client";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: u32 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(2000);
    // On a runtime worker thread (2 MiB stack), where request handlers parse Stripe objects:
    // unoptimised code has bigger stack frames, and this shows they fit.
    tokio::spawn(run(rounds)).await?
}

async fn run(rounds: u32) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let sim = stripe_sim::start(listener, stripe_sim::SimConfig::default()).await?;
    let base = sim.base_url.clone();
    let http = reqwest::Client::new();
    let post = |path: &str, form: &[(&str, &str)]| {
        let req = http
            .post(format!("{base}/v1/{path}"))
            .bearer_auth(KEY)
            .form(form);
        async move {
            let v: serde_json::Value = req.send().await?.error_for_status()?.json().await?;
            anyhow::Ok(v)
        }
    };
    let get = |path: &str| {
        let req = http.get(format!("{base}/v1/{path}")).bearer_auth(KEY);
        async move {
            let v: String = req.send().await?.error_for_status()?.text().await?;
            anyhow::Ok(v)
        }
    };

    // One paid PaymentIntent and one onboarded connected account to read back.
    let account = post("accounts", &[("type", "express"), ("country", "US")]).await?;
    let account_id = account["id"].as_str().unwrap_or_default().to_owned();
    post(&format!("test_helpers/accounts/{account_id}/onboard"), &[]).await?;
    let customer = post("customers", &[("email", "bench@example.com")]).await?;
    let pm = post(
        "payment_methods",
        &[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ],
    )
    .await?;
    let pi = post(
        "payment_intents",
        &[
            ("amount", "2000"),
            ("currency", "usd"),
            ("payment_method_types[]", "card"),
            ("customer", customer["id"].as_str().unwrap_or_default()),
            ("payment_method", pm["id"].as_str().unwrap_or_default()),
            ("confirm", "true"),
        ],
    )
    .await?;
    let pi_id = pi["id"].as_str().unwrap_or_default().to_owned();
    let pi_json = get(&format!("payment_intents/{pi_id}?expand[]=latest_charge")).await?;
    let account_json = get(&format!("accounts/{account_id}")).await?;
    let events = get("events?type=payment_intent.succeeded&limit=1").await?;
    let events: serde_json::Value = serde_json::from_str(&events)?;
    let event_json = serde_json::to_string(&events["data"][0])?;
    anyhow::ensure!(
        events["data"][0]["type"] == "payment_intent.succeeded",
        "no payment_intent.succeeded event: {events}"
    );

    let client: Client = ClientBuilder::new(KEY).url(format!("{base}/")).build()?;
    let pi_id = stripe_shared::PaymentIntentId::from(pi_id);
    let account_id = stripe_shared::AccountId::from(account_id);
    let gateway = StripeGateway::connect(&GatewayConfig {
        secret_key: Some(KEY.into()),
        api_base: Some(base.clone()),
        data_dir: std::env::temp_dir(),
    })
    .await?;

    // Warm-up, and a check that every call and parse works in this build.
    let intent = RetrievePaymentIntent::new(pi_id.clone())
        .expand(["latest_charge".to_string()])
        .send(&client)
        .await?;
    anyhow::ensure!(intent.latest_charge.is_some(), "the charge is expanded");
    RetrieveAccount::new(account_id.clone())
        .send(&client)
        .await?;
    gateway.check().await?;
    let secret = "whsec_bench";
    let signature = Webhook::generate_test_header(&event_json, secret, None);
    Webhook::construct_event(&event_json, &signature, secret)?;

    println!(
        "{:<44} {:>10} {:>10}",
        "stripe client benchmark", "per call", "calls/s"
    );
    let report = |label: &str, n: u32, took: Duration| {
        let per = took / n;
        println!(
            "{label:<44} {:>7.1} µs {:>10.0}",
            per.as_secs_f64() * 1e6,
            f64::from(n) / took.as_secs_f64()
        );
    };

    let start = Instant::now();
    for _ in 0..rounds {
        RetrievePaymentIntent::new(pi_id.clone())
            .expand(["latest_charge".to_string()])
            .send(&client)
            .await?;
    }
    report(
        "round trip: PaymentIntent + charge",
        rounds,
        start.elapsed(),
    );

    let start = Instant::now();
    for _ in 0..rounds {
        RetrieveAccount::new(account_id.clone())
            .send(&client)
            .await?;
    }
    report("round trip: Account", rounds, start.elapsed());

    let start = Instant::now();
    for _ in 0..rounds {
        gateway.check().await?;
    }
    report(
        "round trip: gateway check (balance)",
        rounds,
        start.elapsed(),
    );

    let parses = rounds * 10;
    let start = Instant::now();
    for _ in 0..parses {
        let v: stripe_shared::PaymentIntent = miniserde::json::from_str(&pi_json)
            .map_err(|_| anyhow::anyhow!("PaymentIntent does not parse"))?;
        std::hint::black_box(v);
    }
    report("parse: PaymentIntent + charge", parses, start.elapsed());

    let start = Instant::now();
    for _ in 0..parses {
        let v: stripe_shared::Account = miniserde::json::from_str(&account_json)
            .map_err(|_| anyhow::anyhow!("Account does not parse"))?;
        std::hint::black_box(v);
    }
    report("parse: Account", parses, start.elapsed());

    let start = Instant::now();
    for _ in 0..parses {
        let signature = Webhook::generate_test_header(&event_json, secret, None);
        std::hint::black_box(Webhook::construct_event(&event_json, &signature, secret)?);
    }
    report(
        "parse: signed webhook Event (PaymentIntent)",
        parses,
        start.elapsed(),
    );

    gateway.shutdown().await;
    sim.stop().await;
    Ok(())
}
