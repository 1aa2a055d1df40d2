//! Outgoing mail. With SMTP_URL set, mail goes over SMTP; otherwise each message
//! is written as an .eml file to DATA_DIR/outbox, where developers can open it.
//! Messages are queued as jobs (see `crate::jobs`) and delivered by the worker.

pub mod templates;

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::Settings;

/// A rendered message, as stored in a job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(#[from] lettre::address::AddressError),
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("outbox: {0}")]
    Outbox(#[from] std::io::Error),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Mailer, MailError> {
        let from: Mailbox = settings.mail_from.parse()?;
        let transport = match &settings.smtp_url {
            Some(url) => {
                Transport::Smtp(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build())
            }
            None => Transport::Outbox(settings.data_dir.join("outbox")),
        };
        Ok(Mailer { from, transport })
    }

    /// Sends `email`. `key` names the outbox file, so delivering the same job
    /// twice (after a crash) overwrites instead of duplicating.
    pub async fn send(&self, key: &str, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.to.parse()?)
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let safe: String = key
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '_' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect();
                let tmp = dir.join(format!(".{safe}.tmp"));
                tokio::fs::write(&tmp, message.formatted()).await?;
                // Rename last, so a reader never sees half a message.
                tokio::fs::rename(&tmp, dir.join(format!("{safe}.eml"))).await?;
            }
        }
        Ok(())
    }
}
