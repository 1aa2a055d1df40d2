//! The binary itself: configuration errors and the create-admin command.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{PASSWORD, TestDb, location, spawn_app_on};
use reqwest::StatusCode;

fn marketplace() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_marketplace"));
    // An empty working directory, so a developer's .env cannot leak in.
    let dir = std::env::temp_dir().join(format!(
        "marketplace-cli-{}",
        marketplace::domain::ids::random_token(8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

#[test]
fn a_bad_config_value_is_one_clear_line_and_exit_code_2() {
    let out = marketplace()
        .env("PLATFORM_FEE_BPS", "ten percent")
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("PLATFORM_FEE_BPS"), "{stderr}");
    assert!(stderr.contains("basis points"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = marketplace()
        .env("BIND_ADDR", "everywhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BIND_ADDR"));
}

#[test]
fn env_example_is_a_valid_configuration() {
    // Copied to .env as the README suggests, it must parse and validate; the
    // unknown command then stops the binary before it starts serving.
    let mut cmd = marketplace();
    let dir = cmd.get_current_dir().unwrap().to_path_buf();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"),
        dir.join(".env"),
    )
    .unwrap();
    let out = cmd.arg("no-such-command").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("configuration error"), "{stderr}");
    assert!(stderr.contains("usage: marketplace"), "{stderr}");
}

#[test]
fn unknown_commands_are_usage_errors() {
    let out = marketplace().arg("launch-rockets").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: marketplace"));
}

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin() {
    let test_db = TestDb::new();
    let email = "Root@Example.com";
    let mut child = marketplace()
        .args(["create-admin", "--email", email])
        .env("DATABASE_URL", &test_db.url)
        .env("DATA_DIR", &test_db.data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin root@example.com"));

    let app = spawn_app_on(test_db, &[]).await;
    let res = app.login("root@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin");
    assert_eq!(app.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn create_admin_refuses_a_short_password() {
    let test_db = TestDb::new();
    let mut child = marketplace()
        .args(["create-admin", "--email", "a@example.com"])
        .env("DATABASE_URL", &test_db.url)
        .env("DATA_DIR", &test_db.data_dir)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "short").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
}
