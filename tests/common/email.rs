//! Mail in tests: a real SMTP server over TCP (a small sink speaking enough
//! RFC 5321 for lettre: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that keeps
//! what it receives, and helpers to read messages (headers, decoded parts) and
//! the file outbox.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// One message as the SMTP server got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA section, dot-unstuffed, CRLF line ends.
    pub data: String,
}

pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    /// On a given port (to bring a "down" server back where the app expects it).
    pub async fn start_on(port: u16) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let server = tokio::spawn(async move {
            // Connections live in the set, so stopping the server ends them too.
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let store = store.clone();
                conns.spawn(async move {
                    let _ = serve(stream, store).await;
                });
            }
        });
        SmtpSink {
            port,
            messages,
            server,
        }
    }

    /// `SMTP_URL` for the app: plain SMTP (the sink has no certificate).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// Messages whose recipient is `to`.
    pub fn messages_to(&self, to: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Waits until `to` has at least `n` messages; the deadline only bounds a hung test.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.messages_to(to);
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages to `to` whose subject starts with `prefix`, once the first has arrived and
    /// a moment has passed for any duplicate to follow (the deadline only bounds a hung test).
    pub async fn settled(&self, to: &str, prefix: &str) -> Vec<Received> {
        let matching = |all: Vec<Received>| -> Vec<Received> {
            all.into_iter()
                .filter(|m| m.subject().starts_with(prefix))
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while matching(self.messages_to(to)).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        matching(self.messages_to(to))
    }

    /// Closes the port and every open connection.
    pub fn stop(self) {
        self.server.abort();
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(&cmd[10..]);
            rcpt.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            rcpt.push(angle(&cmd[8..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(unstuffed);
            }
            store.lock().unwrap().push(Received {
                mail_from: from.clone(),
                rcpt_to: std::mem::take(&mut rcpt),
                data,
            });
            b"250 OK queued\r\n"
        } else if upper == "RSET" {
            rcpt.clear();
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

fn angle(s: &str) -> String {
    let s = s.trim();
    let inner = s
        .strip_prefix('<')
        .and_then(|r| r.split('>').next())
        .unwrap_or(s);
    inner.to_string()
}

impl Received {
    /// The top-level headers, unfolded, names lower-cased, values decoded (RFC 2047).
    pub fn headers(&self) -> Vec<(String, String)> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        parse_headers(head)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn subject(&self) -> String {
        self.header("subject").unwrap_or_default()
    }

    /// The decoded body of the part with this content type (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> Option<String> {
        let boundary = self
            .header("content-type")?
            .split("boundary=")
            .nth(1)?
            .trim_matches('"')
            .to_string();
        let delimiter = format!("--{boundary}");
        for chunk in self.data.split(delimiter.as_str()).skip(1) {
            let (head, body) = chunk.split_once("\r\n\r\n")?;
            let headers = parse_headers(head.trim_start_matches("\r\n"));
            let ct = headers
                .iter()
                .find(|(n, _)| n == "content-type")
                .map(|(_, v)| v.to_ascii_lowercase())
                .unwrap_or_default();
            if !ct.starts_with(content_type) {
                continue;
            }
            let encoding = headers
                .iter()
                .find(|(n, _)| n == "content-transfer-encoding")
                .map(|(_, v)| v.to_ascii_lowercase())
                .unwrap_or_default();
            let body = body.strip_suffix("\r\n").unwrap_or(body);
            return Some(match encoding.as_str() {
                "quoted-printable" => quoted_printable(body),
                "base64" => {
                    String::from_utf8(base64(&body.replace("\r\n", ""))).unwrap_or_default()
                }
                _ => body.to_string(),
            });
        }
        None
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out.into_iter()
        .map(|(n, v)| (n, decode_words(&v)))
        .collect()
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`); whitespace between
/// adjacent words is dropped, as the RFC says.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut pending_space = String::new();
    let mut last_was_word = false;
    for token in v.split_inclusive([' ', '\t']) {
        let word = token.trim_end_matches([' ', '\t']);
        let space = &token[word.len()..];
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let _charset = parts.next()?;
                let enc = parts.next()?.to_ascii_lowercase();
                let text = parts.next()?;
                let bytes = match enc.as_str() {
                    "b" => base64(text),
                    "q" => quoted_printable(&text.replace('_', " ")).into_bytes(),
                    _ => return None,
                };
                String::from_utf8(bytes).ok()
            });
        match decoded {
            Some(d) => {
                if !last_was_word {
                    out.push_str(&pending_space);
                }
                out.push_str(&d);
                last_was_word = true;
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(word);
                last_was_word = false;
            }
        }
        pending_space = space.to_string();
    }
    out
}

pub fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn base64(s: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = value(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A port nobody listens on (bound, then released), for "SMTP is down".
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Outbox messages (the .json copies) whose recipient is `to`, waiting until
/// at least `n` exist; the deadline only bounds a hung test.
pub async fn outbox_for(
    dir: &std::path::Path,
    to: &str,
    n: usize,
) -> Vec<marketplace::email::outbox::StoredMail> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = marketplace::email::outbox::list(dir, 10_000)
            .await
            .unwrap_or_default();
        let mine: Vec<_> = all.into_iter().filter(|m| m.email.to == to).collect();
        if mine.len() >= n || Instant::now() > deadline {
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first `http…` link in `text` that contains `needle`.
pub fn link_in(text: &str, needle: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .find(|w| w.starts_with("http") && w.contains(needle))
        .map(|w| w.to_string())
}
