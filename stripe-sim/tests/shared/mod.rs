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
