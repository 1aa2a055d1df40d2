//! Sellers: the list with onboarding state, one seller's page, their fee
//! override, suspension and restoration.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::audit::EntryView;
use super::{Section, onboarding, view};
use crate::auth::{Admin, csrf::CsrfForm};
use crate::db::seller_admin::{self, Actor, Cursor, ListFilter, Outcome, SellerRow};
use crate::db::{self, users::User};
use crate::domain::audit::AuditAction;
use crate::domain::seller_fee::{self, FeeOverride, FeeOverrideErrors};
use crate::domain::{Currency, PlatformFee, UserId, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};

const PER_PAGE: i64 = 50;
/// Recent audit entries shown on a seller's page.
const HISTORY: i64 = 20;
const REASON_MAX: usize = 500;
/// The currency fees are described in on admin pages (the platform's settlement currency).
const FEE_CURRENCY: Currency = Currency::Usd;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/sellers", web::get().to(list))
        .route("/admin/sellers/{id}", web::get().to(show))
        .route("/admin/sellers/{id}/fee", web::post().to(set_fee))
        .route("/admin/sellers/{id}/suspend", web::post().to(suspend))
        .route("/admin/sellers/{id}/restore", web::post().to(restore));
}

fn seller_id(path: &str) -> Result<UserId, AppError> {
    UserId::try_from(path.to_string()).map_err(|_| AppError::NotFound)
}

fn describe_fee(fee: PlatformFee) -> String {
    fee.describe(FEE_CURRENCY)
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    after: String,
}

struct StateOption {
    value: &'static str,
    label: &'static str,
    count: i64,
    selected: bool,
}

struct ListRow {
    id: String,
    name: String,
    email: String,
    state_label: &'static str,
    state_tone: &'static str,
    open_requirements: usize,
    requirements: Vec<String>,
    suspended: bool,
    disconnected: bool,
    fee: String,
    fee_overridden: bool,
    joined: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/sellers.html")]
struct ListPage {
    page: Page,
    section: Section,
    states: Vec<StateOption>,
    total: i64,
    sellers: Vec<ListRow>,
    filtered: bool,
    first_page: bool,
    next: Option<String>,
    first: String,
}

async fn list(
    page: Page,
    _admin: Admin,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<ListPage, AppError> {
    let filter = match query.state.as_str() {
        "" => ListFilter::All,
        "suspended" => ListFilter::Suspended,
        s if onboarding::STATES.iter().any(|(code, _)| *code == s) => ListFilter::State(s),
        s => return Err(AppError::BadRequest(format!("unknown seller state {s}"))),
    };
    let after = match query.after.as_str() {
        "" => None,
        c => Some(
            Cursor::decode(c)
                .ok_or_else(|| AppError::BadRequest(format!("bad seller cursor {c}")))?,
        ),
    };
    let mut rows = seller_admin::list(&state.db, filter, after.as_ref(), PER_PAGE + 1).await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let counts = seller_admin::state_counts(&state.db).await?;
    let count_of = |s: &str| {
        counts
            .by_state
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let mut states: Vec<StateOption> = onboarding::STATES
        .into_iter()
        .map(|(s, label)| StateOption {
            value: s,
            label,
            count: count_of(s),
            selected: filter == ListFilter::State(s),
        })
        .collect();
    states.push(StateOption {
        value: "suspended",
        label: "Suspended",
        count: counts.suspended,
        selected: filter == ListFilter::Suspended,
    });
    let filter_qs = match filter {
        ListFilter::All => String::new(),
        ListFilter::State(s) => format!("state={s}&"),
        ListFilter::Suspended => "state=suspended&".into(),
    };
    let next = more
        .then(|| rows.last().map(Cursor::of))
        .flatten()
        .map(|c| format!("?{filter_qs}after={}", c.encode()));
    let platform = state.platform_fee;
    Ok(ListPage {
        page,
        section: Section::Sellers,
        states,
        total: counts.by_state.iter().map(|(_, n)| n).sum(),
        sellers: rows
            .into_iter()
            .map(|s| {
                let ob = onboarding::describe(&s);
                ListRow {
                    id: s.user_id.to_string(),
                    state_label: ob.label,
                    state_tone: ob.tone,
                    open_requirements: ob.open,
                    requirements: ob.lines,
                    suspended: s.suspended_at.is_some(),
                    disconnected: s.disconnected_at.is_some(),
                    fee: describe_fee(seller_fee::effective_fee(platform, s.fee_override)),
                    fee_overridden: !s.fee_override.is_empty(),
                    joined: time::ymd(s.created_at),
                    name: s.display_name,
                    email: s.email,
                }
            })
            .collect(),
        filtered: filter != ListFilter::All,
        first_page: after.is_none(),
        next,
        first: format!("?{}", filter_qs.trim_end_matches('&')),
    })
}

// ---------------------------------------------------------- a seller's page

/// What the fee form shows: the typed text and its errors.
#[derive(Default)]
struct FeeForm {
    bps: String,
    fixed_minor: String,
    errors: FeeOverrideErrors,
}

#[derive(Default)]
struct ReasonForm {
    reason: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/seller.html")]
struct SellerPage {
    page: Page,
    section: Section,
    id: String,
    name: String,
    email: String,
    joined: String,
    stripe_account_id: Option<String>,
    state_label: &'static str,
    state_tone: &'static str,
    read_at: Option<String>,
    details_submitted: bool,
    charges_enabled: bool,
    payouts_enabled: bool,
    requirements: Vec<String>,
    disconnected_at: Option<String>,
    suspended_at: Option<String>,
    suspended_reason: Option<String>,
    products_listed: i64,
    products_published: i64,
    products_sellable: i64,
    fee_in_effect: String,
    fee_overridden: bool,
    platform_fee: String,
    platform_bps: u32,
    platform_fixed: i64,
    fee_form: FeeForm,
    reason_form: ReasonForm,
    entries: Vec<EntryView>,
}

impl SellerPage {
    async fn load(
        page: Page,
        state: &AppState,
        s: SellerRow,
        fee_form: Option<FeeForm>,
        reason_form: ReasonForm,
    ) -> Result<SellerPage, AppError> {
        let counts = seller_admin::product_counts(&state.db, &s.user_id).await?;
        let entries = db::audit::for_subject(
            &state.db,
            seller_admin::SUBJECT,
            s.user_id.as_str(),
            HISTORY,
        )
        .await?;
        // The reason shown for a suspension is the one logged with it.
        let suspended_reason = s
            .suspended_at
            .and_then(|_| {
                entries
                    .iter()
                    .find(|e| e.action == AuditAction::SellerSuspend)
            })
            .and_then(|e| e.reason.clone());
        let entries: Vec<EntryView> = entries.into_iter().map(EntryView::of).collect();
        let platform = state.platform_fee;
        let fee_form = fee_form.unwrap_or_else(|| FeeForm {
            bps: s
                .fee_override
                .bps
                .map(|v| v.to_string())
                .unwrap_or_default(),
            fixed_minor: s
                .fee_override
                .fixed_minor
                .map(|v| v.to_string())
                .unwrap_or_default(),
            errors: FeeOverrideErrors::default(),
        });
        let ob = onboarding::describe(&s);
        Ok(SellerPage {
            page,
            section: Section::Sellers,
            id: s.user_id.to_string(),
            name: s.display_name,
            email: s.email,
            joined: time::ymd(s.created_at),
            stripe_account_id: s.stripe_account_id,
            state_label: ob.label,
            state_tone: ob.tone,
            read_at: s.account_read_at.map(view::when),
            details_submitted: s.details_submitted,
            charges_enabled: s.charges_enabled,
            payouts_enabled: s.payouts_enabled,
            requirements: ob.lines,
            disconnected_at: s.disconnected_at.map(view::when),
            suspended_at: s.suspended_at.map(view::when),
            suspended_reason,
            products_listed: counts.listed,
            products_published: counts.published,
            products_sellable: counts.sellable,
            fee_in_effect: describe_fee(seller_fee::effective_fee(platform, s.fee_override)),
            fee_overridden: !s.fee_override.is_empty(),
            platform_fee: describe_fee(platform),
            platform_bps: platform.bps,
            platform_fixed: platform.fixed_minor,
            fee_form,
            reason_form,
            entries,
        })
    }
}

async fn find(state: &AppState, id: &str) -> Result<SellerRow, AppError> {
    seller_admin::find(&state.db, &seller_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

async fn show(
    page: Page,
    _admin: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<SellerPage, AppError> {
    let s = find(&state, &path).await?;
    SellerPage::load(page, &state, s, None, ReasonForm::default()).await
}

fn actor(admin: &User) -> Actor<'_> {
    Actor {
        id: &admin.id,
        email: &admin.email,
    }
}

// ------------------------------------------------------------ fee override

#[derive(Deserialize)]
struct FeeFields {
    #[serde(default)]
    fee_bps: String,
    #[serde(default)]
    fee_fixed_minor: String,
    /// "Use the platform fee" submits this instead of the two numbers.
    #[serde(default)]
    clear: Option<String>,
}

async fn set_fee(
    req: HttpRequest,
    Admin(admin): Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<FeeFields>,
) -> Result<HttpResponse, AppError> {
    let s = find(&state, &path).await?;
    let parsed = if form.clear.is_some() {
        Ok(FeeOverride::default())
    } else {
        seller_fee::parse_override(&form.fee_bps, &form.fee_fixed_minor)
    };
    let new = match parsed {
        Ok(new) => new,
        Err(errors) => {
            let fee_form = FeeForm {
                bps: form.fee_bps,
                fixed_minor: form.fee_fixed_minor,
                errors,
            };
            let page = Page::load(&req).await?;
            let tpl =
                SellerPage::load(page, &state, s, Some(fee_form), ReasonForm::default()).await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl);
        }
    };
    let outcome =
        seller_admin::set_fee_override(&state.db, &s.user_id, &actor(&admin), new, db::now_unix())
            .await?;
    let fee = describe_fee(seller_fee::effective_fee(state.platform_fee, new));
    match outcome {
        Outcome::Changed if new.is_empty() => flash::success(
            &session,
            format!("{} now pays the platform fee ({fee}).", s.display_name),
        )?,
        Outcome::Changed => flash::success(
            &session,
            format!("{} now pays {fee} per order.", s.display_name),
        )?,
        Outcome::Unchanged => flash::info(
            &session,
            format!("Nothing changed: {} already pays {fee}.", s.display_name),
        )?,
        Outcome::NotFound => return Err(AppError::NotFound),
    }
    Ok(see_other(&format!("/admin/sellers/{}", s.user_id)))
}

// ------------------------------------------------------- suspend / restore

#[derive(Deserialize)]
struct ReasonFields {
    #[serde(default)]
    reason: String,
}

enum Toggle {
    Suspend,
    Restore,
}

async fn suspend(
    req: HttpRequest,
    admin: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: Session,
    form: CsrfForm<ReasonFields>,
) -> Result<HttpResponse, AppError> {
    toggle(Toggle::Suspend, req, admin, path, state, session, form).await
}

async fn restore(
    req: HttpRequest,
    admin: Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: Session,
    form: CsrfForm<ReasonFields>,
) -> Result<HttpResponse, AppError> {
    toggle(Toggle::Restore, req, admin, path, state, session, form).await
}

async fn toggle(
    what: Toggle,
    req: HttpRequest,
    Admin(admin): Admin,
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<ReasonFields>,
) -> Result<HttpResponse, AppError> {
    let s = find(&state, &path).await?;
    let reason = form.reason.trim();
    let error = if reason.is_empty() {
        Some("Write down why: the reason goes into the audit log.".to_string())
    } else if reason.chars().count() > REASON_MAX {
        Some(format!("Keep the reason under {REASON_MAX} characters."))
    } else {
        None
    };
    if let Some(error) = error {
        let page = Page::load(&req).await?;
        let reason_form = ReasonForm {
            reason: form.reason,
            error: Some(error),
        };
        let tpl = SellerPage::load(page, &state, s, None, reason_form).await?;
        return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl);
    }
    let now = db::now_unix();
    let name = &s.display_name;
    match what {
        Toggle::Suspend => {
            match seller_admin::suspend(&state.db, &s.user_id, &actor(&admin), reason, now).await? {
                Outcome::Changed => flash::success(
                    &session,
                    format!("{name} is suspended: their products are hidden and cannot be bought."),
                )?,
                Outcome::Unchanged => {
                    flash::info(&session, format!("{name} was already suspended."))?
                }
                Outcome::NotFound => return Err(AppError::NotFound),
            }
        }
        Toggle::Restore => {
            match seller_admin::restore(&state.db, &s.user_id, &actor(&admin), reason, now).await? {
                Outcome::Changed => flash::success(
                    &session,
                    format!("{name} is restored: their shop is open again."),
                )?,
                Outcome::Unchanged => flash::info(&session, format!("{name} was not suspended."))?,
                Outcome::NotFound => return Err(AppError::NotFound),
            }
        }
    }
    Ok(see_other(&format!("/admin/sellers/{}", s.user_id)))
}
