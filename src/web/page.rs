//! What the base layout needs on every page: who is looking (for the nav), the
//! CSRF token (for the log-out form and every other form), flash messages and
//! whether payments are simulated.

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::auth::{csrf, extractors::load_user};
use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::assets;
use crate::web::flash::{self, Flash};

pub struct NavUser {
    pub email: String,
    pub role: Role,
    /// The layout asks unverified people to confirm their email.
    pub verified: bool,
}

pub struct Page {
    pub user: Option<NavUser>,
    pub flashes: Vec<Flash>,
    /// The session the CSRF token comes from, made on first use: a visitor who only browses
    /// (no form on the page) gets no session cookie, and no page pays for one it does not need.
    session: Option<Session>,
    csrf: OnceCell<String>,
    pub simulated_payments: bool,
    pub css_url: String,
    pub icon_url: String,
}

impl Page {
    /// For error pages, which are rendered without access to the request.
    pub fn bare() -> Page {
        Page {
            user: None,
            flashes: Vec::new(),
            session: None,
            csrf: OnceCell::new(),
            simulated_payments: false,
            css_url: assets::url("app.css"),
            icon_url: assets::url("favicon.svg"),
        }
    }

    /// The session's CSRF token for a form on this page (created, and the session cookie
    /// set, on first use). Empty on a bare error page, whose forms would then be refused with
    /// a clear 403 rather than a broken page.
    pub fn csrf_token(&self) -> &str {
        self.csrf.get_or_init(|| {
            let Some(session) = &self.session else {
                return String::new();
            };
            csrf::token(session).unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot store the CSRF token in the session");
                String::new()
            })
        })
    }

    pub fn is_buyer(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Buyer)
    }

    pub fn is_seller(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Seller)
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Admin)
    }
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Page::load(&req).await })
    }
}

impl Page {
    /// Handlers that render only on some paths (a form with errors) call this
    /// instead of extracting, so flash messages are not consumed by a redirect.
    pub async fn load(req: &HttpRequest) -> Result<Page, AppError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| AppError::Internal("AppState missing".into()))?
            .clone();
        let user = load_user(req).await?;
        let session = req.get_session();
        Ok(Page {
            user: user.map(|u| NavUser {
                verified: u.email_verified(),
                email: u.email,
                role: u.role,
            }),
            flashes: flash::take(&session),
            session: Some(session),
            csrf: OnceCell::new(),
            simulated_payments: state.simulated_payments,
            css_url: assets::url("app.css"),
            icon_url: assets::url("favicon.svg"),
        })
    }
}
