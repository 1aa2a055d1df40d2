//! Harness for the raw-HTTP suites of webhooks, payouts/disputes, test helpers and persistence:
//! an in-process emulator, a form-posting client, and a tiny webhook receiver.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stripe_sim::{RunningSim, SimConfig};

/// Generous upper bound for anything asynchronous (deliveries, retries) to happen; reaching
/// it fails the test, it is never used to measure time.
pub const PATIENCE: Duration = Duration::from_secs(20);

#[path = "../shared/mod.rs"]
mod shared;
pub use shared::{run, unique};

/// The usd amount on one side (`available`, `pending`) of a balance.
pub fn usd(balance: &Value, side: &str) -> i64 {
    balance[side]
        .as_array()
        .expect("balance side")
        .iter()
        .filter(|x| x["currency"] == "usd")
        .map(|x| x["amount"].as_i64().unwrap_or(0))
        .sum()
}

pub fn fast_config() -> SimConfig {
    SimConfig {
        data_file: None,
        webhook_retry_delays: vec![Duration::from_millis(20), Duration::from_millis(40)],
        workers: 2,
        // Every test also reads and changes objects sealed in blocks.
        hot_objects: 4,
    }
}

pub async fn start_sim(config: SimConfig) -> RunningSim {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    stripe_sim::start(listener, config)
        .await
        .expect("start stripe-sim")
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn ok(self, what: &str) -> Value {
        assert_eq!(self.status, 200, "{what}: {}", self.body);
        self.body
    }
    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_default().to_string()
    }
}

/// A platform (one secret key) talking raw HTTP to an emulator.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
}

pub enum Sent {
    Answered(Resp),
    /// No HTTP response came back (connection closed, timeout).
    Lost(String),
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            key: format!("sk_test_{}", unique("s3")),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(PATIENCE)
                .build()
                .expect("reqwest client"),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        account: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Sent {
        let mut url = format!("{}{}", self.base, path);
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let is_get = method == reqwest::Method::GET;
        if is_get && !encoded.is_empty() {
            url = format!("{url}?{encoded}");
        }
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.key);
        if let Some(a) = account {
            req = req.header("Stripe-Account", a);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if !is_get {
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(encoded);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Sent::Lost(format!("{e:?}")),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return Sent::Lost(format!("{e:?}")),
        };
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path} -> {status}: not JSON ({e}): {text}"));
        shared::assert_schema(&body, &format!("{method} {path}"));
        Sent::Answered(Resp {
            status,
            headers,
            body,
        })
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        account: Option<&str>,
    ) -> Resp {
        match self.send(method.clone(), path, form, account, None).await {
            Sent::Answered(r) => r,
            Sent::Lost(e) => panic!("{method} {path}: no response: {e}"),
        }
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.call(reqwest::Method::POST, path, form, None).await
    }
    pub async fn post_on(&self, acct: &str, path: &str, form: &[(&str, &str)]) -> Resp {
        self.call(reqwest::Method::POST, path, form, Some(acct))
            .await
    }
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Resp {
        self.call(reqwest::Method::GET, path, query, None).await
    }
    pub async fn get_on(&self, acct: &str, path: &str, query: &[(&str, &str)]) -> Resp {
        self.call(reqwest::Method::GET, path, query, Some(acct))
            .await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(reqwest::Method::DELETE, path, &[], None).await
    }

    /// A connected Express account with onboarding completed.
    pub async fn onboarded_account(&self) -> String {
        let acct = self
            .post(
                "/v1/accounts",
                &[
                    ("type", "express"),
                    ("country", "US"),
                    ("email", "s@example.com"),
                ],
            )
            .await
            .ok("create account");
        let id = acct["id"].as_str().expect("account id").to_string();
        self.post(&format!("/v1/test_helpers/accounts/{id}/onboard"), &[])
            .await
            .ok("onboard");
        id
    }

    /// A succeeded direct charge of `amount` usd on `acct` paid with `pm` (a `pm_card_*` token).
    pub async fn charge_on(&self, acct: Option<&str>, amount: i64, pm: &str) -> Value {
        let amount = amount.to_string();
        let form = [
            ("amount", amount.as_str()),
            ("currency", "usd"),
            ("payment_method", pm),
            ("payment_method_types[]", "card"),
            ("confirm", "true"),
        ];
        let r = self
            .call(reqwest::Method::POST, "/v1/payment_intents", &form, acct)
            .await;
        r.ok("create+confirm payment intent")
    }

    /// Polls `path` until `pred` holds for the body.
    pub async fn wait_for(
        &self,
        acct: Option<&str>,
        path: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let r = self.call(reqwest::Method::GET, path, &[], acct).await;
            if r.status == 200 && pred(&r.body) {
                return r.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting on {path}: {}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Parses a JSON value as `T`, naming the offending field path on failure.
pub fn shape<T: DeserializeOwned>(value: &Value, what: &str) -> T {
    let text = value.to_string();
    let de = &mut serde_json::Deserializer::from_str(&text);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => v,
        Err(e) => panic!(
            "{what}: does not parse as {} at `{}`: {}\nbody: {text}",
            std::any::type_name::<T>(),
            e.path(),
            e.inner()
        ),
    }
}

#[derive(Debug, Clone)]
pub struct Received {
    pub signature: String,
    pub body: String,
    pub json: Value,
}

#[derive(Default)]
struct ReceiverState {
    /// Statuses to answer with, in order; 200 once exhausted.
    script: VecDeque<u16>,
    got: Vec<Received>,
}

/// A local HTTP server standing in for the app's webhook endpoint.
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<ReceiverState>>>,
) -> HttpResponse {
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = String::from_utf8_lossy(&body).to_string();
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut st = state.lock();
    let status = st.script.pop_front().unwrap_or(200);
    st.got.push(Received {
        signature,
        body,
        json,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).finish()
}

impl Receiver {
    /// Starts a receiver answering `script` statuses first, then 200.
    pub fn start(script: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let url = format!("http://{}/webhooks", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(ReceiverState {
            script: script.iter().copied().collect(),
            got: Vec::new(),
        }));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url, state, handle }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().got.clone()
    }

    /// Waits until a delivery satisfying `pred` arrived, and returns it.
    pub async fn wait_for(&self, pred: impl Fn(&Received) -> bool) -> Received {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(r) = self.state.lock().got.iter().find(|r| pred(r)).cloned() {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no matching delivery; got types {:?}",
                self.received()
                    .iter()
                    .map(|r| r.json["type"].clone())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_count(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.state.lock().got.len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "fewer than {n} deliveries arrived"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn wait_for_type(&self, event_type: &str) -> Received {
        self.wait_for(|r| r.json["type"] == event_type).await
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

pub fn temp_data_file(tag: &str) -> PathBuf {
    std::env::temp_dir()
        .join(unique(&format!("stripe-sim-{tag}")))
        .join("state.json")
}
