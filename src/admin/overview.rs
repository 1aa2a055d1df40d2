//! The overview (`/admin`): for a chosen period, sales per currency, platform fees net of fee
//! refunds, refunds, open disputes, sellers by onboarding state and the webhook backlog; then
//! the accounts. The daily sales are a bar chart per currency drawn on the server
//! (`web::chart`), with the same figures as a table for those who cannot see it.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{Section, onboarding};
use crate::auth::Admin;
use crate::db::{self, admin_reports, seller_admin, users::RoleCounts, webhook_events};
use crate::domain::reports::{self, PRESETS, Period};
use crate::domain::{Currency, Money, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::chart::{self, DayBar, Series};
use crate::web::page::Page;
use crate::web::render_with_status;

/// One screen of accounts under the figures.
const USERS_PER_PAGE: i64 = 100;

#[derive(Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    days: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

struct PresetOption {
    days: i64,
    selected: bool,
}

/// One currency's figures for the period.
struct CurrencyRow {
    currency: Currency,
    charges: i64,
    sales: Money,
    fees: Money,
    fee_refunds: Money,
    net_fees: Money,
    refunded: Money,
}

struct DayRow {
    day: String,
    charges: i64,
    sales: Money,
}

/// The daily sales of one currency, every day of the period (zero when nothing sold): what a
/// bar chart of the period plots.
pub struct DailySeries {
    pub currency: Currency,
    /// (`YYYY-MM-DD`, amount in minor units).
    pub points: Vec<(String, i64)>,
}

struct StateCount {
    label: &'static str,
    count: i64,
}

struct Figures {
    first_day: String,
    last_day: String,
    currencies: Vec<CurrencyRow>,
    days: Vec<DayRow>,
    daily: Vec<DailySeries>,
    /// One server-drawn SVG bar chart of `daily` per currency.
    charts: Vec<String>,
    open_disputes: i64,
    seller_states: Vec<StateCount>,
    sellers_suspended: i64,
    events_pending: i64,
    events_failed: i64,
}

struct UserRow {
    id: String,
    email: String,
    role: &'static str,
    joined: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/overview.html")]
pub struct OverviewPage {
    page: Page,
    section: Section,
    presets: Vec<PresetOption>,
    from: String,
    to: String,
    error: Option<String>,
    figures: Option<Figures>,
    users: Vec<UserRow>,
    counts: RoleCounts,
}

impl OverviewPage {
    /// The daily sales per currency, for the chart.
    pub fn daily(&self) -> &[DailySeries] {
        self.figures
            .as_ref()
            .map(|f| f.daily.as_slice())
            .unwrap_or(&[])
    }
}

fn daily_chart(series: &DailySeries) -> String {
    let bars: Vec<DayBar> = series
        .points
        .iter()
        .map(|(label, minor)| DayBar {
            label: label.clone(),
            value_minor: *minor,
        })
        .collect();
    let code = series.currency.code();
    chart::bar_chart(
        &format!("overview-sales-{code}"),
        &format!("Sales per day ({})", code.to_uppercase()),
        series.currency,
        &[Series {
            name: "Sales",
            bars: &bars,
        }],
    )
}

fn sub(a: Money, b: Money) -> Result<Money, AppError> {
    a.checked_sub(b)
        .map_err(|e| AppError::Internal(e.to_string()))
}

async fn figures(state: &AppState, period: &Period) -> Result<Figures, AppError> {
    let db = &state.db;
    let (from, to) = (period.from, period.to);
    let mut rows: BTreeMap<&'static str, CurrencyRow> = BTreeMap::new();
    let blank = |c: Currency| CurrencyRow {
        currency: c,
        charges: 0,
        sales: Money::zero(c),
        fees: Money::zero(c),
        fee_refunds: Money::zero(c),
        net_fees: Money::zero(c),
        refunded: Money::zero(c),
    };
    for t in admin_reports::sales_totals(db, from, to).await? {
        let row = rows
            .entry(t.currency.code())
            .or_insert_with(|| blank(t.currency));
        row.charges = t.charges;
        row.sales = t.captured;
        row.fees = t.fees;
        row.refunded = t.refunded;
    }
    for r in admin_reports::fee_refunds(db, from, to).await? {
        rows.entry(r.currency.code())
            .or_insert_with(|| blank(r.currency))
            .fee_refunds = r;
    }
    let mut currencies: Vec<CurrencyRow> = rows.into_values().collect();
    for row in &mut currencies {
        row.net_fees = sub(row.fees, row.fee_refunds)?;
    }

    let daily_rows = admin_reports::daily_sales(db, from, to).await?;
    let daily: Vec<DailySeries> = currencies
        .iter()
        .map(|c| DailySeries {
            currency: c.currency,
            points: period
                .days()
                .map(|day| {
                    let minor: i64 = daily_rows
                        .iter()
                        .filter(|d| d.day == day && d.captured.currency == c.currency)
                        .map(|d| d.captured.minor)
                        .sum();
                    (time::ymd(day), minor)
                })
                .collect(),
        })
        .collect();
    let charts: Vec<String> = daily.iter().map(daily_chart).collect();
    let days = daily_rows
        .into_iter()
        .map(|d| DayRow {
            day: time::ymd(d.day),
            charges: d.charges,
            sales: d.captured,
        })
        .collect();

    let counts = seller_admin::state_counts(db).await?;
    let seller_states = onboarding::STATES
        .into_iter()
        .map(|(code, label)| StateCount {
            label,
            count: counts
                .by_state
                .iter()
                .find(|(k, _)| k == code)
                .map(|(_, n)| *n)
                .unwrap_or(0),
        })
        .collect();
    Ok(Figures {
        first_day: period.first_day(),
        last_day: period.last_day(),
        currencies,
        days,
        daily,
        charts,
        open_disputes: admin_reports::open_disputes(db).await?,
        seller_states,
        sellers_suspended: counts.suspended,
        events_pending: webhook_events::count_by_status(db, webhook_events::PENDING).await?,
        events_failed: webhook_events::count_by_status(db, webhook_events::FAILED).await?,
    })
}

pub async fn show(
    page: Page,
    _admin: Admin,
    query: web::Query<PeriodQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let chosen = reports::period(&q.days, &q.from, &q.to, db::now_unix());
    let (figures, error) = match &chosen {
        Ok(p) => (Some(figures(&state, p).await?), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let ranged = !q.from.trim().is_empty() || !q.to.trim().is_empty();
    let preset: i64 = q.days.trim().parse().unwrap_or(reports::DEFAULT_PRESET);
    let users = db::users::list(&state.db, USERS_PER_PAGE)
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            email: u.email,
            role: u.role.as_str(),
            joined: time::ymd(u.created_at),
        })
        .collect();
    let tpl = OverviewPage {
        page,
        section: Section::Overview,
        presets: PRESETS
            .into_iter()
            .map(|days| PresetOption {
                days,
                selected: !ranged && days == preset,
            })
            .collect(),
        from: q.from,
        to: q.to,
        error,
        figures,
        users,
        counts: db::users::count_by_role(&state.db).await?,
    };
    let status = if chosen.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_with_status(status, &tpl)
}
