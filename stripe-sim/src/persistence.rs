//! Snapshots of the whole store to one file, so ids survive a restart.
//!
//! Writes are atomic (temp file in the same directory, fsync, rename): a crash leaves either the
//! old snapshot or the new one, never half of one. Saving is debounced and runs on its own thread,
//! so a burst of requests costs one write and no request waits for the disk.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use serde_json::Value;
use serde_json::value::{RawValue, to_raw_value};

use crate::idempotency::IdemState;
use crate::store::State;

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

/// Produces the bytes to save; called on the snapshot thread. The argument is true for the
/// final save at stop, which must be complete and consistent.
pub type Encoder = dyn Fn(bool) -> Result<Vec<u8>, PersistError> + Send + Sync;

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
        let encoded = encode(stopping);
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
    sim.state.lock().snapshot_changes = Some(Default::default());
    let weak = Arc::downgrade(sim);
    let cache = Mutex::new(Cache::default());
    let encoder: Arc<Encoder> = Arc::new(move |full| match weak.upgrade() {
        Some(sim) => {
            let mut cache = cache.lock();
            let rest = refresh(&mut sim.state.lock(), &mut cache, full)?;
            // The store is unlocked again: assembling the file only reads the cache.
            assemble(&rest, &cache)
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

/// Each object and finished idempotency record serialized once, and again only when it
/// changed, so the store lock is held for the changes since the last save rather than for the
/// whole store (a full store of 100k objects takes long enough to stall every request).
#[derive(Default)]
struct Cache {
    primed: bool,
    /// Id → (the object's fields but `json`, as an unclosed JSON object; its `json` text,
    /// shared with the store).
    objects: HashMap<String, (String, Arc<RawValue>)>,
    /// Key → (`created` of the record, serialized record).
    idempotency: HashMap<String, (i64, Box<RawValue>)>,
}

/// An object split into its small fields (copied) and its JSON text (shared).
fn cached(obj: &crate::store::Obj) -> Result<(String, Arc<RawValue>), PersistError> {
    #[derive(serde::Serialize)]
    struct Head<'a> {
        id: &'a str,
        owner: &'a str,
        kind: &'a str,
        seq: u64,
        created: i64,
        internal: &'a serde_json::Map<String, Value>,
    }
    let mut head = serde_json::to_string(&Head {
        id: &obj.id,
        owner: &obj.owner,
        kind: &obj.kind,
        seq: obj.seq,
        created: obj.created,
        internal: &obj.internal,
    })?;
    head.pop(); // the closing brace: `json` is appended when the file is assembled
    Ok((head, obj.json.shared_text()?))
}

/// Brings the cache up to date with the store (locked by the caller) and returns every other
/// field of the store, serialized. `full` re-serializes everything.
fn refresh(st: &mut State, cache: &mut Cache, full: bool) -> Result<Value, PersistError> {
    let changed = st
        .snapshot_changes
        .as_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    if full || !cache.primed {
        cache.objects.clear();
        for (id, obj) in &st.objects {
            cache.objects.insert(id.clone(), cached(obj)?);
        }
        cache.primed = true;
    } else {
        for id in changed {
            match st.objects.get(&id) {
                Some(obj) => {
                    cache.objects.insert(id, cached(obj)?);
                }
                None => {
                    cache.objects.remove(&id);
                }
            }
        }
    }
    // Finished records never change until they expire and the key is reused, which gives them
    // a new `created`; claims still in flight are not saved (they are dropped at load anyway).
    let mut done = 0;
    for (key, rec) in &st.idempotency {
        if !matches!(rec.state, IdemState::Done { .. }) {
            continue;
        }
        done += 1;
        let stale = full
            || cache
                .idempotency
                .get(key)
                .is_none_or(|(created, _)| *created != rec.created);
        if stale {
            cache
                .idempotency
                .insert(key.clone(), (rec.created, to_raw_value(rec)?));
        }
    }
    if cache.idempotency.len() != done {
        cache.idempotency.retain(|k, _| {
            st.idempotency
                .get(k)
                .is_some_and(|r| matches!(r.state, IdemState::Done { .. }))
        });
    }
    // Everything else is small: serialize the store with its two big maps moved out.
    let objects = std::mem::take(&mut st.objects);
    let idempotency = std::mem::take(&mut st.idempotency);
    let rest = serde_json::to_value(&*st);
    st.objects = objects;
    st.idempotency = idempotency;
    Ok(rest?)
}

/// Writes `{…rest, "objects": {…}, "idempotency": {…}}` — the layout `State` deserializes.
fn assemble(rest: &Value, cache: &Cache) -> Result<Vec<u8>, PersistError> {
    let approx: usize = cache
        .objects
        .values()
        .map(|(head, json)| head.len() + json.get().len() + 16)
        .sum::<usize>()
        + cache
            .idempotency
            .values()
            .map(|(_, r)| r.get().len() + 60)
            .sum::<usize>();
    let mut out = Vec::with_capacity(approx + 4096);
    out.push(b'{');
    if let Value::Object(fields) = rest {
        for (k, v) in fields {
            if k == "objects" || k == "idempotency" {
                continue;
            }
            serde_json::to_writer(&mut out, k)?;
            out.push(b':');
            serde_json::to_writer(&mut out, v)?;
            out.push(b',');
        }
    }
    serde_json::to_writer(&mut out, "objects")?;
    out.extend_from_slice(b":{");
    for (i, (id, (head, json))) in cache.objects.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, id)?;
        out.push(b':');
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(b",\"json\":");
        out.extend_from_slice(json.get().as_bytes());
        out.push(b'}');
    }
    out.push(b'}');
    out.push(b',');
    write_map(
        &mut out,
        "idempotency",
        cache.idempotency.iter().map(|(k, (_, v))| (k, &**v)),
    )?;
    out.push(b'}');
    Ok(out)
}

fn write_map<'a>(
    out: &mut Vec<u8>,
    name: &str,
    entries: impl Iterator<Item = (&'a String, &'a RawValue)>,
) -> Result<(), PersistError> {
    serde_json::to_writer(&mut *out, name)?;
    out.extend_from_slice(b":{");
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, k)?;
        out.push(b':');
        out.extend_from_slice(v.get().as_bytes());
    }
    out.push(b'}');
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
            Arc::new(move |_| Ok(c.load(Ordering::SeqCst).to_string().into_bytes()));
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
        let encoder: Arc<Encoder> = Arc::new(|_| Ok(b"7".to_vec()));
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
