//! Orders: the search (buyer, seller, status, dates, amount), one order part's page with its
//! charge, fee, refunds, disputes and timeline, and refunds: a preview in money and words
//! (a GET: nothing changes), then a confirmation that issues the refund.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{Section, view};
use crate::auth::{Admin, csrf::CsrfForm};
use crate::db::refunds::{self as store, Cursor, PartMoney, RefundRow, Search};
use crate::db::{self, disputes::DisputeRow};
use crate::domain::orders::PartStatus;
use crate::domain::refunds::{RefundImpact, RefundReason, dispute_status_words};
use crate::domain::{Money, time};
use crate::error::AppError;
use crate::refunds::{self, Issued, RefundError, RefundOrder};
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};

const PER_PAGE: i64 = 50;
/// Webhook events shown on an order's timeline.
const TIMELINE_EVENTS: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/orders", web::get().to(list))
        .route("/admin/orders/{id}", web::get().to(show))
        .route("/admin/orders/{id}/refunds", web::post().to(refund));
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default, Clone)]
struct ListQuery {
    #[serde(default)]
    buyer: String,
    #[serde(default)]
    seller: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    after: String,
}

/// `YYYY-MM-DD` → unix seconds at 00:00 UTC (days-from-civil, the inverse of `time::ymd`).
fn parse_day(text: &str) -> Option<i64> {
    let mut it = text.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let unix = days * 86_400;
    // 2026-02-31 would roll over into March: refuse dates that do not round-trip.
    (time::ymd(unix) == format!("{:04}-{m:02}-{d:02}", if m <= 2 { y + 1 } else { y }))
        .then_some(unix)
}

/// A whole amount in major units (`12`, `12.50`) as minor units of a two-decimal currency;
/// the search compares amounts across currencies by their minor units' size in the main one.
fn parse_amount(text: &str) -> Option<i64> {
    Money::parse_major(text, crate::domain::Currency::Usd)
        .ok()
        .filter(|m| m.minor >= 0)
        .map(|m| m.minor)
}

struct Filters {
    search: Search,
    errors: Vec<String>,
}

fn filters(q: &ListQuery) -> Filters {
    let mut errors = Vec::new();
    let mut day = |text: &str, label: &str, end: bool| -> Option<i64> {
        if text.trim().is_empty() {
            return None;
        }
        match parse_day(text) {
            // "to" includes its whole day.
            Some(d) => Some(if end { d + 86_400 } else { d }),
            None => {
                errors.push(format!("{label}: write a date as YYYY-MM-DD."));
                None
            }
        }
    };
    let from = day(&q.from, "From", false);
    let to = day(&q.to, "To", true);
    let mut amount = |text: &str, label: &str| -> Option<i64> {
        if text.trim().is_empty() {
            return None;
        }
        let parsed = parse_amount(text);
        if parsed.is_none() {
            errors.push(format!("{label}: write an amount such as 25 or 25.50."));
        }
        parsed
    };
    let min_minor = amount(&q.min, "Minimum amount");
    let max_minor = amount(&q.max, "Maximum amount");
    let status = q.status.trim().to_owned();
    let known = status.is_empty()
        || status == "refunded"
        || status == "disputed"
        || PartStatus::ALL.iter().any(|s| s.as_str() == status);
    if !known {
        errors.push(format!("Unknown status {status}."));
    }
    Filters {
        search: Search {
            buyer: q.buyer.chars().take(200).collect(),
            seller: q.seller.chars().take(200).collect(),
            status: if known { status } else { String::new() },
            from,
            to,
            min_minor,
            max_minor,
        },
        errors,
    }
}

struct StatusOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct ListRow {
    id: String,
    order_id: String,
    created: String,
    buyer: String,
    seller: String,
    amount: Money,
    refunded: Money,
    status: &'static str,
    dispute: Option<&'static str>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/orders.html")]
struct ListPage {
    page: Page,
    section: Section,
    q: ListQuery,
    statuses: Vec<StatusOption>,
    errors: Vec<String>,
    rows: Vec<ListRow>,
    next: Option<String>,
    first_page: bool,
}

fn query_string(q: &ListQuery) -> String {
    serde_urlencoded::to_string([
        ("buyer", q.buyer.as_str()),
        ("seller", q.seller.as_str()),
        ("status", q.status.as_str()),
        ("from", q.from.as_str()),
        ("to", q.to.as_str()),
        ("min", q.min.as_str()),
        ("max", q.max.as_str()),
    ])
    .unwrap_or_default()
}

async fn list(
    page: Page,
    _admin: Admin,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let f = filters(&q);
    let after = match q.after.as_str() {
        "" => None,
        c => Some(
            Cursor::decode(c)
                .ok_or_else(|| AppError::BadRequest(format!("bad order cursor {c}")))?,
        ),
    };
    let mut rows = if f.errors.is_empty() {
        store::search(&state.db, &f.search, after.as_ref(), PER_PAGE + 1).await?
    } else {
        Vec::new()
    };
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let next = more
        .then(|| rows.last().map(Cursor::of))
        .flatten()
        .map(|c| format!("?{}&after={}", query_string(&q), c.encode()));
    let mut statuses: Vec<StatusOption> = PartStatus::ALL
        .into_iter()
        .map(|s| StatusOption {
            value: s.as_str(),
            label: s.label(),
            selected: q.status == s.as_str(),
        })
        .collect();
    for (value, label) in [
        ("refunded", "Refunded (any part)"),
        ("disputed", "Disputed"),
    ] {
        statuses.push(StatusOption {
            value,
            label,
            selected: q.status == value,
        });
    }
    let status = if f.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let tpl = ListPage {
        page,
        section: Section::Orders,
        statuses,
        errors: f.errors,
        rows: rows
            .into_iter()
            .map(|p| ListRow {
                created: view::when(p.created_at),
                buyer: p.buyer_email,
                seller: p.seller_name,
                amount: p.amount,
                refunded: p.refunded,
                status: p.status.label(),
                dispute: p.dispute_status.as_deref().map(dispute_status_words),
                order_id: p.order_id,
                id: p.id,
            })
            .collect(),
        next,
        first_page: after.is_none(),
        q,
    };
    render_with_status(status, &tpl)
}

// ------------------------------------------------------------ one order part

#[derive(Deserialize, Default, Clone)]
struct RefundFields {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    /// `yes` / `no`: refund the platform fee too (yes unless the admin says no).
    #[serde(default)]
    fee: String,
    /// Set by the Preview button.
    #[serde(default)]
    preview: String,
}

impl RefundFields {
    fn refund_fee(&self) -> bool {
        self.fee != "no"
    }
}

struct ReasonOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct RefundView {
    id: String,
    at: String,
    by: String,
    amount: Money,
    reason: String,
    fee_flag: bool,
    status: &'static str,
    failed: bool,
    preview_fee: Money,
    stripe_id: Option<String>,
    stripe_amount: Option<Money>,
    fee_amount_refunded: Option<Money>,
    fee_refunded: Option<Money>,
    differs: bool,
    failure: Option<String>,
}

impl RefundView {
    fn of(r: RefundRow) -> RefundView {
        RefundView {
            at: view::when(r.created_at),
            by: r
                .admin_email
                .clone()
                .unwrap_or_else(|| "Stripe Dashboard".into()),
            amount: r.amount,
            reason: r
                .reason
                .as_deref()
                .and_then(|x| x.parse::<RefundReason>().ok())
                .map(|x| x.label().to_owned())
                .or(r.reason.clone())
                .unwrap_or_else(|| "—".into()),
            fee_flag: r.refund_application_fee,
            status: r.status.label(),
            failed: r.status.releases_amount(),
            preview_fee: r.preview_fee_refund,
            stripe_id: r.stripe_refund_id.clone(),
            stripe_amount: r.stripe_amount,
            fee_amount_refunded: r.fee_amount_refunded,
            fee_refunded: r.fee_refunded(),
            differs: r.differs_from_preview(),
            failure: r.failure_reason.clone(),
            id: r.id.to_string(),
        }
    }
}

struct DisputeView {
    id: String,
    amount: Money,
    reason: String,
    status: &'static str,
    due: Option<String>,
    submitted: Option<String>,
    outcome: Option<String>,
}

impl DisputeView {
    fn of(d: &DisputeRow) -> DisputeView {
        DisputeView {
            id: d.stripe_dispute_id.clone(),
            amount: d.amount,
            reason: crate::email::templates::dispute_reason_words(&d.reason).to_owned(),
            status: dispute_status_words(&d.status),
            due: d.evidence_due_by.map(view::when),
            submitted: d.evidence_submitted_at.map(view::when),
            outcome: d.outcome.clone(),
        }
    }
}

struct TimelineEntry {
    at: i64,
    when: String,
    what: String,
}

struct PreviewView {
    impact: RefundImpact,
    words: String,
    amount_text: String,
    reason: &'static str,
    reason_label: &'static str,
    fee: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/order.html")]
struct OrderPage {
    page: Page,
    section: Section,
    part: PartMoney,
    created: String,
    status: &'static str,
    dispute_words: Option<&'static str>,
    refundable: Money,
    can_refund: bool,
    form: RefundFields,
    reasons: Vec<ReasonOption>,
    error: Option<String>,
    preview: Option<PreviewView>,
    refunds: Vec<RefundView>,
    disputes: Vec<DisputeView>,
    timeline: Vec<TimelineEntry>,
}

async fn find(state: &AppState, id: &str) -> Result<PartMoney, AppError> {
    store::part(&state.db, id).await?.ok_or(AppError::NotFound)
}

impl OrderPage {
    async fn load(
        page: Page,
        state: &AppState,
        part: PartMoney,
        form: RefundFields,
        error: Option<String>,
        preview: Option<PreviewView>,
    ) -> Result<OrderPage, AppError> {
        let refund_rows = store::of_part(&state.db, &part.id).await?;
        let disputes = db::disputes::of_part(&state.db, &part.id).await?;
        let mut timeline: Vec<TimelineEntry> = db::checkout::events_of_part(&state.db, &part.id)
            .await?
            .into_iter()
            .map(|e| TimelineEntry {
                at: e.at,
                when: view::when(e.at),
                what: match e.detail {
                    Some(d) => format!("{}: {d}", e.status),
                    None => e.status,
                },
            })
            .collect();
        for r in &refund_rows {
            timeline.push(TimelineEntry {
                at: r.created_at,
                when: view::when(r.created_at),
                what: format!(
                    "Refund {} of {} by {}",
                    r.id,
                    r.amount,
                    r.admin_email.as_deref().unwrap_or("the Stripe Dashboard")
                ),
            });
        }
        let mut objects: Vec<String> = [&part.payment_intent_id, &part.charge_id]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        objects.extend(
            refund_rows
                .iter()
                .filter_map(|r| r.stripe_refund_id.clone()),
        );
        objects.extend(disputes.iter().map(|d| d.stripe_dispute_id.clone()));
        for (id, kind, at) in store::events_about(&state.db, &objects, TIMELINE_EVENTS).await? {
            timeline.push(TimelineEntry {
                at,
                when: view::when(at),
                what: format!("Stripe event {kind} ({id})"),
            });
        }
        timeline.sort_by_key(|t| t.at);
        let reasons = RefundReason::ALL
            .into_iter()
            .map(|r| ReasonOption {
                value: r.as_str(),
                label: r.label(),
                selected: form.reason == r.as_str(),
            })
            .collect();
        Ok(OrderPage {
            page,
            section: Section::Orders,
            created: view::when(part.created_at),
            status: part.status.label(),
            dispute_words: part.dispute_status.as_deref().map(dispute_status_words),
            refundable: part.refundable(),
            can_refund: part.status == PartStatus::Paid && part.refundable().minor > 0,
            form,
            reasons,
            error,
            preview,
            refunds: refund_rows.into_iter().map(RefundView::of).collect(),
            disputes: disputes.iter().map(DisputeView::of).collect(),
            timeline,
            part,
        })
    }
}

/// The admin's refund form, checked: amount in the part's currency, a known reason.
fn parse_fields(part: &PartMoney, f: &RefundFields) -> Result<(Money, RefundReason), String> {
    let amount = Money::parse_major(&f.amount, part.captured.currency).map_err(|_| {
        format!(
            "Write the amount to refund in {}, such as {}.",
            part.captured.currency.code().to_uppercase(),
            part.refundable()
        )
    })?;
    let reason = f
        .reason
        .parse::<RefundReason>()
        .map_err(|_| "Choose a reason for the refund.".to_string())?;
    Ok((amount, reason))
}

fn refund_message(e: &RefundError) -> Option<String> {
    match e {
        RefundError::NotRefundable(_)
        | RefundError::NotPositive
        | RefundError::TooMuch { .. }
        | RefundError::Stripe(_) => Some(e.to_string()),
        _ => None,
    }
}

async fn show(
    req: HttpRequest,
    _admin: Admin,
    path: web::Path<String>,
    query: web::Query<RefundFields>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = Page::load(&req).await?;
    let part = find(&state, &path).await?;
    let mut form = query.into_inner();
    if form.preview.is_empty() {
        // A fresh form offers everything that is left, for the customer's reason, fee back.
        if form.amount.is_empty() {
            form.amount = decimal(part.refundable());
        }
        if form.reason.is_empty() {
            form.reason = RefundReason::RequestedByCustomer.as_str().into();
        }
        let tpl = OrderPage::load(page, &state, part, form, None, None).await?;
        return render_with_status(StatusCode::OK, &tpl);
    }
    let (error, preview) = match parse_fields(&part, &form) {
        Err(e) => (Some(e), None),
        Ok((amount, reason)) => {
            match refunds::preview(&state.stripe, &part, amount, form.refund_fee()).await {
                Ok(p) => (
                    None,
                    Some(PreviewView {
                        words: p.impact.words(),
                        impact: p.impact,
                        amount_text: decimal(amount),
                        reason: reason.as_str(),
                        reason_label: reason.label(),
                        fee: if form.refund_fee() { "yes" } else { "no" },
                    }),
                ),
                Err(e) => match refund_message(&e) {
                    Some(m) => (Some(m), None),
                    None => return Err(AppError::Internal(e.to_string())),
                },
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let tpl = OrderPage::load(page, &state, part, form, error, preview).await?;
    render_with_status(status, &tpl)
}

/// The amount as typed in the form: `12.50`, `1500` (no symbol, no grouping).
fn decimal(m: Money) -> String {
    let exp = m.currency.exponent();
    if exp == 0 {
        return m.minor.to_string();
    }
    let scale = 10_i64.pow(exp);
    format!(
        "{}.{:0width$}",
        m.minor / scale,
        (m.minor % scale).abs(),
        width = exp as usize
    )
}

async fn refund(
    req: HttpRequest,
    Admin(admin): Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<RefundFields>,
) -> Result<HttpResponse, AppError> {
    let part = find(&state, &path).await?;
    let back = format!("/admin/orders/{}", part.id);
    let (amount, reason) = match parse_fields(&part, &form) {
        Ok(v) => v,
        Err(e) => {
            let page = Page::load(&req).await?;
            let tpl = OrderPage::load(page, &state, part, form, Some(e), None).await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl);
        }
    };
    let order = RefundOrder {
        part: &part,
        admin_id: &admin.id,
        admin_email: &admin.email,
        amount,
        reason,
        refund_fee: form.refund_fee(),
    };
    let issued = refunds::issue(
        &state.db,
        &state.stripe,
        &state.settings.base_url,
        &order,
        db::now_unix(),
    )
    .await;
    match issued {
        Ok(Issued::Answered(r)) if r.status.releases_amount() => flash::error(
            &session,
            format!(
                "Stripe could not refund {}: {}. Nothing was refunded.",
                r.amount,
                r.failure_reason.as_deref().unwrap_or("no reason given")
            ),
        )?,
        Ok(Issued::Answered(r)) => {
            let fee = r
                .fee_refunded()
                .map(|f| format!(", the platform returned {f} of its fee"))
                .unwrap_or_default();
            let differs = if r.differs_from_preview() {
                " Stripe's figures differ from the preview: see the refunds below."
            } else {
                " Stripe's figures match the preview."
            };
            flash::success(
                &session,
                format!(
                    "Refunded {} ({}){fee}.{differs}",
                    r.stripe_amount.unwrap_or(r.amount),
                    r.status.label().to_lowercase()
                ),
            )?
        }
        Ok(Issued::Refused { message, .. }) => flash::error(
            &session,
            format!("Stripe refused the refund: {message}. Nothing was refunded."),
        )?,
        Ok(Issued::Unknown(r)) => flash::info(
            &session,
            format!(
                "Stripe did not answer in time. The {} stays reserved for refund {} until Stripe confirms it.",
                r.amount, r.id
            ),
        )?,
        Err(e) => match refund_message(&e) {
            Some(m) => {
                let page = Page::load(&req).await?;
                let part = find(&state, &path).await?;
                let tpl = OrderPage::load(page, &state, part, form, Some(m), None).await?;
                return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl);
            }
            None => return Err(AppError::Internal(e.to_string())),
        },
    }
    Ok(see_other(&back))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_back_to_what_they_say() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2026-11-26"), Some(1_795_651_200));
        assert_eq!(parse_day("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_day("2026-02-31"), None);
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn amounts_are_written_as_typed() {
        use crate::domain::Currency;
        assert_eq!(decimal(Money::new(1250, Currency::Usd)), "12.50");
        assert_eq!(decimal(Money::new(5, Currency::Eur)), "0.05");
        assert_eq!(decimal(Money::new(1500, Currency::Jpy)), "1500");
    }
}
