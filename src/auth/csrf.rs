//! Synchronizer-token CSRF protection: a random token per session, put in a
//! hidden field of every POST form and compared on submission.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::domain::ids::random_token;
use crate::error::AppError;

pub const FIELD: &str = "csrf_token";
const KEY: &str = "csrf";

/// The session's token, created on first use.
pub fn token(session: &Session) -> Result<String, AppError> {
    if let Some(t) = session.get::<String>(KEY)? {
        return Ok(t);
    }
    rotate(session)
}

pub fn rotate(session: &Session) -> Result<String, AppError> {
    let t = random_token(43);
    session.insert(KEY, &t)?;
    Ok(t)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct TokenOnly {
    csrf_token: Option<String>,
}

/// A url-encoded form whose CSRF token has been checked. A missing or wrong
/// token is [`AppError::CsrfRejected`] (a 403 page) before `T` is even parsed.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest(format!("unreadable body: {e}"))
                }
            })?;
            let sent = serde_urlencoded::from_bytes::<TokenOnly>(&body)
                .ok()
                .and_then(|t| t.csrf_token);
            let session = req.get_session();
            let expected = session.get::<String>(KEY)?;
            match (sent, expected) {
                (Some(sent), Some(expected))
                    if constant_time_eq(sent.as_bytes(), expected.as_bytes()) => {}
                _ => {
                    tracing::warn!(path = %req.path(), "CSRF token missing or wrong");
                    return Err(AppError::CsrfRejected);
                }
            }
            serde_urlencoded::from_bytes::<T>(&body)
                .map(CsrfForm)
                .map_err(|e| AppError::BadRequest(format!("form fields: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_whole_tokens() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
