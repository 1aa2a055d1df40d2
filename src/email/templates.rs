//! Email bodies, rendered from templates/email/ as plain text and HTML.

use askama::Template;

use super::OutgoingEmail;
use crate::db::users::User;
use crate::domain::Role;

#[derive(Template)]
#[template(path = "email/welcome.txt")]
struct WelcomeText<'a> {
    role: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "email/welcome.html")]
struct WelcomeHtml<'a> {
    role: &'a str,
    link: &'a str,
}

pub fn welcome(user: &User, base_url: &str) -> Result<OutgoingEmail, askama::Error> {
    let link = format!("{base_url}{}", user.role.home_path());
    let role = user.role.as_str();
    let subject = match user.role {
        Role::Admin => "An admin account was created for you",
        Role::Seller => "Welcome to Marketplace — your shop is ready",
        Role::Buyer => "Welcome to Marketplace",
    };
    Ok(OutgoingEmail {
        to: user.email.clone(),
        subject: subject.to_string(),
        text: WelcomeText { role, link: &link }.render()?,
        html: WelcomeHtml { role, link: &link }.render()?,
    })
}
