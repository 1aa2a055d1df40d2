//! Logging: tracing to stdout; tracing-actix-web opens a span per request whose
//! `request_id` appears on every line logged while handling it.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init`: tests may start several apps in one process.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // The close event of each request span is the access log line: method,
        // route, status, request id and time taken.
        .with_span_events(FmtSpan::CLOSE)
        .try_init();
}
