//! Outgoing mail. With SMTP_URL set, mail goes over SMTP (STARTTLS for
//! `smtp://`, TLS from the first byte for `smtps://`); otherwise each message is
//! written to DATA_DIR/outbox as an .eml file plus a .json copy that the admin
//! "Sent mail" page lists. Messages are queued as jobs (see `crate::jobs`) in
//! the transaction of the change that causes them and delivered by the worker.

pub mod outbox;
pub mod templates;

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::Settings;

/// A rendered message, as stored in a job's payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl OutgoingEmail {
    /// The subject on one line: CR, LF and other control characters (which
    /// could start a new header) become spaces, whatever a caller passes in.
    pub fn new(to: &str, subject: &str, text: String, html: String) -> OutgoingEmail {
        OutgoingEmail {
            to: to.trim().to_string(),
            subject: one_line(subject),
            text,
            html,
        }
    }
}

/// Collapses control characters (CR, LF, tab…) to single spaces.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(#[from] lettre::address::AddressError),
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("cannot encode the message body")]
    Encoding,
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("SMTP_URL: {0}")]
    Url(String),
    #[error("outbox: {0}")]
    Outbox(#[from] std::io::Error),
    #[error("outbox: {0}")]
    OutboxJson(#[from] serde_json::Error),
}

/// How to reach the SMTP server, read from `SMTP_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte (port 465).
    Tls,
    /// `smtp://`: plain connection upgraded with STARTTLS, refused without it (port 587).
    StartTls,
    /// `smtp://…?tls=opportunistic`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://…?tls=none`: no TLS at all, for a relay on the same host.
    None,
}

/// Parses `smtp://user:pass@host:587`, `smtps://user:pass@host` or
/// `smtp://127.0.0.1:25?tls=none`. Credentials are percent-decoded.
pub fn parse_smtp_url(raw: &str) -> Result<SmtpTarget, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    let (mut security, default_port) = match url.scheme() {
        "smtp" => (SmtpSecurity::StartTls, 587),
        "smtps" => (SmtpSecurity::Tls, 465),
        _ => return Err("must start with smtp:// or smtps://".into()),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("needs a host, as in smtp://user:pass@mail.example.com:587")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    for (k, v) in url.query_pairs() {
        match (k.as_ref(), v.as_ref()) {
            ("tls", _) if security == SmtpSecurity::Tls => {
                return Err("smtps:// always uses TLS; `tls=` applies to smtp:// only".into());
            }
            ("tls", "required") => security = SmtpSecurity::StartTls,
            ("tls", "opportunistic") => security = SmtpSecurity::Opportunistic,
            ("tls", "none") => security = SmtpSecurity::None,
            ("tls", other) => {
                return Err(format!(
                    "tls={other} is not one of required, opportunistic, none"
                ));
            }
            (other, _) => return Err(format!("unknown parameter `{other}`")),
        }
    }
    let decode = |s: &str| {
        percent_decode(s)
            .ok_or_else(|| "credentials are not valid percent-encoded UTF-8".to_string())
    };
    let username = match url.username() {
        "" => None,
        u => Some(decode(u)?),
    };
    let password = url.password().map(decode).transpose()?;
    Ok(SmtpTarget {
        host,
        port: url.port().unwrap_or(default_port),
        security,
        username,
        password,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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
                let target = parse_smtp_url(url).map_err(MailError::Url)?;
                Transport::Smtp(smtp_transport(
                    &target,
                    Duration::from_secs(settings.smtp_timeout_secs),
                )?)
            }
            None => Transport::Outbox(outbox::dir(settings)),
        };
        Ok(Mailer { from, transport })
    }

    /// Sends `email`. `key` names the outbox file, so delivering the same job
    /// twice (after a crash) overwrites instead of duplicating.
    pub async fn send(&self, key: &str, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = self.build(email)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Outbox(dir) => outbox::write(dir, key, email, &message.formatted()).await?,
        }
        Ok(())
    }

    /// One `multipart/alternative` message: the plain text first, the html
    /// second, both quoted-printable so any transport carries them intact.
    pub fn build(&self, email: &OutgoingEmail) -> Result<Message, MailError> {
        let part = |content_type: ContentType, body: &str| {
            Body::new_with_encoding(body.to_string(), ContentTransferEncoding::QuotedPrintable)
                .map(|b| SinglePart::builder().header(content_type).body(b))
                .map_err(|_| MailError::Encoding)
        };
        Ok(Message::builder()
            .from(self.from.clone())
            // An address only, never a display name: nothing a user typed can
            // reach the header as free text.
            .to(Mailbox::new(None, email.to.parse()?))
            .subject(one_line(&email.subject))
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &email.text)?)
                    .singlepart(part(ContentType::TEXT_HTML, &email.html)?),
            )?)
    }
}

fn smtp_transport(
    target: &SmtpTarget,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let params = || TlsParameters::new(target.host.clone());
    let tls = match target.security {
        SmtpSecurity::Tls => Tls::Wrapper(params()?),
        SmtpSecurity::StartTls => Tls::Required(params()?),
        SmtpSecurity::Opportunistic => Tls::Opportunistic(params()?),
        SmtpSecurity::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.clone())
        .port(target.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let Some(user) = &target.username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            target.password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_pick_tls_port_and_credentials() {
        let t = parse_smtp_url("smtp://me%40x.com:p%3Ass@mail.example.com").unwrap();
        assert_eq!(t.security, SmtpSecurity::StartTls);
        assert_eq!(t.port, 587);
        assert_eq!(t.username.as_deref(), Some("me@x.com"));
        assert_eq!(t.password.as_deref(), Some("p:ss"));
        let t = parse_smtp_url("smtps://mail.example.com").unwrap();
        assert_eq!((t.security, t.port), (SmtpSecurity::Tls, 465));
        let t = parse_smtp_url("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((t.security, t.port), (SmtpSecurity::None, 2525));
        assert!(parse_smtp_url("smtp://host?tls=maybe").is_err());
        assert!(parse_smtp_url("smtps://host?tls=none").is_err());
        assert!(parse_smtp_url("http://host").is_err());
    }

    #[test]
    fn subjects_stay_on_one_line() {
        assert_eq!(one_line("Hi\r\nBcc: x@y.z"), "Hi Bcc: x@y.z");
        let e = OutgoingEmail::new("a@b.c", "A\nB", String::new(), String::new());
        assert_eq!(e.subject, "A B");
    }
}
