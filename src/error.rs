//! The single mapping from errors to HTTP responses. People see a friendly page
//! that never shows internals; logs get the detail (with the request id from
//! the surrounding tracing span).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::DbError;
use crate::web::page::Page;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("log-in required")]
    LoginRequired,
    #[error("CSRF token missing or wrong")]
    CsrfRejected,
    #[error("too many attempts")]
    TooManyAttempts { retry_at: i64, now: i64 },
    /// The action needs a verified email (paying as a buyer, publishing as a
    /// seller): check `User::email_verified()` and return this.
    #[error("email address not verified")]
    EmailNotVerified,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("session: {0}")]
    Session(String),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<actix_session::SessionInsertError> for AppError {
    fn from(e: actix_session::SessionInsertError) -> Self {
        AppError::Session(e.to_string())
    }
}

impl From<crate::seller::accounts::LifecycleError> for AppError {
    fn from(e: crate::seller::accounts::LifecycleError) -> Self {
        use crate::seller::accounts::LifecycleError;
        match e {
            LifecycleError::Db(d) => AppError::Db(d),
            LifecycleError::Mail(t) => AppError::Template(t),
            LifecycleError::Queue(q) => AppError::Internal(q),
        }
    }
}

impl From<actix_session::SessionGetError> for AppError {
    fn from(e: actix_session::SessionGetError) -> Self {
        AppError::Session(e.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    page: Page,
    status: u16,
    title: String,
    message: String,
}

/// A complete error page for `status`; used by [`AppError`] and by the catch-all
/// handler for errors raised by actix itself (unknown method, bad query string…).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let body = ErrorTemplate {
        page: Page::bare(),
        status: status.as_u16(),
        title: title.to_string(),
        message: message.to_string(),
    }
    .render()
    .unwrap_or_else(|_| format!("{} {title}", status.as_u16()));
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// Generic wording per status for errors that carry no message of their own.
pub fn generic_page(status: StatusCode) -> HttpResponse {
    let (title, message) = match status.as_u16() {
        400 => (
            "That request could not be understood",
            "Please go back, check what you entered and try again.",
        ),
        403 => (
            "You cannot open this page",
            "Your account does not have access to this page.",
        ),
        404 => (
            "Page not found",
            "There is nothing at this address. Check the link or start again from the home page.",
        ),
        405 => (
            "That action is not available here",
            "This page cannot be used that way. Start again from the home page.",
        ),
        413 => (
            "That was too much to send",
            "The form or file you sent is larger than we accept. Please send something smaller.",
        ),
        429 => ("Too many requests", "Please wait a little and try again."),
        s if s >= 500 => (
            "Something went wrong on our side",
            "We have been told about it. Please try again in a moment.",
        ),
        _ => ("That did not work", "Please go back and try again."),
    };
    error_page(status, title, message)
}

fn clock(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    format!("{:02}:{:02} UTC", secs / 3600, (secs % 3600) / 60)
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::CsrfRejected | AppError::EmailNotVerified => {
                StatusCode::FORBIDDEN
            }
            AppError::LoginRequired => StatusCode::SEE_OTHER,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Db(_)
            | AppError::Session(_)
            | AppError::Template(_)
            | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            AppError::LoginRequired => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
                .finish(),
            AppError::CsrfRejected => error_page(
                status,
                "This form has expired",
                "For your security we could not accept that form. Go back, reload the page and try again.",
            ),
            AppError::TooManyAttempts { retry_at, now } => {
                let wait = (retry_at - now).max(1);
                let minutes = (wait + 59) / 60;
                let message = format!(
                    "There were too many attempts. For your security, this form is paused: \
                     try again after {} (in about {minutes} minute{}).",
                    clock(*retry_at),
                    if minutes == 1 { "" } else { "s" }
                );
                let mut res = error_page(status, "Please wait before trying again", &message);
                if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            AppError::EmailNotVerified => error_page(
                status,
                "Please confirm your email address first",
                "Follow the link in the mail we sent when you signed up. No mail? Send a new link from \
                 Account security (in the menu), then try again.",
            ),
            AppError::BadRequest(msg) => {
                tracing::info!(reason = %msg, "bad request");
                generic_page(status)
            }
            AppError::Db(_)
            | AppError::Session(_)
            | AppError::Template(_)
            | AppError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                generic_page(status)
            }
            AppError::NotFound | AppError::Forbidden | AppError::PayloadTooLarge => {
                generic_page(status)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_utc_hours_and_minutes() {
        assert_eq!(clock(0), "00:00 UTC");
        assert_eq!(clock(86_400 + 13 * 3600 + 5 * 60 + 59), "13:05 UTC");
    }
}
