//! The money ledger: one row per Stripe balance transaction we learnt of.
//! Append-only — this module has an INSERT and SELECTs, never an UPDATE or DELETE.

use sqlx::Row;

use super::{Db, DbError};

/// `account` is `"platform"` or a connected account id.
pub const PLATFORM: &str = "platform";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub balance_transaction: String,
    pub account: String,
    pub kind: String,
    pub source_id: String,
    pub amount: i64,
    pub fee: i64,
    pub net: i64,
    pub currency: String,
    pub occurred_at: i64,
}

/// Appends `entry`; `false` when this balance transaction is already recorded.
pub async fn append(
    db: &Db,
    entry: &LedgerEntry,
    event_id: Option<&str>,
    now: i64,
) -> Result<bool, DbError> {
    let row = sqlx::query(
        "INSERT INTO ledger_entries
             (balance_transaction, account, kind, source_id, amount, fee, net, currency,
              occurred_at, event_id, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (balance_transaction) DO NOTHING
         RETURNING balance_transaction",
    )
    .bind(&entry.balance_transaction)
    .bind(&entry.account)
    .bind(&entry.kind)
    .bind(&entry.source_id)
    .bind(entry.amount)
    .bind(entry.fee)
    .bind(entry.net)
    .bind(&entry.currency)
    .bind(entry.occurred_at)
    .bind(event_id)
    .bind(now)
    .fetch_optional(db.writer())
    .await?;
    Ok(row.is_some())
}

/// Every entry of `account`, oldest first.
pub async fn entries_of(db: &Db, account: &str) -> Result<Vec<LedgerEntry>, DbError> {
    let rows = sqlx::query(
        "SELECT balance_transaction, account, kind, source_id, amount, fee, net, currency,
                occurred_at
         FROM ledger_entries WHERE account = $1 ORDER BY occurred_at, balance_transaction",
    )
    .bind(account)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LedgerEntry {
                balance_transaction: r.try_get("balance_transaction")?,
                account: r.try_get("account")?,
                kind: r.try_get("kind")?,
                source_id: r.try_get("source_id")?,
                amount: r.try_get("amount")?,
                fee: r.try_get("fee")?,
                net: r.try_get("net")?,
                currency: r.try_get("currency")?,
                occurred_at: r.try_get("occurred_at")?,
            })
        })
        .collect()
}
