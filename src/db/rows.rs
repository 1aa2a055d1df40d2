//! Decoding shared by the modules that read order and payment rows: a value the database
//! holds but our types refuse is a `DbError::Corrupt` naming its column, never a panic.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::DbError;
use crate::domain::orders::{PartStatus, PartStatusError};
use crate::domain::{Currency, MoneyError};

pub(super) fn corrupt(column: &'static str) -> impl Fn(String) -> DbError {
    move |detail| DbError::Corrupt { column, detail }
}

/// The row's `currency` column.
pub(super) fn currency(row: &AnyRow) -> Result<Currency, DbError> {
    let c: String = row.try_get("currency")?;
    c.parse()
        .map_err(|e: MoneyError| corrupt("currency")(e.to_string()))
}

/// The row's `status` column, as an order part's status.
pub(super) fn part_status(row: &AnyRow) -> Result<PartStatus, DbError> {
    let s: String = row.try_get("status")?;
    s.parse()
        .map_err(|e: PartStatusError| corrupt("order_parts.status")(e.to_string()))
}
