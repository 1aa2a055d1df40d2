//! Who is calling. Put `Buyer`, `Seller` or `Admin` in a handler's arguments
//! and only that role gets in: anonymous visitors are sent to the log-in page,
//! other roles get a 403 page.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use crate::auth::session;
use crate::db::{self, users::User};
use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;

/// Cached per request so the layout and the role extractor share one query.
#[derive(Clone)]
struct LoadedUser(Option<User>);

pub async fn load_user(req: &HttpRequest) -> Result<Option<User>, AppError> {
    if let Some(LoadedUser(u)) = req.extensions().get::<LoadedUser>() {
        return Ok(u.clone());
    }
    let session = req.get_session();
    let user = match session::user_id(&session) {
        Some(id) => {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal("AppState missing".into()))?;
            let user = db::users::find_by_id(&state.db, &id).await?;
            match user {
                Some(user) => {
                    match session::check(&session, &user, &state.settings, db::now_unix()) {
                        Ok(()) => Some(user),
                        Err(why) => {
                            tracing::info!(user_id = %user.id, reason = ?why, "session ended");
                            session::log_out(&session);
                            None
                        }
                    }
                }
                None => {
                    // The account is gone: end the stale session.
                    session::log_out(&session);
                    None
                }
            }
        }
        None => None,
    };
    req.extensions_mut().insert(LoadedUser(user.clone()));
    Ok(user)
}

type UserFuture<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

fn require(req: &HttpRequest, role: Option<Role>) -> UserFuture<User> {
    let req = req.clone();
    Box::pin(async move {
        let user = load_user(&req).await?.ok_or(AppError::LoginRequired)?;
        match role {
            Some(r) if user.role != r => Err(AppError::Forbidden),
            _ => Ok(user),
        }
    })
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub User);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = UserFuture<Self>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let fut = require(req, $role);
                Box::pin(async move { fut.await.map($name) })
            }
        }
    };
}

role_extractor!(
    /// Any logged-in account.
    CurrentUser,
    None
);
role_extractor!(Buyer, Some(Role::Buyer));
role_extractor!(Seller, Some(Role::Seller));
role_extractor!(Admin, Some(Role::Admin));

/// The account if someone is logged in; never rejects.
pub struct MaybeUser(pub Option<User>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = UserFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load_user(&req).await.map(MaybeUser) })
    }
}
