//! Cross-cutting web pieces: the layout context every page gets, flash
//! messages, middleware, health endpoints and the embedded static assets.

pub mod assets;
pub mod chart;
pub mod client_ip;
pub mod flash;
pub mod forms;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod page;
pub mod uploads;

use actix_web::HttpResponse;
use actix_web::http::header;

/// Post/redirect/get: every successful form submission ends here.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Renders a template with a status other than 200 (e.g. 422 for a form with errors).
pub fn render_with_status(
    status: actix_web::http::StatusCode,
    template: &impl askama::Template,
) -> Result<HttpResponse, crate::error::AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(template.render()?))
}
