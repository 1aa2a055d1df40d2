//! The seller's disputes and their answer: an evidence form (text fields of Stripe's
//! `evidence`) submitted to Stripe before the deadline. Every read is scoped by the seller
//! from the session.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{Seller, csrf::CsrfForm};
use crate::db::{self, disputes::DisputeRow};
use crate::domain::refunds::{EVIDENCE_FIELDS, dispute_is_open, dispute_status_words};
use crate::domain::{Money, time};
use crate::error::AppError;
use crate::refunds::disputes::{EvidenceError, check_evidence, submit_evidence};
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};

const LIMIT: i64 = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/seller/disputes", web::get().to(list))
        .route("/seller/disputes/{id}", web::get().to(show))
        .route("/seller/disputes/{id}/evidence", web::post().to(evidence));
}

struct Row {
    id: String,
    order_id: String,
    amount: Money,
    reason: &'static str,
    status: &'static str,
    open: bool,
    due: Option<String>,
    outcome: Option<String>,
}

impl Row {
    fn of(d: &DisputeRow) -> Row {
        Row {
            id: d.id.clone(),
            order_id: d.order_id.clone(),
            amount: d.amount,
            reason: crate::email::templates::dispute_reason_words(&d.reason),
            status: dispute_status_words(&d.status),
            open: dispute_is_open(&d.status),
            due: d.evidence_due_by.map(time::ymd_hm),
            outcome: d.outcome.clone(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "seller/disputes.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
}

async fn list(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
) -> Result<ListPage, AppError> {
    let rows = db::disputes::of_seller(&state.db, seller.id.as_str(), LIMIT)
        .await?
        .iter()
        .map(Row::of)
        .collect();
    Ok(ListPage { page, rows })
}

struct Field {
    name: &'static str,
    label: &'static str,
    value: String,
    long: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "seller/dispute.html")]
struct DisputePage {
    page: Page,
    d: Row,
    past_due: bool,
    fields: Vec<Field>,
    error: Option<String>,
}

fn fields_with(values: &[(&'static str, String)]) -> Vec<Field> {
    EVIDENCE_FIELDS
        .iter()
        .map(|(name, label)| Field {
            name,
            label,
            value: values
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            long: matches!(
                *name,
                "product_description"
                    | "uncategorized_text"
                    | "billing_address"
                    | "shipping_address"
            ),
        })
        .collect()
}

async fn find(state: &AppState, seller_id: &str, id: &str) -> Result<DisputeRow, AppError> {
    db::disputes::one_of_seller(&state.db, seller_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

fn page_for(
    page: Page,
    d: &DisputeRow,
    values: &[(&'static str, String)],
    error: Option<String>,
) -> DisputePage {
    DisputePage {
        page,
        past_due: d.evidence_due_by.is_some_and(|due| db::now_unix() >= due),
        d: Row::of(d),
        fields: fields_with(values),
        error,
    }
}

async fn show(
    page: Page,
    Seller(seller): Seller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<DisputePage, AppError> {
    let d = find(&state, seller.id.as_str(), &path).await?;
    Ok(page_for(page, &d, &[], None))
}

async fn evidence(
    req: HttpRequest,
    Seller(seller): Seller,
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let d = find(&state, seller.id.as_str(), &path).await?;
    let values: Vec<(&'static str, String)> = EVIDENCE_FIELDS
        .iter()
        .map(|(name, _)| (*name, form.get(*name).cloned().unwrap_or_default()))
        .collect();
    let outcome = match check_evidence(&values) {
        Ok(evidence) => {
            submit_evidence(&state.db, &state.stripe, &d, &evidence, db::now_unix()).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => {
            flash::success(
                &session,
                "Your evidence was sent to the buyer's bank. The decision usually takes 60 to 75 days.",
            )?;
            Ok(see_other(&format!("/seller/disputes/{}", d.id)))
        }
        Err(EvidenceError::Db(e)) => Err(e.into()),
        Err(e) => {
            let page = Page::load(&req).await?;
            let tpl = page_for(page, &d, &values, Some(e.to_string()));
            render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl)
        }
    }
}
