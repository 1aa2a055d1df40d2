//! Sign up, log in, log out. Email verification and password reset live in
//! `recovery`, the logged-in person's security page in `security`.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::accounts::{self, RegisterError, SignUp};
use crate::auth::csrf::CsrfForm;
use crate::auth::extractors::MaybeUser;
use crate::auth::{password, session, throttle};
use crate::db;
use crate::domain::{Email, Password, Role};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::client_ip::client_ip;
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
    .route("/signup/sent", web::get().to(check_inbox))
    .route("/logout", web::post().to(logout));
    crate::auth::recovery::configure(cfg);
    crate::auth::security::configure(cfg);
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
        let now = db::now_unix();
        let ip = client_ip(&req);
        throttle::reserve(
            &state.db,
            &[
                (throttle::SIGNUP_IP, &ip),
                (throttle::SIGNUP_EMAIL, email.as_str()),
            ],
            now,
        )
        .await?;
        // A taken address gets the same page as a new one; its owner is mailed instead.
        match accounts::sign_up(&state.db, &state.settings.base_url, email, password, role).await {
            Ok(SignUp::Created(user)) => {
                tracing::info!(user_id = %user.id, role = %role, %ip, "account created");
            }
            Ok(SignUp::AlreadyRegistered) => {
                tracing::info!(%ip, "sign-up with a registered email; owner notified");
            }
            Err(RegisterError::Db(e)) => return Err(e.into()),
            Err(e) => return Err(AppError::Internal(e.to_string())),
        }
        return Ok(see_other("/signup/sent"));
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
#[template(path = "auth/check_inbox.html")]
struct CheckInboxPage {
    page: Page,
}

async fn check_inbox(page: Page) -> Result<HttpResponse, AppError> {
    render_with_status(StatusCode::OK, &CheckInboxPage { page })
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

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<LoginInput>,
) -> Result<HttpResponse, AppError> {
    let db = &state.db;
    let email_key = Email::normalise(&input.email);
    let ip = client_ip(&req);
    let now = db::now_unix();

    // The attempt counts before the (slow) password check, atomically, so
    // parallel guesses cannot all pass a check made before any was recorded.
    throttle::reserve(
        db,
        &[
            (throttle::LOGIN_EMAIL, &email_key),
            (throttle::LOGIN_IP, &ip),
        ],
        now,
    )
    .await
    .inspect_err(|_| tracing::warn!(%ip, "log-in throttled"))?;

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
            // Success forgives earlier typos for this email, at this address too.
            throttle::forgive_login(db, &email_key, &ip).await?;
            let session = req.get_session();
            let cart = crate::storefront::cart::take_session_cart(&session);
            session::log_in(&session, &c.user.id, c.user.session_epoch)?;
            crate::storefront::cart::merge_into(db, &c.user, cart).await?;
            flash::success(&session, "You are logged in.")?;
            tracing::info!(user_id = %c.user.id, "logged in");
            Ok(see_other(c.user.role.home_path()))
        }
        _ => {
            tracing::info!(%ip, "log-in failed");
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
pub(crate) struct NoFields {}

async fn logout(req: HttpRequest, _: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    let session = req.get_session();
    session::log_out(&session);
    flash::info(&session, "You are logged out.")?;
    Ok(see_other("/"))
}
