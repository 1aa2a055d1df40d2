//! Connected accounts: creating a seller's account, onboarding links, reading the account back,
//! login links, and the account's balance and payouts. Answers are domain types
//! ([`AccountSnapshot`], [`BalanceLine`], [`PayoutSummary`]), never async-stripe's.

use std::time::Duration;

use stripe::{AccountId, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_connect::account::{CreateAccount, CreateAccountType, RetrieveForMyAccountAccount};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::login_link::CreateAccountLoginLink;
use stripe_core::balance::RetrieveForMyAccountBalance;
use stripe_core::payout::ListPayout;

use super::{GatewayError, StripeGateway};
use crate::domain::UserId;
use crate::domain::ids::random_token;
use crate::domain::payouts::{Amount, BalanceLine, PayoutSummary};
use crate::domain::seller_state::{AccountKind, AccountSnapshot, Requirements};

/// How often to wait for a twin request (same idempotency key) that is still in flight.
const TWIN_RETRIES: u32 = 5;
const TWIN_WAIT: Duration = Duration::from_millis(400);

/// A fresh Account Link: single use, expires within minutes.
#[derive(Debug, Clone)]
pub struct OnboardingLink {
    pub url: String,
    pub expires_at: i64,
}

/// The idempotency key of "create the connected account of this seller". `generation` counts
/// the seller's accounts (1 for the first; a reconnect after a disconnection makes the next), so
/// a double click, two tabs or a retry make one account, and a reconnect makes a new one.
pub fn account_idempotency_key(seller: &UserId, generation: i64) -> String {
    if generation <= 1 {
        format!("seller_{seller}:account:v1")
    } else {
        format!("seller_{seller}:account{generation}:v1")
    }
}

fn key(value: String) -> Result<RequestStrategy, GatewayError> {
    IdempotencyKey::new(value)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| GatewayError::Config(e.to_string()))
}

fn account_id(id: &str) -> AccountId {
    AccountId::from(id)
}

/// What we keep of an async-stripe `Account`, also for the webhook handler that receives one in
/// an `account.updated` event.
pub fn snapshot_of(account: &stripe_shared::Account) -> AccountSnapshot {
    let r = account.requirements.as_ref();
    let list = |v: Option<&Vec<String>>| v.cloned().unwrap_or_default();
    AccountSnapshot {
        account_id: account.id.as_str().to_owned(),
        account_type: account.type_.as_ref().map(|t| t.as_str().to_owned()),
        details_submitted: account.details_submitted.unwrap_or(false),
        charges_enabled: account.charges_enabled.unwrap_or(false),
        payouts_enabled: account.payouts_enabled.unwrap_or(false),
        requirements: Requirements {
            currently_due: list(r.and_then(|r| r.currently_due.as_ref())),
            past_due: list(r.and_then(|r| r.past_due.as_ref())),
            eventually_due: list(r.and_then(|r| r.eventually_due.as_ref())),
            pending_verification: list(r.and_then(|r| r.pending_verification.as_ref())),
            current_deadline: r.and_then(|r| r.current_deadline),
            disabled_reason: r
                .and_then(|r| r.disabled_reason.as_ref())
                .map(|d| d.as_str().to_owned()),
        },
    }
}

impl StripeGateway {
    /// Creates the seller's connected account (type from `SELLER_ACCOUNT_TYPE`), with our seller
    /// id in its metadata. Idempotent per (seller, generation): a concurrent twin is waited for
    /// and its account returned.
    pub async fn create_seller_account(
        &self,
        seller: &UserId,
        generation: i64,
        kind: AccountKind,
        email: &str,
    ) -> Result<AccountSnapshot, GatewayError> {
        let type_ = match kind {
            AccountKind::Standard => CreateAccountType::Standard,
            AccountKind::Express => CreateAccountType::Express,
        };
        let mut request = CreateAccount::new()
            .type_(type_)
            .email(email)
            .metadata([("seller_id".to_string(), seller.to_string())]);
        if kind == AccountKind::Express {
            use stripe_connect::account::{
                CreateAccountCapabilities, CreateAccountCapabilitiesCardPayments,
                CreateAccountCapabilitiesTransfers,
            };
            let mut caps = CreateAccountCapabilities::new();
            caps.card_payments = Some(CreateAccountCapabilitiesCardPayments {
                requested: Some(true),
            });
            caps.transfers = Some(CreateAccountCapabilitiesTransfers {
                requested: Some(true),
            });
            request = request.capabilities(caps);
        }
        let idem = account_idempotency_key(seller, generation);
        let mut attempt = 0;
        loop {
            let sent = super::metered::call(
                "account.create",
                request
                    .customize()
                    .request_strategy(key(idem.clone())?)
                    .send(&self.client),
            )
            .await;
            match sent {
                Ok(account) => return Ok(snapshot_of(&account)),
                // 409: the twin (double click, second tab) is still being processed.
                Err(GatewayError::Idempotency(msg)) if attempt < TWIN_RETRIES => {
                    tracing::info!(%msg, "account creation twin in flight; waiting");
                    attempt += 1;
                    tokio::time::sleep(TWIN_WAIT).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A fresh `account_onboarding` link. Links are single-use and short-lived, so every call is
    /// a new link: the idempotency key carries a per-call nonce (a retry of *this* call reuses it).
    pub async fn onboarding_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<OnboardingLink, GatewayError> {
        let link = super::metered::call(
            "account_link.create",
            CreateAccountLink::new(account, CreateAccountLinkType::AccountOnboarding)
                .refresh_url(refresh_url)
                .return_url(return_url)
                .customize()
                .request_strategy(key(format!("{account}:account_link:{}", random_token(16)))?)
                .send(&self.client),
        )
        .await?;
        Ok(OnboardingLink {
            url: link.url,
            expires_at: link.expires_at,
        })
    }

    /// Reads the account as Stripe has it now. Read through the `Stripe-Account` header (`GET
    /// /v1/account` on the connected account), so an account that disconnected the platform
    /// answers 403 ([`GatewayError::AccountNotReady`]).
    pub async fn retrieve_account(&self, account: &str) -> Result<AccountSnapshot, GatewayError> {
        let acct = super::metered::call(
            "account.retrieve",
            RetrieveForMyAccountAccount::new()
                .customize()
                .account_id(account_id(account))
                .send(&self.client),
        )
        .await?;
        Ok(snapshot_of(&acct))
    }

    /// A one-time login link into the Express dashboard (Express accounts only).
    pub async fn login_link(&self, account: &str) -> Result<String, GatewayError> {
        let link = super::metered::call(
            "login_link.create",
            CreateAccountLoginLink::new(account_id(account))
                .customize()
                .request_strategy(key(format!("{account}:login_link:{}", random_token(16)))?)
                .send(&self.client),
        )
        .await?;
        Ok(link.url)
    }

    /// The connected account's balance, one line per currency (available and pending).
    pub async fn account_balance(&self, account: &str) -> Result<Vec<BalanceLine>, GatewayError> {
        let balance = super::metered::call(
            "balance.retrieve",
            RetrieveForMyAccountBalance::new()
                .customize()
                .account_id(account_id(account))
                .send(&self.client),
        )
        .await?;
        let mut lines: Vec<(String, i64, i64)> = Vec::new();
        for a in &balance.available {
            let code = a.currency.to_string();
            match lines.iter_mut().find(|l| l.0 == code) {
                Some(l) => l.1 += a.amount,
                None => lines.push((code, a.amount, 0)),
            }
        }
        for p in &balance.pending {
            let code = p.currency.to_string();
            match lines.iter_mut().find(|l| l.0 == code) {
                Some(l) => l.2 += p.amount,
                None => lines.push((code, 0, p.amount)),
            }
        }
        Ok(lines
            .into_iter()
            .map(|(code, available, pending)| BalanceLine {
                available: Amount::from_minor(available, &code),
                pending: Amount::from_minor(pending, &code),
            })
            .collect())
    }

    /// The connected account's latest payouts, newest first.
    pub async fn account_payouts(
        &self,
        account: &str,
        limit: i64,
    ) -> Result<Vec<PayoutSummary>, GatewayError> {
        let list = super::metered::call(
            "payout.list",
            ListPayout::new()
                .limit(limit.clamp(1, 100))
                .customize()
                .account_id(account_id(account))
                .send(&self.client),
        )
        .await?;
        Ok(list
            .data
            .iter()
            .map(|p| PayoutSummary {
                id: p.id.as_str().to_owned(),
                amount: Amount::from_minor(p.amount, &p.currency.to_string()),
                status: p.status.clone(),
                arrival_date: p.arrival_date,
                created: p.created,
                failure_code: p.failure_code.clone(),
                failure_message: p.failure_message.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_come_from_the_seller_id_and_generation() {
        let id = UserId::try_from("usr_abc".to_string()).unwrap();
        assert_eq!(account_idempotency_key(&id, 1), "seller_usr_abc:account:v1");
        assert_eq!(
            account_idempotency_key(&id, 2),
            "seller_usr_abc:account2:v1"
        );
    }
}
