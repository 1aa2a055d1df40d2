//! The only place with SQL. One code path for SQLite and PostgreSQL through
//! sqlx's `Any` driver: portable SQL, `$N` placeholders (SQLite binds `$N` by
//! number), BIGINT for every integer (Postgres INTEGER would decode as i32),
//! unix seconds for timestamps, TEXT prefixed primary keys.

pub mod account_tokens;
pub mod audit;
pub mod catalog;
pub mod checkout;
pub mod clock;
pub mod jobs;
pub mod ledger;
pub mod products;
pub mod reconcile;
pub mod seller_admin;
pub mod seller_fees;
pub mod seller_orders;
pub mod sellers;
pub mod throttle;
pub mod users;
pub mod webhook_events;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::{Any, AnyPool};

pub type Db = AnyPool;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("row has an invalid value in {column}: {detail}")]
    Corrupt {
        column: &'static str,
        detail: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// Opens the pool, creating the database (SQLite file or Postgres database) if
/// missing, and applies pending migrations.
pub async fn connect(url: &str) -> Result<Db, DbError> {
    install_default_drivers();
    let backend = Backend::of(url);
    if backend == Backend::Sqlite {
        ensure_sqlite_dir(url)?;
    }
    if !Any::database_exists(url).await? {
        if let Err(e) = Any::create_database(url).await {
            // Another instance may have created it between our check and now.
            if !Any::database_exists(url).await? {
                return Err(e.into());
            }
        }
        tracing::info!("created database");
    }
    let pool = AnyPoolOptions::new()
        // SQLite allows one writer at a time; a few connections are enough for reads.
        .max_connections(if backend == Backend::Sqlite { 5 } else { 10 })
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await?;
    if backend == Backend::Sqlite {
        // WAL lets readers proceed while one connection writes.
        sqlx::query("PRAGMA journal_mode=WAL")
            .execute(&pool)
            .await?;
    }
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

fn ensure_sqlite_dir(url: &str) -> Result<(), DbError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| DbError::Directory {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Cheap round trip used by /readyz.
pub async fn ping(db: &Db) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(db).await?;
    Ok(())
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
