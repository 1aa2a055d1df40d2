//! Command-line subcommands besides serving.

use std::io::{BufRead, IsTerminal};

use crate::auth::accounts::{self, RegisterError};
use crate::config::Settings;
use crate::db;
use crate::domain::{Email, Password, Role};

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
