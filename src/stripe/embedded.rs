//! The emulator this process starts when no Stripe key is configured.

use std::path::{Path, PathBuf};

use rand::Rng;
use rand::distr::Alphanumeric;

use super::GatewayError;

const KEY_FILE: &str = "stripe-sim.key";
const STATE_FILE: &str = "stripe-sim.json";

pub(super) struct EmbeddedSim {
    secret_key: String,
    base_url: String,
    // Taken by `shutdown`, which stops the server and flushes its state to disk.
    running: tokio::sync::Mutex<Option<stripe_sim::RunningSim>>,
}

impl EmbeddedSim {
    /// Starts stripe-sim on a loopback port with its state beside the app's data so the
    /// `acct_…`/`pi_…` ids in our database stay valid across restarts.
    pub(super) async fn start(data_dir: &Path) -> Result<Self, GatewayError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            GatewayError::Config(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let secret_key = load_or_create_key(&data_dir.join(KEY_FILE))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| GatewayError::Config(format!("cannot bind stripe-sim: {e}")))?;
        let config = stripe_sim::SimConfig {
            data_file: Some(data_dir.join(STATE_FILE)),
            workers: 1,
            ..stripe_sim::SimConfig::default()
        };
        let running = stripe_sim::start(listener, config)
            .await
            .map_err(|e| GatewayError::Config(format!("cannot start stripe-sim: {e}")))?;
        Ok(Self {
            secret_key,
            base_url: running.base_url.clone(),
            running: tokio::sync::Mutex::new(Some(running)),
        })
    }

    /// Stops the emulator and writes its last changes, so that ids the app stored moments before
    /// a shutdown are still known to the emulator after the next start.
    pub(super) async fn shutdown(&self) {
        if let Some(running) = self.running.lock().await.take() {
            running.stop().await;
        }
    }

    pub(super) fn secret_key(&self) -> &str {
        &self.secret_key
    }

    pub(super) fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// The emulator treats every distinct secret key as its own platform, so the key must be the
/// same on every start for the platform's objects to be found again.
fn load_or_create_key(path: &PathBuf) -> Result<String, GatewayError> {
    match std::fs::read_to_string(path) {
        Ok(existing) if existing.trim().starts_with("sk_test_") => Ok(existing.trim().to_owned()),
        Ok(_) => Err(GatewayError::Config(format!(
            "{} does not hold an sk_test_ key; delete it to start a fresh simulated platform",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let suffix: String = rand::rng()
                .sample_iter(Alphanumeric)
                .take(24)
                .map(char::from)
                .collect();
            let key = format!("sk_test_sim{suffix}");
            std::fs::write(path, &key).map_err(|e| {
                GatewayError::Config(format!("cannot write {}: {e}", path.display()))
            })?;
            Ok(key)
        }
        Err(e) => Err(GatewayError::Config(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}
