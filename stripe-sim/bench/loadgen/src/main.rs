//! Drives the marketplace's payment flow (customer → PaymentMethod → PaymentIntent confirmed
//! with an application fee → refund) against a Stripe-compatible server and prints one JSON line
//! of figures. Used by scripts/bench-sim against stripe-sim and localstripe.
//!
//! Usage: loadgen --base URL --mode connect|plain --flows N --concurrency C [--rate FLOWS_PER_S]
//!                [--accounts K]

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

#[derive(Clone)]
struct Args {
    base: String,
    connect: bool,
    flows: u64,
    concurrency: usize,
    rate: Option<f64>,
    accounts: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        base: String::new(),
        connect: true,
        flows: 1000,
        concurrency: 16,
        rate: None,
        accounts: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--base" => args.base = value()?.trim_end_matches('/').to_string(),
            "--mode" => {
                args.connect = match value()?.as_str() {
                    "connect" => true,
                    "plain" => false,
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            "--flows" => args.flows = value()?.parse().map_err(|e| format!("--flows: {e}"))?,
            "--concurrency" => {
                args.concurrency = value()?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?
            }
            "--rate" => args.rate = Some(value()?.parse().map_err(|e| format!("--rate: {e}"))?),
            "--accounts" => {
                args.accounts = value()?.parse().map_err(|e| format!("--accounts: {e}"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.base.is_empty() {
        return Err("--base is required".into());
    }
    Ok(args)
}

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
    errors: AtomicU64,
    /// Per-request latencies in microseconds.
    latencies: Mutex<Vec<u32>>,
}

impl Client {
    /// One POST; returns the created object's id, or None (counted as an error).
    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        account: Option<&str>,
        idem: Option<&str>,
    ) -> Option<String> {
        let mut req = self
            .http
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.key)
            .form(form);
        if let Some(a) = account {
            req = req.header("Stripe-Account", a);
        }
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        let started = Instant::now();
        let outcome = match req.send().await {
            Ok(resp) => {
                let ok = resp.status().is_success();
                let body = resp.bytes().await.ok();
                let id = body
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .and_then(|v| v["id"].as_str().map(str::to_string));
                if ok { id } else { None }
            }
            Err(_) => None,
        };
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.latencies.lock().await.push(micros);
        if outcome.is_none() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }
}

async fn flow(c: &Client, n: u64, account: Option<&str>) {
    let tag = format!("flow{n}");
    let email = format!("{tag}@example.com");
    let Some(cus) = c
        .post(
            "/v1/customers",
            &[("email", &email)],
            account,
            Some(&format!("{tag}:cus")),
        )
        .await
    else {
        return;
    };
    let card = [
        ("type", "card"),
        ("card[number]", "4242424242424242"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2034"),
        ("card[cvc]", "123"),
    ];
    let Some(pm) = c
        .post(
            "/v1/payment_methods",
            &card,
            account,
            Some(&format!("{tag}:pm")),
        )
        .await
    else {
        return;
    };
    let mut pi_form = vec![
        ("amount", "2000"),
        ("currency", "usd"),
        ("payment_method_types[]", "card"),
        ("customer", cus.as_str()),
        ("payment_method", pm.as_str()),
        ("confirm", "true"),
    ];
    if account.is_some() {
        pi_form.push(("application_fee_amount", "200"));
    }
    let Some(pi) = c
        .post(
            "/v1/payment_intents",
            &pi_form,
            account,
            Some(&format!("{tag}:pi")),
        )
        .await
    else {
        return;
    };
    let mut refund = vec![("payment_intent", pi.as_str())];
    if account.is_some() {
        refund.push(("refund_application_fee", "true"));
    }
    c.post("/v1/refunds", &refund, account, Some(&format!("{tag}:re")))
        .await;
}

/// Connected accounts with onboarding completed through the emulator's test helper.
async fn accounts(c: &Client, k: usize) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for _ in 0..k {
        let id = c
            .post(
                "/v1/accounts",
                &[("type", "express"), ("country", "US")],
                None,
                None,
            )
            .await
            .ok_or("could not create a connected account")?;
        c.post(
            &format!("/v1/test_helpers/accounts/{id}/onboard"),
            &[],
            None,
            None,
        )
        .await
        .ok_or("could not onboard the connected account")?;
        out.push(id);
    }
    Ok(out)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1000.0
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let http = match reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let client = Arc::new(Client {
        http,
        base: args.base.clone(),
        key: format!("sk_test_bench_{stamp}"),
        errors: AtomicU64::new(0),
        latencies: Mutex::new(Vec::with_capacity((args.flows * 4) as usize)),
    });
    let accts = if args.connect {
        match accounts(&client, args.accounts.max(1)).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("loadgen: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        Vec::new()
    };
    // Setup requests are not part of the measurement.
    client.latencies.lock().await.clear();
    client.errors.store(0, Ordering::Relaxed);
    let accts = Arc::new(accts);

    let permits = Arc::new(Semaphore::new(args.concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.flows as usize);
    let mut ticker = args.rate.map(|r| {
        let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / r));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        t
    });
    for n in 0..args.flows {
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let client = client.clone();
        let accts = accts.clone();
        tasks.push(tokio::spawn(async move {
            let account = (!accts.is_empty()).then(|| accts[(n as usize) % accts.len()].as_str());
            flow(&client, n, account).await;
            drop(permit);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = client.latencies.lock().await.clone();
    lat.sort_unstable();
    let requests = lat.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "mode": if args.connect { "connect" } else { "plain" },
            "flows": args.flows,
            "concurrency": args.concurrency,
            "rate_flows_per_s": args.rate,
            "requests": lat.len(),
            "errors": client.errors.load(Ordering::Relaxed),
            "seconds": elapsed,
            "requests_per_s": if elapsed > 0.0 { requests / elapsed } else { 0.0 },
            "p50_ms": percentile(&lat, 50.0),
            "p99_ms": percentile(&lat, 99.0),
        })
    );
    ExitCode::SUCCESS
}
