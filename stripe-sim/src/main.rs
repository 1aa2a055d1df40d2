//! `stripe-sim [--addr 127.0.0.1:12111] [--data FILE] [--hot-objects N]`

use std::path::PathBuf;

// glibc's allocator fragments under the store's mix of short-lived JSON trees and long-lived
// packed objects; mimalloc doubles throughput here (see scripts/bench-sim).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn usage() -> ! {
    eprintln!("usage: stripe-sim [--addr 127.0.0.1:12111] [--data FILE] [--hot-objects N]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut addr = "127.0.0.1:12111".to_string();
    let mut data: Option<PathBuf> = None;
    let mut hot_objects = stripe_sim::store::DEFAULT_HOT_OBJECTS;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().unwrap_or_else(|| usage()),
            "--data" => data = Some(PathBuf::from(args.next().unwrap_or_else(|| usage()))),
            "--hot-objects" => {
                hot_objects = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    let listener = std::net::TcpListener::bind(&addr)?;
    let config = stripe_sim::SimConfig {
        data_file: data,
        hot_objects,
        ..Default::default()
    };
    let sim = stripe_sim::start(listener, config).await?;
    tracing::info!(base_url = %sim.base_url, "stripe-sim listening");
    shutdown_signal().await?;
    sim.stop().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager or container runtime: both stop gracefully, so
/// the final snapshot is written.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
