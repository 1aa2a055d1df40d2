//! Snapshots of the whole store to one file, so ids survive a restart.
//!
//! Writes are atomic (temp file in the same directory, fsync, rename): a crash leaves either the
//! old snapshot or the new one, never half of one. Saving is debounced and runs on its own thread,
//! so a burst of requests costs one write and no request waits for the disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Quiet period after a change before saving: long enough to batch a burst of requests, short
/// enough that a killed process loses little.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("reading snapshot {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("snapshot {path} is not valid: {source}")]
    Decode {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing snapshot {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("encoding snapshot: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Reads a snapshot; `Ok(None)` when the file does not exist yet (first start).
pub fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| PersistError::Decode {
            path: path.to_path_buf(),
            source,
        })
}

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let err = |source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(err)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Produces the bytes to save; called on the snapshot thread.
pub type Encoder = dyn Fn() -> Result<Vec<u8>, PersistError> + Send + Sync;

#[derive(Default)]
struct Flags {
    dirty: bool,
    stopping: bool,
    /// Bumped after every completed save, so `flush` can wait for one.
    saves: u64,
}

struct Shared {
    flags: Mutex<Flags>,
    wake: Condvar,
    saved: Condvar,
}

/// Debounced background saver. `mark_dirty` is cheap and never blocks on I/O.
#[derive(Clone)]
pub struct Snapshotter {
    shared: Arc<Shared>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Snapshotter {
    pub fn start(path: PathBuf, debounce: Duration, encode: Arc<Encoder>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            flags: Mutex::new(Flags::default()),
            wake: Condvar::new(),
            saved: Condvar::new(),
        });
        let worker = shared.clone();
        let handle = std::thread::Builder::new()
            .name("stripe-sim-snapshot".into())
            .spawn(move || run(&worker, &path, debounce, &*encode))?;
        Ok(Snapshotter {
            shared,
            thread: Arc::new(Mutex::new(Some(handle))),
        })
    }

    pub fn mark_dirty(&self) {
        let mut flags = self.shared.flags.lock();
        if !flags.dirty {
            flags.dirty = true;
            self.shared.wake.notify_one();
        }
    }

    /// Saves pending changes, then stops the thread. Blocks until the final write is done.
    pub fn stop(&self) {
        {
            let mut flags = self.shared.flags.lock();
            flags.stopping = true;
            self.shared.wake.notify_one();
        }
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
    }

    /// Number of completed saves (for tests and diagnostics).
    pub fn saves(&self) -> u64 {
        self.shared.flags.lock().saves
    }
}

/// Encoding holds the store lock, so with a large store the writer backs off: at most about
/// 1/`MAX_LOCK_SHARE` of the time is spent encoding, keeping request latency flat.
const MAX_LOCK_SHARE: u32 = 50;
const MAX_WAIT: Duration = Duration::from_secs(30);

fn run(shared: &Shared, path: &Path, debounce: Duration, encode: &Encoder) {
    let mut wait = debounce;
    loop {
        let stopping = {
            let mut flags = shared.flags.lock();
            while !flags.dirty && !flags.stopping {
                shared.wake.wait(&mut flags);
            }
            if !flags.stopping {
                // Let a burst of changes settle; a stop request cuts the wait short.
                shared.wake.wait_for(&mut flags, wait);
            }
            flags.dirty = false;
            flags.stopping
        };
        let started = std::time::Instant::now();
        let encoded = encode();
        wait = debounce
            .max(started.elapsed() * MAX_LOCK_SHARE)
            .min(MAX_WAIT);
        match encoded.and_then(|bytes| write_atomic(path, &bytes)) {
            Ok(()) => {}
            Err(e) => tracing::error!(error = %e, "stripe-sim snapshot failed"),
        }
        {
            let mut flags = shared.flags.lock();
            flags.saves += 1;
            shared.saved.notify_all();
        }
        if stopping {
            return;
        }
    }
}

/// Starts the debounced snapshot writer of a running emulator when it has a data file, and
/// drops idempotency claims of requests that were still running when the snapshot was taken
/// (their clients never got an answer and will retry).
pub fn attach(sim: &crate::server::SharedSim) -> std::io::Result<()> {
    sim.state
        .lock()
        .idempotency
        .retain(|_, rec| !matches!(rec.state, crate::idempotency::IdemState::InFlight));
    let Some(path) = sim.config.data_file.clone() else {
        return Ok(());
    };
    let weak = Arc::downgrade(sim);
    let encoder: Arc<Encoder> = Arc::new(move || match weak.upgrade() {
        Some(sim) => {
            let st = sim.state.lock();
            Ok(serde_json::to_vec(&*st)?)
        }
        // Already stopped: `stop` saved the final state.
        None => Err(PersistError::Encode(serde::de::Error::custom(
            "emulator stopped",
        ))),
    });
    let snap = Snapshotter::start(path, DEFAULT_DEBOUNCE, encoder)?;
    let _ = sim.snapshot.set(snap);
    Ok(())
}

/// Notes that the store changed; the snapshot thread saves it shortly after.
pub fn mark_dirty(sim: &crate::server::Sim) {
    if let Some(s) = sim.snapshot.get() {
        s.mark_dirty();
    }
}

/// Writes the final snapshot and stops the writer (blocking; call off the async executor).
pub fn stop(sim: &crate::server::Sim) {
    if let Some(s) = sim.snapshot.get() {
        s.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir()
            .join(format!(
                "stripe-sim-persist-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ))
            .join(name)
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp_file() {
        let path = temp_path("state.json");
        write_atomic(&path, b"{\"a\":1}").expect("first write");
        write_atomic(&path, b"{\"a\":2}").expect("second write");
        let v: Option<serde_json::Value> = load(&path).expect("load");
        assert_eq!(v, Some(serde_json::json!({"a": 2})));
        let dir = path.parent().expect("dir");
        let names: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn load_missing_is_none_and_garbage_is_an_error() {
        let path = temp_path("missing.json");
        assert!(load::<serde_json::Value>(&path).expect("load").is_none());
        write_atomic(&path, b"not json").expect("write");
        assert!(matches!(
            load::<serde_json::Value>(&path),
            Err(PersistError::Decode { .. })
        ));
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }

    #[test]
    fn stop_flushes_the_latest_state() {
        let path = temp_path("state.json");
        let counter = Arc::new(AtomicU64::new(0));
        let c = counter.clone();
        let encoder: Arc<Encoder> =
            Arc::new(move || Ok(c.load(Ordering::SeqCst).to_string().into_bytes()));
        // A debounce far longer than the test: only `stop` can cause the write.
        let snap =
            Snapshotter::start(path.clone(), Duration::from_secs(3600), encoder).expect("start");
        for i in 1..=5 {
            counter.store(i, Ordering::SeqCst);
            snap.mark_dirty();
        }
        snap.stop();
        let v: Option<u64> = load(&path).expect("load");
        assert_eq!(v, Some(5));
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }

    #[test]
    fn dirty_marks_are_saved_without_stop() {
        let path = temp_path("state.json");
        let encoder: Arc<Encoder> = Arc::new(|| Ok(b"7".to_vec()));
        let snap =
            Snapshotter::start(path.clone(), Duration::from_millis(1), encoder).expect("start");
        snap.mark_dirty();
        {
            let mut flags = snap.shared.flags.lock();
            while flags.saves == 0 {
                snap.shared.saved.wait(&mut flags);
            }
        }
        let v: Option<u64> = load(&path).expect("load");
        assert_eq!(v, Some(7));
        snap.stop();
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }
}
