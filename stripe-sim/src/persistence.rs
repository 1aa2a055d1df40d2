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
use serde_json::Value;

use crate::idempotency::{IdemRecord, IdemState, RecordKey};
use crate::store::State;
use crate::store::Stored;

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
    #[error("writing snapshot: {0}")]
    Stream(#[from] std::io::Error),
    #[error(transparent)]
    Unreadable(#[from] crate::store::Unreadable),
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
    write_atomic_with(path, |w| Ok(w.write_all(bytes)?))
}

/// Replaces `path` with what `fill` writes, atomically. The content is streamed to the
/// temporary file: a large store is never held as one buffer in memory.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), PersistError>,
) -> Result<(), PersistError> {
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
        let mut f =
            std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp).map_err(err)?);
        fill(&mut f)?;
        let f = f.into_inner().map_err(|e| err(e.into_error()))?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes the file's content; called on the snapshot thread.
pub type Encoder = dyn Fn(&mut dyn Write) -> Result<(), PersistError> + Send + Sync;

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

/// A save of a large store takes a while (unpacking every block, writing hundreds of MB), so
/// the writer backs off: at most about 1/`MAX_SAVE_SHARE` of the time goes to saving, which
/// leaves the CPU to requests. The store lock itself is held only to take the view.
const MAX_SAVE_SHARE: u32 = 50;
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
        let written = write_atomic_with(path, encode);
        wait = debounce
            .max(started.elapsed() * MAX_SAVE_SHARE)
            .min(MAX_WAIT);
        match written {
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
    let encoder: Arc<Encoder> = Arc::new(move |out| match weak.upgrade() {
        Some(sim) => {
            let view = capture(&mut sim.state.lock())?;
            // The store is unlocked again: unpacking and writing only read the view.
            view.write(out)
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

/// What a snapshot saves, taken under the store lock: the packed objects and finished
/// idempotency records are shared, not copied, so the lock is held for a walk over the map
/// rather than for serializing the store.
struct View {
    /// Every other field of the store.
    rest: Value,
    objects: Stored,
    idempotency: Vec<(RecordKey, IdemRecord)>,
}

fn capture(st: &mut State) -> Result<View, PersistError> {
    st.freeze_touched();
    let objects = st.objects.stored();
    // Claims still in flight are not saved: their clients never got an answer and retry.
    let idempotency = st
        .idempotency
        .iter()
        .filter(|(_, rec)| matches!(rec.state, IdemState::Done { .. }))
        .map(|(k, rec)| (*k, rec.clone()))
        .collect();
    let all_objects = std::mem::take(&mut st.objects);
    let all_idempotency = std::mem::take(&mut st.idempotency);
    let rest = serde_json::to_value(&*st);
    st.objects = all_objects;
    st.idempotency = all_idempotency;
    Ok(View {
        rest: rest?,
        objects,
        idempotency,
    })
}

impl View {
    /// Writes `{…rest, "objects": {…}, "idempotency": {…}}` — the layout `State` deserializes.
    fn write(self, out: &mut dyn Write) -> Result<(), PersistError> {
        out.write_all(b"{")?;
        if let Value::Object(fields) = &self.rest {
            for (k, v) in fields {
                if k == "objects" || k == "idempotency" {
                    continue;
                }
                serde_json::to_writer(&mut *out, k)?;
                out.write_all(b":")?;
                serde_json::to_writer(&mut *out, v)?;
                out.write_all(b",")?;
            }
        }
        out.write_all(b"\"objects\":{")?;
        let mut first = true;
        self.objects.for_each(|id, text| {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut *out, id)?;
            out.write_all(b":")?;
            out.write_all(text.as_bytes())?;
            Ok::<(), PersistError>(())
        })?;
        out.write_all(b"},\"idempotency\":{")?;
        for (i, (key, rec)) in self.idempotency.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, key)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut *out, rec)?;
        }
        out.write_all(b"}}")?;
        Ok(())
    }
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
            Arc::new(
                move |out| Ok(out.write_all(c.load(Ordering::SeqCst).to_string().as_bytes())?),
            );
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
        let encoder: Arc<Encoder> = Arc::new(|out| Ok(out.write_all(b"7")?));
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
