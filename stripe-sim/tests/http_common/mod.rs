//! Shared helpers for the raw-HTTP tests: start an emulator on port 0 and call it with reqwest.
#![allow(dead_code)]

use serde_json::Value;

#[path = "../shared/mod.rs"]
mod shared;
#[allow(unused_imports)] // only some test binaries check the guard itself
pub use shared::schema_departures;

pub struct Api {
    pub sim: stripe_sim::RunningSim,
    pub http: reqwest::Client,
    pub key: String,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_string()
    }
}

pub async fn start() -> Api {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = stripe_sim::SimConfig {
        workers: 2,
        // Every test also reads and changes objects sealed in blocks.
        hot_objects: 4,
        ..Default::default()
    };
    let sim = stripe_sim::start(listener, config).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let key = format!("sk_test_{}", rand_suffix());
    Api { sim, http, key }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t{n}")
}

#[derive(Default, Clone)]
pub struct Opts<'a> {
    pub key: Option<&'a str>,
    pub account: Option<&'a str>,
    pub idem: Option<&'a str>,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.base_url, path)
    }

    pub async fn send(&self, method: &str, path: &str, form: &[(&str, &str)], o: Opts<'_>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut url = self.url(path);
        let mut req;
        if m == reqwest::Method::POST {
            req = self
                .http
                .request(m, &url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
        } else {
            if !body.is_empty() {
                url = format!("{url}?{body}");
            }
            req = self.http.request(m, &url);
        }
        req = req.bearer_auth(o.key.unwrap_or(&self.key));
        if let Some(a) = o.account {
            req = req.header("Stripe-Account", a);
        }
        if let Some(k) = o.idem {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        shared::assert_schema(&body, &format!("{method} {path}"));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.send("POST", path, form, Opts::default()).await
    }
    pub async fn get(&self, path: &str, q: &[(&str, &str)]) -> Resp {
        self.send("GET", path, q, Opts::default()).await
    }
    pub async fn post_as(&self, acct: &str, path: &str, form: &[(&str, &str)]) -> Resp {
        self.send(
            "POST",
            path,
            form,
            Opts {
                account: Some(acct),
                ..Default::default()
            },
        )
        .await
    }
    pub async fn get_as(&self, acct: &str, path: &str, q: &[(&str, &str)]) -> Resp {
        self.send(
            "GET",
            path,
            q,
            Opts {
                account: Some(acct),
                ..Default::default()
            },
        )
        .await
    }

    /// A connected express account, fully onboarded.
    pub async fn onboarded_account(&self) -> String {
        let a = self
            .post(
                "/v1/accounts",
                &[
                    ("type", "express"),
                    ("capabilities[card_payments][requested]", "true"),
                    ("capabilities[transfers][requested]", "true"),
                ],
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let id = a.id();
        let r = self
            .post(&format!("/v1/test_helpers/accounts/{id}/onboard"), &[])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        id
    }
}

pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
