//! Pieces every stripe-sim test harness needs: a big-stack runtime and unique names.
//! Included by path from each harness module so there is one copy.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

const STACK: usize = 64 * 1024 * 1024;

/// async-stripe's generated types are deep; unoptimised (de)serialisation needs far more stack
/// than the 2 MiB default of test threads and tokio workers. Runs an async test body on a
/// runtime whose threads all have a large stack.
pub fn run<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let handle = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(STACK)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(body());
        })
        .expect("spawn test thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{tag}_{nanos}_{n}_{}", std::process::id())
}

/// Where a response departs from Stripe's published schema for API version 2026-09-30 in the
/// ways this emulator once did: fields the schema marks optional and never nullable sent as
/// `null` (`payment_method_details.card.capture_before`, a refund's
/// `destination_details.card.reference`), and `total_count` on lists, which Stripe no longer
/// sends. Every raw response of the Rust suites goes through it (see the harness modules).
pub fn schema_departures(body: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                if map.get("object").and_then(|o| o.as_str()) == Some("list")
                    && map.contains_key("total_count")
                {
                    out.push(format!("{path}.total_count on a list"));
                }
                if map.get("capture_before").is_some_and(|c| c.is_null()) {
                    out.push(format!("{path}.capture_before is null"));
                }
                if path.ends_with("destination_details.card")
                    && map.get("reference").is_some_and(|c| c.is_null())
                {
                    out.push(format!("{path}.reference is null"));
                }
                for (k, child) in map {
                    walk(child, &format!("{path}.{k}"), out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, "$", &mut out);
    out
}

/// Fails the test when [`schema_departures`] finds anything in a response to `what`.
pub fn assert_schema(body: &serde_json::Value, what: &str) {
    let found = schema_departures(body);
    assert!(
        found.is_empty(),
        "{what}: response departs from Stripe's schema: {found:?}\nbody: {body}"
    );
}
