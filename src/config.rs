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
    /// `LOG_FORMAT`: human-readable lines (default) or one JSON object per line.
    pub log_format: LogFormat,
    /// `METRICS_ALLOW`: peers that may read /metrics (default: loopback only).
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// Connection and command timeout of the SMTP client.
    pub smtp_timeout_secs: u64,
    /// Start with the file outbox even though BASE_URL is https.
    pub allow_outbox_in_production: bool,
    /// Reverse proxies whose X-Forwarded-For / Forwarded headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A session unused for this long ends.
    pub session_idle_secs: i64,
    /// A session ends this long after log-in, used or not.
    pub session_max_age_secs: i64,
    /// Finished jobs older than this many days are deleted (failed ones are kept).
    pub job_retention_days: u32,
    /// Job workers per instance (webhook events, mail); 0 = this instance only serves pages.
    pub job_workers: u32,
    /// How long storefront reads are reused (CATALOG_CACHE_MS; zero = no cache). See
    /// `storefront::cache`: the bound on how long another instance's change takes to show.
    pub catalog_cache: std::time::Duration,
    /// CAPTURE_METHOD=manual: payments are authorized at checkout and captured by the seller.
    pub capture_manual: bool,
    /// Kind of Stripe account created for new sellers (SELLER_ACCOUNT_TYPE).
    pub seller_account_type: crate::domain::seller_state::AccountKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event; colour only when stdout is a terminal.
    Pretty,
    /// One JSON object per line, with the request id and other span fields flattened in.
    Json,
}

/// Loopback, IPv4 and IPv6: who may read /metrics unless METRICS_ALLOW says otherwise.
pub const DEFAULT_METRICS_ALLOW: &str = "127.0.0.0/8,::1";

/// A comma- or space-separated list of addresses (`10.0.0.5`) and networks (`10.0.0.0/8`).
pub fn parse_allow_list(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| format!("`{item}` is not an IP address or a network like 10.0.0.0/8"))
        })
        .collect()
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
            Some(v) => {
                let v = v.trim().to_string();
                crate::email::parse_smtp_url(&v).map_err(|problem| {
                    bad(
                        "SMTP_URL",
                        format!("{problem} (leave it empty to write mail to DATA_DIR/outbox)"),
                    )
                })?;
                Some(v)
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

        let log_format = match get("LOG_FORMAT").map(|v| v.trim().to_ascii_lowercase()) {
            None => LogFormat::Pretty,
            Some(v) if v == "pretty" => LogFormat::Pretty,
            Some(v) if v == "json" => LogFormat::Json,
            Some(v) => {
                return Err(bad(
                    "LOG_FORMAT",
                    format!("`{v}` must be pretty (readable lines) or json (one object per line)"),
                ));
            }
        };

        let metrics_allow =
            parse_allow_list(&get("METRICS_ALLOW").unwrap_or_else(|| DEFAULT_METRICS_ALLOW.into()))
                .map_err(|problem| bad("METRICS_ALLOW", problem))?;
        let smtp_timeout_secs = number(&get, "SMTP_TIMEOUT_SECS", 1, 600, 10)? as u64;
        let allow_outbox_in_production = match get("ALLOW_OUTBOX_IN_PRODUCTION").as_deref() {
            None => false,
            Some(v) if v.trim().eq_ignore_ascii_case("true") => true,
            Some(v) if v.trim().eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(bad(
                    "ALLOW_OUTBOX_IN_PRODUCTION",
                    format!("`{v}` must be true or false"),
                ));
            }
        };
        if smtp_url.is_none() && base_url.starts_with("https://") && !allow_outbox_in_production {
            return Err(bad(
                "SMTP_URL",
                "is empty while BASE_URL is https: mail would only be written to DATA_DIR/outbox \
                 and never reach anyone. Set SMTP_URL, or ALLOW_OUTBOX_IN_PRODUCTION=true",
            ));
        }
        let trusted_proxies = match get("TRUSTED_PROXIES") {
            Some(v) => v
                .split([',', ' '])
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    let p = p.trim();
                    p.parse::<ipnet::IpNet>()
                        .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            bad(
                                "TRUSTED_PROXIES",
                                format!("`{p}` is not an address or CIDR range like 10.0.0.0/8"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let session_idle_secs = number(&get, "SESSION_IDLE_SECS", 1, 365 * 86_400, 3 * 86_400)?;
        let session_max_age_secs =
            number(&get, "SESSION_MAX_AGE_SECS", 1, 365 * 86_400, 14 * 86_400)?;

        let job_retention_days = match get("JOB_RETENTION_DAYS") {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    bad(
                        "JOB_RETENTION_DAYS",
                        format!("`{v}` must be a whole number of days, at least 1"),
                    )
                })?,
            None => 14,
        };
        let job_workers = match get("JOB_WORKERS") {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 64)
                .ok_or_else(|| bad("JOB_WORKERS", format!("`{v}` must be from 0 to 64")))?,
            None => 4,
        };
        let catalog_cache =
            std::time::Duration::from_millis(
                number(&get, "CATALOG_CACHE_MS", 0, 60_000, 1_000)? as u64
            );
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
            log_format,
            metrics_allow,
            smtp_timeout_secs,
            allow_outbox_in_production,
            trusted_proxies,
            session_idle_secs,
            session_max_age_secs,
            job_retention_days,
            job_workers,
            catalog_cache,
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

/// A whole number within `min..=max`, or `default` when unset.
fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    min: i64,
    max: i64,
    default: i64,
) -> Result<i64, ConfigError> {
    match get(var) {
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                bad(
                    var,
                    format!("`{v}` must be a whole number from {min} to {max}"),
                )
            }),
        None => Ok(default),
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
        let s = from(&[
            ("BASE_URL", "https://shop.example/"),
            ("SMTP_URL", "smtps://user:pw@mail.example"),
        ])
        .unwrap();
        assert_eq!(s.base_url, "https://shop.example");
        assert!(s.cookies_secure());
    }

    #[test]
    fn log_format_and_metrics_allow_list() {
        let s = from(&[]).unwrap();
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.metrics_allow.len(), 2, "loopback v4 and v6");
        let s = from(&[
            ("LOG_FORMAT", "JSON"),
            ("METRICS_ALLOW", "10.1.2.3, 192.168.0.0/16"),
        ])
        .unwrap();
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.metrics_allow[0].to_string(), "10.1.2.3/32");
        assert_eq!(s.metrics_allow[1].to_string(), "192.168.0.0/16");
        assert_eq!(
            from(&[("LOG_FORMAT", "xml")]).unwrap_err().var,
            "LOG_FORMAT"
        );
        assert_eq!(
            from(&[("METRICS_ALLOW", "10.0.0.0/33")]).unwrap_err().var,
            "METRICS_ALLOW"
        );
        assert_eq!(
            from(&[("METRICS_ALLOW", "localhost")]).unwrap_err().var,
            "METRICS_ALLOW"
        );
    }

    #[test]
    fn https_without_smtp_needs_an_explicit_outbox_opt_in() {
        let e = from(&[("BASE_URL", "https://shop.example")]).unwrap_err();
        assert_eq!(e.var, "SMTP_URL");
        assert!(e.problem.contains("ALLOW_OUTBOX_IN_PRODUCTION"));
        let s = from(&[
            ("BASE_URL", "https://shop.example"),
            ("ALLOW_OUTBOX_IN_PRODUCTION", "true"),
        ])
        .unwrap();
        assert!(s.allow_outbox_in_production && s.smtp_url.is_none());
        // Plain http (development) keeps the outbox without asking.
        assert!(from(&[("BASE_URL", "http://localhost:8080")]).is_ok());
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges() {
        let s = from(&[("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ::1")]).unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        assert!(s.trusted_proxies[0].contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap()));
        let e = from(&[("TRUSTED_PROXIES", "proxy.local")]).unwrap_err();
        assert_eq!(e.var, "TRUSTED_PROXIES");
        let e = from(&[("SMTP_URL", "smtp://host?tls=maybe")]).unwrap_err();
        assert_eq!(e.var, "SMTP_URL");
        let e = from(&[("SESSION_MAX_AGE_SECS", "0")]).unwrap_err();
        assert_eq!(e.var, "SESSION_MAX_AGE_SECS");
    }

    #[test]
    fn data_dir_moves_the_default_database() {
        let s = from(&[("DATA_DIR", "/tmp/mp")]).unwrap();
        assert_eq!(s.database_url, "sqlite:///tmp/mp/marketplace.db?mode=rwc");
    }
}
