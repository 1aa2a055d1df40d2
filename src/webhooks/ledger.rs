//! The money ledger: every balance transaction a money movement caused (charge, application
//! fee, refund, fee refund, dispute, payout…), appended once (keyed by the balance transaction
//! id), never updated or deleted. [`check`] compares it with each account's balance
//! transactions at Stripe and lists the differences.

use super::WebhookCtx;
use super::handlers::HandlerError;
use crate::db::Db;
use crate::db::{self, ledger::LedgerEntry, ledger::PLATFORM};
use crate::stripe::{BalanceTxn, GatewayError, StripeGateway};

fn account_key(account: Option<&str>) -> String {
    account.unwrap_or(PLATFORM).to_owned()
}

fn entry(account: Option<&str>, t: &BalanceTxn) -> LedgerEntry {
    LedgerEntry {
        balance_transaction: t.id.clone(),
        account: account_key(account),
        kind: t.kind.clone(),
        source_id: t.source.clone(),
        amount: t.amount,
        fee: t.fee,
        net: t.net,
        currency: t.currency.clone(),
        occurred_at: t.created,
    }
}

/// Appends every balance transaction `source` caused on `account` (None = platform) that is
/// not recorded yet; returns how many were new.
pub async fn record(
    ctx: &WebhookCtx,
    account: Option<&str>,
    source: &str,
    event_id: &str,
) -> Result<u64, HandlerError> {
    let txns = ctx.stripe.balance_transactions_of(account, source).await?;
    let now = db::now_unix();
    let mut new = 0;
    for t in &txns {
        if db::ledger::append(&ctx.db, &entry(account, t), Some(event_id), now).await? {
            new += 1;
        }
    }
    Ok(new)
}

/// One disagreement between the ledger and Stripe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// Stripe has a balance transaction the ledger never recorded.
    MissingFromLedger { account: String, txn: BalanceTxn },
    /// The ledger has an entry Stripe does not list.
    UnknownToStripe { entry: LedgerEntry },
    /// Both have it, with other figures.
    Mismatch {
        ledger: LedgerEntry,
        stripe: BalanceTxn,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("Stripe: {0}")]
    Stripe(#[from] GatewayError),
}

/// Compares the ledger of `account` (None = platform) with its balance transactions at Stripe.
pub async fn check_account(
    db: &Db,
    stripe: &StripeGateway,
    account: Option<&str>,
) -> Result<Vec<Difference>, CheckError> {
    let key = account_key(account);
    let mut ours: std::collections::HashMap<String, LedgerEntry> = db::ledger::entries_of(db, &key)
        .await?
        .into_iter()
        .map(|e| (e.balance_transaction.clone(), e))
        .collect();
    let mut diffs = Vec::new();
    for t in stripe.all_balance_transactions(account).await? {
        match ours.remove(&t.id) {
            None => diffs.push(Difference::MissingFromLedger {
                account: key.clone(),
                txn: t,
            }),
            Some(e) => {
                if e.amount != t.amount
                    || e.fee != t.fee
                    || e.net != t.net
                    || e.currency != t.currency
                {
                    diffs.push(Difference::Mismatch {
                        ledger: e,
                        stripe: t,
                    });
                }
            }
        }
    }
    let mut unknown: Vec<_> = ours.into_values().collect();
    unknown.sort_by(|a, b| a.balance_transaction.cmp(&b.balance_transaction));
    diffs.extend(
        unknown
            .into_iter()
            .map(|entry| Difference::UnknownToStripe { entry }),
    );
    Ok(diffs)
}

/// [`check_account`] for the platform and every connected account we know of.
pub async fn check(db: &Db, stripe: &StripeGateway) -> Result<Vec<Difference>, CheckError> {
    let mut diffs = check_account(db, stripe, None).await?;
    for account in db::webhook_events::known_accounts(db).await? {
        diffs.extend(check_account(db, stripe, Some(&account)).await?);
    }
    Ok(diffs)
}
