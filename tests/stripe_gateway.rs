//! The Stripe gateway in its two modes: the embedded emulator (no key) and a configured key
//! pointed at any Stripe-compatible server (here a separately started stripe-sim).

mod common;

use common::{TestDb, spawn_app, spawn_app_on};
use marketplace::stripe::{GatewayConfig, GatewayError, Mode, StripeGateway};

/// No key: the gateway runs the embedded emulator with its state in the test's data dir.
fn embedded_in(db: &TestDb) -> GatewayConfig {
    GatewayConfig {
        secret_key: None,
        api_base: None,
        data_dir: db.data_dir.clone(),
    }
}

/// The embedded emulator's secret key, as the gateway in `db`'s data dir uses it.
fn sim_key(db: &TestDb) -> String {
    std::fs::read_to_string(db.data_dir.join("stripe-sim.key"))
        .expect("key file")
        .trim()
        .to_owned()
}

/// Creates a customer straight through the emulator's API; answers its id.
async fn create_customer(gateway: &StripeGateway, key: &str, email: &str) -> String {
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}v1/customers", gateway.api_base()))
        .bearer_auth(key)
        .form(&[("email", email)])
        .send()
        .await
        .expect("create customer")
        .json()
        .await
        .expect("customer json");
    created["id"].as_str().expect("customer id").to_owned()
}

/// The HTTP status of retrieving customer `id` through `gateway`'s emulator.
async fn customer_status(gateway: &StripeGateway, key: &str, id: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}v1/customers/{id}", gateway.api_base()))
        .bearer_auth(key)
        .send()
        .await
        .expect("retrieve customer")
        .status()
        .as_u16()
}

#[tokio::test]
async fn without_a_key_the_app_runs_the_embedded_emulator_and_says_so() {
    let app = spawn_app().await;
    let (status, html) = app.get_html("/").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Test mode — simulated Stripe"),
        "every page carries the simulated-payments banner"
    );
    let gateway = app.stripe.clone();
    assert_eq!(gateway.mode(), Mode::Simulated);
    gateway
        .check()
        .await
        .expect("the embedded emulator answers");
}

#[tokio::test]
async fn the_embedded_platform_key_survives_a_restart() {
    let db = TestDb::new();
    let config = embedded_in(&db);
    let first = StripeGateway::connect(&config).await.expect("first start");
    first.check().await.expect("first start answers");
    let key_file = db.data_dir.join("stripe-sim.key");
    let key = std::fs::read_to_string(&key_file).expect("key kept in the data dir");
    assert!(key.starts_with("sk_test_"));
    first.shutdown().await;

    let second = StripeGateway::connect(&config).await.expect("second start");
    second.check().await.expect("second start answers");
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("key still there"),
        key,
        "the same simulated platform is used after a restart"
    );
}

#[tokio::test]
async fn a_configured_key_talks_to_the_configured_server_without_the_banner() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let sim = stripe_sim::start(listener, stripe_sim::SimConfig::default())
        .await
        .expect("standalone emulator");
    let app = spawn_app_on(
        TestDb::new(),
        &[
            ("STRIPE_SECRET_KEY", "sk_test_gatewaytest"),
            ("STRIPE_API_BASE", sim.base_url.as_str()),
        ],
    )
    .await;
    assert_eq!(app.stripe.mode(), Mode::Remote);
    app.stripe
        .check()
        .await
        .expect("the configured server answers");
    let (status, html) = app.get_html("/").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("simulated Stripe"),
        "no banner with a real key"
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_refused_key_is_an_authentication_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let sim = stripe_sim::start(listener, stripe_sim::SimConfig::default())
        .await
        .expect("standalone emulator");
    let gateway = StripeGateway::connect(&GatewayConfig {
        // Not a secret key at all: Stripe (and the emulator) answer 401.
        secret_key: Some("not_a_key".into()),
        api_base: Some(sim.base_url.clone()),
        data_dir: std::env::temp_dir(),
    })
    .await
    .expect("building a client does not call Stripe");
    let err = gateway.check().await.expect_err("a bad key is refused");
    assert!(
        matches!(err, GatewayError::Authentication(_)),
        "got {err:?}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn embedded_state_is_flushed_at_shutdown_and_found_after_a_restart() {
    let db = TestDb::new();
    let config = embedded_in(&db);
    let first = StripeGateway::connect(&config).await.expect("first start");
    let key = sim_key(&db);
    // A customer created straight through the emulator's API, then an immediate shutdown: the
    // debounced snapshot must not lose it.
    let id = create_customer(&first, &key, "restart@example.com").await;
    first.shutdown().await;

    let second = StripeGateway::connect(&config).await.expect("second start");
    assert_eq!(
        customer_status(&second, &key, &id).await,
        200,
        "the customer survived the restart"
    );
    second.shutdown().await;
}

/// A second process on the same data directory (`seed-demo` while the server runs) uses the
/// running emulator instead of starting its own on the same state file: what it creates is
/// known to the first, and survives the first's restart.
#[tokio::test]
async fn a_second_gateway_on_a_data_directory_in_use_shares_its_emulator() {
    let db = TestDb::new();
    let config = embedded_in(&db);
    let first = StripeGateway::connect(&config).await.expect("first start");
    let second = StripeGateway::connect(&config).await.expect("second start");
    assert_eq!(second.api_base(), first.api_base(), "one emulator");
    assert_eq!(second.mode(), Mode::Simulated);
    let key = sim_key(&db);
    let id = create_customer(&second, &key, "second@example.com").await;
    // The second does not own the emulator: its shutdown leaves it running.
    second.shutdown().await;
    first.check().await.expect("still running");
    first.shutdown().await;

    // Released at shutdown: the next start owns it again, with the customer in its state.
    let third = StripeGateway::connect(&config).await.expect("third start");
    assert_ne!(third.api_base(), first.api_base(), "a new emulator");
    assert_eq!(
        customer_status(&third, &key, &id).await,
        200,
        "the second's customer was saved"
    );
    third.shutdown().await;
}
