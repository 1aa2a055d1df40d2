//! Disputes (amount, reason, evidence deadline, status, outcome) and the card networks' early
//! fraud warnings, each with a one-click full refund that opens the refund preview: the refund
//! itself goes through the order page's confirmation, like any other.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::{Section, view};
use crate::auth::Admin;
use crate::db;
use crate::domain::Money;
use crate::domain::refunds::{RefundReason, dispute_is_open, dispute_status_words};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;

const LIMIT: i64 = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/disputes", web::get().to(list));
}

struct DisputeRowView {
    part_id: String,
    order_id: String,
    stripe_id: String,
    seller: String,
    buyer: String,
    amount: Money,
    reason: &'static str,
    status: &'static str,
    open: bool,
    due: Option<String>,
    submitted: Option<String>,
    outcome: Option<String>,
}

struct WarningView {
    stripe_id: String,
    part_id: String,
    order_id: String,
    seller: String,
    buyer: String,
    fraud_type: String,
    at: String,
    left: Money,
    /// Where the one-click full refund leads: the order's refund preview.
    refund_link: Option<String>,
    disputed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/disputes.html")]
struct DisputesPage {
    page: Page,
    section: Section,
    disputes: Vec<DisputeRowView>,
    warnings: Vec<WarningView>,
}

/// The amount as the refund form reads it (no symbol, no grouping).
fn plain(m: Money) -> String {
    let exp = m.currency.exponent();
    if exp == 0 {
        return m.minor.to_string();
    }
    let scale = 10_i64.pow(exp);
    format!(
        "{}.{:0width$}",
        m.minor / scale,
        m.minor % scale,
        width = exp as usize
    )
}

async fn list(
    page: Page,
    _admin: Admin,
    state: web::Data<AppState>,
) -> Result<DisputesPage, AppError> {
    let disputes = db::disputes::all(&state.db, LIMIT)
        .await?
        .into_iter()
        .map(|d| DisputeRowView {
            reason: crate::email::templates::dispute_reason_words(&d.reason),
            status: dispute_status_words(&d.status),
            open: dispute_is_open(&d.status),
            due: d.evidence_due_by.map(view::when),
            submitted: d.evidence_submitted_at.map(view::when),
            outcome: d.outcome,
            amount: d.amount,
            seller: d.seller_name,
            buyer: d.buyer_email,
            stripe_id: d.stripe_dispute_id,
            order_id: d.order_id,
            part_id: d.part_id,
        })
        .collect();
    let warnings = db::disputes::warnings(&state.db, LIMIT)
        .await?
        .into_iter()
        .map(|w| {
            let left = Money::new(
                (w.captured.minor - w.refunded.minor).max(0),
                w.captured.currency,
            );
            let disputed = w.dispute_status.is_some();
            let refund_link = (left.minor > 0 && !disputed).then(|| {
                format!(
                    "/admin/orders/{}?amount={}&reason={}&fee=yes&preview=1#refund",
                    w.part_id,
                    plain(left),
                    RefundReason::Fraudulent.as_str()
                )
            });
            WarningView {
                at: view::when(w.stripe_created),
                fraud_type: w.fraud_type.replace('_', " "),
                seller: w.seller_name,
                buyer: w.buyer_email,
                stripe_id: w.stripe_warning_id,
                order_id: w.order_id,
                part_id: w.part_id,
                left,
                refund_link,
                disputed,
            }
        })
        .collect();
    Ok(DisputesPage {
        page,
        section: Section::Disputes,
        disputes,
        warnings,
    })
}
