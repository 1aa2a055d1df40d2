//! The audit log, newest first, filterable by action.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::Section;
use super::view::{self, Change};
use crate::auth::Admin;
use crate::db::{self, audit::Cursor};
use crate::domain::audit::AuditAction;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;

const PER_PAGE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/audit", web::get().to(list));
}

pub struct EntryView {
    pub when: String,
    pub actor: String,
    pub action: &'static str,
    pub subject_kind: String,
    pub subject_id: String,
    /// Where the subject is shown, when it has a page.
    pub subject_href: Option<String>,
    pub reason: Option<String>,
    pub changes: Vec<Change>,
}

impl EntryView {
    pub fn of(e: db::audit::Entry) -> EntryView {
        let subject_href = match e.subject_kind.as_str() {
            db::seller_admin::SUBJECT => Some(format!("/admin/sellers/{}", e.subject_id)),
            db::event_admin::EVENT_SUBJECT => Some(format!("/admin/events/{}", e.subject_id)),
            db::event_admin::RUN_SUBJECT => Some(format!("/admin/reconcile/{}", e.subject_id)),
            db::refunds::SUBJECT => Some(format!("/admin/orders/{}", e.subject_id)),
            _ => None,
        };
        EntryView {
            when: view::when(e.created_at),
            changes: view::changes(&e.before_json, &e.after_json),
            actor: e.actor_email,
            action: e.action.label(),
            subject_kind: e.subject_kind,
            subject_id: e.subject_id,
            subject_href,
            reason: e.reason,
        }
    }
}

#[derive(Deserialize)]
struct Query {
    #[serde(default)]
    action: String,
    #[serde(default)]
    before: String,
}

struct ActionOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: Page,
    section: Section,
    actions: Vec<ActionOption>,
    entries: Vec<EntryView>,
    filtered: bool,
    first_page: bool,
    /// Query string of the next (older) page, if there is one.
    next: Option<String>,
    /// Query string of the first page with the same filter.
    first: String,
}

async fn list(
    page: Page,
    _admin: Admin,
    query: web::Query<Query>,
    state: web::Data<AppState>,
) -> Result<AuditPage, AppError> {
    let action = match query.action.as_str() {
        "" => None,
        a => Some(
            a.parse::<AuditAction>()
                .map_err(|e| AppError::BadRequest(e.to_string()))?,
        ),
    };
    let before = match query.before.as_str() {
        "" => None,
        c => Some(
            Cursor::decode(c)
                .ok_or_else(|| AppError::BadRequest(format!("bad audit cursor {c}")))?,
        ),
    };
    let mut entries = db::audit::page(&state.db, action, before.as_ref(), PER_PAGE + 1).await?;
    let more = entries.len() as i64 > PER_PAGE;
    entries.truncate(PER_PAGE as usize);
    let filter = action
        .map(|a| format!("action={}&", a.as_str()))
        .unwrap_or_default();
    let next = more
        .then(|| entries.last().map(Cursor::of))
        .flatten()
        .map(|c| format!("?{filter}before={}", c.encode()));
    Ok(AuditPage {
        page,
        section: Section::Audit,
        actions: AuditAction::ALL
            .into_iter()
            .map(|a| ActionOption {
                value: a.as_str(),
                label: a.label(),
                selected: Some(a) == action,
            })
            .collect(),
        entries: entries.into_iter().map(EntryView::of).collect(),
        filtered: action.is_some(),
        first_page: before.is_none(),
        next,
        first: format!("?{}", filter.trim_end_matches('&')),
    })
}
