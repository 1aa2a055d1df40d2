//! Test harness: every test gets its own app on a random port and its own
//! database — a temporary SQLite file, or a fresh PostgreSQL database
//! `test_<random>` that is dropped afterwards. `TEST_DATABASE=postgres` picks
//! PostgreSQL (server from `TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432).

#![allow(dead_code)] // each test binary uses a different subset of the helpers

pub mod admin;
pub mod checkout;
pub mod email;
pub mod sellers;

use std::collections::HashMap;
use std::path::PathBuf;

use marketplace::auth::accounts;
use marketplace::config::Settings;
use marketplace::db::Db;
use marketplace::domain::ids::random_token;
use marketplace::domain::{Email, Password, Role};
use marketplace::startup::Application;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use sqlx::migrate::MigrateDatabase;

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TEST_DATABASE must be sqlite or postgres, not {other}"),
    }
}

/// A database (and data directory) that exists for one test only.
pub struct TestDb {
    pub url: String,
    pub data_dir: PathBuf,
    backend: Backend,
    /// False for a second handle on another test's database (never dropped by it).
    owned: bool,
}

impl TestDb {
    pub fn new() -> TestDb {
        sqlx::any::install_default_drivers();
        let name = format!("test_{}", random_token(16).to_lowercase());
        let data_dir = std::env::temp_dir().join(format!("marketplace-{name}"));
        std::fs::create_dir_all(&data_dir).expect("create test data dir");
        let backend = backend();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}/test.db?mode=rwc", data_dir.display()),
            Backend::Postgres => {
                let server = std::env::var("TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
                format!("{}/{name}", server.trim_end_matches('/'))
            }
        };
        TestDb {
            url,
            data_dir,
            backend,
            owned: true,
        }
    }
}

impl TestDb {
    /// A second handle on the same database and data directory (another process, another
    /// person's view); dropping it leaves both in place.
    pub fn handle(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            data_dir: self.data_dir.clone(),
            backend: self.backend,
            owned: false,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if self.backend == Backend::Postgres {
            let url = self.url.clone();
            // Drop runs inside the test's runtime, which cannot be blocked on;
            // a separate thread with its own runtime can.
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime for DROP DATABASE");
                rt.block_on(sqlx::Any::force_drop_database(&url))
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("warning: could not drop test database {}", self.url);
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub stripe: marketplace::stripe::StripeGateway,
    // Declared last so the database outlives everything that uses it.
    pub test_db: TestDb,
}

pub struct TestUser {
    pub email: String,
    pub password: String,
    pub role: Role,
}

/// Settings for a test app: port 0, the test database, quiet logs unless TEST_LOG is set.
pub fn test_settings(test_db: &TestDb, overrides: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::from([
        ("BIND_ADDR".into(), "127.0.0.1:0".into()),
        ("DATABASE_URL".into(), test_db.url.clone()),
        ("DATA_DIR".into(), test_db.data_dir.display().to_string()),
        ("RUST_LOG".into(), "warn".into()),
    ]);
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    Settings::from_lookup(|k| env.get(k).cloned()).expect("valid test settings")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_on(TestDb::new(), overrides).await
}

pub async fn spawn_app_on(test_db: TestDb, overrides: &[(&str, &str)]) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        marketplace::telemetry::init("info");
    }
    let settings = test_settings(&test_db, overrides);
    let app = Application::build(settings.clone())
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    // As `Application::build` does: the default BASE_URL names the port actually bound.
    let mut settings = settings;
    if settings.base_url == format!("http://{}", settings.bind_addr) {
        settings.base_url = address.clone();
    }
    let db = app.db();
    let stripe = app.stripe();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        stripe,
        client: client(),
        settings,
        test_db,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests assert them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("reqwest client")
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", random_token(8).to_lowercase())
}

/// The value of the first hidden `csrf_token` field in an HTML page.
pub fn csrf_from(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf_token" value=""#)?;
    let rest = &html[at + r#"name="csrf_token" value=""#.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    pub async fn get_html(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.text().await.expect("body"))
    }

    /// The session's CSRF token, read from a page with forms like a browser would.
    /// Logged-in people are redirected from /login to their home page, whose
    /// log-out form carries the same token.
    pub async fn csrf_token(&self) -> String {
        let res = self.get("/login").await;
        let html = if res.status() == StatusCode::SEE_OTHER {
            self.get_html(&location(&res)).await.1
        } else {
            res.text().await.expect("body")
        };
        csrf_from(&html).expect("the page has a CSRF field")
    }

    /// Posts a form without any CSRF token.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST request")
    }

    /// Posts a form with the session's CSRF token, like a browser submitting a page's form.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all).await
    }

    pub async fn signup(&self, email: &str, password: &str, role: &str) -> reqwest::Response {
        self.post_form(
            "/signup",
            &[("email", email), ("password", password), ("role", role)],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn logout(&self) -> reqwest::Response {
        self.post_form("/logout", &[]).await
    }

    /// Creates an account of `role` with a verified email and logs this app's
    /// client in as it, in one line. Buyers and sellers sign up through the form
    /// (their address is then marked verified directly, as if they had followed
    /// the mailed link); admins are created through the same function the
    /// `create-admin` command uses. All then log in through the form.
    pub async fn login_as(&self, role: Role) -> TestUser {
        let user = self.login_as_unverified(role).await;
        if role != Role::Admin {
            self.mark_verified(&user.email).await;
        }
        user
    }

    /// Marks the account's email verified, as following the mailed link would.
    pub async fn mark_verified(&self, email: &str) {
        let email = Email::parse(email).expect("valid email");
        let user = marketplace::db::users::find_by_email(&self.db, &email)
            .await
            .expect("user lookup")
            .expect("user exists");
        let mut conn = self.db.acquire().await.expect("connection");
        marketplace::db::users::mark_email_verified(
            &mut conn,
            &user.id,
            marketplace::db::now_unix(),
        )
        .await
        .expect("verified");
    }

    /// Like [`TestApp::login_as`], but the email stays unverified.
    pub async fn login_as_unverified(&self, role: Role) -> TestUser {
        let email = unique_email(role.as_str());
        match role {
            Role::Buyer | Role::Seller => {
                let res = self.signup(&email, PASSWORD, role.as_str()).await;
                assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-up redirects");
                let res = self.login(&email, PASSWORD).await;
                assert_eq!(res.status(), StatusCode::SEE_OTHER, "log-in redirects");
            }
            Role::Admin => {
                accounts::register(
                    &self.db,
                    &self.settings.base_url,
                    &Email::parse(&email).expect("valid email"),
                    &Password::parse(PASSWORD.into()).expect("valid password"),
                    Role::Admin,
                )
                .await
                .expect("admin created");
                let res = self.login(&email, PASSWORD).await;
                assert_eq!(
                    res.status(),
                    StatusCode::SEE_OTHER,
                    "admin log-in redirects"
                );
            }
        }
        TestUser {
            email,
            password: PASSWORD.into(),
            role,
        }
    }
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}
pub mod webhooks;
