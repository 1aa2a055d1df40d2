//! Every mail the marketplace sends, rendered from templates/email/ as plain
//! text and HTML that share one layout (`email/layout.{txt,html}`). Each
//! message has one typed builder taking exactly the data it shows; amounts are
//! [`Money`]. The builders return an [`OutgoingEmail`] to queue with
//! `jobs::enqueue_email` in the transaction of the change that causes it, with
//! a [`dedupe_key`] so a cause (e.g. a webhook event delivered three times)
//! sends one mail.

use askama::Template;

use super::OutgoingEmail;
use crate::db::users::User;
use crate::domain::{Money, Role, time};

/// Lifetime of a verification link.
pub const VERIFY_HOURS: i64 = 24;
/// Lifetime of a password-reset link.
pub const RESET_MINUTES: i64 = 60;

/// `mail:<cause>:<template>:<recipient>`: the cause is what happened (a
/// webhook event id, an order id + refund id…), so the same cause mails the
/// same person once, however often it is processed.
pub fn dedupe_key(cause: &str, template: &str, to: &str) -> String {
    format!("mail:{cause}:{template}:{}", to.trim().to_lowercase())
}

/// `2026-12-09 18:30 UTC`.
fn when(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        time::ymd(unix),
        secs / 3600,
        (secs % 3600) / 60
    )
}

macro_rules! pair {
    ($text:ident, $html:ident, $data:ty, $tpath:literal, $hpath:literal) => {
        #[derive(Template)]
        #[template(path = $tpath)]
        struct $text<'a>(&'a $data);
        impl<'a> std::ops::Deref for $text<'a> {
            type Target = $data;
            fn deref(&self) -> &$data {
                self.0
            }
        }
        #[derive(Template)]
        #[template(path = $hpath)]
        struct $html<'a>(&'a $data);
        impl<'a> std::ops::Deref for $html<'a> {
            type Target = $data;
            fn deref(&self) -> &$data {
                self.0
            }
        }
    };
}

fn build<T: Template, H: Template>(
    to: &str,
    subject: &str,
    text: T,
    html: H,
) -> Result<OutgoingEmail, askama::Error> {
    Ok(OutgoingEmail::new(
        to,
        subject,
        text.render()?,
        html.render()?,
    ))
}

// ── Accounts ────────────────────────────────────────────────────────────────

struct Welcome {
    role: &'static str,
    link: String,
}
pair!(
    WelcomeText,
    WelcomeHtml,
    Welcome,
    "email/welcome.txt",
    "email/welcome.html"
);

pub fn welcome(user: &User, base_url: &str) -> Result<OutgoingEmail, askama::Error> {
    let data = Welcome {
        role: user.role.as_str(),
        link: format!("{base_url}{}", user.role.home_path()),
    };
    let subject = match user.role {
        Role::Admin => "An admin account was created for you",
        Role::Seller => "Welcome to Marketplace — your shop is ready",
        Role::Buyer => "Welcome to Marketplace",
    };
    build(&user.email, subject, WelcomeText(&data), WelcomeHtml(&data))
}

struct VerifyEmail {
    link: String,
    hours: i64,
    seller: bool,
}
pair!(
    VerifyText,
    VerifyHtml,
    VerifyEmail,
    "email/verify_email.txt",
    "email/verify_email.html"
);

/// `link` carries the raw token; it works for [`VERIFY_HOURS`].
pub fn verify_email(to: &str, link: &str, role: Role) -> Result<OutgoingEmail, askama::Error> {
    let data = VerifyEmail {
        link: link.to_string(),
        hours: VERIFY_HOURS,
        seller: role == Role::Seller,
    };
    build(
        to,
        "Confirm your email address",
        VerifyText(&data),
        VerifyHtml(&data),
    )
}

struct ResetPassword {
    link: String,
    minutes: i64,
}
pair!(
    ResetText,
    ResetHtml,
    ResetPassword,
    "email/reset_password.txt",
    "email/reset_password.html"
);

pub fn reset_password(to: &str, link: &str) -> Result<OutgoingEmail, askama::Error> {
    let data = ResetPassword {
        link: link.to_string(),
        minutes: RESET_MINUTES,
    };
    build(
        to,
        "Reset your Marketplace password",
        ResetText(&data),
        ResetHtml(&data),
    )
}

struct AccountExists {
    login_link: String,
    reset_link: String,
}
pair!(
    ExistsText,
    ExistsHtml,
    AccountExists,
    "email/account_exists.txt",
    "email/account_exists.html"
);

/// Sent instead of a second account when someone signs up with a taken address.
pub fn account_exists(to: &str, base_url: &str) -> Result<OutgoingEmail, askama::Error> {
    let data = AccountExists {
        login_link: format!("{base_url}/login"),
        reset_link: format!("{base_url}/password/forgot"),
    };
    build(
        to,
        "You already have a Marketplace account",
        ExistsText(&data),
        ExistsHtml(&data),
    )
}

struct PasswordChanged {
    reset_link: String,
}
pair!(
    ChangedText,
    ChangedHtml,
    PasswordChanged,
    "email/password_changed.txt",
    "email/password_changed.html"
);

pub fn password_changed(to: &str, base_url: &str) -> Result<OutgoingEmail, askama::Error> {
    let data = PasswordChanged {
        reset_link: format!("{base_url}/password/forgot"),
    };
    build(
        to,
        "Your Marketplace password was changed",
        ChangedText(&data),
        ChangedHtml(&data),
    )
}

// ── Orders and refunds ──────────────────────────────────────────────────────

/// One line of an order as the mails show it; `amount` is quantity × unit price.
#[derive(Debug, Clone)]
pub struct OrderLine {
    pub title: String,
    pub quantity: i64,
    pub amount: Money,
}

/// The buyer's receipt.
#[derive(Debug, Clone)]
pub struct OrderReceipt {
    pub order_id: String,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    /// The buyer's page of this order.
    pub link: String,
}
pair!(
    ReceiptText,
    ReceiptHtml,
    OrderReceipt,
    "email/order_receipt.txt",
    "email/order_receipt.html"
);

pub fn order_receipt(to: &str, data: &OrderReceipt) -> Result<OutgoingEmail, askama::Error> {
    let subject = format!("Your order {} — {}", data.order_id, data.total);
    build(to, &subject, ReceiptText(data), ReceiptHtml(data))
}

/// A seller's share of an order.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order_id: String,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub fee: Money,
    /// What the seller keeps: total − fee.
    pub net: Money,
    pub link: String,
}
pair!(
    NewOrderText,
    NewOrderHtml,
    NewOrder,
    "email/new_order.txt",
    "email/new_order.html"
);

pub fn new_order(to: &str, data: &NewOrder) -> Result<OutgoingEmail, askama::Error> {
    let subject = format!("New order {} — {}", data.order_id, data.total);
    build(to, &subject, NewOrderText(data), NewOrderHtml(data))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Buyer,
    Seller,
    Admin,
}

#[derive(Debug, Clone)]
pub struct RefundIssued {
    pub order_id: String,
    /// This refund.
    pub amount: Money,
    /// All refunds of the order so far, this one included.
    pub refunded_total: Money,
    pub order_total: Money,
    pub link: String,
}

struct RefundIssuedView<'a> {
    d: &'a RefundIssued,
    for_seller: bool,
}
impl std::ops::Deref for RefundIssuedView<'_> {
    type Target = RefundIssued;
    fn deref(&self) -> &RefundIssued {
        self.d
    }
}
pair!(
    RefundText,
    RefundHtml,
    RefundIssuedView<'a>,
    "email/refund_issued.txt",
    "email/refund_issued.html"
);

/// To the buyer ([`Audience::Buyer`]) or the seller ([`Audience::Seller`]).
pub fn refund_issued(
    to: &str,
    data: &RefundIssued,
    audience: Audience,
) -> Result<OutgoingEmail, askama::Error> {
    let view = RefundIssuedView {
        d: data,
        for_seller: audience == Audience::Seller,
    };
    let subject = if view.for_seller {
        format!(
            "Refund of {} issued on order {}",
            data.amount, data.order_id
        )
    } else {
        format!("Your refund of {} for order {}", data.amount, data.order_id)
    };
    build(to, &subject, RefundText(&view), RefundHtml(&view))
}

/// To admins: a refund Stripe could not complete.
#[derive(Debug, Clone)]
pub struct RefundFailed {
    pub order_id: String,
    pub amount: Money,
    /// Stripe's `failure_reason` (e.g. `expired_or_canceled_card`), put in words here.
    pub failure_reason: Option<String>,
    pub link: String,
}

struct RefundFailedView<'a> {
    d: &'a RefundFailed,
    reason: String,
}
impl std::ops::Deref for RefundFailedView<'_> {
    type Target = RefundFailed;
    fn deref(&self) -> &RefundFailed {
        self.d
    }
}
pair!(
    RefundFailedText,
    RefundFailedHtml,
    RefundFailedView<'a>,
    "email/refund_failed.txt",
    "email/refund_failed.html"
);

pub fn refund_failed(to: &str, data: &RefundFailed) -> Result<OutgoingEmail, askama::Error> {
    let reason = match data.failure_reason.as_deref() {
        Some("expired_or_canceled_card") => "the buyer's card has expired or was cancelled.",
        Some("lost_or_stolen_card") => "the buyer's card was reported lost or stolen.",
        Some("charge_for_pending_refund_disputed") => "the payment is being disputed.",
        Some("insufficient_funds") => "the seller's balance did not cover the refund.",
        Some("declined") => "the buyer's bank declined the refund.",
        Some("merchant_request") => "the refund was cancelled on request.",
        _ => "Stripe did not say why.",
    }
    .to_string();
    let view = RefundFailedView { d: data, reason };
    let subject = format!(
        "Refund of {} failed on order {}",
        data.amount, data.order_id
    );
    build(
        to,
        &subject,
        RefundFailedText(&view),
        RefundFailedHtml(&view),
    )
}

// ── Disputes and payouts ────────────────────────────────────────────────────

#[derive(Debug, Clone)]
pub struct DisputeOpened {
    pub order_id: String,
    pub amount: Money,
    /// Stripe's dispute `reason` (e.g. `fraudulent`).
    pub reason: String,
    /// `evidence_details.due_by`, unix seconds.
    pub evidence_due_by: i64,
    pub link: String,
}

struct DisputeView<'a> {
    d: &'a DisputeOpened,
    reason: String,
    due: String,
    for_admin: bool,
}
impl std::ops::Deref for DisputeView<'_> {
    type Target = DisputeOpened;
    fn deref(&self) -> &DisputeOpened {
        self.d
    }
}
pair!(
    DisputeText,
    DisputeHtml,
    DisputeView<'a>,
    "email/dispute_opened.txt",
    "email/dispute_opened.html"
);

pub fn dispute_reason_words(reason: &str) -> &'static str {
    match reason {
        "fraudulent" => "the cardholder says they did not make this payment",
        "product_not_received" => "the buyer says the product never arrived",
        "product_unacceptable" => "the buyer says the product was defective or not as described",
        "duplicate" => "the buyer says they were charged twice",
        "subscription_canceled" => "the buyer says they had cancelled",
        "credit_not_processed" => "the buyer says a promised refund never came",
        "unrecognized" => "the buyer does not recognise the payment",
        "bank_cannot_process"
        | "check_returned"
        | "debit_not_authorized"
        | "incorrect_account_details"
        | "insufficient_funds" => "the buyer's bank could not process the payment",
        _ => "no specific reason was given",
    }
}

/// To the seller ([`Audience::Seller`]) or an admin ([`Audience::Admin`]).
pub fn dispute_opened(
    to: &str,
    data: &DisputeOpened,
    audience: Audience,
) -> Result<OutgoingEmail, askama::Error> {
    let view = DisputeView {
        d: data,
        reason: dispute_reason_words(&data.reason).to_string(),
        due: when(data.evidence_due_by),
        for_admin: audience == Audience::Admin,
    };
    let subject = format!(
        "Dispute of {} on order {} — evidence due {}",
        data.amount,
        data.order_id,
        time::ymd(data.evidence_due_by)
    );
    build(to, &subject, DisputeText(&view), DisputeHtml(&view))
}

#[derive(Debug, Clone)]
pub struct PayoutPaid {
    pub amount: Money,
    /// The payout's `arrival_date`, unix seconds.
    pub arrival_date: i64,
    pub link: String,
}

struct PayoutPaidView<'a> {
    d: &'a PayoutPaid,
    arrival: String,
}
impl std::ops::Deref for PayoutPaidView<'_> {
    type Target = PayoutPaid;
    fn deref(&self) -> &PayoutPaid {
        self.d
    }
}
pair!(
    PaidText,
    PaidHtml,
    PayoutPaidView<'a>,
    "email/payout_paid.txt",
    "email/payout_paid.html"
);

pub fn payout_paid(to: &str, data: &PayoutPaid) -> Result<OutgoingEmail, askama::Error> {
    let view = PayoutPaidView {
        d: data,
        arrival: time::ymd(data.arrival_date),
    };
    let subject = format!("Payout of {} on its way", data.amount);
    build(to, &subject, PaidText(&view), PaidHtml(&view))
}

#[derive(Debug, Clone)]
pub struct PayoutFailed {
    pub amount: Money,
    /// Stripe's `failure_code` (e.g. `account_closed`).
    pub failure_code: Option<String>,
    pub link: String,
}

struct PayoutFailedView<'a> {
    d: &'a PayoutFailed,
    reason: &'static str,
}
impl std::ops::Deref for PayoutFailedView<'_> {
    type Target = PayoutFailed;
    fn deref(&self) -> &PayoutFailed {
        self.d
    }
}
pair!(
    FailedText,
    FailedHtml,
    PayoutFailedView<'a>,
    "email/payout_failed.txt",
    "email/payout_failed.html"
);

/// Stripe's payout `failure_code` as a sentence a seller can act on.
pub fn payout_failure_words(code: Option<&str>) -> &'static str {
    match code {
        Some("account_closed") => "Your bank account has been closed. Add a different account.",
        Some("account_frozen") => "Your bank account is frozen. Contact your bank.",
        Some("bank_account_restricted") => {
            "Your bank account does not accept this kind of payment. Contact your bank or add another account."
        }
        Some("bank_ownership_changed") => {
            "The bank account changed owner. Add the account again with the new details."
        }
        Some("could_not_process") => {
            "Your bank could not process the payout. Check your bank details."
        }
        Some("debit_not_authorized") => "Your bank refused the transfer. Contact your bank.",
        Some("declined") => "Your bank declined the payout. Contact your bank.",
        Some("insufficient_funds") => "Your Stripe balance did not cover the payout.",
        Some("invalid_account_number") => "The bank account number is wrong. Check and correct it.",
        Some("incorrect_account_holder_name") => {
            "The account holder name does not match the bank's records. Correct it."
        }
        Some("invalid_currency") => {
            "Your bank account cannot receive this currency. Add an account in this currency."
        }
        Some("no_account") => "The bank could not find this account. Check the account number.",
        Some("unsupported_card") => {
            "Your debit card cannot receive payouts. Add a bank account instead."
        }
        _ => "Your bank returned the payout without a reason. Check your bank details.",
    }
}

pub fn payout_failed(to: &str, data: &PayoutFailed) -> Result<OutgoingEmail, askama::Error> {
    let view = PayoutFailedView {
        d: data,
        reason: payout_failure_words(data.failure_code.as_deref()),
    };
    let subject = format!("Payout of {} failed", data.amount);
    build(to, &subject, FailedText(&view), FailedHtml(&view))
}

// ── Authorization canceled (manual capture) ────────────────────────────────

/// An authorization released before capture: by the seller, or before Stripe's 7-day expiry.
#[derive(Debug, Clone)]
pub struct PaymentCanceled {
    pub amount: Money,
    pub seller_name: String,
    /// Why, in words ("the seller canceled it", "it was not captured within 6 days").
    pub why: String,
    /// The buyer's order page.
    pub link: String,
}
pair!(
    CanceledText,
    CanceledHtml,
    PaymentCanceled,
    "email/payment_canceled.txt",
    "email/payment_canceled.html"
);

pub fn payment_canceled(to: &str, data: &PaymentCanceled) -> Result<OutgoingEmail, askama::Error> {
    let subject = format!("Your payment to {} was canceled", data.seller_name);
    build(to, &subject, CanceledText(data), CanceledHtml(data))
}

// ── Seller onboarding ───────────────────────────────────────────────────────

struct OnboardingComplete {
    link: String,
}
pair!(
    CompleteText,
    CompleteHtml,
    OnboardingComplete,
    "email/onboarding_complete.txt",
    "email/onboarding_complete.html"
);

/// `link`: the seller dashboard.
pub fn onboarding_complete(to: &str, link: &str) -> Result<OutgoingEmail, askama::Error> {
    let data = OnboardingComplete {
        link: link.to_string(),
    };
    build(
        to,
        "You can now receive payments",
        CompleteText(&data),
        CompleteHtml(&data),
    )
}

#[derive(Debug, Clone)]
pub struct ActionRequired {
    /// Stripe requirement paths (`currently_due` / `past_due`), e.g. `individual.id_number`.
    pub requirements: Vec<String>,
    /// `requirements.current_deadline`, unix seconds.
    pub deadline: Option<i64>,
    /// Where the seller continues onboarding.
    pub link: String,
}

struct ActionRequiredView {
    items: Vec<String>,
    deadline: Option<String>,
    link: String,
}
pair!(
    ActionText,
    ActionHtml,
    ActionRequiredView,
    "email/onboarding_action_required.txt",
    "email/onboarding_action_required.html"
);

/// A Stripe requirement path in words.
pub fn requirement_words(path: &str) -> String {
    let known = match path {
        "external_account" => Some("a bank account for payouts"),
        "tos_acceptance.date" | "tos_acceptance.ip" => Some("acceptance of Stripe's terms"),
        "business_profile.url" => Some("your website or a product description"),
        "business_profile.mcc" => Some("what kind of business you run"),
        "business_type" => Some("your business type"),
        "individual.verification.document" => Some("a photo of your ID document"),
        "individual.verification.additional_document" => Some("a proof of address"),
        "individual.id_number" => Some("your ID number"),
        "individual.ssn_last_4" => Some("the last 4 digits of your SSN"),
        "individual.dob.day" | "individual.dob.month" | "individual.dob.year" => {
            Some("your date of birth")
        }
        "individual.address.line1"
        | "individual.address.city"
        | "individual.address.postal_code" => Some("your address"),
        "individual.phone" => Some("your phone number"),
        "individual.email" => Some("your email address"),
        "individual.first_name" | "individual.last_name" => Some("your legal name"),
        _ => None,
    };
    match known {
        Some(words) => words.to_string(),
        None => path.replace(['.', '_'], " "),
    }
}

pub fn onboarding_action_required(
    to: &str,
    data: &ActionRequired,
) -> Result<OutgoingEmail, askama::Error> {
    let mut items: Vec<String> = Vec::new();
    for p in &data.requirements {
        let words = requirement_words(p);
        if !items.contains(&words) {
            items.push(words);
        }
    }
    let view = ActionRequiredView {
        items,
        deadline: data.deadline.map(when),
        link: data.link.clone(),
    };
    build(
        to,
        "Stripe needs more information to keep paying you",
        ActionText(&view),
        ActionHtml(&view),
    )
}

/// To admins: a seller deauthorized the platform.
#[derive(Debug, Clone)]
pub struct SellerDisconnected {
    pub shop_name: String,
    pub seller_email: String,
    pub account_id: String,
    /// When the deauthorization happened, unix seconds.
    pub at: i64,
    pub link: String,
}

struct DisconnectedView<'a> {
    d: &'a SellerDisconnected,
    shop: &'a str,
    when: String,
}
impl std::ops::Deref for DisconnectedView<'_> {
    type Target = SellerDisconnected;
    fn deref(&self) -> &SellerDisconnected {
        self.d
    }
}
pair!(
    DisconnectedText,
    DisconnectedHtml,
    DisconnectedView<'a>,
    "email/seller_disconnected.txt",
    "email/seller_disconnected.html"
);

pub fn seller_disconnected(
    to: &str,
    data: &SellerDisconnected,
) -> Result<OutgoingEmail, askama::Error> {
    let view = DisconnectedView {
        d: data,
        shop: &data.shop_name,
        when: when(data.at),
    };
    let subject = format!("Seller {} disconnected from Stripe", data.shop_name);
    build(
        to,
        &subject,
        DisconnectedText(&view),
        DisconnectedHtml(&view),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn both(m: &OutgoingEmail, needle: &str) {
        assert!(m.text.contains(needle), "text lacks {needle}: {}", m.text);
        assert!(m.html.contains(needle), "html lacks {needle}: {}", m.html);
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::Usd)
    }

    fn lines() -> Vec<OrderLine> {
        vec![OrderLine {
            title: "Blue mug".into(),
            quantity: 2,
            amount: usd(2_400),
        }]
    }

    #[test]
    fn every_message_shares_the_layout_and_has_both_parts() {
        let l = "https://shop.example/x";
        let all = [
            verify_email("a@x.io", l, Role::Seller).unwrap(),
            reset_password("a@x.io", l).unwrap(),
            account_exists("a@x.io", "https://shop.example").unwrap(),
            password_changed("a@x.io", "https://shop.example").unwrap(),
            onboarding_complete("a@x.io", l).unwrap(),
        ];
        for m in &all {
            assert_eq!(m.to, "a@x.io");
            assert!(m.html.contains("<html") && m.html.contains("Marketplace"));
            assert!(m.text.contains("-- \nMarketplace"), "{}", m.text);
        }
        both(&all[0], l);
        both(&all[0], "24 hours");
        both(&all[0], "publish products");
        both(&all[1], "60 minutes");
        both(&all[2], "https://shop.example/password/forgot");
    }

    #[test]
    fn order_mails_show_lines_totals_fee_and_net() {
        let r = order_receipt(
            "b@x.io",
            &OrderReceipt {
                order_id: "ord_1".into(),
                lines: lines(),
                total: usd(2_400),
                link: "https://s/o".into(),
            },
        )
        .unwrap();
        assert_eq!(r.subject, "Your order ord_1 — $24.00");
        both(&r, "Blue mug");
        both(&r, "$24.00");
        let n = new_order(
            "s@x.io",
            &NewOrder {
                order_id: "ord_1".into(),
                lines: lines(),
                total: usd(2_400),
                fee: usd(150),
                net: usd(2_250),
                link: "https://s/o".into(),
            },
        )
        .unwrap();
        both(&n, "$1.50");
        both(&n, "$22.50");
    }

    #[test]
    fn refund_mails_speak_to_their_audience() {
        let d = RefundIssued {
            order_id: "ord_1".into(),
            amount: Money::new(500, Currency::Jpy),
            refunded_total: Money::new(800, Currency::Jpy),
            order_total: Money::new(1_500, Currency::Jpy),
            link: "https://s/o".into(),
        };
        let buyer = refund_issued("b@x.io", &d, Audience::Buyer).unwrap();
        let seller = refund_issued("s@x.io", &d, Audience::Seller).unwrap();
        both(&buyer, "¥500");
        both(&buyer, "¥800 of ¥1,500");
        assert!(buyer.text.contains("reach your card"));
        assert!(seller.text.contains("taken from your Stripe balance"));
        assert_ne!(buyer.subject, seller.subject);
        let f = refund_failed(
            "admin@x.io",
            &RefundFailed {
                order_id: "ord_1".into(),
                amount: usd(999),
                failure_reason: Some("expired_or_canceled_card".into()),
                link: "https://s/a".into(),
            },
        )
        .unwrap();
        assert_eq!(f.subject, "Refund of $9.99 failed on order ord_1");
        both(&f, "card has expired");
        assert!(f.text.contains("you are an administrator"));
    }

    #[test]
    fn dispute_and_payout_mails_put_reasons_and_dates_in_words() {
        let d = DisputeOpened {
            order_id: "ord_2".into(),
            amount: usd(4_200),
            reason: "product_not_received".into(),
            evidence_due_by: 1_795_651_200 + 18 * 3600,
            link: "https://s/d".into(),
        };
        let seller = dispute_opened("s@x.io", &d, Audience::Seller).unwrap();
        let admin = dispute_opened("a@x.io", &d, Audience::Admin).unwrap();
        assert_eq!(
            seller.subject,
            "Dispute of $42.00 on order ord_2 — evidence due 2026-11-26"
        );
        both(&seller, "2026-11-26 18:00 UTC");
        both(&seller, "never arrived");
        assert!(admin.text.contains("The seller has been told"));
        let paid = payout_paid(
            "s@x.io",
            &PayoutPaid {
                amount: usd(10_000),
                arrival_date: 1_795_651_200,
                link: "https://s/p".into(),
            },
        )
        .unwrap();
        both(&paid, "$100.00");
        both(&paid, "2026-11-26");
        let failed = payout_failed(
            "s@x.io",
            &PayoutFailed {
                amount: usd(10_000),
                failure_code: Some("invalid_account_number".into()),
                link: "https://s/p".into(),
            },
        )
        .unwrap();
        both(&failed, "account number is wrong");
        let unknown = payout_failure_words(Some("something_new"));
        assert!(unknown.contains("without a reason"));
    }

    #[test]
    fn onboarding_and_disconnection_mails() {
        let a = onboarding_action_required(
            "s@x.io",
            &ActionRequired {
                requirements: vec![
                    "external_account".into(),
                    "individual.dob.day".into(),
                    "individual.dob.year".into(),
                    "company.tax_id".into(),
                ],
                deadline: Some(1_795_651_200),
                link: "https://s/onboard".into(),
            },
        )
        .unwrap();
        both(&a, "a bank account for payouts");
        both(&a, "company tax id");
        assert_eq!(a.text.matches("your date of birth").count(), 1, "once");
        both(&a, "2026-11-26 00:00 UTC");
        let d = seller_disconnected(
            "admin@x.io",
            &SellerDisconnected {
                shop_name: "Tea <Shop>".into(),
                seller_email: "s@x.io".into(),
                account_id: "acct_9".into(),
                at: 1_795_651_200,
                link: "https://s/admin".into(),
            },
        )
        .unwrap();
        assert!(d.text.contains("Tea <Shop>"));
        assert!(d.html.contains("Tea &#60;Shop&#62;"), "escaped in html");
        both(&d, "acct_9");
    }

    #[test]
    fn dedupe_keys_name_cause_template_and_recipient() {
        assert_eq!(
            dedupe_key("evt_1", "payout_failed", " S@X.io "),
            "mail:evt_1:payout_failed:s@x.io"
        );
    }
}
