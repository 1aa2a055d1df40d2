//! Command-line subcommands besides serving.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use crate::auth::accounts::{self, RegisterError};
use crate::config::Settings;
use crate::db;
use crate::domain::{Email, Password, Role};
use crate::startup::Application;
use crate::telemetry;

pub enum Command {
    Serve,
    CreateAdmin { email: String },
    SeedDemo,
}

pub const USAGE: &str = "usage: marketplace [create-admin --email EMAIL | seed-demo]\n\
    \n  (no arguments)            start the web server\
    \n  create-admin --email E    create an admin account; the password is read from stdin or prompted\
    \n  seed-demo                 create demo sellers, products, a buyer with a test card and an admin\
    \n                            (again: nothing is duplicated); prints their logins";

/// Parses arguments after the program name. `Err` carries a one-line problem.
pub fn parse(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Serve),
        [cmd, flag, email] if cmd == "create-admin" && flag == "--email" => {
            Ok(Command::CreateAdmin {
                email: email.clone(),
            })
        }
        [cmd, rest @ ..] if cmd == "create-admin" => Err(format!(
            "create-admin needs --email EMAIL (got {:?})",
            rest.join(" ")
        )),
        [cmd] if cmd == "seed-demo" => Ok(Command::SeedDemo),
        [cmd, rest @ ..] if cmd == "seed-demo" => Err(format!(
            "seed-demo takes no arguments (got {:?})",
            rest.join(" ")
        )),
        [other, ..] => Err(format!("unknown command `{other}`")),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Invalid(String),
    #[error("could not read the password: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Register(#[from] RegisterError),
}

fn read_password() -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password for the new admin: ")?;
        let again = rpassword::prompt_password("Repeat the password: ")?;
        if first != again {
            return Err(CliError::Invalid("the passwords do not match".into()));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

pub async fn create_admin(settings: &Settings, email: &str) -> Result<String, CliError> {
    let email = Email::parse(email).map_err(|e| CliError::Invalid(format!("email: {e}")))?;
    let password = Password::parse(read_password()?)
        .map_err(|e| CliError::Invalid(format!("password: {e}")))?;
    std::fs::create_dir_all(&settings.data_dir)?;
    let db = db::connect(&settings.database_url).await?;
    let user = accounts::register(&db, &settings.base_url, &email, &password, Role::Admin).await?;
    db.close().await;
    Ok(format!("created admin {} ({})", user.email, user.id))
}

const EXIT_CONFIG: u8 = 2;

/// The whole program behind `src/main.rs`: settings, command line, logging, runtime, command.
/// In the library rather than the binary so that everything it instantiates (the runtime, the
/// server's futures) is compiled once, with the library: as the binary's own code, a release
/// build spent ~45 s of CPU re-instantiating it (`cargo build --release --timings`).
pub fn main() -> ExitCode {
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("configuration error: .env: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(problem) => {
            eprintln!("{problem}\n{USAGE}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // One-shot commands print their own report; request and Stripe-call spans at INFO would
    // bury it, so they log warnings only unless RUST_LOG asks for more.
    let filter = if matches!(command, Command::Serve) || std::env::var_os("RUST_LOG").is_some() {
        settings.rust_log.clone()
    } else {
        "warn".to_string()
    };
    telemetry::init_with(&filter, settings.log_format);

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => serve(settings).await,
            Command::CreateAdmin { email } => create_admin(&settings, &email)
                .await
                .map(|msg| println!("{msg}"))
                .map_err(anyhow::Error::from),
            Command::SeedDemo => crate::demo::seed(&settings)
                .await
                .map(|report| print!("{report}"))
                .map_err(anyhow::Error::from),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let base_url = settings.base_url.clone();
    let app = Application::build(settings).await?;
    tracing::info!("listening on {base_url} (port {})", app.port());
    app.run_until_stopped().await?;
    Ok(())
}
