//! Key files in DATA_DIR: private, written once atomically, shared by instances that start
//! together, and never silently replaced when damaged.

mod common;

use std::path::Path;

use common::{PASSWORD, TestDb, spawn_app, test_settings, unique_email};
use marketplace::startup::{Application, StartupError};
use marketplace::stripe::{GatewayConfig, GatewayError, StripeGateway};
use reqwest::StatusCode;

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn key_files_are_readable_by_the_owner_only() {
    let app = spawn_app().await;
    assert_eq!(mode(&app.test_db.data_dir.join("session.key")), 0o600);
    assert_eq!(mode(&app.test_db.data_dir.join("stripe-sim.key")), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_started_together_on_an_empty_data_dir_share_one_session_key() {
    let test_db = TestDb::new();
    // The database exists and is migrated; the data directory is empty.
    marketplace::db::connect(&test_db.url)
        .await
        .expect("database")
        .close()
        .await;
    let shared = test_db.data_dir.join("shared");
    let settings = test_settings(&test_db, &[("DATA_DIR", shared.to_str().unwrap())]);
    assert!(!shared.exists());

    let (a, b) = tokio::join!(
        tokio::spawn(Application::build(settings.clone())),
        tokio::spawn(Application::build(settings.clone())),
    );
    let a = a.unwrap().expect("first instance starts");
    let b = b.unwrap().expect("second instance starts");
    let (url_a, url_b) = (
        format!("http://127.0.0.1:{}", a.port()),
        format!("http://127.0.0.1:{}", b.port()),
    );
    let (stripe_a, stripe_b) = (a.stripe(), b.stripe());
    let db_a = a.db();
    tokio::spawn(a.run_until_stopped());
    tokio::spawn(b.run_until_stopped());
    stripe_a.check().await.expect("first emulator answers");
    stripe_b.check().await.expect("second emulator answers");

    // Log in on A; B reads the same session cookie (the cookie jar ignores ports), which it
    // can only do with the same key: it sends the logged-in person on from its log-in page.
    let client = common::client();
    let page = client
        .get(format!("{url_a}/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = common::csrf_from(&page).expect("csrf field");
    let email = unique_email("twin");
    let res = client
        .post(format!("{url_a}/signup"))
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("role", "buyer"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed up on A");
    // Sign-up only mails a link: confirm the address as the link would, then log in on A.
    let parsed = marketplace::domain::Email::parse(&email).unwrap();
    let user = marketplace::db::users::find_by_email(&db_a, &parsed)
        .await
        .unwrap()
        .expect("signed-up user");
    let mut conn = db_a.acquire().await.unwrap();
    marketplace::db::users::mark_email_verified(&mut conn, &user.id, marketplace::db::now_unix())
        .await
        .unwrap();
    drop(conn);
    let page = client
        .get(format!("{url_a}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = common::csrf_from(&page).expect("csrf field");
    let res = client
        .post(format!("{url_a}/login"))
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "logged in on A");
    let on_b = client.get(format!("{url_b}/login")).send().await.unwrap();
    assert_eq!(
        on_b.status(),
        StatusCode::SEE_OTHER,
        "B knows A's session: both use one key"
    );

    let key = std::fs::read_to_string(shared.join("session.key")).unwrap();
    assert_eq!(key.trim().len(), 128, "one whole key");
    let leftovers: Vec<_> = std::fs::read_dir(&shared)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    stripe_a.shutdown().await;
    stripe_b.shutdown().await;
}

#[tokio::test]
async fn a_damaged_session_key_stops_start_up() {
    let test_db = TestDb::new();
    let path = test_db.data_dir.join("session.key");
    // A whole key would be 128 hex digits: this one was cut short.
    std::fs::write(&path, "ab".repeat(40)).unwrap();
    let err = Application::build(test_settings(&test_db, &[]))
        .await
        .err()
        .expect("start-up refuses a truncated key");
    assert!(matches!(err, StartupError::SessionKey(_)), "{err}");
    assert!(err.to_string().contains("session.key"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "ab".repeat(40));
}

#[tokio::test]
async fn a_truncated_emulator_key_is_an_error_not_a_new_platform() {
    let test_db = TestDb::new();
    let path = test_db.data_dir.join("stripe-sim.key");
    let config = GatewayConfig {
        secret_key: None,
        api_base: None,
        data_dir: test_db.data_dir.clone(),
    };
    let first = StripeGateway::connect(&config).await.expect("first start");
    first.shutdown().await;
    let whole = std::fs::read_to_string(&path).unwrap();
    let cut = &whole.trim()[..20];
    assert!(cut.starts_with("sk_test_"), "still looks like a key");
    std::fs::write(&path, cut).unwrap();

    let err = StripeGateway::connect(&config)
        .await
        .err()
        .expect("a cut key is refused");
    assert!(
        matches!(&err, GatewayError::Config(m) if m.contains("stripe-sim.key")),
        "{err:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), cut, "left alone");
}
