//! One-shot messages carried in the session across a redirect.

use actix_session::Session;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

const KEY: &str = "flash";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `success`, `info` or `error`; used as a CSS class.
    pub level: String,
    pub text: String,
}

fn push(session: &Session, level: &str, text: impl Into<String>) -> Result<(), AppError> {
    let mut all: Vec<Flash> = session.get(KEY)?.unwrap_or_default();
    all.push(Flash {
        level: level.to_string(),
        text: text.into(),
    });
    session.insert(KEY, all)?;
    Ok(())
}

pub fn success(session: &Session, text: impl Into<String>) -> Result<(), AppError> {
    push(session, "success", text)
}

pub fn info(session: &Session, text: impl Into<String>) -> Result<(), AppError> {
    push(session, "info", text)
}

pub fn error(session: &Session, text: impl Into<String>) -> Result<(), AppError> {
    push(session, "error", text)
}

/// Removes and returns pending messages; a message is shown exactly once.
pub fn take(session: &Session) -> Vec<Flash> {
    match session.remove_as::<Vec<Flash>>(KEY) {
        Some(Ok(all)) => all,
        _ => Vec::new(),
    }
}
