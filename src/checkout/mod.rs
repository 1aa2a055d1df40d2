//! The money flow of a checkout: write the order first (one transaction, stock reserved), then
//! for each seller clone the buyer's card onto the seller's account and make one direct charge
//! with the platform's fee. Every step is re-entrant: ids are stored before and after each Stripe
//! call and every key is derived from them, so running a part again (a second submit, a stuck
//! part re-read by the sweeper, a 3-D Secure return) can never charge twice.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::db::checkout::{self as store, CartLine, NewPart, Outcome, Part, PlaceError, Placed};
use crate::db::users::User;
use crate::db::{self, DbError};
use crate::domain::ids::OrderId;
use crate::domain::orders::{PartStatus, decline_reason};
use crate::domain::{Money, MoneyError, PlatformFee};
use crate::email::{OutgoingEmail, templates};
use crate::state::AppState;
use crate::stripe::GatewayError;
use crate::stripe::payments::{ChargeRequest, IdemKey, IntentSnapshot, IntentState};

/// Parts whose outcome is open this long are re-read from Stripe by the sweeper.
const STUCK_AFTER_SECS: i64 = 30;
/// Authorizations are canceled after this long, before Stripe's 7-day expiry.
pub const AUTHORIZATION_KEEP_SECS: i64 = 6 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("your cart is empty")]
    EmptyCart,
    #[error("choose one of your saved cards")]
    NoSuchCard,
    #[error("{0}")]
    Unavailable(String),
    #[error("quantities must be between 1 and the stock available")]
    BadQuantity,
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("cannot render a mail: {0}")]
    Mail(#[from] askama::Error),
}

impl From<PlaceError> for CheckoutError {
    fn from(e: PlaceError) -> Self {
        match e {
            PlaceError::Unavailable { title } => CheckoutError::Unavailable(format!(
                "Sold out: {title} is no longer available in the quantity you asked for. \
                 Nothing was charged."
            )),
            PlaceError::Money(m) => CheckoutError::Money(m),
            PlaceError::Db(d) => CheckoutError::Db(d),
        }
    }
}

/// The buyer's platform Customer, created on first need (key from the buyer's id).
pub async fn platform_customer(state: &AppState, buyer: &User) -> Result<String, CheckoutError> {
    if let Some(id) = store::platform_customer(&state.db, buyer.id.as_str()).await? {
        return Ok(id);
    }
    let key = IdemKey::new(&[buyer.id.as_str(), "platform-customer"]);
    let id = state
        .stripe
        .create_platform_customer(buyer.id.as_str(), &buyer.email, &key)
        .await?;
    Ok(store::save_platform_customer(&state.db, buyer.id.as_str(), &id, db::now_unix()).await?)
}

/// Saves a platform PaymentMethod as the buyer's card, after checking with Stripe that it
/// belongs to the buyer's Customer. Returns the card id.
pub async fn save_card(
    state: &AppState,
    buyer: &User,
    payment_method_id: &str,
) -> Result<String, CheckoutError> {
    let customer = platform_customer(state, buyer).await?;
    let card = state.stripe.retrieve_card(payment_method_id).await?;
    if card.customer_id.as_deref() != Some(customer.as_str()) {
        return Err(CheckoutError::NoSuchCard);
    }
    Ok(store::save_card(
        &state.db,
        buyer.id.as_str(),
        &card.payment_method_id,
        &card.brand,
        &card.last4,
        card.exp_month,
        card.exp_year,
        db::now_unix(),
    )
    .await?)
}

/// Groups cart lines into one part per (seller, currency), with the seller's fee rule.
async fn parts_for(state: &AppState, lines: &[CartLine]) -> Result<Vec<NewPart>, CheckoutError> {
    let mut groups: BTreeMap<(String, &'static str), NewPart> = BTreeMap::new();
    for line in lines {
        if !line.sellable {
            return Err(CheckoutError::Unavailable(format!(
                "{} can no longer be bought. Remove it from your cart to go on; nothing was charged.",
                line.title
            )));
        }
        if line.stock == 0 {
            return Err(CheckoutError::Unavailable(format!(
                "Sold out: {} is no longer available. Nothing was charged.",
                line.title
            )));
        }
        if line.quantity < 1 || line.quantity > line.stock {
            return Err(CheckoutError::Unavailable(format!(
                "Only {} of {} left in stock. Change the quantity to go on; nothing was charged.",
                line.stock, line.title
            )));
        }
        let key = (line.seller_id.clone(), line.unit_price.currency.code());
        if !groups.contains_key(&key) {
            // The admin's per-seller override, resolved by the one fee rule (db::seller_fees).
            let seller = crate::domain::UserId::try_from(line.seller_id.clone())
                .map_err(|e| CheckoutError::Unavailable(e.to_string()))?;
            let fee =
                crate::db::seller_fees::fee_for(state.db.reader(), &seller, state.platform_fee)
                    .await?
                    .unwrap_or(state.platform_fee);
            groups.insert(
                key.clone(),
                NewPart {
                    seller_id: line.seller_id.clone(),
                    currency: line.unit_price.currency,
                    items: Vec::new(),
                    fee_bps: i64::from(fee.bps),
                    fee_fixed_minor: fee.fixed_minor,
                },
            );
        }
        if let Some(part) = groups.get_mut(&key) {
            part.items.push((line.product_id.clone(), line.quantity));
        }
    }
    Ok(groups.into_values().collect())
}

/// Places the order for the buyer's cart (prices and sellers read from our database, never
/// from the form) and pays each part. Returns the order id.
pub async fn place_and_pay(
    state: &AppState,
    buyer: &User,
    checkout_token: &str,
    card_id: &str,
) -> Result<OrderId, CheckoutError> {
    let card = store::card(&state.db, buyer.id.as_str(), card_id)
        .await?
        .ok_or(CheckoutError::NoSuchCard)?;
    // The same form again (a double click, a reload): the first submit's order.
    if let Some(id) = store::order_by_token(&state.db, buyer.id.as_str(), checkout_token).await? {
        return Ok(id);
    }
    let lines = store::cart(&state.db, buyer.id.as_str()).await?;
    if lines.is_empty() {
        return Err(CheckoutError::EmptyCart);
    }
    let parts = parts_for(state, &lines).await?;
    let placed = store::place_order(
        &state.db,
        buyer.id.as_str(),
        checkout_token,
        &card.id,
        &parts,
        db::now_unix(),
    )
    .await?;
    let order_id = match placed {
        Placed::New(id) => id,
        // The same form again: the first submit is (or was) paying it.
        Placed::Existing(id) => return Ok(id),
    };
    // Stripe is called only now, after the commit. Parts are independent: one failing
    // never undoes or repeats another.
    for part in store::parts_of_order(&state.db, buyer.id.as_str(), order_id.as_str()).await? {
        if let Err(e) = drive(state, &part.id).await {
            tracing::warn!(part = %part.id, error = %e, "payment left open; the sweeper re-reads it");
        }
    }
    Ok(order_id)
}

/// Retries a failed part with another card of the buyer.
pub async fn retry(
    state: &AppState,
    buyer: &User,
    part_id: &str,
    card_id: &str,
) -> Result<bool, CheckoutError> {
    store::card(&state.db, buyer.id.as_str(), card_id)
        .await?
        .ok_or(CheckoutError::NoSuchCard)?;
    let started = store::retry_part(
        &state.db,
        buyer.id.as_str(),
        part_id,
        card_id,
        db::now_unix(),
    )
    .await?;
    if started && let Err(e) = drive(state, part_id).await {
        tracing::warn!(part = %part_id, error = %e, "retry left open; the sweeper re-reads it");
    }
    Ok(started)
}

/// Brings one part as far as it can go: create what is missing on Stripe (customer, clone,
/// intent), confirm, and record the answer. Safe to run any number of times, concurrently too.
pub async fn drive(state: &AppState, part_id: &str) -> Result<Part, CheckoutError> {
    let part = store::part(&state.db, part_id)
        .await?
        .ok_or(CheckoutError::Db(DbError::Corrupt {
            column: "order_parts.id",
            detail: format!("{part_id} vanished"),
        }))?;
    if !matches!(part.status, PartStatus::Pending | PartStatus::Processing) {
        return Ok(part);
    }
    let Some(account) = part.seller_account.clone() else {
        fail(state, &part, "The seller cannot take payments right now.").await?;
        return reload(state, part_id).await;
    };
    let result = advance(state, &part, &account).await;
    match result {
        Ok(()) => {}
        Err(CheckoutError::Gateway(e)) if !e.is_retryable() => {
            tracing::warn!(part = %part.id, error = %e, "payment refused");
            let reason = match &e {
                GatewayError::Declined {
                    code, decline_code, ..
                } => decline_reason(code.as_deref(), decline_code.as_deref()),
                GatewayError::NeedsAuthentication => {
                    decline_reason(Some("authentication_required"), None)
                }
                _ => "This seller cannot take payments right now; nothing was charged.",
            };
            fail(state, &part, reason).await?;
        }
        Err(e) => return Err(e),
    }
    reload(state, part_id).await
}

/// The Stripe steps of [`drive`]; any error leaves the part where it was.
async fn advance(state: &AppState, part: &Part, account: &str) -> Result<(), CheckoutError> {
    let pi = match &part.payment_intent_id {
        Some(pi) => {
            let snap = state.stripe.retrieve_intent(account, pi).await?;
            if snap.state != IntentState::NotConfirmed {
                return record(state, part, &snap).await;
            }
            pi.clone()
        }
        None => {
            let snap = create_intent(state, part, account).await?;
            store::set_intent(&state.db, &part.id, part.attempt, &snap.id, db::now_unix()).await?;
            snap.id
        }
    };
    let snap = confirm(state, part, account, &pi).await?;
    record(state, part, &snap).await
}

async fn reload(state: &AppState, part_id: &str) -> Result<Part, CheckoutError> {
    store::part(&state.db, part_id).await?.ok_or_else(|| {
        CheckoutError::Db(DbError::Corrupt {
            column: "order_parts.id",
            detail: format!("{part_id} vanished"),
        })
    })
}

async fn fail(state: &AppState, part: &Part, reason: &str) -> Result<(), CheckoutError> {
    store::transition(
        &state.db,
        &part.id,
        part.attempt,
        &[
            PartStatus::Pending,
            PartStatus::Processing,
            PartStatus::RequiresAction,
        ],
        &Outcome {
            status: PartStatus::Failed,
            charge_id: None,
            captured_minor: None,
            failure_reason: Some(reason),
            action_url: None,
            detail: None,
        },
        db::now_unix(),
        &[],
    )
    .await?;
    Ok(())
}

async fn create_intent(
    state: &AppState,
    part: &Part,
    account: &str,
) -> Result<IntentSnapshot, CheckoutError> {
    let now = db::now_unix();
    let card_id = part.card_id.clone().ok_or(CheckoutError::NoSuchCard)?;
    let card = store::card(&state.db, &part.buyer_id, &card_id)
        .await?
        .ok_or(CheckoutError::NoSuchCard)?;
    let platform_customer = store::platform_customer(&state.db, &part.buyer_id)
        .await?
        .ok_or(CheckoutError::NoSuchCard)?;
    let customer =
        match store::connected_customer(&state.db, &part.buyer_id, &part.seller_id).await? {
            Some(c) => c,
            None => {
                let key = IdemKey::new(&[&part.buyer_id, &part.seller_id, "connected-customer"]);
                let id = state
                    .stripe
                    .create_connected_customer(account, &part.buyer_id, &part.buyer_email, &key)
                    .await?;
                store::save_connected_customer(&state.db, &part.buyer_id, &part.seller_id, &id, now)
                    .await?
            }
        };
    let clone = match store::cloned_card(&state.db, &card.id, &part.seller_id).await? {
        Some(pm) => pm,
        None => {
            let key = IdemKey::new(&[&card.id, &part.seller_id]);
            let pm = state
                .stripe
                .clone_card_to(
                    account,
                    &platform_customer,
                    &card.payment_method_id,
                    &customer,
                    &key,
                )
                .await?;
            store::save_cloned_card(&state.db, &card.id, &part.seller_id, &pm, now).await?
        }
    };
    let metadata = HashMap::from([
        ("order_id".to_owned(), part.order_id.clone()),
        ("order_part_id".to_owned(), part.id.clone()),
        ("buyer_id".to_owned(), part.buyer_id.clone()),
    ]);
    let attempt = part.attempt.to_string();
    let key = IdemKey::new(&[&part.id, "pi", &attempt]);
    Ok(state
        .stripe
        .create_intent(
            &ChargeRequest {
                account,
                customer: &customer,
                payment_method: &clone,
                amount: part.amount,
                application_fee: part.fee,
                manual_capture: state.settings.capture_manual,
                metadata,
            },
            &key,
        )
        .await?)
}

async fn confirm(
    state: &AppState,
    part: &Part,
    account: &str,
    intent_id: &str,
) -> Result<IntentSnapshot, CheckoutError> {
    let attempt = part.attempt.to_string();
    let key = IdemKey::new(&[&part.id, "confirm", &attempt]);
    let return_url = format!("{}/checkout/return/{}", state.settings.base_url, part.id);
    Ok(state
        .stripe
        .confirm_intent(account, intent_id, &return_url, &key)
        .await?)
}

/// The mails of a part turning paid (or authorized): the buyer's receipt and the seller's
/// new-order notice, each with a dedupe key naming its cause, so however often the outcome is
/// recorded (the return route, a webhook delivered three times, the sweeper) each goes once.
async fn order_mails(
    state: &AppState,
    part: &Part,
) -> Result<Vec<(OutgoingEmail, String)>, CheckoutError> {
    let currency = part.amount.currency;
    let mut lines = Vec::new();
    for item in store::items_of_part(&state.db, &part.id).await? {
        lines.push(templates::OrderLine {
            amount: Money::new(item.unit_price_minor, currency).checked_mul(item.quantity)?,
            title: item.title,
            quantity: item.quantity,
        });
    }
    let base = &state.settings.base_url;
    let receipt = templates::order_receipt(
        &part.buyer_email,
        &templates::OrderReceipt {
            order_id: part.order_id.clone(),
            lines: lines.clone(),
            total: part.amount,
            link: format!("{base}/orders/{}", part.order_id),
        },
    )?;
    let new_order = templates::new_order(
        &part.seller_email,
        &templates::NewOrder {
            order_id: part.order_id.clone(),
            lines,
            total: part.amount,
            fee: part.fee,
            net: part.amount.checked_sub(part.fee)?,
            link: format!("{base}/seller/orders/{}", part.id),
        },
    )?;
    // One receipt per seller's share: each is its own charge on the buyer's statement.
    let receipt_cause = format!("{}:{}", part.order_id, part.id);
    Ok(vec![
        (
            receipt,
            templates::dedupe_key(&receipt_cause, "order_receipt", &part.buyer_email),
        ),
        (
            new_order,
            templates::dedupe_key(&part.id, "new_order", &part.seller_email),
        ),
    ])
}

/// Writes what Stripe said about the part's current intent.
pub async fn record(
    state: &AppState,
    part: &Part,
    snap: &IntentSnapshot,
) -> Result<(), CheckoutError> {
    let open = [
        PartStatus::Pending,
        PartStatus::Processing,
        PartStatus::RequiresAction,
    ];
    let now = db::now_unix();
    let (status, reason, url) = match &snap.state {
        IntentState::Succeeded => (PartStatus::Paid, None, None),
        IntentState::RequiresCapture => (PartStatus::Authorized, None, None),
        IntentState::RequiresAction { url } => (PartStatus::RequiresAction, None, url.clone()),
        IntentState::Failed {
            code, decline_code, ..
        } => (
            PartStatus::Failed,
            Some(decline_reason(code.as_deref(), decline_code.as_deref())),
            None,
        ),
        IntentState::Canceled => (PartStatus::Canceled, None, None),
        IntentState::Processing | IntentState::NotConfirmed => return Ok(()),
    };
    if status == part.status && status == PartStatus::RequiresAction {
        return Ok(());
    }
    let mails = if matches!(status, PartStatus::Paid | PartStatus::Authorized) {
        order_mails(state, part).await?
    } else {
        Vec::new()
    };
    store::transition(
        &state.db,
        &part.id,
        part.attempt,
        &open,
        &Outcome {
            status,
            charge_id: snap.charge_id.as_deref(),
            captured_minor: (status == PartStatus::Paid).then_some(snap.amount_received),
            failure_reason: reason,
            action_url: url.as_deref(),
            detail: Some(&snap.id),
        },
        now,
        &mails,
    )
    .await?;
    Ok(())
}

/// After a 3-D Secure challenge: re-read the intent and record the result.
pub async fn refresh(state: &AppState, part: &Part) -> Result<Part, CheckoutError> {
    if let (Some(account), Some(pi)) = (&part.seller_account, &part.payment_intent_id)
        && part.status.is_open()
    {
        let snap = state.stripe.retrieve_intent(account, pi).await?;
        record(state, part, &snap).await?;
    }
    reload(state, &part.id).await
}

/// The seller captures an authorization, all of it or `amount` (the rest is released). A
/// partial capture collects the fee for the captured share ([`PlatformFee::captured_share`]);
/// Stripe would otherwise keep the fee planned for the whole amount.
pub async fn capture(
    state: &AppState,
    part: &Part,
    amount: Option<Money>,
) -> Result<(), CheckoutError> {
    let (Some(account), Some(pi)) = (&part.seller_account, &part.payment_intent_id) else {
        return Err(CheckoutError::Unavailable("nothing to capture".into()));
    };
    if part.status != PartStatus::Authorized {
        return Err(CheckoutError::Unavailable(
            "Only an authorized payment can be captured.".into(),
        ));
    }
    if let Some(a) = amount
        && (a.currency != part.amount.currency || a.minor < 1 || a.minor > part.amount.minor)
    {
        return Err(CheckoutError::Unavailable(format!(
            "The amount to capture must be between {} and {}.",
            Money::new(1, part.amount.currency),
            part.amount
        )));
    }
    let partial = amount.filter(|a| *a != part.amount);
    let fee = match partial {
        Some(a) => Some(PlatformFee::captured_share(part.fee, part.amount, a)?),
        None => None,
    };
    // The amount is part of the key: a capture refused for one amount must not replay its
    // refusal when the seller corrects it; Stripe itself refuses a second successful capture.
    let what = partial.map_or_else(|| "all".to_string(), |a| a.minor.to_string());
    let key = IdemKey::new(&[&part.id, "capture", &part.attempt.to_string(), &what]);
    let snap = match state
        .stripe
        .capture_intent(account, pi, partial, fee, &key)
        .await
    {
        Ok(snap) => snap,
        Err(e) => {
            // An earlier capture whose answer was lost may have gone through: the intent says.
            match state.stripe.retrieve_intent(account, pi).await {
                Ok(snap) if snap.state == IntentState::Succeeded => snap,
                _ => return Err(e.into()),
            }
        }
    };
    if snap.state == IntentState::Succeeded {
        let currency = part.amount.currency;
        store::record_capture(
            &state.db,
            &part.id,
            part.attempt,
            snap.charge_id.as_deref(),
            Money::new(snap.amount_received, currency),
            Money::new(snap.application_fee_amount.unwrap_or(0), currency),
            db::now_unix(),
        )
        .await?;
    }
    Ok(())
}

/// Cancels an authorization (the seller, or the expiry job); stock goes back and the buyer is
/// told by email.
pub async fn cancel(state: &AppState, part: &Part, why: &str) -> Result<(), CheckoutError> {
    let (Some(account), Some(pi)) = (&part.seller_account, &part.payment_intent_id) else {
        return Err(CheckoutError::Unavailable("nothing to cancel".into()));
    };
    if part.status != PartStatus::Authorized {
        return Err(CheckoutError::Unavailable(
            "Only an authorized payment can be canceled.".into(),
        ));
    }
    let key = IdemKey::new(&[&part.id, "cancel", &part.attempt.to_string()]);
    let snap = state.stripe.cancel_intent(account, pi, &key).await?;
    if snap.state == IntentState::Canceled {
        let mail = templates::payment_canceled(
            &part.buyer_email,
            &templates::PaymentCanceled {
                amount: part.amount,
                seller_name: part.seller_name.clone(),
                why: why.to_string(),
                link: format!("{}/orders/{}", state.settings.base_url, part.order_id),
            },
        )?;
        let key = vec![(mail, format!("canceled:{}:{}", part.id, part.attempt))];
        store::transition(
            &state.db,
            &part.id,
            part.attempt,
            &[PartStatus::Authorized],
            &Outcome {
                status: PartStatus::Canceled,
                charge_id: None,
                captured_minor: None,
                failure_reason: Some(why),
                action_url: None,
                detail: None,
            },
            db::now_unix(),
            &key,
        )
        .await?;
    }
    Ok(())
}

/// One pass of the background work: re-read parts whose outcome stayed open, and cancel
/// authorizations before Stripe's 7-day expiry. Returns how many parts it touched.
pub async fn sweep(state: &AppState, now: i64) -> Result<usize, CheckoutError> {
    let mut touched = 0;
    for id in store::stuck_parts(&state.db, now - STUCK_AFTER_SECS, 50).await? {
        touched += 1;
        if let Err(e) = drive(state, &id).await {
            tracing::warn!(part = %id, error = %e, "stuck payment still unknown");
        }
    }
    for id in store::aging_authorizations(&state.db, now - AUTHORIZATION_KEEP_SECS, 50).await? {
        touched += 1;
        if let Some(part) = store::part(&state.db, &id).await?
            && let Err(e) = cancel(
                state,
                &part,
                "the seller did not ship within 6 days, so the authorization was released",
            )
            .await
        {
            tracing::warn!(part = %id, error = %e, "could not cancel an aging authorization");
        }
    }
    Ok(touched)
}

/// Runs [`sweep`] every few seconds until the pool closes.
pub fn spawn_sweeper(state: actix_web::web::Data<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            if state.db.is_closed() {
                break;
            }
            if let Err(e) = sweep(&state, db::now_unix()).await {
                tracing::warn!(error = %e, "payment sweep failed");
            }
        }
    });
}
