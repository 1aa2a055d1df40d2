//! The emulator this process starts when no Stripe key is configured.

use std::path::Path;

use rand::Rng;
use rand::distr::Alphanumeric;

use super::GatewayError;
use crate::keyfile::KeyFileError;

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

/// `sk_test_sim` and this many letters/digits: the only form this module writes, so anything
/// else in the file (a truncated or edited key) is noticed instead of becoming a new platform.
const KEY_SUFFIX_LEN: usize = 24;
const KEY_PREFIX: &str = "sk_test_sim";

/// The emulator treats every distinct secret key as its own platform, so the key must be the
/// same on every start for the platform's objects to be found again. Written once, atomically,
/// with mode 0600 (see [`crate::keyfile`]).
fn load_or_create_key(path: &Path) -> Result<String, GatewayError> {
    crate::keyfile::load_or_create(
        path,
        || {
            let suffix: String = rand::rng()
                .sample_iter(Alphanumeric)
                .take(KEY_SUFFIX_LEN)
                .map(char::from)
                .collect();
            format!("{KEY_PREFIX}{suffix}")
        },
        is_sim_key,
    )
    .map_err(|e| match e {
        KeyFileError::Damaged { path } => GatewayError::Config(format!(
            "{} does not hold a complete emulator key ({KEY_PREFIX} and {KEY_SUFFIX_LEN} letters \
             or digits); restore it from a backup (deleting it starts a new simulated platform \
             that knows none of the stored Stripe ids)",
            path.display()
        )),
        io @ KeyFileError::Io { .. } => GatewayError::Config(io.to_string()),
    })
}

fn is_sim_key(text: &str) -> bool {
    text.strip_prefix(KEY_PREFIX).is_some_and(|suffix| {
        suffix.len() == KEY_SUFFIX_LEN && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::is_sim_key;

    #[test]
    fn only_whole_generated_keys_are_accepted() {
        assert!(is_sim_key("sk_test_simABCDEFGHIJKLMNOPQRSTUVWX"));
        assert!(
            !is_sim_key("sk_test_simABCDEFGHIJKLMNOPQRSTUVW"),
            "truncated"
        );
        assert!(!is_sim_key("sk_test_sim"), "truncated");
        assert!(
            !is_sim_key("sk_test_simABCDEFGHIJKLMNOPQRSTUV\u{0}X"),
            "garbled"
        );
        assert!(!is_sim_key(""));
    }
}
