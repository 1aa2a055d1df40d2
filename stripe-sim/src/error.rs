//! Stripe's error body and statuses, in one place.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {kind}: {message}")]
pub struct ApiError {
    pub status: u16,
    /// `type` in the body: invalid_request_error, card_error, api_error, idempotency_error, …
    pub kind: &'static str,
    pub code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    pub decline_code: Option<String>,
    /// Extra fields merged into the `error` object (charge, payment_intent, payment_method…).
    pub extra: serde_json::Map<String, Value>,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            decline_code: None,
            extra: serde_json::Map::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", message)
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_extra(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn missing(param: &str) -> Self {
        Self::invalid(format!("Missing required param: {param}."))
            .with_code("parameter_missing")
            .with_param(param)
    }

    pub fn unknown_param(param: &str) -> Self {
        Self::invalid(format!("Received unknown parameter: {param}"))
            .with_code("parameter_unknown")
            .with_param(param)
    }

    pub fn invalid_integer(param: &str) -> Self {
        Self::invalid(format!("Invalid integer: {param}"))
            .with_code("parameter_invalid_integer")
            .with_param(param)
    }

    pub fn invalid_string(param: &str) -> Self {
        Self::invalid(format!("Invalid string: {param}"))
            .with_code("parameter_invalid_string")
            .with_param(param)
    }

    pub fn invalid_value(param: &str, message: impl Into<String>) -> Self {
        Self::invalid(message)
            .with_code("parameter_invalid_empty")
            .with_param(param)
    }

    pub fn no_such(kind: &str, id: &str, param: &str) -> Self {
        Self::new(
            404,
            "invalid_request_error",
            format!("No such {kind}: '{id}'"),
        )
        .with_code("resource_missing")
        .with_param(param)
    }

    pub fn card_error(code: &str, decline_code: Option<&str>, message: &str) -> Self {
        let mut e = Self::new(402, "card_error", message).with_code(code);
        e.decline_code = decline_code.map(str::to_string);
        e
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn body(&self, request_id: &str) -> Value {
        let mut err = serde_json::Map::new();
        if let Some(code) = &self.code {
            err.insert("code".into(), json!(code));
        }
        if let Some(d) = &self.decline_code {
            err.insert("decline_code".into(), json!(d));
        }
        if let Some(code) = &self.code {
            err.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        err.insert("message".into(), json!(self.message));
        if let Some(p) = &self.param {
            err.insert("param".into(), json!(p));
        }
        err.insert(
            "request_log_url".into(),
            json!(format!(
                "https://dashboard.stripe.com/test/logs/{request_id}"
            )),
        );
        for (k, v) in &self.extra {
            err.insert(k.clone(), v.clone());
        }
        err.insert("type".into(), json!(self.kind));
        json!({ "error": Value::Object(err) })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
