//! Helpers for webhook tests: raw calls to the app's embedded emulator (test helpers, objects
//! created the way a checkout would), signed deliveries, and waiting for the worker.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use marketplace::db::{self, Db};
use marketplace::stripe::webhook_endpoints::RegisteredEndpoints;
use serde_json::Value;
use sha2::Sha256;

use super::TestApp;

/// The embedded emulator's platform key (kept in the data dir).
pub fn sim_key(app: &TestApp) -> String {
    std::fs::read_to_string(app.settings.data_dir.join("stripe-sim.key"))
        .expect("the embedded emulator's key")
        .trim()
        .to_owned()
}

/// The two endpoints the app registered with the emulator.
pub fn endpoints(app: &TestApp) -> RegisteredEndpoints {
    let text = std::fs::read_to_string(app.settings.data_dir.join("webhook-endpoints.json"))
        .expect("endpoints file");
    serde_json::from_str(&text).expect("endpoints json")
}

/// `POST /v1/{path}` on the emulator (on `account` when given); panics on an error status.
pub async fn sim_post(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    account: Option<&str>,
) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{}v1/{path}", app.stripe.api_base()))
        .bearer_auth(sim_key(app))
        .form(form);
    if let Some(a) = account {
        req = req.header("Stripe-Account", a);
    }
    let res = req.send().await.expect("emulator answers");
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}

pub async fn sim_get(app: &TestApp, path: &str, account: Option<&str>) -> Value {
    let mut req = reqwest::Client::new()
        .get(format!("{}v1/{path}", app.stripe.api_base()))
        .bearer_auth(sim_key(app));
    if let Some(a) = account {
        req = req.header("Stripe-Account", a);
    }
    let res = req.send().await.expect("emulator answers");
    assert!(res.status().is_success(), "GET {path}: {}", res.status());
    res.json().await.expect("json")
}

/// A connected account with onboarding completed.
pub async fn onboarded_account(app: &TestApp) -> String {
    let acct = sim_post(
        app,
        "accounts",
        &[("type", "standard"), ("email", "seller@example.com")],
        None,
    )
    .await;
    let id = acct["id"].as_str().expect("acct id").to_owned();
    sim_post(
        app,
        &format!("test_helpers/accounts/{id}/onboard"),
        &[],
        None,
    )
    .await;
    id
}

/// A direct charge on `account` with an application fee, funds available at once; returns
/// (payment intent id, charge id).
pub async fn charge(app: &TestApp, account: &str, amount: i64, fee: i64) -> (String, String) {
    let amount = amount.to_string();
    let fee = fee.to_string();
    let pi = sim_post(
        app,
        "payment_intents",
        &[
            ("amount", &amount),
            ("currency", "usd"),
            ("payment_method", "pm_card_bypassPending"),
            ("payment_method_types[]", "card"),
            ("application_fee_amount", &fee),
            ("confirm", "true"),
        ],
        Some(account),
    )
    .await;
    assert_eq!(pi["status"], "succeeded", "{pi}");
    (
        pi["id"].as_str().unwrap().to_owned(),
        pi["latest_charge"].as_str().unwrap().to_owned(),
    )
}

/// Turns the emulator's deliveries to both app endpoints off (or back on).
pub async fn set_deliveries(app: &TestApp, enabled: bool) {
    let eps = endpoints(app);
    let disabled = if enabled { "false" } else { "true" };
    for id in [eps.platform.id, eps.connect.id] {
        sim_post(
            app,
            &format!("webhook_endpoints/{id}"),
            &[("disabled", disabled)],
            None,
        )
        .await;
    }
}

/// The `Stripe-Signature` header Stripe would send for `body` at `t`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts `body` to the app's endpoint `path` with `signature_header`.
pub async fn deliver(app: &TestApp, path: &str, body: &str, header: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .header("Stripe-Signature", header)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("delivery")
}

/// The events of `account` (None = platform) of `event_type`, newest first, as JSON text.
pub async fn sim_events(app: &TestApp, account: Option<&str>, event_type: &str) -> Vec<String> {
    let page = sim_get(app, &format!("events?type={event_type}&limit=100"), account).await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect()
}

/// Waits until no job is pending (the deadline only bounds a hung test).
pub async fn wait_for_jobs(db: &Db) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if db::jobs::count_pending(db).await.unwrap() == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "jobs still pending after 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `cond` holds.
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
