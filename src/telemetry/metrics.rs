//! Prometheus metrics (the `metrics` facade with `metrics-exporter-prometheus`), served at
//! `/metrics` by `crate::web::metrics`. Everything the app records goes through the functions
//! here, so metric names and labels are written down once:
//!
//! | metric | labels | recorded by |
//! |---|---|---|
//! | `marketplace_http_requests_total`, `marketplace_http_request_duration_seconds` | `method`, `route` (the pattern, e.g. `/products/{id}`; `unmatched` for 404s), `status` | [`track_requests`] middleware |
//! | `marketplace_stripe_requests_total`, `marketplace_stripe_request_duration_seconds` | `operation` (e.g. `payment_intent.create`), `outcome` (`ok` or a `GatewayError` label) | [`stripe_call`], via `crate::stripe::metered::call` |
//! | `marketplace_jobs` (gauge) | `kind`, `state` (`queued`, `running`, `failed`) | [`set_job_counts`], from the database at each scrape |
//! | `marketplace_webhook_events_received_total` | `type` (e.g. `payment_intent.succeeded`) | [`webhook_received`] |

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const HTTP_REQUESTS: &str = "marketplace_http_requests_total";
const HTTP_DURATION: &str = "marketplace_http_request_duration_seconds";
const STRIPE_REQUESTS: &str = "marketplace_stripe_requests_total";
const STRIPE_DURATION: &str = "marketplace_stripe_request_duration_seconds";
const JOBS: &str = "marketplace_jobs";
const WEBHOOKS_RECEIVED: &str = "marketplace_webhook_events_received_total";

/// Latency buckets in seconds: 1 ms to 20 s (Stripe's call timeout).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (later calls return the same handle). Start-up calls
/// it; metrics recorded before it are dropped.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will stay empty");
        }
        describe();
        // Histograms are gathered in per-thread blocks until upkeep folds them in; without a
        // scrape for a long time they would only grow.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
        }
        handle
    })
}

/// The Prometheus text exposition of everything recorded so far.
pub fn render() -> String {
    install().render()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by route pattern and status"
    );
    describe_counter!(STRIPE_REQUESTS, "Calls to Stripe, by operation and outcome");
    describe_histogram!(
        STRIPE_DURATION,
        metrics::Unit::Seconds,
        "Time a Stripe call took, by operation and outcome"
    );
    describe_gauge!(JOBS, "Jobs in the queue, by kind and state");
    describe_counter!(
        WEBHOOKS_RECEIVED,
        "Stripe webhook events accepted (signature checked), by event type"
    );
}

/// Middleware: counts and times every request under its route *pattern*, never the raw path, so
/// ids in URLs do not create a series each.
pub async fn track_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.call(req).await;
    let status = match &res {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    http_request(&method, &route, status.as_u16(), start.elapsed());
    res
}

/// One answered HTTP request (normally recorded by [`track_requests`]).
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// One finished Stripe call. `outcome` is `ok` or `GatewayError::outcome()`; use
/// `crate::stripe::metered::call`, which records this for you.
pub fn stripe_call(operation: &'static str, outcome: &'static str, elapsed: Duration) {
    let labels = [("operation", operation), ("outcome", outcome)];
    counter!(STRIPE_REQUESTS, &labels).increment(1);
    histogram!(STRIPE_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// One webhook event accepted by a webhook endpoint (after its signature checked out), by its
/// `type`. Call it once per stored event; a duplicate delivery may be counted too.
pub fn webhook_received(event_type: &str) {
    counter!(WEBHOOKS_RECEIVED, "type" => event_type.to_owned()).increment(1);
}

/// How many jobs of one kind are in each state right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCounts {
    pub kind: String,
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
}

/// Sets the job gauges to `counts`; kinds seen before but absent now drop to zero, so a gauge
/// never shows jobs that are gone.
pub fn set_job_counts(counts: &[JobCounts]) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let seen = seen.get_or_insert_with(HashSet::new);
    let set = |kind: &str, state: &'static str, n: i64| {
        gauge!(JOBS, "kind" => kind.to_owned(), "state" => state).set(n as f64);
    };
    for kind in seen.iter() {
        if !counts.iter().any(|c| &c.kind == kind) {
            for state in ["queued", "running", "failed"] {
                set(kind, state, 0);
            }
        }
    }
    for c in counts {
        set(&c.kind, "queued", c.queued);
        set(&c.kind, "running", c.running);
        set(&c.kind, "failed", c.failed);
        seen.insert(c.kind.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the series whose line starts with `prefix` (name and labels), or 0.
    fn value(text: &str, prefix: &str) -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    #[test]
    fn job_gauges_follow_the_counts_and_drop_to_zero() {
        install();
        let kind = format!("unit_{}", crate::domain::ids::random_token(6));
        set_job_counts(&[JobCounts {
            kind: kind.clone(),
            queued: 3,
            running: 1,
            failed: 2,
        }]);
        let text = render();
        let series = |state: &str| format!("{JOBS}{{kind=\"{kind}\",state=\"{state}\"}}");
        assert_eq!(value(&text, &series("queued")), 3.0, "{text}");
        assert_eq!(value(&text, &series("running")), 1.0);
        assert_eq!(value(&text, &series("failed")), 2.0);
        set_job_counts(&[]);
        let text = render();
        assert!(text.contains(&series("queued")), "the series stays, at 0");
        assert_eq!(value(&text, &series("queued")), 0.0);
        assert_eq!(value(&text, &series("failed")), 0.0);
    }
}
