//! The binary itself: configuration errors, the create-admin and seed-demo commands.

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

#[test]
fn seed_demo_takes_no_arguments() {
    let out = marketplace()
        .args(["seed-demo", "--sellers", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seed-demo takes no arguments"));
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

fn seed_demo(test_db: &TestDb) -> String {
    let out = marketplace()
        .arg("seed-demo")
        .env("DATABASE_URL", &test_db.url)
        .env("DATA_DIR", &test_db.data_dir)
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "seed-demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The first 100 objects of a list of the app's emulator (platform account).
async fn sim_list(app: &common::TestApp, path: &str) -> Vec<serde_json::Value> {
    let listed = app
        .sim(reqwest::Method::GET, path, None, &[("limit", "100")])
        .await;
    listed["data"].as_array().expect("a list").clone()
}

#[tokio::test]
async fn seed_demo_twice_makes_one_living_shop() {
    use marketplace::demo::{ADMIN_EMAIL, BUYER_EMAIL, DEMO_PASSWORD};
    use marketplace::domain::Email;

    let test_db = TestDb::new();
    let first = seed_demo(&test_db);
    let second = seed_demo(&test_db);
    for out in [&first, &second] {
        for login in [ADMIN_EMAIL, BUYER_EMAIL, DEMO_PASSWORD] {
            assert!(out.contains(login), "the logins are printed: {out}");
        }
        assert_eq!(out.matches("active").count(), 3, "{out}");
        assert!(
            !out.contains("hosted/onboarding"),
            "no links on the emulator: {out}"
        );
    }

    let app = spawn_app_on(test_db, &[]).await;
    let counts = marketplace::db::users::count_by_role(&app.db)
        .await
        .unwrap();
    assert_eq!(
        (counts.sellers, counts.buyers, counts.admins),
        (3, 1, 1),
        "no duplicate accounts"
    );

    // Every seller active, with two published products, each listed on the home page.
    let (status, home) = app.get_html("/").await;
    assert_eq!(status, StatusCode::OK);
    let seller_emails: Vec<&str> = first
        .lines()
        .filter_map(|l| l.trim().strip_prefix("seller"))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert_eq!(seller_emails.len(), 3, "{first}");
    for email in seller_emails {
        let user = marketplace::db::users::find_by_email(&app.db, &Email::parse(email).unwrap())
            .await
            .unwrap()
            .expect("seller exists");
        assert!(user.email_verified(), "{email} verified");
        let profile = marketplace::db::sellers::find(&app.db, &user.id)
            .await
            .unwrap()
            .unwrap();
        assert!(profile.charges_enabled, "{email} is onboarded");
        assert!(profile.stripe_account_id.is_some());
        let products = marketplace::db::products::list_owned(&app.db, &user.id)
            .await
            .unwrap();
        assert_eq!(products.len(), 2, "no duplicate products of {email}");
        for p in products {
            assert!(p.image_file.is_some(), "{} has an image", p.title);
            assert!(
                marketplace::db::products::is_sellable(&app.db, &p.id)
                    .await
                    .unwrap()
            );
            assert!(home.contains(&p.title), "{} on the home page", p.title);
            let (status, _) = app.get_html(&format!("/products/{}", p.id)).await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    assert_eq!(
        sim_list(&app, "/v1/accounts").await.len(),
        3,
        "one Stripe account per seller"
    );
    let buyers = sim_list(&app, "/v1/customers")
        .await
        .iter()
        .filter(|c| c["email"] == BUYER_EMAIL)
        .count();
    assert_eq!(buyers, 1, "one platform Customer for the buyer");

    // The buyer logs in with the printed password and has exactly one card.
    let res = app.login(BUYER_EMAIL, DEMO_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, cards) = app.get_html("/cards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(cards.contains("4242"), "the saved card is listed: {cards}");
    let buyer = marketplace::db::users::find_by_email(&app.db, &Email::parse(BUYER_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    let saved = marketplace::db::checkout::cards(&app.db, buyer.id.as_str())
        .await
        .unwrap();
    assert_eq!(saved.len(), 1);
}

/// `seed-demo` in another terminal while the server runs: it uses the server's emulator (the
/// two used to start one each on the same state file, and the server's next save erased the
/// seeded accounts), so the shop works at once.
#[tokio::test]
async fn seed_demo_while_the_server_runs_seeds_through_its_emulator() {
    use marketplace::demo::{BUYER_EMAIL, DEMO_PASSWORD};

    let test_db = TestDb::new();
    let second = test_db.handle();
    let app = spawn_app_on(test_db, &[]).await;
    let out = seed_demo(&second);
    assert_eq!(out.matches("active").count(), 3, "{out}");

    assert_eq!(
        sim_list(&app, "/v1/accounts").await.len(),
        3,
        "the running server's emulator has the seeded accounts"
    );
    let res = app.login(BUYER_EMAIL, DEMO_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, cards) = app.get_html("/cards").await;
    assert_eq!(status, StatusCode::OK);
    assert!(cards.contains("4242"), "{cards}");
}
