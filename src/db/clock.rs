//! The database's clock. Leases and retry times are compared across app
//! instances, so they are taken from one clock (the database server's), not
//! from each instance's own.

use sqlx::{AnyConnection, Row};

use super::{Backend, Db, DbError};

/// The backend of one connection (inside a transaction).
pub fn backend_of_conn(conn: &AnyConnection) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

/// A SQL expression for "now" in unix seconds (BIGINT) on `backend`.
pub fn now_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST(strftime('%s','now') AS BIGINT)",
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)",
    }
}

/// The database server's current time in unix seconds.
pub async fn now(db: &Db) -> Result<i64, DbError> {
    let sql = format!("SELECT {} AS now", now_sql(db.backend()));
    let row = sqlx::query(&sql).fetch_one(db.reader()).await?;
    Ok(row.try_get("now")?)
}
