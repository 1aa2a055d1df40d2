//! "Account security" for any logged-in person: email confirmation status
//! (with the resend button), changing the password, and logging out everywhere.
//! A password change and log-out-everywhere bump the account's session epoch,
//! which ends every other session cookie, copies included.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::accounts::{self, RegisterError};
use crate::auth::csrf::CsrfForm;
use crate::auth::extractors::CurrentUser;
use crate::auth::routes::NoFields;
use crate::auth::{password, session, throttle};
use crate::db::{self, users::User};
use crate::domain::{Password, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::client_ip::client_ip;
use crate::web::forms::FieldErrors;
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/security", web::get().to(overview))
        .service(
            web::resource("/account/password")
                .route(web::get().to(password_form))
                .route(web::post().to(change_password)),
        )
        .route(
            "/account/logout-everywhere",
            web::post().to(logout_everywhere),
        );
}

#[derive(Template)]
#[template(path = "auth/security.html")]
struct SecurityPage {
    page: Page,
    user: User,
    verified_on: Option<String>,
}

async fn overview(page: Page, CurrentUser(user): CurrentUser) -> Result<HttpResponse, AppError> {
    let verified_on = user.email_verified_at.map(time::ymd);
    render_with_status(
        StatusCode::OK,
        &SecurityPage {
            page,
            user,
            verified_on,
        },
    )
}

#[derive(Template)]
#[template(path = "auth/change_password.html")]
struct PasswordPage {
    page: Page,
    errors: FieldErrors,
}

async fn password_form(page: Page, _: CurrentUser) -> Result<HttpResponse, AppError> {
    render_with_status(
        StatusCode::OK,
        &PasswordPage {
            page,
            errors: FieldErrors::default(),
        },
    )
}

#[derive(Deserialize)]
struct ChangeInput {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    CsrfForm(input): CsrfForm<ChangeInput>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let new = Password::parse(input.new_password)
        .map_err(|e| errors.add("new_password", e.to_string()))
        .ok();
    if input.current_password.is_empty() {
        errors.add("current_password", "Enter your current password.");
    }
    if errors.is_empty() {
        // Checking the current password is a log-in attempt: same throttle.
        let now = db::now_unix();
        let ip = client_ip(&req);
        throttle::reserve(
            &state.db,
            &[
                (throttle::LOGIN_EMAIL, &user.email),
                (throttle::LOGIN_IP, &ip),
            ],
            now,
        )
        .await?;
        let stored = db::users::password_hash(&state.db, &user.id).await?;
        let ok = password::verify(input.current_password, stored)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if !ok {
            errors.add("current_password", "That is not your current password.");
        } else if let Some(new) = &new {
            throttle::forgive_login(&state.db, &user.email, &ip).await?;
            let epoch = accounts::change_password(&state.db, &state.settings.base_url, &user, new)
                .await
                .map_err(|e| match e {
                    RegisterError::Db(e) => e.into(),
                    e => AppError::Internal(e.to_string()),
                })?;
            // This session continues under the new epoch; all others end.
            let session = req.get_session();
            session::log_in(&session, &user.id, epoch)?;
            flash::success(
                &session,
                "Your password was changed. Every other device was logged out.",
            )?;
            tracing::info!(user_id = %user.id, "password changed");
            return Ok(see_other("/account/security"));
        }
    }
    let page = Page::load(&req).await?;
    render_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &PasswordPage { page, errors },
    )
}

async fn logout_everywhere(
    req: HttpRequest,
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    db::users::bump_session_epoch(&state.db, &user.id).await?;
    tracing::info!(user_id = %user.id, "logged out everywhere");
    let session = req.get_session();
    session::log_out(&session);
    flash::info(&session, "You are logged out on every device.")?;
    Ok(see_other("/login"))
}
