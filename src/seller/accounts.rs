//! A seller's connected Stripe account: creating it, keeping our copy of its state current, and
//! disconnection. The return route, the "refresh status" button and the webhook handlers
//! (`account.updated`, `account.application.deauthorized`) all go through the two operations
//! [`apply_account_snapshot`] and [`mark_disconnected`].

use crate::db::sellers::{self, SellerRow, SnapshotUpdate};
use crate::db::{Db, DbError};
use crate::domain::UserId;
use crate::domain::seller_state::{AccountKind, AccountSnapshot, AccountState, account_state};
use crate::stripe::{GatewayError, OnboardingLink, StripeGateway};

/// What [`apply_account_snapshot`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// Stored; the seller's state is now this.
    Applied(AccountState),
    /// A snapshot read later than this one is already stored; nothing changed.
    Stale,
    /// No seller has this account (never ours, or replaced after a disconnection).
    UnknownAccount,
}

/// Stores what Stripe said about a connected account at `read_at` (unix seconds): the derived
/// [`AccountState`], the three flags and the requirements. An older snapshot never overwrites a
/// newer one (conditional UPDATE on `account_read_at`), so events may arrive in any order.
///
/// Called by the onboarding return route, "refresh status", and the `account.updated` webhook
/// handler (with `stripe::snapshot_of(&account)` and the time the account was read or the event's
/// `created`).
pub async fn apply_account_snapshot(
    db: &Db,
    snapshot: &AccountSnapshot,
    read_at: i64,
) -> Result<SnapshotOutcome, DbError> {
    let state = account_state(Some(snapshot));
    let requirements_json =
        serde_json::to_string(&snapshot.requirements).map_err(|e| DbError::Corrupt {
            column: "sellers.requirements",
            detail: e.to_string(),
        })?;
    let applied = sellers::apply_snapshot(
        db,
        &SnapshotUpdate {
            stripe_account_id: &snapshot.account_id,
            account_type: snapshot.account_type.as_deref(),
            account_state: state.code(),
            details_submitted: snapshot.details_submitted,
            charges_enabled: snapshot.charges_enabled,
            payouts_enabled: snapshot.payouts_enabled,
            requirements_json: &requirements_json,
            read_at,
        },
    )
    .await?;
    if applied {
        return Ok(SnapshotOutcome::Applied(state));
    }
    match sellers::find_by_account(db, &snapshot.account_id).await? {
        Some(_) => Ok(SnapshotOutcome::Stale),
        None => Ok(SnapshotOutcome::UnknownAccount),
    }
}

/// The seller owning `stripe_account_id` disconnected the platform (the
/// `account.application.deauthorized` webhook, or Stripe refusing us access): their products
/// leave the storefront and the dashboard explains how to reconnect. Returns whether a seller
/// was marked now (false: already marked, or not a current account of any seller).
pub async fn mark_disconnected(db: &Db, stripe_account_id: &str, at: i64) -> Result<bool, DbError> {
    let marked = sellers::mark_disconnected(db, stripe_account_id, at).await?;
    if marked {
        tracing::info!(
            account = stripe_account_id,
            "seller disconnected from the platform"
        );
    }
    Ok(marked)
}

/// The seller's standing as the dashboard shows it, from the stored snapshot.
pub fn standing(seller: &SellerRow) -> AccountState {
    let Some(account_id) = &seller.stripe_account_id else {
        return AccountState::NotStarted;
    };
    if seller.account_read_at.is_none() {
        // Created, never read back: the seller has not been through Stripe's form.
        return AccountState::DetailsPending { submitted: false };
    }
    let requirements = seller
        .requirements
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    account_state(Some(&AccountSnapshot {
        account_id: account_id.clone(),
        account_type: seller.stripe_account_type.clone(),
        details_submitted: seller.details_submitted,
        charges_enabled: seller.charges_enabled,
        payouts_enabled: seller.payouts_enabled,
        requirements,
    }))
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Stripe(#[from] GatewayError),
    #[error("seller profile missing")]
    NoProfile,
}

/// The seller's connected account id, creating the account first if they have none (or
/// starting over with a new one after a disconnection). Safe to call twice at once: the
/// idempotency key makes one account, and the conditional UPDATE stores it once.
pub async fn ensure_account(
    db: &Db,
    stripe: &StripeGateway,
    seller_id: &UserId,
    email: &str,
    kind: AccountKind,
    now: i64,
) -> Result<String, ConnectError> {
    let mut seller = sellers::find(db, seller_id)
        .await?
        .ok_or(ConnectError::NoProfile)?;
    if seller.disconnected_at.is_some() {
        sellers::reset_for_reconnect(db, seller_id, now).await?;
        seller = sellers::find(db, seller_id)
            .await?
            .ok_or(ConnectError::NoProfile)?;
    }
    if let Some(acct) = seller.stripe_account_id {
        return Ok(acct);
    }
    // No DB transaction is open here: the Stripe call is idempotent and its result is stored
    // with a conditional UPDATE afterwards.
    let created = stripe
        .create_seller_account(seller_id, seller.account_generation, kind, email)
        .await?;
    let stored = sellers::set_account_if_none(
        db,
        seller_id,
        &created.account_id,
        created.account_type.as_deref(),
    )
    .await?;
    if stored {
        tracing::info!(seller = %seller_id, account = %created.account_id, "connected account created");
        return Ok(created.account_id);
    }
    // A twin stored first (the same account, thanks to the idempotency key).
    sellers::find(db, seller_id)
        .await?
        .and_then(|s| s.stripe_account_id)
        .ok_or(ConnectError::NoProfile)
}

/// A fresh onboarding link for the seller's account, returning to our routes.
pub async fn onboarding_link(
    stripe: &StripeGateway,
    base_url: &str,
    account: &str,
) -> Result<OnboardingLink, GatewayError> {
    stripe
        .onboarding_link(
            account,
            &format!("{base_url}{REFRESH_PATH}"),
            &format!("{base_url}{RETURN_PATH}"),
        )
        .await
}

/// Where Stripe sends the browser when a link expired or was used: mints a new one.
pub const REFRESH_PATH: &str = "/seller/payouts/refresh";
/// Where Stripe sends the browser after the form: re-reads the account.
pub const RETURN_PATH: &str = "/seller/payouts/return";
