//! The seller's orders: their parts of buyers' orders (one direct charge each), filtered and
//! paginated, a 30-day sales chart, and an order page with the payment timeline, "mark
//! shipped", and capture or cancel of an authorization (manual capture).
//! Every lookup takes the seller from the `Seller` extractor: another seller's part is a 404.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::onboarding::NoFields;
use crate::auth::Seller;
use crate::auth::csrf::CsrfForm;
use crate::checkout::{self, AUTHORIZATION_KEEP_SECS, CheckoutError};
use crate::db::checkout::{self as store, Part};
use crate::db::seller_orders::{self, Cursor, DayTotals, OrderFilter, SellerOrder};
use crate::db::users::User;
use crate::domain::orders::PartStatus;
use crate::domain::{Currency, Money, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::stripe::GatewayError;
use crate::web::chart::{self, DayBar, Series};
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};

const PER_PAGE: i64 = 25;
const CHART_DAYS: i64 = 30;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/seller/orders", web::get().to(list))
        .route("/seller/orders/{part}", web::get().to(show))
        .route("/seller/orders/{part}/ship", web::post().to(ship))
        .route("/seller/orders/{part}/capture", web::post().to(capture))
        .route("/seller/orders/{part}/cancel", web::post().to(cancel));
}

/// A part's state in the seller's words, and the status badge's tone.
fn status_words(o: &SellerOrder) -> (String, &'static str) {
    if let Some(d) = &o.dispute_status {
        let words = match d.as_str() {
            "needs_response" | "warning_needs_response" => "needs your response",
            "under_review" | "warning_under_review" => "under review",
            "won" => "won",
            "lost" => "lost",
            "warning_closed" => "closed",
            other => other,
        };
        return (format!("Disputed ({words})"), "bad");
    }
    if o.refunded.minor > 0 {
        return if o.refunded.minor >= o.captured.minor {
            ("Refunded in whole".into(), "pending")
        } else {
            (format!("Refunded in part ({})", o.refunded), "pending")
        };
    }
    match o.status {
        PartStatus::Paid if o.shipped_at.is_some() => ("Paid and shipped".into(), "ok"),
        PartStatus::Paid if o.captured.minor < o.amount.minor => (
            format!("Paid ({} of {} captured)", o.captured, o.amount),
            "ok",
        ),
        PartStatus::Paid => ("Paid".into(), "ok"),
        PartStatus::Authorized => ("Awaiting capture".into(), "pending"),
        PartStatus::Pending | PartStatus::Processing => ("Payment in progress".into(), "pending"),
        PartStatus::RequiresAction => ("Waiting for the buyer's card check".into(), "pending"),
        PartStatus::Failed => ("Payment failed".into(), "bad"),
        PartStatus::Canceled => ("Canceled".into(), "bad"),
    }
}

/// The money a part brings the seller: what was captured (or is authorized) less the fee.
/// Nothing for parts that were never paid.
fn amounts(o: &SellerOrder) -> (Money, Option<Money>) {
    match o.status {
        PartStatus::Paid => (o.captured, o.captured.checked_sub(o.fee).ok()),
        PartStatus::Authorized => (o.amount, o.amount.checked_sub(o.fee).ok()),
        _ => (o.amount, None),
    }
}

struct Row {
    id: String,
    buyer_email: String,
    amount: Money,
    fee: Money,
    net: Option<Money>,
    date: String,
    words: String,
    tone: &'static str,
}

impl Row {
    fn of(o: SellerOrder) -> Row {
        let (words, tone) = status_words(&o);
        let (amount, net) = amounts(&o);
        Row {
            date: time::ymd_hm(o.created_at),
            id: o.id,
            buyer_email: o.buyer_email,
            amount,
            fee: o.fee,
            net,
            words,
            tone,
        }
    }
}

struct FilterLink {
    href: String,
    label: &'static str,
    selected: bool,
}

/// One currency's 30 days: the chart and its totals.
struct SalesChart {
    svg: String,
    currency: &'static str,
    sales: Money,
    fees: Money,
    net: Money,
    orders: i64,
}

/// Zero-filled bars for the last `CHART_DAYS` days per currency, oldest first.
fn sales_charts(totals: &[DayTotals], today: i64) -> Vec<SalesChart> {
    let first = today - (CHART_DAYS - 1);
    let mut currencies: Vec<Currency> = totals.iter().map(|t| t.sales.currency).collect();
    currencies.dedup();
    currencies
        .into_iter()
        .map(|cur| {
            let mut sales = Vec::new();
            let mut fees = Vec::new();
            let (mut sum_sales, mut sum_fees, mut orders) = (0_i64, 0_i64, 0_i64);
            for day in first..=today {
                let t = totals
                    .iter()
                    .find(|t| t.day == day && t.sales.currency == cur);
                let label = time::ymd(day * 86_400);
                let (s, f) = t.map(|t| (t.sales.minor, t.fees.minor)).unwrap_or((0, 0));
                sum_sales = sum_sales.saturating_add(s);
                sum_fees = sum_fees.saturating_add(f);
                orders += t.map(|t| t.orders).unwrap_or(0);
                sales.push(DayBar {
                    label: label.clone(),
                    value_minor: s,
                });
                fees.push(DayBar {
                    label,
                    value_minor: f,
                });
            }
            let svg = chart::bar_chart(
                &format!("sales-{}", cur.code()),
                &format!(
                    "Sales and platform fees per day, last {CHART_DAYS} days ({})",
                    cur.code().to_uppercase()
                ),
                cur,
                &[
                    Series {
                        name: "Sales",
                        bars: &sales,
                    },
                    Series {
                        name: "Fees",
                        bars: &fees,
                    },
                ],
            );
            SalesChart {
                svg,
                currency: cur.code(),
                sales: Money::new(sum_sales, cur),
                fees: Money::new(sum_fees, cur),
                net: Money::new(sum_sales.saturating_sub(sum_fees), cur),
                orders,
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "seller/orders.html")]
struct ListPage {
    page: Page,
    filters: Vec<FilterLink>,
    filter_label: &'static str,
    filtered: bool,
    rows: Vec<Row>,
    first_page: bool,
    first: String,
    next: Option<String>,
    charts: Vec<SalesChart>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
}

async fn list(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<ListPage, AppError> {
    let filter = OrderFilter::parse(query.status.trim())
        .ok_or_else(|| AppError::BadRequest(format!("unknown order filter {}", query.status)))?;
    let after = match query.after.as_str() {
        "" => None,
        c => Some(
            Cursor::decode(c)
                .ok_or_else(|| AppError::BadRequest(format!("bad order cursor {c}")))?,
        ),
    };
    let mut found =
        seller_orders::list(&state.db, &seller.id, filter, after.as_ref(), PER_PAGE + 1).await?;
    let more = found.len() as i64 > PER_PAGE;
    found.truncate(PER_PAGE as usize);
    let filter_qs = match filter {
        OrderFilter::All => String::new(),
        f => format!("status={}&", f.as_str()),
    };
    let next = more
        .then(|| found.last().map(Cursor::of))
        .flatten()
        .map(|c| format!("?{filter_qs}after={}", c.encode()));
    let today = crate::db::now_unix().div_euclid(86_400);
    let totals =
        seller_orders::daily_totals(&state.db, &seller.id, today - (CHART_DAYS - 1)).await?;
    Ok(ListPage {
        page,
        filters: OrderFilter::ALL
            .into_iter()
            .map(|f| FilterLink {
                href: match f {
                    OrderFilter::All => "/seller/orders".into(),
                    f => format!("/seller/orders?status={}", f.as_str()),
                },
                label: f.label(),
                selected: f == filter,
            })
            .collect(),
        filter_label: filter.label(),
        filtered: filter != OrderFilter::All,
        rows: found.into_iter().map(Row::of).collect(),
        first_page: after.is_none(),
        first: format!("/seller/orders?{}", filter_qs.trim_end_matches('&'))
            .trim_end_matches('?')
            .to_string(),
        next,
        charts: sales_charts(&totals, today),
    })
}

// ---------------------------------------------------------------- one order

struct ItemLine {
    title: String,
    quantity: i64,
    unit: Money,
    total: Money,
}

struct EventLine {
    words: &'static str,
    detail: Option<String>,
    at: String,
}

/// What the capture form shows again: the typed amount and its error.
#[derive(Default)]
struct CaptureForm {
    amount: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "seller/order.html")]
struct OrderPage {
    page: Page,
    order: SellerOrder,
    words: String,
    tone: &'static str,
    net: Option<Money>,
    placed: String,
    items: Vec<ItemLine>,
    events: Vec<EventLine>,
    shipped_on: Option<String>,
    can_ship: bool,
    can_capture: bool,
    /// When the sweeper cancels the authorization if it is not captured.
    release_on: Option<String>,
    capture: CaptureForm,
    /// A refusal of the cancel or capture that is not about the typed amount.
    action_error: Option<String>,
    currency_code: String,
}

/// The amount as a seller would type it back (`40.00`, `1500`).
fn major_text(m: Money) -> String {
    let exp = m.currency.exponent();
    if exp == 0 {
        return m.minor.to_string();
    }
    let scale = 10_i64.pow(exp);
    format!(
        "{}.{:0w$}",
        m.minor / scale,
        (m.minor % scale).abs(),
        w = exp as usize
    )
}

fn event_words(status: &str) -> &'static str {
    match status.parse::<PartStatus>() {
        Ok(PartStatus::Pending) => "Order placed, stock reserved",
        Ok(PartStatus::Processing) => "Sent to Stripe",
        Ok(PartStatus::RequiresAction) => "Waiting for the buyer's card check",
        Ok(PartStatus::Authorized) => "Authorized",
        Ok(PartStatus::Paid) => "Paid",
        Ok(PartStatus::Failed) => "Payment failed",
        Ok(PartStatus::Canceled) => "Canceled",
        Err(_) => "Update",
    }
}

/// The seller's part or a 404 (another seller's id, a malformed id).
async fn owned(state: &AppState, seller: &User, part_id: &str) -> Result<Part, AppError> {
    store::part_of_seller(&state.db, seller.id.as_str(), part_id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn render_order(
    state: &AppState,
    page: Page,
    seller: &User,
    part_id: &str,
    capture: CaptureForm,
    action_error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let order = seller_orders::find(&state.db, &seller.id, part_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let cur = order.amount.currency;
    let items = store::items_of_part(&state.db, &order.id)
        .await?
        .into_iter()
        .map(|i| {
            let unit = Money::new(i.unit_price_minor, cur);
            ItemLine {
                total: unit.checked_mul(i.quantity).unwrap_or(unit),
                title: i.title,
                quantity: i.quantity,
                unit,
            }
        })
        .collect();
    let events = store::events_of_part(&state.db, &order.id)
        .await?
        .into_iter()
        .map(|e| EventLine {
            words: event_words(&e.status),
            detail: e.detail,
            at: time::ymd_hm(e.at),
        })
        .collect();
    let part = owned(state, seller, part_id).await?;
    let (words, tone) = status_words(&order);
    let (_, net) = amounts(&order);
    let capture = if capture.amount.is_empty() && capture.error.is_none() {
        CaptureForm {
            amount: major_text(order.amount),
            error: None,
        }
    } else {
        capture
    };
    render_with_status(
        status,
        &OrderPage {
            page,
            words,
            tone,
            net,
            placed: time::ymd_hm(order.created_at),
            items,
            events,
            shipped_on: order.shipped_at.map(time::ymd_hm),
            can_ship: order.status == PartStatus::Paid && order.shipped_at.is_none(),
            can_capture: order.status == PartStatus::Authorized,
            release_on: part
                .authorized_at
                .filter(|_| order.status == PartStatus::Authorized)
                .map(|at| time::ymd_hm(at + AUTHORIZATION_KEEP_SECS)),
            capture,
            action_error,
            currency_code: cur.code().to_uppercase(),
            order,
        },
    )
}

async fn show(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
    part_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    render_order(
        &state,
        page,
        &seller,
        &part_id,
        CaptureForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// "Mark shipped": once; a second click (or a second tab) changes nothing.
async fn ship(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    part_id: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let part = owned(&state, &seller, &part_id).await?;
    let here = format!("/seller/orders/{}", part.id);
    if part.shipped_at.is_some() {
        flash::info(&session, "This order is already marked shipped.")?;
        return Ok(see_other(&here));
    }
    if part.status != PartStatus::Paid {
        flash::error(
            &session,
            match part.status {
                PartStatus::Authorized => "Capture the payment before marking the order shipped.",
                _ => "Only a paid order can be marked shipped.",
            },
        )?;
        return Ok(see_other(&here));
    }
    if store::mark_shipped(
        &state.db,
        seller.id.as_str(),
        &part.id,
        crate::db::now_unix(),
    )
    .await?
    {
        flash::success(&session, "Marked shipped.")?;
    } else {
        flash::info(&session, "This order is already marked shipped.")?;
    }
    Ok(see_other(&here))
}

/// Stripe's refusal in words for the seller; the log keeps the detail.
fn refusal(e: &GatewayError, action: &str) -> String {
    tracing::warn!(error = %e, action, "Stripe refused a seller's order action");
    if e.is_retryable() {
        format!(
            "We did not get an answer from Stripe, so we cannot tell yet whether the {action} went \
             through. Reload this page in a moment before trying again."
        )
    } else {
        match e {
            GatewayError::InvalidRequest { message, .. } => {
                format!("Stripe refused the {action}: {message}")
            }
            GatewayError::AccountNotReady(_) => format!(
                "Stripe did not let us act on your account, so the {action} did not happen. \
                 Check your payouts set-up on the dashboard."
            ),
            _ => format!("The {action} did not happen: Stripe refused it. Please try again."),
        }
    }
}

#[derive(Deserialize)]
struct CaptureInput {
    #[serde(default)]
    amount: String,
}

/// Captures all or part of an authorization. The amount is checked here (a number in the
/// part's currency, more than zero, at most what was authorized) before Stripe is called.
async fn capture(
    req: HttpRequest,
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    part_id: web::Path<String>,
    CsrfForm(input): CsrfForm<CaptureInput>,
) -> Result<HttpResponse, AppError> {
    let part = owned(&state, &seller, &part_id).await?;
    let here = format!("/seller/orders/{}", part.id);
    if part.status != PartStatus::Authorized {
        flash::info(&session, "This payment is not waiting to be captured.")?;
        return Ok(see_other(&here));
    }
    let typed = input.amount.trim().to_string();
    let cur = part.amount.currency;
    let checked = match Money::parse_major(&typed, cur) {
        _ if typed.is_empty() => Err(format!(
            "Enter the amount to capture, up to {}.",
            part.amount
        )),
        Err(_) => Err(format!(
            "Enter an amount in {} like {}, up to {}.",
            cur.code().to_uppercase(),
            major_text(part.amount),
            part.amount
        )),
        Ok(m) if m.minor <= 0 => Err("The amount to capture must be more than zero.".into()),
        Ok(m) if m.minor > part.amount.minor => Err(format!(
            "You can capture at most {}, the amount the buyer authorized.",
            part.amount
        )),
        Ok(m) => Ok(m),
    };
    let amount = match checked {
        Ok(m) => m,
        Err(message) => {
            let page = Page::load(&req).await?;
            return render_order(
                &state,
                page,
                &seller,
                &part.id,
                CaptureForm {
                    amount: typed,
                    error: Some(message),
                },
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match checkout::capture(&state, &part, Some(amount)).await {
        Ok(()) => {
            flash::success(&session, format!("Captured {amount}."))?;
            Ok(see_other(&here))
        }
        Err(e) => {
            let message = match e {
                CheckoutError::Gateway(g) => refusal(&g, "capture"),
                CheckoutError::Unavailable(m) => m,
                CheckoutError::Db(d) => return Err(AppError::Db(d)),
                other => return Err(AppError::Internal(other.to_string())),
            };
            let page = Page::load(&req).await?;
            render_order(
                &state,
                page,
                &seller,
                &part.id,
                CaptureForm {
                    amount: typed,
                    error: None,
                },
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// Cancels an authorization: the buyer is not charged, the stock goes back, the buyer is told.
async fn cancel(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    part_id: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let part = owned(&state, &seller, &part_id).await?;
    let here = format!("/seller/orders/{}", part.id);
    if part.status != PartStatus::Authorized {
        flash::info(&session, "This payment is not waiting to be captured.")?;
        return Ok(see_other(&here));
    }
    match checkout::cancel(&state, &part, "canceled by the seller").await {
        Ok(()) => flash::success(
            &session,
            "Canceled. The buyer was not charged and has been told; the items are back in stock.",
        )?,
        Err(CheckoutError::Gateway(g)) => flash::error(&session, refusal(&g, "cancellation"))?,
        Err(CheckoutError::Unavailable(m)) => flash::error(&session, m)?,
        Err(CheckoutError::Db(d)) => return Err(AppError::Db(d)),
        Err(e) => return Err(AppError::Internal(e.to_string())),
    }
    Ok(see_other(&here))
}
