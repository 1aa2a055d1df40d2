use stripe::StripeError;
use stripe_shared::ApiErrorsType;

/// What can go wrong talking to Stripe, in terms a page can explain to a person.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The card was refused; `decline_code` is the issuer's reason when Stripe gives one.
    #[error("card declined: {message}")]
    Declined {
        code: Option<String>,
        decline_code: Option<String>,
        message: String,
    },
    /// The payment needs 3-D Secure (or another customer action) before it can go on.
    #[error("the payment needs the customer's authentication")]
    NeedsAuthentication,
    /// The connected account cannot take this operation yet (onboarding incomplete, disabled).
    #[error("the seller's Stripe account is not ready: {0}")]
    AccountNotReady(String),
    /// Stripe rejected our request; a bug on our side or bad input that slipped through.
    #[error("Stripe rejected the request: {message}")]
    InvalidRequest {
        param: Option<String>,
        message: String,
    },
    /// Same idempotency key reused with other parameters, or a concurrent twin in flight.
    #[error("conflicting retry: {0}")]
    Idempotency(String),
    /// Stripe does not accept our secret key (revoked, mistyped, or another platform's).
    #[error("Stripe refused our API key: {0}")]
    Authentication(String),
    /// Our key is valid but may not do this (a restricted `rk_…` key without the permission):
    /// a configuration problem for the operator, not something the seller can fix.
    #[error("our Stripe key lacks the permission for this: {0}")]
    PermissionDenied(String),
    #[error("Stripe is rate limiting us")]
    RateLimited,
    /// The outcome is UNKNOWN: a timeout, a dropped connection, a 5xx, or a response (even a
    /// 2xx) we could not read. Stripe may or may not have applied the request, so the only safe
    /// next step is to send it again with the same idempotency key (or re-read the object).
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
    /// A request with the same idempotency key is still being processed (409): its outcome is
    /// not known yet.
    #[error("the same request is still in flight: {0}")]
    InFlight(String),
    /// Our own configuration is wrong (bad key format, bad base URL, emulator failed to start).
    #[error("Stripe configuration: {0}")]
    Config(String),
}

impl GatewayError {
    /// Whether Stripe may have applied the request although we got no definite answer.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            GatewayError::Unavailable(_) | GatewayError::InFlight(_)
        )
    }

    /// Whether sending the very same request again (same idempotency key) may succeed: an
    /// unknown outcome, or a rate limit (Stripe applied nothing). Definite failures (declines,
    /// invalid requests, authentication) are never retried.
    pub fn is_retryable(&self) -> bool {
        self.outcome_unknown() || matches!(self, GatewayError::RateLimited)
    }
}

impl From<StripeError> for GatewayError {
    fn from(err: StripeError) -> Self {
        match err {
            StripeError::Stripe(api, status) => from_api_error(*api, status),
            StripeError::Timeout => GatewayError::Unavailable("timed out".into()),
            StripeError::ClientError(msg) | StripeError::JSONDeserialize(msg) => {
                GatewayError::Unavailable(msg)
            }
            StripeError::ConfigError(msg) => GatewayError::Config(msg),
        }
    }
}

fn from_api_error(api: stripe_shared::ApiErrors, status: u16) -> GatewayError {
    let message = api
        .message
        .clone()
        .unwrap_or_else(|| format!("Stripe answered {status}"));
    let code = api.code.as_ref().map(|c| c.as_str().to_owned());
    match (status, &api.type_) {
        (429, _) => GatewayError::RateLimited,
        (401, _) => GatewayError::Authentication(message),
        (409, _) => GatewayError::InFlight(message),
        (_, ApiErrorsType::IdempotencyError) => GatewayError::Idempotency(message),
        (_, ApiErrorsType::CardError) => {
            if code.as_deref() == Some("authentication_required") {
                GatewayError::NeedsAuthentication
            } else {
                GatewayError::Declined {
                    code,
                    decline_code: api.decline_code,
                    message,
                }
            }
        }
        (s, _) if s >= 500 => GatewayError::Unavailable(message),
        // 403 is "this key may not": access to a connected account that was revoked (or never
        // granted) is about the seller's account; anything else is our key's permissions.
        (403, _)
            if code.as_deref() == Some("account_invalid")
                || message.contains("does not have access to account") =>
        {
            GatewayError::AccountNotReady(message)
        }
        (403, _) => GatewayError::PermissionDenied(message),
        _ => GatewayError::InvalidRequest {
            param: api.param,
            message,
        },
    }
}

impl GatewayError {
    /// A short label for metrics and logs (`outcome` of a Stripe call).
    pub fn outcome(&self) -> &'static str {
        match self {
            GatewayError::Declined { .. } => "declined",
            GatewayError::NeedsAuthentication => "needs_authentication",
            GatewayError::AccountNotReady(_) => "account_not_ready",
            GatewayError::InvalidRequest { .. } => "invalid_request",
            GatewayError::Idempotency(_) => "idempotency",
            GatewayError::Authentication(_) => "authentication",
            GatewayError::PermissionDenied(_) => "permission_denied",
            GatewayError::RateLimited => "rate_limited",
            GatewayError::Unavailable(_) => "unavailable",
            GatewayError::Config(_) => "config",
            // Variants added later count as errors until they get their own label.
            #[allow(unreachable_patterns)]
            _ => "error",
        }
    }
}
