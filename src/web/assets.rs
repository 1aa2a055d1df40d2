//! Static files compiled into the binary, so the server works from any working
//! directory. URLs carry a content hash, which lets browsers cache them for a year.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/app.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
];

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for a in ASSETS {
        h.update(a.body);
    }
    hex::encode(&h.finalize()[..6])
});

/// `/static/<name>?v=<hash>`, for templates.
pub fn url(name: &str) -> String {
    format!("/static/{name}?v={}", VERSION.as_str())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{name}", web::get().to(serve))
        .route("/favicon.ico", web::get().to(favicon));
}

async fn serve(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.name == name.as_str()) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::ETAG, format!("\"{}\"", VERSION.as_str())))
            .body(a.body),
        None => crate::error::generic_page(actix_web::http::StatusCode::NOT_FOUND),
    }
}

async fn favicon() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, url("favicon.svg")))
        .finish()
}
