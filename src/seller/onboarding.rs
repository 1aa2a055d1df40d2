//! Connecting a Stripe account: "set up payouts" (create the account, go to Stripe's hosted
//! form), Stripe's refresh_url (a new link) and return_url (read the account back), and
//! "refresh status". Each acts on the logged-in seller's own account only.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::accounts::{self, ConnectError, SnapshotOutcome};
use crate::auth::Seller;
use crate::auth::csrf::CsrfForm;
use crate::db::users::User;
use crate::db::{self};
use crate::domain::seller_state::AccountState;
use crate::error::AppError;
use crate::state::AppState;
use crate::stripe::GatewayError;
use crate::web::{flash, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/seller/payouts/setup", web::post().to(setup))
        .route(accounts::REFRESH_PATH, web::get().to(refresh_link))
        .route(accounts::RETURN_PATH, web::get().to(returned))
        .route("/seller/payouts/status", web::post().to(refresh_status));
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub(crate) struct NoFields {}

/// What a seller is told when Stripe cannot help right now; logs get the detail.
pub(crate) fn stripe_trouble(
    session: &Session,
    err: &GatewayError,
) -> Result<HttpResponse, AppError> {
    tracing::warn!(error = %err, "Stripe call for a seller failed");
    let text = match err {
        GatewayError::RateLimited | GatewayError::Unavailable(_) | GatewayError::Idempotency(_) => {
            "We could not reach Stripe just now. Nothing was changed; please try again in a moment."
        }
        GatewayError::AccountNotReady(_) => {
            "Stripe did not let us act on your account. Refresh the status, or contact us if this continues."
        }
        _ => "Stripe did not accept that request. Please try again; contact us if this continues.",
    };
    flash::error(session, text)?;
    Ok(see_other("/seller"))
}

/// "Set up payouts" / "Continue setup" / "Reconnect": makes sure the seller has an account
/// (creating it on the first click, a new one after a disconnection), then sends the browser to
/// a fresh onboarding link.
async fn setup(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let account = match accounts::ensure_account(
        &state.db,
        &state.stripe,
        &seller.id,
        &seller.email,
        state.settings.seller_account_type,
        db::now_unix(),
    )
    .await
    {
        Ok(a) => a,
        Err(ConnectError::Stripe(e)) => return stripe_trouble(&session, &e),
        Err(ConnectError::Db(e)) => return Err(e.into()),
        Err(ConnectError::NoProfile) => {
            return Err(AppError::Internal(format!(
                "seller {} has no profile",
                seller.id
            )));
        }
    };
    redirect_to_new_link(&state, &session, &account).await
}

async fn redirect_to_new_link(
    state: &AppState,
    session: &Session,
    account: &str,
) -> Result<HttpResponse, AppError> {
    match accounts::onboarding_link(&state.stripe, &state.settings.base_url, account).await {
        Ok(link) => Ok(see_other(&link.url)),
        Err(e) => stripe_trouble(session, &e),
    }
}

/// Stripe's refresh_url: the link expired or was already used. Mint a new one for the
/// seller's own current account and go straight back.
async fn refresh_link(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let profile = super::profile(&state, &seller).await?;
    match (&profile.stripe_account_id, profile.disconnected_at) {
        (Some(account), None) => redirect_to_new_link(&state, &session, account).await,
        _ => Ok(see_other("/seller")),
    }
}

/// Stripe's return_url: the seller left the hosted form (finished or not). Read the account
/// back and say where they stand.
async fn returned(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    reread(&state, &session, &seller).await
}

/// "Refresh status": re-read the account from Stripe now.
async fn refresh_status(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    reread(&state, &session, &seller).await
}

async fn reread(
    state: &AppState,
    session: &Session,
    seller: &User,
) -> Result<HttpResponse, AppError> {
    let profile = super::profile(state, seller).await?;
    let Some(account) = profile
        .stripe_account_id
        .filter(|_| profile.disconnected_at.is_none())
    else {
        return Ok(see_other("/seller"));
    };
    let read_at = db::now_unix();
    let snapshot = match state.stripe.retrieve_account(&account).await {
        Ok(s) => s,
        // The platform lost access: the seller disconnected us from Stripe's side.
        Err(GatewayError::AccountNotReady(msg)) => {
            tracing::info!(%account, %msg, "Stripe refuses access to the account");
            accounts::mark_disconnected(&state.db, &account, read_at, &state.settings.base_url)
                .await?;
            return Ok(see_other("/seller"));
        }
        Err(e) => return stripe_trouble(session, &e),
    };
    match accounts::apply_account_snapshot(&state.db, &snapshot, read_at, &state.settings.base_url)
        .await?
    {
        SnapshotOutcome::Applied(standing) => {
            let text = match standing {
                AccountState::Active => {
                    "Your Stripe account is active. You can publish products and take orders."
                        .to_string()
                }
                other => format!("Status updated: {}.", other.label().to_lowercase()),
            };
            flash::info(session, text)?;
        }
        SnapshotOutcome::Stale => {
            flash::info(session, "Status is up to date.")?;
        }
        SnapshotOutcome::UnknownAccount => {}
    }
    Ok(see_other("/seller"))
}
