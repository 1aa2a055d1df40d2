//! Load driver for `scripts/bench` (figures, not a test). Three subcommands:
//!
//! ```text
//! bench_load prepare-buyers COUNT
//!     Creates COUNT verified buyers (bench-buyer-N@example.com) with a saved test card, the way
//!     seed-demo makes its buyer. Reads DATABASE_URL and DATA_DIR like the app; run it while the
//!     app is stopped (the embedded emulator keeps its state in DATA_DIR).
//! bench_load checkout BASE_URL BUYERS PRODUCTS RATE SECONDS
//!     Logs BUYERS buyers in, then places orders like a browser: add one product to the cart,
//!     read the cart page (CSRF and checkout tokens), submit the checkout form. RATE > 0: open
//!     loop, one order every 1/RATE s whatever the answers; RATE = 0: every buyer orders as fast
//!     as it can. Times the checkout POST. PRODUCTS is a comma-separated list of product ids.
//! bench_load webhooks BASE_URL ACCOUNTS RATE SECONDS CONCURRENCY
//!     Signs `account.updated` events for the given connected accounts (comma-separated) with
//!     the Connect endpoint's secret from DATA_DIR and posts them to /webhooks/stripe/connect.
//!     RATE = 0: as fast as CONCURRENCY senders go (ingest rate). RATE > 0: open loop at RATE
//!     events/s, and the processing lag of each event is estimated by polling the database
//!     (DATABASE_URL) for pending events every 20 ms (the queue is first-in first-out).
//! ```
//!
//! Each subcommand prints one JSON object on stdout.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use marketplace::config::Settings;
use marketplace::demo::{DEMO_PASSWORD, ensure_buyer_with_card};
use marketplace::stripe::{GatewayConfig, StripeGateway};
use serde_json::json;
use tokio::sync::Mutex;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["prepare-buyers", count] => prepare_buyers(count.parse()?).await?,
        ["checkout", base, buyers, products, rate, seconds] => {
            let products: Vec<String> = products.split(',').map(str::to_owned).collect();
            checkout(
                base,
                buyers.parse()?,
                &products,
                rate.parse()?,
                seconds.parse()?,
            )
            .await?
        }
        ["webhooks", base, accounts, rate, seconds, concurrency] => {
            let accounts: Vec<String> = accounts.split(',').map(str::to_owned).collect();
            webhooks(
                base,
                &accounts,
                rate.parse()?,
                seconds.parse()?,
                concurrency.parse()?,
            )
            .await?
        }
        _ => bail!("usage: see the top of examples/bench_load.rs"),
    };
    println!("{out}");
    Ok(())
}

fn buyer_email(n: usize) -> String {
    format!("bench-buyer-{n}@example.com")
}

async fn prepare_buyers(count: usize) -> anyhow::Result<serde_json::Value> {
    let settings = Settings::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(&settings.data_dir)?;
    let db = marketplace::db::connect(&settings.database_url).await?;
    let stripe = StripeGateway::connect(&GatewayConfig {
        secret_key: settings.stripe.secret_key.clone(),
        api_base: Some(settings.stripe.api_base.clone()),
        data_dir: settings.data_dir.clone(),
    })
    .await?;
    let mut result = Ok(());
    for n in 0..count {
        if let Err(e) = ensure_buyer_with_card(&db, &stripe, &settings, &buyer_email(n)).await {
            result = Err(e);
            break;
        }
    }
    // Flushes the embedded emulator's state, so the app started next knows the cards.
    stripe.shutdown().await;
    db.close().await;
    result?;
    Ok(json!({ "buyers": count }))
}

// ---------------------------------------------------------------------------------------------
// Checkout

struct Buyer {
    client: reqwest::Client,
    base: String,
    csrf: String,
    card_id: String,
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)?;
    let rest = &html[at + marker.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl Buyer {
    async fn login(base: &str, email: &str) -> anyhow::Result<Buyer> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let html = client
            .get(format!("{base}/login"))
            .send()
            .await?
            .text()
            .await?;
        let csrf = attr_after(&html, r#"name="csrf_token" value=""#).context("log-in form")?;
        let res = client
            .post(format!("{base}/login"))
            .form(&[
                ("email", email),
                ("password", DEMO_PASSWORD),
                ("csrf_token", &csrf),
            ])
            .send()
            .await?;
        if res.status() != reqwest::StatusCode::SEE_OTHER {
            bail!("log-in of {email} answered {}", res.status());
        }
        let html = client
            .get(format!("{base}/cart"))
            .send()
            .await?
            .text()
            .await?;
        let csrf = attr_after(&html, r#"name="csrf_token" value=""#).context("cart CSRF")?;
        // The card's radio button appears once the cart has something in it: read at the first
        // order.
        Ok(Buyer {
            client,
            base: base.to_owned(),
            csrf,
            card_id: String::new(),
        })
    }

    /// One order of one unit of `product`; answers how long the checkout POST took.
    async fn order(&mut self, product: &str) -> anyhow::Result<Duration> {
        let res = self
            .client
            .post(format!("{}/cart/add", self.base))
            .form(&[
                ("product_id", product),
                ("quantity", "1"),
                ("csrf_token", &self.csrf),
            ])
            .send()
            .await?;
        if res.status() != reqwest::StatusCode::SEE_OTHER {
            bail!("add to cart answered {}", res.status());
        }
        let html = self
            .client
            .get(format!("{}/cart", self.base))
            .send()
            .await?
            .text()
            .await?;
        let token = attr_after(&html, r#"name="checkout_token" value=""#)
            .context("the cart page has no checkout form")?;
        if self.card_id.is_empty() {
            self.card_id = attr_after(&html, r#"name="card_id" value=""#)
                .context("the cart page lists no saved card")?;
        }
        let started = Instant::now();
        let res = self
            .client
            .post(format!("{}/checkout", self.base))
            .form(&[
                ("card_id", self.card_id.as_str()),
                ("checkout_token", &token),
                ("csrf_token", &self.csrf),
            ])
            .send()
            .await?;
        let took = started.elapsed();
        let to = location(&res);
        if res.status() != reqwest::StatusCode::SEE_OTHER || !to.starts_with("/orders/") {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            let message = body
                .split("class=\"flash")
                .nth(1)
                .map(|s| s.chars().take(200).collect::<String>())
                .unwrap_or_default();
            bail!("checkout answered {status} → {to:?} {message}");
        }
        Ok(took)
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    json!({
        "count": ms.len(),
        "p50_ms": percentile(&ms, 0.50),
        "p90_ms": percentile(&ms, 0.90),
        "p99_ms": percentile(&ms, 0.99),
        "max_ms": ms.last().copied().unwrap_or(f64::NAN),
    })
}

async fn checkout(
    base: &str,
    buyers: usize,
    products: &[String],
    rate: f64,
    seconds: f64,
) -> anyhow::Result<serde_json::Value> {
    let base = base.trim_end_matches('/');
    let mut pool = Vec::new();
    for n in 0..buyers {
        pool.push(Buyer::login(base, &buyer_email(n)).await?);
    }
    // Warm-up, not timed: each buyer's first order from each seller creates the buyer's
    // Customer on that seller's account and clones the card there.
    let mut warm = Vec::new();
    for mut buyer in pool {
        let products = products.to_vec();
        warm.push(tokio::spawn(async move {
            for p in &products {
                buyer.order(p).await.context("warm-up order")?;
            }
            anyhow::Ok(buyer)
        }));
    }
    let mut pool = Vec::new();
    for w in warm {
        pool.push(w.await??);
    }

    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let late = Arc::new(AtomicU64::new(0));

    if rate > 0.0 {
        // Open loop: order i starts at i / rate whatever happened to the earlier ones; a buyer
        // is taken from the pool of idle buyers (if none is idle, the start is late and counted).
        let idle = Arc::new(Mutex::new(pool.into_iter().collect::<VecDeque<_>>()));
        let notify = Arc::new(tokio::sync::Notify::new());
        let total = (rate * seconds).round() as u64;
        let mut tasks = Vec::new();
        for i in 0..total {
            let at = started + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(at.into()).await;
            let mut waited = false;
            let mut buyer = loop {
                if let Some(b) = idle.lock().await.pop_front() {
                    break b;
                }
                if !waited {
                    late.fetch_add(1, Ordering::Relaxed);
                    waited = true;
                }
                notify.notified().await;
            };
            let product = products[i as usize % products.len()].clone();
            let (idle, notify, latencies, errors, first_error) = (
                idle.clone(),
                notify.clone(),
                latencies.clone(),
                errors.clone(),
                first_error.clone(),
            );
            tasks.push(tokio::spawn(async move {
                match buyer.order(&product).await {
                    Ok(t) => latencies.lock().await.push(t.as_secs_f64() * 1000.0),
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().await.get_or_insert(e.to_string());
                    }
                }
                idle.lock().await.push_back(buyer);
                notify.notify_one();
            }));
        }
        for t in tasks {
            t.await?;
        }
    } else {
        let mut tasks = Vec::new();
        for (n, mut buyer) in pool.into_iter().enumerate() {
            let products = products.to_vec();
            let (latencies, errors, first_error) =
                (latencies.clone(), errors.clone(), first_error.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = n;
                while Instant::now() < deadline {
                    match buyer.order(&products[i % products.len()]).await {
                        Ok(t) => latencies.lock().await.push(t.as_secs_f64() * 1000.0),
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().await.get_or_insert(e.to_string());
                        }
                    }
                    i += 1;
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ms = latencies.lock().await.clone();
    let done = ms.len();
    let mut out = summary(ms);
    out["orders_per_s"] = json!(done as f64 / elapsed);
    out["errors"] = json!(errors.load(Ordering::Relaxed));
    out["late_starts"] = json!(late.load(Ordering::Relaxed));
    out["first_error"] = json!(first_error.lock().await.clone());
    out["seconds"] = json!(elapsed);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Webhooks

fn connect_secret(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("webhook-endpoints.json");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    v["connect"]["secret"]
        .as_str()
        .map(str::to_owned)
        .context("no Connect endpoint secret")
}

struct Signer {
    secret: String,
    accounts: Vec<String>,
    run: String,
    next: AtomicU64,
}

impl Signer {
    /// A new signed `account.updated` event: (body, Stripe-Signature header).
    fn next_event(&self) -> (String, String) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let account = &self.accounts[n as usize % self.accounts.len()];
        let now = marketplace::db::now_unix();
        let body = json!({
            "id": format!("evt_bench{}{n}", self.run),
            "object": "event",
            "api_version": "2026-09-30.clover",
            "account": account,
            "created": now,
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null },
            "type": "account.updated",
            "data": { "object": { "id": account, "object": "account" } },
        })
        .to_string();
        let header = marketplace::webhooks::signature::sign(body.as_bytes(), &self.secret, now);
        (body, header)
    }
}

async fn post_event(client: &reqwest::Client, url: &str, signer: &Signer) -> anyhow::Result<()> {
    let (body, sig) = signer.next_event();
    let res = client
        .post(url)
        .header("Stripe-Signature", sig)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("{} {}", res.status(), res.text().await.unwrap_or_default());
    }
    Ok(())
}

async fn webhooks(
    base: &str,
    accounts: &[String],
    rate: f64,
    seconds: f64,
    concurrency: usize,
) -> anyhow::Result<serde_json::Value> {
    let settings = Settings::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let signer = Arc::new(Signer {
        secret: connect_secret(&settings.data_dir)?,
        accounts: accounts.to_vec(),
        run: marketplace::domain::ids::random_token(8),
        next: AtomicU64::new(0),
    });
    let url = format!("{}/webhooks/stripe/connect", base.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(64))
        .build()?;
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);

    if rate <= 0.0 {
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (client, url, signer, ok, errors, first_error) = (
                client.clone(),
                url.clone(),
                signer.clone(),
                ok.clone(),
                errors.clone(),
                first_error.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    match post_event(&client, &url, &signer).await {
                        Ok(()) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().await.get_or_insert(e.to_string());
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        return Ok(json!({
            "events_per_s": ok.load(Ordering::Relaxed) as f64 / elapsed,
            "events": ok.load(Ordering::Relaxed),
            "errors": errors.load(Ordering::Relaxed),
            "first_error": first_error.lock().await.clone(),
            "seconds": elapsed,
        }));
    }

    // Open loop at `rate`, while a poller samples (time, events acknowledged, events pending).
    // With a first-in first-out queue, event i is processed once acknowledged − pending > i.
    let db = marketplace::db::connect(&settings.database_url).await?;
    let pending_before = marketplace::db::webhook_events::count_by_status(&db, "pending").await?;
    let acked = Arc::new(AtomicU64::new(0));
    let send_times = Arc::new(Mutex::new(Vec::<f64>::new()));
    let samples = Arc::new(Mutex::new(Vec::<(f64, u64, i64)>::new()));
    let poller = {
        let (db, acked, samples) = (db.clone(), acked.clone(), samples.clone());
        tokio::spawn(async move {
            let mut quiet_since: Option<Instant> = None;
            loop {
                let a = acked.load(Ordering::SeqCst);
                let pending =
                    marketplace::db::webhook_events::count_by_status(&db, "pending").await?;
                let t = started.elapsed().as_secs_f64();
                samples.lock().await.push((t, a, pending - pending_before));
                let all_sent = Instant::now() >= deadline;
                if all_sent && pending <= pending_before {
                    // Everything sent has been processed.
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_millis(200) {
                        break;
                    }
                }
                if started.elapsed() > Duration::from_secs_f64(seconds + 120.0) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            anyhow::Ok(())
        })
    };
    let total = (rate * seconds).round() as u64;
    let mut tasks = Vec::new();
    for i in 0..total {
        let at = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        let (client, url, signer, acked, errors, first_error, send_times) = (
            client.clone(),
            url.clone(),
            signer.clone(),
            acked.clone(),
            errors.clone(),
            first_error.clone(),
            send_times.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let sent = started.elapsed().as_secs_f64();
            match post_event(&client, &url, &signer).await {
                Ok(()) => {
                    // Recorded in acknowledgement order, the order the queue sees them.
                    let mut times = send_times.lock().await;
                    times.push(sent);
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_error.lock().await.get_or_insert(e.to_string());
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    poller.await??;
    let send_times = send_times.lock().await.clone();
    let samples = samples.lock().await.clone();
    let mut lags = Vec::with_capacity(send_times.len());
    let mut s = 0;
    for (i, sent) in send_times.iter().enumerate() {
        while s < samples.len() && (samples[s].1 as i64 - samples[s].2) <= i as i64 {
            s += 1;
        }
        match samples.get(s) {
            Some((t, _, _)) => lags.push((t - sent).max(0.0) * 1000.0),
            None => break,
        }
    }
    let unprocessed = send_times.len() - lags.len();
    let mut out = summary(lags);
    out["events"] = json!(send_times.len());
    out["unprocessed_at_end"] = json!(unprocessed);
    out["errors"] = json!(errors.load(Ordering::Relaxed));
    out["first_error"] = json!(first_error.lock().await.clone());
    out["rate"] = json!(rate);
    db.close().await;
    Ok(out)
}
