//! The file transport: each message as `<key>.eml` (open it in a mail client)
//! and `<key>.json` (what the admin "Sent mail" page reads). Files are written
//! under a temporary name and renamed, so a reader never sees half a message.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{MailError, OutgoingEmail};
use crate::config::Settings;

pub fn dir(settings: &Settings) -> PathBuf {
    settings.data_dir.join("outbox")
}

/// A message as kept in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredMail {
    /// The file name without extension; safe to put in a URL.
    #[serde(default)]
    pub name: String,
    pub written_at: i64,
    #[serde(flatten)]
    pub email: OutgoingEmail,
}

fn safe_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

async fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, dir.join(name)).await
}

pub async fn write(
    dir: &Path,
    key: &str,
    email: &OutgoingEmail,
    formatted: &[u8],
) -> Result<(), MailError> {
    tokio::fs::create_dir_all(dir).await?;
    let name = safe_name(key);
    let stored = StoredMail {
        name: name.clone(),
        written_at: crate::db::now_unix(),
        email: email.clone(),
    };
    write_atomic(dir, &format!("{name}.eml"), formatted).await?;
    write_atomic(dir, &format!("{name}.json"), &serde_json::to_vec(&stored)?).await?;
    Ok(())
}

/// Newest first, at most `limit`. A missing outbox is an empty one.
pub async fn list(dir: &Path, limit: usize) -> Result<Vec<StoredMail>, MailError> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut all = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let file = entry.file_name();
        let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json")) else {
            continue;
        };
        if !is_safe_name(name) {
            continue;
        }
        if let Some(mail) = read(dir, name).await? {
            all.push(mail);
        }
    }
    all.sort_by(|a, b| {
        b.written_at
            .cmp(&a.written_at)
            .then_with(|| b.name.cmp(&a.name))
    });
    all.truncate(limit);
    Ok(all)
}

/// One message by its name; `None` for unknown or malformed names.
pub async fn read(dir: &Path, name: &str) -> Result<Option<StoredMail>, MailError> {
    if !is_safe_name(name) {
        return Ok(None);
    }
    let bytes = match tokio::fs::read(dir.join(format!("{name}.json"))).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut mail: StoredMail = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(file = name, error = %e, "unreadable outbox file skipped");
            return Ok(None);
        }
    };
    mail.name = name.to_string();
    Ok(Some(mail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_outbox() {
        assert!(is_safe_name("job_abc-1"));
        assert!(!is_safe_name("../session"));
        assert!(!is_safe_name("a/b"));
        assert!(!is_safe_name(""));
        assert_eq!(safe_name("job_x:y/z"), "job_x-y-z");
    }
}
