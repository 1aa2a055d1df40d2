//! Secrets kept in files under DATA_DIR (the session key, the embedded emulator's platform key).
//!
//! A key file is written once and never rewritten: the new key goes to a private temporary file
//! (mode 0600) in the same directory, is flushed to disk, and is then published under its final
//! name with a hard link, which fails if the name already exists. So a reader sees either no file
//! or a complete one, and when several instances start at once on an empty DATA_DIR exactly one
//! key wins; the others drop theirs and read the winner's. A file that does not hold a complete
//! key is an error for a person to look at, never a reason to quietly make a new key.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file exists but is not a whole key (truncated, edited, or another file).
    #[error("{path} does not hold a complete key")]
    Damaged { path: PathBuf },
}

/// The key stored at `path`, or a new one from `generate` published there when there is none.
/// `is_valid` decides whether the file's trimmed text is a complete key.
pub fn load_or_create(
    path: &Path,
    generate: impl FnOnce() -> String,
    is_valid: impl Fn(&str) -> bool,
) -> Result<String, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    match read(path, &is_valid) {
        Err(KeyFileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        other => return other,
    }
    let key = generate();
    debug_assert!(is_valid(&key), "generated keys must pass their own check");
    match publish(path, format!("{key}\n").as_bytes()) {
        Ok(()) => Ok(key),
        // Another process published first: use its key, so every instance agrees.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path, &is_valid),
        Err(e) => Err(io(e)),
    }
}

fn read(path: &Path, is_valid: &impl Fn(&str) -> bool) -> Result<String, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let key = text.trim();
    if !is_valid(key) {
        return Err(KeyFileError::Damaged {
            path: path.to_path_buf(),
        });
    }
    restrict_permissions(path).map_err(io)?;
    Ok(key.to_owned())
}

/// Key files written by earlier versions may be readable by everyone; make them private.
#[cfg(unix)]
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Writes `bytes` to a private temporary file beside `path`, then links it to `path`
/// (`AlreadyExists` when `path` exists). The temporary name is always removed.
fn publish(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "key".into());
    let tmp = dir.join(format!(
        ".{name}.{}.tmp",
        crate::domain::ids::random_token(12)
    ));
    let written = write_private(&tmp, bytes).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    written?;
    // Make the new name itself durable; a failure here does not make the key wrong.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    fn temp_dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("keyfile-{}", crate::domain::ids::random_token(10)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn valid(s: &str) -> bool {
        s.len() == 20 && s.starts_with("key_")
    }

    fn new_key() -> String {
        format!("key_{}", crate::domain::ids::random_token(16))[..20].to_owned()
    }

    #[test]
    fn many_threads_on_an_empty_dir_agree_on_one_key() {
        let dir = temp_dir();
        let path = dir.join("shared.key");
        let start = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    load_or_create(&path, new_key, valid).expect("every thread gets a key")
                })
            })
            .collect();
        let keys: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), keys[0]);
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_truncated_file_is_an_error_and_is_left_alone() {
        let dir = temp_dir();
        let path = dir.join("cut.key");
        std::fs::write(&path, "key_abc").unwrap();
        let err = load_or_create(&path, new_key, valid).unwrap_err();
        assert!(matches!(err, KeyFileError::Damaged { .. }), "{err:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "key_abc");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_and_old_open_ones_are_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir();
        let path = dir.join("new.key");
        let key = load_or_create(&path, new_key, valid).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);

        let old = dir.join("old.key");
        std::fs::write(&old, &key).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(load_or_create(&old, new_key, valid).unwrap(), key);
        assert_eq!(mode(&old), 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
