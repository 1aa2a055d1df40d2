//! Sign up, log in, log out.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::accounts::{self, RegisterError};
use crate::auth::csrf::CsrfForm;
use crate::auth::extractors::MaybeUser;
use crate::auth::{password, session, throttle};
use crate::db;
use crate::domain::{Email, Password, Role};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::forms::FieldErrors;
use crate::web::page::Page;
use crate::web::{flash, render_with_status, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/signup")
            .route(web::get().to(signup_form))
            .route(web::post().to(signup)),
    )
    .service(
        web::resource("/login")
            .route(web::get().to(login_form))
            .route(web::post().to(login)),
    )
    .route("/logout", web::post().to(logout));
}

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    page: Page,
    email: String,
    role: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct SignupHint {
    role: Option<String>,
}

async fn signup_form(
    req: HttpRequest,
    page: Page,
    MaybeUser(user): MaybeUser,
) -> Result<HttpResponse, AppError> {
    if let Some(user) = user {
        return Ok(see_other(user.role.home_path()));
    }
    let hint = web::Query::<SignupHint>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().role);
    let role = match hint.as_deref() {
        Some("seller") => "seller",
        _ => "buyer",
    };
    render_with_status(
        StatusCode::OK,
        &SignupPage {
            page,
            email: String::new(),
            role: role.to_string(),
            errors: FieldErrors::default(),
        },
    )
}

#[derive(Deserialize)]
struct SignupInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<SignupInput>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let email = Email::parse(&input.email)
        .map_err(|e| errors.add("email", e.to_string()))
        .ok();
    let password = Password::parse(input.password)
        .map_err(|e| errors.add("password", e.to_string()))
        .ok();
    // Admins are created only from the command line, never through this form.
    let role = match input.role.as_str() {
        "buyer" => Some(Role::Buyer),
        "seller" => Some(Role::Seller),
        _ => {
            errors.add("role", "Choose whether you want to buy or to sell.");
            None
        }
    };

    if let (Some(email), Some(password), Some(role)) = (&email, &password, role) {
        match accounts::register(&state.db, &state.settings.base_url, email, password, role).await {
            Ok(user) => {
                let session = req.get_session();
                let cart = crate::storefront::cart::take_session_cart(&session);
                session::log_in(&session, &user.id)?;
                crate::storefront::cart::merge_into(&state.db, &user, cart).await?;
                let welcome = match role {
                    Role::Seller => "Welcome! Your seller account is ready.",
                    _ => "Welcome! Your account is ready.",
                };
                flash::success(&session, welcome)?;
                tracing::info!(user_id = %user.id, role = %role, "account created");
                return Ok(see_other(role.home_path()));
            }
            Err(RegisterError::EmailTaken) => errors.add(
                "email",
                "We could not create an account with this email. If it is yours, log in instead.",
            ),
            Err(RegisterError::Db(e)) => return Err(e.into()),
            Err(e) => return Err(AppError::Internal(e.to_string())),
        }
    }

    let page = Page::load(&req).await?;
    render_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SignupPage {
            page,
            email: input.email.trim().to_string(),
            role: input.role,
            errors,
        },
    )
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    errors: FieldErrors,
}

async fn login_form(page: Page, MaybeUser(user): MaybeUser) -> Result<HttpResponse, AppError> {
    if let Some(user) = user {
        return Ok(see_other(user.role.home_path()));
    }
    render_with_status(
        StatusCode::OK,
        &LoginPage {
            page,
            email: String::new(),
            errors: FieldErrors::default(),
        },
    )
}

#[derive(Deserialize)]
struct LoginInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// The peer address of the TCP connection. Forwarded headers are ignored
/// because anyone can send them; behind a proxy, all clients share its address.
fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<LoginInput>,
) -> Result<HttpResponse, AppError> {
    let db = &state.db;
    let email_key = Email::normalise(&input.email);
    let ip = client_ip(&req);
    let now = db::now_unix();

    if let Some(retry_at) = throttle::blocked_until(db, &email_key, &ip, now).await? {
        tracing::warn!(%ip, "log-in throttled");
        return Err(AppError::TooManyAttempts { retry_at, now });
    }

    let credentials = match Email::parse(&input.email) {
        Ok(email) => db::users::credentials_by_email(db, &email).await?,
        Err(_) => None,
    };
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    let matches = password::verify(input.password, stored)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;

    match credentials {
        Some(c) if matches => {
            throttle::forget(db, &email_key).await?;
            let session = req.get_session();
            let cart = crate::storefront::cart::take_session_cart(&session);
            session::log_in(&session, &c.user.id)?;
            crate::storefront::cart::merge_into(db, &c.user, cart).await?;
            flash::success(&session, "You are logged in.")?;
            tracing::info!(user_id = %c.user.id, "logged in");
            Ok(see_other(c.user.role.home_path()))
        }
        _ => {
            throttle::record_failure(db, &email_key, &ip, now).await?;
            let mut errors = FieldErrors::default();
            // Same words whether the email is unknown or the password wrong.
            errors.add("form", "Email or password is incorrect.");
            let page = Page::load(&req).await?;
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &LoginPage {
                    page,
                    email: input.email.trim().to_string(),
                    errors,
                },
            )
        }
    }
}

#[derive(Deserialize)]
struct NoFields {}

async fn logout(req: HttpRequest, _: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    let session = req.get_session();
    session::log_out(&session);
    flash::info(&session, "You are logged out.")?;
    Ok(see_other("/"))
}
