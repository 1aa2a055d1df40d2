//! The hosted page of a Checkout Session in setup mode (`session.url`): a card form that works
//! without JavaScript. Card details are checked on the page like Stripe's form does (number,
//! expiry, security code) and re-shown with the error; a good card is saved through the
//! session's SetupIntent and the browser goes to `success_url`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::api::Ctx;
use crate::resources::{checkout_sessions, payment_methods};
use crate::server::SharedSim;
use crate::testcards::{self, TestCard};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/hosted/checkout/{id}", web::get().to(form_page))
        .route("/hosted/checkout/{id}", web::post().to(submit))
        .route(
            "/hosted/checkout/{id}/authenticated",
            web::get().to(after_authentication),
        );
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1f36;background:#f6f9fc}\
.top{background:#fff;border-bottom:1px solid #e3e8ee;padding:12px 24px;display:flex;align-items:center;gap:12px;flex-wrap:wrap}\
.top a{color:#635bff;text-decoration:none;font-weight:500}.top a:hover{text-decoration:underline}\
.pill{background:#ffde92;color:#7a4b00;font-size:12px;font-weight:700;letter-spacing:.04em;padding:2px 8px;border-radius:4px}\
main{max-width:920px;margin:0 auto;padding:40px 24px;display:grid;grid-template-columns:1fr 1fr;gap:48px}\
h1{font-size:24px;line-height:1.3;margin:0 0 8px}\
.muted{color:#697386;font-size:14px}\
.merchant{font-weight:600;font-size:18px;margin:0 0 24px}\
.card{background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:24px;box-shadow:0 2px 5px rgba(60,66,87,.08)}\
label{display:block;font-size:14px;font-weight:500;color:#3c4257;margin:0 0 6px}\
input{width:100%;font:inherit;padding:10px 12px;border:1px solid #cfd7df;border-radius:6px;background:#fff;color:#1a1f36}\
input:focus{outline:2px solid #635bff;outline-offset:-1px;border-color:#635bff}\
input[aria-invalid=true]{border-color:#df1b41}\
.field{margin-bottom:16px}.row{display:grid;grid-template-columns:1fr 1fr;gap:12px}\
.err{color:#df1b41;font-size:14px;margin:6px 0 0}\
.alert{background:#fff5f7;border:1px solid #f5c2cc;color:#a41c3a;border-radius:6px;padding:10px 12px;margin:0 0 16px;font-size:14px}\
button{width:100%;font:inherit;font-weight:600;color:#fff;background:#635bff;border:0;border-radius:6px;padding:12px;cursor:pointer}\
button:hover{background:#5249e0}\
details{margin-top:20px;font-size:14px;color:#697386}code{font-size:13px}\
ul{padding-left:20px;margin:8px 0}\
@media (max-width:720px){main{grid-template-columns:1fr;gap:24px;padding:24px 16px}.top{padding:12px 16px}}";

fn page(status: StatusCode, title: &str, back: Option<&str>, body: &str) -> HttpResponse {
    let back = back
        .map(|u| format!("<a href=\"{}\">&larr; Back</a>", escape(u)))
        .unwrap_or_default();
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{t}</title><style>{STYLE}</style></head><body>\
             <div class=\"top\">{back}<span class=\"pill\">TEST MODE</span>\
             <span class=\"muted\">Simulated Stripe Checkout</span></div>{body}</body></html>",
            t = escape(title)
        ))
}

fn message_page(status: StatusCode, title: &str, text: &str, back: Option<&str>) -> HttpResponse {
    page(
        status,
        title,
        back,
        &format!(
            "<main style=\"grid-template-columns:1fr;max-width:520px\"><div class=\"card\">\
             <h1>{}</h1><p class=\"muted\">{}</p></div></main>",
            escape(title),
            escape(text)
        ),
    )
}

fn redirect(url: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", url))
        .finish()
}

/// Runs `f` on the session's account as the platform would, then lets events and snapshots
/// follow. `None` when there is no such session.
fn on_session<R>(sim: &SharedSim, id: &str, f: impl FnOnce(&mut Ctx, &str) -> R) -> Option<R> {
    let mut st = sim.state.lock();
    let owner = st
        .get(id)
        .filter(|o| o.kind == checkout_sessions::KIND)?
        .owner
        .clone();
    let platform = st.platform_of(&owner).unwrap_or_else(|| owner.clone());
    let now = st.now();
    let mut ctx = Ctx {
        st: &mut st,
        platform,
        account: owner,
        key_kind: crate::auth::KeyKind::Secret,
        request_id: crate::ids::request_id(),
        idempotency_key: None,
        path: vec![],
        base_url: sim.base_url.clone(),
        now,
    };
    let out = f(&mut ctx, id);
    crate::server::after_change(sim, &mut st);
    Some(out)
}

/// The values typed into the form and what is wrong with them.
#[derive(Default)]
struct Entry {
    number: String,
    expiry: String,
    cvc: String,
    name: String,
    number_err: Option<String>,
    expiry_err: Option<String>,
    cvc_err: Option<String>,
    /// A refusal of the card as a whole (declined, authentication failed).
    alert: Option<String>,
}

impl Entry {
    fn from_form(body: &[u8]) -> Entry {
        let mut e = Entry::default();
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.trim().to_string();
            match k.as_ref() {
                "number" => e.number = v,
                "expiry" => e.expiry = v,
                "cvc" => e.cvc = v,
                "name" => e.name = v,
                _ => {}
            }
        }
        e
    }
}

/// (year, month) of a unix time, UTC (Howard Hinnant's civil-from-days).
fn year_month(unix: i64) -> (i64, i64) {
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

/// Checks the entered card like Stripe's card form; the test card and expiry when all is well.
fn check(e: &mut Entry, now: i64) -> Option<(TestCard, (i64, i64))> {
    let digits: String = e
        .number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let mut card = None;
    if digits.is_empty() {
        e.number_err = Some("Your card number is incomplete.".into());
    } else if !digits.bytes().all(|b| b.is_ascii_digit()) || !testcards::luhn_valid(&digits) {
        e.number_err = Some("Your card number is invalid.".into());
    } else {
        match testcards::by_number(&digits) {
            Some(c) => card = Some(c),
            None => {
                e.number_err = Some(
                    "Your card was declined. This is test mode: use one of the test card numbers listed below."
                        .into(),
                )
            }
        }
    }
    let exp: String = e.expiry.chars().filter(|c| !c.is_whitespace()).collect();
    let parsed = exp
        .split_once('/')
        .or_else(|| (exp.len() == 4 && !exp.contains('/')).then(|| exp.split_at(2)))
        .and_then(|(m, y)| {
            let ok = |s: &str, n: &[usize]| {
                n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
            };
            (ok(m, &[1, 2]) && ok(y, &[2, 4]))
                .then(|| (m.parse::<i64>().ok(), y.parse::<i64>().ok()))
        });
    let mut expiry = None;
    match parsed {
        Some((Some(m), Some(y))) => {
            let y = if y < 100 { 2000 + y } else { y };
            let (this_year, this_month) = year_month(now);
            if !(1..=12).contains(&m) {
                e.expiry_err = Some("Your card's expiration date is invalid.".into());
            } else if (y, m) < (this_year, this_month) {
                e.expiry_err = Some(if y < this_year {
                    "Your card's expiration year is in the past.".into()
                } else {
                    "Your card's expiration date is in the past.".into()
                });
            } else if y > this_year + 50 {
                e.expiry_err = Some("Your card's expiration year is invalid.".into());
            } else {
                expiry = Some((m, y));
            }
        }
        _ => e.expiry_err = Some("Your card's expiration date is incomplete.".into()),
    }
    let cvc_len = if card.as_ref().is_some_and(|c| c.brand == "amex") {
        4
    } else {
        3
    };
    if e.cvc.len() != cvc_len || !e.cvc.bytes().all(|b| b.is_ascii_digit()) {
        e.cvc_err = Some(if e.cvc.is_empty() || e.cvc.len() < cvc_len {
            "Your card's security code is incomplete.".into()
        } else {
            "Your card's security code is invalid.".into()
        });
    }
    if e.name.chars().count() > 100 {
        e.name = e.name.chars().take(100).collect();
    }
    match (card, expiry, &e.cvc_err) {
        (Some(c), Some(x), None) => Some((c, x)),
        _ => None,
    }
}

fn field(name: &str, label: &str, value: &str, err: &Option<String>, attrs: &str) -> String {
    let err_html = err
        .as_ref()
        .map(|m| format!("<p class=\"err\" id=\"{name}-err\">{}</p>", escape(m)))
        .unwrap_or_default();
    let aria = if err.is_some() {
        format!(" aria-invalid=\"true\" aria-describedby=\"{name}-err\"")
    } else {
        String::new()
    };
    format!(
        "<div class=\"field\"><label for=\"{name}\">{label}</label>\
         <input id=\"{name}\" name=\"{name}\" value=\"{v}\" {attrs}{aria}>{err_html}</div>",
        v = escape(value)
    )
}

/// What the page shows about the session, read under the lock.
struct View {
    status: String,
    merchant: String,
    email: Option<String>,
    cancel_url: Option<String>,
    success_url: String,
}

fn view(ctx: &mut Ctx, id: &str) -> Option<View> {
    let cs = checkout_sessions::expire_if_due(ctx, id).ok()?;
    let acct = ctx.st.get(&ctx.account).map(|o| o.json.clone());
    let merchant = acct
        .as_ref()
        .and_then(|a| {
            a["business_profile"]["name"]
                .as_str()
                .or_else(|| a["settings"]["dashboard"]["display_name"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Test merchant".to_string());
    let email = cs["customer_email"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            cs["customer"]
                .as_str()
                .and_then(|c| ctx.st.get(c))
                .and_then(|o| o.json["email"].as_str().map(str::to_string))
        });
    Some(View {
        status: cs["status"].as_str().unwrap_or_default().to_string(),
        merchant,
        email,
        cancel_url: cs["cancel_url"].as_str().map(str::to_string),
        success_url: cs["success_url"]
            .as_str()
            .unwrap_or_default()
            .replace("{CHECKOUT_SESSION_ID}", id),
    })
}

fn not_found() -> HttpResponse {
    message_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "This checkout link is not valid. Return to the site you came from and try again.",
        None,
    )
}

fn closed(v: &View) -> HttpResponse {
    let (title, text) = if v.status == "complete" {
        (
            "Card already saved",
            "This checkout session is complete: the card was saved. You can close this page.",
        )
    } else {
        (
            "This link has expired",
            "This checkout session has expired. Return to the site you came from to start again.",
        )
    };
    message_page(StatusCode::OK, title, text, v.cancel_url.as_deref())
}

fn form(id: &str, v: &View, e: &Entry, status: StatusCode) -> HttpResponse {
    let alert = e
        .alert
        .as_ref()
        .map(|m| format!("<div class=\"alert\" role=\"alert\">{}</div>", escape(m)))
        .unwrap_or_default();
    let email = v
        .email
        .as_ref()
        .map(|m| {
            format!(
                "<p class=\"muted\">Saving a card for <strong>{}</strong></p>",
                escape(m)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<main><section><p class=\"merchant\">{merchant}</p>\
         <h1>Save a card for future payments</h1>{email}\
         <p class=\"muted\">Your card will be kept by {merchant} for later purchases. You will not be charged now.</p>\
         </section><section class=\"card\"><form method=\"post\" action=\"/hosted/checkout/{id}\" novalidate>{alert}\
         {number}<div class=\"row\">{expiry}{cvc}</div>{name}\
         <button type=\"submit\">Save card</button></form>\
         <details><summary>Test cards</summary><ul>\
         <li><code>4242 4242 4242 4242</code> Visa, succeeds</li>\
         <li><code>5555 5555 5555 4444</code> Mastercard, succeeds</li>\
         <li><code>4000 0025 0000 3155</code> asks for 3-D Secure</li>\
         <li><code>4000 0000 0000 0002</code> declined</li>\
         </ul>Any future expiry date and any 3-digit security code.</details></section></main>",
        merchant = escape(&v.merchant),
        id = escape(id),
        number = field(
            "number",
            "Card number",
            &e.number,
            &e.number_err,
            "inputmode=\"numeric\" autocomplete=\"cc-number\" placeholder=\"1234 1234 1234 1234\" maxlength=\"23\" required"
        ),
        expiry = field(
            "expiry",
            "Expiry (MM/YY)",
            &e.expiry,
            &e.expiry_err,
            "inputmode=\"numeric\" autocomplete=\"cc-exp\" placeholder=\"MM / YY\" maxlength=\"7\" required"
        ),
        cvc = field(
            "cvc",
            "Security code (CVC)",
            &e.cvc,
            &e.cvc_err,
            "inputmode=\"numeric\" autocomplete=\"cc-csc\" placeholder=\"CVC\" maxlength=\"4\" required"
        ),
        name = field(
            "name",
            "Cardholder name (optional)",
            &e.name,
            &None,
            "autocomplete=\"cc-name\" maxlength=\"100\""
        ),
    );
    page(status, "Save a card", v.cancel_url.as_deref(), &body)
}

async fn form_page(path: web::Path<String>, sim: web::Data<SharedSim>) -> HttpResponse {
    let id = path.into_inner();
    match on_session(&sim, &id, view).flatten() {
        None => not_found(),
        Some(v) if v.status != "open" => closed(&v),
        Some(v) => form(&id, &v, &Entry::default(), StatusCode::OK),
    }
}

/// What a submission led to.
enum Outcome {
    Page(View, Entry),
    Closed(View),
    Redirect(String),
    Missing,
}

async fn submit(
    path: web::Path<String>,
    body: web::Bytes,
    sim: web::Data<SharedSim>,
) -> HttpResponse {
    let id = path.into_inner();
    let mut entry = Entry::from_form(&body);
    let base = sim.base_url.clone();
    let outcome = on_session(&sim, &id, |ctx, id| {
        let Some(v) = view(ctx, id) else {
            return Outcome::Missing;
        };
        if v.status != "open" {
            return Outcome::Closed(v);
        }
        let Some((card, (m, y))) = check(&mut entry, ctx.now) else {
            return Outcome::Page(v, entry);
        };
        let name = (!entry.name.is_empty()).then_some(entry.name.as_str());
        let pm = payment_methods::store_entered_card(ctx, &card, (m, y), name);
        let pm_id = pm["id"].as_str().unwrap_or_default().to_string();
        let return_url = format!("{base}/hosted/checkout/{id}/authenticated");
        match checkout_sessions::submit_card(ctx, id, &pm_id, &return_url) {
            Ok(si) if si["status"] == "requires_action" => Outcome::Redirect(
                si["next_action"]["redirect_to_url"]["url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
            Ok(si) if si["status"] == "succeeded" => Outcome::Redirect(v.success_url),
            Ok(_) => {
                entry.alert = Some("Your card could not be saved. Please try another card.".into());
                Outcome::Page(v, entry)
            }
            Err(err) => {
                entry.alert = Some(err.message);
                Outcome::Page(v, entry)
            }
        }
    });
    match outcome {
        None | Some(Outcome::Missing) => not_found(),
        Some(Outcome::Closed(v)) => closed(&v),
        Some(Outcome::Redirect(url)) => redirect(&url),
        Some(Outcome::Page(v, e)) => form(&id, &v, &e, StatusCode::UNPROCESSABLE_ENTITY),
    }
}

/// Back from the 3-D Secure page: complete the session if the SetupIntent succeeded, else show
/// the form again with the failure.
async fn after_authentication(path: web::Path<String>, sim: web::Data<SharedSim>) -> HttpResponse {
    let id = path.into_inner();
    let outcome = on_session(&sim, &id, |ctx, id| {
        let cs = match checkout_sessions::complete(ctx, id) {
            Ok(cs) => cs,
            Err(_) => return Outcome::Missing,
        };
        let Some(v) = view(ctx, id) else {
            return Outcome::Missing;
        };
        match cs["status"].as_str() {
            Some("complete") => Outcome::Redirect(v.success_url),
            Some("open") => Outcome::Page(
                v,
                Entry {
                    alert: Some(
                        "We are unable to authenticate your payment method. Please choose a different payment method and try again."
                            .into(),
                    ),
                    ..Entry::default()
                },
            ),
            _ => Outcome::Closed(v),
        }
    });
    match outcome {
        None | Some(Outcome::Missing) => not_found(),
        Some(Outcome::Closed(v)) => closed(&v),
        Some(Outcome::Redirect(url)) => redirect(&url),
        Some(Outcome::Page(v, e)) => form(&id, &v, &e, StatusCode::OK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_of_known_dates() {
        assert_eq!(year_month(0), (1970, 1));
        // 2026-12-02T00:00:00Z
        assert_eq!(year_month(1_796_169_600), (2026, 12));
        // 2024-02-29T12:00:00Z
        assert_eq!(year_month(1_709_208_000), (2024, 2));
    }

    #[test]
    fn expiry_forms_and_past_dates() {
        let now = 1_796_169_600; // December 2026
        let entry = |expiry: &str| Entry {
            number: "4242 4242 4242 4242".into(),
            expiry: expiry.into(),
            cvc: "123".into(),
            ..Entry::default()
        };
        for ok in ["12/26", "12 / 26", "1/30", "0130", "01/2030"] {
            let mut e = entry(ok);
            assert!(check(&mut e, now).is_some(), "{ok}: {:?}", e.expiry_err);
        }
        for (bad, msg) in [
            ("11/26", "date is in the past"),
            ("12/25", "year is in the past"),
            ("13/30", "invalid"),
            ("1230x", "incomplete"),
            ("", "incomplete"),
        ] {
            let mut e = entry(bad);
            assert!(check(&mut e, now).is_none(), "{bad}");
            assert!(
                e.expiry_err.as_deref().unwrap_or_default().contains(msg),
                "{bad}: {:?}",
                e.expiry_err
            );
        }
    }

    #[test]
    fn numbers_luhn_unknown_and_cvc() {
        let now = 1_796_169_600;
        let mut e = Entry {
            number: "4242424242424241".into(),
            expiry: "12/30".into(),
            cvc: "12".into(),
            ..Entry::default()
        };
        assert!(check(&mut e, now).is_none());
        assert_eq!(
            e.number_err.as_deref(),
            Some("Your card number is invalid.")
        );
        assert_eq!(
            e.cvc_err.as_deref(),
            Some("Your card's security code is incomplete.")
        );
        // Luhn-valid but not a test card.
        let mut e = Entry {
            number: "4111111111111111".into(),
            expiry: "12/30".into(),
            cvc: "123".into(),
            ..Entry::default()
        };
        assert!(check(&mut e, now).is_none());
        assert!(e.number_err.unwrap().contains("test card"));
        // Amex needs four digits.
        let mut e = Entry {
            number: "378282246310005".into(),
            expiry: "12/30".into(),
            cvc: "123".into(),
            ..Entry::default()
        };
        assert!(check(&mut e, now).is_none());
        e.cvc = "1234".into();
        e.cvc_err = None;
        assert!(check(&mut e, now).is_some());
    }
}
