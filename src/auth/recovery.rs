//! Email verification (link from the sign-up mail, resend button) and password
//! reset (request a link, choose a new password). The reset request answers the
//! same whether or not the email has an account.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::accounts::{self, RegisterError};
use crate::auth::csrf::CsrfForm;
use crate::auth::extractors::{CurrentUser, MaybeUser};
use crate::auth::routes::NoFields;
use crate::auth::throttle;
use crate::db;
use crate::domain::{Email, Password};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::client_ip::client_ip;
use crate::web::forms::FieldErrors;
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/email/verify", web::get().to(verify))
        .route("/email/resend", web::post().to(resend))
        .service(
            web::resource("/password/forgot")
                .route(web::get().to(forgot_form))
                .route(web::post().to(forgot)),
        )
        .service(
            web::resource("/password/reset")
                .route(web::get().to(reset_form))
                .route(web::post().to(reset)),
        );
}

fn internal(e: RegisterError) -> AppError {
    match e {
        RegisterError::Db(e) => e.into(),
        e => AppError::Internal(e.to_string()),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "auth/link_invalid.html")]
struct LinkInvalidPage {
    page: Page,
    /// `verify` or `reset`: what to offer instead.
    kind: &'static str,
}

async fn link_invalid(req: &HttpRequest, kind: &'static str) -> Result<HttpResponse, AppError> {
    let page = Page::load(req).await?;
    render_with_status(StatusCode::BAD_REQUEST, &LinkInvalidPage { page, kind })
}

/// The link from the verification mail. A GET, so one click in a mail client
/// is enough; the token is single-use, so a replay changes nothing.
async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    MaybeUser(current): MaybeUser,
) -> Result<HttpResponse, AppError> {
    let verified = accounts::verify_email(&state.db, &state.settings.base_url, &query.token)
        .await
        .map_err(internal)?;
    let Some(user) = verified else {
        return link_invalid(&req, "verify").await;
    };
    tracing::info!(user_id = %user.id, "email verified");
    let session = req.get_session();
    flash::success(&session, "Your email address is confirmed.")?;
    match current {
        Some(c) if c.id == user.id => Ok(see_other(user.role.home_path())),
        _ => Ok(see_other("/login")),
    }
}

async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let session = req.get_session();
    if user.email_verified() {
        flash::info(&session, "Your email address is already confirmed.")?;
        return Ok(see_other("/account/security"));
    }
    throttle::reserve(
        &state.db,
        &[(throttle::RESEND_USER, user.id.as_str())],
        db::now_unix(),
    )
    .await?;
    accounts::resend_verification(&state.db, &state.settings.base_url, &user)
        .await
        .map_err(internal)?;
    flash::success(
        &session,
        format!("We sent a new confirmation link to {}.", user.email),
    )?;
    Ok(see_other("/account/security"))
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    page: Page,
    email: String,
    errors: FieldErrors,
    sent: bool,
}

async fn forgot_form(page: Page) -> Result<HttpResponse, AppError> {
    render_with_status(
        StatusCode::OK,
        &ForgotPage {
            page,
            email: String::new(),
            errors: FieldErrors::default(),
            sent: false,
        },
    )
}

#[derive(Deserialize)]
struct ForgotInput {
    #[serde(default)]
    email: String,
}

async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<ForgotInput>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    match Email::parse(&input.email) {
        Ok(email) => {
            let ip = client_ip(&req);
            // Counted per address typed, registered or not, so the limit
            // itself reveals nothing.
            throttle::reserve(
                &state.db,
                &[
                    (throttle::RESET_IP, &ip),
                    (throttle::RESET_EMAIL, email.as_str()),
                ],
                db::now_unix(),
            )
            .await?;
            accounts::request_password_reset(&state.db, &state.settings.base_url, &email)
                .await
                .map_err(internal)?;
            tracing::info!(%ip, "password reset requested");
            let page = Page::load(&req).await?;
            return render_with_status(
                StatusCode::OK,
                &ForgotPage {
                    page,
                    email: email.as_str().to_string(),
                    errors,
                    sent: true,
                },
            );
        }
        Err(e) => errors.add("email", e.to_string()),
    }
    let page = Page::load(&req).await?;
    render_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ForgotPage {
            page,
            email: input.email.trim().to_string(),
            errors,
            sent: false,
        },
    )
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    page: Page,
    token: String,
    errors: FieldErrors,
}

async fn reset_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    if !accounts::reset_token_is_valid(&state.db, &query.token).await? {
        return link_invalid(&req, "reset").await;
    }
    let page = Page::load(&req).await?;
    render_with_status(
        StatusCode::OK,
        &ResetPage {
            page,
            token: query.into_inner().token,
            errors: FieldErrors::default(),
        },
    )
}

#[derive(Deserialize)]
struct ResetInput {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<ResetInput>,
) -> Result<HttpResponse, AppError> {
    let password = match Password::parse(input.password) {
        Ok(p) => p,
        Err(e) => {
            if !accounts::reset_token_is_valid(&state.db, &input.token).await? {
                return link_invalid(&req, "reset").await;
            }
            let mut errors = FieldErrors::default();
            errors.add("password", e.to_string());
            let page = Page::load(&req).await?;
            return render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    page,
                    token: input.token,
                    errors,
                },
            );
        }
    };
    throttle::reserve(
        &state.db,
        &[(throttle::NEW_PASSWORD_IP, &client_ip(&req))],
        db::now_unix(),
    )
    .await?;
    let Some(user) =
        accounts::reset_password(&state.db, &state.settings.base_url, &input.token, &password)
            .await
            .map_err(internal)?
    else {
        return link_invalid(&req, "reset").await;
    };
    // Typos before the reset no longer lock the owner out.
    throttle::forget(&state.db, throttle::LOGIN_EMAIL, &user.email).await?;
    tracing::info!(user_id = %user.id, "password reset; every session ended");
    let session = req.get_session();
    crate::auth::session::log_out(&session);
    flash::success(
        &session,
        "Your password was changed and every device was logged out. Log in with your new password.",
    )?;
    Ok(see_other("/login"))
}
