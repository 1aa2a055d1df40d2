//! stripe-sim: a stateful emulator of the Stripe API subset a Connect marketplace uses.
//!
//! Start it in-process with [`start`] or run the `stripe-sim` binary. See
//! `/work/shared/STRIPE_SIM.md` for the contract.

// ApiError carries the whole Stripe error body; it is built once per failed request, so its
// size on the Err path does not matter.
#![allow(clippy::result_large_err)]
// Stripe objects are large `json!` literals.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod checkout_page;
pub mod error;
pub mod events;
pub mod expand;
pub mod faults;
pub mod form;
pub mod idempotency;
pub mod ids;
pub mod list;
pub mod pages;
pub mod persistence;
pub mod resources;
pub mod server;
pub mod store;
pub mod testcards;
pub mod webhooks;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use parking_lot::Mutex;

use crate::server::{SharedSim, Sim};
use crate::store::State;

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Snapshot file: state is loaded from it at start and saved to it (atomically: write
    /// temp + rename) after changes, so ids survive a restart. None = memory only.
    pub data_file: Option<PathBuf>,
    /// Delays between webhook delivery attempts (Stripe-like hours by default; tests pass
    /// milliseconds). Length = number of retries.
    pub webhook_retry_delays: Vec<Duration>,
    /// actix worker threads (embedded use: 1 or 2).
    pub workers: usize,
    /// How many of the most recently written objects stay compressed one by one; older ones
    /// are sealed into blocks of 64 (about a third of the memory, ~30 µs more to read one).
    /// Small values exercise sealing in tests.
    pub hot_objects: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        // Stripe retries over about three days with exponential backoff.
        let hours = [0.1, 1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 24.0];
        SimConfig {
            data_file: None,
            webhook_retry_delays: hours
                .iter()
                .map(|h| Duration::from_secs_f64(h * 3600.0))
                .collect(),
            workers: 2,
            hot_objects: store::DEFAULT_HOT_OBJECTS,
        }
    }
}

pub struct RunningSim {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    handle: actix_web::dev::ServerHandle,
    join: tokio::task::JoinHandle<std::io::Result<()>>,
    ticker: tokio::task::JoinHandle<()>,
    sim: SharedSim,
}

impl RunningSim {
    /// Graceful stop; flushes the snapshot.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.join.await;
        self.ticker.abort();
        crate::webhooks::detach(&self.sim);
        let sim = self.sim.clone();
        // The snapshot writer's final save covers everything: the server has stopped.
        let _ = tokio::task::spawn_blocking(move || crate::persistence::stop(&sim)).await;
    }

    /// The running emulator's shared state (for in-crate test helpers and extensions).
    pub fn sim(&self) -> &SharedSim {
        &self.sim
    }
}

/// Reads a snapshot as a stream: objects are packed one by one as they are read, so loading a
/// large store never holds the file, or the parsed store, in memory at once.
fn load_snapshot(path: &std::path::Path) -> std::io::Result<State> {
    match std::fs::File::open(path) {
        Ok(f) => serde_json::from_reader(std::io::BufReader::with_capacity(1 << 16, f))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(e),
    }
}

/// Starts the emulator on an already-bound listener, inside the current tokio runtime.
pub async fn start(listener: TcpListener, config: SimConfig) -> std::io::Result<RunningSim> {
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let base_url = format!("http://{host}:{}", addr.port());
    let mut state = match &config.data_file {
        Some(p) => load_snapshot(p)?,
        None => State::default(),
    };
    state.objects.set_hot_limit(config.hot_objects);
    let sim: SharedSim = Arc::new(Sim {
        state: Mutex::new(state),
        routes: resources::routes(),
        base_url: base_url.clone(),
        config: config.clone(),
        events_notify: tokio::sync::Notify::new(),
        dispatcher: std::sync::OnceLock::new(),
        snapshot: std::sync::OnceLock::new(),
    });
    crate::webhooks::attach(&sim)?;
    crate::persistence::attach(&sim)?;
    listener.set_nonblocking(true)?;
    let data = web::Data::new(sim.clone());
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::faults::middleware))
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .configure(server::configure)
    })
    .on_connect(crate::faults::on_connect)
    .workers(config.workers.max(1))
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let join = tokio::spawn(server);
    let ticker = tokio::spawn(server::ticker(sim.clone()));
    Ok(RunningSim {
        base_url,
        handle,
        join,
        ticker,
        sim,
    })
}
