//! Shared harness for the async-stripe conformance suites: an in-process stripe-sim per test,
//! async-stripe clients pointed at it, and raw HTTP helpers for what the typed client cannot say
//! (emulator-only test helpers, header checks, shape diagnosis).
#![allow(dead_code)] // each test binary uses a different subset of the helpers

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use stripe::{AccountId, Client, ClientBuilder, StripeError};
use stripe_sim::{RunningSim, SimConfig};

#[path = "../shared/mod.rs"]
mod shared;
pub use shared::{run, unique};

/// A fresh secret key: every distinct key is its own platform in the emulator.
pub fn fresh_key(tag: &str) -> String {
    format!("sk_test_{}", unique(tag))
}

pub struct Ctx {
    pub sim: RunningSim,
    pub base: String,
    pub key: String,
    pub client: Client,
    pub http: reqwest::Client,
}

pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Ctx {
    pub async fn start(tag: &str) -> Ctx {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let config = SimConfig {
            data_file: None,
            webhook_retry_delays: vec![Duration::from_millis(50), Duration::from_millis(100)],
            workers: 2,
            // Seal all but the newest few objects into blocks, so that every test also reads
            // and changes objects at rest in blocks.
            hot_objects: 4,
        };
        let sim = stripe_sim::start(listener, config)
            .await
            .expect("start stripe-sim");
        let base = sim.base_url.clone();
        let key = fresh_key(tag);
        let client = client_for(&base, &key);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        Ctx {
            sim,
            base,
            key,
            client,
            http,
        }
    }

    pub async fn stop(self) {
        self.sim.stop().await;
    }

    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        account: Option<&str>,
    ) -> RawResponse {
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base, path)).expect("url");
        if method == reqwest::Method::GET && !form.is_empty() {
            url.query_pairs_mut().extend_pairs(form);
        }
        let mut req = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&self.key);
        if let Some(acct) = account {
            req = req.header("Stripe-Account", acct);
        }
        if method != reqwest::Method::GET {
            req = req.form(form);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{method} {path} -> {status}: body is not JSON ({e}): {text}")
        });
        shared::assert_schema(&body, &format!("{method} {path}"));
        RawResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn raw_get(&self, path: &str, account: Option<&str>) -> RawResponse {
        self.raw(reqwest::Method::GET, path, &[], account).await
    }

    pub async fn raw_post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        account: Option<&str>,
    ) -> RawResponse {
        self.raw(reqwest::Method::POST, path, form, account).await
    }

    /// Re-reads an object over raw HTTP and parses it into async-stripe's serde type, so a
    /// missing field is reported with its path (the typed client's own error names none).
    pub async fn assert_shape<T: DeserializeOwned>(&self, path: &str, account: Option<&str>) -> T {
        let resp = self.raw_get(path, account).await;
        assert_eq!(resp.status, 200, "GET {path}: {}", resp.body);
        shape::<T>(&resp.body, path)
    }

    /// An Express account with onboarding completed through the emulator's test helper, so it
    /// can take charges.
    pub async fn onboarded_account(&self) -> AccountId {
        self.onboarded_account_of(&self.key).await
    }

    /// Same as [`Ctx::onboarded_account`] for another platform (secret key) of this emulator.
    pub async fn onboarded_account_of(&self, key: &str) -> AccountId {
        use stripe_connect::account::{CreateAccount, CreateAccountType};
        let client = client_for(&self.base, key);
        let acct = typed(
            CreateAccount::new()
                .type_(CreateAccountType::Express)
                .country("US")
                .email("seller@example.com")
                .send(&client)
                .await,
            "create account",
        );
        let url = format!("{}/v1/test_helpers/accounts/{}/onboard", self.base, acct.id);
        let resp = self
            .http
            .post(&url)
            .bearer_auth(key)
            .send()
            .await
            .expect("onboard request");
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "onboard {}: {body}", acct.id);
        acct.id
    }
}

pub fn client_for(base: &str, key: &str) -> Client {
    // async-stripe joins "{base}v1{path}", so the base needs its trailing slash.
    ClientBuilder::new(key)
        .url(format!("{base}/"))
        .build()
        .expect("async-stripe client")
}

/// Parses a JSON value as `T`, naming the offending field path on failure.
pub fn shape<T: DeserializeOwned>(value: &Value, what: &str) -> T {
    let text = value.to_string();
    let de = &mut serde_json::Deserializer::from_str(&text);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => v,
        Err(e) => panic!(
            "{what}: response does not parse as {} at `{}`: {}\nbody: {text}",
            std::any::type_name::<T>(),
            e.path(),
            e.inner()
        ),
    }
}

/// Unwraps a typed call, explaining the failure.
pub fn typed<T>(res: Result<T, StripeError>, what: &str) -> T {
    match res {
        Ok(v) => v,
        Err(StripeError::Stripe(e, status)) => panic!(
            "{what}: HTTP {status} {} code={:?} param={:?}: {}",
            e.type_,
            e.code.as_ref().map(|c| c.as_str().to_string()),
            e.param,
            e.message.as_deref().unwrap_or_default()
        ),
        Err(e) => panic!("{what}: {e}"),
    }
}

/// Unwraps a call that must fail with a Stripe API error; returns the error body and status.
pub fn api_error<T: std::fmt::Debug>(
    res: Result<T, StripeError>,
    what: &str,
) -> (stripe::ApiErrors, u16) {
    match res {
        Err(StripeError::Stripe(err, status)) => (*err, status),
        Err(other) => panic!("{what}: expected a Stripe API error, got {other}"),
        Ok(v) => panic!("{what}: expected a Stripe API error, got success {v:?}"),
    }
}

pub fn meta(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
