//! "Sent mail": what the file outbox (DATA_DIR/outbox, used when SMTP_URL is
//! empty) holds, newest first, each message viewable. The HTML part is shown
//! as escaped source, never injected into our page.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::Admin;
use crate::email::outbox::{self, StoredMail};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;

/// One screen of messages.
const PER_PAGE: usize = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/mail", web::get().to(list))
        .route("/admin/mail/{name}", web::get().to(show));
}

fn written(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}",
        crate::domain::time::ymd(unix),
        secs / 3600,
        (secs % 3600) / 60
    )
}

struct Row {
    name: String,
    to: String,
    subject: String,
    written: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/mail.html")]
struct ListPage {
    page: Page,
    section: super::Section,
    rows: Vec<Row>,
    /// SMTP is configured: new mail no longer lands in the outbox.
    smtp: bool,
}

async fn list(page: Page, _admin: Admin, state: web::Data<AppState>) -> Result<ListPage, AppError> {
    let dir = outbox::dir(&state.settings);
    let rows = outbox::list(&dir, PER_PAGE)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .into_iter()
        .map(|m| Row {
            written: written(m.written_at),
            name: m.name,
            to: m.email.to,
            subject: m.email.subject,
        })
        .collect();
    Ok(ListPage {
        page,
        section: super::Section::Mail,
        rows,
        smtp: state.settings.smtp_url.is_some(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/mail_message.html")]
struct MessagePage {
    page: Page,
    section: super::Section,
    mail: StoredMail,
    written: String,
}

async fn show(
    page: Page,
    _admin: Admin,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<MessagePage, AppError> {
    let dir = outbox::dir(&state.settings);
    let mail = outbox::read(&dir, &name)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .ok_or(AppError::NotFound)?;
    Ok(MessagePage {
        page,
        section: super::Section::Mail,
        written: written(mail.written_at),
        mail,
    })
}
