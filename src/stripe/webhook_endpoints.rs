//! The two webhook endpoints the app registers with the embedded emulator (platform events, and
//! Connect events of the connected accounts). They are created once and reused on every later
//! start: their ids and signing secrets (Stripe shows a secret only when an endpoint is created)
//! are kept in `DATA_DIR/webhook-endpoints.json`, written atomically with mode 0600. An endpoint
//! whose URL changed (another port) is updated in place; one that vanished is created again.
//!
//! Against a configured Stripe key the endpoints are created by a person (Dashboard or
//! `stripe listen --forward-to`), and their secrets come from the settings instead.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::raw::{Params, params};
use super::{GatewayError, StripeGateway};
use crate::domain::ids::random_token;

const FILE: &str = "webhook-endpoints.json";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegisteredEndpoint {
    pub id: String,
    pub secret: String,
    pub url: String,
}

/// The emulator's two endpoints, as kept in `DATA_DIR`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegisteredEndpoints {
    pub platform: RegisteredEndpoint,
    pub connect: RegisteredEndpoint,
}

impl StripeGateway {
    /// Makes sure the platform endpoint (`platform_url`) and the Connect endpoint
    /// (`connect_url`) exist, reusing those recorded in `data_dir`.
    pub async fn ensure_webhook_endpoints(
        &self,
        data_dir: &Path,
        platform_url: &str,
        connect_url: &str,
    ) -> Result<RegisteredEndpoints, GatewayError> {
        let path = data_dir.join(FILE);
        let stored: Option<RegisteredEndpoints> = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).ok(),
            Err(_) => None,
        };
        let platform = self
            .ensure_endpoint(stored.as_ref().map(|s| &s.platform), platform_url, false)
            .await?;
        let connect = self
            .ensure_endpoint(stored.as_ref().map(|s| &s.connect), connect_url, true)
            .await?;
        let endpoints = RegisteredEndpoints { platform, connect };
        if stored.as_ref() != Some(&endpoints) {
            write_private(
                &path,
                &serde_json::to_vec_pretty(&endpoints).unwrap_or_default(),
            )
            .map_err(|e| GatewayError::Config(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(endpoints)
    }

    async fn ensure_endpoint(
        &self,
        stored: Option<&RegisteredEndpoint>,
        url: &str,
        connect: bool,
    ) -> Result<RegisteredEndpoint, GatewayError> {
        if let Some(stored) = stored {
            let path = format!("/webhook_endpoints/{}", stored.id);
            match self.raw_get(&path, &Params::new(), None).await {
                Ok(found) => {
                    if found["url"].as_str() != Some(url) {
                        let key = format!("webhook_endpoint:{}:url:{url}", stored.id);
                        self.raw_post(&path, &params([("url", url)]), None, &key)
                            .await?;
                    }
                    return Ok(RegisteredEndpoint {
                        url: url.to_owned(),
                        ..stored.clone()
                    });
                }
                Err(GatewayError::InvalidRequest { .. }) => {
                    tracing::warn!(id = %stored.id, "webhook endpoint vanished; creating a new one");
                }
                Err(e) => return Err(e),
            }
        }
        let form = params([
            ("url", url),
            ("enabled_events[0]", "*"),
            ("connect", if connect { "true" } else { "false" }),
            ("description", "marketplace (registered at start-up)"),
        ]);
        // A fresh key: a vanished endpoint must really be created again, not replayed.
        let key = format!("webhook_endpoint:create:{}", random_token(16));
        let created = self
            .raw_post("/webhook_endpoints", &form, None, &key)
            .await?;
        let field = |name: &str| {
            created[name].as_str().map(str::to_owned).ok_or_else(|| {
                GatewayError::Unavailable(format!("webhook endpoint without {name}"))
            })
        };
        Ok(RegisteredEndpoint {
            id: field("id")?,
            secret: field("secret")?,
            url: url.to_owned(),
        })
    }
}

/// Writes `bytes` to `path` atomically (a temporary file renamed over it) with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp: PathBuf = path.with_extension(format!("tmp-{}", random_token(8)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
