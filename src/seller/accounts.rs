//! A seller's connected Stripe account: creating it, keeping our copy of its state current, and
//! disconnection. The return route, the "refresh status" button and the webhook handlers
//! (`account.updated`, `account.application.deauthorized`) all go through the two operations
//! [`apply_account_snapshot`] and [`mark_disconnected`].

use crate::db::sellers::{self, SellerRow, SnapshotUpdate};
use crate::db::{self, Db, DbError};
use crate::domain::UserId;
use crate::domain::seller_state::{AccountKind, AccountSnapshot, AccountState, account_state};
use crate::email::{OutgoingEmail, templates};
use crate::jobs;
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

/// What can go wrong while storing an account's state and queueing the mail it causes.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot render a mail: {0}")]
    Mail(#[from] askama::Error),
    #[error("cannot queue a mail: {0}")]
    Queue(String),
}

impl From<sqlx::Error> for LifecycleError {
    fn from(e: sqlx::Error) -> Self {
        LifecycleError::Db(e.into())
    }
}

async fn queue(
    conn: &mut sqlx::AnyConnection,
    mail: &OutgoingEmail,
    key: &str,
    now: i64,
) -> Result<(), LifecycleError> {
    jobs::enqueue_email(conn, mail, Some(key), now)
        .await
        .map_err(|e| LifecycleError::Queue(e.to_string()))
}

/// The mail a change of standing causes, if any: "you can now receive payments" on becoming
/// active, "Stripe needs more information" on moving to requirements due or restricted with
/// something the seller can provide.
fn standing_mail(
    to: &str,
    state: &AccountState,
    snapshot: &AccountSnapshot,
    base_url: &str,
) -> Result<Option<(OutgoingEmail, &'static str)>, askama::Error> {
    let r = &snapshot.requirements;
    let mut due: Vec<String> = r.past_due.clone();
    due.extend(r.currently_due.iter().cloned());
    Ok(match state {
        AccountState::Active => Some((
            templates::onboarding_complete(to, &format!("{base_url}/seller"))?,
            "onboarding_complete",
        )),
        // A final rejection lists nothing the seller could send: no "action required".
        AccountState::RequirementsDue { items, .. } | AccountState::Restricted { items, .. }
            if !items.is_empty() =>
        {
            let data = templates::ActionRequired {
                requirements: due,
                deadline: r.current_deadline,
                link: format!("{base_url}/seller"),
            };
            Some((
                templates::onboarding_action_required(to, &data)?,
                "onboarding_action_required",
            ))
        }
        _ => None,
    })
}

/// Stores what Stripe said about a connected account at `read_at` (unix seconds): the derived
/// [`AccountState`], the three flags and the requirements. An older snapshot never overwrites a
/// newer one (conditional UPDATE on `account_read_at`), so events may arrive in any order.
/// When the seller's standing changes, the mail about it is queued in the same transaction
/// (under the row lock, so only the writer that made the change sends it), keyed by account,
/// new state and `read_at`.
///
/// Called by the onboarding return route, "refresh status", and the `account.updated` webhook
/// handler (with `stripe::snapshot_of(&account)` and the time the account was read or the event's
/// `created`). `base_url` makes the links in the mails.
pub async fn apply_account_snapshot(
    db: &Db,
    snapshot: &AccountSnapshot,
    read_at: i64,
    base_url: &str,
) -> Result<SnapshotOutcome, LifecycleError> {
    let state = account_state(Some(snapshot));
    let requirements_json =
        serde_json::to_string(&snapshot.requirements).map_err(|e| DbError::Corrupt {
            column: "sellers.requirements",
            detail: e.to_string(),
        })?;
    let mut tx = db.begin().await?;
    let replaced = sellers::apply_snapshot(
        &mut tx,
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
    if let Some(before) = replaced {
        if before.previous_state != state.code()
            && let Some(user) = db::users::find_by_id_in(&mut tx, &before.user_id).await?
            && let Some((mail, template)) = standing_mail(&user.email, &state, snapshot, base_url)?
        {
            let cause = format!("{}:{}:{read_at}", snapshot.account_id, state.code());
            let key = templates::dedupe_key(&cause, template, &user.email);
            queue(&mut tx, &mail, &key, db::now_unix()).await?;
        }
        tx.commit().await?;
        return Ok(SnapshotOutcome::Applied(state));
    }
    tx.rollback().await?;
    match sellers::find_by_account(db, &snapshot.account_id).await? {
        Some(_) => Ok(SnapshotOutcome::Stale),
        None => Ok(SnapshotOutcome::UnknownAccount),
    }
}

/// The seller owning `stripe_account_id` disconnected the platform (the
/// `account.application.deauthorized` webhook, or Stripe refusing us access): their products
/// leave the storefront and the dashboard explains how to reconnect; every admin is mailed in
/// the same transaction. Returns whether a seller was marked now (false: already marked, or
/// not a current account of any seller).
pub async fn mark_disconnected(
    db: &Db,
    stripe_account_id: &str,
    at: i64,
    base_url: &str,
) -> Result<bool, LifecycleError> {
    let mut tx = db.begin().await?;
    let Some(seller) = sellers::mark_disconnected(&mut tx, stripe_account_id, at).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    let seller_email = db::users::find_by_id_in(&mut tx, &seller.user_id)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let data = templates::SellerDisconnected {
        shop_name: seller.display_name.clone(),
        seller_email,
        account_id: stripe_account_id.to_owned(),
        at,
        link: format!("{base_url}/admin/sellers/{}", seller.user_id),
    };
    let now = db::now_unix();
    for admin in db::users::admin_emails(&mut tx).await? {
        let mail = templates::seller_disconnected(&admin, &data)?;
        let cause = format!("{stripe_account_id}:{at}");
        let key = templates::dedupe_key(&cause, "seller_disconnected", &admin);
        queue(&mut tx, &mail, &key, now).await?;
    }
    tx.commit().await?;
    tracing::info!(
        account = stripe_account_id,
        "seller disconnected from the platform"
    );
    Ok(true)
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
