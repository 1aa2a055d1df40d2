//! The fees report: per month and seller, the charges paid, the application fees on them, the
//! fees given back (fee refunds) and the net; on a page and as CSV. Months are UTC calendar
//! months; a fee refund counts in the month it happened.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::Section;
use crate::auth::Admin;
use crate::db::{self, admin_reports};
use crate::domain::reports::{self, Period, csv_cell, csv_text, decimal};
use crate::domain::{Currency, Money};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::render_with_status;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/fees", web::get().to(page))
        .route("/admin/fees.csv", web::get().to(csv));
}

#[derive(Deserialize)]
struct MonthsQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// One seller's month in one currency.
pub struct FeeRow {
    pub month: String,
    pub seller_id: String,
    pub seller_name: String,
    pub charges: i64,
    pub charged: Money,
    pub fees: Money,
    pub fee_refunds: Money,
    pub net: Money,
}

/// A currency's totals over the whole report.
pub struct Totals {
    pub currency: Currency,
    pub charges: i64,
    pub charged: Money,
    pub fees: Money,
    pub fee_refunds: Money,
    pub net: Money,
}

fn add(a: Money, b: Money) -> Result<Money, AppError> {
    a.checked_add(b)
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// Sums the days of each (month, seller, currency): months oldest first, sellers by name.
async fn report(state: &AppState, period: &Period) -> Result<(Vec<FeeRow>, Vec<Totals>), AppError> {
    let days = admin_reports::seller_days(&state.db, period.from, period.to).await?;
    let mut rows: BTreeMap<(String, String, String, &'static str), FeeRow> = BTreeMap::new();
    let mut totals: BTreeMap<&'static str, Totals> = BTreeMap::new();
    for d in days {
        let cur = d.currency;
        let month = reports::month_of(d.day);
        let key = (
            month.clone(),
            d.seller_name.clone(),
            d.seller_id.clone(),
            cur.code(),
        );
        let row = rows.entry(key).or_insert_with(|| FeeRow {
            month,
            seller_id: d.seller_id.clone(),
            seller_name: d.seller_name.clone(),
            charges: 0,
            charged: Money::zero(cur),
            fees: Money::zero(cur),
            fee_refunds: Money::zero(cur),
            net: Money::zero(cur),
        });
        row.charges += d.charges;
        row.charged = add(row.charged, d.charged)?;
        row.fees = add(row.fees, d.fees)?;
        row.fee_refunds = add(row.fee_refunds, d.fee_refunds)?;
        let total = totals.entry(cur.code()).or_insert_with(|| Totals {
            currency: cur,
            charges: 0,
            charged: Money::zero(cur),
            fees: Money::zero(cur),
            fee_refunds: Money::zero(cur),
            net: Money::zero(cur),
        });
        total.charges += d.charges;
        total.charged = add(total.charged, d.charged)?;
        total.fees = add(total.fees, d.fees)?;
        total.fee_refunds = add(total.fee_refunds, d.fee_refunds)?;
    }
    let net = |fees: Money, back: Money| {
        fees.checked_sub(back)
            .map_err(|e| AppError::Internal(e.to_string()))
    };
    let mut rows: Vec<FeeRow> = rows.into_values().collect();
    for r in &mut rows {
        r.net = net(r.fees, r.fee_refunds)?;
    }
    let mut totals: Vec<Totals> = totals.into_values().collect();
    for t in &mut totals {
        t.net = net(t.fees, t.fee_refunds)?;
    }
    Ok((rows, totals))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/fees.html")]
struct FeesPage {
    page: Page,
    section: Section,
    from: String,
    to: String,
    error: Option<String>,
    first_month: String,
    last_month: String,
    /// The query string of the same months, for the CSV link.
    csv_query: String,
    rows: Vec<FeeRow>,
    totals: Vec<Totals>,
}

async fn page(
    page: Page,
    _admin: Admin,
    query: web::Query<MonthsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let chosen = reports::months(&q.from, &q.to, db::now_unix());
    let (rows, totals, error, first_month, last_month) = match &chosen {
        Ok(p) => {
            let (rows, totals) = report(&state, p).await?;
            (
                rows,
                totals,
                None,
                reports::month_of(p.from),
                reports::month_of(p.to - 1),
            )
        }
        Err(e) => (
            Vec::new(),
            Vec::new(),
            Some(e.to_string()),
            String::new(),
            String::new(),
        ),
    };
    let csv_query = serde_urlencoded::to_string([("from", &first_month), ("to", &last_month)])
        .unwrap_or_default();
    let tpl = FeesPage {
        page,
        section: Section::Fees,
        from: q.from,
        to: q.to,
        error,
        first_month,
        last_month,
        csv_query,
        rows,
        totals,
    };
    let status = if chosen.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_with_status(status, &tpl)
}

const CSV_HEADER: &str = "month,seller_id,seller,currency,charges,charged,fees,fee_refunds,net";

/// The report as CSV: amounts as plain decimals in each row's currency; shop names (typed by
/// sellers) can never start a formula.
pub fn to_csv(rows: &[FeeRow]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for r in rows {
        let cells = [
            csv_cell(&r.month),
            csv_cell(&r.seller_id),
            csv_text(&r.seller_name),
            csv_cell(r.charged.currency.code()),
            csv_cell(&r.charges.to_string()),
            csv_cell(&decimal(r.charged)),
            csv_cell(&decimal(r.fees)),
            csv_cell(&decimal(r.fee_refunds)),
            csv_cell(&decimal(r.net)),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

async fn csv(
    _admin: Admin,
    query: web::Query<MonthsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let period = match reports::months(&query.from, &query.to, db::now_unix()) {
        Ok(p) => p,
        Err(e) => {
            return Ok(HttpResponse::BadRequest()
                .content_type("text/plain; charset=utf-8")
                .body(e.to_string()));
        }
    };
    let (rows, _) = report(&state, &period).await?;
    let name = format!(
        "fees-{}-to-{}.csv",
        reports::month_of(period.from),
        reports::month_of(period.to - 1)
    );
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(to_csv(&rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_quote_and_neutralise_shop_names() {
        let usd = |m| Money::new(m, Currency::Usd);
        let row = |name: &str| FeeRow {
            month: "2026-11".into(),
            seller_id: "usr_1".into(),
            seller_name: name.into(),
            charges: 2,
            charged: usd(4000),
            fees: usd(230),
            fee_refunds: usd(300),
            net: usd(-70),
        };
        let text = to_csv(&[row("=cmd|' /C calc'!A0"), row("Pots, pans & \"more\"")]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[1],
            "2026-11,usr_1,'=cmd|' /C calc'!A0,usd,2,40.00,2.30,3.00,-0.70"
        );
        assert_eq!(
            lines[2],
            "2026-11,usr_1,\"Pots, pans & \"\"more\"\"\",usd,2,40.00,2.30,3.00,-0.70"
        );
    }
}
