//! The binary's log output: `LOG_FORMAT=json` gives one JSON object per line carrying the
//! request id; the default readable format has no colour codes when stdout is not a terminal.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::TestDb;

/// The app binary serving on a free port with `test_db`, stdout piped; its lines arrive on the
/// returned channel.
fn start(test_db: &TestDb, log_format: Option<&str>) -> (Running, mpsc::Receiver<String>) {
    start_with(test_db, log_format, &[])
}

/// [`start`] with more environment variables.
fn start_with(
    test_db: &TestDb,
    log_format: Option<&str>,
    env: &[(&str, &str)],
) -> (Running, mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_marketplace"));
    // Its own empty working directory, so a developer's .env cannot leak in.
    let cwd = test_db.data_dir.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    cmd.current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", &test_db.url)
        .env("DATA_DIR", &test_db.data_dir)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(format) = log_format {
        cmd.env("LOG_FORMAT", format);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Running(child), rx)
}

/// Stops the binary when the test ends, also when it fails (before its database is dropped).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines up to and including the first one that contains `needle`.
fn lines_until(rx: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        // Bounds a hung test only.
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no line with {needle:?}; got {seen:#?}"));
        let done = line.contains(needle);
        seen.push(line);
        if done {
            return seen;
        }
    }
}

fn port_from(line: &str) -> u16 {
    let at = line
        .find("(port ")
        .expect("the listening line names the port")
        + "(port ".len();
    line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn json_log_lines_parse_and_carry_the_request_id() {
    let test_db = TestDb::new();
    let (child, rx) = start(&test_db, Some("json"));
    let startup = lines_until(&rx, "(port ");
    let port = port_from(startup.last().unwrap());

    let res = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .expect("the app answers");
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let served = lines_until(&rx, &request_id);
    drop(child);

    for line in startup.iter().chain(&served) {
        let parsed: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert!(parsed["level"].is_string() && parsed["timestamp"].is_string());
    }
    let access: serde_json::Value = serde_json::from_str(served.last().unwrap()).unwrap();
    assert_eq!(access["request_id"], request_id.as_str(), "{access}");
    assert_eq!(access["http.route"], "/healthz", "{access}");
    assert_eq!(access["http.status_code"], 200, "{access}");
}

#[tokio::test]
async fn readable_logs_have_no_colour_codes_when_stdout_is_not_a_terminal() {
    let test_db = TestDb::new();
    let (child, rx) = start(&test_db, None);
    let startup = lines_until(&rx, "(port ");
    let port = port_from(startup.last().unwrap());
    let res = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let served = lines_until(&rx, &request_id);
    drop(child);

    for line in startup.iter().chain(&served) {
        assert!(!line.contains('\u{1b}'), "escape sequence in {line:?}");
        assert!(
            !line.trim_start().starts_with('{'),
            "readable, not JSON: {line}"
        );
    }
    assert!(served.last().unwrap().contains("INFO"));
}

#[tokio::test]
async fn the_logged_client_address_is_the_forwarded_one_only_from_a_trusted_proxy() {
    // The test client connects from 127.0.0.1: a trusted proxy in the first run, a stranger
    // in the second (who could write any address into a header).
    for (trusted, expected) in [("127.0.0.1", "203.0.113.7"), ("10.0.0.0/8", "127.0.0.1")] {
        let test_db = TestDb::new();
        let (child, rx) = start_with(&test_db, Some("json"), &[("TRUSTED_PROXIES", trusted)]);
        let startup = lines_until(&rx, "(port ");
        let port = port_from(startup.last().unwrap());
        let res = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .header("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
            .send()
            .await
            .expect("the app answers");
        let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let served = lines_until(&rx, &request_id);
        drop(child);
        let access: serde_json::Value = serde_json::from_str(served.last().unwrap()).unwrap();
        assert_eq!(
            access["http.client_ip"], expected,
            "TRUSTED_PROXIES={trusted}: {access}"
        );
    }
}
