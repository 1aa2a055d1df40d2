//! The emulator this process starts when no Stripe key is configured.
//!
//! Its state lives in `DATA_DIR`, so only one process may run it. The one that does holds an
//! exclusive lock on `stripe-sim.lock` and writes its address there; another process on the same
//! `DATA_DIR` (`seed-demo` or `create-admin` while the server runs, a second server on the same
//! SQLite file) talks to that emulator instead of starting its own. Two emulators on one state
//! file would each save only their own changes, and the last to save would erase the other's
//! customers and payments while the database still names them.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;

use super::GatewayError;
use crate::keyfile::KeyFileError;

const KEY_FILE: &str = "stripe-sim.key";
const STATE_FILE: &str = "stripe-sim.json";
const LOCK_FILE: &str = "stripe-sim.lock";

/// How long a process that found the emulator in use waits for its owner to write its address
/// (the owner takes the lock before it starts listening).
const ADDRESS_WAIT: Duration = Duration::from_secs(10);

pub(super) struct EmbeddedSim {
    secret_key: String,
    base_url: String,
    // Taken by `shutdown`, which stops the server and flushes its state to disk; `None` from the
    // start when this process uses another process's emulator.
    running: tokio::sync::Mutex<Option<Owned>>,
}

/// The emulator this process runs, and the lock that says so.
struct Owned {
    sim: stripe_sim::RunningSim,
    lock: File,
}

impl EmbeddedSim {
    /// Starts stripe-sim on a loopback port with its state beside the app's data so the
    /// `acct_…`/`pi_…` ids in our database stay valid across restarts, or uses the one another
    /// process already runs on the same data directory.
    pub(super) async fn start(data_dir: &Path) -> Result<Self, GatewayError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            GatewayError::Config(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let secret_key = load_or_create_key(&data_dir.join(KEY_FILE))?;
        let lock_path = data_dir.join(LOCK_FILE);
        let io = |e: std::io::Error| {
            GatewayError::Config(format!("cannot use {}: {e}", lock_path.display()))
        };
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let base_url = wait_for_address(&mut lock).await.ok_or_else(|| {
                    GatewayError::Config(format!(
                        "another process holds {} but has not said where its Stripe emulator                          listens; stop it or wait for it to finish starting",
                        lock_path.display()
                    ))
                })?;
                tracing::info!(
                    api_base = %base_url,
                    "the embedded stripe-sim of another process on this data directory is running; using it"
                );
                return Ok(Self {
                    secret_key,
                    base_url,
                    running: tokio::sync::Mutex::new(None),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
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
        let base_url = running.base_url.clone();
        let published = lock
            .set_len(0)
            .and_then(|()| lock.seek(SeekFrom::Start(0)))
            .and_then(|_| lock.write_all(base_url.as_bytes()))
            .and_then(|()| lock.sync_data());
        if let Err(e) = published {
            running.stop().await;
            return Err(io(e));
        }
        Ok(Self {
            secret_key,
            base_url,
            running: tokio::sync::Mutex::new(Some(Owned { sim: running, lock })),
        })
    }

    /// Stops the emulator and writes its last changes, so that ids the app stored moments before
    /// a shutdown are still known to the emulator after the next start. Releases the data
    /// directory for the next process (or the next start of this one).
    pub(super) async fn shutdown(&self) {
        if let Some(owned) = self.running.lock().await.take() {
            owned.sim.stop().await;
            // Empty first: a process that takes the lock next must not read our old address.
            let _ = owned.lock.set_len(0);
            let _ = owned.lock.unlock();
        }
    }

    pub(super) fn secret_key(&self) -> &str {
        &self.secret_key
    }

    pub(super) fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// The address the lock's owner wrote, once it has; `None` if it never does.
async fn wait_for_address(lock: &mut File) -> Option<String> {
    let deadline = tokio::time::Instant::now() + ADDRESS_WAIT;
    loop {
        let mut text = String::new();
        let read = lock
            .seek(SeekFrom::Start(0))
            .and_then(|_| lock.read_to_string(&mut text));
        let address = text.trim();
        if read.is_ok() && address.starts_with("http://127.0.0.1:") {
            return Some(address.to_string());
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
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
