//! What a resource handler sees: the request context and the route table types.

use actix_web::http::Method;
use serde_json::{Map, Value};

use crate::auth::KeyKind;
use crate::error::{ApiError, ApiResult};
use crate::form::Params;
use crate::store::{Obj, State};

/// One API request being executed, with the store locked.
pub struct Ctx<'a> {
    pub st: &'a mut State,
    /// The platform account of the API key.
    pub platform: String,
    /// The account acted on: the `Stripe-Account` header, or the platform itself.
    pub account: String,
    pub key_kind: KeyKind,
    pub request_id: String,
    pub idempotency_key: Option<String>,
    /// Values of the `{…}` segments of the route pattern, in order.
    pub path: Vec<String>,
    /// `http://127.0.0.1:PORT`, for URLs of hosted pages.
    pub base_url: String,
    pub now: i64,
}

impl Ctx<'_> {
    pub fn path(&self, i: usize) -> &str {
        self.path.get(i).map(String::as_str).unwrap_or_default()
    }

    /// Whether the request acts on a connected account (`Stripe-Account` given).
    pub fn is_connected(&self) -> bool {
        self.account != self.platform
    }

    /// An object of `kind` on the acting account, or Stripe's 404.
    pub fn get(&self, kind: &str, id: &str, param: &str) -> ApiResult<&Obj> {
        self.st
            .find(&self.account, kind, id)
            .ok_or_else(|| ApiError::no_such(kind, id, param))
    }

    pub fn get_mut(&mut self, kind: &str, id: &str, param: &str) -> ApiResult<&mut Obj> {
        let account = self.account.clone();
        self.st
            .find_mut(&account, kind, id)
            .ok_or_else(|| ApiError::no_such(kind, id, param))
    }

    /// Inserts an object on the acting account and returns its JSON.
    pub fn insert(&mut self, json: Value, internal: Map<String, Value>) -> Value {
        let account = self.account.clone();
        self.st.insert(&account, json, internal).json.clone()
    }

    /// Records an event for the acting account (see [`crate::events::emit`]).
    pub fn emit(&mut self, event_type: &str, object: &Value, previous: Option<Value>) -> String {
        let account = self.account.clone();
        self.emit_on(&account, event_type, object, previous)
    }

    /// Records an event on another account (e.g. `application_fee.created` on the platform).
    pub fn emit_on(
        &mut self,
        account: &str,
        event_type: &str,
        object: &Value,
        previous: Option<Value>,
    ) -> String {
        let request = crate::events::EventRequest {
            id: Some(self.request_id.clone()),
            idempotency_key: self.idempotency_key.clone(),
        };
        crate::events::emit(self.st, account, event_type, object, previous, request)
    }
}

pub type Handler = fn(&mut Ctx, &Params) -> ApiResult<Value>;

/// One API route. `pattern` segments in braces are captured into [`Ctx::path`].
#[derive(Clone)]
pub struct Route {
    pub method: Method,
    pub pattern: &'static str,
    pub handler: Handler,
    /// Whether a publishable key may call it (creating payment methods, confirming with a
    /// client secret).
    pub publishable: bool,
}

impl Route {
    pub fn get(pattern: &'static str, handler: Handler) -> Route {
        Route {
            method: Method::GET,
            pattern,
            handler,
            publishable: false,
        }
    }
    pub fn post(pattern: &'static str, handler: Handler) -> Route {
        Route {
            method: Method::POST,
            pattern,
            handler,
            publishable: false,
        }
    }
    pub fn delete(pattern: &'static str, handler: Handler) -> Route {
        Route {
            method: Method::DELETE,
            pattern,
            handler,
            publishable: false,
        }
    }
    pub fn publishable(mut self) -> Route {
        self.publishable = true;
        self
    }

    /// Captured path values if `path` matches this route's pattern.
    pub fn matches(&self, path: &str) -> Option<Vec<String>> {
        let pat: Vec<&str> = self.pattern.trim_matches('/').split('/').collect();
        let got: Vec<&str> = path
            .trim_end_matches('/')
            .trim_start_matches('/')
            .split('/')
            .collect();
        if pat.len() != got.len() {
            return None;
        }
        let mut caps = Vec::new();
        for (p, g) in pat.iter().zip(got.iter()) {
            if p.starts_with('{') {
                if g.is_empty() {
                    return None;
                }
                caps.push((*g).to_string());
            } else if p != g {
                return None;
            }
        }
        Some(caps)
    }
}
