//! Typed settings read once from the environment (and `.env` when present).
//!
//! Every variable has a development default so `cargo run` works with no
//! environment at all. A bad value is reported as a [`ConfigError`] naming the
//! variable; `main` prints it on one line and exits with code 2.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Stripe's own API; any Stripe-compatible server (stripe-sim) can replace it.
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

fn bad(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub bind_addr: SocketAddr,
    /// Public URL of the site, used for links and to decide whether cookies are `Secure`.
    pub base_url: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    /// 64 raw bytes; `None` means "generate once and keep it in DATA_DIR/session.key".
    pub session_key: Option<Vec<u8>>,
    pub stripe: StripeSettings,
    pub platform_fee_bps: u32,
    pub platform_fee_fixed: i64,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub rust_log: String,
    /// Largest accepted request body; larger requests get a 413 page.
    pub max_body_bytes: usize,
    /// CAPTURE_METHOD=manual: payments are authorized at checkout and captured by the seller.
    pub capture_manual: bool,
    /// Kind of Stripe account created for new sellers (SELLER_ACCOUNT_TYPE).
    pub seller_account_type: crate::domain::seller_state::AccountKind,
}

#[derive(Clone, Debug)]
pub struct StripeSettings {
    pub secret_key: Option<String>,
    pub publishable_key: Option<String>,
    pub api_base: String,
    pub webhook_secret: Option<String>,
    pub connect_webhook_secret: Option<String>,
}

impl Settings {
    /// Reads the process environment. Call `dotenvy::dotenv()` first to honour `.env`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds settings from any key → value source; tests use this instead of
    /// mutating the process environment, which is shared between test threads.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // An empty value means "unset": `.env.example` lists optional keys as `KEY=`.
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());

        let bind_addr: SocketAddr = match get("BIND_ADDR") {
            Some(v) => v.trim().parse().map_err(|_| {
                bad(
                    "BIND_ADDR",
                    format!("`{v}` is not a socket address like 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };

        let base_url = match get("BASE_URL") {
            Some(v) => {
                let v = v.trim().trim_end_matches('/').to_string();
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    return Err(bad(
                        "BASE_URL",
                        format!("`{v}` must start with http:// or https://"),
                    ));
                }
                v
            }
            None => format!("http://{bind_addr}"),
        };

        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into()));

        let database_url = match get("DATABASE_URL") {
            Some(v) => {
                let v = v.trim().to_string();
                if !(v.starts_with("sqlite:")
                    || v.starts_with("postgres://")
                    || v.starts_with("postgresql://"))
                {
                    return Err(bad(
                        "DATABASE_URL",
                        "must start with sqlite: or postgres:// (e.g. sqlite://data/marketplace.db?mode=rwc)",
                    ));
                }
                v
            }
            None => format!(
                "sqlite://{}/marketplace.db?mode=rwc",
                data_dir.display().to_string().trim_end_matches('/')
            ),
        };

        let session_key = match get("SESSION_KEY") {
            Some(v) => {
                let bytes = hex::decode(v.trim()).map_err(|_| {
                    bad(
                        "SESSION_KEY",
                        "must be hex (generate one with `openssl rand -hex 64`)",
                    )
                })?;
                if bytes.len() < 64 {
                    return Err(bad(
                        "SESSION_KEY",
                        format!(
                            "must be at least 64 bytes (128 hex characters), got {}",
                            bytes.len()
                        ),
                    ));
                }
                Some(bytes)
            }
            None => None,
        };

        let secret_key = prefixed(&get, "STRIPE_SECRET_KEY", &["sk_test_", "sk_live_", "rk_"])?;
        let publishable_key = prefixed(&get, "STRIPE_PUBLISHABLE_KEY", &["pk_test_", "pk_live_"])?;
        let webhook_secret = prefixed(&get, "STRIPE_WEBHOOK_SECRET", &["whsec_"])?;
        let connect_webhook_secret = prefixed(&get, "STRIPE_CONNECT_WEBHOOK_SECRET", &["whsec_"])?;
        let api_base = match get("STRIPE_API_BASE") {
            Some(v) => {
                let v = v.trim().trim_end_matches('/').to_string();
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    return Err(bad(
                        "STRIPE_API_BASE",
                        format!("`{v}` must start with http:// or https://"),
                    ));
                }
                v
            }
            None => DEFAULT_STRIPE_API_BASE.to_string(),
        };

        let platform_fee_bps = match get("PLATFORM_FEE_BPS") {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 10_000)
                .ok_or_else(|| {
                    bad(
                        "PLATFORM_FEE_BPS",
                        format!("`{v}` must be a whole number of basis points from 0 to 10000"),
                    )
                })?,
            None => 500,
        };
        let platform_fee_fixed = match get("PLATFORM_FEE_FIXED") {
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=1_000_000).contains(n))
                .ok_or_else(|| {
                    bad(
                        "PLATFORM_FEE_FIXED",
                        format!("`{v}` must be a whole number of minor units from 0 to 1000000"),
                    )
                })?,
            None => 30,
        };

        let smtp_url = match get("SMTP_URL") {
            Some(v) if v.starts_with("smtp://") || v.starts_with("smtps://") => Some(v),
            Some(_) => {
                return Err(bad(
                    "SMTP_URL",
                    "must start with smtp:// or smtps:// (leave it empty to write mail to DATA_DIR/outbox)",
                ));
            }
            None => None,
        };
        let mail_from =
            get("MAIL_FROM").unwrap_or_else(|| "Marketplace <no-reply@localhost>".into());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(bad(
                "MAIL_FROM",
                format!("`{mail_from}` is not a mailbox like `Shop <shop@example.com>`"),
            ));
        }

        let rust_log = get("RUST_LOG").unwrap_or_else(|| "info,sqlx=warn".into());
        if tracing_subscriber::EnvFilter::try_new(&rust_log).is_err() {
            return Err(bad(
                "RUST_LOG",
                format!("`{rust_log}` is not a valid log filter (e.g. info or marketplace=debug)"),
            ));
        }

        let max_body_bytes = match get("MAX_BODY_BYTES") {
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1024)
                .ok_or_else(|| {
                    bad(
                        "MAX_BODY_BYTES",
                        format!("`{v}` must be a number of bytes, at least 1024"),
                    )
                })?,
            None => 1024 * 1024,
        };

        let capture_manual = match get("CAPTURE_METHOD").as_deref().map(str::trim) {
            None | Some("automatic") => false,
            Some("manual") => true,
            Some(v) => {
                return Err(bad(
                    "CAPTURE_METHOD",
                    format!("`{v}` must be automatic or manual"),
                ));
            }
        };

        let seller_account_type = match get("SELLER_ACCOUNT_TYPE") {
            Some(v) => v.trim().parse().map_err(|_| {
                bad(
                    "SELLER_ACCOUNT_TYPE",
                    format!("`{v}` must be standard or express"),
                )
            })?,
            None => crate::domain::seller_state::AccountKind::Standard,
        };

        Ok(Settings {
            bind_addr,
            base_url,
            database_url,
            data_dir,
            session_key,
            stripe: StripeSettings {
                secret_key,
                publishable_key,
                api_base,
                webhook_secret,
                connect_webhook_secret,
            },
            platform_fee_bps,
            platform_fee_fixed,
            smtp_url,
            mail_from,
            rust_log,
            max_body_bytes,
            capture_manual,
            seller_account_type,
        })
    }

    /// Cookies get the `Secure` flag only when the site is served over https,
    /// otherwise browsers would drop them on plain-http development servers.
    pub fn cookies_secure(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

fn prefixed(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    prefixes: &[&str],
) -> Result<Option<String>, ConfigError> {
    match get(var) {
        Some(v) => {
            let v = v.trim().to_string();
            if prefixes.iter().any(|p| v.starts_with(p)) {
                Ok(Some(v))
            } else {
                Err(bad(
                    var,
                    format!("must start with {}", prefixes.join(" or ")),
                ))
            }
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_environment() {
        let s = from(&[]).expect("defaults are valid");
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://data/marketplace.db?mode=rwc");
        assert_eq!(s.base_url, "http://127.0.0.1:8080");
        assert_eq!(s.stripe.api_base, DEFAULT_STRIPE_API_BASE);
        assert!(!s.cookies_secure());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = from(&[("PLATFORM_FEE_BPS", "12.5")]).unwrap_err();
        assert_eq!(e.var, "PLATFORM_FEE_BPS");
        let e = from(&[("BIND_ADDR", "localhost")]).unwrap_err();
        assert_eq!(e.var, "BIND_ADDR");
        let e = from(&[("SESSION_KEY", "abcd")]).unwrap_err();
        assert_eq!(e.var, "SESSION_KEY");
        let e = from(&[("STRIPE_SECRET_KEY", "pk_test_123")]).unwrap_err();
        assert_eq!(e.var, "STRIPE_SECRET_KEY");
        let e = from(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
    }

    #[test]
    fn https_base_url_makes_cookies_secure() {
        let s = from(&[("BASE_URL", "https://shop.example/")]).unwrap();
        assert_eq!(s.base_url, "https://shop.example");
        assert!(s.cookies_secure());
    }

    #[test]
    fn data_dir_moves_the_default_database() {
        let s = from(&[("DATA_DIR", "/tmp/mp")]).unwrap();
        assert_eq!(s.database_url, "sqlite:///tmp/mp/marketplace.db?mode=rwc");
    }
}
